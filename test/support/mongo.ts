/**
 * The MongoDB the tests talk to: MONGODB_URI when set, else one shared in-memory server
 * (memory only) started on first use and stopped after the whole mocha run.
 */
import { randomBytes } from 'node:crypto';

let shared: Promise<{ uri: string; stop(): Promise<void> }> | null = null;

export async function testMongoUri(): Promise<string> {
  if (process.env.MONGODB_URI) return process.env.MONGODB_URI;
  shared ??= import('../../server/src/db/memory').then(({ startMemoryServer }) => startMemoryServer());
  return (await shared).uri;
}

export function uniqueDbName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

// A root hook when loaded by mocha; other importers (scripts) simply get no hook.
if (typeof after === 'function') {
  after(async () => {
    if (shared) await (await shared).stop();
  });
}
