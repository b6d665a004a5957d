/**
 * The client parts of plugins named in `PLUGINS` that are not shipped in `plugins/<name>/` (those
 * are bundled by Vite's glob): a plugin named by a path or a package brings its field kinds
 * (`kinds`) and components (`client`) from next to its module — the folder of the path, or the
 * package's `kinds` and `client` entries — when it has them. They are bundled into the build as
 * the virtual module `virtual:outside-plugins`; `plugins.json` in the build names them, so the
 * start rebuilds the client when the configuration names others (server/src/http/client-build.ts).
 */
import path from 'node:path';
import type { Plugin } from 'vite';
import { isPluginPath, OUTSIDE_PLUGINS_FILE, outsidePluginNames } from '../plugins/names.ts';

const VIRTUAL = 'virtual:outside-plugins';
const RESOLVED = `\0${VIRTUAL}`;
export function outsidePlugins(names: readonly string[], shippedDir: string): Plugin {
  const outside = outsidePluginNames(names, shippedDir);
  return {
    name: 'kartoteka-outside-plugins',
    // Filters keep Vite from calling the hooks for every other module.
    resolveId: { filter: { id: new RegExp(`^${VIRTUAL}$`) }, handler: () => RESOLVED },
    load: {
      filter: { id: new RegExp(`^\0${VIRTUAL}$`) },
      async handler() {
        const imports: string[] = [];
        const entries: string[] = [];
        for (const [index, name] of outside.entries()) {
          const base = isPluginPath(name) ? `${path.dirname(path.resolve(name))}/` : `${name}/`;
          const part = async (which: 'kinds' | 'client') => {
            const resolved = await this.resolve(base + which);
            if (!resolved) return undefined;
            imports.push(`import ${which}${index} from ${JSON.stringify(resolved.id)};`);
            return `${which}${index}`;
          };
          const [kinds, client] = [await part('kinds'), await part('client')];
          entries.push(`{ name: ${JSON.stringify(name)}, kinds: ${kinds ?? '[]'}, client: ${client ?? 'undefined'} }`);
        }
        return `${imports.join('\n')}\nexport default [${entries.join(', ')}];\n`;
      },
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: OUTSIDE_PLUGINS_FILE, source: JSON.stringify(outside) });
    },
  };
}
