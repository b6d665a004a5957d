import { afterEach, describe, expect, it, vi } from 'vitest';
import { paced } from '../src/workspace/paced';

afterEach(() => {
  vi.useRealTimers();
});

describe('paced work', () => {
  it('runs the first call at once and a burst of calls once more at the end of the interval, not once each (s10 re-test V3)', () => {
    vi.useFakeTimers();
    const run = vi.fn();
    const related = paced(run, 1000);
    related.call();
    expect(run).toHaveBeenCalledTimes(1);
    for (let card = 0; card < 4000; card += 1) related.call();
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(run).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(5000);
    expect(run).toHaveBeenCalledTimes(2);
    related.call();
    related.cancel();
    vi.advanceTimersByTime(5000);
    expect(run).toHaveBeenCalledTimes(3);
  });
});
