import type { AnyBulkWriteOperation } from 'mongodb';
import { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { accessSnapshot } from '../access/snapshot';
import { MAX_SEARCH_WORD_LENGTH, normaliseForSearch, searchWordsOf } from '../../../card-types';
import { defineJob } from '../jobs/define';
import { Job } from '../jobs/model';
import { Card, type CardDoc } from './model';

/**
 * Search by words (README, «Search»): every word of the query must begin a word of the card (its
 * title, fields, file texts), case and ё aside, Russian endings of the query's words dropped. The
 * cost follows what is returned, not the installation:
 * - each query word's prefix range is counted in the `searchWords` index up to a small cap (a
 *   word no card has ends the search there);
 * - the rarest word's range is walked — within each folder the reader reads when they read few
 *   of them (index `folderId, searchWords`), else in the whole index with the ability checking
 *   each card — until `limit` cards have all the words, or a fixed number of candidates was seen;
 * - the hits are then loaded by id and the ones with the words in their title come first.
 */

/** Candidates looked at, at most, before the search answers with what it found. */
export const SEARCH_CANDIDATES = 5000;
/** Cards counted per query word to choose the rarest. */
const RARITY_CAP = 50;
/** Query words used, at most (the longest). */
const MAX_QUERY_WORDS = 8;
/** The highest code point: every string that starts with a prefix sorts below prefix + this. */
const AFTER_PREFIX = '\u{10FFFF}';

/**
 * Inflectional endings of Russian nouns and adjectives, as normalised text spells them (й loses its
 * breve there: -ой is -ои): dropped from a query word that keeps 4+ letters.
 */
const RUSSIAN_ENDING = /(?:ыми|ими|ого|его|ому|ему|ами|ями|ая|яя|ое|ее|ои|еи|ии|ыи|ые|ие|ых|их|ую|юю|ам|ям|ах|ях|ов|ев|ом|ем|а|я|о|е|ы|и|у|ю|ь)$/;

/** A query word as a prefix: lower case, ё→е, its Russian ending dropped (Заводской → заводск). */
export function wordPrefix(word: string): string {
  if (!/^[а-я]+$/.test(word)) return word;
  const stem = word.replace(RUSSIAN_ENDING, '');
  return stem.length >= 4 ? stem : word;
}

/** The prefixes a query asks for, longest first. */
export function queryPrefixes(query: string): string[] {
  const prefixes = new Set(searchWordsOf(normaliseForSearch(query)).map((word) => wordPrefix(word.slice(0, MAX_SEARCH_WORD_LENGTH))));
  return [...prefixes].sort((a, b) => b.length - a.length).slice(0, MAX_QUERY_WORDS);
}

/** A word of the card beginning with the prefix (one element within both bounds: `$elemMatch`, not two elements one bound each). */
const prefixRange = (prefix: string) => ({ $elemMatch: { $gte: prefix, $lt: prefix + AFTER_PREFIX } });
const hasPrefix = (words: readonly string[], prefix: string) => words.some((word) => word.startsWith(prefix));

type Filter = Record<string, unknown>;
type Candidate = Pick<CardDoc, '_id' | 'folderId' | 'libraryId' | 'searchWords'>;

/** The folders to search within, or null for all (an administrator, or a reader of most folders: each card is checked instead). */
async function folderScope(actor: Actor, libraryId: Types.ObjectId | null): Promise<Types.ObjectId[] | null> {
  if (actor.isAdmin) return null;
  const snapshot = await accessSnapshot();
  const readable = [...actor.folderLevels.keys()].filter((id) => !libraryId || String(snapshot.folders.get(id)?.libraryId) === String(libraryId));
  const within = libraryId ? (snapshot.foldersByLibrary.get(String(libraryId))?.length ?? 0) : snapshot.folders.size;
  if (readable.length * 2 >= within && readable.length > 0) return null;
  return readable.map((id) => snapshot.folders.get(id)!._id as Types.ObjectId);
}

/** The rarest prefix by its capped key count; null when a prefix begins no word at all. */
async function rarest(prefixes: string[], scope: Filter): Promise<string | null> {
  if (prefixes.length === 1) return prefixes[0];
  const counts = await Promise.all(prefixes.map((prefix) => Card.countDocuments({ ...scope, searchWords: prefixRange(prefix) }).limit(RARITY_CAP)));
  if (counts.some((count) => count === 0)) return null;
  let best = 0;
  for (let i = 1; i < prefixes.length; i += 1) if (counts[i] < counts[best]) best = i;
  return prefixes[best];
}

/** How well a card's title answers the query: query words beginning title words count most. */
function titleScore(card: CardDoc, prefixes: string[]): number {
  const titleWords = searchWordsOf(normaliseForSearch(card.title));
  return prefixes.reduce((score, prefix) => score + (hasPrefix(titleWords, prefix) ? 1 : 0), 0);
}

/** Cards the actor may read having every word of the query, at most `limit`, best title matches first. */
export async function searchByWords(actor: Actor, query: string, options: { libraryId: Types.ObjectId | null; limit: number }): Promise<CardDoc[]> {
  const prefixes = queryPrefixes(query);
  if (prefixes.length === 0) return [];
  const folders = await folderScope(actor, options.libraryId);
  if (folders && folders.length === 0) return [];
  const scope: Filter = { ...(folders ? { folderId: { $in: folders } } : {}), ...(options.libraryId ? { libraryId: options.libraryId } : {}) };
  const driver = await rarest(prefixes, scope);
  if (driver === null) return [];
  const others = prefixes.filter((prefix) => prefix !== driver);

  const found: Types.ObjectId[] = [];
  const cursor = Card.find({ ...scope, searchWords: prefixRange(driver), inTrash: false }, { folderId: 1, libraryId: 1, searchWords: 1 })
    .lean<Candidate[]>()
    .batchSize(Math.max(options.limit * 4, 100))
    .cursor();
  try {
    let seen = 0;
    for await (const card of cursor as AsyncIterable<Candidate>) {
      seen += 1;
      const words = card.searchWords ?? [];
      if (others.every((prefix) => hasPrefix(words, prefix)) && actor.ability.can('read', cardSubject(card))) found.push(card._id);
      if (found.length >= options.limit || seen >= SEARCH_CANDIDATES) break;
    }
  } finally {
    await cursor.close();
  }
  if (found.length === 0) return [];
  const cards = await Card.find({ _id: { $in: found } }).lean<CardDoc[]>();
  const readable = cards.filter((card) => !card.inTrash && actor.ability.can('read', cardSubject(card)));
  const scored = readable.map((card) => ({ card, score: titleScore(card, prefixes) }));
  scored.sort((a, b) => b.score - a.score || a.card.title.localeCompare(b.card.title, 'ru'));
  return scored.map((entry) => entry.card);
}

// ---------- cards stored before word search ----------

/**
 * Cards read per step of the job, and updates sent in one bulk write. The built-in database applies
 * a command's writes without answering anyone else meanwhile: a few hundred keep each step short
 * for the users working during the job, and still make the round trips a small part of its time.
 */
const BATCH = 250;

type Stored = Pick<CardDoc, '_id' | 'searchText'>;

/** The next cards in `_id` order, only what their words are taken from. */
const cardsAfter = (after: Types.ObjectId | null) =>
  Card.find(after ? { _id: { $gt: after } } : {}, { searchText: 1 })
    .sort({ _id: 1 })
    .limit(BATCH)
    .lean<Stored[]>()
    .exec();

/**
 * Background job: the words of cards stored before word search existed (their `searchWords`,
 * taken from their search text), in `_id` order, resumable from the last card done. Each step
 * reads the next cards (the step after it is read while this one writes) and sends one bulk write
 * that sets the words of those still without them. A card changed meanwhile derived its words
 * itself: its write matches nothing (it has words, or its search text is no longer the one read).
 */
export const searchWordsJob = defineJob<Record<string, never>, { cards: number }, { after: string; done: number }>({
  type: 'search-words',
  async run(ctx) {
    let done = ctx.resumeFrom?.done ?? 0;
    ctx.progress(done, await Card.estimatedDocumentCount());
    let rows = await cardsAfter(ctx.resumeFrom ? new Types.ObjectId(ctx.resumeFrom.after) : null);
    while (rows.length > 0) {
      ctx.signal.throwIfAborted();
      const last = rows.at(-1)!._id;
      const following = cardsAfter(last);
      // Awaited below; a failed write must not leave its rejection unhandled.
      following.catch(() => undefined);
      const writes: AnyBulkWriteOperation[] = rows.map((row) => ({
        updateOne: {
          filter: { _id: row._id, searchText: row.searchText, searchWords: { $exists: false } },
          update: { $set: { searchWords: searchWordsOf(row.searchText ?? '') } },
        },
      }));
      // The driver's collection: no change time is stamped, the card did not change.
      await Card.collection.bulkWrite(writes, { ordered: false });
      done += rows.length;
      await ctx.checkpoint({ after: String(last), done }, done);
      rows = await following;
    }
    return { cards: done };
  },
});

/**
 * How far the search-words job got while it has cards to do (after an upgrade from before word
 * search): the percentage of stored cards it went through, null while that is not known yet.
 * Null when no such job is queued or running: every stored card is found by its words. One
 * indexed lookup of the unfinished jobs.
 */
export async function searchIndexing(): Promise<{ percent: number | null } | null> {
  const job = await Job.findOne({ state: { $in: ['queued', 'running'] }, type: searchWordsJob.type }, { progress: 1 }).lean<{
    progress?: { done: number; total: number | null };
  }>();
  if (!job) return null;
  const { done = 0, total = null } = job.progress ?? {};
  return { percent: total ? Math.min(99, Math.floor((100 * done) / total)) : null };
}
