/**
 * `run`, called at most once every `everyMs`: the first call runs at once, calls within the
 * interval after it run once more when the interval ends. For work a live event triggers, which a
 * colleague's import sends thousands of times a minute (s10 re-test V3).
 */
export function paced(run: () => void, everyMs: number): { call: () => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let called = false;
  const runAndWait = () => {
    called = false;
    run();
    timer = setTimeout(() => {
      timer = undefined;
      if (called) runAndWait();
    }, everyMs);
  };
  return {
    call: () => {
      called = true;
      if (timer === undefined) runAndWait();
    },
    cancel: () => {
      clearTimeout(timer);
      timer = undefined;
      called = false;
    },
  };
}
