import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { loadConfig } from '../server/src/config';
import { CLIENT_DIST, PROJECT_ROOT as ROOT_DIR } from '../server/src/paths';
import { createLogger } from '../server/src/logger';
import { startServer, type RunningServer } from '../server/src/server';
import { ApiClient } from '../test/support/api-client';

export const BENCH_ADMIN = { login: 'admin', password: 'bench-admin-password' };

export function printMachine(): void {
  const cpus = os.cpus();
  console.log(`machine: ${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`);
  const wanted = belowEngines(process.version);
  // The benchmarks run their servers with the node that runs them: on an older one their CPU per
  // request is not production's (at session 17 the same server bundle cost 30–60 % more on Node 20).
  if (wanted) console.log(`  not the production runtime: package.json wants node ${wanted}; put it first on PATH to measure what production runs`);
}

/** The engines range (`>=X.Y.Z`, package.json's by default) when `version` is below it, else null. */
export function belowEngines(
  version: string,
  wanted = (JSON.parse(readFileSync(path.join(ROOT_DIR, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node ?? '',
): string | null {
  const least = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(wanted.trim());
  if (!least) return null;
  const have = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!have) return wanted;
  for (let i = 1; i <= 3; i += 1) if (Number(have[i]) !== Number(least[i])) return Number(have[i]) < Number(least[i]) ? wanted : null;
  return null;
}

const CLOCK_TICK_MS = 1000 / 100;

/** CPU time (user + system) a process has used so far, in ms (Linux). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

/** The built-in database's process when this process started it (a child running db/memory/cli.ts), else null (Linux). */
export function databaseChildPid(): number | null {
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return children.map(Number).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('db/memory/cli')) ?? null;
}

/** MONGODB_URI, or Kartoteka's in-memory server started for the run. */
export async function benchDatabaseUri(): Promise<{ uri: string; kind: string; stop: () => Promise<void> }> {
  if (process.env.MONGODB_URI) return { uri: process.env.MONGODB_URI, kind: 'MongoDB (MONGODB_URI)', stop: async () => {} };
  const { startMemoryServer } = await import('../server/src/db/memory');
  const server = await startMemoryServer();
  return { uri: server.uri, kind: 'Kartoteka in-memory server', stop: () => server.stop() };
}

export async function startBenchServer(uri: string): Promise<RunningServer> {
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    MONGODB_URI: uri,
    SEED_DEMO_DATA: 'false',
    ADMIN_LOGIN: BENCH_ADMIN.login,
    ADMIN_PASSWORD: BENCH_ADMIN.password,
  });
  return startServer(config, createLogger(config), { clientDist: CLIENT_DIST, dbName: `bench_${Date.now()}`, monitorCommands: true });
}

/**
 * The server as `npm start` starts it: MONGODB_URI when set, else the built-in database in its own
 * process (a temporary data directory, removed by `stop`).
 */
export async function startServerAsNpmStart(): Promise<{ server: RunningServer; stop: () => Promise<void> }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-bench-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    SEED_DEMO_DATA: 'false',
    ADMIN_LOGIN: BENCH_ADMIN.login,
    ADMIN_PASSWORD: BENCH_ADMIN.password,
    ...(process.env.MONGODB_URI && { MONGODB_URI: process.env.MONGODB_URI }),
  });
  const server = await startServer(config, createLogger(config), { clientDist: CLIENT_DIST, dbName: `bench_${Date.now()}` });
  return {
    server,
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** CPU seconds (user + system) of the database process this one started, from /proc; null where there is no /proc. */
export function childrenCpuSeconds(): number | null {
  if (!existsSync('/proc/self/stat')) return null;
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // After the command's parenthesised name: state, ppid, … utime (14th field), stime (15th).
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8')
        .replace(/^.*\) /s, '')
        .split(' ');
      // Only the database (db/memory/cli or mongod): other children (esbuild's service) come and go.
      if (Number(fields[1]) !== process.pid || !/memory\/cli|mongod/.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) continue;
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // A process that ended while the list was read.
    }
  }
  return ticks / 100;
}

export const cpuSeconds = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;

/**
 * Samples this process's resident memory and V8 heap every 50 ms from now, after a garbage collection
 * (with --expose-gc); `stop()` ends it → each as [at the start, the peak] (again the same, once stopped).
 */
export function sampleMemory(): { stop: () => { rss: [number, number]; heap: [number, number] } } {
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage();
  const peak = { rss: before.rss, heap: before.heapUsed };
  const sample = setInterval(() => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.heap = Math.max(peak.heap, now.heapUsed);
  }, 50);
  return {
    stop: () => {
      clearInterval(sample);
      return { rss: [before.rss, peak.rss], heap: [before.heapUsed, peak.heap] };
    },
  };
}

/** The machine's load average (1, 5, 15 minutes): how busy it was while a benchmark ran. */
export const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

/** Counts the database commands (round trips) the driver sends while `work` runs. */
export async function countRoundTrips<T>(work: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const commands: string[] = [];
  const client = mongoose.connection.getClient();
  const listener = (event: { commandName: string }) => commands.push(event.commandName);
  client.on('commandStarted', listener);
  try {
    return { result: await work(), commands };
  } finally {
    client.off('commandStarted', listener);
  }
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const ms = (value: number) => `${value.toFixed(2)} ms`;

/** A valid 10-digit INN (organisation) from a number: nine digits and their checksum. */
export function inn(n: number): string {
  const digits = String(100_000_000 + n)
    .slice(-9)
    .split('')
    .map(Number);
  const weights = [2, 4, 10, 3, 5, 9, 4, 6, 8];
  const check = (digits.reduce((sum, digit, index) => sum + digit * weights[index], 0) % 11) % 10;
  return `${digits.join('')}${check}`;
}

/** A client signed in as this user. */
export async function signedIn(url: string, loginName: string, password: string): Promise<ApiClient> {
  const client = new ApiClient(url);
  await client.data('mutation($l: String!, $p: String!) { signIn(login: $l, password: $p) { user { id } } }', { l: loginName, p: password });
  return client;
}
