/**
 * The contract of a field kind. One module per kind (`card-types/kinds/<key>.ts`) calls
 * `defineFieldKind` with everything the kernel, the server and the client need to know about it:
 * its settings, how a raw value becomes a stored one, how it reads, how it is searched, filtered,
 * indexed, and which kinds its values convert to and from. Nothing here touches a database or the DOM.
 */
import type { ZodMiniType, output } from 'zod/mini';
import type { FieldDefinition, StoredValue } from './definition';
import type { Locale, LocalizedText } from './locale';
import type { SettingsKit } from './schemas';

/** One raw value checked: its stored form, or why it is wrong. */
export type Outcome = { value: StoredValue } | { error: LocalizedText };

export const ok = (value: StoredValue): Outcome => ({ value });
export const fail = (error: LocalizedText): Outcome => ({ error });

/** The operators of card list filters (`CardFilterInput.op`). */
export const filterOperators = ['contains', 'equals', 'range', 'in', 'empty', 'notEmpty', 'tags'] as const;
export type FilterOperator = (typeof filterOperators)[number];

/** What a kind's values point to: cards (of the field's target types), users, or stored files. */
export type LinkTarget = 'card' | 'user' | 'file';

export interface FormatOptions {
  locale: Locale;
  /** IANA zone for date-times; UTC unless told. */
  timeZone?: string;
  /** How an id of a linked card, user or file reads (a title, a name); the id itself unless told. */
  linkText?: (id: string, target: LinkTarget) => string;
}

/** A value's part of a card's search index: words to find it by, and exact keys (digits, e-mails). */
export interface SearchContribution {
  text?: string[];
  keys?: string[];
}

/** What a spreadsheet or CSV cell holds, once read: text, a number, a flag, or a date (Excel's date cells, in UTC). */
export type CellValue = string | number | boolean | Date;

/** A value as an export writes it into a spreadsheet cell: typed (a number, a date), with Excel's number format and a link. */
export interface ExportCell {
  value: CellValue;
  /** An Excel number format, e.g. `dd.mm.yyyy` or `#,##0.00`. */
  numberFormat?: string;
  /** Makes the cell a clickable link. */
  hyperlink?: string;
}

/** A problem in a field's settings, at a path below the field (`['options', 2, 'value']`). */
export type SettingsProblem = [path: (string | number)[], message: LocalizedText];

export interface ConversionContext<F = FieldDefinition> {
  from: FieldDefinition;
  to: F;
  /** The value as a person reads it in the old field (Russian): what text kinds take. */
  formatted: () => string;
}

/** How a stored value of one kind becomes input for another, or why it cannot. */
export type Carry<F = FieldDefinition> = (value: StoredValue, context: ConversionContext<F>) => { input: unknown } | { reason: LocalizedText };

/** The scalar a kind stores a value as (each item, for a kind whose values are lists). */
export type StoredScalar = 'string' | 'number' | 'boolean';

export type SettingsShape = Record<string, ZodMiniType>;
/** A field of a kind with these settings. */
export type FieldWith<S extends SettingsShape> = FieldDefinition & { [K in keyof S]?: output<S[K]> };

