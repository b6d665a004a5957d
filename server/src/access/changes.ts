import mongoose, { type Schema } from 'mongoose';
import { events, onEvent } from '../events/bus';

/**
 * The access structure's version: a counter in MongoDB (`meta`, `_id: 'access-version'`) that every
 * write to libraries, folders, departments, groups or users increments. Each instance keeps its
 * access snapshot (snapshot.ts) as long as the counter has not moved past it; it learns of a move
 * from the event bus at once, and from polling the counter when an event is missed.
 */
const VERSION_ID = 'access-version';

interface VersionDoc {
  _id: string;
  value: number;
}

const versions = () => {
  const db = mongoose.connection.db;
  if (!db) throw new Error('the access version needs a connected database');
  return db.collection<VersionDoc>('meta');
};

/** The highest version this instance has heard of (its own writes, the bus, the poll). */
let knownVersion = 0;

export const latestKnownAccessVersion = (): number => knownVersion;

/** Takes note of a version seen elsewhere; true when it is newer than any known before. */
export function heardOfAccessVersion(version: number): boolean {
  if (version <= knownVersion) return false;
  knownVersion = version;
  return true;
}

/** Reads the stored counter (one small round trip). */
export async function storedAccessVersion(): Promise<number> {
  const doc = await versions().findOne({ _id: VERSION_ID });
  const version = doc?.value ?? 0;
  heardOfAccessVersion(version);
  return version;
}

/** Records that the access structure changed: increments the counter and tells every instance. */
export async function accessStructureChanged(): Promise<void> {
  const doc = await versions().findOneAndUpdate({ _id: VERSION_ID }, { $inc: { value: 1 } }, { upsert: true, returnDocument: 'after' });
  const version = doc?.value ?? knownVersion + 1;
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
  knownVersion = 0;
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
