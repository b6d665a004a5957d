/**
 * `npm run bench:db-file -- DBPATH [--entries]`: how much of the built-in database's file is live.
 * Opens the LMDB environment read-only (run it while no server writes there, or take the bench lock
 * for a shared installation) and prints the file's size, the pages in use, the pages the records and
 * the index entries take, and the rest (LMDB's free pages). With `--entries`, also the records per
 * collection and the entries per index, with their key and value bytes (reads every entry: minutes at 1M).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { deserialize } from 'bson';
import { open } from 'lmdb';

const { values, positionals } = parseArgs({ options: { entries: { type: 'boolean', default: false } }, allowPositionals: true });
const dbpath = positionals[0];
if (!dbpath) throw new Error('usage: npm run bench:db-file -- DBPATH [--entries]');

interface PageStats {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
  entryCount: number;
}
const env = open({ path: dbpath, readOnly: true, maxDbs: 8 });
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const pagesOf = (stats: PageStats) => stats.treeBranchPageCount + stats.treeLeafPageCount + stats.overflowPages;
const root = env.getStats() as PageStats & { lastPageNumber: number; free: PageStats };
const page = root.pageSize;
const catalog = env.openDB<Buffer, string>('catalog', { encoding: 'binary' });
const databases = {
  docs: env.openDB<Buffer, Buffer>('docs', { keyEncoding: 'binary', encoding: 'binary' }),
  index: env.openDB<Buffer, Buffer>('index', { keyEncoding: 'binary', encoding: 'binary' }),
};
const live = { catalog: catalog.getStats() as PageStats, docs: databases.docs.getStats() as PageStats, index: databases.index.getStats() as PageStats };
const livePages = Object.values(live).reduce((sum, stats) => sum + pagesOf(stats), 0);
const used = root.lastPageNumber + 1;
console.log(`${path.resolve(dbpath)}: file ${mib(statSync(path.join(dbpath, 'data.mdb')).size)}, pages in use ${mib(used * page)}`);
console.log(
  `  live ${mib(livePages * page)}: records ${mib(pagesOf(live.docs) * page)} (${live.docs.entryCount.toLocaleString('en')}), ` +
    `index entries ${mib(pagesOf(live.index) * page)} (${live.index.entryCount.toLocaleString('en')})`,
);
console.log(`  free pages ${mib((used - livePages - pagesOf(root.free)) * page)}, free list ${mib(pagesOf(root.free) * page)}`);

if (values.entries) {
  const names = new Map<number, string>();
  for (const { key, value } of catalog.getRange({})) {
    if (key.startsWith('\u0000')) continue;
    const entry = deserialize(value) as { ns: string; id: number; indexes?: { id: number; spec: { name: string } }[] };
    names.set(entry.id, entry.ns);
    for (const index of entry.indexes ?? []) names.set(index.id, `${entry.ns} ${index.spec.name}`);
  }
  for (const kind of ['docs', 'index'] as const) {
    const tally = new Map<number, { entries: number; bytes: number }>();
    for (const { key, value } of databases[kind].getRange({})) {
      const id = key.readUInt32BE(0);
      const row = tally.get(id) ?? { entries: 0, bytes: 0 };
      row.entries++;
      row.bytes += key.length + value.length;
      tally.set(id, row);
    }
    console.log(kind === 'docs' ? '  records per collection:' : '  entries per index (key and value bytes):');
    for (const [id, row] of [...tally].sort((a, b) => b[1].entries - a[1].entries))
      console.log(`    ${row.entries.toLocaleString('en').padStart(12)} ${mib(row.bytes).padStart(9)}  ${names.get(id) ?? `(dropped ${id})`}`);
  }
}
await env.close();
