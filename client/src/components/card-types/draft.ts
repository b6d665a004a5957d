/**
 * The card type designer's editing model: a definition (card-types/kernel/definition.ts) as form
 * state (numbers and defaults as text), and back to a definition. What is wrong with a draft is
 * what the kernel's `validateCardTypeDefinition` says — the server's own check, paths and messages.
 */
import slugify from '@sindresorhus/slugify';
import type { ZodMiniType } from 'zod/mini';
import {
  checkFieldValue,
  kindOf,
  messages as kernelMessages,
  referenceFieldsTo as kernelReferenceFields,
  type CustomizableFieldProperty,
  type CustomizableTypeProperty,
  type Locale,
  type RequiredFor,
} from '../../../../card-types';
import { settingsSchemaOf, validateCardTypeDefinition } from '../../../../card-types/definitions';
import type { CardTypeDef, FieldDef, Localized, RelatedTabDef } from '../../api/types';

/** Whether fields of `kind` have the setting `name` (`min`, `options`, `targets` …). */
export const hasSetting = (kind: string, name: string): boolean => name in settingsSchemaOf(kindOf({ kind }));

export type Origin = 'code' | 'admin';

export interface OptionDraft {
  value: string;
  label: Localized;
}

export interface FieldDraft {
  key: string;
  kind: string;
  /** Saved before: its key is fixed, removing it hides it. */
  stored: boolean;
  /** The kind it was saved with: it may become only a kind its values convert to. */
  storedKind?: string;
  /** The key follows the Russian label (transliterated) until the administrator types one. */
  autoKey: boolean;
  origin?: Origin;
  customized?: CustomizableFieldProperty[];
  label: Localized;
  required: boolean;
  /** Whom `required` binds: every card, or new cards and edits that touch the field only. */
  requiredFor: RequiredFor;
  unique: boolean;
  listed: boolean;
  hidden: boolean;
  /** Text form: numbers and dates as typed, booleans 'true'/'false', lists comma-separated, '' for none. */
  default: string;
  defaultList: string[];
  min: string;
  max: string;
  pattern: string;
  patternMessage: Localized;
  help: Localized;
  section: Localized;
  options: OptionDraft[];
  multiple: boolean;
  targets: string[];
  /** A file field's types (keys of the kernel's file types); none: any. */
  allowedTypes: string[];
  scale: string;
  /** Settings of the kind the designer has no input for (a plugin kind's own): kept as they are. */
  extra: Record<string, unknown>;
  /** Not part of the definition: a value, as typed, for the cards that lack one when the field becomes required. */
  fillMissing: string;
}

export interface TabDraft {
  key: string;
  label: Localized;
  cardType: string;
  referenceField: string;
  origin?: Origin;
}

export interface TypeDraft {
  key: string;
  names: Localized;
  titleTemplate: string;
  historyEnabled: boolean;
  icon: string;
  colour: string;
  origin: Origin;
  customized?: CustomizableTypeProperty[];
  /** The stored revision the draft was opened at (absent for a new type): a save made from an older one is refused. */
  version?: number;
  fields: FieldDraft[];
  relatedTabs: TabDraft[];
}

/** What the server keeps in `definition` beyond the workspace's view of it. */
export interface StoredDefinition extends CardTypeDef {
  origin?: Origin;
  icon?: string;
  colour?: string;
  customized?: CustomizableTypeProperty[];
  fields: FieldDef[];
  relatedTabs?: (RelatedTabDef & { origin?: Origin })[];
}

const emptyText = (): Localized => ({ ru: '', en: '' });
/**
 * An English text the server filled in as a copy of the Russian (left empty, it falls back to the
 * Russian) shows empty, the Russian as its placeholder: renaming the Russian then renames both,
 * instead of leaving the old Russian as the English.
 */
const copyText = (text: Localized | undefined): Localized => ({ ru: text?.ru ?? '', en: text?.en && text.en !== text.ru ? text.en : '' });
const filled = (text: Localized): boolean => text.ru.trim() !== '' || text.en.trim() !== '';
const optionalText = (text: Localized): Localized | undefined => (filled(text) ? { ru: text.ru.trim(), en: text.en.trim() } : undefined);

