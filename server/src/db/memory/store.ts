/**
 * The catalog and committed state: databases → collections → records, their indexes, document
 * locks held by open transactions, and the journal operations produced by each change.
 */
import { ObjectId, UUID } from 'bson';
import { keyString } from './bson-order';
import { CommandError, namespaceExists, namespaceNotFound, writeConflict } from './errors';
import { BTreeIndex, createIndex, duplicateKeyError, TextIndex, type AnyIndex, type Doc, type IndexSpec } from './indexes';

/** One state change, as journaled; replaying them in order rebuilds the store. */
export type JournalOp =
  | { op: 'put'; ns: string; doc: Doc }
  | { op: 'del'; ns: string; id: unknown }
  | { op: 'createCollection'; ns: string; options: Doc }
  | { op: 'dropCollection'; ns: string }
  | { op: 'createIndex'; ns: string; spec: IndexSpec }
  | { op: 'dropIndex'; ns: string; name: string }
  | { op: 'rename'; ns: string; to: string };

export const ID_INDEX_SPEC: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

export class Collection {
  readonly records = new Map<string, Doc>();
  /** Store sequence number of each record's last committed write (for transaction write conflicts). */
  readonly versions = new Map<string, number>();
  /** Records written by an open transaction, which owns them until it commits or aborts. */
  readonly locks = new Map<string, Transaction>();
  readonly indexes: AnyIndex[];
  readonly uuid = new UUID();

  constructor(
    public db: string,
    public name: string,
    readonly options: Doc,
  ) {
    this.indexes = [new BTreeIndex(ID_INDEX_SPEC)];
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get idIndex(): BTreeIndex {
    return this.indexes[0] as BTreeIndex;
  }

  get textIndex(): TextIndex | undefined {
    return this.indexes.find((index): index is TextIndex => index instanceof TextIndex);
  }

  /** Throws E11000 when `doc` would collide in a unique index; `ignore` skips records being replaced. */
  checkUnique(doc: Doc, rid: string, ignore?: (rid: string) => boolean, extra?: Iterable<[string, Doc]>): void {
    for (const index of this.indexes) {
      if (!(index instanceof BTreeIndex) || !index.unique || index === this.idIndex) continue;
      for (const key of index.keysOf(doc)) {
        const clash = index.ridsWithKey(key).some((other) => other !== rid && !ignore?.(other));
        if (clash) throw duplicateKeyError(this.ns, index, index.keyValue(key));
        if (extra) {
          const keyText = keyString(key);
          for (const [otherRid, otherDoc] of extra) {
            if (otherRid !== rid && index.keysOf(otherDoc).some((k) => keyString(k) === keyText)) throw duplicateKeyError(this.ns, index, index.keyValue(key));
          }
        }
      }
    }
  }

  /** Stores a committed version of a record, keeping every index in step. */
  put(rid: string, doc: Doc, seq: number): void {
    const old = this.records.get(rid);
    if (old) for (const index of this.indexes) index.remove(old, rid);
    for (const index of this.indexes) index.add(doc, rid);
    this.records.set(rid, doc);
    this.versions.set(rid, seq);
  }

  delete(rid: string, seq: number): void {
    const old = this.records.get(rid);
    if (!old) return;
    for (const index of this.indexes) index.remove(old, rid);
    this.records.delete(rid);
    this.versions.set(rid, seq);
  }

  addIndex(spec: IndexSpec): AnyIndex {
    const index = createIndex(spec);
    for (const [rid, doc] of this.records) {
      if (index instanceof BTreeIndex && index.unique) {
        for (const key of index.keysOf(doc)) {
          if (index.ridsWithKey(key).length > 0) throw duplicateKeyError(this.ns, index, index.keyValue(key));
        }
      }
      index.add(doc, rid);
    }
    this.indexes.push(index);
    return index;
  }
}

export class Transaction {
  /** Per collection: record id → new version (null = deleted). */
  readonly writes = new Map<Collection, Map<string, Doc | null>>();
  /** Records locked by this transaction, released on commit, abort, error or time-out. */
  private readonly claimed: [Collection, string][] = [];
  readonly startSeq: number;
  readonly startedAt = Date.now();
  state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(
    readonly store: Store,
    readonly txnNumber: number,
  ) {
    this.startSeq = store.seq;
  }

  overlay(collection: Collection): Map<string, Doc | null> | undefined {
    return this.writes.get(collection);
  }

  get(collection: Collection, rid: string): Doc | undefined {
    const own = this.writes.get(collection);
    if (own?.has(rid)) return own.get(rid) ?? undefined;
    return collection.records.get(rid);
  }

  /** Claims the record for this transaction; another open transaction's claim or a newer commit is a WriteConflict. */
  private claim(collection: Collection, rid: string): void {
    const holder = collection.locks.get(rid);
    if (holder && holder !== this) throw writeConflict();
    if ((collection.versions.get(rid) ?? -1) > this.startSeq) throw writeConflict();
    collection.locks.set(rid, this);
  }

  write(collection: Collection, rid: string, doc: Doc | null): void {
    const own = this.writes.get(collection) ?? new Map<string, Doc | null>();
    // A refused write claims nothing: uniqueness is checked before the record is locked.
    if (doc) collection.checkUnique(doc, rid, (other) => own.has(other), [...own].filter((entry): entry is [string, Doc] => entry[1] !== null));
    this.claim(collection, rid);
    this.claimed.push([collection, rid]);
    this.writes.set(collection, own);
    own.set(rid, doc);
  }

