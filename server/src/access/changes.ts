import { randomUUID } from 'node:crypto';
import mongoose, { type Schema } from 'mongoose';
import { events, onEvent } from '../events/bus';

/**
 * The access structure's version: a counter in MongoDB (`meta`, `_id: 'access-version'`) that every
 * write to libraries, folders, departments, groups or users increments, with a random epoch drawn
 * when the counter is created. Each instance keeps its access snapshot (snapshot.ts) as long as the
 * counter has not moved past it; it learns of a move from the event bus at once, and from polling
 * the counter when an event is missed. A different epoch (or a counter that went back) means the
 * database's contents were replaced — a restore — and the snapshot reloads too.
 */
const VERSION_ID = 'access-version';

interface VersionDoc {
  _id: string;
  value: number;
  epoch?: string;
}

/** A version of the access structure. */
export interface AccessVersion {
  epoch: string;
  value: number;
}

type Db = NonNullable<typeof mongoose.connection.db>;

const versions = (db: Db | undefined = mongoose.connection.db) => {
  if (!db) throw new Error('the access version needs a connected database');
  return db.collection<VersionDoc>('meta');
};

/** The latest version this instance has heard of (its own writes, the bus, the poll). */
let known: AccessVersion = { epoch: '', value: 0 };

export const latestKnownAccessVersion = (): AccessVersion => known;

/** Whether a snapshot taken at `version` is still the latest known. */
export const isLatestAccessVersion = (version: AccessVersion): boolean => version.epoch === known.epoch && version.value >= known.value;

/** Takes note of a version seen elsewhere. */
export function heardOfAccessVersion(version: AccessVersion): void {
  if (version.epoch !== known.epoch || version.value > known.value) known = version;
}

const versionOf = (doc: VersionDoc | null): AccessVersion => ({ epoch: doc?.epoch ?? '', value: doc?.value ?? 0 });

/**
 * Treats the snapshot as out of date without waiting for the counter (the database's contents were
 * replaced, e.g. a restore that just ended): the next use reads the counter and reloads.
 */
export function accessVersionUnknown(): void {
  known = { epoch: known.epoch, value: Number.POSITIVE_INFINITY };
}

/** Reads the stored counter (one small round trip). */
export async function storedAccessVersion(): Promise<AccessVersion> {
  const version = versionOf(await versions().findOne({ _id: VERSION_ID }));
  // Read as stored, even when it went back: then the database was replaced under this instance.
  if (version.epoch !== known.epoch || version.value !== known.value) known = version;
  return version;
}

/**
 * Records that the access structure changed: increments the counter and tells every instance.
 * `db`: a database written without the models (a restore), when not the application's own.
 */
export async function accessStructureChanged(db?: Db): Promise<void> {
  const doc = await versions(db).findOneAndUpdate({ _id: VERSION_ID }, { $inc: { value: 1 }, $setOnInsert: { epoch: randomUUID() } }, { upsert: true, returnDocument: 'after' });
  const version = versionOf(doc);
  heardOfAccessVersion(version);
  events.publish('access-changed', version);
}

// Another instance (or this one) moved the version: the snapshot reloads on its next use.
onEvent('access-changed', (version) => {
  heardOfAccessVersion(version);
});

/** How often the counter is read, in case a bus event was missed: staleness stays under a second. */
const ACCESS_VERSION_POLL_MS = 500;

/** Polls the stored counter; returns the function that stops polling. */
export function watchAccessVersion(onError: (error: unknown) => void): () => void {
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    storedAccessVersion()
      .catch(onError)
      .finally(() => {
        polling = false;
      });
  }, ACCESS_VERSION_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** A new database (tests start several in one process): forget versions of the previous one. */
export function resetAccessVersion(): void {
  known = { epoch: '', value: 0 };
}

const QUERY_WRITES = /^(updateOne|updateMany|findOneAndUpdate|findOneAndDelete|findOneAndReplace|deleteOne|deleteMany|replaceOne)$/;

/**
 * Mongoose plugin for the models access decisions are made from: after any write through the
 * model (documents saved, queries, insertMany, bulkWrite) the access version moves on, so no
 * service can forget to invalidate the snapshot. Writes inside a transaction are skipped: moving
 * the version before the commit would let other instances reload the old state under the new
 * version; code that changes access in a transaction calls accessStructureChanged() after it.
 */
export function accessStructurePlugin(schema: Schema): void {
  type WithOptions = { getOptions?: () => { session?: unknown }; $session?: () => unknown };
  const inTransaction = (self: WithOptions) => Boolean(self.getOptions?.().session ?? self.$session?.());
  schema.post('save', async function () {
    if (!inTransaction(this as WithOptions)) await accessStructureChanged();
  });
  schema.post(QUERY_WRITES, { document: false, query: true }, async function () {
    if (!inTransaction(this as WithOptions)) await accessStructureChanged();
  });
  schema.post('deleteOne', { document: true, query: false }, async function () {
    if (!inTransaction(this as WithOptions)) await accessStructureChanged();
  });
  schema.post('insertMany', async () => accessStructureChanged());
  schema.post('bulkWrite', async () => accessStructureChanged());
}
