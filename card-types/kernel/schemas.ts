/** zod/mini pieces that definitions and the kinds' settings share; messages follow `inLocale`. */
import * as z from 'zod/mini';
import { parseDate, parseDateTime } from './dates';
import { parseDecimal } from './decimal';
import { messages, say } from './messages';

export const typeKeyPattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const fieldKeyPattern = /^[a-z][a-zA-Z0-9]*$/;

/**
 * Names every plain object inherits (Object.prototype's): as a type or field key they would read
 * as present in any map keyed by keys, so no key may be one of them.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__proto__',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
]);

const notReserved = (key: string): boolean => !RESERVED_KEYS.has(key);

export function isRegExp(source: string): boolean {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}

/**
 * The shared schemas (built on first use: loading this module does no work, so a bundle whose pages
 * never check a definition can leave it and zod out) and the kit the kinds build their settings
 * schemas from (`settingsSchema: (z) => ({ … })`): the zod/mini pieces they use and the shared
 * schemas. Handed to the kinds rather than imported by them, so a kind's module carries no zod.
 */
function build() {
  const filledLine = z.string().check(z.trim(), z.minLength(1, say(messages.fillIn)), z.maxLength(200));
  /** Text in both languages: Russian filled in; English optional, falling back to the Russian. */
  const localized = z.pipe(
    z.strictObject({ ru: filledLine, en: z.optional(z.string().check(z.trim(), z.maxLength(200))) }),
    z.transform((text) => ({ ru: text.ru, en: text.en || text.ru })),
  );
  const typeKey = z.string().check(z.maxLength(64), z.regex(typeKeyPattern, say(messages.typeKeyFormat)), z.refine(notReserved, say(messages.reservedKey)));
  const fieldKey = z.string().check(z.maxLength(64), z.regex(fieldKeyPattern, say(messages.fieldKeyFormat)), z.refine(notReserved, say(messages.reservedKey)));
  const kit = {
    optional: z.optional,
    string: z.string,
    number: z.number,
    int: z.int,
    boolean: z.boolean,
    array: z.array,
    strictObject: z.strictObject,
    union: z.union,
    enum: z.enum,
    refine: z.refine,
    pipe: z.pipe,
    transform: z.transform,
    trim: z.trim,
    minLength: z.minLength,
    maxLength: z.maxLength,
    minimum: z.minimum,
    maximum: z.maximum,
    localized,
    typeKey,
    /** A length limit in characters. */
    length: z.int().check(z.minimum(0, say(messages.notLength))),
    /** A decimal number written as text ("1234.50"). */
    decimalText: z.string().check(z.refine((text) => parseDecimal(text) !== undefined, say(messages.notNumber))),
    dateText: z.string().check(z.refine((text) => parseDate(text) === text, say(messages.notDate))),
    dateTimeText: z.string().check(z.refine((text) => parseDateTime(text) !== undefined, say(messages.notDateTime))),
    regExp: z.string().check(z.refine(isRegExp, say(messages.badPattern))),
  };
  return { localized, typeKey, fieldKey, kit };
}

let built: ReturnType<typeof build> | undefined;

/** The shared schemas of definitions and the kinds' settings kit. */
export const schemas = (): ReturnType<typeof build> => (built ??= build());

export type SettingsKit = ReturnType<typeof build>['kit'];
