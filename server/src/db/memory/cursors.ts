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
import { setImmediate as nextTurn } from 'node:timers/promises';
import { calculateObjectSize, Long } from 'bson';
import { cursorInUse, cursorNotFound, MAX_INTERNAL_BSON_SIZE, objectTooLarge } from './errors';
import type { Doc } from './indexes';
import { inTurn, PAUSE } from './query';

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

/**
 * How long a batch is filled before other clients' commands are answered: a scan that finds few
 * documents (a «содержит» filter over a large folder) gives its turn back between turns of SLICE_MS,
 * its read snapshot kept, and goes on after them — a colleague's page no longer waits for its end.
 */
export const SLICE_MS = 20;

/** Runs one turn of a cursor's batch within its command's time limit (`maxTimeMS`, as when it arrived). */
export type Within = <T>(run: () => T) => T;

interface OpenCursor {
  ns: string;
  source: Iterator<BatchItem>;
  /** The next document, already pulled (`PAUSE`: to be pulled; done when the source is exhausted). */
  next: IteratorResult<BatchItem>;
  transform: (docs: Doc[]) => Doc[];
  lastUsed: number;
  lease: ViewLease;
  /** Opened with `noCursorTimeout`: never closed for being idle (only by killCursors, exhaustion or the open-cursor cap). */
  noTimeout: boolean;
  /** A getMore is filling a batch over several turns. */
  busy: boolean;
}

/** `value`'s outcome handed to `then`, at once or once the promise settles. */
function settle<T, R>(value: T | Promise<T>, then: (value: T) => R, failed: (error: unknown) => never): R | Promise<R> {
  if (!(value instanceof Promise)) return then(value);
  return value.then(then, failed);
}

export class Cursors {
  private readonly open = new Map<number, OpenCursor>();
  private nextId = 1 + Math.floor(Math.random() * 1e9);
  /** How long a cursor may stay idle (no getMore) before it is closed (setParameter cursorTimeoutMillis). */
  timeoutMs = DEFAULT_CURSOR_TIMEOUT_MS;

  /**
   * Returns the first-batch reply; keeps a cursor only when more documents remain. Given `within`,
   * the batch is filled in turns (a promise of the reply when it takes more than one).
   */
  start(
    ns: string,
    source: Iterator<BatchItem> | Doc[],
    batchSize: number | undefined,
    transform: (docs: Doc[]) => Doc[],
    singleBatch?: boolean,
    lease?: ViewLease,
    noTimeout?: boolean,
  ): Doc;
  start(
    ns: string,
    source: Iterator<BatchItem> | Doc[],
    batchSize: number | undefined,
    transform: (docs: Doc[]) => Doc[],
    singleBatch: boolean,
    lease: ViewLease,
    noTimeout: boolean,
    within: Within | undefined,
  ): Doc | Promise<Doc>;
  start(
    ns: string,
    source: Iterator<BatchItem> | Doc[],
    batchSize: number | undefined,
    transform: (docs: Doc[]) => Doc[],
    singleBatch = false,
    lease: ViewLease = NO_LEASE,
    noTimeout = false,
    within?: Within,
  ): Doc | Promise<Doc> {
    const iterator = Array.isArray(source) ? source[Symbol.iterator]() : source;
    const cursor: OpenCursor = { ns, source: iterator, next: { value: PAUSE }, transform, lastUsed: Date.now(), lease, noTimeout, busy: false };
    const failed = (error: unknown): never => {
      lease.release();
      iterator.return?.();
      throw error;
    };
    let firstBatch: BatchItem[] | Promise<BatchItem[]>;
    try {
      firstBatch = this.take(cursor, batchSize ?? OPEN_BATCH_DOCS, false, within);
    } catch (error) {
      return failed(error);
    }
    return settle(
      firstBatch,
      (batch) => {
        lease.release();
        let id = 0;
        if (!cursor.next.done && !singleBatch) {
          this.reap();
          id = this.nextId++;
          this.open.set(id, cursor);
        } else cursor.source.return?.();
        return { cursor: { firstBatch: batch, id: Long.fromNumber(id), ns }, ok: 1 };
      },
      failed,
    );
  }

