import { AsyncLocalStorage } from 'node:async_hooks';
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
 *
 * A second counter in the same record, `people`, moves on writes of users' profile fields only (name,
 * e-mail, language, login, password): access depends on none of them, so they do not move the access
 * version — at 10,000 folders a reload made every colleague's next request wait 1.5–2.4 s (s15 A4).
 * The snapshot then refreshes only those fields of its users — of the users the moves since its own
 * counter name (`profileChanges`, one entry a move, the last PROFILE_CHANGES_KEPT), all of them when
 * a move could not name its users or the moves are more than the record keeps.
 */
const VERSION_ID = 'access-version';

interface VersionDoc {
  _id: string;
  value: number;
  epoch?: string;
  people?: number;
  /** The users each move of `people` changed, the last one for its current value; `users` absent: not known. */
  profileChanges?: { users?: string[] }[];
}

/** Moves of the people counter whose users the record keeps (a refresh behind by more reads all users). */
const PROFILE_CHANGES_KEPT = 100;

/** A version of the access structure. */
export interface AccessVersion {
  epoch: string;
  value: number;
  /** Moved by writes of users' profile fields only (usersProfileChanged). */
  people: number;
}

type Db = NonNullable<typeof mongoose.connection.db>;

const versions = (db: Db | undefined = mongoose.connection.db) => {
  if (!db) throw new Error('the access version needs a connected database');
  return db.collection<VersionDoc>('meta');
};

/** The latest version this instance has heard of (its own writes, the bus, the poll). */
let known: AccessVersion = { epoch: '', value: 0, people: 0 };

/**
 * When the latest known version was last proven current: the start of the latest read of the
 * counter that returned it. Whatever moved the counter past it happened after that moment, so the
 * age of a change is at most the time since then, heard of by the bus or by the poll.
 */
let provenAt = 0;

/** Called when the latest known version moves on, with the moment the one before was last proven current. */
const versionListeners: ((previousProvenAt: number) => void)[] = [];

export function onAccessVersionMoved(listener: (previousProvenAt: number) => void): void {
  versionListeners.push(listener);
}

/** Takes `version` as the latest known; `readAt`: the start of the read of the counter that returned it (it was current then). */
function know(version: AccessVersion, readAt?: number): void {
  const moved = version.epoch !== known.epoch || version.value !== known.value;
  // Another database's (a restore's) versions say nothing of this one's.
  if (version.epoch !== known.epoch) sessionWrites.clear();
  const previousProvenAt = provenAt;
  known = version;
  // A version heard of otherwise (the bus, this instance's write) is taken as proven when the one before was, until a read proves it.
  if (readAt !== undefined) provenAt = Math.max(provenAt, readAt);
  if (moved) for (const listener of versionListeners) listener(previousProvenAt);
}

export const latestKnownAccessVersion = (): AccessVersion => known;

/** Whether a snapshot taken at `version` is still the latest known. */
export const isLatestAccessVersion = (version: AccessVersion): boolean => version.epoch === known.epoch && version.value >= known.value;

/** Takes note of a version seen elsewhere. */
export function heardOfAccessVersion(version: AccessVersion): void {
  if (version.epoch !== known.epoch || version.value > known.value) know(version);
  else if (version.value === known.value && version.people > known.people) known = { ...known, people: version.people };
}

const versionOf = (doc: VersionDoc | null): AccessVersion => ({ epoch: doc?.epoch ?? '', value: doc?.value ?? 0, people: doc?.people ?? 0 });

/**
 * Treats the snapshot as out of date without waiting for the counter (the database's contents were
 * replaced, e.g. a restore that just ended): the next use reads the counter and reloads.
 */
export function accessVersionUnknown(): void {
  know({ epoch: known.epoch, value: Number.POSITIVE_INFINITY, people: known.people });
}

/**
 * Takes note of the stored counter as read (the read started at `readAt`, so it was current then),
 * even when it went back: then the database was replaced under this instance.
 */
function storedAs(doc: VersionDoc | null, readAt: number): AccessVersion {
  const version = versionOf(doc);
  know(version, readAt);
  return version;
}

/** Reads the stored counter (one small round trip). */
export async function storedAccessVersion(): Promise<AccessVersion> {
  const readAt = performance.now();
  return storedAs(await versions().findOne({ _id: VERSION_ID }, { projection: { profileChanges: 0 } }), readAt);
}

/**
 * Reads the stored counter with the users whose profiles changed after people counter `since`:
 * null when the record cannot name them all (a move that did not know its users, or more moves
 * than it keeps).
 */
