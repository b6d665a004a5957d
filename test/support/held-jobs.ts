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
