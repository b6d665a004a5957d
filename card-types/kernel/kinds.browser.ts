/** The built-in field kinds in the browser: every module in `card-types/kinds/`, bundled by Vite; heavy parts load on demand. */
import type { FieldKind } from './field-kind';

export const builtInFieldKinds: FieldKind[] = Object.values(import.meta.glob<FieldKind>('../kinds/*.ts', { eager: true, import: 'default' }));
