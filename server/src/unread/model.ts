import mongoose, { Schema, type Types } from 'mongoose';

/**
 * Write fan-out: one entry per (reader, unread card), written with the change in one bulk
 * operation. Counts per folder read only the user's own entries, never the folders.
 */
const unreadSchema = new Schema({
  userId: { type: Schema.Types.ObjectId, required: true },
  cardId: { type: Schema.Types.ObjectId, required: true },
  folderId: { type: Schema.Types.ObjectId, required: true },
  /** The card appeared since the user last looked (created, or newly visible to them). */
  newToUser: { type: Boolean, default: false },
  /** Fields changed since the user last read the card. */
  changedFields: { type: [String], default: [] },
  since: { type: Date, required: true },
});
unreadSchema.index({ userId: 1, cardId: 1 }, { unique: true });
unreadSchema.index({ userId: 1, folderId: 1 });
unreadSchema.index({ cardId: 1 });

export interface UnreadDoc {
  userId: Types.ObjectId;
  cardId: Types.ObjectId;
  folderId: Types.ObjectId;
  newToUser: boolean;
  changedFields: string[];
  since: Date;
}

export const Unread = mongoose.model('Unread', unreadSchema, 'unread');
