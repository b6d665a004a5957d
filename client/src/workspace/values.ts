/** Card values between their stored form (API), the form's editing form and display text. */
import type { CardValues, FieldDef, FieldValue } from './api';

/** What a form control holds: text for scalar kinds, a flag for booleans, a list for multi-valued kinds. */
export type FormValue = string | boolean | string[];

/** Kinds edited as a list (a single reference too: the picker holds at most one). */
export const isMultiValued = (field: FieldDef): boolean => field.kind === 'tags' || field.kind === 'reference' || (field.kind === 'enum' && Boolean(field.multiple));

export function isEmptyValue(value: FieldValue | FormValue | undefined): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'string' && value.trim() === '';
}

const pad = (n: number) => String(n).padStart(2, '0');

/** ISO instant → the value of an <input type="datetime-local"> in local time. */
function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function toFormValue(field: FieldDef, value: FieldValue | undefined): FormValue {
  if (isMultiValued(field)) return Array.isArray(value) ? [...value] : value == null || value === '' ? [] : [String(value)];
  if (field.kind === 'boolean') return value === true;
  if (value === null || value === undefined) return '';
  if (field.kind === 'datetime') return toLocalInput(String(value));
  return String(value);
}

/** The form's value in the API's form; null when empty (the server then clears the field). */
export function fromFormValue(field: FieldDef, value: FormValue): FieldValue {
  if (Array.isArray(value)) {
    if (value.length === 0) return null;
    return field.kind === 'reference' && !field.multiple ? value[0] : value;
  }
  if (typeof value === 'boolean') return value;
  const text = value.trim();
  if (text === '') return null;
  switch (field.kind) {
    case 'integer':
      return /^[-+]?\d+$/.test(text) ? Number(text) : text;
    case 'decimal':
    case 'money':
      // Exact decimals stay text; a decimal comma and spaces between digit groups are accepted.
      return text.replace(/[\s\u00a0]/g, '').replace(',', '.');
    case 'datetime': {
      const d = new Date(text);
      return Number.isNaN(d.getTime()) ? text : d.toISOString();
    }
    default:
      return text;
  }
}

/** A form's starting values: the card's, or each field's default for a new card. */
export function initialForm(fields: FieldDef[], stored: CardValues | null, prefill: CardValues = {}): Record<string, FormValue> {
  const today = new Date();
  return Object.fromEntries(
    fields.map((field) => {
      let value: FieldValue | undefined = stored ? stored[field.key] : (prefill[field.key] ?? (field.default as FieldValue | undefined));
      if (!stored && field.kind === 'date' && value === 'today') value = `${today.getFullYear()}-${pad(today.getMonth() + 1)}-${pad(today.getDate())}`;
      if (!stored && field.kind === 'datetime' && value === 'now') value = today.toISOString();
      return [field.key, toFormValue(field, value)];
    }),
  );
}

const same = (a: FieldValue, b: FieldValue): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Only what changed against the stored values; null clears a field. */
export function changedValues(fields: FieldDef[], stored: CardValues, form: Record<string, FormValue>): CardValues {
  const patch: CardValues = {};
  for (const field of fields) {
    const next = fromFormValue(field, form[field.key]);
    if (!same(next, stored[field.key] ?? null)) patch[field.key] = next;
  }
  return patch;
}

/** Values for a new card: the filled fields only. */
export function filledValues(fields: FieldDef[], form: Record<string, FormValue>): CardValues {
  return Object.fromEntries(
    fields.map((field) => [field.key, fromFormValue(field, form[field.key])] as const).filter(([, value]) => value !== null && value !== false),
  );
}

export interface DisplayContext {
  locale: string;
  userName: (id: string) => string | undefined;
  /** Titles of referenced cards by id; null means «нет доступа». */
  referenceTitle: (id: string) => string | null | undefined;
  noAccess: string;
  yes: string;
  no: string;
}

/** A stored value as text for lists, views and history. */
export function displayValue(field: FieldDef | undefined, value: FieldValue | undefined, ctx: DisplayContext): string {
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) return '';
  if (!field) return Array.isArray(value) ? value.join(', ') : String(value);
  const list = Array.isArray(value) ? value : [value];
  switch (field.kind) {
    case 'boolean':
      return value === true ? ctx.yes : ctx.no;
    case 'enum':
      return list.map((v) => field.options?.find((o) => o.value === v)?.label[ctx.locale === 'en' ? 'en' : 'ru'] ?? String(v)).join(', ');
    case 'reference':
      return list.map((id) => {
        const title = ctx.referenceTitle(String(id));
        return title === null ? ctx.noAccess : (title ?? '…');
      }).join(', ');
    case 'user':
      return list.map((id) => ctx.userName(String(id)) ?? '…').join(', ');
    case 'date': {
      const [y, m, d] = String(value).split('-');
      return d ? `${d}.${m}.${y}` : String(value);
    }
    case 'datetime': {
      const date = new Date(String(value));
      return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString(ctx.locale === 'en' ? 'en-GB' : 'ru-RU', { dateStyle: 'short', timeStyle: 'short' });
    }
    case 'money':
    case 'decimal': {
      // Group the integer part for reading without turning the exact string into a float.
      const [int, frac] = String(value).split('.');
      const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');
      return frac !== undefined ? `${grouped}${ctx.locale === 'en' ? '.' : ','}${frac}` : grouped;
    }
    default:
      return list.map(String).join(', ');
  }
}
