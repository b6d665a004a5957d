import { jobDefinition } from '../../server/src/jobs/define';

/**
 * Until the returned function is called, jobs of `kind` are held running (their code waits before
 * it starts). Calling it puts the job's code back and lets the held jobs go on; calling it again
 * changes nothing.
 */
export function holdJobs(kind: string): () => void {
  const definition = jobDefinition(kind)!;
  const original = definition.run;
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  definition.run = async (ctx) => {
    await released;
    return original(ctx);
  };
  return () => {
    definition.run = original;
    release();
  };
}

/**
 * Until the returned function is called, jobs of `kind` fail at their first checkpoint of `done`
 * items or more, with the error `fault` makes — as a run that met a fault after writing that much.
 * Calling it puts the job's code back.
 */
export function failJobsAt(kind: string, done: number, fault: () => Error): () => void {
  const definition = jobDefinition(kind)!;
  const original = definition.run;
  definition.run = (ctx) =>
    original({
      ...ctx,
      checkpoint: async (value, reached) => {
        await ctx.checkpoint(value, reached);
        if (reached !== undefined && reached >= done) throw fault();
      },
    });
  return () => {
    definition.run = original;
  };
}

/**
 * Until `restore` is called, the `nth` batch a job of `kind` writes (counted by its claims on the job,
 * `JobContext.holdJob`) waits inside its transaction, right after its claim, until the job's signal is
 * aborted (a cancel), `release` is called or `most` ms have passed; `reached` settles when it starts waiting.
 */
export function holdBatchInside(kind: string, nth: number, most: number): { reached: Promise<void>; release: () => void; restore: () => void } {
  const definition = jobDefinition(kind)!;
  const original = definition.run;
  let reach = () => {};
  const reached = new Promise<void>((resolve) => (reach = resolve));
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  definition.run = (ctx) => {
    let claims = 0;
    return original({
      ...ctx,
      holdJob: async (session) => {
        await ctx.holdJob!(session);
        if (++claims !== nth) return;
        reach();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, most);
          void released.then(() => resolve(clearTimeout(timer)));
          ctx.signal.addEventListener('abort', () => resolve(clearTimeout(timer)), { once: true });
          if (ctx.signal.aborted) resolve(clearTimeout(timer));
        });
      },
    });
  };
  return {
    reached,
    release,
    restore: () => {
      definition.run = original;
    },
  };
}
