/**
 * The LMDB environment: documents as BSON keyed by collection id and encoded `_id`, index entries
 * keyed by index id + encoded key tuple + encoded `_id`, and the catalog. Writes run in
 * synchronous LMDB write transactions; replies wait for `flushed` (overlapping sync: commits are
 * visible at once, and acknowledged only once on disk). Without a path the environment lives in a
 * temporary directory that is deleted when the server stops or the process exits.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deserialize, serialize } from 'bson';
import { open, type Database, type RootDatabase, type Transaction as ReadTxn } from 'lmdb';
import type { Doc } from './indexes';
import { lockDirectory } from './dir-lock';
import { prefixEnd } from './keys';
import { PROMOTED_READ } from './typed-numbers';

export type { ReadTxn };

const TEMP_PREFIX = 'kartoteka-memory-';
/** Catalog keys that begin with NUL are the storage's own (the next id, record counts), not collections. */
const countKey = (id: number) => `\u0000count:${id}`;
const OWNER_FILE = 'owner.pid';

export interface CatalogEntry {
  ns: string;
  id: number;
  uuid: string;
  options: Doc;
  /** Absent for views. */
  /**
   * `pathsChecked`: the multikey flag also covers arrays met along a path (`merged.cardId` through
   * an array of subdocuments); absent for indexes built before it did, re-checked at start-up.
   */
  indexes?: { id: number; spec: Doc; multikey: boolean; pathsChecked?: boolean }[];
  count: number;
  /** The key format (`KEY_FORMAT` in keys.ts) its record keys and index keys are written in; absent for 1. */
  keyFormat?: number;
}

/** Removes temporary environments left by processes that no longer run (killed with -9). */
function sweepAbandonedTemporaries(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const dir = path.join(tmpdir(), name);
    try {
      const pid = Number(readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
      if (Number.isInteger(pid) && pid > 0) process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(dir, { recursive: true, force: true });
    }
  }
}

export class Storage {
  readonly env: RootDatabase;
  readonly catalog: Database<Buffer, string>;
  readonly docs: Database<Buffer, Buffer>;
  readonly index: Database<Buffer, Buffer>;
  private depth = 0;
  private closed = false;
  private readonly removeOnExit: (() => void) | null = null;

  private constructor(
    readonly directory: string,
    readonly temporary: boolean,
    private readonly unlock: (() => void) | null = null,
  ) {
    this.env = open({
      path: directory,
      maxDbs: 8,
      maxReaders: 2048,
      // A temporary environment never needs to reach the disk.
      noSync: temporary,
      mapSize: 2 ** 40,
    });
    this.catalog = this.env.openDB<Buffer, string>('catalog', { encoding: 'binary' });
    this.docs = this.env.openDB<Buffer, Buffer>('docs', { keyEncoding: 'binary', encoding: 'binary' });
    this.index = this.env.openDB<Buffer, Buffer>('index', { keyEncoding: 'binary', encoding: 'binary' });
    if (temporary) {
      this.removeOnExit = () => rmSync(directory, { recursive: true, force: true });
      process.once('exit', this.removeOnExit);
    }
  }

  /** Opens `dbpath` (created if missing), or a temporary environment when it is undefined. */
  static open(dbpath: string | undefined): Storage {
    if (dbpath) {
      mkdirSync(dbpath, { recursive: true });
      // One process per directory: refused here, before LMDB opens it, while another holds it.
      const unlock = lockDirectory(dbpath);
      try {
        return new Storage(dbpath, false, unlock);
      } catch (error) {
        unlock();
        throw error;
      }
    }
    sweepAbandonedTemporaries();
    const directory = mkdtempSync(path.join(tmpdir(), TEMP_PREFIX));
    writeFileSync(path.join(directory, OWNER_FILE), String(process.pid));
    return new Storage(directory, true);
  }

  /**
   * Runs `work` in a write transaction: a child of the batch LMDB commits for everything written
   * in the same event turn (group commit, off the main thread), so a throw undoes only this work.
   * Resolves once committed and on disk.
   */
  async write<T>(work: () => T): Promise<T> {
    if (this.depth > 0) throw new Error('Storage.write is not re-entrant; use the synchronous operations inside a write');
    const outcome = await this.env.transaction(() => {
      this.depth++;
      try {
        return { value: this.env.childTransaction(work) as T };
      } catch (error) {
        return { error };
      } finally {
        this.depth--;
      }
    });
    // Reads after the acknowledgement must see the commit: lmdb-js would move its shared read
    // snapshot forward only on a later timer.
    this.env.resetReadTxn();
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  }

