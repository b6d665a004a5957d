import { loadConfig } from '../../server/src/config';
import { CLIENT_DIST } from '../../server/src/http/client-build';
import { createLogger } from '../../server/src/logger';
import { startServer, type RunningServer } from '../../server/src/server';
import { testMongoUri, uniqueDbName } from './mongo';

/**
 * Starts the real server on a free port against the test database (MONGODB_URI or the
 * in-memory server) in a database of its own. LOG_LEVEL=debug shows the server's logs.
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    MONGODB_URI: await testMongoUri(),
    SEED_DEMO_DATA: 'false',
    ...env,
  });
  return startServer(config, createLogger(config), { clientDist: CLIENT_DIST, dbName: uniqueDbName('kartoteka') });
}
