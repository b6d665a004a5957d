/**
 * Validation of card type definitions (an administrator's input, a code definition, a stored one):
 * the common shape, each field's kind settings from the kind's `settingsSchema`, and the checks that
 * need the whole definition. The client's designer runs the same function before sending.
 */
import * as z from 'zod/mini';
import { customizableFieldProperties, customizableTypeProperties, requiredForValues, type CardTypeDefinition, type FieldDefinition } from './definition';
import type { Locale, LocalizedText } from './locale';
import { current, inLocale, messages, say } from './messages';
import type { FieldKind, SettingsShape } from './field-kind';
import { cardTargets, fieldKinds, findFieldKind, kindOf, kindsGeneration, referenceFieldsTo } from './registry';
import { schemas } from './schemas';
import { templateBracesBalanced, templateFields } from './title';
import { checkFieldValue, defaultInput } from './values';

type Path = (string | number)[];

/**
 * The most fields a type has, hidden ones included: each is a column of its lists, a control of its
 * form and a key of every card's values; a type past it is a sign that it should be two.
 */
export const MAX_FIELDS_PER_TYPE = 200;
type Problem = [path: Path, message: LocalizedText];

function fieldProblems(field: FieldDefinition, at: Path): Problem[] {
  const kind = kindOf(field);
  const problems: Problem[] = kind.settingsProblems(field).map(([path, message]) => [[...at, ...path], message]);
  if (field.unique && !kind.index.unique(field)) problems.push([[...at, 'unique'], messages.uniqueNotSupported]);
  if (field.requiredFor !== undefined && !field.required) problems.push([[...at, 'requiredFor'], messages.requiredForOptional]);
  if (problems.length === 0 && field.default !== undefined) {
    const outcome = checkFieldValue({ ...field, required: false }, defaultInput(field, new Date(), 'UTC'));
    if ('error' in outcome) problems.push([[...at, 'default'], outcome.error]);
  }
  return problems;
}

