import { customizableFieldProperties, type CardTypeDefinition, type FieldDefinition, type StoredValue } from './definition';
import type { Carry } from './field-kind';
import { formatValue } from './format';
import type { Locale, LocalizedText } from './locale';
import { messages } from './messages';
import { findFieldKind, isMultiValued, kindOf } from './registry';
import { compileField, isEmptyValue } from './values';

/**
 * "Schema changes lose nothing": a field change is planned against the existing values first
 * (a dry run), and takes effect only when nothing would be lost or violated.
 */

/** How values of kind `from` become input for kind `to` (the same kind: as they are), or undefined when they cannot. */
function conversion(from: string, to: string): Carry | undefined {
  const [source, target] = [findFieldKind(from), findFieldKind(to)];
  if (!source || !target) return undefined;
  const taken = target.conversions.from[from] ?? source.conversions.to[to];
  if (taken) return taken;
  if (from === to) return (value) => ({ input: value });
  // Kinds whose values are ids of cards or users do not become anything else.
  return source.link ? undefined : target.conversions.from['*'];
}

/** Whether a field of kind `from` may become kind `to` (each value is still checked in the plan). */
export function canConvertKind(from: string, to: string): boolean {
  return conversion(from, to) !== undefined;
}

/** One card's stored value of the field (undefined when empty). */
export interface ExistingValue {
  cardId: string;
  value: unknown;
}

export interface ValueFailure {
  cardId: string;
  value: unknown;
  /** Why the value would not fit the new field, in the plan's language. */
  reason: string;
}

export interface DuplicateGroup {
  value: StoredValue;
  cardIds: string[];
}

export interface FieldChangePlan {
  /** False when the change cannot be made at all (a kind that does not convert, a changed key); see `refusal`. */
  allowed: boolean;
  refusal?: string;
  /** True for presentation-only changes (labels, help, order, listed, default …): no card is read or written. */
  noOp: boolean;
  /** Cards whose stored value takes a new form (undefined: becomes empty) or is filled in; written when the change is applied. */
  updates: { cardId: string; value: StoredValue | undefined }[];
  /** Every value that would not convert or would break the new limits. */
  failures: ValueFailure[];
  /**
   * Cards that would lack a value of a required, shown field (a field that becomes required, a new
   * required field, a hidden required field shown again), after any fill-in value.
   */
  missing: string[];
  /** The missing cards may stay without a value: the field is required for new and edited cards only. */
  missingAccepted: boolean;
  /** Groups of cards sharing a value, when the new field is unique. */
  duplicates: DuplicateGroup[];
  /** Values that convert into something that reads differently (see `ValueOutcome.altered`): their cards, as they were and as they would be. */
  altered: { cardId: string; value: unknown; becomes: StoredValue | undefined }[];
  /** The administrator accepted the altered values (`acceptAltered`). */
  alteredAccepted: boolean;
  /** Allowed, and nothing fails, is duplicated, is missing or altered unaccepted: the change may take effect. */
  safe: boolean;
}

const presentationProperties = ['label', 'help', 'section', 'order', 'listed', 'hidden', 'origin', 'customized', 'default', 'patternMessage'];

/**
 * The part of a field that decides which values are valid: everything but its presentation (and
 * options' labels). A hidden field binds no card, so hiding or showing a required field changes it.
 */
function dataShape(field: FieldDefinition): string {
  const shape: Record<string, unknown> = { ...field };
  for (const property of presentationProperties) delete shape[property];
  shape.required = field.required === true && field.hidden !== true;
  shape.requiredFor = shape.required ? (field.requiredFor ?? 'all') : undefined;
  if (Array.isArray(field.options)) shape.options = field.options.map((option: { value?: unknown }) => option.value);
  return JSON.stringify(shape, Object.keys(shape).sort());
}

