/**
 * Benchmark of Kartoteka's built-in database (LMDB engine) through the official driver, with the
 * database in its own process (`npm run db:memory`), at 10k, 100k and 1M documents.
 * `npm run bench:db [-- --sizes 10000,100000,1000000] [--profile]` (a script, not a test).
 *
 * Data shaped like Kartoteka's: cards (one folder of up to 100,000 cards, the rest in 99 folders,
 * the card list's compound indexes), unread marks ({userId, cardId} unique, {userId, folderId},
 * {cardId}; one reader holds up to 50,000 of them) and history entries ({cardId, seq} unique).
 * Unread counts of a reader of 700 folders are measured both as one aggregate per 500 folders and
 * as one count per folder.
 * `--profile` restarts the database after loading each size with a CPU profiler, so the profile
 * covers the measured operations only, and prints where the database process's time went.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { MongoClient, ObjectId, type Db } from 'mongodb';

const { values: args } = parseArgs({ options: { sizes: { type: 'string', default: '10000,100000,1000000' }, profile: { type: 'boolean', default: false } } });
const SIZES = args.sizes.split(',').map(Number);
const BATCH = 10_000;
const FOLDERS = 100;

interface Database {
  child: ChildProcess;
  uri: string;
}

const dbpath = mkdtempSync(path.join(os.tmpdir(), 'kartoteka-bench-db-'));
const profileDir = path.join(dbpath, 'profile');

/** Starts `npm run db:memory`'s command and resolves once it prints its URI. */
function startDatabase(profile = false): Promise<Database & { startedIn: number }> {
  const started = performance.now();
  const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', 'server/src/db/memory/cli.ts', '--port', '0', '--dbpath', path.join(dbpath, 'data')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const uri = output.match(/mongodb:\/\/\S+/)?.[0];
      if (uri) resolve({ child, uri, startedIn: performance.now() - started });
    });
    child.once('exit', (code) => reject(new Error(`db:memory exited with ${code}`)));
  });
}

