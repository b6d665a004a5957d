import type { Locale } from '../i18n';
import {
  fieldKindLabels,
  isMultiValued,
  type CardTypeDefinition,
  type FieldDefinition,
  type FieldKind,
  type LocalizedText,
  type StoredValue,
} from './definition';
import { formatValue } from './format';
import { compileField, isEmptyValue } from './kinds';
import { messages } from './messages';

/**
 * "Schema changes lose nothing": a field change is planned against the existing values first
 * (a dry run), and takes effect only when nothing would be lost or violated.
 */

const textKinds: readonly FieldKind[] = ['string', 'text'];
/** Kinds stored as the very text a person reads. */
const textLike: readonly FieldKind[] = [...textKinds, 'email', 'phone', 'url'];
const fromText: readonly FieldKind[] = [...textLike, 'integer', 'decimal', 'money', 'date', 'datetime', 'enum', 'tags'];
const numbers: readonly FieldKind[] = ['integer', 'decimal', 'money'];

/**
 * The kinds each kind may become, besides itself. Conversions that need checking (text to e-mail,
 * decimal to integer …) are allowed here and then checked value by value in the plan.
 */
export const kindConversions: Readonly<Record<FieldKind, readonly FieldKind[]>> = {
  string: fromText,
  text: fromText,
  integer: [...textKinds, ...numbers],
  decimal: [...textKinds, ...numbers],
  money: [...textKinds, ...numbers],
  date: [...textKinds, 'datetime'],
  datetime: [...textKinds, 'date'],
  boolean: textKinds,
  enum: [...textKinds, 'tags'],
  email: textKinds,
  phone: textKinds,
  url: textKinds,
  tags: [...textKinds, 'enum'],
  reference: [],
  user: [],
};

export function canConvertKind(from: FieldKind, to: FieldKind): boolean {
  return from === to || kindConversions[from].includes(to);
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
  /** True for presentation-only changes (labels, help, order, listed, hidden, default …): no card is read or written. */
  noOp: boolean;
  /** Cards whose stored value takes a new form (undefined: becomes empty); written when the change is applied. */
  updates: { cardId: string; value: StoredValue | undefined }[];
  /** Every value that would not convert or would break the new limits. */
  failures: ValueFailure[];
  /** Cards without a value, when the new field is required. */
  missing: string[];
  /** Groups of cards sharing a value, when the new field is unique. */
  duplicates: DuplicateGroup[];
  /** Allowed, and nothing fails, is missing or is duplicated: the change may take effect. */
  safe: boolean;
}

const presentationProperties = ['label', 'help', 'section', 'order', 'listed', 'hidden', 'origin', 'customized', 'default', 'patternMessage'];

/** The part of a field that decides which values are valid: everything but its presentation. */
function dataShape(field: FieldDefinition): string {
  const shape: Record<string, unknown> = { ...field };
  for (const property of presentationProperties) delete shape[property];
  if (field.kind === 'enum') shape.options = field.options.map((option) => option.value);
  return JSON.stringify(shape, Object.keys(shape).sort());
}

function optionMatching(field: FieldDefinition, item: unknown): unknown {
  if (field.kind !== 'enum' || typeof item !== 'string') return item;
  const wanted = item.trim().toLocaleLowerCase('ru');
  const option = field.options.find((candidate) =>
    [candidate.value, candidate.label.ru, candidate.label.en].some((text) => text.toLocaleLowerCase('ru') === wanted),
  );
  return option?.value ?? item;
}

/** The old stored value as input to the new field, or the reason it cannot be carried over. */
function carriedOver(from: FieldDefinition, to: FieldDefinition, value: StoredValue): { input: unknown } | { reason: LocalizedText } {
  if (textKinds.includes(to.kind) && !textLike.includes(from.kind)) return { input: formatValue(from, value, { locale: 'ru' }) };
  if (from.kind === 'date' && to.kind === 'datetime') return { input: `${String(value)}T00:00:00.000Z` };
  if (from.kind === 'datetime' && to.kind === 'date') {
    const instant = String(value);
    return instant.endsWith('T00:00:00.000Z') ? { input: instant.slice(0, 10) } : { reason: messages.timeWouldBeLost };
  }
  if (from.kind === 'enum' && to.kind === 'tags') return { input: formatValue(from, value, { locale: 'ru' }).split(', ') };
  const items = from.kind === 'tags' && to.kind === 'enum' ? (value as string[]) : value;
  const input = Array.isArray(items) ? items.map((item) => optionMatching(to, item)) : optionMatching(to, items);
  if (Array.isArray(input) && !isMultiValued(to)) return input.length === 1 ? { input: input[0] } : { reason: messages.notSingle };
  return { input };
}

/**
 * Plans changing `from` into `to` (same key) against the existing values of the field: which values
 * convert and to what, which would not and why, and — when the new field is required or unique —
 * the cards without a value and the groups of cards sharing one. Reads `cards` once; writes nothing.
 */
export function planFieldChange(from: FieldDefinition, to: FieldDefinition, cards: Iterable<ExistingValue>, { locale = 'ru' }: { locale?: Locale } = {}): FieldChangePlan {
  const plan: FieldChangePlan = { allowed: true, noOp: false, updates: [], failures: [], missing: [], duplicates: [], safe: false };
  if (from.key !== to.key) return { ...plan, allowed: false, refusal: messages.keyChangeRefused[locale] };
  if (!canConvertKind(from.kind, to.kind)) {
    return { ...plan, allowed: false, refusal: messages.kindChangeRefused(fieldKindLabels[from.kind], fieldKindLabels[to.kind])[locale] };
  }
  if (dataShape(from) === dataShape(to)) return { ...plan, noOp: true, safe: true };

  const normalize = compileField({ ...to, required: false });
  const holders = new Map<string, DuplicateGroup>();
  for (const { cardId, value } of cards) {
    if (isEmptyValue(value)) {
      if (to.required) plan.missing.push(cardId);
      continue;
    }
    const carried = carriedOver(from, to, value as StoredValue);
    const outcome = 'reason' in carried ? { error: carried.reason[locale] } : normalize(carried.input, locale);
    if ('error' in outcome) {
      plan.failures.push({ cardId, value, reason: outcome.error });
      continue;
    }
    if (JSON.stringify(outcome.value) !== JSON.stringify(value)) plan.updates.push({ cardId, value: outcome.value });
    if (outcome.value === undefined) {
      if (to.required) plan.missing.push(cardId);
    } else if (to.unique) {
      const key = JSON.stringify(outcome.value);
      const group = holders.get(key) ?? { value: outcome.value, cardIds: [] };
      group.cardIds.push(cardId);
      holders.set(key, group);
    }
  }
  plan.duplicates = [...holders.values()].filter((group) => group.cardIds.length > 1);
  plan.safe = plan.failures.length === 0 && plan.missing.length === 0 && plan.duplicates.length === 0;
  return plan;
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
  const adminTabs = (stored.relatedTabs ?? []).filter(
    (tab) => (tab.origin ?? stored.origin) === 'admin' && !codeTabs.some((codeTab) => codeTab.key === tab.key),
  );
  const definition: CardTypeDefinition = {
    ...keepCustomized(code, stored, stored.customized ?? []),
    fields,
    relatedTabs: [...codeTabs, ...adminTabs],
    historyEnabled: stored.historyEnabled,
    origin: 'code',
  };
  if (stored.customized) definition.customized = stored.customized;
  return { definition, kindChanges };
}
