import type { CardTypeDefinition, CardValues, FieldDefinition, StoredValue } from './definition';
import type { Locale, LocalizedText } from './locale';
import { messages } from './messages';
import { findFieldKind, kindOf } from './registry';

/** One field's value checked and brought to its stored form: `value` (absent when empty) or an `error`. */
export type FieldOutcome = { value: StoredValue | undefined } | { error: string };

/** Checks one raw value of a field (required, kind, limits) and returns its stored form, messages in `locale`. */
export type FieldNormalizer = (raw: unknown, locale: Locale) => FieldOutcome;

/** Nothing: undefined, null, blank text or an empty list. */
export function isEmptyValue(raw: unknown): boolean {
  return raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '') || (Array.isArray(raw) && raw.length === 0);
}

/**
 * The value a card holds for a key: its own property only, so a key every object inherits
 * (`constructor`, `toString` …) reads as absent rather than as Object.prototype's function.
 */
export function ownValue<T>(values: Readonly<Record<string, T>> | undefined | null, key: string): T | undefined {
  return values != null && Object.hasOwn(values, key) ? values[key] : undefined;
}

/** Checks one raw value of a field (required, kind, limits): its stored form (undefined when empty) or why not. */
export function checkFieldValue(field: FieldDefinition, raw: unknown): { value: StoredValue | undefined } | { error: LocalizedText } {
  if (!isEmptyValue(raw)) {
    const outcome = kindOf(field).parse(raw, field);
    if ('error' in outcome || !isEmptyValue(outcome.value)) return outcome;
  }
  return field.required ? { error: messages.required } : { value: undefined };
}

/**
 * A card's stored values brought to its type's current kinds where they can be (a card coming back
 * from the trash after its type changed): a value its field's kind cannot read is taken as input
 * again — `"4"` kept in a field that became a rating is 4 — and one that still does not fit is kept
 * as it is (shown as its raw text, marked; nothing is lost). Returns the same object when nothing changes.
 */
export function conformValues(type: CardTypeDefinition, values: CardValues): CardValues {
  let next: CardValues | undefined;
  for (const field of type.fields) {
    const value = ownValue(values, field.key);
    if (field.hidden || value === undefined || kindOf(field).reads(value, field)) continue;
    const outcome = checkFieldValue({ ...field, required: false }, value);
    if ('error' in outcome || outcome.value === undefined || !kindOf(field).reads(outcome.value, field)) continue;
    next ??= { ...values };
    next[field.key] = outcome.value;
  }
  return next ?? values;
}

/** A field's check with messages in a language; the result checks any number of values. */
export function compileField(field: FieldDefinition): FieldNormalizer {
  return (raw, locale) => {
    const outcome = checkFieldValue(field, raw);
    return 'error' in outcome ? { error: outcome.error[locale] } : outcome;
  };
}

/** The raw default of a field on creation, with `today`/`now` resolved in `timeZone`. */
export function defaultInput(field: FieldDefinition, now: Date, timeZone: string): unknown {
  return kindOf(field).defaultInput(field, now, timeZone);
}

/**
 * The most a card may hold, in characters of its values (valuesSize): ten full multi-line text
 * fields. A real team never meets it; a card cannot grow to megabytes that every page, export and
 * history entry carries (s15 B2).
 */
export const MAX_CARD_SIZE = 200_000;

const itemSize = (value: unknown): number =>
  typeof value === 'string' ? value.length : Array.isArray(value) ? value.reduce((sum: number, item) => sum + itemSize(item) + 1, 0) : 8;

/**
 * How big stored values are, in characters: their keys and text as written, a number or a yes/no
 * counting 8. What a card's bound (MAX_CARD_SIZE) and a page's budget count; nothing is copied.
 */
export function valuesSize(values: Readonly<Record<string, unknown>> | null | undefined): number {
  let size = 0;
  if (values) for (const key of Object.keys(values)) size += key.length + itemSize(values[key]);
  return size;
}

export interface ValidationOptions {
  /** Language of the messages; Russian unless told. */
  locale?: Locale;
  /** Set on create: fields absent from the input get their defaults. Off by default (updates send full values). */
  applyDefaults?: boolean;
  /** The moment `today`/`now` defaults resolve to; the current time unless told. */
  now?: Date;
  /** The zone in which `today` is taken; UTC unless told. */
  timeZone?: string;
  /**
   * On an update, the keys the edit touches (sends). An empty field required only for new and edited
   * cards (`requiredFor: newAndEdited`) that the edit does not touch is not refused. Absent: every field
   * counts as touched.
   */
  touched?: ReadonlySet<string>;
  /**
   * On an update (or a merge, or an import onto a card), the card's values as they are: a card over a
   * bound from before the bound existed stays editable — a save that does not make it bigger passes.
   */
  stored?: Readonly<CardValues>;
}

