import type { Logger } from '../logger';
import type { Db, MigrationStep } from './step';

/** The search's one words index (server/src/cards/model.ts): a word, then the card's folder. */
const WORD_FOLDER = { key: { searchWords: 1, folderId: 1 }, name: 'searchWords_1_folderId_1' } as const;
/** The two it replaces: the word alone, and the folder then the word. */
const REPLACED = ['searchWords_1', 'folderId_1_searchWords_1'];

/**
 * The cards' words were indexed twice — alone, and after the folder — 46 % of all index entries,
 * and a reader's search positioned the second one in each of their folders, all over the index.
 * One index `{ searchWords, folderId }` serves both (README, «Search»): it is built over the
 * stored cards here, before the server starts answering (logged with the cards to go and the time
 * it took: at a million cards, minutes), then the two old ones go (their entries are deleted in
 * the background). Safe to run again: what is already there is not built again.
 */
async function up(db: Db, logger: Logger): Promise<void> {
  const cards = db.collection('cards');
  const names = new Set((await cards.indexes().catch(() => [])).map((index) => index.name));
  if (names.size === 0) return;
  if (!names.has(WORD_FOLDER.name)) {
    const count = await cards.estimatedDocumentCount();
    logger.info({ cards: count, index: WORD_FOLDER.name }, 'search: building the words index over the stored cards; the server answers once it is built');
    const started = Date.now();
    await cards.createIndex(WORD_FOLDER.key, { name: WORD_FOLDER.name });
    logger.info({ cards: count, index: WORD_FOLDER.name, seconds: Math.round((Date.now() - started) / 100) / 10 }, 'search: the words index is built');
  }
  for (const name of REPLACED) if (names.has(name)) await cards.dropIndex(name);
}

export const wordFolderIndexStep: Omit<MigrationStep, 'version'> = { name: 'search: one words index, the word then the folder, replaces the two', up };
