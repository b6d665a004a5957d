import { loadPlugins, runBeforeValidate, type CardHookContext, type FieldErrors } from '../../../plugins';
import { registerCardHooks } from './lifecycle';

/** Every plugin that ships with Kartoteka is enabled. */
const plugins = loadPlugins();

/** Plugins' field checks (e.g. INN checksums) on submitted values. */
export function pluginFieldErrors(context: CardHookContext): Promise<FieldErrors> {
  return runBeforeValidate(plugins, context);
}

/** Plugins' save hooks join the card lifecycle next to history and unread tracking. */
export function registerPluginHooks(): void {
  for (const plugin of plugins) {
    const hooks = plugin.hooks;
    if (!hooks?.beforeSave && !hooks?.afterCommit) continue;
    registerCardHooks({
      name: `plugin:${plugin.name}`,
      beforeSave: hooks.beforeSave
        ? (change, session) =>
            Promise.resolve(
              hooks.beforeSave!({ cardType: change.type, values: change.after.values, action: change.action, cardId: String(change.after._id), locale: change.actor.locale, session }),
            )
        : undefined,
      afterCommit: hooks.afterCommit
        ? (change) =>
            hooks.afterCommit!({
              id: String(change.after._id),
              typeKey: change.after.typeKey,
              folderId: String(change.after.folderId),
              title: change.after.title,
              version: change.after.version,
              action: change.action,
              changedFields: change.changes.map((c) => c.key),
            })
        : undefined,
    });
  }
}