export interface ValidationResult {
  /** The values in their stored form; empty fields are left out. Meaningful when `errors` is empty. */
  values: CardValues;
  /** A message for each offending field key (also for keys the type does not have). */
  errors: Record<string, string>;
}

export type CardValuesValidator = (input: Readonly<Record<string, unknown>>, options?: ValidationOptions) => ValidationResult;

/**
 * Compiles a card type into a validator of the full values of one card. Hidden (removed) fields
 * take no values: their kept values stay on the cards untouched (the card service keeps them), and
 * a value sent for one is refused. A field required for new and edited cards only is required on
 * creation and when an edit touches it.
 */
export function compileCardType(type: CardTypeDefinition): CardValuesValidator {
  const normalizers = new Map<string, { field: FieldDefinition; normalize: FieldNormalizer; lenient: FieldNormalizer }>(
    type.fields.map((field) => [field.key, { field, normalize: compileField(field), lenient: compileField({ ...field, required: false }) }]),
  );
  return (input, { locale = 'ru', applyDefaults = false, now = new Date(), timeZone = 'UTC', touched, stored } = {}) => {
    const values: CardValues = {};
    // Keyed by what the client sent: without a prototype, `__proto__` or `constructor` is a key like any other.
    const errors: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const key of Object.keys(input)) {
      const known = normalizers.get(key);
      if (!known) errors[key] = messages.unknownField[locale];
      else if (known.field.hidden && !isEmptyValue(input[key])) errors[key] = messages.hiddenField[locale];
    }
    for (const [key, { field, normalize, lenient }] of normalizers) {
      if (field.hidden) continue;
      const given = Object.hasOwn(input, key);
      // A field whose kind's plugin is off keeps the value it holds when the edit leaves it alone.
      if (given && touched !== undefined && !touched.has(key) && !findFieldKind(field.kind)) {
        values[key] = input[key] as StoredValue;
        continue;
      }
      const raw = given ? input[key] : applyDefaults ? defaultInput(field, now, timeZone) : undefined;
      const spared = !applyDefaults && field.requiredFor === 'newAndEdited' && touched !== undefined && !touched.has(key);
      const outcome = (spared ? lenient : normalize)(raw, locale);
      if ('error' in outcome) errors[key] ??= outcome.error;
      else if (outcome.value !== undefined) values[key] = outcome.value;
    }
    checkBounds(type, values, errors, { locale, touched, stored });
    return { values, errors };
  };
}

/**
 * The bounds on what a card holds, on top of each field's own: a list's number of items (its kind's
 * maxItems) and the card's size as a whole (MAX_CARD_SIZE, said at its largest field the edit
 * touches). A bound refuses only growth: what is over it already may stay or shrink.
 */
function checkBounds(
  type: CardTypeDefinition,
  values: CardValues,
  errors: Record<string, string>,
  { locale, touched, stored }: { locale: Locale; touched?: ReadonlySet<string>; stored?: Readonly<CardValues> },
): void {
  for (const field of type.fields) {
    const value = ownValue(values, field.key);
    if (!Array.isArray(value)) continue;
    const max = kindOf(field).maxItems;
    const before = ownValue(stored, field.key);
    if (value.length > max && value.length > (Array.isArray(before) ? before.length : 0)) errors[field.key] ??= messages.tooManyItems(max)[locale];
  }
  const size = valuesSize(values);
  if (size <= MAX_CARD_SIZE || (stored !== undefined && size <= valuesSize(stored))) return;
  const candidates = Object.keys(values).filter((key) => touched === undefined || touched.has(key));
  const largest = (candidates.length > 0 ? candidates : Object.keys(values)).reduce((a, b) => (itemSize(values[b]) > itemSize(values[a]) ? b : a));
  errors[largest] ??= messages.cardTooLarge(size, MAX_CARD_SIZE)[locale];
}

const compiled = new WeakMap<CardTypeDefinition, CardValuesValidator>();

/**
 * Validates the full values of a card against its type and brings them to their stored form.
 * Definitions are treated as immutable: the compiled validator is cached per definition object.
 */
export function validateCardValues(type: CardTypeDefinition, input: Readonly<Record<string, unknown>>, options: ValidationOptions = {}): ValidationResult {
  let validator = compiled.get(type);
  if (!validator) {
    validator = compileCardType(type);
    compiled.set(type, validator);
  }
  return validator(input, options);
}
