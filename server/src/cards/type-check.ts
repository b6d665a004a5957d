import { createHash } from 'node:crypto';
import mongoose, { Schema, Types } from 'mongoose';
import type { CardTypeDefinition, StoredValue } from '../../../card-types';

/**
 * A safe dry run of a type change, remembered so that the save that follows need not read every
 * card again: what it was run on (the stored type and the definition sent, as a hash), when it
 * started reading, and which fields' values it found to rewrite. Kept for an hour.
 */
const cardTypeCheckSchema = new Schema({
  typeKey: { type: String, required: true },
  basis: { type: String, required: true },
  checkedAt: { type: Date, required: true },
  rewriteKeys: { type: [String], default: [] },
  createdAt: { type: Date, default: Date.now, expires: 3600 },
});

export const CardTypeCheck = mongoose.model('CardTypeCheck', cardTypeCheckSchema, 'cardTypeChecks');

/** How long a dry run's answer may stand in for the save's own check. */
const VALID_MS = 3_600_000;

/** What a dry run was run on: the stored type, the definition as it would be saved, the fill-in values. */
export function checkBasis(previous: CardTypeDefinition, definition: CardTypeDefinition, fills: Map<string, StoredValue>): string {
  return createHash('sha256')
    .update(JSON.stringify({ previous, definition, fills: [...fills].sort(([a], [b]) => a.localeCompare(b)) }))
    .digest('base64url');
}

export async function rememberCheck(typeKey: string, basis: string, checkedAt: Date, rewriteKeys: string[]): Promise<string> {
  const [check] = await CardTypeCheck.create([{ typeKey, basis, checkedAt, rewriteKeys }]);
  return String(check._id);
}

/** The remembered dry run `id`, if it was run on exactly this basis within the last hour. */
export async function rememberedCheck(id: string, typeKey: string, basis: string): Promise<{ checkedAt: Date; rewriteKeys: string[] } | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  const check = await CardTypeCheck.findById(id).lean();
  if (!check || check.typeKey !== typeKey || check.basis !== basis || Date.now() - check.createdAt.getTime() > VALID_MS) return null;
  return { checkedAt: check.checkedAt, rewriteKeys: check.rewriteKeys };
}
