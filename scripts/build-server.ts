/**
 * `npm run build:server`: the server bundled by esbuild into dist/server, run by plain node. The
 * built-in field kinds are every module in card-types/kinds/ (`#field-kinds`); a bundle has no such
 * folder at run time, so the modules found now are imported by the bundle itself.
 */
import { build, type Plugin } from 'esbuild';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const kindsFolder = fileURLToPath(new URL('../card-types/kinds/', import.meta.url));

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

await build({
  entryPoints: ['server/src/main.ts', 'server/src/healthcheck.ts', 'server/src/db/memory/cli.ts', 'server/src/backup/cli.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  target: 'node20',
  sourcemap: true,
  outdir: 'dist/server',
  logLevel: 'warning',
  plugins: [fieldKinds],
});
