import type { CardTypeDefinition, FieldDefinition } from '../../../card-types';
import { registerFieldKind, validateCardValues, type ValidationOptions } from '../../../card-types';
import requisiteKinds from '../../../plugins/russian-requisites/kinds';

// The kernel as the server runs it with the default PLUGINS: the built-in «Контрагент» uses the
// requisites kinds of the shipped russian-requisites plugin.
for (const kind of requisiteKinds) registerFieldKind(kind);

/** A one-off admin type holding the given fields, titled by the first. */
export function typeWith(...fields: FieldDefinition[]): CardTypeDefinition {
  return {
    key: 'sample',
    names: { ru: 'Образец', en: 'Sample' },
    fields,
    titleTemplate: `{${fields[0]?.key ?? 'x'}}`,
    historyEnabled: false,
    origin: 'admin',
  };
}

export const label = { ru: 'Поле', en: 'Field' };

/** Validates one value of one field: its stored form or its message (Russian unless told). */
export function check(field: FieldDefinition, value: unknown, options: ValidationOptions = {}): { value?: unknown; error?: string } {
  const { values, errors } = validateCardValues(typeWith(field), { [field.key]: value }, options);
  if (field.key in errors) return { error: errors[field.key] };
  return field.key in values ? { value: values[field.key] } : {};
}

export const objectId = '65a1b2c3d4e5f6a7b8c9d0e1';
export const otherObjectId = '65a1b2c3d4e5f6a7b8c9d0e2';
