/**
 * Loading the plugins configuration names (`PLUGINS`). Core code names none of them: a name is a
 * plugin shipped in `plugins/<name>/` (found by `#bundled-plugins`), a path (`./`, `../`, `/`;
 * relative to the working directory) or a package name; its module's default export is the `Plugin`.
 */
import { bundledPlugins } from '#bundled-plugins';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CardHookContext, FieldErrors, Plugin } from './api';
import { isPluginPath } from './names';

export type * from './api';

/** The names of the plugins shipped with Kartoteka. */
export const shippedPluginNames = (): string[] => Object.keys(bundledPlugins).sort();

function importPlugin(name: string): Promise<unknown> {
  const shipped = bundledPlugins[name];
  if (shipped) return shipped();
  return import(isPluginPath(name) ? pathToFileURL(path.resolve(name)).href : name);
}

function asPlugin(name: string, module: unknown): Plugin {
  const plugin = (module as { default?: unknown } | null)?.default as Partial<Plugin> | undefined;
  const valid =
    typeof plugin === 'object' &&
    plugin !== null &&
    typeof plugin.name === 'string' &&
    plugin.name !== '' &&
    (plugin.fieldKinds === undefined || Array.isArray(plugin.fieldKinds)) &&
    (plugin.hooks === undefined || (typeof plugin.hooks === 'object' && plugin.hooks !== null)) &&
    (plugin.cardTypes === undefined || Array.isArray(plugin.cardTypes)) &&
    (plugin.graphql === undefined || (typeof plugin.graphql?.typeDefs === 'string' && typeof plugin.graphql.resolvers === 'object' && plugin.graphql.resolvers !== null));
  if (!valid) {
    throw new Error(`PLUGINS: "${name}" is not a Kartoteka plugin (its module's default export must be { name, fieldKinds?, hooks?, cardTypes?, graphql? })`);
  }
  return plugin as Plugin;
}

/** The plugins named, in order; a name that loads no plugin, or two plugins of one name, stop the start with a message saying which. */
export async function loadPlugins(names: readonly string[]): Promise<Plugin[]> {
  const plugins: Plugin[] = [];
  for (const name of names) {
    const module = await importPlugin(name).catch((error: unknown) => {
      throw new Error(`PLUGINS: cannot load "${name}" (${(error as Error).message}); shipped plugins: ${shippedPluginNames().join(', ')}`);
    });
    const plugin = asPlugin(name, module);
    if (plugins.some((other) => other.name === plugin.name)) throw new Error(`PLUGINS: the plugin "${plugin.name}" is listed twice`);
    plugins.push(plugin);
  }
  return plugins;
}

/**
 * Which shipped plugin brings each field kind, by kind key: the shipped plugins are loaded for it
 * (not enabled: nothing is registered), to name the plugin a stored field's kind needs.
 */
export async function shippedKindProviders(): Promise<Map<string, string>> {
  const providers = new Map<string, string>();
  for (const name of shippedPluginNames()) {
    for (const kind of asPlugin(name, await importPlugin(name)).fieldKinds ?? []) providers.set(kind.key, name);
  }
  return providers;
}

/** Runs the plugins' `beforeValidate` hooks in plugin order; the first message for a field wins. */
export async function runBeforeValidate(plugins: readonly Plugin[], context: CardHookContext): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  for (const plugin of plugins) {
    const hookErrors = await plugin.hooks?.beforeValidate?.(context);
    for (const [field, message] of Object.entries(hookErrors ?? {})) errors[field] ??= message;
  }
  return errors;
}
