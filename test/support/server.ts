import type { DestinationStream } from 'pino';
import { loadConfig } from '../../server/src/config';
import { CLIENT_DIST } from '../../server/src/paths';
import { createLogger } from '../../server/src/logger';
import { startServer, type RunningServer } from '../../server/src/server';
import { ApiClient } from './api-client';
import { testMongoUri, uniqueDbName } from './mongo';

export const TEST_ADMIN = { login: 'admin', password: 'admin-password-for-tests' };

/**
 * Starts the real server on a free port against the test database (MONGODB_URI or the
 * in-memory server) in a database of its own (or the one named, e.g. to restart on the same
 * data). LOG_LEVEL=debug shows the server's logs; `logTo` receives them instead of standard output.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { dbName?: string; monitorCommands?: boolean; logTo?: DestinationStream } = {},
): Promise<RunningServer> {
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    MONGODB_URI: await testMongoUri(),
    SEED_DEMO_DATA: 'false',
    ADMIN_LOGIN: TEST_ADMIN.login,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    ...env,
  });
  return startServer(config, createLogger(config, options.logTo), {
    clientDist: CLIENT_DIST,
    dbName: options.dbName ?? uniqueDbName('kartoteka'),
    monitorCommands: options.monitorCommands,
  });
}

const SIGN_IN = 'mutation SignIn($login: String!, $password: String!) { signIn(login: $login, password: $password) { user { id } } }';

/** A client signed in as the given user (the test administrator by default). */
export async function signedIn(server: RunningServer, login = TEST_ADMIN.login, password = TEST_ADMIN.password): Promise<ApiClient> {
  const client = new ApiClient(server.url);
  await client.data(SIGN_IN, { login, password });
  return client;
}
