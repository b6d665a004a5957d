/**
 * `npm run bench:duplicates-memory [-- --sizes 100000,1000000]`: the memory of the duplicate scan
 * (the background job that finds all groups, e.g. once after the duplicate keys' version changed)
 * at N counterparties. This process runs the scan job's own code as the server does, with
 * start:prod's heap flags, against the built-in database in its own process (or MONGODB_URI);
 * it samples its own RSS and V8 heap every 50 ms during the scan and prints the peak over the
 * level before it, with wall and CPU seconds (this process and the database's). Prints numbers;
 * asserts nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mongoose from 'mongoose';
import { pino } from 'pino';
import { Card } from '../server/src/cards/model';
import { loadConfig } from '../server/src/config';
import { openDatabase } from '../server/src/db/connect';
import { DuplicateGroup } from '../server/src/duplicates/model';
import type { ScanResult } from '../server/src/duplicates/scan';
import { prepareDatabase } from '../server/src/server';
import { generateDuplicateVariants } from '../seeds/duplicates';
import { generateCounterparties } from '../seeds/generate';
import { scanCounterparties } from './duplicate-scan';
import { cpuMs, databaseChildPid, printMachine, sampleMemory } from './support';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '100000,1000000' } } });
const SIZES = values.sizes.split(',').map(Number);
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const CHUNK = 5000;

async function measuredScan(): Promise<{ result: ScanResult; ms: number; cpu: number; dbCpu: number | null; rss: [number, number]; heap: [number, number] }> {
  const memory = sampleMemory();
  const db = databaseChildPid();
  const [cpu0, db0, started] = [cpuMs(process.pid), db ? cpuMs(db) : 0, performance.now()];
  // Stopped also when the scan fails; stopped, it keeps the peaks it saw.
  const result = await scanCounterparties(logger).finally(() => memory.stop());
  return { result, ms: performance.now() - started, cpu: cpuMs(process.pid) - cpu0, dbCpu: db ? cpuMs(db) - db0 : null, ...memory.stop() };
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-bench-duplicates-memory-'));
const config = loadConfig({ ...process.env, DATA_DIR: path.join(dir, 'data'), ADMIN_PASSWORD: 'bench-admin-password', LOG_LEVEL: 'warn' });
const database = await openDatabase(config, logger, { dbName: `bench_duplicates_memory_${Date.now()}` });
try {
  printMachine();
  console.log(`database: ${database.kind}; heap limit ${MiB(Number((await import('node:v8')).getHeapStatistics().heap_size_limit))}`);
  await prepareDatabase(config, logger);
  let generated = 0;
  for (const size of SIZES) {
    const started = Date.now();
    const count = size - generated;
    // Loaded a folder of CHUNK cards at a time: small insert commands keep the database answering on a busy machine.
    for (let done = 0; done < count; done += CHUNK) {
      const chunk = Math.min(CHUNK, count - done);
      const folderId = await generateCounterparties({ count: chunk, folderName: `Папка ${generated + done + 1}–${generated + done + chunk}` });
      await generateDuplicateVariants({ folderId, count: Math.round(chunk / 100) });
    }
    generated = size;
    const cards = await Card.countDocuments({ typeKey: 'counterparty', inTrash: false });
    console.log(
      `\n${cards.toLocaleString('en-US')} counterparties (1 % of them a second card of a company, typed another way), generated in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    const scan = await measuredScan();
    const type = scan.result.types[0];
    console.log(
      `  scan: ${(scan.ms / 1000).toFixed(1)} s wall, CPU ${(scan.cpu / 1000).toFixed(1)} s here${scan.dbCpu === null ? '' : ` + ${(scan.dbCpu / 1000).toFixed(1)} s database`}; ` +
        `${(await DuplicateGroup.countDocuments({ typeKey: 'counterparty' })).toLocaleString('en-US')} groups; ${type?.buckets ?? '?'} bucket(s) on disk${type ? `, ${MiB(type.spilledBytes)} spilled (${Math.round(type.spilledBytes / type.cards)} bytes a card)` : ''}`,
    );
    console.log(
      `  RSS ${MiB(scan.rss[0])} before → peak ${MiB(scan.rss[1])} (+${MiB(scan.rss[1] - scan.rss[0])}); ` +
        `V8 heap used ${MiB(scan.heap[0])} before → peak ${MiB(scan.heap[1])} (+${MiB(scan.heap[1] - scan.heap[0])})`,
    );
  }
  await mongoose.connection.db!.dropDatabase();
} finally {
  await database.close();
  await rm(dir, { recursive: true, force: true });
}