export function newField(kind = 'string'): FieldDraft {
  return {
    key: '',
    kind,
    stored: false,
    autoKey: true,
    label: emptyText(),
    required: false,
    requiredFor: 'all',
    unique: false,
    listed: false,
    hidden: false,
    default: '',
    defaultList: [],
    min: '',
    max: '',
    pattern: '',
    patternMessage: emptyText(),
    help: emptyText(),
    section: emptyText(),
    options: [],
    multiple: false,
    targets: [],
    allowedTypes: [],
    scale: '',
    extra: {},
    fillMissing: '',
  };
}

export function newType(): TypeDraft {
  return { key: '', names: emptyText(), titleTemplate: '', historyEnabled: false, icon: '', colour: '', origin: 'admin', fields: [], relatedTabs: [] };
}

function defaultText(field: FieldDef): { text: string; list: string[] } {
  const value = field.default;
  if (Array.isArray(value)) return { text: value.join(', '), list: value.map(String) };
  if (value === undefined || value === null) return { text: '', list: [] };
  return { text: String(value), list: [String(value)] };
}

/** What the draft models of a field; any other property is a setting it keeps as it is. */
const modelled = new Set([
  'key',
  'kind',
  'label',
  'required',
  'requiredFor',
  'unique',
  'help',
  'section',
  'order',
  'listed',
  'hidden',
  'origin',
  'customized',
  'default',
  'min',
  'max',
  'pattern',
  'patternMessage',
  'options',
  'multiple',
  'targets',
  'allowedTypes',
  'scale',
]);

const textOf = (value: unknown): string => (value === undefined || value === null ? '' : String(value));
const listOf = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

export function fieldDraft(field: FieldDef): FieldDraft {
  const { text, list } = defaultText(field);
  return {
    ...newField(field.kind),
    key: field.key,
    stored: true,
    storedKind: field.kind,
    autoKey: false,
    origin: field.origin,
    customized: field.customized,
    label: copyText(field.label),
    required: field.required === true,
    requiredFor: field.requiredFor ?? 'all',
    unique: field.unique === true,
    listed: field.listed === true,
    hidden: field.hidden === true,
    default: text,
    defaultList: list,
    min: textOf(field.min),
    max: textOf(field.max),
    pattern: textOf(field.pattern),
    patternMessage: copyText(field.patternMessage as Localized | undefined),
    help: copyText(field.help),
    section: copyText(field.section),
    options: listOf<OptionDraft>(field.options).map((option) => ({ value: option.value, label: copyText(option.label) })),
    multiple: field.multiple === true,
    targets: [...listOf<string>(field.targets)],
    allowedTypes: [...listOf<string>((field as { allowedTypes?: unknown }).allowedTypes)],
    scale: textOf(field.scale),
    extra: Object.fromEntries(Object.entries(field).filter(([name]) => !modelled.has(name))),
  };
}

/** A stored definition as a draft, fields in display order. */
export function typeDraft(definition: StoredDefinition): TypeDraft {
  const fields = definition.fields
    .map((field, index) => ({ field, rank: field.order ?? index }))
    .sort((a, b) => a.rank - b.rank)
    .map(({ field }) => fieldDraft(field));
  return {
    key: definition.key,
    names: copyText(definition.names),
    titleTemplate: definition.titleTemplate,
    historyEnabled: definition.historyEnabled,
    icon: definition.icon ?? '',
    colour: definition.colour ?? '',
    origin: definition.origin ?? 'admin',
    customized: definition.customized,
    version: definition.version,
    fields,
    relatedTabs: (definition.relatedTabs ?? []).map((tab) => ({
      key: tab.key,
      label: copyText(tab.label),
      cardType: tab.cardType,
      referenceField: tab.referenceField,
      origin: tab.origin,
    })),
  };
}

/** A field from code: only its label, help, section, order, listed and hidden may change. */
export const isCodeField = (field: FieldDraft, type: TypeDraft): boolean => field.stored && (field.origin ?? type.origin) === 'code';

