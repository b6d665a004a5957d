import type { AnyBulkWriteOperation } from 'mongodb';
import { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { accessSnapshot } from '../access/snapshot';
import { MAX_SEARCH_WORD_LENGTH, normaliseForSearch, searchWordsOf } from '../../../card-types';
import { defineJob } from '../jobs/define';
import { Job } from '../jobs/model';
import { refuseField } from '../validation';
import { Card, type CardDoc } from './model';

/**
 * Search by words (README, «Search»): every word of the query must begin a word of the card (its
 * title, fields, file texts), case and ё aside, Russian endings of the query's words dropped. The
 * cost follows what is returned, not the installation:
 * - every query word's prefix range is walked at once, a card of each in turn — within each folder
 *   the reader reads when they read few of them (index `folderId, searchWords`), else in the whole
 *   index with the ability checking each card — until `limit` cards have all the words, or the
 *   rarest word's range ends (a word no card has ends it in the first round), or a fixed number of
 *   candidates was seen in each;
 * - the hits are then loaded by id and the ones with the words in their title come first.
 */

/** Candidates looked at, at most, before the search answers with what it found. */
export const SEARCH_CANDIDATES = 5000;
/** Cards each word's walk reads per round trip (at least; a page of all results reads more at once, up to MAX_WALK_BATCH). */
const WALK_BATCH = 50;
const MAX_WALK_BATCH = 500;
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
/** A card as a walk reads it. */
type Walked = Candidate & { title: string; inTrash: boolean };

/**
 * The cards within `scope` having a word that begins with `prefix`: the filter of the rarity count
 * and of the walk. Trashed cards are skipped by the walk, not here: an `inTrash` condition would let
 * a planner prefer a folder index (folder and trash flag, two fields narrowed) and read every card
 * of the reader's folders for the few having the word.
 */
export const wordCandidates = (scope: Filter, prefix: string): Filter => ({ ...scope, searchWords: prefixRange(prefix) });

/**
 * The index the counts and the walk read, named (`hint`) so that no other is weighed or tried for
 * each of them: the word within each of the reader's folders, or the word in the whole index.
 */
const wordIndex = (scope: Filter) => ('folderId' in scope ? { folderId: 1, searchWords: 1 } : { searchWords: 1 });

/** The folders to search within, or null for all (an administrator, or a reader of most folders: each card is checked instead). */
async function folderScope(actor: Actor, libraryId: Types.ObjectId | null): Promise<Types.ObjectId[] | null> {
  if (actor.isAdmin) return null;
  const snapshot = await accessSnapshot();
  const readable = [...actor.folderLevels.keys()].filter((id) => !libraryId || String(snapshot.folders.get(id)?.libraryId) === String(libraryId));
  const within = libraryId ? (snapshot.foldersByLibrary.get(String(libraryId))?.length ?? 0) : snapshot.folders.size;
  if (readable.length * 2 >= within && readable.length > 0) return null;
  return readable.map((id) => snapshot.folders.get(id)!._id as Types.ObjectId);
}

/** How well a card's title answers the query: query words beginning title words count most. */
function titleScore(card: Pick<CardDoc, 'title'>, prefixes: string[]): number {
  const titleWords = searchWordsOf(normaliseForSearch(card.title));
  return prefixes.reduce((score, prefix) => score + (hasPrefix(titleWords, prefix) ? 1 : 0), 0);
}

/** A card found by its words: enough to order the hits and check the reader's right. */
type WordHit = Pick<CardDoc, '_id' | 'folderId' | 'libraryId' | 'title'>;

/**
 * Walks every query word's range at once, one card of each in turn, for cards the actor may read
 * having every word, until `limit` are found, or one word's range ends — the rarest word: every
 * card having all the words was seen in its range, so its hits are all there are (`complete`) — or
 * each range gave SEARCH_CANDIDATES cards. So the walk costs the rarest word's cards once per query
 * word, or what it took to find `limit` hits, whichever is less, however common the other words are,
 * and no word is counted beforehand.
 */
async function walkWords(actor: Actor, query: string, libraryId: Types.ObjectId | null, limit: number): Promise<{ hits: WordHit[]; prefixes: string[]; complete: boolean }> {
  const prefixes = queryPrefixes(query);
  const none = { hits: [], prefixes, complete: true };
  if (prefixes.length === 0) return none;
  const folders = await folderScope(actor, libraryId);
  if (folders && folders.length === 0) return none;
  const scope: Filter = { ...(folders ? { folderId: { $in: folders } } : {}), ...(libraryId ? { libraryId } : {}) };
  const batchSize = Math.min(Math.max(limit, WALK_BATCH), MAX_WALK_BATCH);
  const walks = prefixes.map((prefix) => ({
    others: prefixes.filter((other) => other !== prefix),
    hits: [] as WordHit[],
    seen: 0,
    cursor: Card.find(wordCandidates(scope, prefix), { folderId: 1, libraryId: 1, searchWords: 1, title: 1, inTrash: 1 })
      .hint(wordIndex(scope))
      .lean<Walked[]>()
      .batchSize(batchSize)
      .cursor(),
  }));
  const found = new Map<string, WordHit>();
  try {
    for (;;) {
      let walking = false;
      for (const walk of walks) {
        if (walk.seen >= SEARCH_CANDIDATES) continue;
        const card = (await walk.cursor.next()) as Walked | null;
        if (!card) return { hits: walk.hits, prefixes, complete: true };
        walking = true;
        walk.seen += 1;
        const words = card.searchWords ?? [];
        if (card.inTrash || !walk.others.every((prefix) => hasPrefix(words, prefix)) || !actor.ability.can('read', cardSubject(card))) continue;
        walk.hits.push(card);
        found.set(String(card._id), card);
        if (found.size >= limit) return { hits: [...found.values()], prefixes, complete: false };
      }
      if (!walking) return { hits: [...found.values()], prefixes, complete: false };
    }
  } finally {
    await Promise.all(walks.map((walk) => walk.cursor.close()));
  }
}

/** Best title matches first, then by title, then by id: the order of the results and of their pages. */
const hitOrder = (a: { score: number; title: string; id: string }, b: { score: number; title: string; id: string }) =>
  b.score - a.score || a.title.localeCompare(b.title, 'ru') || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The cards of `ids` as stored, if still readable and out of the trash, in the order of `ids`. */
async function readableCards(actor: Actor, ids: Types.ObjectId[]): Promise<CardDoc[]> {
  if (ids.length === 0) return [];
  const byId = new Map((await Card.find({ _id: { $in: ids } }).lean<CardDoc[]>()).map((card) => [String(card._id), card]));
  return ids.map((id) => byId.get(String(id))).filter((card): card is CardDoc => card !== undefined && !card.inTrash && actor.ability.can('read', cardSubject(card)));
}

/** Cards the actor may read having every word of the query, at most `limit`, best title matches first. */
export async function searchByWords(actor: Actor, query: string, options: { libraryId: Types.ObjectId | null; limit: number }): Promise<CardDoc[]> {
  const { hits, prefixes } = await walkWords(actor, query, options.libraryId, options.limit);
  const ranked = hits.map((hit) => ({ id: String(hit._id), title: hit.title, score: titleScore(hit, prefixes), _id: hit._id })).sort(hitOrder);
  return readableCards(
    actor,
    ranked.map((hit) => hit._id),
  );
}

/** One page of all the cards having every word, in `hitOrder`, with how many there are. */
export interface WordResultsPage {
  cards: { card: CardDoc; cursor: string }[];
  hasNextPage: boolean;
  /** Cards found; a lower bound unless `totalExact`. */
  totalCount: number;
  /** False when more cards had the rarest word than a search looks at: there may be more results. */
  totalExact: boolean;
}

/** A page cursor: base64url JSON `[score, title, id]` of the last hit shown. */
const encodeHitCursor = (hit: { score: number; title: string; id: string }) => Buffer.from(JSON.stringify([hit.score, hit.title, hit.id])).toString('base64url');

function decodeHitCursor(actor: Actor, cursor: string): { score: number; title: string; id: string } {
  const refuse = () => refuseField(actor.locale, 'after', 'badCursor');
  if (cursor.length > 2000 || !/^[A-Za-z0-9_-]*$/.test(cursor)) return refuse();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return refuse();
  }
  if (!Array.isArray(decoded) || decoded.length !== 3) return refuse();
  const [score, title, id] = decoded as unknown[];
  if (typeof score !== 'number' || !Number.isInteger(score) || typeof title !== 'string' || typeof id !== 'string' || !/^[0-9a-f]{24}$/.test(id)) return refuse();
  return { score, title, id };
}

