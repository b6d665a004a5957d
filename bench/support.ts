import os from 'node:os';
import mongoose from 'mongoose';
import { loadConfig } from '../server/src/config';
import { CLIENT_DIST } from '../server/src/paths';
import { createLogger } from '../server/src/logger';
import { startServer, type RunningServer } from '../server/src/server';

export const BENCH_ADMIN = { login: 'admin', password: 'bench-admin-password' };

export function printMachine(): void {
  const cpus = os.cpus();
  console.log(`machine: ${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`);
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
