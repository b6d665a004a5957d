import { Cron } from 'croner';
import type { Config } from '../config';
import type { DatabaseKind } from '../db/connect';
import { defineJob } from '../jobs/define';
import { Job } from '../jobs/model';
import type { JobView } from '../jobs/view';
import { jobView } from '../jobs/view';
import type { Logger } from '../logger';
import type { KeepRule } from './retention';
import { runBackup } from './service';

export interface BackupSettings {
  dir: string;
  keep: KeepRule;
  keepText: string;
  schedule: string | undefined;
  server: DatabaseKind;
  logger: Logger;
}

let settings: BackupSettings | null = null;
let scheduler: Cron | null = null;

/** The server's backup settings (set at start). */
export function backupSettings(): BackupSettings {
  if (!settings) throw new Error('backups are not configured: the server sets them at start');
  return settings;
}

/** A backup into BACKUP_DIR, run by the job runner: from the console or the schedule. */
export const backupJob = defineJob<{ trigger: 'manual' | 'schedule' }, { backupId: string; file: string; sizeBytes: number; documents: number }>({
  type: 'backup',
  async run(ctx) {
    const { dir, keep, server, logger } = backupSettings();
    const done = await runBackup({
      dir,
      trigger: ctx.params.trigger,
      server,
      logger,
      requestedBy: ctx.ownerId,
      jobId: ctx.jobId,
      keep: ctx.params.trigger === 'schedule' ? keep : undefined,
      signal: ctx.signal,
      onProgress: (count, total) => ctx.progress(count, total),
    });
    return { backupId: String(done._id), file: done.file!, sizeBytes: done.sizeBytes!, documents: done.documents! };
  },
});

const isDuplicateKey = (error: unknown) => (error as { code?: number }).code === 11000;

/** One backup at a time, whoever asks: the job's active key. */
const ONE_BACKUP = { activeKey: 'backup' };

/** «Создать сейчас»: queues a backup, or returns the one already queued or running (however many ask at once). */
export async function requestBackup(ownerId: string): Promise<JobView> {
  for (;;) {
    try {
      return await backupJob.enqueue(ownerId, { trigger: 'manual' }, ONE_BACKUP);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    // Another backup holds the key; if it finished meanwhile, the key is free again: try again.
    const active = await Job.findOne({ activeKey: ONE_BACKUP.activeKey }).lean();
    if (active) return jobView(active as never);
  }
}

/**
 * Starts the server's backup schedule (BACKUP_SCHEDULE). Every instance keeps the schedule; at
 * each slot they all try to queue the slot's job and the unique key lets exactly one succeed (none
 * while a backup is still under way).
 */
export function startBackups(config: Config, server: DatabaseKind, logger: Logger): () => void {
  settings = { dir: config.backupDir, keep: config.backupKeep, keepText: config.backupKeepText, schedule: config.backupSchedule, server, logger };
  if (!config.backupSchedule) return () => {};
  scheduler = new Cron(config.backupSchedule, { protect: true, name: 'backup' }, async (cron: Cron) => {
    const slot = (cron.currentRun() ?? new Date()).toISOString().slice(0, 19);
    try {
      await backupJob.enqueue(null, { trigger: 'schedule' }, { uniqueKey: `backup:${slot}`, ...ONE_BACKUP });
      logger.info({ slot }, 'scheduled backup queued');
    } catch (error) {
      if (!isDuplicateKey(error)) logger.error({ err: error, slot }, 'scheduled backup could not be queued');
    }
  });
  logger.info({ schedule: config.backupSchedule, next: scheduler.nextRun(), dir: config.backupDir, keep: config.backupKeepText }, 'backup schedule started');
  return () => {
    scheduler?.stop();
    scheduler = null;
  };
}

export function nextScheduledBackup(): Date | null {
  return scheduler?.nextRun() ?? null;
}
