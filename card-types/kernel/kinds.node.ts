/** The built-in field kinds on Node: every module in `card-types/kinds/`, loaded whole (heavy parts included). */
import { readdirSync } from 'node:fs';
import type { FieldKind } from './field-kind';

const folder = new URL('../kinds/', import.meta.url);
const files = readdirSync(folder)
  .filter((name) => /\.[cm]?[jt]s$/.test(name) && !name.endsWith('.d.ts'))
  .sort();
const modules = await Promise.all(files.map((name) => import(new URL(name, folder).href) as Promise<{ default: FieldKind }>));

export const builtInFieldKinds: FieldKind[] = modules.map((module) => module.default);
await Promise.all(builtInFieldKinds.map((kind) => kind.load()));
