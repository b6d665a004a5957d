/** zod/mini pieces that definitions and the kinds' settings share; messages follow `inLocale`. */
import * as z from 'zod/mini';
import { parseDate, parseDateTime } from './dates';
import { parseDecimal } from './decimal';
import { messages, say } from './messages';

export const typeKeyPattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const fieldKeyPattern = /^[a-z][a-zA-Z0-9]*$/;

export function isRegExp(source: string): boolean {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}

const filledLine = z.string().check(z.trim(), z.minLength(1, say(messages.fillIn)), z.maxLength(200));

/** Text in both languages: Russian filled in; English optional, falling back to the Russian. */
export const localizedSchema = z.pipe(
  z.strictObject({ ru: filledLine, en: z.optional(z.string().check(z.trim(), z.maxLength(200))) }),
  z.transform((text) => ({ ru: text.ru, en: text.en || text.ru })),
);
export const typeKeySchema = z.string().check(z.maxLength(64), z.regex(typeKeyPattern, say(messages.typeKeyFormat)));
export const fieldKeySchema = z.string().check(z.maxLength(64), z.regex(fieldKeyPattern, say(messages.fieldKeyFormat)));

/** A length limit in characters. */
export const lengthSchema = z.int().check(z.minimum(0, say(messages.notLength)));
/** A decimal number written as text ("1234.50"). */
export const decimalTextSchema = z.string().check(z.refine((text) => parseDecimal(text) !== undefined, say(messages.notNumber)));
export const dateTextSchema = z.string().check(z.refine((text) => parseDate(text) === text, say(messages.notDate)));
export const dateTimeTextSchema = z.string().check(z.refine((text) => parseDateTime(text) !== undefined, say(messages.notDateTime)));
export const regExpSchema = z.string().check(z.refine(isRegExp, say(messages.badPattern)));
