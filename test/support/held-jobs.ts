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
