import mongoose, { Schema, type Types } from 'mongoose';

/**
 * What a user has read (README, design notes: watermarks and receipts). Three kinds of entry:
 * - a folder watermark (`cardId` null): every card of the folder changed up to `readUpTo` is read;
 * - a card receipt: the card as it was at `readUpTo` (its `updatedAt` then) is read, or — with
 *   `unread` — the user asked to see it unread again;
 * - a batch receipt (`batch`, `cardId` null): the cards of the folder whose change time is exactly
 *   `readUpTo` are read — the user's own batch (a batch of an import, of its undo) stamped them all
 *   with that time, so one entry stands for its hundreds of cards.
 * No entry means nothing read: a user who gains a folder finds all its cards new. A change writes
 * only its author's receipt, never one entry per reader.
 */
const readSchema = new Schema(
  {
    /** `f:<userId>:<folderId>` or `c:<userId>:<cardId>`: one entry per pair, found by key. */
    _id: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    folderId: { type: Schema.Types.ObjectId, required: true },
    cardId: { type: Schema.Types.ObjectId, default: null },
    readUpTo: { type: Date, default: null },
    batch: { type: Boolean, default: undefined },
    unread: {
      type: new Schema({ asNew: Boolean, changedFields: [String], since: Date }, { _id: false }),
      default: null,
    },
  },
  { versionKey: false },
);
// A user's read state (all of it is loaded at once), and "mark folder read".
readSchema.index({ userId: 1, folderId: 1 });
// Receipts follow a card that moves to another folder.
readSchema.index({ cardId: 1 }, { partialFilterExpression: { cardId: { $type: 'objectId' } } });

export interface ForcedUnread {
  asNew: boolean;
  changedFields: string[];
  since: Date;
}

export interface ReadDoc {
  _id: string;
  userId: Types.ObjectId;
  folderId: Types.ObjectId;
  cardId: Types.ObjectId | null;
  readUpTo: Date | null;
  batch?: boolean;
  unread: ForcedUnread | null;
}

export const folderReadKey = (userId: string, folderId: string) => `f:${userId}:${folderId}`;
export const cardReadKey = (userId: string, cardId: string) => `c:${userId}:${cardId}`;
export const batchReadKey = (userId: string, folderId: string, at: Date) => `b:${userId}:${folderId}:${at.getTime()}`;

export const Read = mongoose.model('Read', readSchema, 'reads');

/**
 * A user's unread counts as the last count of all their folders left them, by folder id, and when
 * it ended: the first question after an instance starts is answered from them at once while that
 * instance counts afresh (a cold count of a reader of 200 folders at a million cards took seconds).
 */
const storedCountsSchema = new Schema(
  {
    /** The user's id. */
    _id: { type: String, required: true },
    counts: { type: Schema.Types.Mixed, required: true },
    countedAt: { type: Date, required: true },
  },
  { versionKey: false, minimize: false },
);

export interface StoredCountsDoc {
  _id: string;
  counts: Record<string, number>;
  countedAt: Date;
}

export const StoredCounts = mongoose.model('StoredUnreadCounts', storedCountsSchema, 'unreadcounts');
