/**
 * `npm run bench:bundle`: the client's production build (Vite) into a temporary folder, with every
 * chunk's size raw and gzipped (level 9), the total, and the chunks that hold the card-type kernel.
 * `-- --base REV` builds REV too (in a temporary worktree, with this checkout's node_modules) and
 * prints the difference. Numbers, not a test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

interface Chunk {
  name: string;
  raw: number;
  gzip: number;
}

function buildAt(root: string): Chunk[] {
  const out = mkdtempSync(path.join(tmpdir(), 'kartoteka-bundle-'));
  try {
    execFileSync('npx', ['vite', 'build', '--config', path.join(root, 'client/vite.config.ts'), '--outDir', out, '--emptyOutDir'], { cwd: root, stdio: 'ignore' });
    const assets = path.join(out, 'assets');
    return readdirSync(assets)
      .filter((name) => /\.(js|css)$/.test(name))
      .map((name) => {
        const bytes = readFileSync(path.join(assets, name));
        return { name: name.replace(/-[\w-]{8}\.(js|css)$/, '.$1'), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
      })
      .sort((a, b) => b.gzip - a.gzip);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const total = (chunks: Chunk[]) => chunks.reduce((sum, chunk) => ({ raw: sum.raw + chunk.raw, gzip: sum.gzip + chunk.gzip }), { raw: 0, gzip: 0 });

const root = path.resolve(import.meta.dirname, '..');
const now = buildAt(root);
console.log(`client build of ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim()} (working tree), ${now.length} chunks`);
for (const chunk of now) console.log(`  ${chunk.name.padEnd(40)} ${kb(chunk.raw).padStart(10)} ${kb(chunk.gzip).padStart(10)} gzip`);
const sum = total(now);
console.log(`total: ${kb(sum.raw)} raw, ${kb(sum.gzip)} gzip (${sum.gzip} bytes)`);

const baseIndex = process.argv.indexOf('--base');
if (baseIndex > 0) {
  const rev = process.argv[baseIndex + 1] ?? 'main';
  const worktree = mkdtempSync(path.join(tmpdir(), 'kartoteka-base-'));
  try {
    execFileSync('git', ['worktree', 'add', '--detach', worktree, rev], { cwd: root, stdio: 'ignore' });
    symlinkSync(path.join(root, 'node_modules'), path.join(worktree, 'node_modules'));
    const base = total(buildAt(worktree));
    console.log(`${rev}: ${kb(base.raw)} raw, ${kb(base.gzip)} gzip (${base.gzip} bytes); difference ${((sum.gzip - base.gzip) / 1024).toFixed(1)} KB gzip`);
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', worktree], { cwd: root, stdio: 'ignore' });
  }
}
