/**
 * The catalog (databases → collections → indexes, small and on the heap) and the records in LMDB,
 * with index maintenance, unique checks, record locks of open transactions and snapshot
 * transactions (an LMDB read snapshot plus the transaction's own write set).
 */
import { serialize, UUID, ObjectId } from 'bson';
import { CommandError, namespaceExists, namespaceNotFound, writeConflict } from './errors';
import { BTreeIndex, createIndex, duplicateKeyError, sameIndexValue, TextIndex, type AnyIndex, type Doc, type IndexKey, type IndexSpec } from './indexes';
import { idKeyOf, KEY_FORMAT, prefixEnd, u32 } from './keys';
import type { Database } from 'lmdb';
import { type CatalogEntry, type ReadTxn, type Storage } from './storage';
import { decodeDocument, holdsExactKeyedNumbers } from './typed-numbers';

export const ID_INDEX_SPEC: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

/** Records an index build indexes per write transaction (a fraction of a second of work). */
const BUILD_BATCH = 2000;
/** Entries of dropped collections and indexes deleted per write transaction (tens of milliseconds). */
const RECLAIM_BATCH = 2000;
/** Entries a scan copies out of LMDB at first (a folder page and the next card), and at most at once (index entries; records). */
const FIRST_CHUNK = 64;
const LAST_CHUNK = 4096;
const LAST_RECORD_CHUNK = 512;

/**
 * How long a transaction's statements, or its commit working out its writes, run before other
 * clients are answered (ms): a page's query waits behind a transaction's work at most about this long.
 */
export const TRANSACTION_SLICE_MS = 5;

/** One LMDB write: `value` stored under `key`, or the key deleted (null); `unique`: an entry of a unique index (one per key). */
interface StorageOp {
  db: Database<Buffer, Buffer>;
  key: Buffer;
  value: Buffer | null;
  unique?: boolean;
}

/** A commit's writes, worked out before they are applied (`Store.commitWrites`). */
interface CommitPlan {
  ops: StorageOp[];
  records: { collection: Collection; idKey: Buffer; doc: Doc | null; old: Doc | undefined; multikey: BTreeIndex[] }[];
  current: () => boolean;
}

/** The indexes a write to the collection keeps up to date, as one comparable text. */
const writtenShape = (collection: Collection) =>
  collection.indexes
    .concat(collection.building)
    .map((index) => index.id)
    .join(',');

/** The entries of a dropped collection or index: every key of `db` under `prefix`. */
interface Dropped {
  db: Database<Buffer, Buffer>;
  prefix: Buffer;
}

export class Collection {
  readonly prefix: Buffer;

  constructor(
    public db: string,
    public name: string,
    readonly id: number,
    readonly uuid: UUID,
    readonly options: Doc,
    readonly indexes: AnyIndex[],
    public count: number,
    /** The key format its record and index keys are written in (older ones are upgraded at start-up). */
    public keyFormat = KEY_FORMAT,
  ) {
    this.prefix = u32(id);
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get isView(): boolean {
    return typeof this.options.viewOn === 'string';
  }

  get textIndex(): TextIndex | undefined {
    return this.indexes.find((index): index is TextIndex => index instanceof TextIndex);
  }

  get btreeIndexes(): BTreeIndex[] {
    return this.indexes.filter((index): index is BTreeIndex => index instanceof BTreeIndex);
  }

  /** Indexes being built: every write keeps them up to date, queries and listIndexes see them once built. */
  readonly building: AnyIndex[] = [];
  /** The index build under way: createIndexes on the collection waits for it before it looks at the indexes. */
  build: Promise<unknown> | null = null;

  /** Every B-tree index a write keeps up to date, built or being built. */
  get writtenBTrees(): BTreeIndex[] {
    return [...this.indexes, ...this.building].filter((index): index is BTreeIndex => index instanceof BTreeIndex);
  }

  /** The text index a write keeps up to date, built or being built. */
  get writtenText(): TextIndex | undefined {
    return [...this.indexes, ...this.building].find((index): index is TextIndex => index instanceof TextIndex);
  }

  docKey(idKey: Buffer): Buffer {
    return Buffer.concat([this.prefix, idKey]);
  }

  entry(): CatalogEntry {
    return {
      ns: this.ns,
      id: this.id,
      uuid: this.uuid.toHexString(),
      options: this.options,
      indexes: this.isView ? undefined : this.indexes.map((index) => ({ id: index.id, spec: index.spec, multikey: index.multikey, pathsChecked: true })),
      count: 0,
      keyFormat: this.keyFormat,
    };
  }
}

/** Thrown by a write outside a transaction that meets a record locked by one: it runs again once that transaction ends. */
export class LockWait extends Error {
  constructor(readonly holder: Transaction) {
    super('record locked by an open transaction');
  }
}

function lockKey(collection: Collection, idKey: Buffer): string {
  return `${collection.id}:${idKey.toString('latin1')}`;
}

/** The lock name of a key of a unique index (ids of collections and indexes are never shared, so no record's lock has it). */
function uniqueKeyLock(index: BTreeIndex, ikey: IndexKey): string {
  return `${index.id}:${ikey.key.toString('latin1')}`;
}

/**
 * The keys of unique indexes a write adds or removes (a record's new version `doc`, null for a
 * delete, over its version `old`), as lock names: a transaction claims them as it claims the
 * record, so two writers of one unique value meet at the write, as in MongoDB.
 */
function changedUniqueKeys(collection: Collection, doc: Doc | null, old: Doc | undefined): string[] {
  const changed: string[] = [];
  for (const index of collection.writtenBTrees) {
    if (!index.unique) continue;
    const next = new Set(doc ? index.keysOf(doc).keys.map((ikey) => uniqueKeyLock(index, ikey)) : []);
    const before = new Set(old ? index.keysOf(old).keys.map((ikey) => uniqueKeyLock(index, ikey)) : []);
    for (const key of next) if (!before.has(key)) changed.push(key);
    for (const key of before) if (!next.has(key)) changed.push(key);
  }
  return changed;
}

/** An index entry met by a scan: its full key and the record it points to. */
export interface Entry {
  key: Buffer;
  idKey: Buffer;
}

/** A transaction's own writes to one collection, with lazily built sorted key lists per index. */
export class Overlay {
  /** `bytes`: the document's BSON as it arrived, when an insert stores it so (written at commit as it is). */
  readonly records = new Map<string, { idKey: Buffer; doc: Doc | null; bytes?: Buffer }>();
  private readonly sorted = new Map<BTreeIndex, { entries: Entry[]; byRecord: Map<string, Buffer[]> }>();

