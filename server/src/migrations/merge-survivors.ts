import mongoose from 'mongoose';
import type { ObjectId } from 'mongodb';
import type { Logger } from '../logger';
import type { Db, MigrationStep } from './step';

type MergeRow = { _id: ObjectId; survivor: { cardId: ObjectId }; merged: { cardId: ObjectId }[] };
type GoneSurvivor = { title: string; folderId: ObjectId; libraryId: ObjectId; at: Date };
type HistoryRow = { folderId: ObjectId; at: Date; changes: { key: string; afterTitles?: Record<string, string> | null }[] };

/**
 * The survivor of a merge as its deletion for good left it on record: the purge's audit entry keeps
 * the card as it was (title, folder); without one, the merged cards' histories keep its title at the
 * merge («Объединена с …») and its own history the folder of its last change. The library is the
 * folder's. Null when the records do not say where it was (nobody could be shown it rightly).
 */
async function survivorOnRecord(db: Db, merge: MergeRow): Promise<GoneSurvivor | null> {
  const survivorId = merge.survivor.cardId;
  const purge = await db
    .collection<{ kind: string; targetId: string; at: Date; before?: { title?: string; folderId?: string } | null }>('auditentries')
    .findOne({ kind: 'card-purged', targetId: String(survivorId) }, { sort: { at: -1 } });
  const history = db.collection<HistoryRow & { cardId: ObjectId; action: string }>('history');
  const last = await history.findOne({ cardId: survivorId }, { sort: { seq: -1 }, projection: { folderId: 1, at: 1 } });
  let title = purge?.before?.title ?? null;
  if (title === null) {
    const marked = await history.findOne({ cardId: { $in: merge.merged.map((card) => card.cardId) }, action: 'merge', 'changes.key': 'mergedInto' }, { sort: { at: -1 } });
    title = marked?.changes.find((change) => change.key === 'mergedInto')?.afterTitles?.[String(survivorId)] ?? null;
  }
  const recorded = purge?.before?.folderId;
  const folderId = recorded && mongoose.mongo.ObjectId.isValid(recorded) ? new mongoose.mongo.ObjectId(recorded) : (last?.folderId ?? null);
  if (title === null || folderId === null) return null;
  const folder = await db.collection<{ _id: ObjectId; libraryId: ObjectId }>('folders').findOne({ _id: folderId }, { projection: { libraryId: 1 } });
  if (!folder) return null;
  return { title, folderId: folder._id, libraryId: folder.libraryId, at: purge?.at ?? last?.at ?? new Date(0) };
}

/**
 * Merges whose survivor was deleted for good before merges kept its title and place (`survivorGone`)
 * read «объединена с другой карточкой»: they take them from the records (survivorOnRecord), so that
 * the merged cards say «объединена с «…»» like those merged since. Safe to run again: only merges
 * without `survivorGone` whose survivor is gone are looked at.
 */
async function up(db: Db, logger: Logger): Promise<void> {
  const merges = db.collection<MergeRow & { survivorGone?: GoneSurvivor | null }>('merges');
  const cards = db.collection<{ _id: ObjectId }>('cards');
  let named = 0;
  let unknown = 0;
  for await (const merge of merges.find({ survivorGone: null }, { projection: { survivor: 1, merged: 1 } })) {
    if (await cards.findOne({ _id: merge.survivor.cardId }, { projection: { _id: 1 } })) continue;
    const gone = await survivorOnRecord(db, merge);
    if (!gone) {
      unknown += 1;
      continue;
    }
    await merges.updateOne({ _id: merge._id, survivorGone: null }, { $set: { survivorGone: gone } });
    named += 1;
  }
  logger.info({ named, unknown }, 'merges whose survivor was deleted for good name it from the records');
}

export const mergeSurvivorsStep: Omit<MigrationStep, 'version'> = { name: 'Merges whose survivor was deleted for good name it from the purge records', up };
