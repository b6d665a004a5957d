import mongoose from 'mongoose';
import type { Logger } from '../logger';
import { withLock } from '../jobs/lock';
import type { Db, MigrationStep } from './step';
import { MIGRATION_STEPS } from './steps';

export type { Db, MigrationStep };

/** The model as it was before it was versioned: a database without a version stamp is at it. */
export const BASELINE_VERSION = 1;

interface DataModelDoc {
  _id: 'data-model';
  version: number;
  applied: { version: number; name: string; at: Date }[];
}

export function latestVersion(steps: readonly MigrationStep[] = MIGRATION_STEPS): number {
  return steps.at(-1)?.version ?? BASELINE_VERSION;
}

function checkNumbering(steps: readonly MigrationStep[]): void {
  steps.forEach((step, index) => {
    if (step.version !== BASELINE_VERSION + index + 1) throw new Error(`migration "${step.name}" must have version ${BASELINE_VERSION + index + 1}, not ${step.version}`);
  });
}

const stamp = (db: Db) => db.collection<DataModelDoc>('meta');

/** The stored data model's version, or null when the database has none yet. */
export async function storedVersion(db: Db, session?: mongoose.mongo.ClientSession): Promise<number | null> {
  return (await stamp(db).findOne({ _id: 'data-model' }, { session }))?.version ?? null;
}

/** Records the version a database is at (a fresh database, or one just restored from an archive). */
export async function setStoredVersion(db: Db, version: number): Promise<void> {
  await stamp(db).updateOne({ _id: 'data-model' }, { $set: { version }, $setOnInsert: { applied: [] } }, { upsert: true });
}

export interface MigrationReport {
  from: number;
  to: number;
  applied: string[];
}

/**
 * Brings the stored data model up to the newest version, running the pending steps in order and
 * recording each one. One instance migrates at a time (a lock in MongoDB); the others wait for it.
 * A database without users and without a version is new: it is stamped with the newest version.
 */
export async function migrateDatabase(logger: Logger, options: { db?: Db; steps?: readonly MigrationStep[]; holder?: string } = {}): Promise<MigrationReport> {
  const db = options.db ?? mongoose.connection.db!;
  const steps = options.steps ?? MIGRATION_STEPS;
  checkNumbering(steps);
  const holder = options.holder ?? `migrate:${process.pid}:${Math.random().toString(36).slice(2)}`;
  const report = await withLock(
    'migrations',
    holder,
    async () => {
      let version = await storedVersion(db);
      if (version === null) {
        const fresh = (await db.collection('users').estimatedDocumentCount()) === 0;
        version = fresh ? latestVersion(steps) : BASELINE_VERSION;
        await setStoredVersion(db, version);
      }
      if (version > latestVersion(steps)) {
        throw new Error(`the database's data model is version ${version}, newer than this Kartoteka knows (${latestVersion(steps)}): run the newer Kartoteka`);
      }
      const from = version;
      const applied: string[] = [];
      for (const step of steps.filter((s) => s.version > from)) {
        const started = Date.now();
        logger.info({ version: step.version, migration: step.name }, 'migration started');
        await step.up(db, logger);
        await stamp(db).updateOne({ _id: 'data-model' }, { $set: { version: step.version }, $push: { applied: { version: step.version, name: step.name, at: new Date() } } });
        logger.info({ version: step.version, migration: step.name, ms: Date.now() - started }, 'migration done');
        applied.push(step.name);
      }
      return { from, to: latestVersion(steps), applied };
    },
    { wait: true, ttlMs: 120_000, db },
  );
  if (report!.applied.length > 0) logger.info(report, 'data model migrated');
  return report!;
}
