import type { mongo } from 'mongoose';
import { valuesSize } from '../../../card-types';
import { findInOneReply } from './find-in-one-reply';

/**
 * A reply of many cards (a folder's page, cards by id, a search's page, a related tab, the trash)
 * ends early once its cards' values pass this many characters (valuesSize; the first card is
 * always in it), and says where to go on: one list of fat cards cannot make each reply tens of
 * megabytes, so a few colleagues opening it do not take the server's memory (s15 B2; s16
 * re-attack B2: 200 cards by id of 180,000 characters were one 36 M-character reply). 200 usual
 * cards (~1–2 thousand characters each) are far below it: their replies are unchanged.
 */
export const PAGE_VALUES_BUDGET = 2_000_000;

/** How many of `rows` (cards, in the order shown) fit the budget: at least one. */
export function rowsWithinBudget(rows: readonly { values?: Readonly<Record<string, unknown>> | null }[]): number {
  let spent = 0;
  for (let i = 0; i < rows.length; i++) {
    spent += valuesSize(rows[i]!.values);
    if (spent > PAGE_VALUES_BUDGET) return Math.max(1, i);
  }
  return rows.length;
}

/** The first of `rows` that fit the budget (a list with no way to go on but another query's pages: the trash's, the search's). */
export const withinBudget = <T extends { values?: Readonly<Record<string, unknown>> | null }>(rows: T[]): T[] => rows.slice(0, rowsWithinBudget(rows));

/** Whether rows read in a list's order hold one past the budget: no more need be read. */
export const budgetSpent = (rows: readonly { values?: Readonly<Record<string, unknown>> | null }[]): boolean => rowsWithinBudget(rows) < rows.length;

const sizeOf = (card: mongo.Document): number => valuesSize(card.values as Record<string, unknown> | undefined);

/** Ids read first: a reply of fat cards (180,000 characters, eleven to a budget) reads one card more than it shows. */
const FIRST_READ = 12;

/**
 * The cards of `ids` in that order as far as the budget goes: `found[i]` is the card of `ids[i]`,
 * or null when no card has it; `found` ends where the budget is spent (at least one id, unless
 * `ids` is empty), and the caller goes on from `ids[found.length]`. The first FIRST_READ ids are
 * read, then as many as cards of the size seen so far would take to fill the rest of the budget
 * (cards of usual size: all the others in a second read); each read stops once the cards held pass
 * the budget (the database hands over up to 16 MB at once), so a reply of fat cards reads about
 * what it shows — not each card asked for (s16 re-attack B2), nor 16 MB for 2 M characters shown.
 */
export async function cardsInOrderWithinBudget(ids: readonly mongo.ObjectId[], projection: mongo.Document): Promise<(mongo.Document | null)[]> {
  const known = new Map<string, mongo.Document | null>();
  let heldSize = 0;
  const read = async (asked: mongo.ObjectId[]) => {
    const rows = await findInOneReply(
      { filter: { _id: { $in: asked } }, projection, sort: { _id: 1 }, limit: asked.length },
      (rows) => heldSize + rows.reduce((size, row) => size + sizeOf(row), 0) > PAGE_VALUES_BUDGET,
    );
    for (const row of rows) {
      known.set(String(row._id), row);
      heldSize += sizeOf(row);
    }
    // Read in `_id` order: an id asked up to the last card read (all of them when the read went to its end) has no card.
    const last = heldSize > PAGE_VALUES_BUDGET ? rows.at(-1)?._id : undefined;
    for (const id of asked) if (!known.has(String(id)) && (last === undefined || String(id) < String(last))) known.set(String(id), null);
  };
  const found: (mongo.Document | null)[] = [];
  let spent = 0;
  while (found.length < ids.length) {
    const id = String(ids[found.length]);
    if (!known.has(id)) {
      const fits = spent === 0 ? (found.length === 0 ? FIRST_READ : ids.length) : Math.ceil(((PAGE_VALUES_BUDGET - spent) * found.length) / spent) + 1;
      const unknown = new Map<string, mongo.ObjectId>();
      for (const asked of ids.slice(found.length)) if (unknown.size < Math.max(FIRST_READ, fits) && !known.has(String(asked))) unknown.set(String(asked), asked);
      await read([...unknown.values()]);
      continue;
    }
    const card = known.get(id)!;
    spent += card ? sizeOf(card) : 0;
    if (spent > PAGE_VALUES_BUDGET && found.length > 0) break;
    found.push(card);
  }
  return found;
}
