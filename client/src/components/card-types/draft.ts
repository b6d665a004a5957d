/**
 * The card type designer's editing model: a definition (server/src/card-types/definition.ts) as
 * form state (numbers and defaults as text), back to a definition, and the same checks the server
 * makes (definition-schema.ts), with errors keyed by the server's paths (`fields.2.key`).
 */
import type { CardTypeDef, FieldDef, FieldKind, Localized, RelatedTabDef } from '../../workspace/api';

export const FIELD_KINDS: FieldKind[] = ['string', 'text', 'integer', 'decimal', 'money', 'date', 'datetime', 'boolean', 'enum', 'email', 'phone', 'url', 'tags', 'reference', 'user'];

export const TYPE_KEY_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const FIELD_KEY_PATTERN = /^[a-z][a-zA-Z0-9]*$/;
const COLOUR_PATTERN = /^#[0-9a-fA-F]{6}$/;
const DECIMAL_PATTERN = /^[-+]?(\d+(\.\d*)?|\.\d+)$/;
const INTEGER_PATTERN = /^[-+]?\d+$/;
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const MAX_SCALE = 10;

/** Kinds with a length (text) or value (numbers, dates) range. */
export const LIMIT_KINDS = new Set<FieldKind>(['string', 'text', 'integer', 'decimal', 'money', 'date', 'datetime']);
export const PATTERN_KINDS = new Set<FieldKind>(['string', 'text']);
export const SCALE_KINDS = new Set<FieldKind>(['decimal', 'money']);
/** Kinds a partial unique index can serve (as on the server). */
export const UNIQUE_KINDS = new Set<FieldKind>(['string', 'integer', 'decimal', 'money', 'date', 'datetime', 'email', 'phone', 'url', 'reference', 'user']);
export const NO_DEFAULT_KINDS = new Set<FieldKind>(['reference', 'user']);
/** Kinds whose default is a list, typed comma-separated. */
export const LIST_DEFAULT_KINDS = new Set<FieldKind>(['tags']);

export type Origin = 'code' | 'admin';

export interface OptionDraft {
  value: string;
  label: Localized;
}

export interface FieldDraft {
  key: string;
  kind: FieldKind;
  /** Saved before: its key and kind are fixed, removing it hides it. */
  stored: boolean;
  origin?: Origin;
  customized?: string[];
  label: Localized;
  required: boolean;
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
  scale: string;
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
  customized?: string[];
  fields: FieldDraft[];
  relatedTabs: TabDraft[];
}

/** What the server keeps in `definition` beyond the workspace's view of it. */
export interface StoredDefinition extends CardTypeDef {
  origin?: Origin;
  icon?: string;
  colour?: string;
  customized?: string[];
  fields: (FieldDef & { origin?: Origin; customized?: string[] })[];
  relatedTabs?: (RelatedTabDef & { origin?: Origin })[];
}

const emptyText = (): Localized => ({ ru: '', en: '' });
const copyText = (text: Localized | undefined): Localized => ({ ru: text?.ru ?? '', en: text?.en ?? '' });
const filled = (text: Localized): boolean => text.ru.trim() !== '' || text.en.trim() !== '';
const optionalText = (text: Localized): Localized | undefined => (filled(text) ? { ru: text.ru.trim(), en: text.en.trim() } : undefined);

