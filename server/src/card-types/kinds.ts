import Big from 'big.js';
import type { Locale } from '../i18n';
import { canonicalDecimal, fractionDigits, integerDigits, maxIntegerDigits, maxScale, parseDecimal } from './decimal';
import type {
  DateField,
  DateTimeField,
  DecimalField,
  EnumField,
  FieldDefinition,
  IntegerField,
  LocalizedText,
  ReferenceField,
  StoredValue,
  TextField,
} from './definition';
import { formatDate, formatDateTime, formatDecimal } from './format';
import { messages } from './messages';
import { normalizePhone } from './phone';

/** One field's value checked and brought to its stored form: `value` (absent when empty) or an `error`. */
export type Outcome = { value: StoredValue | undefined } | { error: string };

/** Checks one raw value of a field (required, kind, limits) and returns its stored form, messages in `locale`. */
export type FieldNormalizer = (raw: unknown, locale: Locale) => Outcome;

type KindParser = FieldNormalizer;

/** Longest values when a field sets no `max`. */
const defaultMaxLength = { string: 500, text: 20000, email: 254, url: 2000, tag: 100 } as const;

const objectIdPattern = /^[0-9a-f]{24}$/i;
const emailLocalPart = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;
const emailDomain = /^([\p{L}\p{N}]([\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+\p{L}{2,}$/u;

const ok = (value: StoredValue | undefined): Outcome => ({ value });
const fail = (text: LocalizedText, locale: Locale): Outcome => ({ error: text[locale] });

export function isEmptyValue(raw: unknown): boolean {
  return raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '') || (Array.isArray(raw) && raw.length === 0);
}

/** A stored 'YYYY-MM-DD' from 'YYYY-MM-DD' or «DD.MM.YYYY»; undefined unless it is a real calendar date. */
export function parseDate(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const ru = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(text);
  const [year, month, day] = iso ? [iso[1], iso[2], iso[3]] : ru ? [ru[3], ru[2], ru[1]] : [];
  if (year === undefined || month === undefined || day === undefined) return undefined;
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  const valid = date.getUTCFullYear() === Number(year) && date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
  return valid ? `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}` : undefined;
}

/** A stored ISO UTC instant from an ISO 8601 date-time that names its zone (`Z` or `+03:00`), or a Date. */
export function parseDateTime(raw: unknown): string | undefined {
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? undefined : raw.toISOString();
  if (typeof raw !== 'string') return undefined;
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/i.exec(raw.trim());
  if (!match || parseDate(match[1]) === undefined) return undefined;
  if (Number(match[2]) > 23 || Number(match[3]) > 59 || Number(match[4] ?? 0) > 59) return undefined;
  const time = Date.parse(raw.trim().replace(' ', 'T'));
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** Today's date in a time zone, as 'YYYY-MM-DD'. */
function isoDateIn(now: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** The raw default of a field on creation, with `today`/`now` resolved. */
export function defaultInput(field: FieldDefinition, now: Date, timeZone: string): unknown {
  if (field.kind === 'date' && field.default === 'today') return isoDateIn(now, timeZone);
  if (field.kind === 'datetime' && field.default === 'now') return now.toISOString();
  return 'default' in field ? field.default : undefined;
}

function textParser(field: TextField): KindParser {
  const pattern = field.pattern === undefined ? undefined : new RegExp(`^(?:${field.pattern})$`, 'u');
  const max = field.max ?? defaultMaxLength[field.kind];
  return (raw, locale) => {
    const text = typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
    if (typeof text !== 'string') return fail(messages.notText, locale);
    const value = field.kind === 'text' ? text.replace(/\r\n?/g, '\n').trim() : text.trim();
    if (value.length > max) return fail(messages.tooLong(max), locale);
    if (field.min !== undefined && value.length < field.min) return fail(messages.tooShort(field.min), locale);
    if (pattern && !pattern.test(value)) return fail(field.patternMessage ?? messages.invalidFormat, locale);
    return ok(value);
  };
}

function emailParser(raw: unknown, locale: Locale): Outcome {
  const text = typeof raw === 'string' ? raw.trim() : '';
  const at = text.lastIndexOf('@');
  const local = text.slice(0, at);
  const domain = text.slice(at + 1).toLowerCase();
  const valid = at > 0 && local.length <= 64 && text.length <= defaultMaxLength.email && emailLocalPart.test(local) && emailDomain.test(domain);
  return valid ? ok(`${local}@${domain}`) : fail(messages.notEmail, locale);
}

function phoneParser(raw: unknown, locale: Locale): Outcome {
  const phone = typeof raw === 'string' || typeof raw === 'number' ? normalizePhone(String(raw)) : undefined;
  return phone === undefined ? fail(messages.notPhone, locale) : ok(phone);
}

/** http(s) addresses; «example.ru» becomes «https://example.ru». */
function urlParser(raw: unknown, locale: Locale): Outcome {
  const text = typeof raw === 'string' ? raw.trim() : '';
  const address = /^[a-z][a-z\d+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return fail(messages.notUrl, locale);
  }
  const valid =
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    (/^[^.]+(\.[^.]+)+$/.test(url.hostname) || url.hostname === 'localhost') &&
    !/\s/.test(text) &&
    address.length <= defaultMaxLength.url;
  return valid ? ok(address) : fail(messages.notUrl, locale);
}

function integerParser(field: IntegerField): KindParser {
  return (raw, locale) => {
    const decimal = parseDecimal(raw);
    if (!decimal || fractionDigits(decimal) > 0) return fail(messages.notInteger, locale);
    const value = Number(decimal.toFixed());
    if (!Number.isSafeInteger(value)) return fail(messages.numberTooLarge, locale);
    if (field.min !== undefined && value < field.min) return fail(messages.belowMin(formatDecimal(String(field.min), locale)), locale);
    if (field.max !== undefined && value > field.max) return fail(messages.aboveMax(formatDecimal(String(field.max), locale)), locale);
    return ok(value);
  };
}

/** The scale a decimal field stores: its own, 2 for money, none (trailing zeros dropped) for a plain decimal. */
function storedScale(field: DecimalField): number | undefined {
  return field.scale ?? (field.kind === 'money' ? 2 : undefined);
}

function decimalParser(field: DecimalField): KindParser {
  const scale = storedScale(field);
  const min = field.min === undefined ? undefined : new Big(field.min);
  const max = field.max === undefined ? undefined : new Big(field.max);
  const shown = (limit: Big.Big, locale: Locale) => formatDecimal(canonicalDecimal(limit, scale), locale);
  return (raw, locale) => {
    const decimal = parseDecimal(raw);
    if (!decimal) return fail(messages.notNumber, locale);
    if (integerDigits(decimal) > maxIntegerDigits) return fail(messages.numberTooLarge, locale);
    const places = scale ?? maxScale;
    if (fractionDigits(decimal) > places) return fail(places === 0 ? messages.notInteger : messages.tooManyDecimals(places), locale);
    if (min && decimal.lt(min)) return fail(messages.belowMin(shown(min, locale)), locale);
    if (max && decimal.gt(max)) return fail(messages.aboveMax(shown(max, locale)), locale);
    return ok(canonicalDecimal(decimal, scale));
  };
}

function dateParser(field: DateField): KindParser {
  return (raw, locale) => {
    const date = parseDate(raw);
    if (date === undefined) return fail(messages.notDate, locale);
    if (field.min !== undefined && date < field.min) return fail(messages.beforeMin(formatDate(field.min, locale)), locale);
    if (field.max !== undefined && date > field.max) return fail(messages.afterMax(formatDate(field.max, locale)), locale);
    return ok(date);
  };
}

function dateTimeParser(field: DateTimeField): KindParser {
  const min = field.min === undefined ? undefined : parseDateTime(field.min);
  const max = field.max === undefined ? undefined : parseDateTime(field.max);
  return (raw, locale) => {
    const instant = parseDateTime(raw);
    if (instant === undefined) return fail(messages.notDateTime, locale);
    if (min !== undefined && instant < min) return fail(messages.beforeMin(formatDateTime(min, locale)), locale);
    if (max !== undefined && instant > max) return fail(messages.afterMax(formatDateTime(max, locale)), locale);
    return ok(instant);
  };
}

function booleanParser(raw: unknown, locale: Locale): Outcome {
  if (typeof raw === 'boolean') return ok(raw);
  if (raw === 'true' || raw === 'false') return ok(raw === 'true');
  return fail(messages.notBoolean, locale);
}

/**
 * Shared by enum and reference fields: one string, or (with `multiple`) a list of strings without
 * repeats; `accept` maps each item to its stored form or undefined when it is not allowed.
 */
function choiceParser(multiple: boolean, accept: (item: string) => string | undefined, invalid: LocalizedText, sort?: (a: string, b: string) => number): KindParser {
  return (raw, locale) => {
    if (!multiple && Array.isArray(raw)) return fail(messages.notSingle, locale);
    const items = Array.isArray(raw) ? raw : [raw];
    const accepted: string[] = [];
    for (const item of items) {
      const value = typeof item === 'string' ? accept(item.trim()) : undefined;
      if (value === undefined) return fail(invalid, locale);
      if (!accepted.includes(value)) accepted.push(value);
    }
    if (!multiple) return ok(accepted[0]);
    return ok(sort ? accepted.sort(sort) : accepted);
  };
}

function enumParser(field: EnumField): KindParser {
  const rank = new Map(field.options.map((option, index) => [option.value, index]));
  return choiceParser(
    field.multiple === true,
    (item) => (rank.has(item) ? item : undefined),
    messages.notOption,
    (a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0),
  );
}

function referenceParser(field: ReferenceField): KindParser {
  return choiceParser(field.multiple === true, (item) => (objectIdPattern.test(item) ? item.toLowerCase() : undefined), messages.notReference);
}

const userParser = choiceParser(false, (item) => (objectIdPattern.test(item) ? item.toLowerCase() : undefined), messages.notUser);

/** A list of strings or one comma-separated string → unique trimmed tags (case-insensitively), in the given order. */
function tagsParser(raw: unknown, locale: Locale): Outcome {
  const items: unknown[] | undefined = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : undefined;
  if (!items || !items.every((item) => typeof item === 'string')) return fail(messages.notTags, locale);
  const tags: string[] = [];
  const seen = new Set<string>();
  for (const tag of items.map((item) => (item as string).trim()).filter((item) => item !== '')) {
    if (tag.length > defaultMaxLength.tag) return fail(messages.tagTooLong(defaultMaxLength.tag), locale);
    const folded = tag.toLocaleLowerCase('ru');
    if (!seen.has(folded)) tags.push(tag);
    seen.add(folded);
  }
  return ok(tags);
}

function kindParser(field: FieldDefinition): KindParser {
  switch (field.kind) {
    case 'string':
    case 'text':
      return textParser(field);
    case 'email':
      return emailParser;
    case 'phone':
      return phoneParser;
    case 'url':
      return urlParser;
    case 'integer':
      return integerParser(field);
    case 'decimal':
    case 'money':
      return decimalParser(field);
    case 'date':
      return dateParser(field);
    case 'datetime':
      return dateTimeParser(field);
    case 'boolean':
      return booleanParser;
    case 'enum':
      return enumParser(field);
    case 'tags':
      return tagsParser;
    case 'reference':
      return referenceParser(field);
    case 'user':
      return userParser;
  }
}

/** Compiles a field's rules once; the result checks any number of values. */
export function compileField(field: FieldDefinition): FieldNormalizer {
  const parse = kindParser(field);
  const empty = (locale: Locale): Outcome => (field.required ? fail(messages.required, locale) : ok(undefined));
  return (raw, locale) => {
    if (isEmptyValue(raw)) return empty(locale);
    const outcome = parse(raw, locale);
    return 'value' in outcome && isEmptyValue(outcome.value) ? empty(locale) : outcome;
  };
}