/**
 * A setting typed as text, as the kind's schema takes it: the text itself, a number, yes/no or a
 * comma-separated list, whichever fits first; text that fits none goes as it is, for the kernel to name.
 */
function setting(schema: ZodMiniType, text: string): unknown {
  const value = text.trim();
  if (value === '') return undefined;
  const candidates: unknown[] = [
    value,
    Number(value),
    value === 'true' || (value === 'false' ? false : undefined),
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ];
  return candidates.find((candidate) => candidate !== undefined && !Number.isNaN(candidate) && schema.safeParse(candidate).success) ?? value;
}

/** The kind's settings from the draft: only those the kind has. */
function settingsOf(field: FieldDraft): Record<string, unknown> {
  const schema = settingsSchemaOf(kindOf(field));
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(field.extra).filter(([name]) => schema[name]));
  const put = (name: string, value: () => unknown) => {
    if (schema[name]) out[name] = value();
  };
  put('min', () => setting(schema.min!, field.min));
  put('max', () => setting(schema.max!, field.max));
  put('scale', () => setting(schema.scale!, field.scale));
  put('pattern', () => field.pattern.trim() || undefined);
  put('patternMessage', () => optionalText(field.patternMessage));
  put('options', () => field.options.map((option) => ({ value: option.value.trim(), label: { ru: option.label.ru.trim(), en: option.label.en.trim() } })));
  put('multiple', () => field.multiple || undefined);
  put('targets', () => [...field.targets]);
  put('allowedTypes', () => (field.allowedTypes.length > 0 ? [...field.allowedTypes] : undefined));
  const listDefault = schema.options && field.multiple;
  put('default', () => (listDefault ? (field.defaultList.length > 0 ? [...field.defaultList] : undefined) : setting(schema.default!, field.default)));
  return out;
}

/** The draft as the definition JSON the server takes; display order becomes `order`. */
export function toDefinition(draft: TypeDraft): StoredDefinition {
  const fields = draft.fields.map((field, index) => {
    const out: Record<string, unknown> = {
      key: field.key.trim(),
      kind: field.kind,
      label: { ru: field.label.ru.trim(), en: field.label.en.trim() },
      order: index,
    };
    if (field.origin) out.origin = field.origin;
    if (field.customized) out.customized = field.customized;
    if (field.required) out.required = true;
    if (field.required && field.requiredFor !== 'all') out.requiredFor = field.requiredFor;
    if (field.unique) out.unique = true;
    if (field.listed) out.listed = true;
    if (field.hidden) out.hidden = true;
    out.help = optionalText(field.help);
    out.section = optionalText(field.section);
    Object.assign(out, settingsOf(field));
    return Object.fromEntries(Object.entries(out).filter(([, value]) => value !== undefined)) as FieldDef;
  });
  const definition: StoredDefinition = {
    key: draft.key.trim(),
    names: { ru: draft.names.ru.trim(), en: draft.names.en.trim() },
    titleTemplate: draft.titleTemplate.trim(),
    historyEnabled: draft.historyEnabled,
    origin: draft.origin,
    fields,
    relatedTabs: draft.relatedTabs.map((tab) => ({
      key: tab.key.trim(),
      label: { ru: tab.label.ru.trim(), en: tab.label.en.trim() },
      cardType: tab.cardType,
      referenceField: tab.referenceField,
      ...(tab.origin ? { origin: tab.origin } : {}),
    })),
  };
  if (draft.icon.trim()) definition.icon = draft.icon.trim();
  if (draft.colour.trim()) definition.colour = draft.colour.trim();
  if (draft.customized) definition.customized = draft.customized;
  if (draft.version !== undefined) definition.version = draft.version;
  return definition;
}

/** A fill-in value is sent for a required field only (a field becoming required while cards lack a value). */
const fillsIn = (field: FieldDraft): boolean => field.required && field.fillMissing.trim() !== '';

/** The definition to send: the draft's, each required field with a fill-in value carrying it (`fillMissing`). */
export function toSentDefinition(draft: TypeDraft): StoredDefinition {
  const definition = toDefinition(draft);
  return {
    ...definition,
    fields: definition.fields.map((field, index) => (fillsIn(draft.fields[index]) ? { ...field, fillMissing: draft.fields[index].fillMissing.trim() } : field)),
  };
}

