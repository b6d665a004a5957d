/**
 * Durability for --dbpath: an append-only journal of checksummed records, fdatasync'ed before
 * writes are acknowledged (group commit), replayed at start and compacted into a snapshot.
 *
 * Record: u32 payload length | u32 crc32(payload) | payload (concatenated BSON documents).
 * A torn or corrupt tail record is detected by length/checksum and cut off, never half-applied.
 * Both files start with a header record `{ generation }`; a journal older than the snapshot
 * (crash between snapshot rename and journal reset) is ignored.
 */
import { closeSync, existsSync, fdatasync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, write, writeSync, type PathLike } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { deserialize, serialize } from 'bson';
import type { Doc } from './indexes';
import { BTreeIndex, TextIndex } from './indexes';
import { ID_INDEX_SPEC, type JournalOp, type Store } from './store';

const RECORD_HEADER = 8;
const SNAPSHOT_CHUNK_BYTES = 4 * 1024 * 1024;
const DEFAULT_COMPACT_BYTES = 64 * 1024 * 1024;
const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);
const DESERIALIZE_OPTIONS = { promoteLongs: true, promoteValues: true, promoteBuffers: false, bsonRegExp: false } as const;

export function encodeRecord(docs: Doc[]): Buffer {
  const payload = Buffer.concat(docs.map((doc) => serialize(doc)));
  const head = Buffer.alloc(RECORD_HEADER);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

/** Complete, intact records of a file, and the byte length they cover. */
export function decodeRecords(data: Buffer): { records: Doc[][]; validLength: number } {
  const records: Doc[][] = [];
  let offset = 0;
  while (offset + RECORD_HEADER <= data.length) {
    const length = data.readUInt32LE(offset);
    const checksum = data.readUInt32LE(offset + 4);
    const end = offset + RECORD_HEADER + length;
    if (end > data.length) break;
    const payload = data.subarray(offset + RECORD_HEADER, end);
    if (crc32(payload) !== checksum) break;
    const docs: Doc[] = [];
    for (let position = 0; position < payload.length; ) {
      const size = payload.readInt32LE(position);
      docs.push(deserialize(payload.subarray(position, position + size), DESERIALIZE_OPTIONS));
      position += size;
    }
    records.push(docs);
    offset = end;
  }
  return { records, validLength: offset };
}

function writeFileDurably(file: string, chunks: Iterable<Buffer>): void {
  const temporary = `${file}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    for (const chunk of chunks) writeSync(fd, chunk);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
  syncDirectory(path.dirname(file));
}

function syncDirectory(directory: PathLike): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface PersistenceOptions {
  dbpath: string;
  /** Compact the journal into a snapshot once it grows past this many bytes. */
  compactBytes?: number;
}

export class Persistence {
  private queue: { record: Buffer; resolve: () => void; reject: (error: Error) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private journalBytes = 0;
  private generation = 0;
  private readonly compactBytes: number;
  private readonly snapshotFile: string;
  private readonly journalFile: string;

  private constructor(
    private readonly store: Store,
    private journal: number,
    options: PersistenceOptions,
  ) {
    this.compactBytes = options.compactBytes ?? DEFAULT_COMPACT_BYTES;
    this.snapshotFile = path.join(options.dbpath, 'snapshot.kdb');
    this.journalFile = path.join(options.dbpath, 'journal.kdb');
  }

  /** Loads the snapshot, replays the journal (dropping a torn tail) and opens it for appending. */
  static open(store: Store, options: PersistenceOptions): Persistence {
    const persistence = new Persistence(store, -1, options);
    persistence.journal = persistence.load();
    return persistence;
  }

  private load(): number {
    this.store.journaling = false;
    let snapshotGeneration = 0;
    if (existsSync(this.snapshotFile)) {
      const { records } = decodeRecords(readFileSync(this.snapshotFile));
      const last = records[records.length - 1];
      if (!records[0]?.[0] || !last?.some((doc) => doc.end === true)) throw new Error(`${this.snapshotFile} is incomplete`);
      snapshotGeneration = Number(records[0][0].generation);
      for (const record of records.slice(1)) for (const op of record) if (op.end !== true) this.store.apply(op as JournalOp);
    }
    this.generation = snapshotGeneration;
    let replayed = false;
    if (existsSync(this.journalFile)) {
      const data = readFileSync(this.journalFile);
      const { records, validLength } = decodeRecords(data);
      const journalGeneration = records[0]?.[0] ? Number(records[0][0].generation) : -1;
      if (journalGeneration === snapshotGeneration) {
        for (const record of records.slice(1)) for (const op of record) this.store.apply(op as JournalOp);
        replayed = records.length > 1;
        if (validLength < data.length) {
          const fd = openSync(this.journalFile, 'r+');
          ftruncateSync(fd, validLength);
          fsyncSync(fd);
          closeSync(fd);
        }
        this.journalBytes = validLength;
      }
    }
    this.store.journaling = true;
    this.store.takeOps();
    if (replayed || !existsSync(this.journalFile) || this.journalBytes === 0) return this.resetJournal();
    return openSync(this.journalFile, 'a');
  }

  /** Writes the whole store as a snapshot of the next generation, then starts an empty journal. */
  private resetJournal(): number {
    this.generation += 1;
    writeFileDurably(this.snapshotFile, this.snapshotChunks());
    writeFileDurably(this.journalFile, [encodeRecord([{ generation: this.generation }])]);
    this.journalBytes = 0;
    return openSync(this.journalFile, 'a');
  }

  private *snapshotChunks(): Generator<Buffer> {
    yield encodeRecord([{ generation: this.generation }]);
    let batch: Doc[] = [];
    let bytes = 0;
    const push = (op: Doc) => {
      batch.push(op);
      bytes += 64;
    };
    for (const collection of this.store.collections.values()) {
      push({ op: 'createCollection', ns: collection.ns, options: collection.options });
      for (const index of collection.indexes) {
        if (index.spec === ID_INDEX_SPEC) continue;
        if (index instanceof BTreeIndex || index instanceof TextIndex) push({ op: 'createIndex', ns: collection.ns, spec: index.spec });
      }
      for (const doc of collection.records.values()) {
        batch.push({ op: 'put', ns: collection.ns, doc });
        bytes += 200;
        if (bytes >= SNAPSHOT_CHUNK_BYTES) {
          yield encodeRecord(batch);
          batch = [];
          bytes = 0;
        }
      }
    }
    batch.push({ end: true });
    yield encodeRecord(batch);
  }

  /** Resolves once the operations are on disk. */
  append(ops: JournalOp[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    const record = encodeRecord(ops as unknown as Doc[]);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Group commit: everything queued meanwhile goes out in one write + fdatasync. */
  private async flush(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        // Compaction is synchronous and runs with an empty queue: every executed write is already on disk.
        if (this.journalBytes > this.compactBytes) this.compact();
        break;
      }
      const batch = this.queue;
      this.queue = [];
      try {
        const data = Buffer.concat(batch.map((entry) => entry.record));
        for (let written = 0; written < data.length; ) {
          written += (await writeAsync(this.journal, data, written, data.length - written, null)).bytesWritten;
        }
        await fdatasyncAsync(this.journal);
        this.journalBytes += data.length;
        for (const entry of batch) entry.resolve();
      } catch (error) {
        for (const entry of batch) entry.reject(error as Error);
      }
    }
    this.flushing = null;
  }

  /** Folds the journal into a new snapshot. */
  private compact(): void {
    closeSync(this.journal);
    this.journal = this.resetJournal();
  }

  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    closeSync(this.journal);
  }
}
