import { registerFieldKind } from '../../../card-types';
import { loadPlugins, runBeforeValidate, type CardHookContext, type FieldErrors, type Plugin } from '../../../plugins';
import type { Logger } from '../logger';
import { registerCardHooks } from './lifecycle';

/** The plugins `PLUGINS` enables, loaded at start. */
let plugins: readonly Plugin[] = [];

/** Loads the configured plugins and registers their field kinds (the kernel then knows them like the built-in ones). */
export async function enablePlugins(names: readonly string[], logger: Logger): Promise<void> {
  plugins = await loadPlugins(names);
  for (const plugin of plugins) for (const kind of plugin.fieldKinds ?? []) registerFieldKind(kind);
  if (plugins.length > 0) logger.info({ plugins: plugins.map((plugin) => plugin.name) }, 'plugins enabled');
}

/** Plugins' checks (e.g. that INN and OGRN belong to one kind of taxpayer) on submitted values. */
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
              hooks.beforeSave!({
                cardType: change.type,
                values: change.after.values,
                action: change.action,
                cardId: String(change.after._id),
                locale: change.actor.locale,
                session,
              }),
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