/** The old stored value as input to the new field, or the reason it cannot be carried over. */
function carriedOver(carry: Carry, from: FieldDefinition, to: FieldDefinition, value: StoredValue): { input: unknown } | { reason: LocalizedText } {
  const carried = carry(value, { from, to, formatted: () => formatValue(from, value, { locale: 'ru' }) });
  if ('reason' in carried || !Array.isArray(carried.input) || isMultiValued(to)) return carried;
  return carried.input.length === 1 ? { input: carried.input[0] } : { reason: messages.notSingle };
}

export interface FieldChangeOptions {
  locale?: Locale;
  /** A value (in its stored form, already checked against `to`) to write into every card that would lack one. */
  fill?: StoredValue;
  /** The administrator accepts values that convert into something that reads differently (`ValueOutcome.altered`). */
  acceptAltered?: boolean;
}

/**
 * What one card's stored value becomes: its new stored value (undefined: empty, after any fill-in
 * value), or why it would not convert. `altered`: it converts, but not to what the person reads
 * now — «007», «1 000», «12.0» becoming the number 7, 1000, 12, text losing its spaces — so the
 * change asks for the administrator's consent (`acceptAltered`).
 */
export type ValueOutcome = { value: StoredValue | undefined; altered?: true } | { error: string };

/** A field change, ready to be applied to stored values one at a time (see `fieldChangePlanner`). */
export interface FieldChangePlanner {
  allowed: boolean;
  refusal?: string;
  /** Presentation only: no card is read or written. */
  noOp: boolean;
  /** The changed field binds every shown card to a value (required and not hidden). */
  required: boolean;
  /** The missing cards may stay without a value (required for new and edited cards only). */
  missingMayStay: boolean;
  unique: boolean;
  /** One card's stored value under the changed field. Pure: the same value always gets the same outcome. */
  apply(value: unknown): ValueOutcome;
}

/**
 * Prepares changing `from` into `to` (same key; `from` undefined for a new field): whether it is
 * allowed at all, whether it touches values, and the function that converts one stored value
 * (filling in `fill` where the value is empty). `planFieldChange` runs it over every card; the
 * server runs it over distinct values and, when saving, card by card in batches.
 */
export function fieldChangePlanner(from: FieldDefinition | undefined, to: FieldDefinition, { locale = 'ru', fill }: FieldChangeOptions = {}): FieldChangePlanner {
  const old = from ?? to;
  const required = to.required === true && to.hidden !== true;
  const base = { allowed: true, noOp: false, required, missingMayStay: required && to.requiredFor === 'newAndEdited', unique: to.unique === true };
  const never = (): ValueOutcome => ({ value: undefined });
  if (old.key !== to.key) return { ...base, allowed: false, refusal: messages.keyChangeRefused[locale], apply: never };
  const carry = conversion(old.kind, to.kind);
  if (!carry) return { ...base, allowed: false, refusal: messages.kindChangeRefused(kindOf(old).labels, kindOf(to).labels)[locale], apply: never };
  if (fill === undefined && (from ? dataShape(from) === dataShape(to) : !required))
    return { ...base, noOp: true, apply: (value) => ({ value: isEmptyValue(value) ? undefined : (value as StoredValue) }) };
  const normalize = compileField({ ...to, required: false });
  const readsAsBefore = roundTrip(old, to);
  return {
    ...base,
    apply(value) {
      if (isEmptyValue(value)) return { value: fill };
      const carried = carriedOver(carry, old, to, value as StoredValue);
      const outcome = 'reason' in carried ? { error: carried.reason[locale] } : normalize(carried.input, locale);
      if ('error' in outcome) return { error: outcome.error };
      const converted = outcome.value;
      if (converted === undefined || !readsAsBefore(value as StoredValue, converted)) return { value: converted ?? fill, altered: true };
      return { value: converted };
    },
  };
}

/**
 * Whether a converted value reads as the old one did: it is the same stored value, converting it
 * back into the old field gives the old value exactly («42» → 42 → «42», 12.5 → «12.50» → 12.5), or
 * it is shown as the same text («Да» from yes, «★★★★☆» from a rating of 4). «007» → 7, «1 000» →
 * 1000 (shown with a no-break space), «12.0» → 12 and «5.1.2024» → 05.01.2024 do not.
 */
