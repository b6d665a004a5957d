/**
 * Plugins' client components: every shipped plugin's `client.ts` is bundled, and the `client` of
 * plugins named in PLUGINS from outside `plugins/` (client/outside-plugins.ts); their components are used
 * for the kinds the server lists (their plugin is enabled there), by the mode they are drawn in.
 */
import outsidePlugins from 'virtual:outside-plugins';
import type { Component } from 'vue';
import type { KindMode, PluginClient } from '../../../plugins/api';

const clients: PluginClient[] = [
  ...Object.values(import.meta.glob<PluginClient>('../../../plugins/*/client.ts', { eager: true, import: 'default' })),
  ...outsidePlugins.flatMap((plugin) => (plugin.client ? [plugin.client] : [])),
];
const enabled = new Map<string, Partial<Record<KindMode, Component>>>();

/** Uses the plugins' components of the kinds among `keys` (the server's `fieldKinds`). */
export function enablePluginComponents(keys: readonly string[]): void {
  for (const client of clients) for (const [key, components] of Object.entries(client.components)) if (keys.includes(key)) enabled.set(key, components);
}

/** The enabled plugin components of a kind, by mode (undefined: no plugin draws it). */
export const pluginComponents = (kind: string): Partial<Record<KindMode, Component>> | undefined => enabled.get(kind);
