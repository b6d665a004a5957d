import type { CardChange, CardLifecycleHooks } from '../cards/lifecycle';
import type { StoredFileDoc } from './model';
import { attachFiles, checkFileValues, releaseFilesOfCard, removeExpiredFiles } from './service';
import { fileTextJob, keepFileTexts } from './text';

/** Files a change attached whose text is yet to be extracted, until the change is committed. */
const toRead = new WeakMap<CardChange, StoredFileDoc[]>();

/**
 * What files mean to cards: the uploads a change adds must be the author's for this card; saving
 * attaches them (new versions take their place in the file's lineage) and keeps the search text of
 * the card's files; after the commit their text is extracted in the background; a purge removes them.
 */
export const fileHooks: CardLifecycleHooks = {
  name: 'files',
  checkValues: checkFileValues,
  async beforeSave(change, session) {
    const attached = await attachFiles(change, session);
    toRead.set(
      change,
      attached.filter((file) => file.textState === 'pending'),
    );
    await keepFileTexts(change, session);
  },
  async afterCommit(change) {
    for (const file of toRead.get(change) ?? []) await fileTextJob.enqueue(change.actor.userId, { fileId: String(file._id) });
  },
  beforePurge: releaseFilesOfCard,
  async afterPurge(card) {
    await removeExpiredFiles({ cardId: card._id });
  },
};