  set(idKey: Buffer, doc: Doc | null, bytes?: Buffer): void {
    const id = idKey.toString('latin1');
    this.records.set(id, { idKey, doc, bytes });
    for (const [index, list] of this.sorted) {
      for (const key of list.byRecord.get(id) ?? []) {
        const at = lowerBound(list.entries, key);
        if (at < list.entries.length && list.entries[at]!.key.equals(key)) list.entries.splice(at, 1);
      }
      list.byRecord.delete(id);
      if (doc) this.addSorted(index, list, idKey, id, doc);
    }
  }

  private addSorted(index: BTreeIndex, list: { entries: Entry[]; byRecord: Map<string, Buffer[]> }, idKey: Buffer, id: string, doc: Doc): void {
    const keys: Buffer[] = [];
    for (const { key } of index.keysOf(doc).keys) {
      const full = Buffer.concat([key, idKey]);
      list.entries.splice(lowerBound(list.entries, full), 0, { key: full, idKey });
      keys.push(full);
    }
    list.byRecord.set(id, keys);
  }

  /** The transaction's own index entries in [start, end), in key order. */
  entries(index: BTreeIndex, start: Buffer, end: Buffer): Entry[] {
    let list = this.sorted.get(index);
    if (!list) {
      list = { entries: [], byRecord: new Map() };
      for (const [id, { idKey, doc }] of this.records) if (doc) this.addSorted(index, list, idKey, id, doc);
      this.sorted.set(index, list);
    }
    return list.entries.slice(lowerBound(list.entries, start), lowerBound(list.entries, end));
  }
}

function lowerBound(entries: Entry[], key: Buffer): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(entries[mid]!.key, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How a command reads: committed state (the current write transaction, or a snapshot), plus a transaction's own writes. */
export interface ReadView {
  store: Store;
  snapshot?: ReadTxn;
  txn?: Transaction;
  /** A cursor's view: counts the snapshots its batches were read in (`scanRange` reads on in the new one). */
  generation?: number;
}

export class Transaction {
  /** Per collection: the transaction's own writes (null = deleted). */
  readonly writes = new Map<Collection, Overlay>();
  /** Records locked by this transaction, released on commit, abort, error or time-out. */
  private readonly claimed: string[] = [];
  readonly startSeq: number;
  readonly startedAt = Date.now();
  readonly snapshot: ReadTxn;
  state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';
  private resolveFinished!: () => void;
  /** Settles when the transaction commits or aborts (writes waiting on its locks then retry). */
  readonly finished = new Promise<void>((resolve) => (this.resolveFinished = resolve));

  constructor(
    readonly store: Store,
    readonly txnNumber: number,
  ) {
    this.startSeq = store.committedSeq;
    this.snapshot = store.storage.snapshot();
    store.openTransactions.add(this);
  }

  get view(): ReadView {
    return { store: this.store, snapshot: this.snapshot, txn: this };
  }

  overlay(collection: Collection): Overlay | undefined {
    return this.writes.get(collection);
  }

  /** The record as this transaction sees it. */
  get(collection: Collection, idKey: Buffer): Doc | undefined {
    const own = this.writes.get(collection)?.records.get(idKey.toString('latin1'));
    if (own) return own.doc ?? undefined;
    return this.store.getDoc(collection, idKey, this.snapshot);
  }

  /** Claims a record or a unique key; another open transaction's claim or a commit after our snapshot is a WriteConflict. */
  private claim(key: string): void {
    const holder = this.store.locks.get(key);
    if (holder === this) return;
    if (holder) throw writeConflict();
    if ((this.store.lastWrite.get(key) ?? -1) > this.startSeq) throw writeConflict();
    this.store.locks.set(key, this);
    this.claimed.push(key);
  }

  /**
   * Writes a record's new version (`doc`, null to delete it; `old` the version this transaction
   * saw). The unique keys it adds or removes are claimed with the record: a key another open
   * transaction wrote, or one committed since this transaction began, is a WriteConflict at this
   * write (not an E11000 at commit), and a second writer of the key in this transaction gets E11000.
   */
  write(collection: Collection, idKey: Buffer, doc: Doc | null, old: Doc | undefined, bytes?: Buffer): void {
    let own = this.writes.get(collection);
    // A refused write claims nothing: uniqueness is checked before the record is locked.
    if (doc) this.store.checkUnique(collection, idKey, doc, this.view);
    this.claim(lockKey(collection, idKey));
    for (const key of changedUniqueKeys(collection, doc, old)) this.claim(key);
    if (!own) this.writes.set(collection, (own = new Overlay()));
    own.set(idKey, doc, bytes);
  }

  /**
   * Applies every write in one LMDB write transaction, or none (E11000 against newer commits aborts).
   * What to write is worked out first, in slices between which other clients are answered; the
   * writes are then handed to LMDB's writer thread (`Store.commitWrites`).
   */
  async commit(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'committing';
    try {
      await this.store.commitWrites(this.writes);
    } catch (error) {
      this.finish('aborted');
      throw error;
    }
    this.finish('committed');
  }

  abort(): void {
    if (this.state === 'open') this.finish('aborted');
  }

  private finish(state: 'committed' | 'aborted'): void {
    if (this.state !== 'open' && this.state !== 'committing') return;
    this.state = state;
    for (const key of this.claimed) if (this.store.locks.get(key) === this) this.store.locks.delete(key);
    this.claimed.length = 0;
    this.snapshot.done();
    this.store.openTransactions.delete(this);
    this.store.pruneWrites();
    this.resolveFinished();
  }
}

export function splitNamespace(ns: string): [string, string] {
  const dot = ns.indexOf('.');
  return [ns.slice(0, dot), ns.slice(dot + 1)];
}

export class Store {
  readonly collections = new Map<string, Collection>();
  /** Record writes so far (cluster time, write-conflict detection), and how many of them are committed. */
  seq = 0;
  committedSeq = 0;
  readonly openTransactions = new Set<Transaction>();
  /** Records locked by open transactions. */
  readonly locks = new Map<string, Transaction>();
  /** Sequence number of each record's last write, kept while transactions are open or writes uncommitted. */
  readonly lastWrite = new Map<string, number>();
  /** Collections whose count changed in the current write, with the count before it (restored on rollback). */
  private readonly countsBefore = new Map<Collection, number>();
  private readonly catalogChanged = new Set<Collection>();
  /** Dropped collections and indexes whose entries are still to be deleted (in the background, a batch at a time). */
  private readonly unreclaimed: Dropped[] = [];
  private reclaiming: Promise<void> | null = null;
  private closing = false;
  /** Collections and indexes found at start-up with entries but no catalog entry: a drop or an index build a crash interrupted. */
  readonly leftovers: number;

  constructor(readonly storage: Storage) {
    const live = new Set<number>();
    const counted: Collection[] = [];
    for (const entry of storage.loadCatalog()) {
      const [db, name] = splitNamespace(entry.ns);
      const indexes = (entry.indexes ?? []).map((index) => createIndex(index.id, index.spec as IndexSpec, index.multikey, index.pathsChecked === true));
      const prefix = u32(entry.id);
      // Counting a collection's records read all its keys (160 s of CPU for the 1M installation, cold): counted once, for collections saved before counts were kept.
      const stored = storage.storedCount(entry.id);
      const count = stored ?? storage.docs.getKeysCount({ start: prefix, end: prefixEnd(prefix) });
      const collection = new Collection(db, name, entry.id, new UUID(entry.uuid), entry.options, indexes, count, entry.keyFormat ?? 1);
      this.collections.set(entry.ns, collection);
      if (stored === undefined) counted.push(collection);
      live.add(entry.id);
      for (const index of indexes) live.add(index.id);
    }
    if (counted.length > 0) storage.env.transactionSync(() => counted.forEach((collection) => storage.saveCount(collection.id, collection.count)));
    // Ids are never reused: entries under an id the catalog does not know are left-overs.
    for (const db of [storage.docs, storage.index]) {
      for (const prefix of storage.prefixes(db)) if (!live.has(prefix.readUInt32BE(0))) this.unreclaimed.push({ db, prefix });
    }
    this.leftovers = this.unreclaimed.length;
    this.reclaim();
  }

  /**
   * Deletes the entries of dropped collections and indexes, a batch per write transaction, so the
   * server keeps answering meanwhile; what a stop or crash leaves undone is found again at start-up.
   */
  private reclaim(): void {
    if (this.reclaiming || this.closing || this.unreclaimed.length === 0) return;
    this.reclaiming = (async () => {
      while (this.unreclaimed.length > 0 && !this.closing) {
        const { db, prefix } = this.unreclaimed[0]!;
        const removed = await this.write(() => this.storage.clearPrefix(db, prefix, RECLAIM_BATCH));
        if (removed < RECLAIM_BATCH) this.unreclaimed.shift();
      }
    })()
      // A failed batch (the environment closing) leaves its entries to the next start-up.
      .catch(() => {})
      .finally(() => {
        this.reclaiming = null;
        this.reclaim();
      });
  }

  /** Queues the entries of collections and indexes dropped by a committed write for deletion. */
  private reclaimLater(dropped: Dropped[]): void {
    this.unreclaimed.push(...dropped);
    this.reclaim();
  }

  /**
   * Indexes saved before the multikey flag covered arrays met along a path may say "not multikey"
   * of a path through an array of subdocuments (`merged.cardId`). Once per such index (a dotted
   * path, not multikey, not checked yet), its collection's records are read until one has an array
   * on the way; the flag and the check are then saved. Returns the names of indexes found multikey.
   */
  async recheckMultikey(): Promise<string[]> {
    const found: string[] = [];
    const changed = new Set<Collection>();
    for (const collection of this.collections.values()) {
      for (const index of collection.btreeIndexes) {
        if (index.pathsChecked) continue;
        changed.add(collection);
        if (index.multikey || !index.fields.some((field) => field.includes('.'))) continue;
        for (const { value } of this.storage.docs.getRange({ start: collection.prefix, end: prefixEnd(collection.prefix) })) {
          if (!index.tuplesOf(decodeDocument(value)).arrays) continue;
          index.multikey = true;
          found.push(`${collection.ns} ${index.name}`);
          break;
        }
      }
    }
    if (changed.size === 0) return found;
    await this.write(() => {
      for (const collection of changed) {
        for (const index of collection.btreeIndexes) index.pathsChecked = true;
        if (this.collections.get(collection.ns) === collection) this.storage.saveCatalogEntry(collection.entry());
      }
    });
    return found;
  }

  /**
   * Collections saved in an older key format (`KEY_FORMAT`: 1 keyed a decimal between doubles and a
   * long beyond ±2^53 by a nearby double) are brought up to date once: their records' bytes are
   * scanned for such numbers (nothing is decoded when none holds one); a record whose `_id` holds
   * one is re-keyed (and then every index of its collection rebuilt), else only the indexes missing
   * the new keys of those records are rebuilt. The format is then saved. Returns what was rebuilt.
   */
  async upgradeKeyFormat(): Promise<string[]> {
    const rebuilt: string[] = [];
    for (const collection of this.collections.values()) {
      if (collection.keyFormat >= KEY_FORMAT) continue;
      const affected: { key: Buffer; idKey: Buffer; bytes: Buffer; doc: Doc }[] = [];
      for (const { key, value } of this.storage.docs.getRange({ start: collection.prefix, end: prefixEnd(collection.prefix) })) {
        if (!holdsExactKeyedNumbers(value)) continue;
        const bytes = Buffer.from(value);
        affected.push({ key: Buffer.from(key), idKey: Buffer.from(key.subarray(4)), bytes, doc: decodeDocument(bytes) });
      }
      await this.write(() => {
        let rekeyed = 0;
        for (const record of affected) {
          const idKey = idKeyOf(record.doc._id);
          if (idKey.equals(record.idKey)) continue;
          this.storage.docs.removeSync(record.key);
          this.storage.docs.putSync(collection.docKey(idKey), record.bytes);
          record.idKey = idKey;
          rekeyed++;
        }
        const stale =
          rekeyed > 0
            ? collection.indexes
            : collection.btreeIndexes.filter((index) =>
                affected.some(({ idKey, doc }) => index.keysOf(doc).keys.some((ikey) => this.storage.index.get(index.entryKey(ikey, idKey)) === undefined)),
              );
        for (const index of stale) {
          this.storage.clearPrefix(this.storage.index, index.prefix, Infinity);
          this.indexRecords(collection, [index], null, Infinity);
        }
        const done = [rekeyed > 0 ? `${rekeyed} records re-keyed by their _id` : '', stale.length > 0 ? `indexes rebuilt: ${stale.map((index) => index.name).join(', ')}` : ''];
        if (rekeyed > 0 || stale.length > 0) rebuilt.push(`${collection.ns}: ${done.filter(Boolean).join('; ')}`);
        collection.keyFormat = KEY_FORMAT;
        this.storage.saveCatalogEntry(collection.entry());
      });
    }
    return rebuilt;
  }

  /** Resolves once the entries of everything dropped so far are deleted. */
  async reclaimed(): Promise<void> {
    while (this.reclaiming) await this.reclaiming;
  }

  /** Stops deleting dropped entries (the rest waits for the next start) and closes the environment. */
  async close(): Promise<void> {
    this.closing = true;
    await this.reclaiming;
    await this.storage.close();
  }

  /** Runs `work` in one write transaction (resolving once on disk); in-memory counts follow a rollback. */
  async write<T>(work: () => T): Promise<T> {
    let seqAtEnd = -1;
    try {
      return await this.storage.write(() => {
        try {
          const value = work();
          for (const collection of this.catalogChanged) if (this.collections.get(collection.ns) === collection) this.storage.saveCatalogEntry(collection.entry());
          for (const [collection, before] of this.countsBefore)
            if (this.collections.get(collection.ns) === collection) this.storage.addToCount(collection.id, collection.count - before);
          seqAtEnd = this.seq;
          return value;
        } catch (error) {
          for (const [collection, count] of this.countsBefore) collection.count = count;
          throw error;
        } finally {
          this.countsBefore.clear();
          this.catalogChanged.clear();
        }
      });
    } finally {
      // Batches commit in order: everything written up to this work is now committed.
      if (seqAtEnd > this.committedSeq) this.committedSeq = seqAtEnd;
      this.pruneWrites();
    }
  }

  /** Forgets write sequence numbers no transaction can conflict with any more. */
  pruneWrites(): void {
    if (this.openTransactions.size === 0 && this.committedSeq >= this.seq) this.lastWrite.clear();
  }

  get(db: string, name: string): Collection | undefined {
    return this.collections.get(`${db}.${name}`);
  }

  databaseNames(): string[] {
    return [...new Set([...this.collections.values()].map((c) => c.db))].sort();
  }

  collectionsOf(db: string): Collection[] {
    return [...this.collections.values()].filter((c) => c.db === db);
  }

  /** The collection, created (in its own write) when missing. */
  async create(db: string, name: string, options: Doc = {}, failIfExists = false): Promise<Collection> {
    const existing = this.get(db, name);
    if (existing) {
      if (failIfExists) throw namespaceExists(`Collection ${db}.${name} already exists.`);
      return existing;
    }
    return this.write(() => this.createSync(db, name, options));
  }

  /** Inside a write: the collection, created when missing. */
  createSync(db: string, name: string, options: Doc = {}): Collection {
    const existing = this.get(db, name);
    if (existing) return existing;
    if (!/^[^$\0]+$/.test(name) || name.length > 255 || !db || /[/\\. "$\0]/.test(db))
      throw new CommandError(73, 'InvalidNamespace', `Invalid namespace specified '${db}.${name}'`);
    const collection = new Collection(db, name, this.storage.nextId(), new UUID(), options, [], 0);
    this.collections.set(collection.ns, collection);
    this.storage.saveCatalogEntry(collection.entry());
    this.storage.saveCount(collection.id, 0);
    return collection;
  }

  /** Drops a collection at once (gone from the catalog when this resolves); its entries are deleted in the background. */
  async drop(collection: Collection): Promise<void> {
    for (const txn of [...this.openTransactions]) if (txn.writes.has(collection)) txn.abort();
    this.reclaimLater(await this.write(() => this.dropSync(collection)));
  }

  /** Inside a write: removes the collection from the catalog; returns its entries, to delete once this commits. */
  private dropSync(collection: Collection): Dropped[] {
    if (this.collections.get(collection.ns) !== collection) return [];
    this.storage.removeCatalogEntry(collection.ns);
    this.storage.removeCount(collection.id);
    this.collections.delete(collection.ns);
    return [
      { db: this.storage.docs, prefix: collection.prefix },
      ...[...collection.indexes, ...collection.building].map((index) => ({ db: this.storage.index, prefix: index.prefix })),
    ];
  }

  async rename(collection: Collection, toDb: string, toName: string, dropTarget: boolean): Promise<void> {
    const target = this.get(toDb, toName);
    if (target && !dropTarget) throw namespaceExists('target namespace exists');
    for (const txn of [...this.openTransactions]) if (target && txn.writes.has(target)) txn.abort();
    const dropped = await this.write(() => {
      const current = this.get(toDb, toName);
      const replaced = current ? this.dropSync(current) : [];
      const from = collection.ns;
      this.storage.removeCatalogEntry(from);
      this.collections.delete(from);
      collection.db = toDb;
      collection.name = toName;
      this.collections.set(collection.ns, collection);
      this.storage.saveCatalogEntry(collection.entry());
      return replaced;
    });
    this.reclaimLater(dropped);
  }

  /**
   * Builds new indexes over the stored records in one pass, each record decoded once for all of
   * them, a batch of records per write transaction: between batches the server answers other
   * requests (their writes keep the new indexes up to date), and the indexes serve queries once
   * complete. E11000 on a unique clash, or the collection dropped meanwhile, leaves nothing behind
   * (the partial entries are deleted in the background, or at the next start after a crash).
   */
  async addIndexes(collection: Collection, specs: IndexSpec[]): Promise<AnyIndex[]> {
    const building = (async () => {
      const built = await this.write(() => specs.map((spec) => createIndex(this.storage.nextId(), spec, false)));
      collection.building.push(...built);
      try {
        let after: Buffer | null | undefined = null;
        while (after !== undefined) {
          const from: Buffer | null = after;
          after = await this.write(() => {
            if (this.collections.get(collection.ns) !== collection)
              throw new CommandError(276, 'IndexBuildAborted', `Index build on ${collection.ns} aborted: the collection was dropped`);
            return this.indexRecords(collection, built, from, BUILD_BATCH);
          });
        }
        await this.write(() => {
          collection.building.splice(0);
          collection.indexes.push(...built);
          this.storage.saveCatalogEntry(collection.entry());
        });
        return built;
      } catch (error) {
        collection.building.splice(0);
        this.reclaimLater(built.map((index) => ({ db: this.storage.index, prefix: index.prefix })));
        throw error;
      }
    })();
    collection.build = building;
    try {
      return await building;
    } finally {
      collection.build = null;
    }
  }

  /** Inside a write: builds new indexes over the stored records of a collection nobody else uses yet (a conversion). */
  addIndexesSync(collection: Collection, specs: IndexSpec[]): AnyIndex[] {
    const built = specs.map((spec) => createIndex(this.storage.nextId(), spec, false));
    this.indexRecords(collection, built, null, Infinity);
    collection.indexes.push(...built);
    this.storage.saveCatalogEntry(collection.entry());
    return built;
  }

  /**
   * Inside a write: adds the entries of up to `limit` records after the record key `after` (from
   * the first when null) to `indexes`. Returns the last record key indexed, or undefined when the
   * collection's records are done. Entries go straight into LMDB in record order: sorting them
   * first costs more than LMDB's own ordered inserts.
   */
  private indexRecords(collection: Collection, indexes: AnyIndex[], after: Buffer | null, limit: number): Buffer | undefined {
    let last: Buffer | undefined;
    let count = 0;
    const range = { start: after ?? collection.prefix, exclusiveStart: after !== null, end: prefixEnd(collection.prefix), limit: limit === Infinity ? undefined : limit };
    for (const { key, value } of this.storage.docs.getRange(range)) {
      const idKey = Buffer.from(key.subarray(4));
      const doc = decodeDocument(value);
      for (const index of indexes) {
        if (index instanceof TextIndex) {
          this.applySync(this.postingOps(index, idKey, doc));
          continue;
        }
        const { keys, arrays } = index.keysOf(doc);
        if (arrays) index.multikey = true;
        for (const ikey of keys) {
          if (index.unique && this.indexClash(collection, index, ikey, idKey, { store: this })) throw duplicateKeyError(collection.ns, index, index.keyValue(ikey.tuple));
          this.storage.index.putSync(index.entryKey(ikey, idKey), idKey);
        }
      }
      last = Buffer.from(key);
      count++;
    }
    return count < limit ? undefined : last;
  }

  async dropIndex(collection: Collection, name: string): Promise<void> {
    const dropped = await this.write(() => {
      const at = collection.indexes.findIndex((index) => index.name === name);
      if (at < 0) return [];
      const [index] = collection.indexes.splice(at, 1);
      this.storage.saveCatalogEntry(collection.entry());
      return [{ db: this.storage.index, prefix: index!.prefix }];
    });
    this.reclaimLater(dropped);
  }

  /**
   * A committed record (in the current write transaction, or in `snapshot`). It is decoded from a
   * copy: the stored bytes are a view that LMDB's next read reuses (or, for large records, the
   * memory map), and decoded binary values (GridFS chunks, UUIDs) keep pointing into their source.
   */
  getDoc(collection: Collection, idKey: Buffer, snapshot?: ReadTxn): Doc | undefined {
    const bytes = this.storage.bytes(this.storage.docs, collection.docKey(idKey), snapshot);
    return bytes ? decodeDocument(Buffer.from(bytes)) : undefined;
  }

  /** Index entries in [start, end), forward or backward, as `view` sees committed state (read in chunks: `scanRange`). */
  *scanCommitted(start: Buffer, end: Buffer, reverse: boolean, view: ReadView, offset = 0): Generator<Entry> {
    for (const { key, value } of this.scanRange(this.storage.index, start, end, reverse, view, offset)) yield { key, idKey: value };
  }

  /**
   * The entries of `db` in [start, end), forward or backward, as `view` sees committed state, copied
   * out of LMDB a chunk at a time: each chunk's LMDB iterator ends before its entries are given out,
   * so a scan suspended between them (a cursor waiting for its next getMore) holds no read snapshot
   * of its own. When the view moves to a new snapshot meanwhile (a cursor's getMore reads the
   * latest state), the rest of the chunk is read again after the last key given out. Chunks grow from
   * `FIRST_CHUNK` (a page's worth) so that long scans open few iterators.
   */
  *scanRange(db: Database<Buffer, Buffer>, start: Buffer, end: Buffer, reverse: boolean, view: ReadView, offset = 0): Generator<{ key: Buffer; value: Buffer }> {
    let after: Buffer | null = null;
    let chunk = FIRST_CHUNK;
    for (;;) {
      const generation = view.generation;
      const from = after ?? (reverse ? end : start);
      const options = reverse ? { start: from, end: start, reverse: true, inclusiveEnd: true, exclusiveStart: true } : { start: from, end, exclusiveStart: after !== null };
      const read: { key: Buffer; value: Buffer }[] = [];
      let seen = 0;
      for (const { key, value } of db.getRange({ ...options, offset: after ? 0 : offset, limit: chunk, transaction: view.snapshot })) {
        seen++;
        if (reverse && Buffer.compare(key, end) >= 0) continue;
        read.push({ key: Buffer.from(key), value: Buffer.from(value) });
      }
      let given = 0;
      for (const entry of read) {
        if (view.generation !== generation) break;
        yield entry;
        after = entry.key;
        given++;
      }
      if (given === read.length && seen < chunk) return;
      chunk = Math.min(chunk * 8, db === this.storage.docs ? LAST_RECORD_CHUNK : LAST_CHUNK);
    }
  }

  /** Whether another record holds `ikey` in a unique index, as `view` sees it; `ignore` skips records about to be rewritten. */
  indexClash(collection: Collection, index: BTreeIndex, ikey: IndexKey, idKey: Buffer, view: ReadView, ignore?: (id: string) => boolean): boolean {
    const end = prefixEnd(ikey.key);
    const overlay = view.txn?.overlay(collection);
    const sameValues = (otherId: Buffer) => {
      if (!ikey.inexact) return true;
      const other = view.txn ? view.txn.get(collection, otherId) : this.getDoc(collection, otherId, view.snapshot);
      return !!other && index.keysOf(other).keys.some((k) => k.tuple.every((v, i) => sameIndexValue(v, ikey.tuple[i])));
    };
    const committedClash = (other: Buffer) => {
      if (other.equals(idKey)) return false;
      const id = other.toString('latin1');
      return !overlay?.records.has(id) && !ignore?.(id) && sameValues(other);
    };
    if (!ikey.inexact) {
      // One entry per exact key: a point lookup.
      const other = this.storage.bytes(this.storage.index, ikey.key, view.snapshot);
      if (other && committedClash(Buffer.from(other))) return true;
    } else {
      for (const entry of this.scanCommitted(ikey.key, end, false, view)) if (committedClash(entry.idKey)) return true;
    }
    if (overlay) for (const entry of overlay.entries(index, ikey.key, end)) if (!entry.idKey.equals(idKey) && sameValues(entry.idKey)) return true;
    return false;
  }

  /** Throws E11000 when `doc` would collide in a unique index. */
  checkUnique(collection: Collection, idKey: Buffer, doc: Doc, view: ReadView, ignore?: (id: string) => boolean): void {
    for (const index of collection.btreeIndexes) {
      if (!index.unique) continue;
      for (const ikey of index.keysOf(doc).keys) {
        if (this.indexClash(collection, index, ikey, idKey, view, ignore)) throw duplicateKeyError(collection.ns, index, index.keyValue(ikey.tuple));
      }
    }
  }

  private noteCount(collection: Collection, delta: number): void {
    if (!this.countsBefore.has(collection)) this.countsBefore.set(collection, collection.count);
    collection.count += delta;
  }

  /** Notes a record write, and while transactions are open when it (and the unique keys it changes) were written. */
  private noteWrite(collection: Collection, idKey: Buffer, doc: Doc | null, old: Doc | undefined): void {
    this.seq++;
    if (this.openTransactions.size === 0) return;
    this.lastWrite.set(lockKey(collection, idKey), this.seq);
    for (const key of changedUniqueKeys(collection, doc, old)) this.lastWrite.set(key, this.seq);
  }

  /**
   * Throws LockWait when an open transaction holds the record, or a unique key the write adds or
   * removes (for writes outside transactions, which wait for that transaction as in MongoDB).
   */
  checkUnlocked(collection: Collection, idKey: Buffer, doc: Doc | null, old: Doc | undefined): void {
    if (this.locks.size === 0) return;
    for (const key of [lockKey(collection, idKey), ...changedUniqueKeys(collection, doc, old)]) {
      const holder = this.locks.get(key);
      if (holder) throw new LockWait(holder);
    }
  }

  /**
   * Stores a new version of a record with its index entries (inside a write); `old` is the version
   * it replaces, `bytes` the document's BSON when it is at hand.
   */
  putRecord(collection: Collection, idKey: Buffer, doc: Doc, old: Doc | undefined, ignore?: (id: string) => boolean, bytes?: Buffer): void {
    const { ops, multikey } = this.putOps(collection, idKey, doc, old, (key) => this.storage.bytes(this.storage.index, key), ignore, bytes);
    this.markMultikey(collection, multikey);
    this.applySync(ops);
    if (!old) this.noteCount(collection, 1);
    this.noteWrite(collection, idKey, doc, old);
  }

  deleteRecord(collection: Collection, idKey: Buffer, old: Doc): void {
    this.applySync(this.deleteOps(collection, idKey, old, (key) => this.storage.bytes(this.storage.index, key)));
    this.noteCount(collection, -1);
    this.noteWrite(collection, idKey, null, old);
  }

  /**
   * The LMDB writes that store `doc` over `old` (index entries added and removed, text postings, the
   * record), and the indexes it makes multikey; throws E11000 when a unique key is held by a record
   * outside `ignore`. `stored` reads a unique index's entry as the writes before this one left it.
   */
  private putOps(
    collection: Collection,
    idKey: Buffer,
    doc: Doc,
    old: Doc | undefined,
    stored: (key: Buffer) => Buffer | undefined,
    ignore?: (id: string) => boolean,
    bytes?: Buffer,
  ): { ops: StorageOp[]; multikey: BTreeIndex[] } {
    const index = this.storage.index;
    const ops: StorageOp[] = [];
    const adds: StorageOp[] = [];
    const multikey: BTreeIndex[] = [];
    for (const btree of collection.writtenBTrees) {
      const next = btree.keysOf(doc);
      const before = old ? btree.keysOf(old).keys : [];
      const beforeSet = new Set(before.map((k) => k.key.toString('latin1')));
      const nextSet = before.length ? new Set(next.keys.map((k) => k.key.toString('latin1'))) : null;
      const add = before.length ? next.keys.filter((k) => !beforeSet.has(k.key.toString('latin1'))) : next.keys;
      if (btree.unique) {
        for (const ikey of add)
          if (this.indexClash(collection, btree, ikey, idKey, { store: this }, ignore)) throw duplicateKeyError(collection.ns, btree, btree.keyValue(ikey.tuple));
      }
      if (next.arrays && !btree.multikey) multikey.push(btree);
      if (nextSet) for (const ikey of before) if (!nextSet.has(ikey.key.toString('latin1'))) this.removeEntryOp(ops, btree, ikey, idKey, stored);
      for (const ikey of add) {
        const key = btree.entryKey(ikey, idKey);
        adds.push({ db: index, key, value: idKey, unique: key === ikey.key });
      }
    }
    ops.push(...adds);
    const text = collection.writtenText;
    if (text) {
      if (old) ops.push(...this.postingOps(text, idKey, old, true));
      ops.push(...this.postingOps(text, idKey, doc));
    }
    ops.push({ db: this.storage.docs, key: collection.docKey(idKey), value: bytes ?? Buffer.from(serialize(doc)) });
    return { ops, multikey };
  }

  /** The LMDB writes that delete the record `old` with its index entries and text postings. */
  private deleteOps(collection: Collection, idKey: Buffer, old: Doc, stored: (key: Buffer) => Buffer | undefined): StorageOp[] {
    const ops: StorageOp[] = [];
    for (const btree of collection.writtenBTrees) for (const ikey of btree.keysOf(old).keys) this.removeEntryOp(ops, btree, ikey, idKey, stored);
    const text = collection.writtenText;
    if (text) ops.push(...this.postingOps(text, idKey, old, true));
    ops.push({ db: this.storage.docs, key: collection.docKey(idKey), value: null });
    return ops;
  }

  /** Removes a record's index entry; a unique key is left alone when another record (written earlier in this commit) holds it now. */
  private removeEntryOp(ops: StorageOp[], index: BTreeIndex, ikey: IndexKey, idKey: Buffer, stored: (key: Buffer) => Buffer | undefined): void {
    const key = index.entryKey(ikey, idKey);
    const unique = key === ikey.key;
    if (unique && !stored(key)?.equals(idKey)) return;
    ops.push({ db: this.storage.index, key, value: null, unique });
  }

  /** The text postings of `doc` to write, or (`remove`) to delete. */
  private postingOps(text: TextIndex, idKey: Buffer, doc: Doc, remove = false): StorageOp[] {
    return [...text.stemsOf(doc)].map(([stem, score]) => ({ db: this.storage.index, key: text.stemKey(stem, idKey), value: remove ? null : postingValue(score, idKey) }));
  }

  private markMultikey(collection: Collection, indexes: BTreeIndex[]): void {
    for (const btree of indexes) {
      btree.multikey = true;
      this.catalogChanged.add(collection);
    }
  }

  /** Inside a write: applies the operations in the current LMDB write transaction. */
  private applySync(ops: StorageOp[]): void {
    for (const { db, key, value } of ops) {
      if (value) db.putSync(key, value);
      else db.removeSync(key);
    }
  }

  /**
   * Commits a transaction's write set. What to write — every record's index entries, unique
   * checks, postings — is worked out first, in slices of `TRANSACTION_SLICE_MS` between which other
   * clients are answered (the transaction's records and unique keys stay locked meanwhile, so what
   * it reads of them cannot change); the writes are then queued in one event turn to LMDB's writer
   * thread, which applies them in one LMDB transaction off this thread: readers meanwhile see the
   * state before it, and all of it once committed. A 500-card import batch was one stretch of
   * about 100 ms here (its keys worked out and put one by one) that every other client waited behind.
   */
  async commitWrites(writes: Map<Collection, Overlay>): Promise<void> {
    const planning = this.planCommit(writes);
    let step = planning.next();
    for (let deadline = performance.now() + TRANSACTION_SLICE_MS; !step.done; step = planning.next()) {
      if (performance.now() < deadline) continue;
      await new Promise((resolve) => setImmediate(resolve));
      deadline = performance.now() + TRANSACTION_SLICE_MS;
    }
    let plan = step.value;
    // An index built or dropped, a collection dropped while it was worked out: worked out again, at once.
    if (!plan.current()) {
      const again = this.planCommit(writes);
      for (step = again.next(); !step.done; step = again.next());
      plan = step.value;
    }
    const countsBefore = new Map<Collection, number>();
    for (const { collection, idKey, doc, old, multikey } of plan.records) {
      if (!countsBefore.has(collection)) countsBefore.set(collection, collection.count);
      collection.count += (doc ? 1 : 0) - (old ? 1 : 0);
      this.noteWrite(collection, idKey, doc, old);
      for (const btree of multikey) btree.multikey = true;
    }
    const seqAtEnd = this.seq;
    let committed: Promise<unknown> | undefined;
    for (const { db, key, value } of plan.ops) committed = value ? db.put(key, value) : db.remove(key);
    for (const collection of new Set(plan.records.filter((record) => record.multikey.length > 0).map((record) => record.collection)))
      committed = this.storage.saveCatalogEntryLater(collection.entry());
    // The stored counts change in the same LMDB transaction (its callbacks run after its writes).
    const counted = [...countsBefore].filter(([collection, before]) => collection.count !== before);
    if (counted.length > 0)
      committed = Promise.all([
        committed,
        this.storage.env.transaction(() => counted.forEach(([collection, before]) => this.storage.addToCount(collection.id, collection.count - before))),
      ]);
    try {
      await committed;
    } catch (error) {
      for (const [collection, count] of countsBefore) collection.count = count;
      throw error;
    } finally {
      // As `Storage.write`: reads after the acknowledgement see the commit.
      this.storage.env.resetReadTxn();
      if (seqAtEnd > this.committedSeq) this.committedSeq = seqAtEnd;
      this.pruneWrites();
    }
  }

  /** Works out a commit's LMDB writes, yielding after each record; `current()` says whether the collections and their indexes are still those it was worked out for. */
  private *planCommit(writes: Map<Collection, Overlay>): Generator<void, CommitPlan> {
    const ops: StorageOp[] = [];
    const records: CommitPlan['records'] = [];
    const shapes = new Map<Collection, string>();
    // Unique index entries written or removed earlier in this commit (latin1 key → record, null when removed).
    const uniqueEntries = new Map<string, Buffer | null>();
    const stored = (key: Buffer) => {
      const pending = uniqueEntries.get(key.toString('latin1'));
      return pending === undefined ? this.storage.bytes(this.storage.index, key) : (pending ?? undefined);
    };
    const note = (made: StorageOp[]) => {
      for (const op of made) if (op.unique) uniqueEntries.set(op.key.toString('latin1'), op.value);
      ops.push(...made);
    };
    for (const [collection, own] of writes) {
      if (this.collections.get(collection.ns) !== collection) continue;
      shapes.set(collection, writtenShape(collection));
      const mine = (id: string) => own.records.has(id);
      for (const { idKey, doc, bytes } of own.records.values()) {
        const old = this.getDoc(collection, idKey);
        if (doc) {
          const { ops: made, multikey } = this.putOps(collection, idKey, doc, old, stored, mine, bytes);
          note(made);
          records.push({ collection, idKey, doc, old, multikey });
        } else if (old) {
          note(this.deleteOps(collection, idKey, old, stored));
          records.push({ collection, idKey, doc: null, old, multikey: [] });
        }
        yield;
      }
    }
    const current = () => [...shapes].every(([collection, shape]) => this.collections.get(collection.ns) === collection && writtenShape(collection) === shape);
    return { ops, records, current };
  }

  /** Text postings of one stem: record id → score, as `view` sees committed state. */
  *postings(index: TextIndex, stem: string, view: ReadView): Generator<[Buffer, number]> {
    const start = index.stemKey(stem);
    for (const { value } of this.storage.index.getRange({ start, end: prefixEnd(start), transaction: view.snapshot })) {
      yield [Buffer.from(value.subarray(8)), value.readDoubleBE(0)];
    }
  }
}

/** A text posting's value: the weighted term frequency, then the record id. */
function postingValue(score: number, idKey: Buffer): Buffer {
  const value = Buffer.allocUnsafe(8 + idKey.length);
  value.writeDoubleBE(score, 0);
  idKey.copy(value, 8);
  return value;
}

/** Puts `_id` first, as MongoDB stores it, generating an ObjectId when there is none. */
export function withId(doc: Doc): Doc {
  if (Object.keys(doc)[0] === '_id') return doc;
  const { _id, ...rest } = doc;
  return { _id: _id === undefined ? new ObjectId() : _id, ...rest };
}

export function recordKey(doc: Doc): Buffer {
  try {
    return idKeyOf(doc._id);
  } catch (error) {
    throw new CommandError(17280, 'KeyTooLong', (error as Error).message);
  }
}

/** Throws NamespaceNotFound for a missing collection. */
export function requireCollection(store: Store, db: string, name: string): Collection {
  const collection = store.get(db, name);
  if (!collection) throw namespaceNotFound(`ns does not exist: ${db}.${name}`);
  return collection;
}
