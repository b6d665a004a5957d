import { cardTargets, type CardTypeDefinition } from '../../../card-types';
import { uniqueIndexName } from '../card-types/registry';
import { Card } from './model';

const UNIQUE_PREFIX = 'unique_';

/**
 * Indexes a card type needs: a partial unique index per `unique` field (the database, not a
 * read-then-write, keeps values unique), one per reference field (related tabs), and one per
 * listed field for sorting a folder by it.
 */
export async function ensureCardTypeIndexes(type: CardTypeDefinition): Promise<void> {
  const collection = Card.collection;
  const existing = new Set((await collection.indexes()).map((index) => index.name));
  const wantedUnique = new Set<string>();
  for (const field of type.fields) {
    const path = `values.${field.key}`;
    if (field.unique && !field.hidden) {
      const name = uniqueIndexName(type.key, field.key);
      wantedUnique.add(name);
      if (!existing.has(name)) {
        await collection.createIndex({ typeKey: 1, [path]: 1 }, { name, unique: true, partialFilterExpression: { typeKey: type.key, inTrash: false, [path]: { $exists: true } } });
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
}
