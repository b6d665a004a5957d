/**
 * Plugins' field kinds in the browser: every shipped plugin's `kinds.ts` is bundled, and a kind is
 * registered with the kernel once the server lists it (its plugin is enabled there), so forms check
 * INN checksums with the server's own functions and the type designer offers the kind. A plugin's
 * `client.ts` adds components by kind and mode (plugin-components.ts; an INN input that formats as
 * you type); a mode it does not draw is drawn as text (field-kinds/index.ts).
 */
import { findFieldKind, registerFieldKind, type FieldKind } from '../../../card-types';
import { enablePluginComponents } from './plugin-components';

const modules = import.meta.glob<readonly FieldKind[]>('../../../plugins/*/kinds.ts', { eager: true, import: 'default' });
const shipped = Object.values(modules).flat();
/** The shipped plugin (its folder's name) that brings each of these kinds. */
const providers = new Map(Object.entries(modules).flatMap(([path, kinds]) => kinds.map((kind) => [kind.key, path.split('/').at(-2) ?? ''] as const)));

/**
 * A field kind the server does not provide (its plugin is not enabled there): the shipped plugin
 * that brings it, '' when none does; null when the kind is available.
 */
export function missingKindPlugin(kind: string): string | null {
  return findFieldKind(kind) ? null : (providers.get(kind) ?? '');
}

/** Registers the shipped plugin kinds among `keys` (the server's `fieldKinds`), and their plugins' components. */
export function registerServerKinds(keys: readonly string[]): void {
  for (const kind of shipped) if (keys.includes(kind.key)) registerFieldKind(kind);
  enablePluginComponents(keys);
}
