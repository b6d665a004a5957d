/**
 * Server-side cursors. A cursor pulls documents from its source as batches are asked for (so a
 * large result is never held whole), projects per batch, caps every batch at 16 MiB, reads each
 * getMore's batch in the latest state (outside transactions and snapshot sessions: `ViewLease`),
 * and releases its read snapshot when exhausted, killed or reaped (idle longer than the time-out, or surplus).
 * An open LMDB read snapshot keeps every page written after it from being reused, so a cursor a
 * client abandons would make the file grow for as long as it stays open: the time-out is MongoDB's
 * cursorTimeoutMillis, 10 minutes (a reader paused longer than one minute — an export's slow
 * download — lost its cursor at the one minute kept before, s16 attack A4), enforced by a timer,
 * not only when another cursor opens.
 */
import { calculateObjectSize, Long } from 'bson';
import { cursorNotFound, MAX_INTERNAL_BSON_SIZE, objectTooLarge } from './errors';
import type { Doc } from './indexes';

const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 16 * 1024;
/**
 * A getMore whose size the client left open stops once it has taken OPEN_BATCH_MS and holds
 * OPEN_BATCH_DOCS documents (a find's default first batch): a read of many documents (the key
 * documents of an import batch's duplicates refresh, ~400 of them decoded and matched) held every
 * other client for 40–140 ms in one getMore. The client asks again for the rest, as it does after a
 * batch cut at 16 MiB; other requests are answered in between. The count keeps the round trips few
 * on a busy machine, where the time runs out after a handful of documents.
 */
export const OPEN_BATCH_MS = 10;
export const OPEN_BATCH_DOCS = 101;
const MAX_OPEN_CURSORS = 10_000;
export const DEFAULT_CURSOR_TIMEOUT_MS = 10 * 60 * 1000;

/** A document, or its BSON as stored (sent as it is). */
export type BatchItem = Doc | Buffer;

/**
 * The read snapshot a cursor reads its batches in: `hold` before a batch (the latest state),
 * `release` after it, so that an open cursor pins no snapshot between its getMores.
 */
export interface ViewLease {
  hold: () => void;
  release: () => void;
}

/** A cursor that holds nothing (its documents computed at once, or read in its transaction's or session's view). */
export const NO_LEASE: ViewLease = { hold: () => {}, release: () => {} };

interface OpenCursor {
  ns: string;
  source: Iterator<BatchItem>;
  /** The next document, already pulled (undefined when the source is exhausted). */
  next: IteratorResult<BatchItem>;
  transform: (docs: Doc[]) => Doc[];
  lastUsed: number;
  lease: ViewLease;
  /** Opened with `noCursorTimeout`: never closed for being idle (only by killCursors, exhaustion or the open-cursor cap). */
  noTimeout: boolean;
}

export class Cursors {
  private readonly open = new Map<number, OpenCursor>();
  private nextId = 1 + Math.floor(Math.random() * 1e9);
  /** How long a cursor may stay idle (no getMore) before it is closed (setParameter cursorTimeoutMillis). */
  timeoutMs = DEFAULT_CURSOR_TIMEOUT_MS;

  /** Returns the first-batch reply; keeps a cursor only when more documents remain. */
  start(
    ns: string,
    source: Iterator<BatchItem> | Doc[],
    batchSize: number | undefined,
    transform: (docs: Doc[]) => Doc[],
    singleBatch = false,
    lease: ViewLease = NO_LEASE,
    noTimeout = false,
  ): Doc {
    const iterator = Array.isArray(source) ? source[Symbol.iterator]() : source;
    let cursor: OpenCursor;
    let firstBatch: BatchItem[];
    try {
      cursor = { ns, source: iterator, next: iterator.next(), transform, lastUsed: Date.now(), lease, noTimeout };
      firstBatch = this.take(cursor, batchSize ?? OPEN_BATCH_DOCS, false);
    } catch (error) {
      lease.release();
      throw error;
    }
    lease.release();
    let id = 0;
    if (!cursor.next.done && !singleBatch) {
      this.reap();
      id = this.nextId++;
      this.open.set(id, cursor);
    } else cursor.source.return?.();
    return { cursor: { firstBatch, id: Long.fromNumber(id), ns }, ok: 1 };
  }

  more(id: number, ns: string, batchSize: number | undefined): Doc {
    const cursor = this.open.get(id);
    if (!cursor || cursor.ns !== ns) throw cursorNotFound(BigInt(id));
    cursor.lastUsed = Date.now();
    let nextBatch: BatchItem[];
    try {
      cursor.lease.hold();
      nextBatch = batchSize && batchSize > 0 ? this.take(cursor, batchSize, false) : this.take(cursor, Infinity, true);
    } catch (error) {
      this.drop(id);
      throw error;
    } finally {
      cursor.lease.release();
    }
    let replyId = id;
    if (cursor.next.done) {
      this.drop(id);
      replyId = 0;
    }
    return { cursor: { nextBatch, id: Long.fromNumber(replyId), ns }, ok: 1 };
  }

  kill(ids: number[]): Doc {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of ids) (this.drop(id) ? killed : notFound).push(Long.fromNumber(id));
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }

  closeAll(): void {
    for (const id of [...this.open.keys()]) this.drop(id);
  }

  private drop(id: number): boolean {
    const cursor = this.open.get(id);
    if (!cursor) return false;
    this.open.delete(id);
    // Ends the source's generators (their LMDB range iterators, if any are open, finish with them).
    cursor.source.return?.();
    return true;
  }

  /** Up to `batchSize` documents (and 16 MiB); `timed`: no more once the batch has taken `OPEN_BATCH_MS` and holds `OPEN_BATCH_DOCS`. */
  private take(cursor: OpenCursor, batchSize: number, timed: boolean): BatchItem[] {
    const batch: BatchItem[] = [];
    let bytes = 0;
    const deadline = timed ? performance.now() + OPEN_BATCH_MS : Infinity;
    while (!cursor.next.done && batch.length < batchSize) {
      if (timed && batch.length >= OPEN_BATCH_DOCS && performance.now() >= deadline) break;
      const doc = cursor.next.value;
      const size = Buffer.isBuffer(doc) ? doc.length : calculateObjectSize(doc);
      // A computed document (an aggregation's) may outgrow what MongoDB stores or sends: refused, as MongoDB does.
      if (size > MAX_INTERNAL_BSON_SIZE) throw objectTooLarge(size);
      if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      batch.push(doc);
      bytes += size;
      cursor.next = cursor.source.next();
    }
    // Stored BSON goes out as it is; decoded documents get the cursor's projection.
    return batch.some((item) => Buffer.isBuffer(item)) ? batch : cursor.transform(batch as Doc[]);
  }

  /** Closes the cursors idle longer than the time-out (their snapshots released). */
  expire(now = Date.now()): void {
    for (const [id, cursor] of this.open) if (!cursor.noTimeout && now - cursor.lastUsed > this.timeoutMs) this.drop(id);
  }

  private reap(): void {
    this.expire();
    while (this.open.size >= MAX_OPEN_CURSORS) this.drop(this.open.keys().next().value!);
  }
}