  /** Releases every record this transaction claimed, whether it wrote it or not. */
  private release(): void {
    for (const [collection, rid] of this.claimed) if (collection.locks.get(rid) === this) collection.locks.delete(rid);
    this.claimed.length = 0;
  }

  commit(): void {
    if (this.state !== 'open') return;
    // Uniqueness may have changed under us through non-transactional writes: check all before applying any.
    for (const [collection, own] of this.writes) {
      for (const [rid, doc] of own) if (doc) collection.checkUnique(doc, rid, (other) => own.has(other));
    }
    this.state = 'committed';
    this.release();
    for (const [collection, own] of this.writes) {
      if (!this.store.collections.has(collection.ns)) continue;
      for (const [rid, doc] of own) {
        if (doc) this.store.putRecord(collection, rid, doc);
        else this.store.deleteRecord(collection, rid);
      }
    }
  }

  abort(): void {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    this.release();
  }
}

export function splitNamespace(ns: string): [string, string] {
  const dot = ns.indexOf('.');
  return [ns.slice(0, dot), ns.slice(dot + 1)];
}

export function ridOf(doc: Doc): string {
  return keyString(doc._id);
}

export class Store {
  readonly collections = new Map<string, Collection>();
  seq = 0;
  /** Journal operations made since the last `takeOps()`. */
  private ops: JournalOp[] = [];
  journaling = true;

  private record(op: JournalOp): void {
    if (this.journaling) this.ops.push(op);
  }

  takeOps(): JournalOp[] {
    const ops = this.ops;
    this.ops = [];
    return ops;
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

  create(db: string, name: string, options: Doc = {}, failIfExists = false): Collection {
    const existing = this.get(db, name);
    if (existing) {
      if (failIfExists) throw namespaceExists(`Collection ${db}.${name} already exists.`);
      return existing;
    }
    if (!/^[^$\0]+$/.test(name) || name.length > 255) throw new CommandError(73, 'InvalidNamespace', `Invalid collection name: ${name}`);
    const collection = new Collection(db, name, options);
    this.collections.set(collection.ns, collection);
    this.record({ op: 'createCollection', ns: collection.ns, options });
    return collection;
  }

  drop(collection: Collection): void {
    for (const rid of collection.locks.keys()) collection.locks.get(rid)?.abort();
    this.collections.delete(collection.ns);
    this.record({ op: 'dropCollection', ns: collection.ns });
  }

  rename(collection: Collection, toDb: string, toName: string, dropTarget: boolean): void {
    const target = this.get(toDb, toName);
    if (target) {
      if (!dropTarget) throw namespaceExists('target namespace exists');
      this.drop(target);
    }
    const from = collection.ns;
    this.collections.delete(from);
    collection.db = toDb;
    collection.name = toName;
    this.collections.set(collection.ns, collection);
    this.record({ op: 'rename', ns: from, to: collection.ns });
  }

  addIndex(collection: Collection, spec: IndexSpec): void {
    collection.addIndex(spec);
    this.record({ op: 'createIndex', ns: collection.ns, spec });
  }

  dropIndex(collection: Collection, name: string): void {
    const at = collection.indexes.findIndex((index) => index.name === name);
    collection.indexes.splice(at, 1);
    this.record({ op: 'dropIndex', ns: collection.ns, name });
  }

  putRecord(collection: Collection, rid: string, doc: Doc): void {
    collection.put(rid, doc, ++this.seq);
    this.record({ op: 'put', ns: collection.ns, doc });
  }

  deleteRecord(collection: Collection, rid: string): void {
    const old = collection.records.get(rid);
    if (!old) return;
    collection.delete(rid, ++this.seq);
    this.record({ op: 'del', ns: collection.ns, id: old._id });
  }

  /** Replays one journaled operation (journaling is off while replaying). */
  apply(op: JournalOp): void {
    const [db, name] = splitNamespace(op.ns);
    const collection = this.get(db, name);
    switch (op.op) {
      case 'createCollection':
        this.create(db, name, op.options);
        return;
      case 'dropCollection':
        if (collection) this.drop(collection);
        return;
      case 'rename': {
        if (!collection) return;
        const [toDb, toName] = splitNamespace(op.to);
        this.rename(collection, toDb, toName, true);
        return;
      }
      case 'createIndex': {
        const target = collection ?? this.create(db, name);
        if (!target.indexes.some((index) => index.name === op.spec.name)) this.addIndex(target, op.spec);
        return;
      }
      case 'dropIndex':
        if (collection?.indexes.some((index) => index.name === op.name)) this.dropIndex(collection, op.name);
        return;
      case 'put': {
        const target = collection ?? this.create(db, name);
        this.putRecord(target, ridOf(op.doc), op.doc);
        return;
      }
      case 'del':
        if (collection) this.deleteRecord(collection, keyString(op.id));
        return;
    }
  }
}

/** Puts `_id` first, as MongoDB stores it, generating an ObjectId when there is none. */
export function withId(doc: Doc): Doc {
  if (Object.keys(doc)[0] === '_id') return doc;
  const { _id, ...rest } = doc;
  return { _id: _id ?? new ObjectId(), ...rest };
}

/** Throws NamespaceNotFound for a missing collection. */
export function requireCollection(store: Store, db: string, name: string): Collection {
  const collection = store.get(db, name);
  if (!collection) throw namespaceNotFound(`ns does not exist: ${db}.${name}`);
  return collection;
}
