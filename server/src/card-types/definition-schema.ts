import { z } from 'zod';
import type { Locale } from '../i18n';
import { maxScale, parseDecimal } from './decimal';
import {
  customizableFieldProperties,
  customizableTypeProperties,
  type CardTypeDefinition,
  type FieldDefinition,
  type LocalizedText,
} from './definition';
import { compileField, defaultInput, parseDate, parseDateTime } from './kinds';
import { messages } from './messages';
import { templateBracesBalanced, templateFields } from './title';

const typeKeyPattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const fieldKeyPattern = /^[a-z][a-zA-Z0-9]*$/;

/** Kinds a partial unique index can serve: one comparable value per card. */
const uniqueKinds = new Set(['string', 'integer', 'decimal', 'money', 'date', 'datetime', 'email', 'phone', 'url', 'reference', 'user']);

function isRegExp(source: string): boolean {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}

/** Every property any field kind has: naming one on the wrong kind says so rather than "unknown". */
const anyFieldProperty = new Set(['pattern', 'patternMessage', 'min', 'max', 'scale', 'options', 'multiple', 'targets', 'default']);

type Issue = z.core.$ZodRawIssue;

function buildSchema(locale: Locale) {
  const t = (text: LocalizedText) => text[locale];
  const localized = z.strictObject({
    ru: z.string().trim().min(1, t(messages.fillIn)).max(200),
    en: z.string().trim().min(1, t(messages.fillIn)).max(200),
  });
  const typeKey = z.string().max(64).regex(typeKeyPattern, t(messages.typeKeyFormat));
  const fieldKey = z.string().max(64).regex(fieldKeyPattern, t(messages.fieldKeyFormat));
  const origin = z.enum(['code', 'admin']);
  const length = z.number().int().min(0);
  const decimal = z.string().refine((text) => parseDecimal(text) !== undefined, t(messages.notNumber));
  const date = z.string().refine((text) => parseDate(text) === text, t(messages.notDate));
  const dateTime = z.string().refine((text) => parseDateTime(text) !== undefined, t(messages.notDateTime));

  const base = {
    key: fieldKey,
    label: localized,
    required: z.boolean().optional(),
    unique: z.boolean().optional(),
    help: localized.optional(),
    section: localized.optional(),
    order: z.number().int().optional(),
    listed: z.boolean().optional(),
    hidden: z.boolean().optional(),
    origin: origin.optional(),
    customized: z.array(z.enum(customizableFieldProperties)).optional(),
  };
  const field = z.discriminatedUnion('kind', [
    z.strictObject({
      ...base,
      kind: z.enum(['string', 'text']),
      default: z.string().optional(),
      min: length.optional(),
      max: length.optional(),
      pattern: z.string().refine(isRegExp, t(messages.badPattern)).optional(),
      patternMessage: localized.optional(),
    }),
    z.strictObject({ ...base, kind: z.enum(['email', 'phone', 'url']), default: z.string().optional() }),
    z.strictObject({ ...base, kind: z.literal('integer'), default: z.number().optional(), min: z.number().int().optional(), max: z.number().int().optional() }),
    z.strictObject({
      ...base,
      kind: z.enum(['decimal', 'money']),
      default: z.string().optional(),
      min: decimal.optional(),
      max: decimal.optional(),
      scale: z.number().int().min(0, t(messages.badScale)).max(maxScale, t(messages.badScale)).optional(),
    }),
    z.strictObject({ ...base, kind: z.literal('date'), default: z.string().optional(), min: date.optional(), max: date.optional() }),
    z.strictObject({ ...base, kind: z.literal('datetime'), default: z.string().optional(), min: dateTime.optional(), max: dateTime.optional() }),
    z.strictObject({ ...base, kind: z.literal('boolean'), default: z.boolean().optional() }),
    z.strictObject({
      ...base,
      kind: z.literal('enum'),
      options: z.array(z.strictObject({ value: z.string().trim().min(1, t(messages.fillIn)).max(100), label: localized })),
      multiple: z.boolean().optional(),
      default: z.union([z.string(), z.array(z.string())]).optional(),
    }),
    z.strictObject({ ...base, kind: z.literal('tags'), default: z.array(z.string()).optional() }),
    z.strictObject({ ...base, kind: z.literal('reference'), targets: z.array(typeKey), multiple: z.boolean().optional() }),
    z.strictObject({ ...base, kind: z.literal('user') }),
  ]);
  const relatedTab = z.strictObject({ key: fieldKey, label: localized, cardType: typeKey, referenceField: fieldKey, origin: origin.optional() });

  return z
    .strictObject({
      key: typeKey,
      names: localized,
      fields: z.array(field),
      titleTemplate: z.string().trim().min(1, t(messages.fillIn)).max(200),
      relatedTabs: z.array(relatedTab).optional(),
      historyEnabled: z.boolean(),
      icon: z.string().trim().min(1).max(64).optional(),
      colour: z.string().regex(/^#[0-9a-fA-F]{6}$/, t(messages.badColour)).optional(),
      origin,
      customized: z.array(z.enum(customizableTypeProperties)).optional(),
    })
    .superRefine((definition, context) => {
      for (const [path, message] of consistencyProblems(definition, locale)) context.addIssue({ code: 'custom', path, message });
    });
}

type Path = (string | number)[];
type Problem = [path: Path, message: string];

function limitsInverted(field: FieldDefinition): boolean {
  if (!('min' in field) || field.min === undefined || field.max === undefined) return false;
  if (field.kind === 'decimal' || field.kind === 'money') {
    const [min, max] = [parseDecimal(field.min), parseDecimal(field.max)];
    return min !== undefined && max !== undefined && min.gt(max);
  }
  if (field.kind === 'datetime') return (parseDateTime(field.min) ?? '') > (parseDateTime(field.max) ?? '');
  return field.min > field.max;
}

function fieldProblems(field: FieldDefinition, at: Path, locale: Locale): Problem[] {
  const problems: Problem[] = [];
  const add = (path: Path, text: LocalizedText) => problems.push([[...at, ...path], text[locale]]);
  if (field.kind === 'enum') {
    if (field.options.length === 0) add(['options'], messages.noOptions);
    field.options.forEach((option, index) => {
      if (field.options.findIndex((other) => other.value === option.value) < index) add(['options', index, 'value'], messages.duplicateOption(option.value));
    });
  }
  if (field.kind === 'reference' && field.targets.length === 0) add(['targets'], messages.noTargets);
  if (limitsInverted(field)) add(['min'], messages.minAboveMax);
  if (field.unique && (!uniqueKinds.has(field.kind) || (field.kind === 'reference' && field.multiple))) add(['unique'], messages.uniqueNotSupported);
  const compilable = field.kind !== 'string' && field.kind !== 'text' ? true : field.pattern === undefined || isRegExp(field.pattern);
  if (problems.length === 0 && compilable && 'default' in field && field.default !== undefined) {
    const outcome = compileField({ ...field, required: false })(defaultInput(field, new Date(), 'UTC'), locale);
    if ('error' in outcome) problems.push([[...at, 'default'], outcome.error]);
  }
  return problems;
}

/** Problems that need the whole definition: repeated keys, options, limits, defaults, the title template. */
function consistencyProblems(definition: CardTypeDefinition, locale: Locale): Problem[] {
  const problems: Problem[] = [];
  const add = (path: Path, text: LocalizedText) => problems.push([path, text[locale]]);
  if (definition.fields.length === 0) add(['fields'], messages.noFields);
  definition.fields.forEach((field, index) => {
    if (definition.fields.findIndex((other) => other.key === field.key) < index) add(['fields', index, 'key'], messages.duplicateFieldKey(field.key));
    problems.push(...fieldProblems(field, ['fields', index], locale));
  });
  (definition.relatedTabs ?? []).forEach((tab, index, tabs) => {
    if (tabs.findIndex((other) => other.key === tab.key) < index) add(['relatedTabs', index, 'key'], messages.duplicateTabKey(tab.key));
  });
  const template = definition.titleTemplate;
  const named = templateFields(template);
  if (!templateBracesBalanced(template)) add(['titleTemplate'], messages.templateBraces);
  else if (named.length === 0) add(['titleTemplate'], messages.templateNoPlaceholder);
  for (const key of named) {
    const field = definition.fields.find((candidate) => candidate.key === key);
    if (!field) add(['titleTemplate'], messages.templateUnknownField(key));
    else if (field.kind === 'reference' || field.kind === 'user') add(['titleTemplate'], messages.templateFieldKind(key));
  }
  return problems;
}

/** References and related tabs must point to card types that exist (this one or `knownTypes`). */
function crossTypeProblems(definition: CardTypeDefinition, knownTypes: readonly CardTypeDefinition[], locale: Locale): Problem[] {
  const types = new Map([...knownTypes, definition].map((type) => [type.key, type]));
  const problems: Problem[] = [];
  definition.fields.forEach((field, index) => {
    if (field.kind !== 'reference') return;
    field.targets.forEach((target, targetIndex) => {
      if (!types.has(target)) problems.push([['fields', index, 'targets', targetIndex], messages.unknownCardType(target)[locale]]);
    });
  });
  (definition.relatedTabs ?? []).forEach((tab, index) => {
    const other = types.get(tab.cardType);
    if (!other) {
      problems.push([['relatedTabs', index, 'cardType'], messages.unknownCardType(tab.cardType)[locale]]);
      return;
    }
    const reference = other.fields.find((field) => field.key === tab.referenceField);
    if (reference?.kind !== 'reference' || !reference.targets.includes(definition.key)) {
      problems.push([['relatedTabs', index, 'referenceField'], messages.tabFieldMissing(tab.referenceField, other.names[locale])[locale]]);
    }
  });
  return problems;
}

/** Messages for zod's own issues, where the schema names none. */
function genericMessage(locale: Locale) {
  return (issue: Issue): string => {
    const input: unknown = issue.input;
    if (issue.code === 'invalid_union' && 'discriminator' in issue) {
      const kind = (input as { kind?: unknown } | undefined)?.kind;
      return kind === undefined ? messages.required[locale] : messages.unknownKind(String(kind))[locale];
    }
    if (issue.code === 'invalid_type' && input === undefined) return messages.required[locale];
    if (issue.code === 'too_big' && issue.origin === 'string') return messages.tooLong(Number(issue.maximum))[locale];
    return messages.invalidValue[locale];
  };
}

const schemas = { ru: buildSchema('ru'), en: buildSchema('en') };

/** The zod schema of a card type definition, its messages in `locale`. */
export function cardTypeDefinitionSchema(locale: Locale = 'ru') {
  return schemas[locale];
}

export type DefinitionCheck = { ok: true; definition: CardTypeDefinition } | { ok: false; errors: Record<string, string> };

export interface DefinitionCheckOptions {
  locale?: Locale;
  /** The other card types; when given, reference targets and related tabs are checked against them. */
  knownTypes?: readonly CardTypeDefinition[];
}

/**
 * Validates a card type definition (an administrator's input or a code definition) and returns it
 * with labels trimmed, or a message per offending path: `fields.2.key`, `titleTemplate`, `relatedTabs.0.cardType` ….
 */
export function validateCardTypeDefinition(input: unknown, { locale = 'ru', knownTypes }: DefinitionCheckOptions = {}): DefinitionCheck {
  const parsed = schemas[locale].safeParse(input, { error: genericMessage(locale) });
  const errors: Record<string, string> = {};
  const add = (path: PropertyKey[], message: string) => {
    errors[path.map(String).join('.')] ??= message;
  };
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code !== 'unrecognized_keys') add(issue.path, issue.message);
      else for (const key of issue.keys) add([...issue.path, key], (anyFieldProperty.has(key) ? messages.notForKind : messages.unknownProperty(key))[locale]);
    }
    return { ok: false, errors };
  }
  const definition: CardTypeDefinition = parsed.data;
  for (const [path, message] of knownTypes ? crossTypeProblems(definition, knownTypes, locale) : []) add(path, message);
  return Object.keys(errors).length === 0 ? { ok: true, definition } : { ok: false, errors };
}
