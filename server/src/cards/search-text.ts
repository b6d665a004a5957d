import type { CardTypeDefinition, CardValues } from '../card-types/definition';
import { phoneDigits } from '../card-types/phone';

/** Lower case, ё→е, accents dropped: what both the stored text and queries are reduced to. */
export function normaliseForSearch(text: string): string {
  return text
    .toLowerCase()
    .replace(/ё/g, 'е')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .normalize('NFC');
}

const TEXT_KINDS = new Set(['string', 'text', 'email', 'phone', 'url', 'tags', 'enum']);

/**
 * The searchable text of a card (title and text-like values) and its exact-match keys:
 * all-digit values of 5+ digits (INN, KPP, OGRN…), phone digits, e-mails.
 */
export function searchIndexOf(type: CardTypeDefinition, title: string, values: CardValues): { searchText: string; searchKeys: string[] } {
  const parts = [title];
  const keys = new Set<string>();
  for (const field of type.fields) {
    const value = values[field.key];
    if (value === undefined || !TEXT_KINDS.has(field.kind)) continue;
    const items = Array.isArray(value) ? value : [String(value)];
    if (field.kind === 'enum' && 'options' in field) {
      for (const item of items) {
        const option = field.options.find((o) => o.value === item);
        parts.push(option ? `${option.label.ru} ${option.label.en}` : item);
      }
      continue;
    }
    parts.push(...items);
    for (const item of items) {
      const digits = field.kind === 'phone' ? phoneDigits(item) : '';
      if (digits.length >= 5) keys.add(digits);
      else if (field.kind === 'email') keys.add(item.toLowerCase());
      else if (/^\d{5,}$/.test(item)) keys.add(item);
    }
  }
  return { searchText: normaliseForSearch(parts.join(' ')), searchKeys: [...keys] };
}

/** Exact keys a query may hit: itself as digits (phones typed with spaces or +7), or an e-mail. */
export function exactKeysOfQuery(query: string): string[] {
  const trimmed = query.trim();
  const keys: string[] = [];
  if (/^[^\s@]+@[^\s@]+$/.test(trimmed)) keys.push(trimmed.toLowerCase());
  const digits = trimmed.replace(/\D/g, '');
  if (digits.length >= 5 && /^[\d\s()+\-.]+$/.test(trimmed)) {
    keys.push(digits);
    // A Russian number typed with 8 or +7 matches one stored the other way.
    if (digits.length === 11 && (digits.startsWith('8') || digits.startsWith('7'))) keys.push(`7${digits.slice(1)}`, `8${digits.slice(1)}`);
  }
  return [...new Set(keys)];
}
