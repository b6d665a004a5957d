/** The plugins shipped with Kartoteka, on Node: every folder of `plugins/` with an `index.ts`, loaded when enabled. */
import { existsSync, readdirSync } from 'node:fs';

const folder = new URL('./', import.meta.url);

export const bundledPlugins: Record<string, () => Promise<unknown>> = Object.fromEntries(
  readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(new URL(`${entry.name}/index.ts`, folder)))
    .map((entry) => [entry.name, () => import(new URL(`${entry.name}/index.ts`, folder).href)]),
);