  /** The value under `key` (a view valid until the next read), in `snapshot` or the current transaction. */
  bytes(db: Database<Buffer, Buffer>, key: Buffer, snapshot?: ReadTxn): Buffer | undefined {
    const fast = (db as unknown as { getBinaryFast(key: Buffer, options?: { transaction?: ReadTxn }): Buffer | undefined }).getBinaryFast(
      key,
      snapshot && { transaction: snapshot },
    );
    return fast && fast.subarray(0, fast.length);
  }

  /** A read snapshot that stays valid until `done()`. */
  snapshot(): ReadTxn {
    return this.env.useReadTransaction();
  }

  loadCatalog(): CatalogEntry[] {
    const entries: CatalogEntry[] = [];
    for (const { key, value } of this.catalog.getRange({})) {
      if (key.startsWith('\u0000')) continue;
      entries.push(deserialize(value, PROMOTED_READ) as unknown as CatalogEntry);
    }
    return entries;
  }

  /**
   * The record count stored for collection `id` (kept in the same LMDB transaction as every write
   * of its records), or undefined for a collection saved by a version that did not keep it.
   */
  storedCount(id: number): number | undefined {
    return this.catalog.get(countKey(id))?.readDoubleBE(0);
  }

  /** Inside a write: stores the record count of collection `id`. */
  saveCount(id: number, count: number): void {
    const bytes = Buffer.allocUnsafe(8);
    bytes.writeDoubleBE(count, 0);
    this.catalog.putSync(countKey(id), bytes);
  }

  /** Inside a write: adds `delta` to the stored record count of collection `id`. */
  addToCount(id: number, delta: number): void {
    this.saveCount(id, (this.storedCount(id) ?? 0) + delta);
  }

  removeCount(id: number): void {
    this.catalog.removeSync(countKey(id));
  }

  saveCatalogEntry(entry: CatalogEntry): void {
    this.catalog.putSync(entry.ns, Buffer.from(serialize(entry as unknown as Doc)));
  }

  /** Queues the entry for LMDB's writer thread (with the other writes of this event turn); resolves once committed. */
  saveCatalogEntryLater(entry: CatalogEntry): Promise<boolean> {
    return this.catalog.put(entry.ns, Buffer.from(serialize(entry as unknown as Doc)));
  }

  removeCatalogEntry(ns: string): void {
    this.catalog.removeSync(ns);
  }

  /** A new collection or index id (inside a write transaction). */
  nextId(): number {
    const stored = this.catalog.get('\u0000nextId');
    const next = stored ? stored.readUInt32BE(0) : 1;
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(next + 1, 0);
    this.catalog.putSync('\u0000nextId', b);
    return next;
  }

  /** Inside a write: deletes up to `limit` keys of `db` that start with `prefix`; returns how many it deleted. */
  clearPrefix(db: Database<Buffer, Buffer>, prefix: Buffer, limit: number): number {
    const keys = [...db.getKeys({ start: prefix, end: prefixEnd(prefix), limit })].map((key) => Buffer.from(key as Uint8Array));
    for (const key of keys) db.removeSync(key);
    return keys.length;
  }

  /** The distinct 4-byte id prefixes of `db`'s keys (one seek per prefix). */
  prefixes(db: Database<Buffer, Buffer>): Buffer[] {
    const found: Buffer[] = [];
    let start: Buffer = Buffer.alloc(0);
    for (;;) {
      let first: Buffer | undefined;
      for (const key of db.getKeys({ start, limit: 1 })) first = key;
      if (!first || first.length < 4) return found;
      const prefix = Buffer.from(first.subarray(0, 4));
      found.push(prefix);
      start = prefixEnd(prefix);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.env.close();
    this.unlock?.();
    if (this.removeOnExit) {
      process.off('exit', this.removeOnExit);
      this.removeOnExit();
    }
  }
}
