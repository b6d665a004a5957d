import type { mongo } from 'mongoose';
import { Card } from './model';

/** A cursor id of a reply: 0 (a Long, or a number) when the database has no more to give. */
const isZero = (id: unknown): boolean => (typeof id === 'number' ? id === 0 : (id as { isZero(): boolean }).isZero());

/**
 * The cards of a bounded `find` (a folder's page: at most 201; cards by id: at most 200), sent as the
 * `find` command itself and its reply decoded whole. The driver's cursor decodes the cards of a batch
 * one at a time (a deserialization with its options per card, an iteration step each), which made a
 * page's read about a fifth more of the server's CPU (s15, #12: a page of 51 cards 1.0–1.1 ms of
 * client CPU through the cursor against 0.8 ms, load 18). A reply holds at most 16 MB: should the
 * cards pass that, the rest comes by `getMore` in the same session, as the cursor would fetch it.
 * The cards were validated UTF-8 when stored, so their text is not scanned for bad bytes again.
 * `enough`: no more is fetched once the rows so far satisfy it (a page's budget is spent).
 */
export async function findInOneReply(
  find: { filter: mongo.Document; projection: mongo.Document; sort?: mongo.Document; limit: number },
  enough: (rows: mongo.Document[]) => boolean = () => false,
): Promise<mongo.Document[]> {
  if (find.limit <= 0) return [];
  const db = Card.db.db!;
  const collection = Card.collection.collectionName;
  const session = Card.db.getClient().startSession();
  try {
    const options = { session, enableUtf8Validation: false };
    const first = await db.command({ find: collection, ...find, batchSize: find.limit }, options);
    const rows = first.cursor.firstBatch as mongo.Document[];
    let cursorId: unknown = first.cursor.id;
    while (!isZero(cursorId) && !enough(rows)) {
      const more = await db.command({ getMore: cursorId, collection, batchSize: find.limit - rows.length }, options);
      rows.push(...(more.cursor.nextBatch as mongo.Document[]));
      cursorId = more.cursor.id;
    }
    // Left before its end: the database lets the cursor go now rather than when it times out.
    if (!isZero(cursorId)) await db.command({ killCursors: collection, cursors: [cursorId] }, options);
    return rows;
  } finally {
    await session.endSession();
  }
}
