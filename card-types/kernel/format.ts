import type { FieldDefinition, StoredValue } from './definition';
import { unreadableText, type FormatOptions } from './field-kind';
import { kindOf } from './registry';

/**
 * A stored value as a person reads it: option labels, «Да»/«Нет», formatted dates and numbers, lists
 * joined. Total: a value the field's kind cannot read (kept from an earlier kind of the field, or
 * of a kind no plugin provides now) reads as its raw text, marked «⚠».
 */
export function formatValue(field: FieldDefinition, value: StoredValue, options: FormatOptions): string {
  try {
    return kindOf(field).format(value, field, options);
  } catch {
    return unreadableText(value);
  }
}
