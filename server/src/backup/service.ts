import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Types } from 'mongoose';
import { recordAudit, type AuditActor } from '../audit/service';
import { JobInterrupted } from '../jobs/runner';
import type { Logger } from '../logger';
import { verifyArchive } from './archive';
import { Backup, type BackupDoc, type BackupTrigger } from './model';
import { backupsToDelete, type KeepRule } from './retention';
import { archiveIn, writeSnapshot } from './snapshot';

export const SYSTEM_ACTOR: AuditActor = { userId: null, login: 'system', ip: '' };

export interface BackupRun {
  dir: string;
  trigger: BackupTrigger;
  /** Which server it is, for the manifest. */
  server: string;
  logger: Logger;
  actor?: AuditActor;
  requestedBy?: Types.ObjectId | string | null;
  jobId?: Types.ObjectId | string | null;
  /** Apply this retention rule to the directory's backups afterwards. */
  keep?: KeepRule;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Takes one backup and records it in the catalog: the archive, then a read-back of the whole
 * archive against its manifest (the verification status), then the retention rule. A failure is
 * logged, audited and left in the catalog for administrators to see.
 */
export async function runBackup(run: BackupRun): Promise<BackupDoc> {
  const actor = run.actor ?? SYSTEM_ACTOR;
  const dir = path.resolve(run.dir);
  const entry = await Backup.create({ trigger: run.trigger, dir, jobId: run.jobId ?? null, requestedBy: run.requestedBy ?? null, startedAt: new Date() });
  const logger = run.logger.child({ backupId: String(entry._id), trigger: run.trigger });
  try {
    const outcome = await writeSnapshot({ dir, server: run.server, signal: run.signal, onProgress: run.onProgress });
    let verification: BackupDoc['verification'];
    try {
      await verifyArchive(outcome.path);
      verification = { state: 'verified', at: new Date(), message: null };
    } catch (error) {
      verification = { state: 'failed', at: new Date(), message: describe(error) };
      logger.error({ err: error, file: outcome.path }, 'backup written but reading it back failed');
    }
    const done = await Backup.findByIdAndUpdate(
      entry._id,
      {
        $set: {
          state: 'succeeded',
          file: outcome.file,
          finishedAt: new Date(),
          durationMs: outcome.durationMs,
          sizeBytes: outcome.sizeBytes,
          documents: outcome.documents,
          kartotekaVersion: outcome.manifest.kartotekaVersion,
          dataModelVersion: outcome.manifest.dataModelVersion,
          verification,
        },
      },
      { returnDocument: 'after' },
    ).lean<BackupDoc>();
    logger.info({ file: outcome.path, bytes: outcome.sizeBytes, documents: outcome.documents, ms: outcome.durationMs, verification: verification.state }, 'backup written');
    await recordAudit(actor, {
      kind: 'backup-created',
      targetType: 'backup',
      targetId: String(entry._id),
      summary: outcome.file,
      after: { sizeBytes: outcome.sizeBytes, verification: verification.state },
    });
    if (run.keep) await applyRetention(dir, run.keep, logger);
    return done!;
  } catch (error) {
    const interrupted = run.signal?.aborted && run.signal.reason instanceof JobInterrupted;
    await Backup.updateOne(
      { _id: entry._id },
      {
        $set: {
          state: interrupted ? 'cancelled' : 'failed',
          error: describe(interrupted ? run.signal!.reason : error),
          finishedAt: new Date(),
          durationMs: Date.now() - entry.startedAt.getTime(),
        },
      },
    );
    if (!interrupted) {
      logger.error({ err: error }, 'backup failed');
      await recordAudit(actor, { kind: 'backup-failed', targetType: 'backup', targetId: String(entry._id), summary: describe(error) });
    }
    throw error;
  }
}

/** Deletes the archives in `dir` that the rule no longer keeps; their catalog entries stay, marked deleted. */
export async function applyRetention(dir: string, rule: KeepRule, logger: Logger): Promise<string[]> {
  const listed = await Backup.find({ dir, state: 'succeeded', deletedAt: null }, { file: 1, startedAt: 1 }).lean<Pick<BackupDoc, '_id' | 'file' | 'startedAt'>[]>();
  const kept = listed.flatMap((b) => {
    const file = archiveIn(dir, b.file);
    if (!file) logger.warn({ backupId: String(b._id), file: b.file }, 'a catalog entry names no backup archive in the backup directory: the retention rule leaves it alone');
    return file ? [{ id: String(b._id), at: b.startedAt, file: b.file!, path: file }] : [];
  });
  const doomed = backupsToDelete(kept, rule);
  for (const backup of doomed) {
    await rm(backup.path, { force: true });
    await Backup.updateOne({ _id: backup.id }, { $set: { deletedAt: new Date() } });
  }
  if (doomed.length > 0) logger.info({ deleted: doomed.map((b) => b.file), rule }, 'old backups deleted by the retention rule');
  return doomed.map((b) => b.file);
}

/** Backups newest first, without those the retention rule deleted. */
export async function listBackups(limit: number): Promise<BackupDoc[]> {
  return Backup.find({ deletedAt: null })
    .sort({ startedAt: -1 })
    .limit(Math.min(Math.max(limit, 1), 500))
    .lean<BackupDoc[]>();
}

export async function findBackup(id: string): Promise<BackupDoc | null> {
  return Backup.findById(id).lean<BackupDoc>();
}
