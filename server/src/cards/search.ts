import type { AnyBulkWriteOperation } from 'mongodb';
import { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { accessSnapshot } from '../access/snapshot';
import { MAX_SEARCH_WORD_LENGTH, normaliseForSearch, searchWordsOf } from '../../../card-types';
import { defineJob } from '../jobs/define';
import { Job } from '../jobs/model';
import { refuseField } from '../validation';
import { cardsInOrderWithinBudget } from './budget';
import { openCursor, sealCursor } from './cursor';
import { Card, type CardDoc } from './model';

/**
 * Search by words (README, «Search»): every word of the query must begin a word of the card (its
 * title, fields, file texts), case and ё aside, Russian endings of the query's words dropped. The
 * cost follows a rare query word among the cards the reader may search, not the installation
 * nor how common the other words are, nor how many folders the reader reads:
 * - the likeliest rare word, when few cards have it in the whole installation — fewer than the
 *   reader's folders would cost to visit one by one (CARDS_PER_FOLDER cards each) — is counted and read across all folders
 *   (no folder named), the reader's access checked card by card against the
 *   access snapshot (the ability): the search costs that word's cards, however many folders the
 *   reader reads, and never more than visiting their folders would;
 * - common words, for a reader of many folders: walked across all folders too, each card checked,
 *   when the reader's share of the folders makes a page likely within what visiting their folders
 *   would cost — the page's cards ÷ that share are looked at, not their folders (commonWordsAcross);
 * - otherwise the scope: the folders the reader reads when they read few of them, or a library's
 *   folders (the word's range with the folders as a list of the index's second field: within the
 *   word's keys, a seek per folder holding it at most), else the whole range with the ability
 *   checking each card;
 * - one index serves all of these, `{ searchWords, folderId }` (WORD_INDEX): a word's keys lie
 *   together, whatever folders are asked for;
 * - the query's words are counted one at a time from the index keys alone (a word's prefix is a key
 *   range, `/^prefix/`), up to RARE (500) each, the likeliest rare first (numbers, then longer
 *   words); the first with fewer is the rare word, and the rest are not counted;
 * - then one query reads the rare word's range and the database checks the other words there:
 *   only the cards having them all come back, until `limit` readable ones (a single word's range is
 *   read so too, without counting);
 * - when every word is more common, the words' ranges are walked together, a card of each in turn,
 *   until `limit` cards have every word (cards having common words together are usually many), one
 *   range ends, or the ranges gave WALKED_CANDIDATES cards together (SEARCH_CANDIDATES each for two
 *   words, fewer each for more);
 * - the hits are then loaded by id and the ones with the words in their title come first.
 */

/** Candidates looked at, at most, before the search answers with what it found. */
export const SEARCH_CANDIDATES = 5000;
/**
 * A word fewer cards than this have is read alone (its count from the index keys costs about as
 * much as reading this many words' keys); when every word is more common, they are walked together.
 */
const RARE = 500;
/**
 * Cards of a word's whole range the built-in database reads (each loaded and the other words checked
 * on it, then its folder checked against the reader's access here) for about what positioning the
 * words index in one folder costs it, for a count and for a read (measured at a million cards:
 * 12 µs a card read, 35 µs a folder): a word with fewer cards in the whole installation than this
 * many per folder of the scope is read across all folders.
 */
const CARDS_PER_FOLDER = 3;
/** Cards each word's walk reads per round trip (at least; a page of all results reads more at once, up to MAX_WALK_BATCH). */
const WALK_BATCH = 50;
const MAX_WALK_BATCH = 500;
/** Query words used, at most (the longest). */
const MAX_QUERY_WORDS = 8;

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

/**
 * A word of the card beginning with the prefix: an anchored literal regex, which MongoDB and the
 * built-in database read as one key range of the words index, answered by its keys alone (an
 * array matches when one of its words does). Prefixes are letters and digits; anything else would
 * be escaped.
 */
const beginsWith = (prefix: string) => new RegExp(`^${prefix.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')}`);
const hasPrefix = (words: readonly string[], prefix: string) => words.some((word) => word.startsWith(prefix));

type Filter = Record<string, unknown>;
type Candidate = Pick<CardDoc, '_id' | 'folderId' | 'libraryId' | 'searchWords'>;
/** A card as a walk reads it. */
type Walked = Candidate & { title: string; inTrash: boolean };

/**
 * The cards within `scope` having a word that begins with `prefix`: the filter of the rarity count
 * and of the walks. Trashed cards are skipped by the walks, not here: an `inTrash` condition would
 * keep the count from being answered by the index keys alone.
 */
export const wordCandidates = (scope: Filter, prefix: string): Filter => ({ ...scope, searchWords: beginsWith(prefix) });

/**
 * The index the counts and the walks read, named (`hint`) so that no other is weighed or tried for
 * each of them: a word's prefix is one range of it, the scope's folders a list on its second field.
 */
const WORD_INDEX = { searchWords: 1, folderId: 1 } as const;

/**
 * The folders to search within — the reader's, or those of the library asked for that the reader
 * reads —, or null for all (an administrator, or a reader of most folders: each card is checked
 * instead).
 */
async function folderScope(actor: Actor, libraryId: Types.ObjectId | null): Promise<Types.ObjectId[] | null> {
  const snapshot = await accessSnapshot();
  const folderId = (id: string) => snapshot.folders.get(id)!._id as Types.ObjectId;
  if (libraryId) return (snapshot.foldersByLibrary.get(String(libraryId)) ?? []).filter((id) => actor.isAdmin || actor.folderLevels.has(id)).map(folderId);
  if (actor.isAdmin) return null;
  const readable = [...actor.folderLevels.keys()].filter((id) => snapshot.folders.has(id));
  if (readable.length * 2 >= snapshot.folders.size && readable.length > 0) return null;
  return readable.map(folderId);
}

/** How well a card's title answers the query: query words beginning title words count most. */
function titleScore(card: Pick<CardDoc, 'title'>, prefixes: string[]): number {
  const titleWords = searchWordsOf(normaliseForSearch(card.title));
  return prefixes.reduce((score, prefix) => score + (hasPrefix(titleWords, prefix) ? 1 : 0), 0);
}

/** A card found by its words: enough to order the hits and check the reader's right. */
type WordHit = Pick<CardDoc, '_id' | 'folderId' | 'libraryId' | 'title'>;
type Walk = { hits: WordHit[]; complete: boolean };

/**
 * The order the query's words are counted in, the likeliest to be rare first: numbers of three
 * digits or more (a company's number, a house, an account: few cards share one), then longer words
 * before shorter ones (short ones begin many words).
 */
export function likeliestRareFirst(prefixes: readonly string[]): string[] {
  const numberLike = (prefix: string) => (/^\d{3,}$/.test(prefix) ? 1 : 0);
  return [...prefixes].sort((a, b) => numberLike(b) - numberLike(a) || b.length - a.length);
}

/**
 * A query word fewer than RARE cards of the scope have — the first found so, counting the words
 * one at a time from the index keys (up to RARE each), the likeliest rare first; null when every
 * word has at least RARE. Each count positions the scope's folders in the index once: a word found
 * rare at once leaves the others uncounted (a reader of 200 folders: one pass for the count and
 * one for the read, instead of one per word and one for the read).
 */
async function rareWord(scope: Filter, prefixes: string[], fewer = RARE): Promise<string | null> {
  for (const prefix of likeliestRareFirst(prefixes)) {
    if ((await Card.countDocuments(wordCandidates(scope, prefix), { hint: WORD_INDEX, limit: fewer })) < fewer) return prefix;
  }
  return null;
}

/** The cards within `scope` having every word: the rarest word's range read, the others checked by the database. */
function everyWordIn(scope: Filter, rarest: string, others: string[]): Filter {
  // The rarest word first: a planner bounds the read by the first of several conditions on one field.
  return others.length === 0 ? wordCandidates(scope, rarest) : { ...scope, $and: [rarest, ...others].map((prefix) => ({ searchWords: beginsWith(prefix) })) };
}

/**
 * The cards of the scope the actor may read having a word beginning with `rarest` and every other
 * prefix, at most `limit`: one query over the rarest word's range (fewer than RARE cards, or a
 * single word read until `limit` hits or SEARCH_CANDIDATES cards), the other words checked by the
 * database, so only the cards having them all come back. `complete`: the range was read to its end.
 */
async function readRarest(actor: Actor, scope: Filter, rarest: string, others: string[], limit: number): Promise<Walk> {
  const filter = everyWordIn(scope, rarest, others);
  const cursor = Card.find(filter, { folderId: 1, libraryId: 1, title: 1, inTrash: 1 })
    .hint(WORD_INDEX)
    .lean<Walked[]>()
    .batchSize(Math.min(Math.max(limit, WALK_BATCH), MAX_WALK_BATCH))
    .cursor();
  const hits: WordHit[] = [];
  let seen = 0;
  try {
    for (let card = (await cursor.next()) as Walked | null; card; card = (await cursor.next()) as Walked | null) {
      seen += 1;
      if (!card.inTrash && actor.ability.can('read', cardSubject(card))) hits.push(card);
      if (hits.length >= limit || seen >= SEARCH_CANDIDATES) return { hits, complete: false };
    }
    return { hits, complete: true };
  } finally {
    await cursor.close();
  }
}

/**
 * Cards the walks of all the words look at together, at most: SEARCH_CANDIDATES each for two words,
 * fewer each for more (a query of eight one-letter words is no more work than one of two words).
 */
const WALKED_CANDIDATES = 2 * SEARCH_CANDIDATES;

/**
 * Whether the walks, at the rate they found hits so far, would fill the page of `limit` within
 * `candidates` cards looked at (checked between batches, when the cards read are all looked at).
 */
function pageLikely(walks: readonly { seen: number }[], found: number, limit: number, candidates: number): boolean {
  const looked = walks.reduce((sum, walk) => sum + walk.seen, 0);
  return found > 0 && looked + (looked * (limit - found)) / found <= candidates;
}

/**
 * Walks every query word's range at once, one card of each in turn, for cards the actor may read
 * having every word, until `limit` are found, or one word's range ends — every card having all
 * the words was seen in its range (`complete`) — or the ranges gave WALKED_CANDIDATES cards
 * together: the search when every word has RARE cards or more, where cards having them all are
 * usually many. `sparseGivesUp`: after each batch of every word, the walk stops (incomplete) when
 * the hits found so far make a full page unlikely within `candidates` — for a walk that something
 * cheaper follows when it gives up (commonWordsAcross).
 */
async function walkTogether(actor: Actor, scope: Filter, prefixes: string[], limit: number, candidates = WALKED_CANDIDATES, sparseGivesUp = false): Promise<Walk> {
  const eachAtMost = Math.floor(candidates / Math.max(2, prefixes.length));
  const batchSize = Math.min(Math.max(limit, WALK_BATCH), MAX_WALK_BATCH, eachAtMost);
  const walks = prefixes.map((prefix) => ({
    others: prefixes.filter((other) => other !== prefix),
    hits: [] as WordHit[],
    seen: 0,
    cursor: Card.find(wordCandidates(scope, prefix), { folderId: 1, libraryId: 1, searchWords: 1, title: 1, inTrash: 1 })
      .hint(WORD_INDEX)
      .lean<Walked[]>()
      .batchSize(batchSize)
      .cursor(),
  }));
  const found = new Map<string, WordHit>();
  try {
    for (;;) {
      let walking = false;
      for (const walk of walks) {
        if (walk.seen >= eachAtMost) continue;
        const card = (await walk.cursor.next()) as Walked | null;
        if (!card) return { hits: walk.hits, complete: true };
        walking = true;
        walk.seen += 1;
        const words = card.searchWords ?? [];
        if (card.inTrash || !walk.others.every((prefix) => hasPrefix(words, prefix)) || !actor.ability.can('read', cardSubject(card))) continue;
        walk.hits.push(card);
        found.set(String(card._id), card);
        if (found.size >= limit) return { hits: [...found.values()], complete: false };
      }
      if (!walking) return { hits: [...found.values()], complete: false };
      if (sparseGivesUp && walks.every((walk) => walk.seen % batchSize === 0) && !pageLikely(walks, found.size, limit, candidates))
        return { hits: [...found.values()], complete: false };
    }
  } finally {
    await Promise.all(walks.map((walk) => walk.cursor.close()));
  }
}

/**
 * Common words for a reader of many folders: the words' ranges across all folders (no folder
 * named, or within the library asked for), the ability checking each card, when the
 * reader's share of all folders makes a page likely within what visiting their folders one by one
 * would cost (CARDS_PER_FOLDER cards a folder): about `limit` × all folders ÷ the reader's folders
 * cards are looked at — fewer the more folders the reader reads, where each visit of their folders
 * sent and positioned all of them, for the counts and again for each word's walk. A word fewer
 * than RARE cards have anywhere is read alone (complete: `uncounted` are the words not yet known
 * to be more common). Null when the reader's share is too small for that, or when the walk looked
 * at that many cards without filling the page or reaching the end of a range (the reader's folders
 * hold few of these cards) — or, after a batch of each word, its hits so far make a full page
 * unlikely within that many (words each common that few cards have together: «ООО «Север-200»»
 * at a million cards read 1,803 cards of the whole installation for no hit) —: their folders are
 * visited then.
 */
async function commonWordsAcross(actor: Actor, across: Filter, words: { prefixes: string[]; uncounted: string[] }, limit: number, readerFolders: number): Promise<Walk | null> {
  const visiting = Math.min(WALKED_CANDIDATES, readerFolders * CARDS_PER_FOLDER);
  if (limit * (await accessSnapshot()).folders.size > visiting * readerFolders) return null;
  const rarest = words.prefixes.length > 1 ? await rareWord({}, words.uncounted) : null;
  if (rarest)
    return readRarest(
      actor,
      across,
      rarest,
      words.prefixes.filter((prefix) => prefix !== rarest),
      limit,
    );
  const walk = await walkTogether(actor, across, words.prefixes, limit, visiting, true);
  return walk.complete || walk.hits.length >= limit ? walk : null;
}

/** Cards the actor may read having every word of the query, at most `limit`, as the search reads them (above). */
async function findWords(actor: Actor, query: string, libraryId: Types.ObjectId | null, limit: number): Promise<Walk & { prefixes: string[] }> {
  const prefixes = queryPrefixes(query);
  const none = { hits: [], prefixes, complete: true };
  if (prefixes.length === 0) return none;
  const folders = await folderScope(actor, libraryId);
  if (folders && folders.length === 0) return none;
  const othersThan = (rarest: string) => prefixes.filter((prefix) => prefix !== rarest);
  if (folders) {
    // Counted in the whole range (its keys alone, no folder named); read within the library asked
    // for, if any, the ability checking each card's folder. A word's cards across all folders are
    // at least those of the scope: fewer than SEARCH_CANDIDATES, the read is complete.
    // The likeliest rare word alone: when it has too many cards across, the others mostly do too,
    // and each count is one more round trip.
    const [likeliest, ...lessLikely] = likeliestRareFirst(prefixes);
    const across: Filter = libraryId ? { libraryId } : {};
    const knownCommon = Math.min(SEARCH_CANDIDATES, folders.length * CARDS_PER_FOLDER);
    const rareAcross = await rareWord({}, [likeliest!], knownCommon);
    if (rareAcross) return { ...(await readRarest(actor, across, rareAcross, othersThan(rareAcross), limit)), prefixes };
    const walk = await commonWordsAcross(actor, across, { prefixes, uncounted: knownCommon >= RARE ? lessLikely : prefixes }, limit, folders.length);
    if (walk) return { ...walk, prefixes };
  }
  const scope: Filter = folders ? { folderId: { $in: folders } } : {};
  const rarest = prefixes.length === 1 ? prefixes[0]! : await rareWord(scope, prefixes);
  const walk = rarest ? await readRarest(actor, scope, rarest, othersThan(rarest), limit) : await walkTogether(actor, scope, prefixes, limit);
  return { ...walk, prefixes };
}

/** Best title matches first, then by title, then by id: the order of the results and of their pages. */
const hitOrder = (a: { score: number; title: string; id: string }, b: { score: number; title: string; id: string }) =>
  b.score - a.score || a.title.localeCompare(b.title, 'ru') || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The cards of the first of `ids` as far as a reply's budget goes (./budget), as stored, if still
 * readable and out of the trash, in the order of `ids`; `covered`: how many of `ids` they stand for.
 */
async function readableCards(actor: Actor, ids: Types.ObjectId[]): Promise<{ cards: CardDoc[]; covered: number }> {
  const found = (await cardsInOrderWithinBudget(ids, {})) as (CardDoc | null)[];
  const cards = found.filter((card): card is CardDoc => card !== null && !card.inTrash && actor.ability.can('read', cardSubject(card)));
  return { cards, covered: found.length };
}

/** Cards the actor may read having every word of the query, at most `limit`, best title matches first. */
export async function searchByWords(actor: Actor, query: string, options: { libraryId: Types.ObjectId | null; limit: number }): Promise<CardDoc[]> {
  const { hits, prefixes } = await findWords(actor, query, options.libraryId, options.limit);
  const ranked = hits.map((hit) => ({ id: String(hit._id), title: hit.title, score: titleScore(hit, prefixes), _id: hit._id })).sort(hitOrder);
  // The best hits as far as the budget goes: «Все результаты» (pageOfHits) goes on.
  return (
    await readableCards(
      actor,
      ranked.map((hit) => hit._id),
    )
  ).cards;
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

/** A page cursor: `[score, title, id]` of the last hit shown, sealed (./cursor: opaque to the client). */
const encodeHitCursor = (hit: { score: number; title: string; id: string }) => sealCursor([hit.score, hit.title, hit.id]);

function decodeHitCursor(actor: Actor, cursor: string): { score: number; title: string; id: string } {
  const refuse = () => refuseField(actor.locale, 'after', 'badCursor');
  const decoded = openCursor(cursor, 2100);
  if (!Array.isArray(decoded) || decoded.length !== 3) return refuse();
  const [score, title, id] = decoded as unknown[];
  if (typeof score !== 'number' || !Number.isInteger(score) || typeof title !== 'string' || typeof id !== 'string' || !/^[0-9a-f]{24}$/.test(id)) return refuse();
  return { score, title, id };
}

/**
 * A page of ranked hits after `after` (a cursor of this order), read whole; `complete`: the hits
 * are all there are.
 */
export async function pageOfHits(actor: Actor, ranked: RankedHit[], options: { first: number; after: string | null; complete: boolean }): Promise<WordResultsPage> {
  const after = options.after ? decodeHitCursor(actor, options.after) : null;
  const ordered = inHitOrder(ranked);
  const rest = after ? ordered.filter((hit) => hitOrder(hit, after) > 0) : ordered;
  const page = rest.slice(0, options.first);
  const keys = new Map(page.map((hit) => [hit.id, encodeHitCursor(hit)]));
  // A page whose cards pass the budget ends early; the next goes on after its last card.
  const { cards, covered } = await readableCards(
    actor,
    page.map((hit) => hit._id),
  );
  return {
    cards: cards.map((card) => ({ card, cursor: keys.get(String(card._id))! })),
    hasNextPage: rest.length > covered,
    totalCount: ordered.length,
    totalExact: options.complete,
  };
}

/** A hit as the results are ranked: its title's score against the query, its title, its id. */
export type RankedHit = { _id: Types.ObjectId; score: number; title: string };

/**
 * Every card a word search looks at (at most SEARCH_CANDIDATES with the rarest word) that the
 * actor may read, with its score: all the results, of which pages are read (and exports written).
 */
export async function rankedWordHits(actor: Actor, query: string, libraryId: Types.ObjectId | null): Promise<{ ranked: RankedHit[]; complete: boolean }> {
  const { hits, prefixes, complete } = await findWords(actor, query, libraryId, SEARCH_CANDIDATES);
  return { ranked: hits.map((hit) => ({ _id: hit._id, title: hit.title, score: titleScore(hit, prefixes) })), complete };
}

/**
 * Every card the reader may read having every word of the query — not only the SEARCH_CANDIDATES a
 * search looks at: what an export of a search reads (s15 U6: a search «не менее 418» exported 418
 * of 1,876 matches). Within the reader's folders as the search's scope takes them (`folderScope`:
 * the reader's, or those of the library asked for, by the index `folderId, searchWords`; all cards
 * only for an administrator or a reader of most folders), so another department's cards are not
 * read. The query's rarest word in that scope is found by counting the words' index keys, each count
 * stopping at the fewest found so far; its range is read with the other words checked by the
 * database, in that index's order. The reader's rights are for the caller to check, card by card.
 * Null when the query has no word or the reader reads no folder there.
 */
export async function everyWordMatch(actor: Actor, query: string, libraryId: Types.ObjectId | null): Promise<{ filter: Filter; hint: Record<string, 1> } | null> {
  const prefixes = queryPrefixes(query);
  if (prefixes.length === 0) return null;
  const folders = await folderScope(actor, libraryId);
  if (folders && folders.length === 0) return null;
  const scope: Filter = folders ? { folderId: { $in: folders } } : {};
  let rarest = { prefix: prefixes[0]!, cards: Infinity };
  for (const prefix of likeliestRareFirst(prefixes)) {
    const counting = Number.isFinite(rarest.cards) ? { hint: WORD_INDEX, limit: rarest.cards } : { hint: WORD_INDEX };
    const cards = await Card.countDocuments(wordCandidates(scope, prefix), counting);
    if (cards < rarest.cards) rarest = { prefix, cards };
  }
  const others = prefixes.filter((prefix) => prefix !== rarest.prefix);
  return { filter: everyWordIn({ inTrash: false, ...scope }, rarest.prefix, others), hint: WORD_INDEX };
}

/** The hits in the order of the results' pages. */
export const inHitOrder = <T extends RankedHit>(ranked: T[]): (T & { id: string })[] => ranked.map((hit) => ({ ...hit, id: String(hit._id) })).sort(hitOrder);

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
