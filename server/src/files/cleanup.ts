import { Cron } from 'croner';
import { defineJob } from '../jobs/define';
import type { Logger } from '../logger';
import { removeExpiredFiles } from './service';

/** Removes uploads never attached within 24 hours, and what purges left (see removeExpiredFiles). */
export const fileCleanupJob = defineJob<Record<string, never>, { removed: number }>({
  type: 'file-cleanup',
  async run() {
    return { removed: await removeExpiredFiles() };
  },
});

const isDuplicateKey = (error: unknown) => (error as { code?: number }).code === 11000;

/**
 * Every hour each instance queues the hour's cleanup; the slot's unique key lets exactly one of
 * them do it, and the job runner's lease keeps it on one instance at a time.
 */
export function startFileCleanup(logger: Logger): () => void {
  const schedule = new Cron('17 * * * *', { protect: true, name: 'file-cleanup' }, async (cron: Cron) => {
    const slot = (cron.currentRun() ?? new Date()).toISOString().slice(0, 13);
    try {
      await fileCleanupJob.enqueue(null, {}, { uniqueKey: `file-cleanup:${slot}` });
    } catch (error) {
      if (!isDuplicateKey(error)) logger.error({ err: error, slot }, 'file cleanup could not be queued');
    }
  });
  return () => schedule.stop();
}
