import type { mongo } from 'mongoose';
import { cardTargets, type CardTypeDefinition } from '../../../card-types';
import { forgetCardTypes, listCardTypes, uniqueIndexName } from '../card-types/registry';
import { isDuplicateKeyError } from '../validation';
import { Card } from './model';

const UNIQUE_PREFIX = 'unique_';
/** How the names of the indexes card types ask for begin (`wantedIndexes`); the collection's other indexes are Kartoteka's own. */
const TYPE_INDEX_PREFIXES = [UNIQUE_PREFIX, 'ref_', 'sort_'];

/**
 * Held by a change that adds indexes to the cards collection, from its budget check until its
 * indexes are made and it is stored or not, and by `dropIndexesNoTypeWants`: while no one holds it,
 * no index exists that a type not yet stored is to want.
 */
export const CARD_INDEX_BUDGET_LOCK = 'card-index-budget';

/** MongoDB's most indexes on one collection (the `_id` index included): the 65th is refused. */
export const CARD_INDEX_LIMIT = 64;
/** Kept free of card types' indexes, for indexes Kartoteka itself may declare on cards in a later version. */
export const CARD_INDEXES_RESERVED = 4;
/** How many indexes the cards collection may have once a card type change is saved. */
export const CARD_INDEX_BUDGET = CARD_INDEX_LIMIT - CARD_INDEXES_RESERVED;

/** Why a unique field's index is missing (`uniqueNotEnforced`). */
export type UniqueNotEnforcedReason = 'duplicates' | 'indexLimit';

/** An index a card type asks for, and the field (its place in the definition) and property asking. */
interface WantedIndex {
  name: string;
  keys: Record<string, 1>;
  options: mongo.CreateIndexesOptions;
  fieldIndex: number;
  property: 'unique' | 'targets' | 'listed';
}

/**
 * Indexes a card type needs: a partial unique index per shown `unique` field (the database, not a
 * read-then-write, keeps values unique), one per reference field key (related tabs; shared by every
 * type with a reference field of that key) and one per listed field key (sorting a folder by it).
 */
function wantedIndexes(type: CardTypeDefinition): WantedIndex[] {
  const wanted: WantedIndex[] = [];
  type.fields.forEach((field, fieldIndex) => {
    const path = `values.${field.key}`;
    if (field.unique && !field.hidden) {
      const partialFilterExpression = { typeKey: type.key, inTrash: false, [path]: { $exists: true } };
      wanted.push({
        name: uniqueIndexName(type.key, field.key),
        keys: { typeKey: 1, [path]: 1 },
        options: { unique: true, partialFilterExpression },
        fieldIndex,
        property: 'unique',
      });
    }
    if (cardTargets(field)) wanted.push({ name: `ref_${field.key}`, keys: { [path]: 1, typeKey: 1 }, options: {}, fieldIndex, property: 'targets' });
    if (field.listed) wanted.push({ name: `sort_${field.key}`, keys: { folderId: 1, inTrash: 1, [path]: 1, _id: 1 }, options: {}, fieldIndex, property: 'listed' });
  });
  return wanted;
}

/** The type's unique indexes the collection has but the type no longer asks for (the field is no longer unique, or hidden). */
const unwantedUnique = (type: CardTypeDefinition, existing: ReadonlySet<string>, wanted: readonly WantedIndex[]) =>
  [...existing].filter((name) => name.startsWith(`${UNIQUE_PREFIX}${type.key}_`) && !wanted.some((index) => index.name === name));

/** A unique index that could not be made: cards of the type already share a value of the field, or the collection has all the indexes it may. */
export interface UniqueIndexFailure {
  typeKey: string;
  fieldKey: string;
  reason: UniqueNotEnforcedReason;
  error?: Error;
}

/**
 * Makes the indexes a card type needs (`wantedIndexes`) and drops its unique indexes it no longer
 * needs (first, so that they free their places). A unique index the database refuses (cards already
 * share a value) or that would be the collection's 65th is returned, not thrown: the server keeps
 * running and administrators see the field's uniqueness as not enforced (`uniqueNotEnforced`). A
 * sorting or reference index past the limit is left out (lists and tabs still work, slower).
 * Sorting and reference indexes are made by one createIndexes: MongoDB and the built-in database
 * build the indexes of one command in one pass over the cards, where one command each read every
 * card once per index (a type of 12 listed fields held the index lock ~7 minutes at 10,100 folders,
 * s16 re-attack; 16.8 s against 4.8 s at 20,000 cards). Unique ones are made one by one: the
 * database refuses a command whole, and each refusal names its own field.
 */