export interface FieldKindSpec<S extends SettingsShape> {
  key: string;
  /** The kind's name in the type designer. */
  labels: LocalizedText;
  /** Place in the designer's list of kinds (smaller first). */
  order: number;
  /**
   * The kind's own properties on a field (`max`, `options`, `default` …), each optional unless the
   * kind needs it, built from the zod/mini pieces it is given (`(z) => ({ max: z.optional(z.int()) })`):
   * only definition checks build it, so pages that only show and edit cards load no zod.
   */
  settingsSchema: (z: SettingsKit) => S;
  /** How the designer names a setting where the common name would mislead (`min` of text: «Не короче (символов)»). */
  settingLabels?: Partial<Record<keyof S, LocalizedText>>;
  /** What the designer says under a setting's input (`default` of a date: «… или today»). */
  settingHints?: Partial<Record<keyof S, LocalizedText>>;
  /** A non-empty raw value (typed by a person, sent by a client, read from a file) → its stored form or a message. */
  parse(raw: unknown, field: FieldWith<S>): Outcome;
  /**
   * The scalar a value is stored as (each item of a list): what sorting and list cursors compare;
   * `'string'` unless told.
   */
  stored?: StoredScalar;
  /**
   * Whether one stored item of the right scalar is in this kind's stored form, the form `format`
   * and `toCell` read (a rating 1–5, an ISO date …); any item of the scalar unless told. A value
   * kept from an earlier kind of the field that is not (`42` in a rating field) is shown as its raw
   * text, marked (`unreadableText`), never given to `format`.
   */
  reads?(item: string | number | boolean, field: FieldWith<S>): boolean;
  /** A stored value as a person reads it; the values joined by commas unless told (ids of a link through `linkText`). */
  format?(value: StoredValue, field: FieldWith<S>, options: FormatOptions): string;
  /**
   * A cell of an imported file → the raw input `parse` takes (Excel's date serials, «Да»/«Нет», option
   * labels …); Date cells become ISO text and everything else is passed on as it is unless told.
   * `link` is the target of the cell's hyperlink, if it has one: a kind that stores an address takes it
   * (what the user clicks) instead of the text shown; others keep the text.
   */
  fromCell?(cell: CellValue, field: FieldWith<S>, link?: string): unknown;
  /** A stored value as an export writes it into a spreadsheet cell; its formatted text unless told. */
  toCell?(value: StoredValue, field: FieldWith<S>, options: FormatOptions): ExportCell;
  /** What search finds a value by; nothing unless told. */
  normalizeForSearch?(value: StoredValue, field: FieldWith<S>): SearchContribution;
  /** The list filter: its operators (`empty` and `notEmpty` always apply), and a bound typed by a person → the stored form compared with. */
  filter: {
    operators: readonly FilterOperator[];
    bound?(text: string, field: FieldWith<S>): StoredValue | undefined;
    /** What a «contains» filter looks for, typed as the form shows a value («7707 083893», «8 912 …»); the text as typed unless told. */
    contains?(text: string, field: FieldWith<S>): string;
    /** Stored as decimal strings: compared as numbers, not as text. */
    decimal?: boolean;
  };
  /** Index hints: may values be unique (a partial unique index), may a list be sorted by them. */
  index?: { unique?: boolean | ((field: FieldWith<S>) => boolean); sortable?: boolean };
  /** Conversions when an administrator changes a field's kind; `from: { '*': … }` takes any kind without links. */
  conversions?: { to?: Record<string, Carry<FieldDefinition>>; from?: Record<string, Carry<FieldWith<S>>> };
  /** Whether a value is a list; never unless told. */
  multiple?(field: FieldWith<S>): boolean;
  /** The most items a list value may hold; MAX_LIST_ITEMS unless told. */
  maxItems?: number;
  /** Problems in settings that the schema alone cannot see (min above max, no options …). */
  settingsProblems?(field: FieldWith<S>): SettingsProblem[];
  /** The raw default on creation (`today`, `now` resolved); the `default` setting unless told. */
  defaultInput?(field: FieldWith<S>, now: Date, timeZone: string): unknown;
  /** Values are ids of cards (of `targets(field)`), users or files: checked and resolved by the server. */
  link?: { to: LinkTarget; targets?(field: FieldWith<S>): string[] };
  /** An example value, for the designer's title example. */
  sample?(field: FieldWith<S>, locale: Locale): StoredValue | undefined;
  /** Loads what `parse` needs and is too big to load before it is needed (the client loads it on demand). */
  load?(): Promise<void>;
}

/** A registered kind, as the kernel uses it: every method takes any field of the kind. */
export interface FieldKind {
  key: string;
  labels: LocalizedText;
  order: number;
  settingsSchema: (z: SettingsKit) => SettingsShape;
  settingLabels: Record<string, LocalizedText | undefined>;
  settingHints: Record<string, LocalizedText | undefined>;
  parse(raw: unknown, field: FieldDefinition): Outcome;
  stored: StoredScalar;
  /** Whether a stored value is in this kind's stored form (what `format` reads as a value of the kind). */
  reads(value: unknown, field: FieldDefinition): boolean;
  /** Total: a value the kind cannot read reads as its raw text, marked (`unreadableText`). */
  format(value: StoredValue, field: FieldDefinition, options: FormatOptions): string;
  fromCell(cell: CellValue, field: FieldDefinition, link?: string): unknown;
  toCell(value: StoredValue, field: FieldDefinition, options: FormatOptions): ExportCell;
  normalizeForSearch(value: StoredValue, field: FieldDefinition): SearchContribution;
  filter: {
    operators: readonly FilterOperator[];
    bound(text: string, field: FieldDefinition): StoredValue | undefined;
    contains(text: string, field: FieldDefinition): string;
    decimal: boolean;
  };
  index: { unique(field: FieldDefinition): boolean; sortable: boolean };
  conversions: { to: Record<string, Carry>; from: Record<string, Carry> };
  multiple(field: FieldDefinition): boolean;
  maxItems: number;
  settingsProblems(field: FieldDefinition): SettingsProblem[];
  defaultInput(field: FieldDefinition, now: Date, timeZone: string): unknown;
  link?: { to: LinkTarget; targets(field: FieldDefinition): string[] };
  sample(field: FieldDefinition, locale: Locale): StoredValue | undefined;
  load(): Promise<void>;
}

