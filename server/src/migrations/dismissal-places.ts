import mongoose from 'mongoose';
import type { ObjectId } from 'mongodb';
import type { Logger } from '../logger';
import type { Db, MigrationStep } from './step';

type MarkRow = { _id: string; cardIds?: ObjectId[]; folderId?: ObjectId[]; libraryId?: ObjectId[] };
type CardRow = { _id: ObjectId; folderId: ObjectId; libraryId: ObjectId };

/**
 * «Не дубликат» marks made before they kept their cards and places (`cardIds`, `folderId`,
 * `libraryId`, in the order of the mark's id) take them from the cards, so that the «Отмечены как
 * не дубликаты» list finds them; marks of a card no longer there are removed (as a card deleted for
 * good now takes its marks with it). Safe to run again: only marks without `cardIds` are looked at.
 */
async function up(db: Db, logger: Logger): Promise<void> {
  const marks = db.collection<MarkRow>('duplicate_dismissals');
  const cards = db.collection<CardRow>('cards');
  let placed = 0;
  let removed = 0;
  for await (const mark of marks.find({ cardIds: { $exists: false } }, { projection: { _id: 1 } })) {
    const ids = mark._id.split(':').map((id) => new mongoose.mongo.ObjectId(id));
    const found = await cards.find({ _id: { $in: ids } }, { projection: { folderId: 1, libraryId: 1 } }).toArray();
    const pair = ids.map((id) => found.find((card) => card._id.equals(id)));
    if (pair.some((card) => !card)) {
      await marks.deleteOne({ _id: mark._id, cardIds: { $exists: false } });
      removed += 1;
      continue;
    }
    const [a, b] = pair as CardRow[];
    await marks.updateOne(
      { _id: mark._id, cardIds: { $exists: false } },
      { $set: { cardIds: [a._id, b._id], folderId: [a.folderId, b.folderId], libraryId: [a.libraryId, b.libraryId] } },
    );
    placed += 1;
  }
  logger.info({ placed, removed }, '«Не дубликат» marks keep their cards and folders');
}

export const dismissalPlacesStep: Omit<MigrationStep, 'version'> = { name: '«Не дубликат» marks keep their cards and their folders', up };
