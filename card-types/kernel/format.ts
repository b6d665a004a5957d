import type { FieldDefinition, StoredValue } from './definition';
import type { FormatOptions } from './field-kind';
import { kindOf } from './registry';

/** A stored value as a person reads it: option labels, «Да»/«Нет», formatted dates and numbers, lists joined. */
export function formatValue(field: FieldDefinition, value: StoredValue, options: FormatOptions): string {
  return kindOf(field).format(value, field, options);
}
