import { Types, type ClientSession } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { readersOfAllFolders, readersOfFolders } from '../access/readers';
import type { CardChange } from '../cards/lifecycle';
import { Card } from '../cards/model';
import { events } from '../events/bus';
import { Unread, type UnreadDoc } from './model';

const oid = (id: string | Types.ObjectId) => new Types.ObjectId(String(id));

/**
 * Inside the card's transaction: the card becomes unread for every other reader of its folder
 * (one bulk write, however many readers), and stops being unread where it cannot be seen.
 */
export async function fanOutUnread(change: CardChange, session: ClientSession): Promise<string[]> {
  const card = change.after;
  const cardId = card._id;
  if (card.inTrash) {
    await Unread.deleteMany({ cardId }, { session });
    return [];
  }
  const folderId = String(card.folderId);
  const readers = (await readersOfFolders([folderId])).get(folderId) ?? new Set<string>();
  readers.delete(change.actor.userId);
  const now = new Date();
  const isNew = change.action === 'create' || change.action === 'restore';
  if (change.action === 'create') {
    // A brand-new card has no marks yet: plain inserts, one round trip.
    if (readers.size > 0) {
      await Unread.insertMany(
        [...readers].map((userId) => ({ userId: oid(userId), cardId, folderId: card.folderId, newToUser: true, changedFields: [], since: now })),
        { session, ordered: false },
      );
    }
    return [...readers];
  }
  // Marks held by users who can no longer see the card (it moved, or they are the author) go;
  // found by listing the card's marks rather than a large $nin.
  const marked = await Unread.find({ cardId }, { userId: 1 }).session(session).lean<{ _id: Types.ObjectId; userId: Types.ObjectId }[]>();
  const gone = marked.filter((mark) => !readers.has(String(mark.userId))).map((mark) => mark._id);
  if (gone.length > 0) await Unread.deleteMany({ _id: { $in: gone } }, { session });
  if (readers.size === 0) return [];
  const changedFields = change.changes.map((c) => c.key);
  await Unread.bulkWrite(
    [...readers].map((userId) => ({
      updateOne: {
        filter: { userId: oid(userId), cardId },
        update: {
          $set: { folderId: card.folderId },
          $addToSet: { changedFields: { $each: isNew ? [] : changedFields } },
          $setOnInsert: { newToUser: isNew, since: now },
        },
        upsert: true,
      },
    })),
    { session, ordered: false },
  );
  return [...readers];
}

/** Unread counts of every folder the actor can read, in one aggregation over their own entries. */
export async function unreadCounts(actor: Actor): Promise<{ folderId: string; count: number }[]> {
  const rows = await Unread.aggregate<{ _id: Types.ObjectId; count: number }>([
    { $match: { userId: oid(actor.userId) } },
    { $group: { _id: '$folderId', count: { $sum: 1 } } },
  ]).option({ batchSize: 10_000 }); // every folder's count in the first (and only) batch: one round trip
  return rows
    .filter((row) => actor.ability.can('read', cardSubject(String(row._id))))
    .map((row) => ({ folderId: String(row._id), count: row.count }));
}

export async function unreadStateOf(userId: string, cardIds: Types.ObjectId[]): Promise<Map<string, UnreadDoc>> {
  const entries = await Unread.find({ userId: oid(userId), cardId: { $in: cardIds } }).lean<UnreadDoc[]>();
  return new Map(entries.map((e) => [String(e.cardId), e]));
}

export async function markRead(actor: Actor, cardId: Types.ObjectId): Promise<boolean> {
  const result = await Unread.deleteOne({ userId: oid(actor.userId), cardId });
  return result.deletedCount > 0;
}

/** "Mark as unread": the card shows bold again, as new to the user. */
export async function markUnread(actor: Actor, cardId: Types.ObjectId, folderId: Types.ObjectId): Promise<void> {
  await Unread.updateOne(
    { userId: oid(actor.userId), cardId },
    { $set: { folderId }, $setOnInsert: { newToUser: true, changedFields: [], since: new Date() } },
    { upsert: true },
  );
}

export async function markFolderRead(actor: Actor, folderId: Types.ObjectId): Promise<number> {
  const result = await Unread.deleteMany({ userId: oid(actor.userId), folderId });
  return result.deletedCount;
}

/**
 * After an access change: users who gained a folder find its cards unread (as new); users who
 * lost it keep no marks there. `before` is readersOfAllFolders() taken before the change.
 */
export async function reconcileUnreadAfterAccessChange(before: Map<string, Set<string>>): Promise<Set<string>> {
  const after = await readersOfAllFolders();
  const now = new Date();
  const affected = new Set<string>();
  for (const [folderId, readers] of after) {
    const previous = before.get(folderId) ?? new Set<string>();
    const gained = [...readers].filter((u) => !previous.has(u));
    const lost = [...previous].filter((u) => !readers.has(u));
    for (const userId of [...gained, ...lost]) affected.add(userId);
    if (lost.length > 0) await Unread.deleteMany({ folderId: oid(folderId), userId: { $in: lost.map(oid) } });
    if (gained.length === 0) continue;
    const cards = await Card.find({ folderId: oid(folderId), inTrash: false }, { _id: 1 }).lean();
    if (cards.length === 0) continue;
    await Unread.bulkWrite(
      gained.flatMap((userId) =>
        cards.map((card) => ({
          updateOne: {
            filter: { userId: oid(userId), cardId: card._id },
            update: { $setOnInsert: { folderId: oid(folderId), newToUser: true, changedFields: [], since: now } },
            upsert: true,
          },
        })),
      ),
      { ordered: false },
    );
  }
  for (const [folderId, previous] of before) {
    // Folders that are gone: nobody keeps marks there.
    if (!after.has(folderId) && previous.size > 0) await Unread.deleteMany({ folderId: oid(folderId) });
  }
  return affected;
}

/** Runs an access-changing operation and then brings unread marks in line with it. */
export async function withUnreadReconciled<T>(operation: () => Promise<T>): Promise<T> {
  const before = await readersOfAllFolders();
  const result = await operation();
  for (const userId of await reconcileUnreadAfterAccessChange(before)) events.publish('unread-changed', userId, 'access');
  return result;
}
