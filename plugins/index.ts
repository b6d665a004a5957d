import type { CardHookContext, FieldErrors, Plugin } from './api';
import { russianRequisites } from './russian-requisites/index';

export type * from './api';

/** Every plugin that ships with Kartoteka. */
export const availablePlugins: readonly Plugin[] = [russianRequisites];

/** The enabled plugins, by name (all of them unless told); an unknown name is a start-up error. */
export function loadPlugins(enabled: readonly string[] = availablePlugins.map((plugin) => plugin.name)): Plugin[] {
  const unknown = enabled.filter((name) => !availablePlugins.some((plugin) => plugin.name === name));
  if (unknown.length > 0) {
    throw new Error(`Unknown plugin(s): ${unknown.join(', ')}; available: ${availablePlugins.map((plugin) => plugin.name).join(', ')}`);
  }
  return availablePlugins.filter((plugin) => enabled.includes(plugin.name));
}

function hasValue(value: unknown): boolean {
  return value !== undefined && value !== null && !(typeof value === 'string' && value.trim() === '');
}

/**
 * Runs the plugins' field validators (for visible fields that have a value) and `beforeValidate`
 * hooks, in plugin order; the first message for a field wins.
 */
export async function runBeforeValidate(plugins: readonly Plugin[], context: CardHookContext): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  const visible = new Set(context.cardType.fields.filter((field) => !field.hidden).map((field) => field.key));
  for (const plugin of plugins) {
    for (const validator of plugin.fieldValidators ?? []) {
      const value = context.values[validator.field];
      if (validator.cardType !== context.cardType.key || !visible.has(validator.field) || !hasValue(value)) continue;
      const message = validator.validate(value, context.locale);
      if (message !== undefined) errors[validator.field] ??= message;
    }
    const hookErrors = await plugin.hooks?.beforeValidate?.(context);
    for (const [field, message] of Object.entries(hookErrors ?? {})) errors[field] ??= message;
  }
  return errors;
}
