import type { CardTypeDefinition, CardValues } from './definition';
import { kindOf } from './registry';
import { ownValue } from './values';

/** Lower case, ё→е, accents dropped: what both the stored text and queries are reduced to. */
export function normaliseForSearch(text: string): string {
  return text
    .toLowerCase()
    .replace(/ё/g, 'е')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .normalize('NFC');
}

/** The most distinct words a card is found by (its title's first), and the longest word kept (longer ones are cut). */
export const MAX_SEARCH_WORDS = 3000;
export const MAX_SEARCH_WORD_LENGTH = 64;

/** Letters and digits: what a word is made of; everything else (spaces, punctuation, «», -) separates words. */
const WORD = /[\p{L}\p{N}]+/gu;

/**
 * The distinct words of a normalised search text, in order of first appearance: what the card is
 * found by (each query word is a prefix of one of them; README, «Search»).
 */
export function searchWordsOf(searchText: string): string[] {
  const words = new Set<string>();
  for (const [word] of searchText.matchAll(WORD)) {
    words.add(word.slice(0, MAX_SEARCH_WORD_LENGTH));
    if (words.size >= MAX_SEARCH_WORDS) break;
  }
  return [...words];
}

/**
 * The searchable text of a card (its title and what each field's kind contributes: words, option
 * labels) and its exact-match keys (numbers of 5+ digits such as INN, phone digits, e-mails).
 */
export function searchIndexOf(type: CardTypeDefinition, title: string, values: CardValues): { searchText: string; searchWords: string[]; searchKeys: string[] } {
  const parts = [title];
  const keys = new Set<string>();
  for (const field of type.fields) {
    const value = ownValue(values, field.key);
    // Values of hidden (removed) fields are kept on the card but are not found.
    if (value === undefined || field.hidden) continue;
    const found = kindOf(field).normalizeForSearch(value, field);
    parts.push(...(found.text ?? []));
    for (const key of found.keys ?? []) keys.add(key);
  }
  const searchText = normaliseForSearch(parts.join(' '));
  return { searchText, searchWords: searchWordsOf(searchText), searchKeys: [...keys] };
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
