/**
 * Mocha's global setup and root hooks (.mocharc.json `require`). With --parallel each worker
 * process runs many files one after another, and the root hooks run around each file.
 */
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { createLogger } from '../../server/src/logger';
import { stopTestMongo } from './mongo';

/** The client is built once before any file runs, not by two browser files in two workers at once into the same client/dist. */
export async function mochaGlobalSetup(): Promise<void> {
  await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
}

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await stopTestMongo();
  },
};
