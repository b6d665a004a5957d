import type { CardChange, CardLifecycleHooks } from '../cards/lifecycle';
import { StoredFile, type StoredFileDoc } from './model';
import { attachFiles, checkFileValues, mayDownload, releaseFilesOfCard, removeExpiredFiles } from './service';
import { fileTextJob, keepFileTexts } from './text';

/** Files a change attached whose text is yet to be extracted, until the change is committed. */
const toRead = new WeakMap<CardChange, StoredFileDoc[]>();

/**
 * What files mean to cards: the uploads a change adds must be the author's for this card; saving
 * attaches them (new versions take their place in the file's lineage) and keeps the search text of
 * the card's files; after the commit their text is extracted in the background; a purge removes them.
 * Downloading a file is export: a card holding files does not move from a folder where the actor
 * lacks «Экспорт» to one where they have it (that would hand them the files).
 */
export const fileHooks: CardLifecycleHooks = {
  name: 'files',
  checkValues: checkFileValues,
  async checkMove({ actor, card, to }) {
    if (mayDownload(actor, card) || !mayDownload(actor, to)) return null;
    if (!(await StoredFile.exists({ cardId: card._id, state: 'attached' }))) return null;
    return actor.locale === 'ru'
      ? 'карточку с файлами нельзя перенести из папки, где у вас нет права «Экспорт», в папку, где оно есть (так файлы стали бы доступны вам для скачивания)'
      : 'a card with files cannot be moved from a folder where you lack the “Export” right into one where you have it (its files would become downloadable to you)';
  },
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
