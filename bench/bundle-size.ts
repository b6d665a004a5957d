/**
 * `npm run bench:bundle`: the client's production build (Vite) into a temporary folder, with every
 * chunk's size raw and gzipped (level 9), the total, and the card-type kernel's share: the code of
 * card-types/, of plugins' kinds and of zod in the build, gzipped together as one would ship it.
 * `-- --base REV` builds REV too (in a temporary worktree, with this checkout's node_modules) and
 * prints the differences. Numbers, not a test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { transformSync } from 'esbuild';
import { build, type Plugin } from 'vite';

interface Chunk {
  name: string;
  raw: number;
  gzip: number;
}

/** The kernel's parts, by where a bundled module comes from; libphonenumber's metadata loads only with a phone field. */
const kernelParts: [name: string, test: (file: string) => boolean][] = [
  ['card-types/kernel', (file) => file.startsWith('card-types/kernel/')],
  ['card-types/kinds', (file) => file.startsWith('card-types/kinds/')],
  ["plugins' kinds", (file) => file.startsWith('plugins/')],
  ['zod (zod/mini)', (file) => file.includes('node_modules/zod/')],
];
const onDemand = (file: string) => file.includes('node_modules/libphonenumber-js/');

interface Build {
  chunks: Chunk[];
  /** Bundled code of each kernel part, and of the parts loaded on demand. */
  kernel: Map<string, string[]>;
}

/** Collects the code of the kernel's modules as the bundle holds it (after tree-shaking and minifying). */
function kernelCollector(root: string, kernel: Map<string, string[]>): Plugin {
  return {
    name: 'kernel-share',
    generateBundle(_options, bundle) {
      for (const output of Object.values(bundle)) {
        if (output.type !== 'chunk') continue;
        for (const [id, module] of Object.entries(output.modules)) {
          const file = path.relative(root, id);
          const part = onDemand(file) ? 'on demand (libphonenumber)' : kernelParts.find(([, test]) => test(file))?.[0];
          if (part && module.code) kernel.set(part, [...(kernel.get(part) ?? []), module.code]);
        }
      }
    },
  };
}

async function buildAt(root: string): Promise<Build> {
  const out = mkdtempSync(path.join(tmpdir(), 'kartoteka-bundle-'));
  const kernel = new Map<string, string[]>();
  try {
    await build({
      configFile: path.join(root, 'client/vite.config.ts'),
      logLevel: 'silent',
      build: { outDir: out, emptyOutDir: true },
      plugins: [kernelCollector(root, kernel)],
    });
    const assets = path.join(out, 'assets');
    const chunks = readdirSync(assets)
      .filter((name) => /\.(js|css)$/.test(name))
      .map((name) => {
        const bytes = readFileSync(path.join(assets, name));
        return { name: name.replace(/-[\w-]{8}\.(js|css)$/, '.$1'), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
      })
      .sort((a, b) => b.gzip - a.gzip);
    return { chunks, kernel };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const gzipped = (code: string) => gzipSync(code, { level: 9 }).length;
const total = (chunks: Chunk[]) => chunks.reduce((sum, chunk) => ({ raw: sum.raw + chunk.raw, gzip: sum.gzip + chunk.gzip }), { raw: 0, gzip: 0 });

/** A bundle's modules are collected before the build minifies its chunks: minified the same way here. */
const minified = (code: string) => transformSync(code, { loader: 'js', minify: true, format: 'esm' }).code;

/** The kernel's share of a build: each part, and all parts but the on-demand ones gzipped together. */
function kernelShare({ kernel }: Build): number {
  const shipped: string[] = [];
  for (const [part, codes] of [...kernel].sort(([a], [b]) => a.localeCompare(b))) {
    const code = minified(codes.join('\n'));
    console.log(`  ${part.padEnd(40)} ${kb(code.length).padStart(10)} ${kb(gzipped(code)).padStart(10)} gzip`);
    if (!part.startsWith('on demand')) shipped.push(code);
  }
  const together = gzipped(shipped.join('\n'));
  console.log(`the kernel with every page (all but on demand, gzipped together): ${kb(together)} gzip (${together} bytes)`);
  return together;
}

const root = path.resolve(import.meta.dirname, '..');
const now = await buildAt(root);
console.log(`client build of ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim()} (working tree), ${now.chunks.length} chunks`);
for (const chunk of now.chunks) console.log(`  ${chunk.name.padEnd(40)} ${kb(chunk.raw).padStart(10)} ${kb(chunk.gzip).padStart(10)} gzip`);
const sum = total(now.chunks);
console.log(`total: ${kb(sum.raw)} raw, ${kb(sum.gzip)} gzip (${sum.gzip} bytes)`);
console.log('the card-type kernel in it:');
const kernelNow = kernelShare(now);

const baseIndex = process.argv.indexOf('--base');
if (baseIndex > 0) {
  const rev = process.argv[baseIndex + 1] ?? 'main';
  const worktree = mkdtempSync(path.join(tmpdir(), 'kartoteka-base-'));
  try {
    execFileSync('git', ['worktree', 'add', '--detach', worktree, rev], { cwd: root, stdio: 'ignore' });
    symlinkSync(path.join(root, 'node_modules'), path.join(worktree, 'node_modules'));
    const baseBuild = await buildAt(worktree);
    const base = total(baseBuild.chunks);
    console.log(`${rev}: ${kb(base.raw)} raw, ${kb(base.gzip)} gzip (${base.gzip} bytes); difference ${((sum.gzip - base.gzip) / 1024).toFixed(1)} KB gzip`);
    console.log(`the card-type kernel in ${rev}:`);
    const kernelBase = kernelShare(baseBuild);
    console.log(`kernel difference: ${((kernelNow - kernelBase) / 1024).toFixed(1)} KB gzip`);
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', worktree], { cwd: root, stdio: 'ignore' });
  }
}
