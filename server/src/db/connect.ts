import { spawn } from 'node:child_process';
import dns from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mongoose from 'mongoose';
import type { Config } from '../config';
import type { Logger } from '../logger';

/** Which server the application talks to; only logged and shown, never branched on. */
export type DatabaseKind = 'mongodb' | 'embedded-mongod' | 'kartoteka-memory';

export interface Database {
  kind: DatabaseKind;
  connection: mongoose.Connection;
  /** Disconnects mongoose and stops an embedded server if one was started. */
  close(): Promise<void>;
}

interface ServerHandle {
  kind: DatabaseKind;
  uri: string;
  stop(): Promise<void>;
}

/** Where mongodb-memory-server downloads MongoDB from; unreachable on offline machines. */
const MONGODB_DOWNLOAD_HOST = 'fastdl.mongodb.org';

/** Why no embedded mongod can be had here; undefined when mongodb-memory-server has one or can fetch one. */
async function embeddedMongodUnavailable(): Promise<string | undefined> {
  // A development dependency: production installs (npm ci --omit=dev) do not have it.
  const util = await import('mongodb-memory-server-core/lib/util/DryMongoBinary.js').catch(() => undefined);
  if (!util) return 'mongodb-memory-server is not installed';
  if (await util.DryMongoBinary.locateBinary({ version: process.env.MONGOMS_VERSION ?? '' }).catch(() => undefined)) return undefined;
  const resolved = dns.lookup(MONGODB_DOWNLOAD_HOST).then(
    () => true,
    () => false,
  );
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000).unref());
  return (await Promise.race([resolved, timeout])) ? undefined : 'no mongod binary here and none can be downloaded (no network)';
}

/** Starts a real mongod through mongodb-memory-server (downloading it on first use). */
async function startEmbeddedMongod(dataDir: string): Promise<ServerHandle> {
  const { MongoMemoryReplSet } = await import('mongodb-memory-server-core');
  const dbPath = path.resolve(dataDir, 'mongo');
  await mkdir(dbPath, { recursive: true });
  const replSet = await MongoMemoryReplSet.create({
    replSet: { count: 1, storageEngine: 'wiredTiger' },
    instanceOpts: [{ dbPath }],
  });
  return { kind: 'embedded-mongod', uri: replSet.getUri(), stop: () => replSet.stop({ doCleanup: false }).then(() => undefined) };
}

/** How long the built-in database may take to stop before it is killed. */
const DATABASE_STOP_GRACE_MS = 5_000;

/**
 * Starts Kartoteka's own server (`db:memory`, LMDB under `<dataDir>/memory`) in a child process:
 * the database and the application then use both cores and separate heaps. The child stops with
 * the application (killed if it does not within a grace period, or when the application exits
 * otherwise), also when the application dies (it watches its IPC channel and its parent).
 */
async function startKartotekaMemory(dataDir: string, logger: Logger): Promise<ServerHandle> {
  const dbpath = path.resolve(dataDir, 'memory');
  await mkdir(dbpath, { recursive: true });
  const here = path.dirname(fileURLToPath(import.meta.url));
  // From the sources: db/memory/cli.ts beside this file; from the production bundle (dist/server/main.js): db/memory/cli.js.
  const cli = [path.join(here, 'memory', 'cli.ts'), path.join(here, 'db', 'memory', 'cli.js')].find((file) => existsSync(file));
  if (!cli) throw new Error(`the built-in database's command (db/memory/cli) is missing next to ${here}; run npm run build`);
  const child = spawn(process.execPath, [...process.execArgv, cli, '--port', '0', '--dbpath', dbpath], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let lastLine = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      lastLine = line.replace(/^kartoteka-memory: /, '');
      logger.info({ database: 'kartoteka-memory' }, lastLine);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const uri = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = output.match(/mongodb:\/\/\S+/)?.[0];
      if (found) resolve(found);
    });
    void exited.then((code) => reject(new Error(`the built-in database exited with code ${code} before it was ready: ${lastLine || 'see the log above'}`)));
  });
  child.unref();
  // However this process ends, its database does not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  return {
    kind: 'kartoteka-memory',
    uri,
    async stop() {
      // Closing the channel stops it (it leaves signals sent to the whole process group to us);
      // ref() keeps this process up until it has exited.
      child.ref();
      if (child.connected) child.disconnect();
      // A database busy with a long query may not notice in time: it is killed after the grace
      // period (LMDB keeps every committed write across a kill).
      const kill = setTimeout(() => child.kill('SIGKILL'), DATABASE_STOP_GRACE_MS);
      await exited;
      clearTimeout(kill);
    },
  };
}

async function chooseServer(config: Config, logger: Logger): Promise<ServerHandle> {
  if (config.mongodbUri) {
    return { kind: 'mongodb', uri: config.mongodbUri, stop: async () => {} };
  }
  const unavailable = await embeddedMongodUnavailable();
  if (!unavailable) {
    try {
      return await startEmbeddedMongod(config.dataDir);
    } catch (error) {
      logger.info({ reason: (error as Error).message.split('\n')[0] }, 'embedded mongod unavailable');
    }
  } else {
    logger.info({ reason: unavailable }, 'embedded mongod unavailable');
  }
  const handle = await startKartotekaMemory(config.dataDir, logger);
  logger.warn(
    "Using Kartoteka's built-in MongoDB-compatible database (LMDB, data under %s, in its own process). It is meant for evaluation and small teams; set MONGODB_URI to a real MongoDB replica set for production.",
    path.resolve(config.dataDir, 'memory'),
  );
  return handle;
}

/**
 * Connects mongoose: MONGODB_URI if set, else an embedded mongod (mongodb-memory-server),
 * else Kartoteka's own MongoDB-compatible server in durable mode.
 */
export async function openDatabase(config: Config, logger: Logger, options: { dbName?: string; monitorCommands?: boolean } = {}): Promise<Database> {
  const server = await chooseServer(config, logger);
  try {
    // A URI without a database name gets Kartoteka's own rather than the driver's "test".
    const dbName = options.dbName ?? (/^mongodb(?:\+srv)?:\/\/[^/]+\/[^/?]+/.test(server.uri) ? undefined : 'kartoteka');
    // A long-running server: its monitor streams (awaitable hello) even where the driver would
    // poll because it takes the host for a function service (K_SERVICE on Cloud Run, …). A polling
    // monitor can start its hello on a connection the database has just closed and then wait on it
    // forever: after that restart the application never reconnects (s14 U5).
    await mongoose.connect(server.uri, { dbName, serverSelectionTimeoutMS: 10_000, serverMonitoringMode: 'stream', monitorCommands: options.monitorCommands ?? false });
  } catch (error) {
    await server.stop();
    throw error;
  }
  logger.info({ database: server.kind, dbName: mongoose.connection.name }, 'database connected');
  return {
    kind: server.kind,
    connection: mongoose.connection,
    async close() {
      await mongoose.disconnect();
      await server.stop();
    },
  };
}

/** Round trip to the server; false when it does not answer. */
export async function pingDatabase(connection: mongoose.Connection): Promise<boolean> {
  try {
    const db = connection.db;
    if (!db || connection.readyState !== mongoose.ConnectionStates.connected) return false;
    await db.admin().ping();
    return true;
  } catch {
    return false;
  }
}
