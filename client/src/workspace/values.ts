/**
 * Card values between their stored form (API) and a card form. A form holds, per field, what the
 * field's kind component entered (a stored value is such an entry); the kernel checks and
 * normalises it exactly as the server will, with the same messages.
 */
import { defaultInput, validateCardValues, type CardTypeDefinition, type CardValues, type FieldDefinition, type Locale } from '../../../card-types';
import { localTimeZone } from '../field-kinds/format';
import type { FieldValue } from './api';

/** What a form holds per field key. */
export type FormValues = Record<string, unknown>;

/** A form's starting values: the card's, or each field's default (today's date in local time …) for a new card. */
export function initialForm(fields: FieldDefinition[], stored: Record<string, FieldValue> | null, prefill: Record<string, FieldValue> = {}): FormValues {
  const now = new Date();
  return Object.fromEntries(fields.map((field) => [field.key, stored ? stored[field.key] : (prefill[field.key] ?? defaultInput(field, now, localTimeZone()))]));
}

/** The form checked by the kernel: stored values of the filled fields, or a message per field (as the server would say it). */
export function checkForm(fields: FieldDefinition[], form: FormValues, locale: Locale): { values: CardValues; errors: Record<string, string> } {
  const type: Pick<CardTypeDefinition, 'fields'> = { fields };
  return validateCardValues(type as CardTypeDefinition, Object.fromEntries(fields.map((field) => [field.key, form[field.key]])), { locale });
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Only what changed against the stored values; null clears a field. */
export function changedValues(fields: FieldDefinition[], stored: Record<string, FieldValue>, values: CardValues): Record<string, FieldValue> {
  const patch: Record<string, FieldValue> = {};
  for (const field of fields) {
    const next = values[field.key] ?? null;
    if (!same(next, stored[field.key])) patch[field.key] = next;
  }
  return patch;
}
