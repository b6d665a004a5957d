import mongoose, { Schema } from 'mongoose';
import type { CardTypeDefinition } from './definition';

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

export async function listCardTypes(): Promise<CardTypeDefinition[]> {
  const records = await CardTypeRecord.find().sort({ key: 1 }).lean();
  return records.map((r) => r.definition as CardTypeDefinition);
}

export async function findCardType(key: string): Promise<CardTypeDefinition | null> {
  const record = await CardTypeRecord.findOne({ key }).lean();
  return record ? (record.definition as CardTypeDefinition) : null;
}

export async function saveCardType(definition: CardTypeDefinition): Promise<void> {
  await CardTypeRecord.updateOne({ key: definition.key }, { $set: { definition } }, { upsert: true });
}

/** Index name of the partial unique index behind a `unique` field. */
export const uniqueIndexName = (typeKey: string, fieldKey: string) => `unique_${typeKey}_${fieldKey}`;
