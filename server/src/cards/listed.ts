import type { CardTypeDefinition } from '../../../card-types';
import type { GraphQLContext } from '../graphql/context';
import type { CardDoc } from './model';

/**
 * A folder's page resolves a few fields for each of its rows (values, references, the unread
 * state). What they need is the same for every row — the row's card type, the reader's read
 * state —, so it is made ready once, when the rows are listed: each row's fields are then answered
 * at once, without a promise per row and field.
 */

/** What another module makes ready for a request's rows (e.g. the reader's read state); must not throw. */
export type ListedRowsPreparer = (context: GraphQLContext) => Promise<void>;

const preparers = new Set<ListedRowsPreparer>();
const listedTypes = new WeakMap<CardDoc, CardTypeDefinition>();

/** Registers work done once per listed page; registering twice changes nothing. */
export function onRowsListed(preparer: ListedRowsPreparer): void {
  preparers.add(preparer);
}

/** The rows of a page were listed with these types (the folder's): their fields need not look them up. */
export async function rowsListed(context: GraphQLContext, rows: readonly CardDoc[], types: readonly CardTypeDefinition[]): Promise<void> {
  const byKey = new Map(types.map((type) => [type.key, type]));
  for (const row of rows) {
    const type = byKey.get(row.typeKey);
    if (type) listedTypes.set(row, type);
  }
  await Promise.all([...preparers].map((prepare) => prepare(context)));
}

/** The type a listed row was listed with; undefined for a card not listed so (look it up). */
export const listedType = (card: CardDoc): CardTypeDefinition | undefined => listedTypes.get(card);