export async function profileChangesSince(since: number): Promise<{ version: AccessVersion; userIds: string[] | null }> {
  const readAt = performance.now();
  const doc = await versions().findOne({ _id: VERSION_ID });
  const version = storedAs(doc, readAt);
  const kept = doc?.profileChanges ?? [];
  const moves = version.people - since;
  if (moves > kept.length) return { version, userIds: null };
  const changes = moves > 0 ? kept.slice(kept.length - moves) : [];
  if (changes.some((change) => change.users === undefined)) return { version, userIds: null };
  return { version, userIds: [...new Set(changes.flatMap((change) => change.users!))] };
}

/**
 * Records that the access structure changed: increments the counter and tells every instance.
 * `db`: a database written without the models (a restore), when not the application's own.
 */
export async function accessStructureChanged(db?: Db): Promise<void> {
  const version = await moveVersion('value', db);
  wroteAccess(version.value);
  events.publish('access-changed', version);
}

/**
 * Records that users' profile fields changed (nothing access depends on): the snapshots refresh
 * those fields only, of these users (null: not known — then of all).
 */
export async function usersProfileChanged(userIds: string[] | null): Promise<void> {
  events.publish(
    'people-changed',
    await moveVersion('people', undefined, { $push: { profileChanges: { $each: [userIds ? { users: userIds } : {}], $slice: -PROFILE_CHANGES_KEPT } } }),
  );
}

async function moveVersion(counter: 'value' | 'people', db?: Db, besides: Record<string, unknown> = {}): Promise<AccessVersion> {
  const doc = await versions(db).findOneAndUpdate(
    { _id: VERSION_ID },
    { $inc: { [counter]: 1 }, $setOnInsert: { epoch: randomUUID() }, ...besides },
    { upsert: true, returnDocument: 'after', projection: { profileChanges: 0 } },
  );
  const version = versionOf(doc);
  heardOfAccessVersion(version);
  return version;
}

// Another instance (or this one) moved the version: the snapshot reloads (or refreshes its users) on its next use.
onEvent('access-changed', heardOfAccessVersion);
onEvent('people-changed', heardOfAccessVersion);

/**
 * How often the counter is read, in case a bus event was missed: a change is heard of within this
 * time, and each read proves the version current (the previous snapshot's second, snapshot.ts, is
 * counted from the last proof).
 */
const ACCESS_VERSION_POLL_MS = 250;

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
  know({ epoch: '', value: 0, people: 0 });
  provenAt = 0;
  sessionWrites.clear();
}

// ---------- requests and the versions they must see ----------

/**
 * What a request does, as far as it is known: a GraphQL request `undecided` until its operation
 * runs (its session and user may be looked up on the previous snapshot meanwhile), then `reads` (a
 * query) or `other`; any other request (an upload, a download) is `other` from the start.
 */
type RequestKind = 'undecided' | 'reads' | 'other';

/** A request being served: the session it is served for (once known), the latest access version it wrote, and what it does. */
interface AccessRequest {
  sessionId: string | null;
  wrote: number;
  kind: RequestKind;
}

const accessRequests = new AsyncLocalStorage<AccessRequest>();

/**
 * The latest access version each session wrote on this instance, until a snapshot at it is in use:
 * whoever changed access sees their change on their next requests too, not the previous snapshot.
 */
const sessionWrites = new Map<string, number>();

/**
 * Runs a request's handling. A GraphQL request (`graphql`) may be answered from the previous
 * snapshot (snapshot.ts) while a new one loads, unless it, or its session, wrote access — and only
 * until its operation proves not to be a query (requestOperation).
 */
export function asAccessRequest<T>(handle: () => Promise<T>, graphql: boolean): Promise<T> {
  return accessRequests.run({ sessionId: null, wrote: 0, kind: graphql ? 'undecided' : 'other' }, handle);
}

/**
 * The GraphQL operation the request runs, before its resolvers build the actor. Only a query is
 * answered from the previous snapshot; a mutation or a subscription is checked against the latest
 * rights — on the previous one a user who had just lost them granted them back to themselves, and
 * edited and created cards in the folder withdrawn (s17 attack H1, H2).
 */
export function requestOperation(operation: 'query' | 'mutation' | 'subscription'): void {
  const request = accessRequests.getStore();
  if (request) request.kind = operation === 'query' && request.kind !== 'other' ? 'reads' : 'other';
}

/** The request is served for this session (its writes are remembered for its next requests). */
export function servingSession(sessionId: string): void {
  const request = accessRequests.getStore();
  if (request) request.sessionId = sessionId;
}

