import mongoose, { Schema, type ClientSession } from 'mongoose';
import type { CardTypeDefinition } from '../../../card-types';

/**
 * Card type definitions as stored: built-in types merged with administrators' additions, and
 * types administrators defined. The stored document is the definition in force.
 */
const cardTypeSchema = new Schema(
  {
    key: { type: String, required: true, unique: true },
    definition: { type: Schema.Types.Mixed, required: true },
  },
  { timestamps: true, minimize: false },
);

export const CardTypeRecord = mongoose.model('CardType', cardTypeSchema);

/**
 * Definitions are read on almost every request and change rarely: they are cached briefly
 * (this instance forgets them at once when it saves one; other instances within CACHE_MS).
 */
const CACHE_MS = 5000;
let cached: { at: number; types: Promise<Map<string, CardTypeDefinition>> } | undefined;

function allTypes(): Promise<Map<string, CardTypeDefinition>> {
  if (!cached || Date.now() - cached.at > CACHE_MS) {
    const types = CardTypeRecord.find()
      .sort({ key: 1 })
      .lean()
      .then((records) => new Map(records.map((r) => [r.key, r.definition as CardTypeDefinition])));
    cached = { at: Date.now(), types };
    types.catch(() => (cached = undefined));
  }
  return cached.types;
}

export async function listCardTypes(): Promise<CardTypeDefinition[]> {
  return [...(await allTypes()).values()];
}

export async function findCardType(key: string): Promise<CardTypeDefinition | null> {
  return (await allTypes()).get(key) ?? null;
}

/** Stores a definition, inside the caller's transaction when one is given. */
export async function saveCardType(definition: CardTypeDefinition, session?: ClientSession): Promise<void> {
  cached = undefined;
  await CardTypeRecord.updateOne({ key: definition.key }, { $set: { definition } }, { upsert: true, session });
  cached = undefined;
}

/** Switches change history for a type without rewriting the rest of its definition; returns the definition as it was before. */
export async function setHistoryEnabled(key: string, enabled: boolean): Promise<CardTypeDefinition | null> {
  cached = undefined;
  const record = await CardTypeRecord.findOneAndUpdate({ key }, { $set: { 'definition.historyEnabled': enabled } }, { returnDocument: 'before' }).lean();
  cached = undefined;
  return record ? (record.definition as CardTypeDefinition) : null;
}

/** Forgets cached definitions (a new database, e.g. in tests). */
export function forgetCardTypes(): void {
  cached = undefined;
}

/** Index name of the partial unique index behind a `unique` field. */
export const uniqueIndexName = (typeKey: string, fieldKey: string) => `unique_${typeKey}_${fieldKey}`;