/**
 * What is wrong with the draft, by the server's paths (`fields.2.key`): the kernel's own check of
 * the definition it would send, against the other types, in the interface language; and each
 * fill-in value checked as a value of its field (`fields.2.fillMissing`); and a shown field named like
 * an earlier shown one (`fields.2.label.ru`): the form could not tell the two apart.
 */
export function checkDraft(draft: TypeDraft, types: readonly StoredDefinition[], locale: Locale): Record<string, string> {
  const knownTypes = types.map((type) => ({ ...type, origin: type.origin ?? 'admin' }));
  const definition = toDefinition(draft);
  const check = validateCardTypeDefinition(definition, { locale, knownTypes });
  const errors: Record<string, string> = check.ok ? {} : { ...check.errors };
  draft.fields.forEach((field, index) => {
    if (!fillsIn(field) || errorAt(errors, `fields.${index}`)) return;
    const outcome = checkFieldValue({ ...definition.fields[index], required: false }, field.fillMissing.trim());
    if ('error' in outcome) errors[`fields.${index}.fillMissing`] = outcome.error[locale];
  });
  const shownNames = new Map<string, number>();
  definition.fields.forEach((field, index) => {
    if (field.hidden) return;
    for (const language of ['ru', 'en'] as const) {
      const name = `${language}:${(field.label[language] ?? '').trim().toLocaleLowerCase('ru')}`;
      if (name === `${language}:`) continue;
      if (shownNames.has(name)) errors[`fields.${index}.label.${language}`] ??= kernelMessages.duplicateFieldLabel(field.label[language].trim())[locale];
      else shownNames.set(name, index);
    }
  });
  return errors;
}

/** Latin words of a Russian (or any) text, transliterated: «Юридический адрес» → yuridicheskiy, adres. */
const latinWords = (text: string): string[] => slugify(text, { decamelize: false }).split('-').filter(Boolean);

/** The first of `key`, `key2`, `key3` … not taken. */
function untaken(key: string, taken: ReadonlySet<string>, separator: string): string {
  if (!taken.has(key)) return key;
  let n = 2;
  while (taken.has(`${key}${separator}${n}`)) n += 1;
  return `${key}${separator}${n}`;
}

/** A type key from its Russian name: «Коммерческое предложение» → kommercheskoe-predlozhenie (editable). */
export function typeKeyFrom(name: string, taken: ReadonlySet<string>): string {
  const words = latinWords(name);
  if (words.length === 0) return '';
  const key = words.join('-').slice(0, 60).replace(/-+$/, '');
  return untaken(/^[a-z]/.test(key) ? key : `type-${key}`, taken, '-');
}

/** A field key from its Russian label: «Юридический адрес» → yuridicheskiyAdres (editable). */
export function fieldKeyFrom(label: string, taken: ReadonlySet<string>): string {
  const words = latinWords(label);
  if (words.length === 0) return '';
  const key = words
    .map((word, index) => (index === 0 ? word : word[0].toUpperCase() + word.slice(1)))
    .join('')
    .slice(0, 60);
  return untaken(/^[a-z]/.test(key) ? key : `field${key}`, taken, '');
}

/** Reference fields of `typeKey` that point to cards of `targetKey`: the choices for a related tab. */
export function referenceFieldsTo(typeKey: string, targetKey: string, types: readonly StoredDefinition[]): FieldDef[] {
  return kernelReferenceFields(
    types.find((candidate) => candidate.key === typeKey),
    targetKey,
  );
}

/** The draft's field as the workspace's form components take it. */
export function previewField(field: FieldDraft, index: number): FieldDef {
  const definition = toDefinition({ ...newType(), fields: [field] }).fields[0];
  return { ...definition, key: field.key.trim() || `field${index + 1}`, order: index };
}

/** The message for a path, or for the first problem below it (`fields.2.label` → `fields.2.label.ru`). */
export function errorAt(errors: Record<string, string>, path: string): string | undefined {
  return errors[path] ?? Object.entries(errors).find(([key]) => key.startsWith(`${path}.`))?.[1];
}
