import type { CardTypeDefinition, FieldDefinition, StoredValue } from './definition';
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

/** The part of a field that decides which values are valid: everything but its presentation (and options' labels). */
function dataShape(field: FieldDefinition): string {
  const shape: Record<string, unknown> = { ...field };
  for (const property of presentationProperties) delete shape[property];
  if (Array.isArray(field.options)) shape.options = field.options.map((option: { value?: unknown }) => option.value);
  return JSON.stringify(shape, Object.keys(shape).sort());
}

/** The old stored value as input to the new field, or the reason it cannot be carried over. */
function carriedOver(carry: Carry, from: FieldDefinition, to: FieldDefinition, value: StoredValue): { input: unknown } | { reason: LocalizedText } {
  const carried = carry(value, { from, to, formatted: () => formatValue(from, value, { locale: 'ru' }) });
  if ('reason' in carried || !Array.isArray(carried.input) || isMultiValued(to)) return carried;
  return carried.input.length === 1 ? { input: carried.input[0] } : { reason: messages.notSingle };
}

/**
 * Plans changing `from` into `to` (same key) against the existing values of the field: which values
 * convert and to what, which would not and why, and — when the new field is required or unique —
 * the cards without a value and the groups of cards sharing one. Reads `cards` once; writes nothing.
 */
export function planFieldChange(from: FieldDefinition, to: FieldDefinition, cards: Iterable<ExistingValue>, { locale = 'ru' }: { locale?: Locale } = {}): FieldChangePlan {
  const plan: FieldChangePlan = { allowed: true, noOp: false, updates: [], failures: [], missing: [], duplicates: [], safe: false };
  if (from.key !== to.key) return { ...plan, allowed: false, refusal: messages.keyChangeRefused[locale] };
  const carry = conversion(from.kind, to.kind);
  if (!carry) return { ...plan, allowed: false, refusal: messages.kindChangeRefused(kindOf(from).labels, kindOf(to).labels)[locale] };
  if (dataShape(from) === dataShape(to)) return { ...plan, noOp: true, safe: true };

  const normalize = compileField({ ...to, required: false });
  const holders = new Map<string, DuplicateGroup>();
  for (const { cardId, value } of cards) {
    if (isEmptyValue(value)) {
      if (to.required) plan.missing.push(cardId);
      continue;
    }
    const carried = carriedOver(carry, from, to, value as StoredValue);
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
  const adminTabs = (stored.relatedTabs ?? []).filter((tab) => (tab.origin ?? stored.origin) === 'admin' && !codeTabs.some((codeTab) => codeTab.key === tab.key));
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
