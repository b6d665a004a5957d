import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The plugins configuration (`PLUGINS`) as names, read the same way by the server and by the
 * client's build: comma-separated, `none` for none, `russian-requisites` when unset.
 */
export const DEFAULT_PLUGINS = ['russian-requisites'];

export function pluginNames(text: string | undefined): string[] {
  if (text === undefined) return [...DEFAULT_PLUGINS];
  if (text.trim() === 'none') return [];
  return text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}

/** A name that is a path to the plugin's module (relative to the working directory), not a shipped plugin or a package. */
export const isPluginPath = (name: string): boolean => /^\.{0,2}\//.test(name);

/** The names among `names` that are not shipped in `shippedDir` (`plugins/`): paths and packages. */
export const outsidePluginNames = (names: readonly string[], shippedDir: string): string[] => names.filter((name) => !existsSync(path.join(shippedDir, name, 'index.ts')));

/** The file in the client's build naming the outside plugins whose client parts it holds. */
export const OUTSIDE_PLUGINS_FILE = 'plugins.json';