function roundTrip(from: FieldDefinition, to: FieldDefinition): (before: StoredValue, after: StoredValue) => boolean {
  const back = conversion(to.kind, from.kind);
  const readBack = compileField({ ...from, required: false });
  const backAgain = (after: StoredValue): unknown => {
    const carried = back && carriedOver(back, to, from, after);
    const outcome = carried && !('reason' in carried) ? readBack(carried.input, 'ru') : undefined;
    return outcome && 'value' in outcome ? outcome.value : undefined;
  };
  return (before, after) =>
    JSON.stringify(before) === JSON.stringify(after) ||
    JSON.stringify(backAgain(after)) === JSON.stringify(before) ||
    formatValue(from, before, { locale: 'ru' }) === formatValue(to, after, { locale: 'ru' });
}

/** Whether a value changes when stored anew (both empty counts as the same). */
export function valueChanges(before: unknown, after: StoredValue | undefined): boolean {
  return JSON.stringify(after) !== JSON.stringify(isEmptyValue(before) ? undefined : before);
}

/**
 * Plans changing `from` into `to` (same key; `from` undefined for a new field) against the existing
 * values of the field: which values convert and to what, which would not and why, which cards get
 * the fill-in value, and — when the new field is required or unique — the cards that would still
 * lack a value and the groups of cards sharing one. Reads `cards` once; writes nothing.
 */
export function planFieldChange(from: FieldDefinition | undefined, to: FieldDefinition, cards: Iterable<ExistingValue>, options: FieldChangeOptions = {}): FieldChangePlan {
  const plan: FieldChangePlan = {
    allowed: true,
    noOp: false,
    updates: [],
    failures: [],
    missing: [],
    missingAccepted: false,
    duplicates: [],
    altered: [],
    alteredAccepted: false,
    safe: false,
  };
  const planner = fieldChangePlanner(from, to, options);
  if (!planner.allowed) return { ...plan, allowed: false, refusal: planner.refusal };
  if (planner.noOp) return { ...plan, noOp: true, safe: true };
  const holders = new Map<string, DuplicateGroup>();
  for (const { cardId, value } of cards) {
    const outcome = planner.apply(value);
    if ('error' in outcome) {
      plan.failures.push({ cardId, value, reason: outcome.error });
      continue;
    }
    const stored = outcome.value;
    if (outcome.altered) plan.altered.push({ cardId, value, becomes: stored });
    if (valueChanges(value, stored)) plan.updates.push({ cardId, value: stored });
    if (stored === undefined) {
      if (planner.required) plan.missing.push(cardId);
    } else if (planner.unique) {
      const key = JSON.stringify(stored);
      const group = holders.get(key) ?? { value: stored, cardIds: [] };
      group.cardIds.push(cardId);
      holders.set(key, group);
    }
  }
  plan.duplicates = [...holders.values()].filter((group) => group.cardIds.length > 1);
  plan.missingAccepted = plan.missing.length > 0 && planner.missingMayStay;
  plan.alteredAccepted = plan.altered.length > 0 && options.acceptAltered === true;
  plan.safe =
    plan.failures.length === 0 && (plan.missing.length === 0 || plan.missingAccepted) && plan.duplicates.length === 0 && (plan.altered.length === 0 || plan.alteredAccepted);
  return plan;
}

/** Whether planning this change needs the field's stored values (not when it is refused outright or changes presentation only). */
export function fieldChangeReadsValues(from: FieldDefinition | undefined, to: FieldDefinition, options: FieldChangeOptions = {}): boolean {
  const plan = planFieldChange(from, to, [], options);
  return plan.allowed && !plan.noOp;
}

export interface DefinitionMerge {
  definition: CardTypeDefinition;
  /** Fields whose kind in code differs from the stored one: their values need `planFieldChange` before use. */
  kindChanges: { key: string; from: FieldDefinition; to: FieldDefinition }[];
}