export async function ensureCardTypeIndexes(type: CardTypeDefinition): Promise<UniqueIndexFailure[]> {
  const failures: UniqueIndexFailure[] = [];
  const collection = Card.collection;
  const existing = await cardIndexNames();
  const wanted = wantedIndexes(type);
  for (const name of unwantedUnique(type, existing, wanted)) {
    await collection.dropIndex(name);
    existing.delete(name);
  }
  const together: mongo.IndexDescription[] = [];
  for (const index of wanted) {
    if (existing.has(index.name)) continue;
    const fieldKey = type.fields[index.fieldIndex].key;
    if (existing.size >= CARD_INDEX_LIMIT) {
      if (index.property === 'unique') failures.push({ typeKey: type.key, fieldKey, reason: 'indexLimit' });
      continue;
    }
    if (index.property !== 'unique') {
      together.push({ key: index.keys, ...index.options, name: index.name });
      existing.add(index.name);
      continue;
    }
    try {
      await collection.createIndex(index.keys, { ...index.options, name: index.name });
      existing.add(index.name);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      failures.push({ typeKey: type.key, fieldKey, reason: 'duplicates', error: error as Error });
    }
  }
  if (together.length > 0) await collection.createIndexes(together);
  return failures;
}

/**
 * Drops the cards collection's type indexes (unique, reference, sorting) that no stored type asks
 * for, read afresh: those a save made and then was not stored (another administrator's save of the
 * type came first, a refusal, a failure — s17 attack M1: each such save kept its sorting indexes,
 * and a few filled the budget), a crash left mid-save, or a field stopped asking for (no longer
 * listed). An index another type asks for (a field key they share) stays. Call it holding
 * `CARD_INDEX_BUDGET_LOCK`. Returns the names dropped.
 */
export async function dropIndexesNoTypeWants(): Promise<string[]> {
  forgetCardTypes();
  const wanted = new Set((await listCardTypes()).flatMap((type) => wantedIndexes(type).map((index) => index.name)));
  const unwanted = [...(await cardIndexNames())].filter((name) => TYPE_INDEX_PREFIXES.some((prefix) => name.startsWith(prefix)) && !wanted.has(name));
  for (const name of unwanted) await Card.collection.dropIndex(name);
  return unwanted;
}

/** A change whose new indexes would take the cards collection past `CARD_INDEX_BUDGET`: the fields asking for them, and the counts. */
export interface IndexBudgetExcess {
  /** How many indexes the collection has now. */
  inUse: number;
  /** How many the change would add (net of the unique indexes it drops). */
  adding: number;
  /** Where the new indexes come from: the field's place in the definition and the property asking. */
  fields: { fieldIndex: number; property: WantedIndex['property'] }[];
}

/** Whether `type` wants an index that `previous` (null: a new type) did not. */
export function wantsNewIndexes(type: CardTypeDefinition, previous: CardTypeDefinition | null): boolean {
  const before = new Set(previous ? wantedIndexes(previous).map((index) => index.name) : []);
  return wantedIndexes(type).some((index) => !before.has(index.name));
}

/** Whether `previous` wanted an index that `type` no longer does (a field no longer listed, say). */
export const stopsWantingIndexes = (type: CardTypeDefinition, previous: CardTypeDefinition | null): boolean => previous !== null && wantsNewIndexes(previous, type);

/**
 * Whether saving `type` over `previous` (null: a new type) keeps the cards collection within
 * `CARD_INDEX_BUDGET` indexes: its real indexes now, less the unique ones the change drops, plus
 * those it would make (a sorting or reference index another type made already is shared). Null
 * when it fits — at once, asking the database nothing, when the type asks for no index it did not before.
 */
export async function indexBudgetExcess(type: CardTypeDefinition, previous: CardTypeDefinition | null): Promise<IndexBudgetExcess | null> {
  if (!wantsNewIndexes(type, previous)) return null;
  const wanted = wantedIndexes(type);
  const existing = await cardIndexNames();
  const added = wanted.filter((index, position) => !existing.has(index.name) && wanted.findIndex((other) => other.name === index.name) === position);
  if (added.length === 0) return null;
  const adding = added.length - unwantedUnique(type, existing, wanted).length;
  if (existing.size + adding <= CARD_INDEX_BUDGET) return null;
  return { inUse: existing.size, adding, fields: added.map(({ fieldIndex, property }) => ({ fieldIndex, property })) };
}

/**
 * The unique fields of a type whose index is missing: the database does not keep their values
 * unique (its creation failed on values cards already share, or on the collection's index limit).
 * `indexNames` is the cards collection's index names, read once per request.
 */
export function uniqueNotEnforced(type: CardTypeDefinition, indexNames: ReadonlySet<string>): string[] {
  return type.fields.filter((field) => field.unique && !field.hidden && !indexNames.has(uniqueIndexName(type.key, field.key))).map((field) => field.key);
}

/** Why unique indexes are missing: the collection is at MongoDB's limit, or else cards share values. */
export const uniqueNotEnforcedReason = (indexNames: ReadonlySet<string>): UniqueNotEnforcedReason => (indexNames.size >= CARD_INDEX_LIMIT ? 'indexLimit' : 'duplicates');

/** The names of the cards collection's indexes. */
export async function cardIndexNames(): Promise<Set<string>> {
  return new Set((await Card.collection.indexes()).map((index) => index.name ?? ''));
}