  more(id: number, ns: string, batchSize: number | undefined): Doc;
  more(id: number, ns: string, batchSize: number | undefined, within: Within | undefined): Doc | Promise<Doc>;
  more(id: number, ns: string, batchSize: number | undefined, within?: Within): Doc | Promise<Doc> {
    const cursor = this.open.get(id);
    if (!cursor || cursor.ns !== ns) throw cursorNotFound(BigInt(id));
    if (cursor.busy) throw cursorInUse(BigInt(id));
    cursor.lastUsed = Date.now();
    const failed = (error: unknown): never => {
      cursor.busy = false;
      cursor.lease.release();
      this.drop(id);
      throw error;
    };
    let nextBatch: BatchItem[] | Promise<BatchItem[]>;
    try {
      cursor.lease.hold();
      nextBatch = batchSize && batchSize > 0 ? this.take(cursor, batchSize, false, within) : this.take(cursor, Infinity, true, within);
    } catch (error) {
      return failed(error);
    }
    cursor.busy = nextBatch instanceof Promise;
    return settle(
      nextBatch,
      (batch) => {
        cursor.busy = false;
        cursor.lease.release();
        let replyId = id;
        if (cursor.next.done) {
          this.drop(id);
          replyId = 0;
        }
        return { cursor: { nextBatch: batch, id: Long.fromNumber(replyId), ns }, ok: 1 };
      },
      failed,
    );
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

  /**
   * Up to `batchSize` documents (and 16 MiB); `timed`: no more once the batch has taken
   * `OPEN_BATCH_MS` and holds `OPEN_BATCH_DOCS`. Given `within`, filled in turns of `SLICE_MS`:
   * the scan gives `PAUSE` when a turn is up, and the next turn comes after other commands.
   */
  private take(cursor: OpenCursor, batchSize: number, timed: boolean, within?: Within): BatchItem[] | Promise<BatchItem[]> {
    const batch: BatchItem[] = [];
    let bytes = 0;
    const deadline = timed ? performance.now() + OPEN_BATCH_MS : Infinity;
    /** Fills the batch: true once it is complete, false when the turn ended first. */
    const fill = (): boolean => {
      for (;;) {
        while (!cursor.next.done && cursor.next.value === PAUSE) {
          if (within && performance.now() >= turnEnd) return false;
          cursor.next = cursor.source.next();
        }
        if (cursor.next.done || batch.length >= batchSize) return true;
        if (timed && batch.length >= OPEN_BATCH_DOCS && performance.now() >= deadline) return true;
        const doc = cursor.next.value;
        const size = Buffer.isBuffer(doc) ? doc.length : calculateObjectSize(doc);
        // A computed document (an aggregation's) may outgrow what MongoDB stores or sends: refused, as MongoDB does.
        if (size > MAX_INTERNAL_BSON_SIZE) throw objectTooLarge(size);
        if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) return true;
        batch.push(doc);
        bytes += size;
        cursor.next = cursor.source.next();
      }
    };
    // Stored BSON goes out as it is; decoded documents get the cursor's projection.
    const reply = () => (batch.some((item) => Buffer.isBuffer(item)) ? batch : cursor.transform(batch as Doc[]));
    let turnEnd = Infinity;
    const turn = () => {
      turnEnd = performance.now() + SLICE_MS;
      return within!(() => inTurn(turnEnd, fill));
    };
    if (!within) return (fill(), reply());
    if (turn()) return reply();
    return (async () => {
      do await nextTurn();
      while (!turn());
      return reply();
    })();
  }

  /** Closes the cursors idle longer than the time-out (their snapshots released); not one filling a batch. */
  expire(now = Date.now()): void {
    for (const [id, cursor] of this.open) if (!cursor.noTimeout && !cursor.busy && now - cursor.lastUsed > this.timeoutMs) this.drop(id);
  }

  private reap(): void {
    this.expire();
    while (this.open.size >= MAX_OPEN_CURSORS) this.drop(this.open.keys().next().value!);
  }
}