export function newField(kind: FieldKind = 'string'): FieldDraft {
  return {
    key: '',
    kind,
    stored: false,
    label: emptyText(),
    required: false,
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
    scale: '',
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

export function fieldDraft(field: StoredDefinition['fields'][number]): FieldDraft {
  const { text, list } = defaultText(field);
  return {
    ...newField(field.kind),
    key: field.key,
    stored: true,
    origin: field.origin,
    customized: field.customized,
    label: copyText(field.label),
    required: field.required === true,
    unique: field.unique === true,
    listed: field.listed === true,
    hidden: field.hidden === true,
    default: text,
    defaultList: list,
    min: field.min === undefined ? '' : String(field.min),
    max: field.max === undefined ? '' : String(field.max),
    pattern: field.pattern ?? '',
    patternMessage: copyText(field.patternMessage),
    help: copyText(field.help),
    section: copyText(field.section),
    options: (field.options ?? []).map((option) => ({ value: option.value, label: copyText(option.label) })),
    multiple: field.multiple === true,
    targets: [...(field.targets ?? [])],
    scale: field.scale === undefined ? '' : String(field.scale),
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
    fields,
    relatedTabs: (definition.relatedTabs ?? []).map((tab) => ({ key: tab.key, label: copyText(tab.label), cardType: tab.cardType, referenceField: tab.referenceField, origin: tab.origin })),
  };
}

/** A field from code: only its label, help, section, order, listed and hidden may change. */
export const isCodeField = (field: FieldDraft, type: TypeDraft): boolean => field.stored && (field.origin ?? type.origin) === 'code';

function limit(field: FieldDraft, text: string): number | string | undefined {
  const value = text.trim();
  if (value === '') return undefined;
  if (field.kind === 'string' || field.kind === 'text' || field.kind === 'integer') return Number(value);
  return value;
}

function defaultValue(field: FieldDraft): unknown {
  if (NO_DEFAULT_KINDS.has(field.kind)) return undefined;
  if (field.kind === 'enum' && field.multiple) return field.defaultList.length > 0 ? [...field.defaultList] : undefined;
  if (LIST_DEFAULT_KINDS.has(field.kind)) {
    const list = field.default.split(',').map((item) => item.trim()).filter(Boolean);
    return list.length > 0 ? list : undefined;
  }
  const value = field.default.trim();
  if (value === '') return undefined;
  if (field.kind === 'boolean') return value === 'true';
  if (field.kind === 'integer') return Number(value);
  return value;
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
    if (field.unique) out.unique = true;
    if (field.listed) out.listed = true;
    if (field.hidden) out.hidden = true;
    out.help = optionalText(field.help);
    out.section = optionalText(field.section);
    out.default = defaultValue(field);
    if (LIMIT_KINDS.has(field.kind)) {
      out.min = limit(field, field.min);
      out.max = limit(field, field.max);
    }
    if (PATTERN_KINDS.has(field.kind)) {
      out.pattern = field.pattern.trim() || undefined;
      out.patternMessage = optionalText(field.patternMessage);
    }
    if (SCALE_KINDS.has(field.kind) && field.scale.trim() !== '') out.scale = Number(field.scale);
    if (field.kind === 'enum') {
      out.options = field.options.map((option) => ({ value: option.value.trim(), label: { ru: option.label.ru.trim(), en: option.label.en.trim() } }));
      if (field.multiple) out.multiple = true;
    }
    if (field.kind === 'reference') {
      out.targets = [...field.targets];
      if (field.multiple) out.multiple = true;
    }
    return Object.fromEntries(Object.entries(out).filter(([, value]) => value !== undefined)) as unknown as StoredDefinition['fields'][number];
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
  return definition;
}

/** The field keys a title template names: `{number} от {date}` → ['number', 'date']. */
export const templateFields = (template: string): string[] => [...template.matchAll(/\{([^{}]*)\}/g)].map((match) => match[1] ?? '');
const templateBalanced = (template: string): boolean => !/[{}]/.test(template.replace(/\{[^{}]*\}/g, ''));

/** A message key of the `typeDesigner.errors` block and its parameters. */
export type Problem = [key: string, params?: Record<string, string>];

function decimalValue(text: string): number | undefined {
  return DECIMAL_PATTERN.test(text.trim()) ? Number(text.trim()) : undefined;
}

function limitProblem(field: FieldDraft, text: string): Problem | undefined {
  const value = text.trim();
  if (value === '') return undefined;
  switch (field.kind) {
    case 'string':
    case 'text':
      return /^\d+$/.test(value) ? undefined : ['notLength'];
    case 'integer':
      return INTEGER_PATTERN.test(value) ? undefined : ['notInteger'];
    case 'decimal':
    case 'money':
      return decimalValue(value) === undefined ? ['notNumber'] : undefined;
    case 'date':
      return DATE_PATTERN.test(value) && !Number.isNaN(Date.parse(value)) ? undefined : ['notDate'];
    default:
      return Number.isNaN(Date.parse(value)) || !/[zZ]|[+-]\d{2}:?\d{2}$/.test(value) ? ['notDateTime'] : undefined;
  }
}

function inverted(field: FieldDraft): boolean {
  const [min, max] = [field.min.trim(), field.max.trim()];
  if (min === '' || max === '') return false;
  if (field.kind === 'date') return min > max;
  if (field.kind === 'datetime') return Date.parse(min) > Date.parse(max);
  return Number(min) > Number(max);
}

function isRegExp(source: string): boolean {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}

function defaultProblem(field: FieldDraft): Problem | undefined {
  const value = field.default.trim();
  if (value === '' || NO_DEFAULT_KINDS.has(field.kind) || LIST_DEFAULT_KINDS.has(field.kind) || field.kind === 'boolean') return undefined;
  switch (field.kind) {
    case 'integer':
      return INTEGER_PATTERN.test(value) ? undefined : ['notInteger'];
    case 'decimal':
    case 'money':
      return decimalValue(value) === undefined ? ['notNumber'] : undefined;
    case 'date':
      return value === 'today' || DATE_PATTERN.test(value) ? undefined : ['notDate'];
    case 'datetime':
      return value === 'now' || !Number.isNaN(Date.parse(value)) ? undefined : ['notDateTime'];
    case 'enum':
      return field.multiple || field.options.some((option) => option.value.trim() === value) ? undefined : ['notOption'];
    case 'string':
    case 'text':
      if (field.pattern.trim() && isRegExp(field.pattern) && !new RegExp(`^(?:${field.pattern})$`, 'u').test(value)) return ['defaultPattern'];
      return undefined;
    default:
      return undefined;
  }
}

function localizedProblems(text: Localized, path: string, add: (path: string, problem: Problem) => void): void {
  if (!text.ru.trim()) add(`${path}.ru`, ['fillIn']);
  if (!text.en.trim()) add(`${path}.en`, ['fillIn']);
}

/**
 * The definition-schema checks the client can make: keys, labels, limits, options, targets,
 * patterns, defaults, the title template and related tabs. Keys are the server's error paths.
 */
export function checkDraft(draft: TypeDraft, types: readonly StoredDefinition[]): Record<string, Problem> {
  const problems: Record<string, Problem> = {};
  const add = (path: string, problem: Problem) => {
    problems[path] ??= problem;
  };
  if (!TYPE_KEY_PATTERN.test(draft.key.trim())) add('key', ['typeKeyFormat']);
  localizedProblems(draft.names, 'names', add);
  if (draft.colour.trim() && !COLOUR_PATTERN.test(draft.colour.trim())) add('colour', ['badColour']);
  if (draft.fields.length === 0) add('fields', ['noFields']);
  draft.fields.forEach((field, index) => {
    const at = `fields.${index}`;
    const key = field.key.trim();
    if (!FIELD_KEY_PATTERN.test(key)) add(`${at}.key`, ['fieldKeyFormat']);
    else if (draft.fields.findIndex((other) => other.key.trim() === key) < index) add(`${at}.key`, ['duplicateFieldKey', { key }]);
    localizedProblems(field.label, `${at}.label`, add);
    for (const [name, text] of [['help', field.help], ['section', field.section]] as const) {
      if (filled(text)) localizedProblems(text, `${at}.${name}`, add);
    }
    if (LIMIT_KINDS.has(field.kind)) {
      const min = limitProblem(field, field.min);
      const max = limitProblem(field, field.max);
      if (min) add(`${at}.min`, min);
      if (max) add(`${at}.max`, max);
      if (!min && !max && inverted(field)) add(`${at}.min`, ['minAboveMax']);
    }
    if (PATTERN_KINDS.has(field.kind)) {
      if (field.pattern.trim() && !isRegExp(field.pattern)) add(`${at}.pattern`, ['badPattern']);
      if (filled(field.patternMessage)) localizedProblems(field.patternMessage, `${at}.patternMessage`, add);
    }
    if (SCALE_KINDS.has(field.kind) && field.scale.trim() !== '') {
      const scale = Number(field.scale);
      if (!Number.isInteger(scale) || scale < 0 || scale > MAX_SCALE) add(`${at}.scale`, ['badScale']);
    }
    if (field.kind === 'enum') {
      if (field.options.length === 0) add(`${at}.options`, ['noOptions']);
      field.options.forEach((option, optionIndex) => {
        const value = option.value.trim();
        if (!value) add(`${at}.options.${optionIndex}.value`, ['fillIn']);
        else if (field.options.findIndex((other) => other.value.trim() === value) < optionIndex) add(`${at}.options.${optionIndex}.value`, ['duplicateOption', { value }]);
        localizedProblems(option.label, `${at}.options.${optionIndex}.label`, add);
      });
    }
    if (field.kind === 'reference' && field.targets.length === 0) add(`${at}.targets`, ['noTargets']);
    if (field.unique && (!UNIQUE_KINDS.has(field.kind) || (field.kind === 'reference' && field.multiple))) add(`${at}.unique`, ['uniqueNotSupported']);
    const badDefault = defaultProblem(field);
    if (badDefault) add(`${at}.default`, badDefault);
  });

  const template = draft.titleTemplate.trim();
  const named = templateFields(template);
  if (!template) add('titleTemplate', ['fillIn']);
  else if (!templateBalanced(template)) add('titleTemplate', ['templateBraces']);
  else if (named.length === 0) add('titleTemplate', ['templateNoPlaceholder']);
  for (const key of named) {
    const field = draft.fields.find((candidate) => candidate.key.trim() === key);
    if (!field) add('titleTemplate', ['templateUnknownField', { key }]);
    else if (field.kind === 'reference' || field.kind === 'user') add('titleTemplate', ['templateFieldKind', { key }]);
  }

  draft.relatedTabs.forEach((tab, index) => {
    const at = `relatedTabs.${index}`;
    const key = tab.key.trim();
    if (!FIELD_KEY_PATTERN.test(key)) add(`${at}.key`, ['fieldKeyFormat']);
    else if (draft.relatedTabs.findIndex((other) => other.key.trim() === key) < index) add(`${at}.key`, ['duplicateTabKey', { key }]);
    localizedProblems(tab.label, `${at}.label`, add);
    if (!tab.cardType) add(`${at}.cardType`, ['fillIn']);
    else if (!referenceFieldsTo(tab.cardType, draft.key.trim(), types).some((field) => field.key === tab.referenceField)) add(`${at}.referenceField`, ['tabField']);
  });
  return problems;
}

/** Reference fields of `typeKey` that point to cards of `targetKey`: the choices for a related tab. */
export function referenceFieldsTo(typeKey: string, targetKey: string, types: readonly StoredDefinition[]): FieldDef[] {
  const type = types.find((candidate) => candidate.key === typeKey);
  return (type?.fields ?? []).filter((field) => field.kind === 'reference' && (field.targets ?? []).includes(targetKey));
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
