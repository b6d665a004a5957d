import { Types, type ClientSession } from 'mongoose';
import { FileLineage, FileText, StoredFile, type StoredFileDoc } from './model';

/** Files one card handed to another: the lineages (each file with all its versions) that came from `cardId`. */
export interface HandedFiles {
  cardId: Types.ObjectId;
  lineages: Types.ObjectId[];
}

const lineageOf = (doc: Pick<StoredFileDoc, '_id' | 'lineage'>) => doc.lineage ?? doc._id;

/** Every stored version of these lineages that `holder` holds (a version stored before lineages were kept is its own lineage). */
const versionsHeld = (lineages: Types.ObjectId[], holder: Types.ObjectId) => ({
  cardId: holder,
  $or: [{ lineage: { $in: lineages } }, { _id: { $in: lineages }, lineage: null }],
});

/**
 * Moves whole files between cards inside the caller's transaction: every version of the lineages,
 * their search texts and version counters now belong to `to`. Nothing is copied: the stored
 * content, hashes, version numbers and uploaders stay as they are; downloads follow `to`'s folder.
 */
async function moveLineages(lineages: Types.ObjectId[], from: Types.ObjectId, to: Types.ObjectId, session: ClientSession): Promise<void> {
  if (lineages.length === 0) return;
  const versions = await StoredFile.find(versionsHeld(lineages, from), { _id: 1 }).session(session).lean<Pick<StoredFileDoc, '_id'>[]>();
  const ids = versions.map((version) => version._id);
  await StoredFile.updateMany({ _id: { $in: ids }, cardId: from }, { $set: { cardId: to } }, { session });
  await FileText.updateMany({ _id: { $in: ids } }, { $set: { cardId: to } }, { session });
  await FileLineage.updateMany({ _id: { $in: lineages }, cardId: from }, { $set: { cardId: to } }, { session });
}

/**
 * A merge: the files among `fileIds` that the cards `from` hold are handed to the survivor `to`
 * (each with all its versions). Answers, per card, the files it handed over (what an undo gives back).
 */
export async function handOverFiles(fileIds: readonly string[], from: readonly Types.ObjectId[], to: Types.ObjectId, session: ClientSession): Promise<HandedFiles[]> {
  if (fileIds.length === 0 || from.length === 0) return [];
  const ids = fileIds.filter((id) => Types.ObjectId.isValid(id)).map((id) => new Types.ObjectId(id));
  const held = await StoredFile.find({ _id: { $in: ids }, state: 'attached', cardId: { $in: from } }, { lineage: 1, cardId: 1 })
    .session(session)
    .lean<Pick<StoredFileDoc, '_id' | 'lineage' | 'cardId'>[]>();
  const handed: HandedFiles[] = [];
  for (const cardId of from) {
    const lineages = held.filter((doc) => String(doc.cardId) === String(cardId)).map(lineageOf);
    if (lineages.length === 0) continue;
    await moveLineages(lineages, cardId, to, session);
    handed.push({ cardId, lineages });
  }
  return handed;
}

/** The undo of a merge: each card gets back the files it handed to `survivor`, with the versions the survivor holds of them. */
export async function handBackFiles(handed: readonly HandedFiles[], survivor: Types.ObjectId, session: ClientSession): Promise<void> {
  for (const { cardId, lineages } of handed) await moveLineages(lineages, survivor, cardId, session);
}