function wroteAccess(value: number): void {
  const request = accessRequests.getStore();
  if (!request) return;
  request.wrote = Math.max(request.wrote, value);
  if (request.sessionId) sessionWrites.set(request.sessionId, Math.max(sessionWrites.get(request.sessionId) ?? 0, value));
}

/**
 * The access version the running code must see: for a GraphQL request not known to do more than
 * read, the latest its session wrote (0 when none); null for anything else — a mutation, an upload,
 * a job, a live stream, start-up — which always waits for the latest snapshot.
 */
export function versionRequestMustSee(): number | null {
  const request = accessRequests.getStore();
  if (!request || request.kind === 'other') return null;
  return Math.max(request.wrote, request.sessionId ? (sessionWrites.get(request.sessionId) ?? 0) : 0);
}

/** A snapshot at `value` is in use: the sessions' writes up to it are seen. */
export function accessWritesSeen(value: number): void {
  for (const [sessionId, wrote] of sessionWrites) if (wrote <= value) sessionWrites.delete(sessionId);
}

const QUERY_WRITES = /^(updateOne|updateMany|findOneAndUpdate|findOneAndDelete|findOneAndReplace|deleteOne|deleteMany|replaceOne)$/;

/** The top-level fields a write changes (an update's operators' paths and plain keys), or null for a write that is more than an update. */
function updatedFields(update: unknown): string[] | null {
  if (update === null || typeof update !== 'object' || Array.isArray(update)) return null;
  const fields: string[] = [];
  for (const [key, value] of Object.entries(update as Record<string, unknown>)) {
    if (!key.startsWith('$')) fields.push(key);
    else if (value !== null && typeof value === 'object') fields.push(...Object.keys(value));
    else return null;
  }
  return fields.map((path) => path.split('.')[0]);
}

/** The ids a write's filter names (`_id` one id, or `$in` of ids), or null when it names none. */
function idsOf(filter: unknown): string[] | null {
  const id = (filter as { _id?: unknown } | null | undefined)?._id;
  const one = (value: unknown) => typeof value === 'string' || value instanceof mongoose.Types.ObjectId;
  if (one(id)) return [String(id)];
  const list = (id as { $in?: unknown } | null | undefined)?.$in;
  return Array.isArray(list) && list.every(one) ? list.map(String) : null;
}

/**
 * Mongoose plugin for the models access decisions are made from: after any write through the
 * model (documents saved, queries, insertMany, bulkWrite) the access version moves on, so no
 * service can forget to invalidate the snapshot. Writes inside a transaction are skipped: moving
 * the version before the commit would let other instances reload the old state under the new
 * version; code that changes access in a transaction calls accessStructureChanged() after it.
 * `profileFields`: fields access does not depend on — an update of an existing record that changes
 * only these moves the people counter instead (usersProfileChanged).
 */
export function accessStructurePlugin(schema: Schema, { profileFields = [] }: { profileFields?: readonly string[] } = {}): void {
  type WithOptions = { getOptions?: () => { session?: unknown; upsert?: unknown }; $session?: () => unknown; getUpdate?: () => unknown; getFilter?: () => unknown };
  const inTransaction = (self: WithOptions) => Boolean(self.getOptions?.().session ?? self.$session?.());
  const profile = new Set(profileFields);
  const onlyProfile = (fields: string[] | null) => profile.size > 0 && fields !== null && fields.every((field) => profile.has(field));
  /** `profileOf`: the users whose profile fields alone the write changed (null: not known), undefined when it changed more. */
  const changed = async (self: WithOptions, profileOf: string[] | null | undefined) => {
    if (inTransaction(self)) return;
    await (profileOf === undefined ? accessStructureChanged() : usersProfileChanged(profileOf));
  };
  schema.pre('save', function () {
    this.$locals.profileOnly = !this.isNew && onlyProfile(this.modifiedPaths().map((path) => path.split('.')[0]));
  });
  schema.post('save', async function () {
    await changed(this as WithOptions, this.$locals.profileOnly === true ? [String(this._id)] : undefined);
  });
  schema.post(QUERY_WRITES, { document: false, query: true }, async function () {
    const self = this as WithOptions;
    const update = /^(updateOne|updateMany|findOneAndUpdate)$/.test((this as { op?: string }).op ?? '') && !self.getOptions?.().upsert ? self.getUpdate?.() : null;
    await changed(self, onlyProfile(updatedFields(update)) ? idsOf(self.getFilter?.()) : undefined);
  });
  schema.post('deleteOne', { document: true, query: false }, async function () {
    if (!inTransaction(this as WithOptions)) await accessStructureChanged();
  });
  schema.post('insertMany', async () => accessStructureChanged());
  schema.post('bulkWrite', async () => accessStructureChanged());
}