/** The most items of a list value (references, files, options) unless its kind says less: far past what a person picks by hand. */
export const MAX_LIST_ITEMS = 1000;

const joined = (value: StoredValue): string => (Array.isArray(value) ? value.join(', ') : String(value));

/** What marks a value shown as it is stored because its field's kind cannot read it. */
export const UNREADABLE_MARK = '⚠\u00a0';

/** A stored value its field's kind cannot read, shown as it is stored (text as it is, anything else as JSON), marked. */
export function unreadableText(value: unknown): string {
  const raw = (item: unknown): string => (typeof item === 'string' ? item : (JSON.stringify(item) ?? String(item)));
  return UNREADABLE_MARK + (Array.isArray(value) ? value.map(raw).join(', ') : raw(value));
}

/** A cell as plain input: a date cell becomes its ISO text (a date alone when it has no time of day). */
export function plainCell(cell: CellValue): unknown {
  if (!(cell instanceof Date)) return cell;
  const iso = cell.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
}

/** Declares a field kind; omitted parts take the plainest behaviour. */
export function defineFieldKind<S extends SettingsShape>(spec: FieldKindSpec<S>): FieldKind {
  const kind = spec as unknown as FieldKindSpec<SettingsShape>;
  const unique = kind.index?.unique ?? false;
  const stored = kind.stored ?? 'string';
  const reads = (value: unknown, field: FieldDefinition): boolean => {
    const items = Array.isArray(value) ? (value as unknown[]) : [value];
    return items.every((item) => typeof item === stored && (kind.reads?.(item as string | number | boolean, field) ?? true));
  };
  const readable = (value: StoredValue, field: FieldDefinition, options: FormatOptions): string => {
    if (kind.format) return kind.format(value, field, options);
    const { link } = kind;
    const { linkText } = options;
    return link && linkText
      ? [value]
          .flat()
          .map((id) => linkText(String(id), link.to))
          .join(', ')
      : joined(value);
  };
  const format = (value: StoredValue, field: FieldDefinition, options: FormatOptions): string => {
    if (!reads(value, field)) return unreadableText(value);
    try {
      return readable(value, field, options);
    } catch {
      return unreadableText(value);
    }
  };
  return {
    key: kind.key,
    labels: kind.labels,
    order: kind.order,
    settingsSchema: kind.settingsSchema,
    settingLabels: kind.settingLabels ?? {},
    settingHints: kind.settingHints ?? {},
    parse: (raw, field) => kind.parse(raw, field),
    stored,
    reads,
    format,
    fromCell: (cell, field, link) => (kind.fromCell ? kind.fromCell(cell, field, link) : plainCell(cell)),
    toCell: (value, field, options) => (kind.toCell && reads(value, field) ? kind.toCell(value, field, options) : { value: format(value, field, options) }),
    // A value the kind cannot read is found by its text as stored.
    normalizeForSearch: (value, field) => (reads(value, field) ? (kind.normalizeForSearch?.(value, field) ?? {}) : { text: [unreadableText(value).slice(UNREADABLE_MARK.length)] }),
    filter: {
      operators: [...new Set([...kind.filter.operators, 'empty', 'notEmpty'] as const)],
      bound: (text, field) => (kind.filter.bound ? kind.filter.bound(text, field) : text),
      contains: (text, field) => (kind.filter.contains ? kind.filter.contains(text, field) : text),
      decimal: kind.filter.decimal ?? false,
    },
    index: { unique: (field) => (typeof unique === 'function' ? unique(field) : unique), sortable: kind.index?.sortable ?? true },
    conversions: { to: kind.conversions?.to ?? {}, from: (kind.conversions?.from ?? {}) as Record<string, Carry> },
    multiple: (field) => kind.multiple?.(field) ?? false,
    maxItems: kind.maxItems ?? MAX_LIST_ITEMS,
    settingsProblems: (field) => kind.settingsProblems?.(field) ?? [],
    defaultInput: (field, now, timeZone) => (kind.defaultInput ? kind.defaultInput(field, now, timeZone) : field.default),
    link: kind.link && { to: kind.link.to, targets: (field) => kind.link?.targets?.(field) ?? [] },
    sample: (field, locale) => kind.sample?.(field, locale),
    load: () => kind.load?.() ?? Promise.resolve(),
  };
}
