import { findFieldKind, usePluginFieldKinds, type CardTypeDefinition } from '../../../card-types';
import { loadPlugins, runBeforeValidate, shippedKindProviders, type CardHookContext, type FieldErrors, type Plugin } from '../../../plugins';
import type { Logger } from '../logger';
import { registerCardHooks } from './lifecycle';

/** The plugins `PLUGINS` enables, loaded at start. */
let plugins: readonly Plugin[] = [];

/** Loads the configured plugins and registers their field kinds (the kernel then knows them like the built-in ones). */
export async function enablePlugins(names: readonly string[], logger: Logger): Promise<void> {
  plugins = await loadPlugins(names);
  usePluginFieldKinds(plugins.flatMap((plugin) => plugin.fieldKinds ?? []));
  const enabled = plugins.map((plugin) => plugin.name);
  logger.info({ plugins: enabled }, `plugins: ${enabled.length > 0 ? enabled.join(', ') : 'none'}`);
}

/**
 * Warns, once at start, of card types with fields whose kind no enabled plugin provides (their
 * values are kept, but not checked): «Контрагент»: inn, kpp, ogrn — enable PLUGINS=russian-requisites.
 */
export async function warnOfUnavailableKinds(types: readonly CardTypeDefinition[], logger: Logger): Promise<void> {
  const affected = types.map((type) => ({ type, fields: type.fields.filter((field) => !findFieldKind(field.kind)) })).filter(({ fields }) => fields.length > 0);
  if (affected.length === 0) return;
  const providers = await shippedKindProviders();
  for (const { type, fields } of affected) {
    const kinds = [...new Set(fields.map((field) => field.kind))];
    const needed = [...new Set(kinds.map((kind) => providers.get(kind)).filter((name) => name !== undefined))];
    const advice =
      needed.length > 0 ? `enable PLUGINS=${[...plugins.map((plugin) => plugin.name), ...needed].join(',')}` : `no shipped plugin provides the kinds ${kinds.join(', ')}`;
    logger.warn(
      { cardType: type.key, fields: fields.map((field) => field.key), kinds, plugins: needed },
      `«${type.names.ru}»: ${fields.map((field) => field.key).join(', ')} — field kinds no enabled plugin provides (values kept, not checked); ${advice}`,
    );
  }
}

/** The enabled plugins' card types, each marked with its plugin's name (origin: code). */
export const pluginCardTypes = (): CardTypeDefinition[] =>
  plugins.flatMap((plugin) => (plugin.cardTypes ?? []).map((type): CardTypeDefinition => ({ ...type, origin: 'code', plugin: plugin.name })));

/** The plugins enabled at start, in `PLUGINS` order. */
export const enabledPlugins = (): readonly Plugin[] => plugins;

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