/** Copies the properties an administrator customised from `stored` onto `target` (removing those they cleared). */
function keepCustomized<T extends object>(target: T, stored: object, properties: readonly string[]): T {
  const result: Record<string, unknown> = { ...(target as Record<string, unknown>) };
  for (const property of properties) {
    if (property in stored) result[property] = (stored as Record<string, unknown>)[property];
    else delete result[property];
  }
  return result as T;
}

/** Properties of a field that are bookkeeping, not rules: compared by neither side. */
const BOOKKEEPING = new Set(['origin', 'customized']);

/** A field's properties as they read: a required field without `requiredFor` is required for all cards. */
const rulesOf = (field: FieldDefinition): Record<string, unknown> => ({ ...field, requiredFor: field.required ? (field.requiredFor ?? 'all') : undefined });

/** A property left out reads as false, null or an empty list. */
const comparable = (value: unknown): string =>
  value === undefined || value === null || value === false || (Array.isArray(value) && value.length === 0) ? 'null' : stableJson(value);

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, item]) => `${JSON.stringify(key)}:${stableJson(item)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Changes an administrator may not make to fields defined in code (a built-in or a plugin's type):
 * their kind, uniqueness, requirement and settings come from the code, and each start merges the
 * code's back (`mergeCodeAndAdminDefinition`); only the customizable properties are the
 * administrator's. Each refusal names the field's place in `next` and the property.
 */
export function lockedFieldChanges(previous: CardTypeDefinition, next: CardTypeDefinition): { index: number; property: string; message: LocalizedText }[] {
  const codeFields = new Map(previous.fields.filter((field) => (field.origin ?? previous.origin) === 'code').map((field) => [field.key, field]));
  const customizable = new Set<string>(customizableFieldProperties);
  const refusals: { index: number; property: string; message: LocalizedText }[] = [];
  next.fields.forEach((field, index) => {
    const old = codeFields.get(field.key);
    if (!old) return;
    const [before, after] = [rulesOf(old), rulesOf(field)];
    for (const property of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (customizable.has(property) || BOOKKEEPING.has(property)) continue;
      if (comparable(before[property]) !== comparable(after[property])) refusals.push({ index, property, message: messages.codeFieldProperty(property) });
    }
  });
  return refusals;
}

/**
 * Merges a newer code definition of a built-in type with its stored (possibly administered) copy:
 * code fields take the code's rules, keeping the label, help, section, order, listed and hidden an
 * administrator customised; fields and tabs an administrator added stay; fields that left the code
 * stay hidden with their values, never dropped; history on/off stays as the administrator set it.
 */
export function mergeCodeAndAdminDefinition(code: CardTypeDefinition, stored: CardTypeDefinition | undefined): DefinitionMerge {
  if (!stored) return { definition: code, kindChanges: [] };
  const storedFields = new Map(stored.fields.map((field) => [field.key, field]));
  const kindChanges: DefinitionMerge['kindChanges'] = [];
  const fields = code.fields.map((codeField) => {
    const old = storedFields.get(codeField.key);
    if (!old) return codeField;
    if (old.kind !== codeField.kind) kindChanges.push({ key: codeField.key, from: old, to: codeField });
    const merged = keepCustomized(codeField, old, old.customized ?? []);
    return old.customized ? { ...merged, customized: old.customized } : merged;
  });
  const inCode = new Set(code.fields.map((field) => field.key));
  for (const old of stored.fields) {
    if (inCode.has(old.key)) continue;
    fields.push((old.origin ?? stored.origin) === 'admin' ? old : { ...old, hidden: true });
  }
  const codeTabs = code.relatedTabs ?? [];
  const adminTabs = (stored.relatedTabs ?? []).filter((tab) => (tab.origin ?? stored.origin) === 'admin' && !codeTabs.some((codeTab) => codeTab.key === tab.key));
  const definition: CardTypeDefinition = {
    ...keepCustomized(code, stored, stored.customized ?? []),
    fields,
    relatedTabs: [...codeTabs, ...adminTabs],
    historyEnabled: stored.historyEnabled,
    origin: 'code',
  };
  if (stored.customized) definition.customized = stored.customized;
  if (stored.version !== undefined) definition.version = stored.version;
  return { definition, kindChanges };
}
