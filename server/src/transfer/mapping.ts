/** Which column of a file goes into which field: guessed from the headers, remembered per user and type. */
import { Types } from 'mongoose';
import { visibleFields, type CardTypeDefinition } from '../../../card-types';
import { ImportMapping, type ImportMappingDoc } from './model';

export type MatchPolicy = 'skip' | 'fillEmpty' | 'overwrite';
export const MATCH_POLICIES: readonly MatchPolicy[] = ['skip', 'fillEmpty', 'overwrite'];

/** A header or label reduced for comparison: case, spaces, punctuation and «ё» do not matter. */
export const headerKey = (text: string): string =>
  text
    .toLocaleLowerCase('ru')
    .replace(/ё/g, 'е')
    .replace(/[\s\p{P}\p{S}]+/gu, '');

export interface MappingGuess {
  /** For each column: the field it goes into, or null (skipped). */
  columns: (string | null)[];
  constants: Record<string, string>;
  matchField: string | null;
  onMatch: MatchPolicy;
}

/**
 * The user's last mapping for the type where a column of the same name was mapped; otherwise the
 * field whose Russian or English label or key reads like the header. A field takes one column.
 */
export function guessMapping(columns: string[], type: CardTypeDefinition, remembered: ImportMappingDoc | null): MappingGuess {
  const fields = visibleFields(type);
  const byName = new Map<string, string>();
  for (const field of fields) for (const name of [field.key, field.label.ru, field.label.en]) if (!byName.has(headerKey(name))) byName.set(headerKey(name), field.key);
  const rememberedColumns = new Map((remembered?.columns ?? []).map(({ column, field }) => [headerKey(column), field]));
  const known = new Set(fields.map((field) => field.key));
  const taken = new Set<string>();
  const mapped = columns.map((column) => {
    const key = headerKey(column);
    const choice = rememberedColumns.has(key) ? rememberedColumns.get(key) : byName.get(key);
    if (!choice || !known.has(choice) || taken.has(choice)) return null;
    taken.add(choice);
    return choice;
  });
  const uniqueMapped = fields.find((field) => field.unique && taken.has(field.key))?.key ?? null;
  const constants = Object.fromEntries((remembered?.constants ?? []).filter(({ field }) => known.has(field) && !taken.has(field)).map(({ field, value }) => [field, value]));
  const matchField = remembered?.matchField && taken.has(remembered.matchField) ? remembered.matchField : uniqueMapped;
  const onMatch = MATCH_POLICIES.includes(remembered?.onMatch as MatchPolicy) ? (remembered!.onMatch as MatchPolicy) : 'skip';
  return { columns: mapped, constants, matchField, onMatch };
}

export async function rememberedMapping(userId: string, typeKey: string): Promise<ImportMappingDoc | null> {
  return ImportMapping.findOne({ userId: new Types.ObjectId(userId), typeKey }).lean<ImportMappingDoc>();
}

/** Remembers a user's mapping for a type by column names, for the next file of the same shape. */
export async function rememberMapping(userId: string, typeKey: string, headers: string[], mapping: MappingGuess): Promise<void> {
  const columns = headers.flatMap((column, index) => (mapping.columns[index] ? [{ column, field: mapping.columns[index] }] : []));
  await ImportMapping.updateOne(
    { userId: new Types.ObjectId(userId), typeKey },
    { $set: { columns, constants: Object.entries(mapping.constants).map(([field, value]) => ({ field, value })), matchField: mapping.matchField, onMatch: mapping.onMatch } },
    { upsert: true },
  );
}
