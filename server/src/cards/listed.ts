import type { CardTypeDefinition } from '../../../card-types';
import type { GraphQLContext } from '../graphql/context';
import type { CardDoc } from './model';

/**
 * A folder's page resolves a few fields for each of its rows (values, references, the unread
 * state). What they need is the same for every row — the folder's card types, the reader's read
 * state —, so it is made ready once, when the rows are listed: each row's fields are then answered
 * at once, without a promise per row and field, and nothing is kept per row.
 */

/** What another module makes ready for a request's rows (e.g. the reader's read state); must not throw. */
export type ListedRowsPreparer = (context: GraphQLContext) => Promise<void>;

const preparers = new Set<ListedRowsPreparer>();
/** The card types of the folders a request listed, by key. */
const listedTypes = new WeakMap<GraphQLContext, Map<string, CardTypeDefinition>>();

/** Registers work done once per listed page; registering twice changes nothing. */
export function onRowsListed(preparer: ListedRowsPreparer): void {
  preparers.add(preparer);
}

/** A folder's rows were listed with these types (the folder's) in this request: their fields need not look them up. */
export async function rowsListed(context: GraphQLContext, types: readonly CardTypeDefinition[]): Promise<void> {
  let byKey = listedTypes.get(context);
  if (!byKey) listedTypes.set(context, (byKey = new Map()));
  for (const type of types) byKey.set(type.key, type);
  await Promise.all([...preparers].map((prepare) => prepare(context)));
}

/** The type of a card of a folder the request listed; undefined for another card (look it up). */
export const listedType = (card: CardDoc, context: GraphQLContext): CardTypeDefinition | undefined => listedTypes.get(context)?.get(card.typeKey);
