/**
 * What the built-in database's planner costs on a folder page, measured inside one process (no
 * wire, no driver): `node --import tsx bench/db-planner.ts [--cards 1000000]` (a script, not a test).
 *
 * Cards shaped like bench:db's (100 folders, the card list's two compound indexes and the search
 * keys). For a 50-card page of one folder sorted by title, and for the next page by keyset, it
 * prints the time of the whole page, of choosing its plan as queries do (the trial of other
 * indexes included, when the planner runs one), and of choosing it with no trial possible; the
 * difference of the last two is what the trial costs.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Long, ObjectId } from 'bson';
import { CommandProcessor } from '../server/src/db/memory/commands';
import { openCursor, planQuery } from '../server/src/db/memory/query';
import { Storage } from '../server/src/db/memory/storage';
import { Store } from '../server/src/db/memory/store';

const { values: args } = parseArgs({ options: { cards: { type: 'string', default: '1000000' } } });
const CARDS = Number(args.cards);
const FOLDERS = 100;
const BATCH = 10_000;

const storage = Storage.open(undefined);
const store = new Store(storage);
const processor = new CommandProcessor(store, {
  address: 'bench',
  setName: 'rs0',
  electionId: new ObjectId(),
  topologyVersion: { processId: new ObjectId(), counter: Long.fromNumber(0) },
  startedAt: new Date(),
});
const run = async (body: Record<string, unknown>) => {
  const reply = await processor.execute({ ...body, $db: 'bench' }, 1);
  if (reply.ok !== 1 || reply.writeErrors) throw new Error(JSON.stringify(reply));
  return reply;
};

const cpus = os.cpus();
console.log(
  `machine: ${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length}, Node ${process.version}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
try {
  await run({
    createIndexes: 'cards',
    indexes: [
      { key: { folderId: 1, inTrash: 1, title: 1, _id: 1 }, name: 'title' },
      { key: { folderId: 1, inTrash: 1, updatedAt: -1, _id: -1 }, name: 'updated' },
      { key: { searchKeys: 1 }, name: 'search' },
    ],
  });
  const folders = Array.from({ length: FOLDERS }, () => new ObjectId());
  const now = Date.now();
  const loadStart = performance.now();
  for (let offset = 0; offset < CARDS; offset += BATCH) {
    const documents = Array.from({ length: Math.min(BATCH, CARDS - offset) }, (_, j) => {
      const i = offset + j;
      const inn = String(7700000000 + i);
      return {
        _id: new ObjectId(),
        folderId: folders[i % FOLDERS],
        typeKey: 'counterparty',
        inTrash: false,
        title: `ООО «Контрагент ${i}»`,
        values: { name: `ООО «Контрагент ${i}»`, inn },
        searchKeys: [inn],
        version: 1,
        createdAt: new Date(now - i * 1000),
        updatedAt: new Date(now - i * 1000),
      };
    });
    await run({ insert: 'cards', documents, ordered: false });
  }
  console.log(`${CARDS.toLocaleString('en-US')} cards in ${FOLDERS} folders loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s\n`);

  const collection = store.get('bench', 'cards')!;
  const view = { store };
  const time = (runs: number, work: (i: number) => unknown) => {
    for (let i = 0; i < 200; i++) work(i);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      work(i);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return `p50 ${(times[Math.floor(runs / 2)]! * 1000).toFixed(1)} µs, p90 ${(times[Math.floor(runs * 0.9)]! * 1000).toFixed(1)} µs`;
  };
  const sort = { title: 1, _id: 1 };
  const folderOf = (i: number) => folders[i % FOLDERS];
  const pages: [string, (i: number) => Record<string, unknown>][] = [
    ['first page {folderId, inTrash} sort {title, _id}', (i) => ({ folderId: folderOf(i), inTrash: false })],
    [
      'keyset page after card 100 of the folder',
      (i) => ({
        $and: [
          { folderId: folderOf(i), inTrash: false },
          { $or: [{ title: { $gt: 'ООО «Контрагент 50' } }, { title: 'ООО «Контрагент 50', _id: { $gt: new ObjectId('000000000000000000000000') } }] },
        ],
      }),
    ],
  ];
  for (const [name, filterOf] of pages) {
    console.log(`${name} (${(CARDS / FOLDERS).toLocaleString('en-US')} cards per folder):`);
    console.log(`  whole page (plan, 50 documents read and decoded):  ${time(2000, (i) => [...iterate(openCursor(collection, view, filterOf(i), { sort, limit: 50 }).docs)])}`);
    console.log(`  plan as queries choose it:                         ${time(5000, (i) => planQuery(collection, filterOf(i), sort, view))}`);
    console.log(`  plan with no trial possible:                       ${time(5000, (i) => planQuery(collection, filterOf(i), sort))}`);
  }
} finally {
  await storage.close();
}

function* iterate<T>(iterator: Iterator<T>): Generator<T> {
  for (let next = iterator.next(); !next.done; next = iterator.next()) yield next.value;
}
