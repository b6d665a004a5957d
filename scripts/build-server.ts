/**
 * `npm run build:server`: the server bundled by esbuild into dist/server, run by plain node. The
 * built-in field kinds are every module in card-types/kinds/ (`#field-kinds`), the shipped plugins
 * every plugins/<name>/index.ts (`#bundled-plugins`); a bundle has no such folders at run time, so
 * the modules found now are imported by the bundle itself (a plugin only when PLUGINS names it).
 */
import { build, type Plugin } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const kindsFolder = fileURLToPath(new URL('../card-types/kinds/', import.meta.url));
const pluginsFolder = fileURLToPath(new URL('../plugins/', import.meta.url));

const fieldKinds: Plugin = {
  name: 'field-kinds',
  setup(builder) {
    builder.onResolve({ filter: /^#field-kinds$/ }, () => ({ path: 'field-kinds', namespace: 'field-kinds' }));
    builder.onLoad({ filter: /.*/, namespace: 'field-kinds' }, () => {
      const files = readdirSync(kindsFolder)
        .filter((name) => name.endsWith('.ts'))
        .sort();
      const imports = files.map((name, index) => `import kind${index} from ${JSON.stringify(`./${name}`)};`).join('\n');
      const list = files.map((_, index) => `kind${index}`).join(', ');
      return {
        contents: `${imports}\nexport const builtInFieldKinds = [${list}];\nawait Promise.all(builtInFieldKinds.map((kind) => kind.load()));\n`,
        resolveDir: kindsFolder,
        loader: 'ts',
      };
    });
  },
};

const bundledPlugins: Plugin = {
  name: 'bundled-plugins',
  setup(builder) {
    builder.onResolve({ filter: /^#bundled-plugins$/ }, () => ({ path: 'bundled-plugins', namespace: 'bundled-plugins' }));
    builder.onLoad({ filter: /.*/, namespace: 'bundled-plugins' }, () => {
      const names = readdirSync(pluginsFolder, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && existsSync(path.join(pluginsFolder, entry.name, 'index.ts')))
        .map((entry) => entry.name)
        .sort();
      const entries = names.map((name) => `  ${JSON.stringify(name)}: () => import(${JSON.stringify(`./${name}/index.ts`)}),`).join('\n');
      return { contents: `export const bundledPlugins = {\n${entries}\n};\n`, resolveDir: pluginsFolder, loader: 'ts' };
    });
  },
};

await build({
  entryPoints: [
    'server/src/main.ts',
    'server/src/healthcheck.ts',
    'server/src/db/memory/cli.ts',
    'server/src/backup/cli.ts',
    'server/src/files/pdf-check-worker.ts',
    'server/src/files/pdf-copy-worker.ts',
    'server/src/files/pdf-text-worker.ts',
    'server/src/files/docx-worker.ts',
    'server/src/files/pages-worker.mjs',
  ],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  target: 'node20',
  sourcemap: true,
  outdir: 'dist/server',
  logLevel: 'warning',
  plugins: [fieldKinds, bundledPlugins],
});
