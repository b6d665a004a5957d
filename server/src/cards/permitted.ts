import { accessibleBy } from '@casl/mongoose';
import type { Query } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { LEVEL_RANK } from '../access/effective-access';
import { accessSnapshot } from '../access/snapshot';
import { limitedLikeItsRequest } from '../graphql/query-time-limit';
import { valuesSize } from '../../../card-types';
import { PAGE_VALUES_BUDGET } from './budget';
import type { CardDoc } from './model';

type Filter = Record<string, unknown>;
export type CardScopeAction = 'read' | 'update' | 'delete';

/** Up to this many folder and library ids, the ability's conditions join the query as they are. */
const LISTED_IDS_IN_QUERY = 1000;

function listedIds(actor: Actor, action: CardScopeAction): number {
  let count = 0;
  for (const rule of actor.ability.rulesFor(action, 'Card')) {
    for (const condition of Object.values(rule.conditions ?? {})) {
      const list = (condition as { $in?: unknown[] } | null)?.$in;
      if (Array.isArray(list)) count += list.length;
    }
  }
  return count;
}

/**
 * Whether a query over cards of many folders carries the actor's permissions as a condition, or
 * runs as asked with the ability checking each card it yields: the first while the actor's rules
 * name few folders and libraries (a short `$in`), the second when they name thousands and those
 * are most of all folders, so most candidates pass and no huge `$in` is sent.
 */
export async function checksEachCard(actor: Actor, action: CardScopeAction): Promise<boolean> {
  if (listedIds(actor, action) <= LISTED_IDS_IN_QUERY) return false;
  const minimum = action === 'delete' ? LEVEL_RANK.full : action === 'update' ? LEVEL_RANK.edit : LEVEL_RANK.read;
  let permitted = 0;
  for (const level of actor.folderLevels.values()) if (LEVEL_RANK[level] >= minimum) permitted += 1;
  return permitted * 2 >= (await accessSnapshot()).folders.size;
}

type CardQuery = Query<unknown, unknown>;

/**
 * Cards from many folders (search, related tabs, the trash) that the actor may `action`, up to
 * `limit`, in the order the query gives — and no more once their values pass the budget of a reply
 * (./budget): the card past it is read, so the caller, cutting the list where `rowsWithinBudget`
 * says, knows more follow. `filter` must not use `$or` (the permission condition may be one).
 */
export async function permittedCards(actor: Actor, action: CardScopeAction, filter: Filter, build: (filter: Filter) => CardQuery, limit: number): Promise<CardDoc[]> {
  const scoped = !(await checksEachCard(actor, action));
  const query = build(scoped ? { ...filter, ...accessibleBy(actor.ability, action).ofType('Card') } : filter).lean<CardDoc[]>();
  const cursor = limitedLikeItsRequest(scoped ? query.limit(limit) : query.batchSize(Math.max(limit * 2, 100))).cursor();
  const found: CardDoc[] = [];
  let spent = 0;
  try {
    for await (const card of cursor as AsyncIterable<CardDoc>) {
      if (!scoped && !actor.ability.can(action, cardSubject(card))) continue;
      found.push(card);
      spent += valuesSize(card.values);
      if (found.length >= limit || (spent > PAGE_VALUES_BUDGET && found.length > 1)) break;
    }
  } finally {
    await cursor.close();
  }
  return found;
}
