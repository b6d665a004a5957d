/**
 * Benchmark of the in-memory MongoDB-compatible server through the official driver:
 * inserts/second, indexed point lookups, a sorted 50-document page by an indexed field,
 * and an unindexed scan, at 10k and 1M documents. `npm run bench:db` (not a test).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { MongoClient, type Collection } from 'mongodb';
import { startMemoryServer } from '../server/src/db/memory';

const SIZES = [10_000, 1_000_000];
const BATCH = 10_000;
const LOOKUPS = 2_000;
const PAGES = 300;
const SCANS = 3;

interface Row {
  k: number;
  name: string;
  v: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function timeEach(runs: number, run: () => Promise<unknown>): Promise<string> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((sum, t) => sum + t, 0) / times.length;
  return `mean ${mean.toFixed(3)} ms, p50 ${percentile(times, 50).toFixed(3)} ms, p99 ${percentile(times, 99).toFixed(3)} ms (${runs} runs)`;
}

async function fill(collection: Collection<Row>, count: number): Promise<number> {
  const start = performance.now();
  for (let offset = 0; offset < count; offset += BATCH) {
    const docs: Row[] = [];
    for (let i = offset; i < Math.min(count, offset + BATCH); i++) docs.push({ k: i, name: `Контрагент ${i}`, v: Math.random() });
    await collection.insertMany(docs, { ordered: false });
  }
  return count / ((performance.now() - start) / 1000);
}

const cpus = os.cpus();
console.log(`machine: ${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}`);
console.log('server: kartoteka in-memory (no --dbpath), official mongodb driver over TCP on 127.0.0.1');
console.log('document: { _id: ObjectId, k: <int, indexed>, name: "Контрагент <k>", v: <random double, not indexed> }\n');

const server = await startMemoryServer();
const client = await new MongoClient(server.uri).connect();
try {
  // Warm the JIT first so the 10k figures measure the server, not the compiler.
  const warmup = client.db('bench').collection<Row>('warmup');
  await warmup.createIndex({ k: 1 });
  await fill(warmup, 20_000);
  await timeEach(500, () => warmup.findOne({ k: Math.floor(Math.random() * 20_000) }));
  await timeEach(100, () => warmup.find({}).sort({ k: -1 }).limit(50).toArray());
  await timeEach(3, () => warmup.countDocuments({ v: { $lt: 0.001 } }));
  await warmup.drop();

  for (const size of SIZES) {
    const collection = client.db('bench').collection<Row>(`rows_${size}`);
    await collection.createIndex({ k: 1 });
    const rate = await fill(collection, size);
    console.log(`== ${size.toLocaleString('en-US')} documents ==`);
    console.log(`inserts (insertMany × ${BATCH}, indexed k): ${Math.round(rate).toLocaleString('en-US')} docs/s`);
    console.log(`indexed point lookup findOne({k}):          ${await timeEach(LOOKUPS, () => collection.findOne({ k: Math.floor(Math.random() * size) }))}`);
    console.log(`sorted page sort({k:-1}).limit(50):         ${await timeEach(PAGES, () => collection.find({}).sort({ k: -1 }).limit(50).toArray())}`);
    console.log(`range page {k:{$gte:r}} sort({k:1}) ×50:    ${await timeEach(PAGES, () => collection.find({ k: { $gte: Math.floor(Math.random() * size) } }).sort({ k: 1 }).limit(50).toArray())}`);
    console.log(`unindexed scan count({v:{$lt:0.001}}):      ${await timeEach(SCANS, () => collection.countDocuments({ v: { $lt: 0.001 } }))}`);
    console.log(`process memory: ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB RSS\n`);
    await collection.drop();
  }
} finally {
  await client.close();
  await server.stop();
}
