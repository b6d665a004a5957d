import { accessibleBy } from '@casl/mongoose';
import type { Query } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { LEVEL_RANK } from '../access/effective-access';
import { accessSnapshot } from '../access/snapshot';
import { limitedLikeItsRequest } from '../graphql/query-time-limit';
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
 * `limit`, in the order the query gives. `filter` must not use `$or` (the permission condition
 * may be one).
 */
export async function permittedCards(actor: Actor, action: CardScopeAction, filter: Filter, build: (filter: Filter) => CardQuery, limit: number): Promise<CardDoc[]> {
  if (!(await checksEachCard(actor, action))) {
    return build({ ...filter, ...accessibleBy(actor.ability, action).ofType('Card') })
      .limit(limit)
      .lean<CardDoc[]>();
  }
  const found: CardDoc[] = [];
  const cursor = limitedLikeItsRequest(
    build(filter)
      .lean<CardDoc[]>()
      .batchSize(Math.max(limit * 2, 100)),
  ).cursor();
  try {
    for await (const card of cursor as AsyncIterable<CardDoc>) {
      if (!actor.ability.can(action, cardSubject(card))) continue;
      found.push(card);
      if (found.length >= limit) break;
    }
  } finally {
    await cursor.close();
  }
  return found;
}
