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

/**
 * Characters card text never keeps: C0 and C1 controls other than tab and line breaks (a NUL, a bell or
 * an ANSI escape shown in a list, an export or a log line); the bidirectional marks, embeddings,
 * overrides and isolates (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069), with which «ООО
 * Ромашка<U+202E>…» reads as another company; and every character Unicode draws as nothing (the
 * Default_Ignorable_Code_Point property) — zero-width space, word joiner, the byte order mark, the soft
 * hyphen, the Hangul fillers, the Mongolian vowel separator, variation selectors, and the tag letters
 * that spell hidden text after a name («Анна» + U+E0041… reads «Анна», s11 re-attack S4). They are
 * removed, as from file names (server/src/files/names.ts), so text pasted from anywhere still saves.
 * The zero-width joiner and non-joiner stay (emoji and some scripts need them), and so does the emoji
 * presentation selector after an emoji or a keycap's digit («❤️», «1️⃣»). The line and paragraph
 * separators (U+2028, U+2029) are line breaks.
 */
const HIDDEN_IN_TEXT =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|(?!\u200c|\u200d|\ufe0f)\p{Default_Ignorable_Code_Point}|(?<!\p{Extended_Pictographic}|[#*0-9])\ufe0f/gu;

/**
 * Blank to the eye though not white space (s12 attack A6): the Braille blank U+2800 (the usual
 * "invisible name" of chats) is a space, the object replacement character U+FFFC (which stands for
 * an embedded object that is not there) goes, and so do combining marks with nothing to sit on — at
 * the start of the text or of a word —, so a name of only these is empty, and required names refuse it.
 */
const BRAILLE_BLANK = /\u2800/g;
const NOTHING_TO_SHOW = /\ufffc|(?<=^|\s)\p{M}+/gu;

/**
 * Something a reader sees (s12 re-attack B5): an assigned letter, digit, punctuation mark or symbol.
 * Private-use (U+E000, U+F0000) and unassigned (U+0378) code points are none of these — a font draws
 * them as nothing or a box —, nor is the musical null notehead U+1D159, a symbol drawn blank. Text of
 * only such characters is empty, so a required name refuses it; beside a letter they stay.
 */
const SHOWS_SOMETHING = /(?!\u{1d159})[\p{L}\p{N}\p{P}\p{S}]/u;

/** Text as a card keeps it: without the characters above, trimmed, empty when nothing in it shows; one line unless `multiline` (line breaks and tabs become a space). */
export function cleanText(text: string, multiline: boolean): string {
  const visible = text.replace(HIDDEN_IN_TEXT, '').replace(BRAILLE_BLANK, ' ');
  const lines = multiline ? visible.replace(/\r\n?|[\u2028\u2029]/g, '\n') : visible.replace(/[\t\r\n\u2028\u2029]+/g, ' ');
  const cleaned = lines.replace(NOTHING_TO_SHOW, '').trim();
  return SHOWS_SOMETHING.test(cleaned) ? cleaned : '';
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
