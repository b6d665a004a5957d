/**
 * Card values between their stored form (API) and a card form. A form holds, per field, what the
 * field's kind component entered (a stored value is such an entry); the kernel checks and
 * normalises it exactly as the server will, with the same messages.
 */
import { defaultInput, isEmptyValue, validateCardValues, type CardTypeDefinition, type CardValues, type FieldDefinition, type Locale } from '../../../card-types';
import { localTimeZone } from '../field-kinds/format';
import type { FieldValue } from './api';

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** What a form holds per field key. */
export type FormValues = Record<string, unknown>;

/** A form's starting values: the card's, or each field's default (today's date in local time …) for a new card. */
export function initialForm(fields: FieldDefinition[], stored: Record<string, FieldValue> | null, prefill: Record<string, FieldValue> = {}): FormValues {
  const now = new Date();
  return Object.fromEntries(fields.map((field) => [field.key, stored ? stored[field.key] : (prefill[field.key] ?? defaultInput(field, now, localTimeZone()))]));
}

/**
 * The form checked by the kernel: stored values of the filled fields, or a message per field (as the
 * server would say it). Editing a card (`stored` given), a field the edit leaves as it was counts as
 * untouched, as on the server: an empty field required for new and edited cards only is not refused.
 */
export function checkForm(
  fields: FieldDefinition[],
  form: FormValues,
  locale: Locale,
  stored?: Record<string, FieldValue>,
): { values: CardValues; errors: Record<string, string> } {
  const type: Pick<CardTypeDefinition, 'fields'> = { fields };
  const left = (key: string) => same(form[key], stored?.[key]) || (isEmptyValue(form[key]) && isEmptyValue(stored?.[key]));
  const touched = stored ? new Set(fields.filter((field) => !left(field.key)).map((field) => field.key)) : undefined;
  return validateCardValues(type as CardTypeDefinition, Object.fromEntries(fields.map((field) => [field.key, form[field.key]])), {
    locale,
    touched,
    stored: stored as CardValues | undefined,
  });
}

/** Only what changed against the stored values; null clears a field. */
export function changedValues(fields: FieldDefinition[], stored: Record<string, FieldValue>, values: CardValues): Record<string, FieldValue> {
  const patch: Record<string, FieldValue> = {};
  for (const field of fields) {
    const next = values[field.key] ?? null;
    if (!same(next, stored[field.key])) patch[field.key] = next;
  }
  return patch;
}

/**
 * After a CONFLICT: the fields of `mine` (the user's changes to `base`, the version they edited)
 * that someone else changed too, to a different value — the only ones the user has to decide.
 * A field only the user changed is not among them: their change simply goes on top of the new version.
 */
export function contestedKeys(mine: Record<string, FieldValue>, base: Record<string, FieldValue>, current: Record<string, FieldValue>): string[] {
  return Object.keys(mine).filter((key) => !same(current[key] ?? null, base[key]) && !same(mine[key] ?? null, current[key]));
}
