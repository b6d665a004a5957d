/**
 * The MongoDB the tests talk to: MONGODB_URI when set, else one shared in-memory server
 * (memory only) started on first use and stopped by the root hook in test/support/hooks.ts —
 * after the whole run, or after each file when mocha runs files in parallel workers.
 */
import { randomBytes } from 'node:crypto';

let shared: Promise<{ uri: string; stop(): Promise<void> }> | null = null;

export async function testMongoUri(): Promise<string> {
  if (process.env.MONGODB_URI) return process.env.MONGODB_URI;
  shared ??= import('../../server/src/db/memory').then(({ startMemoryServer }) => startMemoryServer());
  return (await shared).uri;
}

/** Stops the shared in-memory server if one was started; the next testMongoUri() starts a new one. */
export async function stopTestMongo(): Promise<void> {
  const running = shared;
  shared = null;
  if (running) await (await running).stop();
}

export function uniqueDbName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}
