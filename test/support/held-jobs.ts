import { setTimeout as sleep } from 'node:timers/promises';
import { jobDefinition } from '../../server/src/jobs/define';

/**
 * Until the returned function is called, jobs of `kind` are held running (their code waits before
 * it starts). Calling it puts the job's code back and lets the held jobs go on; calling it again
 * changes nothing.
 */
type JobRun = NonNullable<ReturnType<typeof jobDefinition>>['run'];

/** Runs jobs of `kind` through `wrap` of their code; the returned function puts their code back. */
function wrapJobs(kind: string, wrap: (original: JobRun) => JobRun): () => void {
  const definition = jobDefinition(kind)!;
  const original = definition.run;
  definition.run = wrap(original);
  return () => {
    definition.run = original;
  };
}

/**
 * Until the returned function is called, jobs of `kind` are held running (their code waits before
 * it starts). Calling it puts the job's code back and lets the held jobs go on; calling it again
 * changes nothing.
 */
export function holdJobs(kind: string): () => void {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const restore = wrapJobs(kind, (original) => async (ctx) => {
    await released;
    return original(ctx);
  });
  return () => {
    restore();
    release();
  };
}

/**
 * Until the returned function is called, jobs of `kind` fail at their first checkpoint of `done`
 * items or more, with the error `fault` makes — as a run that met a fault after writing that much.
 * Calling it puts the job's code back.
 */
export function failJobsAt(kind: string, done: number, fault: () => Error): () => void {
  return wrapJobs(
    kind,
    (original) => (ctx) =>
      original({
        ...ctx,
        checkpoint: async (value, reached) => {
          await ctx.checkpoint(value, reached);
          if (reached !== undefined && reached >= done) throw fault();
        },
      }),
  );
}

/**
 * Until `restore` is called, the `nth` batch a job of `kind` writes (counted by its claims on the job,
 * `JobContext.holdJob`) waits inside its transaction, right after its claim, until the job's signal is
 * aborted (a cancel), `release` is called or `most` ms have passed; `reached` settles when it starts waiting.
 */
export function holdBatchInside(kind: string, nth: number, most: number): { reached: Promise<void>; release: () => void; restore: () => void } {
  let reach = () => {};
  const reached = new Promise<void>((resolve) => (reach = resolve));
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const restore = wrapJobs(kind, (original) => (ctx) => {
    let claims = 0;
    return original({
      ...ctx,
      holdJob: async (session) => {
        await ctx.holdJob!(session);
        if (++claims !== nth) return;
        reach();
        await Promise.race([released, sleep(most, undefined, { signal: ctx.signal, ref: false }).catch(() => undefined)]);
      },
    });
  });
  return { reached, release, restore };
}
