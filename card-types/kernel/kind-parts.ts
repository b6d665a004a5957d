/** Pieces several field kinds share: choices, limits, conversions, search keys. */
import type { StoredValue } from './definition';
import { fail, ok, type Carry, type Outcome, type SearchContribution, type SettingsProblem } from './field-kind';
import type { LocalizedText } from './locale';
import { messages } from './messages';

export const objectIdPattern = /^[0-9a-f]{24}$/i;

/**
 * One string, or (with `multiple`) a list of strings without repeats; `accept` maps each item to its
 * stored form or undefined when it is not allowed. Enum, reference and user fields are choices.
 */
export function parseChoice(
  raw: unknown,
  { multiple, accept, invalid, sort }: { multiple: boolean; accept: (item: string) => string | undefined; invalid: LocalizedText; sort?: (a: string, b: string) => number },
): Outcome {
  if (!multiple && Array.isArray(raw)) return fail(messages.notSingle);
  const items: unknown[] = Array.isArray(raw) ? raw : [raw];
  const accepted: string[] = [];
  for (const item of items) {
    const value = typeof item === 'string' ? accept(item.trim()) : undefined;
    if (value === undefined) return fail(invalid);
    if (!accepted.includes(value)) accepted.push(value);
  }
  if (!multiple) return ok(accepted[0] ?? '');
  return ok(sort ? accepted.sort(sort) : accepted);
}

/** An id of a card or user, lower-cased. */
export const acceptObjectId = (item: string): string | undefined => (objectIdPattern.test(item) ? item.toLowerCase() : undefined);

/** «Минимум больше максимума» when both limits are set and `above(min, max)`. */
export function limitProblems<T>(min: T | undefined, max: T | undefined, above: (min: T, max: T) => boolean): SettingsProblem[] {
  return min !== undefined && max !== undefined && above(min, max) ? [[['min'], messages.minAboveMax]] : [];
}

/** The stored value as it is, for the new kind to check. */
export const asIs: Carry = (value) => ({ input: value });

/** Text fields become this kind when their text parses as it. */
export const fromText = { string: asIs, text: asIs } as const;

/** Each value as words, and whole numbers of 5+ digits (INN, KPP, OGRN …) as exact keys. */
export function wordsAndNumbers(value: StoredValue): SearchContribution {
  const items = Array.isArray(value) ? value : [String(value)];
  return { text: items, keys: items.filter((item) => /^\d{5,}$/.test(item)) };
}
