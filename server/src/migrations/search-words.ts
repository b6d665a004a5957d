import type { Logger } from '../logger';
import type { Db, MigrationStep } from './step';

/**
 * Search moves from MongoDB's text index to the cards' words (README, «Search»): the text index
 * goes, and cards stored without words get them from a background job (`search-words`,
 * server/src/cards/search.ts) queued here — a million cards take minutes, which the start does not wait for.
 * Until the job reaches a card, the search does not find it by its words.
 */
async function up(db: Db, logger: Logger): Promise<void> {
  const cards = db.collection('cards');
  const textIndexes = (await cards.indexes().catch(() => [])).filter((index) => Object.values(index.key).includes('text'));
  for (const index of textIndexes) await cards.dropIndex(index.name!);
  const lacking = await cards.findOne({ searchWords: { $exists: false } }, { projection: { _id: 1 } });
  const jobs = db.collection('jobs');
  if (!lacking || (await jobs.findOne({ type: 'search-words', state: { $in: ['queued', 'running'] } }))) return;
  const now = new Date();
  // As the job model stores a queued job (server/src/jobs/model.ts).
  await jobs.insertOne({
    type: 'search-words',
    ownerId: null,
    params: {},
    state: 'queued',
    progress: { done: 0, total: null, rate: null, secondsLeft: null, note: '' },
    checkpoint: null,
    result: null,
    error: null,
    cancelRequested: false,
    lease: { holder: null, until: null },
    runs: 0,
    startedAt: null,
    finishedAt: null,
    createdAt: now,
    updatedAt: now,
  });
  logger.info('the words of stored cards are being indexed for search (job search-words)');
}

export const searchWordsStep: Omit<MigrationStep, 'version'> = { name: 'search by words: the text index goes, stored cards get their words', up };
