import { kindOf, normaliseForSearch, type FieldDefinition, type StoredValue } from '../../../card-types';

/**
 * A stored value as exact rules compare it: the exact keys its field kind gives search (phone
 * digits, so 8 495 … = +7 495 …; e-mails in lower case; INN-like numbers), else its words in search
 * form (lower case, «ё» as «е», spaces collapsed), else the value itself (ids of references, users).
 */
export function exactValuesOf(field: FieldDefinition, value: StoredValue | undefined): string[] {
  if (value === undefined) return [];
  const { keys = [], text = [] } = kindOf(field).normalizeForSearch(value, field);
  const words = text.map((item) => normaliseForSearch(item).replace(/\s+/g, ' ').trim());
  const chosen = keys.length > 0 ? keys : words.some(Boolean) ? words : [value].flat().map(String);
  return [...new Set(chosen.filter((item) => item !== ''))];
}

/** A field's value as the text similar rules compare (list values joined). */
export function textOf(value: StoredValue | undefined): string {
  return value === undefined ? '' : [value].flat().map(String).join(' ');
}
