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
 * (this instance forgets them once its save has committed; other instances within CACHE_MS, and at
 * once for card writes, which ask for the stored revision: findCurrentCardType).
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

/**
 * The type as stored now, for a write that must not check values against a definition another
 * instance has just replaced (the cache lasts CACHE_MS): the cached definition while its revision is
 * still the stored one (one read of the revision number), else the definitions read again.
 */
export async function findCurrentCardType(key: string): Promise<CardTypeDefinition | null> {
  const [cachedType, record] = await Promise.all([findCardType(key), CardTypeRecord.findOne({ key }, { 'definition.version': 1 }).lean<{ definition?: { version?: number } }>()]);
  if (!record) return null;
  const storedVersion = record.definition?.version ?? 0;
  if (cachedType && (cachedType.version ?? 0) === storedVersion) return cachedType;
  forgetCardTypes();
  return findCardType(key);
}

/**
 * Stores a definition as the type's next revision (`version` one more than the definition's), inside
 * the caller's transaction when one is given. With `expectedVersion`, only over that revision of
 * the stored type (a type stored before revisions were kept counts as 0): returns the definition as
 * stored, or null when the stored type is at another revision (someone saved it meanwhile).
 */
export async function saveCardType(definition: CardTypeDefinition, session?: ClientSession, expectedVersion?: number): Promise<CardTypeDefinition | null> {
  const stored = { ...definition, version: (expectedVersion ?? definition.version ?? 0) + 1 };
  const revision = expectedVersion === undefined ? {} : expectedVersion === 0 ? { 'definition.version': { $in: [0, null] } } : { 'definition.version': expectedVersion };
  cached = undefined;
  const result = await CardTypeRecord.updateOne({ key: definition.key, ...revision }, { $set: { definition: stored } }, { upsert: expectedVersion === undefined, session });
  cached = undefined;
  return result.matchedCount + result.upsertedCount > 0 ? stored : null;
}

/** Switches change history for a type without rewriting the rest of its definition (a new revision); returns the definition as it was before. */
export async function setHistoryEnabled(key: string, enabled: boolean): Promise<CardTypeDefinition | null> {
  cached = undefined;
  const record = await CardTypeRecord.findOneAndUpdate(
    { key },
    { $set: { 'definition.historyEnabled': enabled }, $inc: { 'definition.version': 1 } },
    { returnDocument: 'before' },
  ).lean();
  cached = undefined;
  return record ? (record.definition as CardTypeDefinition) : null;
}

/** Forgets cached definitions (a new database, e.g. in tests). */
export function forgetCardTypes(): void {
  cached = undefined;
}

/** Index name of the partial unique index behind a `unique` field. */
export const uniqueIndexName = (typeKey: string, fieldKey: string) => `unique_${typeKey}_${fieldKey}`;