/**
 * A page of ranked hits after `after` (a cursor of this order), read whole; `complete`: the hits
 * are all there are.
 */
export async function pageOfHits(
  actor: Actor,
  ranked: { _id: Types.ObjectId; score: number; title: string }[],
  options: { first: number; after: string | null; complete: boolean },
): Promise<WordResultsPage> {
  const after = options.after ? decodeHitCursor(actor, options.after) : null;
  const ordered = ranked.map((hit) => ({ ...hit, id: String(hit._id) })).sort(hitOrder);
  const rest = after ? ordered.filter((hit) => hitOrder(hit, after) > 0) : ordered;
  const page = rest.slice(0, options.first);
  const keys = new Map(page.map((hit) => [hit.id, encodeHitCursor(hit)]));
  const cards = await readableCards(
    actor,
    page.map((hit) => hit._id),
  );
  return {
    cards: cards.map((card) => ({ card, cursor: keys.get(String(card._id))! })),
    hasNextPage: rest.length > page.length,
    totalCount: ordered.length,
    totalExact: options.complete,
  };
}

/**
 * All results of a word search, a page at a time: every card the search looks at (at most
 * SEARCH_CANDIDATES with the rarest word — the same bound as one search) is ranked, and the page
 * after `after` is read whole. A page costs that walk and its own cards, however many cards exist.
 */
export async function searchWordPages(actor: Actor, query: string, options: { libraryId: Types.ObjectId | null; first: number; after: string | null }): Promise<WordResultsPage> {
  if (options.after) decodeHitCursor(actor, options.after);
  const { hits, prefixes, complete } = await walkWords(actor, query, options.libraryId, SEARCH_CANDIDATES);
  return pageOfHits(
    actor,
    hits.map((hit) => ({ _id: hit._id, title: hit.title, score: titleScore(hit, prefixes) })),
    { ...options, complete },
  );
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
