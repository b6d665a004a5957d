/**
 * `npm run bench:db-heartbeat [-- --cards 1000000] [--batch 20000] [--transactions] [--port 0]`: does the built-in
 * database keep answering while a bulk load runs? The database runs in its own process (`npm run
 * db:memory` with a temporary `--dbpath`); one client loads cards shaped like the seed's
 * counterparties into a collection with the card model's indexes — unordered insert commands of
 * `--batch` cards, two in flight, as `seeds/generate.ts` loads them — while a second client (its
 * own connection, as the driver's server monitor has) sends `ping` and a `findOne` by `_id` every
 * 100 ms. Prints the longest wait for an answer and the longest gap between answers, per 100,000
 * cards loaded, and the load rate. `--transactions`: each insert command in a transaction of its
 * own, committed before the next (an import's batches: `--batch 500`). `--uri` loads into a database already running instead (a real
 * MongoDB, or the built-in one started with a profiler). A script that prints numbers; it asserts nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { MongoClient, ObjectId } from 'mongodb';
import { Card } from '../server/src/cards/model';
import { counterpartyDoc } from '../seeds/generate';
import { cpuMs, printMachine } from './support';

const { values: args } = parseArgs({
  options: {
    cards: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '20000' },
    port: { type: 'string', default: '0' },
    uri: { type: 'string' },
    transactions: { type: 'boolean', default: false },
  },
});
const CARDS = Number(args.cards);
const BATCH = Number(args.batch);
const IN_FLIGHT = args.transactions ? 1 : 2;
const PROBE_EVERY_MS = 100;
const REPORT_EVERY = 100_000;

const FOLDERS = Array.from({ length: 100 }, () => ({ folderId: new ObjectId(), libraryId: new ObjectId() }));
const author = new ObjectId();

/** The seed's counterparty card number `n`, in one of 100 folders (10,000 cards each in turn). */
function cardDoc(n: number): Record<string, unknown> {
  return counterpartyDoc(n, FOLDERS[Math.floor(n / 10_000) % FOLDERS.length]!, author, new Date(Date.UTC(2026, 0, 1) + n * 1000));
}

function startDatabase(dbpath: string): Promise<{ child: ChildProcess; uri: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/db/memory/cli.ts', '--port', args.port, '--dbpath', dbpath], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const uri = output.match(/mongodb:\/\/\S+/)?.[0];
      if (uri) resolve({ child, uri });
    });
    child.once('exit', (code) => reject(new Error(`db:memory exited with ${code}`)));
  });
}

/**
 * Probes every PROBE_EVERY_MS on its own connection, in a worker thread (the loader's own work, making
 * batches, does not delay it); keeps the longest answer and the longest gap between answers.
 */
const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
const { MongoClient, ObjectId } = require('mongodb');
const client = new MongoClient(workerData.uri, { directConnection: true, maxPoolSize: 1 });
const cards = client.db('bench_heartbeat').collection('cards');
const probeId = new ObjectId(workerData.probeId);
let worst = { answer: 0, gap: 0, probes: 0 };
let running = true;
let lastAnswer = performance.now();
parentPort.on('message', async (message) => {
  if (message === 'take') {
    parentPort.postMessage(worst);
    worst = { answer: 0, gap: 0, probes: 0 };
  } else running = false;
});
(async () => {
  while (running) {
    const sent = performance.now();
    await client.db('admin').command({ ping: 1 });
    await cards.findOne({ _id: probeId });
    const now = performance.now();
    worst.answer = Math.max(worst.answer, now - sent);
    worst.gap = Math.max(worst.gap, now - lastAnswer);
    worst.probes++;
    lastAnswer = now;
    await new Promise((resolve) => setTimeout(resolve, ${PROBE_EVERY_MS}));
  }
  await client.close();
  parentPort.postMessage('stopped');
})();
`;

interface Worst {
  answer: number;
  gap: number;
  probes: number;
}

function startProbe(uri: string, probeId: ObjectId) {
  const worker = new Worker(PROBE, { eval: true, workerData: { uri, probeId: probeId.toHexString() } });
  const next = () => new Promise<unknown>((resolve) => worker.once('message', resolve));
  return {
    /** The worst figures since the last call, then reset. */
    async take(): Promise<Worst> {
      const answer = next();
      worker.postMessage('take');
      return (await answer) as Worst;
    },
    async stop() {
      const stopped = next();
      worker.postMessage('stop');
      await stopped;
      await worker.terminate();
    },
  };
}

const load = () => os.loadavg()[0]!.toFixed(1);
const dir = mkdtempSync(path.join(os.tmpdir(), 'kartoteka-bench-heartbeat-'));
const database = args.uri ? { child: null, uri: args.uri } : await startDatabase(path.join(dir, 'data'));
const loader = new MongoClient(database.uri);
let monitorFailures = 0;
loader.on('serverHeartbeatFailed', () => monitorFailures++);
try {
  printMachine();
  console.log(
    `${CARDS.toLocaleString('en-US')} cards in insert commands of ${BATCH.toLocaleString('en-US')} (${args.transactions ? 'each in a transaction' : `${IN_FLIGHT} in flight`}), the card model's indexes; probes every ${PROBE_EVERY_MS} ms`,
  );
  const cards = loader.db('bench_heartbeat').collection('cards');
  for (const [key, options] of Card.schema.indexes()) await cards.createIndex(key as Record<string, 1 | -1>, options as Record<string, unknown>);
  const first = cardDoc(0);
  await cards.insertOne(first);
  const probe = startProbe(database.uri, first._id as ObjectId);
  const started = performance.now();
  const databaseCpu = () => (database.child ? cpuMs(database.child.pid!) / 1000 : NaN);
  const cpuStarted = databaseCpu();
  let worstGap = 0;
  let reported = 0;
  const storing: Promise<unknown>[] = [];
  for (let offset = 1; offset < CARDS; offset += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, CARDS - offset) }, (_, j) => cardDoc(offset + j));
    if (storing.length === IN_FLIGHT) await storing.shift();
    storing.push(
      args.transactions ? loader.withSession((session) => session.withTransaction(() => cards.insertMany(batch, { session }))) : cards.insertMany(batch, { ordered: false }),
    );
    const loaded = offset + batch.length - IN_FLIGHT * BATCH;
    if (loaded - reported >= REPORT_EVERY) {
      const worst = await probe.take();
      worstGap = Math.max(worstGap, worst.gap);
      reported = loaded;
      console.log(
        `~${loaded.toLocaleString('en-US')} cards: longest answer ${worst.answer.toFixed(0)} ms, longest gap between answers ${worst.gap.toFixed(0)} ms (${worst.probes} probes), load average ${load()}`,
      );
    }
  }
  await Promise.all(storing);
  const seconds = (performance.now() - started) / 1000;
  const dbCpu = databaseCpu() - cpuStarted;
  const last = await probe.take();
  await probe.stop();
  worstGap = Math.max(worstGap, last.gap);
  console.log(
    `loaded in ${seconds.toFixed(0)} s: ${Math.round(CARDS / seconds).toLocaleString('en-US')} cards/s wall, ${Math.round(CARDS / dbCpu).toLocaleString('en-US')} per database CPU-second; ` +
      `longest gap between probe answers ${worstGap.toFixed(0)} ms; driver monitor failures ${monitorFailures}; load average ${load()}`,
  );
} finally {
  await loader.close();
  if (database.child) {
    const { child } = database;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  rmSync(dir, { recursive: true, force: true });
}
