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
  /** Bundled code of each kernel part (and of the parts loaded on demand), by the chunk holding it. */
  kernel: { part: string; chunk: string; code: string }[];
  /** The chunks each kind of page loads (file names): see `pages`. */
  loads: Map<string, Set<string>>;
}

/**
 * Pages by the route components they open: every page loads the entry chunk and its static
 * imports; a folder's card list (the workspace's main page) also its views' chunks; the type
 * designer its own.
 */
const pages: [name: string, components: string[]][] = [
  ['every page', []],
  ['a folder (card list)', ['client/src/views/FolderView.vue', 'client/src/views/FolderCards.vue']],
  ['a card', ['client/src/workspace/views/CardPage.vue']],
  ['the type designer', ['client/src/views/admin/AdminLayout.vue', 'client/src/views/admin/card-types/CardTypeEditor.vue']],
];

/** Collects the code of the kernel's modules as the bundle holds it (after tree-shaking), and what each page loads. */
function kernelCollector(root: string, build: Pick<Build, 'kernel' | 'loads'>): Plugin {
  return {
    name: 'kernel-share',
    generateBundle(_options, bundle) {
      const chunks = Object.values(bundle).filter((output) => output.type === 'chunk');
      const byFile = new Map(chunks.map((chunk) => [chunk.fileName, chunk]));
      const closure = (files: string[]) => {
        const seen = new Set<string>();
        const visit = (file: string) => {
          if (seen.has(file)) return;
          seen.add(file);
          for (const imported of byFile.get(file)?.imports ?? []) visit(imported);
        };
        files.forEach(visit);
        return seen;
      };
      const entries = chunks.filter((chunk) => chunk.isEntry).map((chunk) => chunk.fileName);
      for (const [name, components] of pages) {
        const opened = chunks.filter((chunk) => chunk.facadeModuleId && components.includes(path.relative(root, chunk.facadeModuleId))).map((chunk) => chunk.fileName);
        build.loads.set(name, closure([...entries, ...opened]));
      }
      for (const chunk of chunks) {
        for (const [id, module] of Object.entries(chunk.modules)) {
          const file = path.relative(root, id);
          const part = onDemand(file) ? 'on demand (libphonenumber)' : kernelParts.find(([, test]) => test(file))?.[0];
          if (part && module.code) build.kernel.push({ part, chunk: chunk.fileName, code: module.code });
        }
      }
    },
  };
}

async function buildAt(root: string): Promise<Build> {
  const out = mkdtempSync(path.join(tmpdir(), 'kartoteka-bundle-'));
  const collected: Pick<Build, 'kernel' | 'loads'> = { kernel: [], loads: new Map() };
  try {
    await build({
      configFile: path.join(root, 'client/vite.config.ts'),
      logLevel: 'silent',
      build: { outDir: out, emptyOutDir: true },
      plugins: [kernelCollector(root, collected)],
    });
    const assets = path.join(out, 'assets');
    const chunks = readdirSync(assets)
      .filter((name) => /\.(js|css)$/.test(name))
      .map((name) => {
        const bytes = readFileSync(path.join(assets, name));
        return { name: name.replace(/-[\w-]{8}\.(js|css)$/, '.$1'), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
      })
      .sort((a, b) => b.gzip - a.gzip);
    return { chunks, ...collected };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const gzipped = (code: string) => gzipSync(code, { level: 9 }).length;
const total = (chunks: Chunk[]) => chunks.reduce((sum, chunk) => ({ raw: sum.raw + chunk.raw, gzip: sum.gzip + chunk.gzip }), { raw: 0, gzip: 0 });

/** A bundle's modules are collected before the build minifies its chunks: minified the same way here. */
const minified = (code: string) => transformSync(code, { loader: 'js', minify: true, format: 'esm' }).code;

/**
 * The kernel's share of a build: each part, then what of it each kind of page loads (all but the
 * on-demand parts, gzipped together); returns the share of every page.
 */
function kernelShare({ kernel, loads }: Build): number {
  const parts = [...new Set(kernel.map((item) => item.part))].sort();
  for (const part of parts) {
    const code = minified(
      kernel
        .filter((item) => item.part === part)
        .map((item) => item.code)
        .join('\n'),
    );
    console.log(`  ${part.padEnd(40)} ${kb(code.length).padStart(10)} ${kb(gzipped(code)).padStart(10)} gzip`);
  }
  const shares = new Map<string, number>();
  for (const [page, chunks] of loads) {
    const loaded = kernel.filter((item) => !item.part.startsWith('on demand') && chunks.has(item.chunk));
    const share = gzipped(minified(loaded.map((item) => item.code).join('\n')));
    const zod = loaded.some((item) => item.part.startsWith('zod'));
    console.log(`  loaded by ${page.padEnd(31)} ${kb(share).padStart(21)} gzip (${share} bytes; zod ${zod ? 'in it' : 'not in it'})`);
    shares.set(page, share);
  }
  const all = gzipped(
    minified(
      kernel
        .filter((item) => !item.part.startsWith('on demand'))
        .map((item) => item.code)
        .join('\n'),
    ),
  );
  console.log(`the whole kernel in the build (all but on demand, gzipped together): ${kb(all)} gzip (${all} bytes)`);
  return shares.get('every page') ?? 0;
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
    console.log(`difference of the kernel every page loads: ${((kernelNow - kernelBase) / 1024).toFixed(1)} KB gzip`);
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', worktree], { cwd: root, stdio: 'ignore' });
  }
}
