/**
 * Server-side cursors. A cursor holds references to immutable stored documents (never copies),
 * projects lazily per batch, caps every batch at 16 MiB, and idle or surplus cursors are reaped.
 */
import { calculateObjectSize, Long } from 'bson';
import { cursorNotFound } from './errors';
import type { Doc } from './indexes';

const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 16 * 1024;
const MAX_OPEN_CURSORS = 10_000;
const IDLE_TIMEOUT_MS = 10 * 60 * 1000;

interface OpenCursor {
  ns: string;
  docs: Doc[];
  position: number;
  transform: (docs: Doc[]) => Doc[];
  lastUsed: number;
}

export class Cursors {
  private readonly open = new Map<number, OpenCursor>();
  private nextId = 1 + Math.floor(Math.random() * 1e9);

  /** Returns the first-batch reply; keeps a cursor only when more documents remain. */
  start(ns: string, docs: Doc[], batchSize: number | undefined, transform: (docs: Doc[]) => Doc[], singleBatch = false): Doc {
    const cursor: OpenCursor = { ns, docs, position: 0, transform, lastUsed: Date.now() };
    const firstBatch = this.take(cursor, batchSize ?? 101);
    let id = 0;
    if (cursor.position < docs.length && !singleBatch) {
      this.reap();
      id = this.nextId++;
      this.open.set(id, cursor);
    }
    return { cursor: { firstBatch, id: Long.fromNumber(id), ns }, ok: 1 };
  }

  more(id: number, ns: string, batchSize: number | undefined): Doc {
    const cursor = this.open.get(id);
    if (!cursor || cursor.ns !== ns) throw cursorNotFound(BigInt(id));
    cursor.lastUsed = Date.now();
    const nextBatch = this.take(cursor, batchSize && batchSize > 0 ? batchSize : Infinity);
    let replyId = id;
    if (cursor.position >= cursor.docs.length) {
      this.open.delete(id);
      replyId = 0;
    }
    return { cursor: { nextBatch, id: Long.fromNumber(replyId), ns }, ok: 1 };
  }

  kill(ids: number[]): Doc {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of ids) (this.open.delete(id) ? killed : notFound).push(Long.fromNumber(id));
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }

  closeAll(): void {
    this.open.clear();
  }

  private take(cursor: OpenCursor, batchSize: number): Doc[] {
    const batch: Doc[] = [];
    let bytes = 0;
    while (cursor.position < cursor.docs.length && batch.length < batchSize) {
      const [doc] = cursor.transform([cursor.docs[cursor.position]!]);
      const size = calculateObjectSize(doc!);
      if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      batch.push(doc!);
      bytes += size;
      cursor.position++;
    }
    return batch;
  }

  private reap(): void {
    const now = Date.now();
    for (const [id, cursor] of this.open) if (now - cursor.lastUsed > IDLE_TIMEOUT_MS) this.open.delete(id);
    while (this.open.size >= MAX_OPEN_CURSORS) this.open.delete(this.open.keys().next().value!);
  }
}
