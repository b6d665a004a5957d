/**
 * Plugins' field kinds in the browser: every shipped plugin's `kinds.ts` is bundled, and a kind is
 * registered with the kernel once the server lists it (its plugin is enabled there), so forms check
 * INN checksums with the server's own functions and the type designer offers the kind. Drawn as
 * text (field-kinds/index.ts) unless the plugin registers a component.
 */
import { registerFieldKind, type FieldKind } from '../../../card-types';

const shipped = Object.values(import.meta.glob<readonly FieldKind[]>('../../../plugins/*/kinds.ts', { eager: true, import: 'default' })).flat();

/** Registers the shipped plugin kinds among `keys` (the server's `fieldKinds`). */
export function registerServerKinds(keys: readonly string[]): void {
  for (const kind of shipped) if (keys.includes(kind.key)) registerFieldKind(kind);
}
