import type { FieldDefinition, StoredValue } from '../card-types/definition';
import { phoneDigits } from '../card-types/phone';
import { normaliseForSearch } from '../cards/search-text';

/**
 * A stored value as exact rules compare it: phones by their digits (8 495 … = +7 495 …), e-mails
 * in lower case, everything else in search form (lower case, «ё» as «е») with spaces collapsed.
 */
export function exactValuesOf(field: FieldDefinition, value: StoredValue | undefined): string[] {
  if (value === undefined) return [];
  const items = [value].flat().map(String);
  const normalized = items.map((item) => {
    if (field.kind === 'phone') return phoneDigits(item);
    if (field.kind === 'email') return item.toLowerCase();
    return normaliseForSearch(item).replace(/\s+/g, ' ').trim();
  });
  return [...new Set(normalized.filter((item) => item !== ''))];
}

/** A field's value as the text similar rules compare (list values joined). */
export function textOf(value: StoredValue | undefined): string {
  return value === undefined ? '' : [value].flat().map(String).join(' ');
}
