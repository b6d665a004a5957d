/**
 * A card type as data. Built-in types are written in `card-types/built-in/` as code, administrators
 * define more at run time; both have this shape, and `definition-schema.ts` validates it. What a
 * field's `kind` means — its settings, how values are parsed and shown — is the kind's module in
 * `card-types/kinds/`.
 */
import type { LocalizedText } from './locale';

/** Where a definition (or one of its fields or tabs) came from. */
export type Origin = 'code' | 'admin';

/** Whom a required field binds: every card, or new cards and edits that touch the field only. */
export const requiredForValues = ['all', 'newAndEdited'] as const;
export type RequiredFor = (typeof requiredForValues)[number];

/** Field properties an administrator may change on a field that comes from code. */
export const customizableFieldProperties = ['label', 'help', 'section', 'order', 'listed', 'hidden'] as const;
export type CustomizableFieldProperty = (typeof customizableFieldProperties)[number];

/** Type properties an administrator may change on a type that comes from code. */
export const customizableTypeProperties = ['names', 'titleTemplate', 'icon', 'colour'] as const;
export type CustomizableTypeProperty = (typeof customizableTypeProperties)[number];

/** What every field has, whatever its kind. */
export interface FieldBase {
  /** Latin, starts with a lower-case letter (`legalAddress`); values live under `values.<key>`; never changes. */
  key: string;
  /** The key of a registered field kind (`string`, `money`, `reference` …). */
  kind: string;
  label: LocalizedText;
  required?: boolean;
  /**
   * Whom `required` binds: every card (absent, `all`), or — accepted by an administrator when a field
   * became required while cards lacked it — only new cards and edits that touch the field
   * (`newAndEdited`): a card saved without touching the empty field is not refused.
   */
  requiredFor?: RequiredFor;
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

/**
 * A field: the common properties and its kind's settings (`max`, `options`, `targets`, `default` …),
 * which the kind's `settingsSchema` describes and checks.
 */
export interface FieldDefinition extends FieldBase {
  [setting: string]: unknown;
}

/** The settings of an enum field's choice. */
export interface EnumOption {
  value: string;
  label: LocalizedText;
}

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
  /** The plugin whose code defines the type (its origin is then `code`); kept when the plugin is switched off. */
  plugin?: string;
  customized?: CustomizableTypeProperty[];
  /**
   * The stored revision, kept by the server: every save of the type adds one. A change must name the
   * revision it was made from; one made from an older revision is refused (another save came first).
   */
  version?: number;
}

/** Card values in their stored form, by field key; empty fields are absent. */
export type StoredValue = string | number | boolean | string[];
export type CardValues = Record<string, StoredValue>;

/** Fields in display order (by `order`, then by their place in the definition), hidden ones included. */
export function orderedFields(type: Pick<CardTypeDefinition, 'fields'>): FieldDefinition[] {
  return type.fields
    .map((field, index) => ({ field, rank: field.order ?? index }))
    .sort((a, b) => a.rank - b.rank)
    .map(({ field }) => field);
}

/** The fields shown in forms and lists, in display order. */
export function visibleFields(type: Pick<CardTypeDefinition, 'fields'>): FieldDefinition[] {
  return orderedFields(type).filter((field) => !field.hidden);
}
