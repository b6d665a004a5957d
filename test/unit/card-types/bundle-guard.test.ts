import { expect } from 'chai';
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every page of the client loads the card-type kernel (`card-types/index.ts`) and the shipped
 * plugins' kinds; only the type designer loads `card-types/definitions.ts`, which brings zod. A
 * kind or kernel module importing zod (or something that does) would put zod on every page and
 * break the 15 KB gzip budget that `npm run bench:bundle` measures; this keeps that from
 * happening silently. The packages are read from esbuild's metafile of a browser bundle.
 */
const root = fileURLToPath(new URL('../../..', import.meta.url));
/** The modules Vite's `import.meta.glob` bundles for the browser (esbuild does not expand it). */
const builtInKinds = readdirSync(path.join(root, 'card-types/kinds')).map((file) => path.join(root, 'card-types/kinds', file));
/** Plugins' kinds and their client components (`client.ts`), bundled into every page too. */
const pluginKinds = readdirSync(path.join(root, 'plugins'))
  .flatMap((plugin) => ['kinds.ts', 'client.ts'].map((file) => path.join(root, 'plugins', plugin, file)))
  .filter((file) => existsSync(file));

async function packagesBundledFrom(entryPoints: string[]): Promise<Set<string>> {
  const { metafile } = await build({ entryPoints, bundle: true, write: false, metafile: true, format: 'esm', platform: 'browser', outdir: 'out', logLevel: 'silent' });
  const packages = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const inPackage = input.split('node_modules/')[1];
    if (inPackage) packages.add(inPackage.startsWith('@') ? inPackage.split('/').slice(0, 2).join('/') : inPackage.split('/')[0]);
  }
  return packages;
}

describe('the card-type kernel every page loads', () => {
  it('brings no zod: the designer alone loads definition checks', async () => {
    const everyPage = await packagesBundledFrom([path.join(root, 'card-types/index.ts'), ...builtInKinds, ...pluginKinds]);
    expect(builtInKinds).to.have.length.above(15);
    expect(pluginKinds, 'shipped plugins with kinds').to.have.length.above(0);
    expect([...everyPage]).to.not.include('zod');
  });

  it('is told apart from the designer, which does bring zod', async () => {
    const designer = await packagesBundledFrom([path.join(root, 'card-types/definitions.ts')]);
    expect([...designer]).to.include('zod');
  });
});
