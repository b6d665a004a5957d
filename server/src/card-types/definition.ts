/**
 * A card type as data. Built-in types are written in `card-types/` as code, administrators
 * define more at run time; both have this shape, and `definition-schema.ts` validates it.
 */

export interface LocalizedText {
  ru: string;
  en: string;
}

export const fieldKinds = [
  'string',
  'text',
  'integer',
  'decimal',
  'money',
  'date',
  'datetime',
  'boolean',
  'enum',
  'email',
  'phone',
  'url',
  'tags',
  'reference',
  'user',
] as const;

export type FieldKind = (typeof fieldKinds)[number];

export const fieldKindLabels: Record<FieldKind, LocalizedText> = {
  string: { ru: 'Строка', en: 'Line of text' },
  text: { ru: 'Многострочный текст', en: 'Multi-line text' },
  integer: { ru: 'Целое число', en: 'Whole number' },
  decimal: { ru: 'Десятичное число', en: 'Decimal number' },
  money: { ru: 'Сумма', en: 'Money' },
  date: { ru: 'Дата', en: 'Date' },
  datetime: { ru: 'Дата и время', en: 'Date and time' },
  boolean: { ru: 'Да/нет', en: 'Yes/no' },
  enum: { ru: 'Список значений', en: 'Choice' },
  email: { ru: 'E-mail', en: 'E-mail' },
  phone: { ru: 'Телефон', en: 'Phone' },
  url: { ru: 'Адрес сайта', en: 'Web address' },
  tags: { ru: 'Метки', en: 'Tags' },
  reference: { ru: 'Ссылка на карточку', en: 'Card reference' },
  user: { ru: 'Пользователь', en: 'User' },
};

/** Where a definition (or one of its fields or tabs) came from. */
export type Origin = 'code' | 'admin';

/** Field properties an administrator may change on a field that comes from code. */
export const customizableFieldProperties = ['label', 'help', 'section', 'order', 'listed', 'hidden'] as const;
export type CustomizableFieldProperty = (typeof customizableFieldProperties)[number];

/** Type properties an administrator may change on a type that comes from code. */
export const customizableTypeProperties = ['names', 'titleTemplate', 'icon', 'colour'] as const;
export type CustomizableTypeProperty = (typeof customizableTypeProperties)[number];

interface FieldBase<K extends FieldKind> {
  /** Latin, starts with a lower-case letter (`legalAddress`); values live under `values.<key>`; never changes. */
  key: string;
  kind: K;
  label: LocalizedText;
  required?: boolean;
  /** Unique among the cards of the type (enforced by a partial unique index, planned by `planFieldChange`). */
  unique?: boolean;
  help?: LocalizedText;
  /** The form section the field belongs to (fields with the same `section.ru` are grouped). */
  section?: LocalizedText;
  /** Position in forms and lists; fields without it keep their place in `fields`. */
  order?: number;
  /** Shown as a column in card lists. */
  listed?: boolean;
  /** A removed field: hidden from forms and lists, its values kept and restorable. */
  hidden?: boolean;
  /** Absent means the same origin as the type. */
  origin?: Origin;
  /** Properties of a code field that an administrator changed; a newer code definition keeps them. */
  customized?: CustomizableFieldProperty[];
}

/** `string` is one line, `text` several. `min`/`max` limit the length in characters. */
export interface TextField extends FieldBase<'string' | 'text'> {
  default?: string;
  min?: number;
  max?: number;
  /** A JavaScript regular expression the whole value must match (implicitly anchored, like HTML `pattern`). */
  pattern?: string;
  /** Shown when the pattern does not match; «Неверный формат» otherwise. */
  patternMessage?: LocalizedText;
}

export interface ContactField extends FieldBase<'email' | 'phone' | 'url'> {
  default?: string;
}

export interface IntegerField extends FieldBase<'integer'> {
  default?: number;
  min?: number;
  max?: number;
}

/** Exact decimals, stored as canonical strings ("1234.50"). `min`/`max` are decimal strings. */
export interface DecimalField extends FieldBase<'decimal' | 'money'> {
  default?: string;
  min?: string;
  max?: string;
  /** Digits after the point, 0–10. Money has 2 unless told; a decimal without it keeps up to 10 and drops trailing zeros. */
  scale?: number;
}

/** Stored as 'YYYY-MM-DD'; `default: 'today'` fills in the creation date. */
export interface DateField extends FieldBase<'date'> {
  default?: string;
  min?: string;
  max?: string;
}

/** Stored as an ISO 8601 UTC string; `default: 'now'` fills in the creation time. */
export interface DateTimeField extends FieldBase<'datetime'> {
  default?: string;
  min?: string;
  max?: string;
}

export interface BooleanField extends FieldBase<'boolean'> {
  default?: boolean;
}

export interface EnumOption {
  value: string;
  label: LocalizedText;
}

/** One value (`multiple` off) or a list of values, each one of `options`. */
export interface EnumField extends FieldBase<'enum'> {
  options: EnumOption[];
  multiple?: boolean;
  default?: string | string[];
}

/** Free-form labels, stored as a list of unique trimmed strings. */
export interface TagsField extends FieldBase<'tags'> {
  default?: string[];
}

/** Ids of cards of the `targets` types (card type keys). */
export interface ReferenceField extends FieldBase<'reference'> {
  targets: string[];
  multiple?: boolean;
}

/** The id of a user. */
export type UserField = FieldBase<'user'>;

export type FieldDefinition =
  | TextField
  | ContactField
  | IntegerField
  | DecimalField
  | DateField
  | DateTimeField
  | BooleanField
  | EnumField
  | TagsField
  | ReferenceField
  | UserField;

/** A tab listing the cards of `cardType` whose `referenceField` points to this card. */
export interface RelatedTab {
  key: string;
  label: LocalizedText;
  cardType: string;
  referenceField: string;
  origin?: Origin;
}

export interface CardTypeDefinition {
  /** Lower-case latin words joined by dashes: `contact-person`. */
  key: string;
  names: LocalizedText;
  fields: FieldDefinition[];
  /** Field keys in braces and literal text: `{number} от {date}`. */
  titleTemplate: string;
  relatedTabs?: RelatedTab[];
  /** Change history on or off; an operational setting, so an administrator's choice always wins. */
  historyEnabled: boolean;
  /** An icon name from the client's icon set. */
  icon?: string;
  /** `#RRGGBB`. */
  colour?: string;
  origin: Origin;
  customized?: CustomizableTypeProperty[];
}

/** Card values in their stored form, by field key; empty fields are absent. */
export type StoredValue = string | number | boolean | string[];
export type CardValues = Record<string, StoredValue>;

/** Kinds whose value may be a list. */
export function isMultiValued(field: FieldDefinition): boolean {
  return field.kind === 'tags' || ((field.kind === 'enum' || field.kind === 'reference') && field.multiple === true);
}

/** Fields in display order (by `order`, then by their place in the definition), hidden ones included. */
export function orderedFields(type: CardTypeDefinition): FieldDefinition[] {
  return type.fields
    .map((field, index) => ({ field, rank: field.order ?? index }))
    .sort((a, b) => a.rank - b.rank)
    .map(({ field }) => field);
}

/** The fields shown in forms and lists, in display order. */
export function visibleFields(type: CardTypeDefinition): FieldDefinition[] {
  return orderedFields(type).filter((field) => !field.hidden);
}