/** Problems that need the whole definition: repeated keys, settings, defaults, the title template. */
function consistencyProblems(definition: CardTypeDefinition): Problem[] {
  const problems: Problem[] = [];
  const add = (path: Path, text: LocalizedText) => problems.push([path, text]);
  if (definition.fields.length === 0) add(['fields'], messages.noFields);
  if (definition.fields.length > MAX_FIELDS_PER_TYPE) add(['fields'], messages.tooManyFields(MAX_FIELDS_PER_TYPE, definition.fields.length));
  definition.fields.forEach((field, index) => {
    if (definition.fields.findIndex((other) => other.key === field.key) < index) add(['fields', index, 'key'], messages.duplicateFieldKey(field.key));
    // A stored field of a kind whose plugin is off keeps the settings that plugin gave it, unchecked.
    if (findFieldKind(field.kind)) problems.push(...fieldProblems(field, ['fields', index]));
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
    else if (kindOf(field).link) add(['titleTemplate'], messages.templateFieldKind(key));
  }
  return problems;
}

const sameName = (a: string, b: string) => a.trim() !== '' && a.trim().toLocaleLowerCase('ru') === b.trim().toLocaleLowerCase('ru');

/** The type's name must differ from every other type's, in each language. */
function namesakes(type: Pick<CardTypeDefinition, 'key' | 'names'>, knownTypes: readonly Pick<CardTypeDefinition, 'key' | 'names'>[]): Problem[] {
  const problems: Problem[] = [];
  for (const language of ['ru', 'en'] as const) {
    const namesake = knownTypes.find((other) => other.key !== type.key && sameName(type.names[language] ?? '', other.names[language]));
    if (namesake) problems.push([['names', language], { ru: messages.sameTypeName(namesake.names.ru).ru, en: messages.sameTypeName(namesake.names.en).en }]);
  }
  return problems;
}

/** Other types' names this type's name repeats, by path (`names.ru`, `names.en`): the designer shows them as the name is typed. */
export function namesakeProblems(
  type: Pick<CardTypeDefinition, 'key' | 'names'>,
  knownTypes: readonly Pick<CardTypeDefinition, 'key' | 'names'>[],
  locale: Locale,
): Record<string, string> {
  return Object.fromEntries(namesakes(type, knownTypes).map(([path, message]) => [path.join('.'), message[locale]]));
}

/**
 * References and related tabs must point to card types that exist (this one or `knownTypes`), and
 * the type's name must differ from every other type's, in each language.
 */
function crossTypeProblems(definition: CardTypeDefinition, knownTypes: readonly CardTypeDefinition[], locale: Locale): Problem[] {
  const types = new Map([...knownTypes, definition].map((type) => [type.key, type]));
  const problems: Problem[] = namesakes(definition, knownTypes);
  definition.fields.forEach((field, index) => {
    (cardTargets(field) ?? []).forEach((target, targetIndex) => {
      if (!types.has(target)) problems.push([['fields', index, 'targets', targetIndex], messages.unknownCardType(target)]);
    });
  });
  (definition.relatedTabs ?? []).forEach((tab, index) => {
    const other = types.get(tab.cardType);
    if (!other) problems.push([['relatedTabs', index, 'cardType'], messages.unknownCardType(tab.cardType)]);
    else if (!referenceFieldsTo(other, definition.key).some((field) => field.key === tab.referenceField)) {
      problems.push([['relatedTabs', index, 'referenceField'], messages.tabFieldMissing(tab.referenceField, other.names[locale])]);
    }
  });
  return problems;
}

const settingsByKind = new WeakMap<FieldKind, SettingsShape>();

/** A kind's settings schema (built once per kind): the zod schema of each of its settings, by name. */
export function settingsSchemaOf(kind: FieldKind): SettingsShape {
  let settings = settingsByKind.get(kind);
  if (!settings) settingsByKind.set(kind, (settings = kind.settingsSchema(schemas().kit)));
  return settings;
}

/**
 * `strangers`: the stored type's fields of kinds no plugin registers now (key → kind). Sent back as
 * they are stored, such a field passes (its settings are its plugin's); a new field of such a kind
 * does not.
 */
function buildSchema(strangers: ReadonlyMap<string, string> = new Map()) {
  const { localized, typeKey, fieldKey } = schemas();
  const origin = z.enum(['code', 'admin']);
  const fieldBase = {
    key: fieldKey,
    label: localized,
    required: z.optional(z.boolean()),
    requiredFor: z.optional(z.enum(requiredForValues)),
    unique: z.optional(z.boolean()),
    help: z.optional(localized),
    section: z.optional(localized),
    order: z.optional(z.int()),
    listed: z.optional(z.boolean()),
    hidden: z.optional(z.boolean()),
    origin: z.optional(origin),
    customized: z.optional(z.array(z.enum(customizableFieldProperties))),
  };
  const kinds = fieldKinds();
  const fieldSchemas = kinds.map((kind) => z.strictObject({ ...fieldBase, kind: z.literal(kind.key), ...settingsSchemaOf(kind) }));
  for (const kind of new Set(strangers.values())) {
    const stored = z.looseObject({ ...fieldBase, kind: z.literal(kind) }).check(z.refine((candidate) => strangers.get(candidate.key) === kind, say(messages.unknownKind(kind))));
    fieldSchemas.push(stored as unknown as (typeof fieldSchemas)[number]);
  }
  const field = fieldSchemas.length > 0 ? z.discriminatedUnion('kind', fieldSchemas as [(typeof fieldSchemas)[number], ...(typeof fieldSchemas)[number][]]) : z.never();
  const relatedTab = z.strictObject({ key: fieldKey, label: localized, cardType: typeKey, referenceField: fieldKey, origin: z.optional(origin) });
  return z
    .strictObject({
      key: typeKey,
      names: localized,
      fields: z.array(field),
      titleTemplate: z.string().check(z.trim(), z.minLength(1, say(messages.fillIn)), z.maxLength(200)),
      relatedTabs: z.optional(z.array(relatedTab)),
      historyEnabled: z.boolean(),
      icon: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(64))),
      colour: z.optional(z.string().check(z.regex(/^#[0-9a-fA-F]{6}$/, say(messages.badColour)))),
      origin,
      plugin: z.optional(z.string()),
      customized: z.optional(z.array(z.enum(customizableTypeProperties))),
      version: z.optional(z.int()),
    })
    .check(
      z.superRefine((definition, context) => {
        for (const [path, message] of consistencyProblems(definition as CardTypeDefinition)) context.addIssue({ code: 'custom', path, message: current(message) });
      }),
    );
}

let built: { generation: number; schema: ReturnType<typeof buildSchema> } | undefined;

/** The zod schema of a card type definition (over the kinds registered now, and `strangers`: see buildSchema); run it inside `inLocale`. */
export function cardTypeDefinitionSchema(strangers: ReadonlyMap<string, string> = new Map()): ReturnType<typeof buildSchema> {
  if (strangers.size > 0) return buildSchema(strangers);
  if (built?.generation !== kindsGeneration()) built = { generation: kindsGeneration(), schema: buildSchema() };
  return built.schema;
}

/** Every setting some kind has: naming one on the wrong kind says so rather than "unknown". */
const anySetting = (key: string): boolean => fieldKinds().some((kind) => key in settingsSchemaOf(kind));

/** Messages for zod's own issues, where the schema names none. */
function genericMessage(issue: z.core.$ZodRawIssue): string {
  const input: unknown = issue.input;
  if (issue.code === 'invalid_union' && 'discriminator' in issue) {
    const kind = (input as { kind?: unknown } | undefined)?.kind;
    return current(kind === undefined ? messages.required : messages.unknownKind(String(kind)));
  }
  if (issue.code === 'invalid_type' && input === undefined) return current(messages.required);
  if (issue.code === 'too_big' && issue.origin === 'string') return current(messages.tooLong(Number(issue.maximum)));
  return current(messages.invalidValue);
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
  return inLocale(locale, () => {
    const key = (input as { key?: unknown } | null)?.key;
    const stored = knownTypes?.find((type) => type.key === key);
    const strangers = new Map((stored?.fields ?? []).filter((field) => !findFieldKind(field.kind)).map((field) => [field.key, field.kind]));
    const parsed = cardTypeDefinitionSchema(strangers).safeParse(input, { error: genericMessage });
    const errors: Record<string, string> = {};
    const add = (path: PropertyKey[], message: string) => {
      errors[path.map(String).join('.')] ??= message;
    };
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issue.code !== 'unrecognized_keys') add(issue.path, issue.message);
        else for (const key of issue.keys) add([...issue.path, key], current(anySetting(key) ? messages.notForKind : messages.unknownProperty(key)));
      }
      return { ok: false, errors };
    }
    const definition = parsed.data as CardTypeDefinition;
    for (const [path, message] of knownTypes ? crossTypeProblems(definition, knownTypes, locale) : []) add(path, message[locale]);
    return Object.keys(errors).length === 0 ? { ok: true, definition } : { ok: false, errors };
  });
}