function stopDatabase(database: Database): Promise<void> {
  return new Promise((resolve) => {
    database.child.once('exit', () => resolve());
    database.child.kill('SIGTERM');
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** CPU time (user + system) the database process has used so far, in ms. */
function databaseCpu(): number {
  const fields = readFileSync(`/proc/${database.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

/**
 * Round-trip times of `runs` calls, and the database process's CPU time per call: on a busy
 * machine the wall-clock figures include waiting for a core, the CPU figure does not.
 */
async function measure(runs: number, run: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number; text: string }> {
  const times: number[] = [];
  const cpuBefore = databaseCpu();
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run(i);
    times.push(performance.now() - start);
  }
  const cpu = (databaseCpu() - cpuBefore) / runs;
  times.sort((a, b) => a - b);
  const p50 = percentile(times, 50);
  const p99 = percentile(times, 99);
  return { p50, p99, text: `p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms, database CPU ${cpu.toFixed(3)} ms/op (${runs} runs)` };
}

const random = (n: number) => Math.floor(Math.random() * n);

function memoryOf(pid: number): { rssAnon: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(status.match(new RegExp(`${field}:\\s+(\\d+) kB`))?.[1] ?? 0) * 1024;
  return { rssAnon: kb('RssAnon'), rss: kb('VmRSS') };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

interface World {
  folders: ObjectId[];
  bigFolder: ObjectId;
  bigFolderCards: number;
  reader: ObjectId;
  readerCards: ObjectId[];
  /** The middle of the cards' change times: the watermark of the unread-count measurement. */
  middle: Date;
}

/** Cards, unread marks and history entries, `size` of each; returns insert rates. */
async function fill(db: Db, size: number): Promise<{ world: World; cardsRate: number; totalRate: number }> {
  const cards = db.collection('cards');
  const unread = db.collection('unread');
  const history = db.collection('history');
  await cards.createIndex({ folderId: 1, inTrash: 1, title: 1, _id: 1 });
  await cards.createIndex({ folderId: 1, inTrash: 1, updatedAt: -1, _id: -1 });
  await cards.createIndex({ searchKeys: 1 });
  await unread.createIndex({ userId: 1, cardId: 1 }, { unique: true });
  await unread.createIndex({ userId: 1, folderId: 1 });
  await unread.createIndex({ cardId: 1 });
  await history.createIndex({ cardId: 1, seq: 1 }, { unique: true });
  const folders = Array.from({ length: FOLDERS }, () => new ObjectId());
  const bigFolderCards = Math.min(100_000, Math.floor(size / 2));
  const readerMarks = Math.min(50_000, Math.floor(size / 2));
  const reader = new ObjectId();
  const others = Array.from({ length: 200 }, () => new ObjectId());
  const readerCards: ObjectId[] = [];
  let cardsTime = 0;
  let totalTime = 0;
  const now = Date.now();
  for (let offset = 0; offset < size; offset += BATCH) {
    const count = Math.min(BATCH, size - offset);
    const cardDocs = Array.from({ length: count }, (_, j) => {
      const i = offset + j;
      const folderId = i < bigFolderCards ? folders[0]! : folders[1 + (i % (FOLDERS - 1))]!;
      const inn = String(7700000000 + i);
      return {
        _id: new ObjectId(),
        folderId,
        typeKey: 'counterparty',
        inTrash: false,
        title: `ООО «Контрагент ${i}»`,
        values: { name: `ООО «Контрагент ${i}»`, inn, phone: `+7 495 ${String(i).padStart(7, '0')}` },
        searchKeys: [inn],
        version: 1,
        createdAt: new Date(now - i * 1000),
        updatedAt: new Date(now - i * 1000),
      };
    });
    let start = performance.now();
    await cards.insertMany(cardDocs, { ordered: false });
    cardsTime += performance.now() - start;
    totalTime += performance.now() - start;
    const marks = cardDocs.map((card, j) => {
      const i = offset + j;
      const userId = i < readerMarks ? reader : others[i % others.length]!;
      if (userId === reader) readerCards.push(card._id);
      return { userId, cardId: card._id, folderId: card.folderId, newToUser: true, changedFields: [], since: new Date() };
    });
    const entries = cardDocs.map((card) => ({
      cardId: card._id,
      seq: 1,
      at: card.createdAt,
      actorId: others[0],
      action: 'create',
      changes: [{ key: 'name', from: null, to: card.values.name }],
    }));
    start = performance.now();
    await unread.insertMany(marks, { ordered: false });
    await history.insertMany(entries, { ordered: false });
    totalTime += performance.now() - start;
  }
  const middle = new Date(now - size * 500);
  return {
    world: { folders, bigFolder: folders[0]!, bigFolderCards, reader, readerCards, middle },
    cardsRate: size / (cardsTime / 1000),
    totalRate: (size * 3) / (totalTime / 1000),
  };
}

/**
 * Drops the history collection (`size` entries, one unique index): when the reply comes, and how
 * reads of another collection fare meanwhile and for the 3 s after it (while its space is freed).
 */
async function measureDrop(db: Db, size: number, ids: ObjectId[]): Promise<void> {
  const cards = db.collection('cards');
  let reading = true;
  let reads = 0;
  let slowest = 0;
  const reader = (async () => {
    while (reading) {
      const start = performance.now();
      await cards.findOne({ _id: ids[random(ids.length)]! });
      slowest = Math.max(slowest, performance.now() - start);
      reads++;
    }
  })();
  const start = performance.now();
  await db.collection('history').drop();
  const replied = performance.now() - start;
  await new Promise((resolve) => setTimeout(resolve, 3000));
  reading = false;
  await reader;
  console.log(
    `drop of the ${size.toLocaleString('en-US')} history entries: reply after ${replied.toFixed(0)} ms; findOne({_id}) on cards meanwhile and 3 s after: ${reads} reads, slowest ${slowest.toFixed(1)} ms\n`,
  );
}

/** Folders of the unread-count measurement: a reader of 700 folders, as Kartoteka counts them. */
const READER_FOLDERS = 700;

/**
 * Unread counts of a reader of 700 folders (the 100 holding cards and 600 empty ones), with a
 * watermark in every other folder at the middle of the cards' change times: as the application
 * asks them (one aggregate per 500 folders, an `$or` of one key range per folder grouped by
 * folder) and as it asked before (one `count` command per folder, four at a time).
 */
async function measureUnreadCounts(db: Db, world: World): Promise<void> {
  const cards = db.collection('cards');
  const folders = [...world.folders, ...Array.from({ length: READER_FOLDERS - world.folders.length }, () => new ObjectId())];
  const branches = folders.map((folderId, i) => ({ folderId, inTrash: false, ...(i % 2 ? { updatedAt: { $gt: world.middle } } : {}) }));
  let unread = 0;
  const grouped = await measure(20, async () => {
    unread = 0;
    for (let i = 0; i < branches.length; i += 500) {
      const rows = await cards.aggregate([{ $match: { $or: branches.slice(i, i + 500) } }, { $group: { _id: '$folderId', n: { $sum: 1 } } }]).toArray();
      for (const row of rows) unread += Number(row.n);
    }
  });
  console.log(`unread counts, ${READER_FOLDERS} folders (${unread.toLocaleString('en-US')} unread), aggregates of 500:   ${grouped.text}`);
  const perFolder = await measure(3, async () => {
    const pending = branches.values();
    const next = async () => {
      for (let branch = pending.next(); !branch.done; branch = pending.next()) await db.command({ count: 'cards', query: branch.value });
    };
    await Promise.all(Array.from({ length: 4 }, next));
  });
  console.log(`same, one count command per folder (4 at a time):       ${perFolder.text}`);
}

/** Self time by function and by file, as shares of the busy (non-idle) samples of each profiled process. */
function summarizeProfile(): void {
  for (const file of readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(path.join(profileDir, file), 'utf8')) as {
      nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
      samples: number[];
    };
    const byNode = new Map<number, number>();
    for (const id of profile.samples) byNode.set(id, (byNode.get(id) ?? 0) + 1);
    const bySelf = new Map<string, number>();
    const byFile = new Map<string, number>();
    let busy = 0;
    for (const node of profile.nodes) {
      const n = byNode.get(node.id) ?? 0;
      if (n === 0 || node.callFrame.functionName === '(idle)') continue;
      busy += n;
      const where = node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/server\/src\//, 'server/src/');
      const name = `${node.callFrame.functionName || '(anonymous)'}${where ? ` ${where}:${node.callFrame.lineNumber + 1}` : ''}`;
      bySelf.set(name, (bySelf.get(name) ?? 0) + n);
      const fileName = where || node.callFrame.functionName;
      byFile.set(fileName, (byFile.get(fileName) ?? 0) + n);
    }
    if (busy < profile.samples.length * 0.05) continue;
    const share = (n: number) => `${((n / busy) * 100).toFixed(1).padStart(5)}%`;
    console.log(`\nCPU profile of the database process during the measurements (${file}): busy ${busy} of ${profile.samples.length} samples; self time of the busy samples:`);
    for (const [name, n] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${share(n)}  ${name}`);
    console.log('by file:');
    for (const [name, n] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${share(n)}  ${name}`);
  }
}

const cpus = os.cpus();
console.log(
  `machine: ${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`database: npm run db:memory -- --dbpath ${path.join(dbpath, 'data')} in its own process; official mongodb driver over TCP on 127.0.0.1`);
console.log('data per size: N cards, N unread marks (one reader holds min(50,000, N/2)), N history entries\n');

let database = await startDatabase();
let client = await new MongoClient(database.uri).connect();
const pages: Record<number, number> = {};
try {
  for (const size of SIZES) {
    const db = client.db(`bench_${size}`);
    const fillCpu = databaseCpu();
    const { world, cardsRate, totalRate } = await fill(db, size);
    const perCpuSecond = (size * 3) / ((databaseCpu() - fillCpu) / 1000);
    if (args.profile) {
      await client.close();
      await stopDatabase(database);
      database = await startDatabase(true);
      client = await new MongoClient(database.uri).connect();
    }
    const cards = client.db(`bench_${size}`).collection('cards');
    const unread = client.db(`bench_${size}`).collection('unread');
    const ids = world.readerCards;
    console.log(`== ${size.toLocaleString('en-US')} cards + ${size.toLocaleString('en-US')} marks + ${size.toLocaleString('en-US')} history entries ==`);
    console.log(
      `inserts (insertMany × ${BATCH}, cards with 3 indexes):      ${Math.round(cardsRate).toLocaleString('en-US')} docs/s (all three collections: ${Math.round(totalRate).toLocaleString('en-US')} docs/s; ${Math.round(perCpuSecond).toLocaleString('en-US')} docs per database CPU-second)`,
    );
    // Warm-up, so the figures measure the server rather than the JIT.
    for (let i = 0; i < 300; i++) await cards.findOne({ _id: ids[random(ids.length)]! });
    const byId = await measure(2000, () => cards.findOne({ _id: ids[random(ids.length)]! }));
    console.log(`point lookup findOne({_id}):                             ${byId.text}`);
    const byIndex = await measure(2000, () => unread.findOne({ userId: world.reader, cardId: ids[random(ids.length)]! }));
    console.log(`indexed point lookup findOne({userId, cardId}):          ${byIndex.text}`);
    const page = await measure(500, () =>
      cards
        .find({ folderId: world.folders[random(FOLDERS)]!, inTrash: false })
        .sort({ title: 1, _id: 1 })
        .limit(50)
        .toArray(),
    );
    pages[size] = page.p50;
    console.log(`50-card page {folderId, inTrash} sort {title, _id}:      ${page.text}`);
    const deep = await measure(200, () => cards.find({ folderId: world.bigFolder, inTrash: false }).sort({ updatedAt: -1, _id: -1 }).skip(1000).limit(50).toArray());
    console.log(`same, big folder by updatedAt desc, skip 1000:           ${deep.text}`);
    const middle = await cards
      .find({ folderId: world.bigFolder, inTrash: false })
      .sort({ title: 1, _id: 1 })
      .skip(Math.floor(world.bigFolderCards / 2))
      .limit(1)
      .next();
    const keyset = await measure(200, () =>
      cards
        .find({ $and: [{ folderId: world.bigFolder, inTrash: false }, { $or: [{ title: { $gt: middle!.title } }, { title: middle!.title, _id: { $gt: middle!._id } }] }] })
        .sort({ title: 1, _id: 1 })
        .limit(50)
        .toArray(),
    );
    console.log(`keyset page after card ${Math.floor(world.bigFolderCards / 2).toLocaleString('en-US')} of the big folder:       ${keyset.text}`);
    const marks = await measure(500, () => unread.find({ userId: world.reader, cardId: { $in: Array.from({ length: 50 }, () => ids[random(ids.length)]!) } }).toArray());
    console.log(`{userId, cardId: {$in: 50}} (${ids.length.toLocaleString('en-US')} marks of that user):  ${marks.text}`);
    let counted = 0;
    const count = await measure(50, async () => (counted = await cards.countDocuments({ folderId: world.bigFolder, inTrash: false })));
    console.log(`countDocuments of ${counted.toLocaleString('en-US')} index entries (big folder):    ${count.text}`);
    await measureUnreadCounts(client.db(`bench_${size}`), world);
    // 500 upserts of new marks, as the unread fan-out writes them.
    const newMarks = () =>
      ids.slice(0, 500).map((cardId) => ({
        updateOne: {
          filter: { userId: new ObjectId(), cardId },
          update: { $set: { folderId: world.bigFolder }, $setOnInsert: { newToUser: true, changedFields: [], since: new Date() } },
          upsert: true,
        },
      }));
    const bulk = await measure(20, () => unread.bulkWrite(newMarks(), { ordered: false }));
    console.log(`bulkWrite of 500 upserts (new marks):                    ${bulk.text}`);
    const bulkTxn = await measure(20, () => client.withSession((session) => session.withTransaction(() => unread.bulkWrite(newMarks(), { ordered: false, session }))));
    console.log(`same inside a transaction (the unread fan-out):          ${bulkTxn.text}`);
    const memory = memoryOf(database.child.pid!);
    const status = await client.db('admin').command({ serverStatus: 1 });
    const heap = Number((status.extra_info as { heap_usage_bytes?: number } | undefined)?.heap_usage_bytes ?? 0);
    console.log(`database process: RssAnon ${mib(memory.rssAnon)} (RSS ${mib(memory.rss)} incl. mapped file pages), JS heap used ${mib(heap)}`);
    console.log(`data file: ${mib(statSync(path.join(dbpath, 'data', 'data.mdb')).size)} (all sizes so far)\n`);
    if (size === SIZES[SIZES.length - 1]) {
      await client.close();
      await stopDatabase(database);
      database = await startDatabase(args.profile);
      client = await new MongoClient(database.uri).connect();
      const readyAt = performance.now();
      await client.db(`bench_${size}`).collection('cards').findOne({ _id: ids[0]! });
      console.log(
        `restart with everything above stored: URI printed after ${database.startedIn.toFixed(0)} ms (process start included), first query answered ${(performance.now() - readyAt).toFixed(0)} ms later`,
      );
      const after = memoryOf(database.child.pid!);
      console.log(`after restart: RssAnon ${mib(after.rssAnon)}`);
    }
    await measureDrop(client.db(`bench_${size}`), size, ids);
  }
  const first = SIZES[0]!;
  const last = SIZES[SIZES.length - 1]!;
  if (first !== last) console.log(`page p50 ratio ${last.toLocaleString('en-US')} / ${first.toLocaleString('en-US')}: ${(pages[last]! / pages[first]!).toFixed(2)}`);
} finally {
  await client.close();
  await stopDatabase(database);
  if (args.profile) summarizeProfile();
  rmSync(dbpath, { recursive: true, force: true });
}
