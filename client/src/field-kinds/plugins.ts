/**
 * Plugins' field kinds in the browser: every shipped plugin's `kinds.ts` is bundled (and those of
 * plugins named in PLUGINS from outside `plugins/`, client/outside-plugins.ts), and a kind is
 * registered with the kernel once the server lists it (its plugin is enabled there), so forms check
 * INN checksums with the server's own functions and the type designer offers the kind. A plugin's
 * `client.ts` adds components by kind and mode (plugin-components.ts; an INN input that formats as
 * you type); a mode it does not draw is drawn as text (field-kinds/index.ts).
 */
import outsidePlugins from 'virtual:outside-plugins';
import { findFieldKind, registerFieldKind, type FieldKind } from '../../../card-types';
import { enablePluginComponents } from './plugin-components';

const modules = import.meta.glob<readonly FieldKind[]>('../../../plugins/*/kinds.ts', { eager: true, import: 'default' });
/** The kinds of every plugin built into the client: shipped ones by their folder's name, those from outside by their name in PLUGINS. */
const sources = [...Object.entries(modules).map(([path, kinds]) => ({ name: path.split('/').at(-2) ?? '', kinds })), ...outsidePlugins];
const bundled = sources.flatMap((source) => source.kinds);
/** The plugin that brings each of these kinds. */
const providers = new Map(sources.flatMap(({ name, kinds }) => kinds.map((kind) => [kind.key, name] as const)));

/**
 * A field kind the server does not provide (its plugin is not enabled there): the plugin built into
 * the client that brings it, '' when none does; null when the kind is available.
 */
export function missingKindPlugin(kind: string): string | null {
  return findFieldKind(kind) ? null : (providers.get(kind) ?? '');
}

/** Registers the bundled plugin kinds among `keys` (the server's `fieldKinds`), and their plugins' components. */
export function registerServerKinds(keys: readonly string[]): void {
  for (const kind of bundled) if (keys.includes(kind.key)) registerFieldKind(kind);
  enablePluginComponents(keys);
}
