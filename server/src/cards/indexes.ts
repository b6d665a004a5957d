import { cardTargets, type CardTypeDefinition } from '../../../card-types';
import { uniqueIndexName } from '../card-types/registry';
import { isDuplicateKeyError } from '../validation';
import { Card } from './model';

const UNIQUE_PREFIX = 'unique_';

/** A unique index that could not be made: cards of the type already share a value of the field. */
export interface UniqueIndexFailure {
  typeKey: string;
  fieldKey: string;
  error: Error;
}

/**
 * Indexes a card type needs: a partial unique index per `unique` field (the database, not a
 * read-then-write, keeps values unique), one per reference field (related tabs), and one per
 * listed field for sorting a folder by it. A unique index the database refuses (cards already share
 * a value) is returned, not thrown: the server keeps running and administrators see the field's
 * uniqueness as not enforced (`uniqueNotEnforced`).
 */
export async function ensureCardTypeIndexes(type: CardTypeDefinition): Promise<UniqueIndexFailure[]> {
  const failures: UniqueIndexFailure[] = [];
  const collection = Card.collection;
  const existing = new Set((await collection.indexes()).map((index) => index.name));
  const wantedUnique = new Set<string>();
  for (const field of type.fields) {
    const path = `values.${field.key}`;
    if (field.unique && !field.hidden) {
      const name = uniqueIndexName(type.key, field.key);
      wantedUnique.add(name);
      if (!existing.has(name)) {
        try {
          await collection.createIndex(
            { typeKey: 1, [path]: 1 },
            { name, unique: true, partialFilterExpression: { typeKey: type.key, inTrash: false, [path]: { $exists: true } } },
          );
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
          failures.push({ typeKey: type.key, fieldKey: field.key, error: error as Error });
        }
      }
    }
    if (cardTargets(field)) {
      // Shared by every type with a reference field of this key (one key pattern, one index).
      const name = `ref_${field.key}`;
      if (!existing.has(name)) {
        await collection.createIndex({ [path]: 1, typeKey: 1 }, { name });
        existing.add(name);
      }
    }
    if (field.listed) {
      const name = `sort_${field.key}`;
      if (!existing.has(name)) {
        await collection.createIndex({ folderId: 1, inTrash: 1, [path]: 1, _id: 1 }, { name });
        existing.add(name);
      }
    }
  }
  for (const name of existing) {
    if (name?.startsWith(`${UNIQUE_PREFIX}${type.key}_`) && !wantedUnique.has(name)) await collection.dropIndex(name);
  }
  return failures;
}

/**
 * The unique fields of a type whose index is missing: the database does not keep their values
 * unique (its creation failed on values cards already share). `indexNames` is the cards
 * collection's index names, read once per request.
 */
export function uniqueNotEnforced(type: CardTypeDefinition, indexNames: ReadonlySet<string>): string[] {
  return type.fields.filter((field) => field.unique && !field.hidden && !indexNames.has(uniqueIndexName(type.key, field.key))).map((field) => field.key);
}

/** The names of the cards collection's indexes. */
export async function cardIndexNames(): Promise<Set<string>> {
  return new Set((await Card.collection.indexes()).map((index) => index.name ?? ''));
}
