/** `npm run db:memory -- [--port 27017] [--host 127.0.0.1] [--dbpath DIR]`: runs the server until SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { startMemoryServer } from './index';

const USAGE = 'usage: npm run db:memory -- [--port 27017] [--host 127.0.0.1] [--dbpath DIR]';

function parseOptions(): { port: number; host: string; dbpath?: string } {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27017' },
      host: { type: 'string', default: '127.0.0.1' },
      dbpath: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer from 0 to 65535, got "${values.port}"`);
  if (values.dbpath === '') throw new Error('--dbpath must not be empty');
  return { port, host: values.host, dbpath: values.dbpath };
}

let options: ReturnType<typeof parseOptions>;
try {
  options = parseOptions();
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}

let server: Awaited<ReturnType<typeof startMemoryServer>>;
try {
  server = await startMemoryServer(options);
} catch (error) {
  console.error(`kartoteka-memory: ${(error as Error).message}`);
  process.exit(1);
}

/** How long stopping may take (closing LMDB after the last request) before the process just exits. */
const STOP_GRACE_MS = 5_000;

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => {
    console.error(`kartoteka-memory: did not stop within ${STOP_GRACE_MS} ms after ${signal}: exiting`);
    process.exit(1);
  }, STOP_GRACE_MS).unref();
  server.stop().then(
    () => {
      console.error(`kartoteka-memory: stopped on ${signal}`);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
if (process.send) {
  // Started by the application (an IPC channel): stop when it closes the channel — after its own
  // shutdown, or when it dies. A Ctrl-C or SIGTERM sent to the whole process group is left to the
  // application, so the database does not vanish under the requests and jobs still finishing.
  // Once the application is gone (its channel's end not yet seen, or it died without closing it),
  // this process stops on its own and on signals too, so it never outlives it.
  const parent = process.ppid;
  const orphaned = () => process.ppid !== parent;
  process.on('disconnect', () => shutdown('application stop'));
  process.on('SIGINT', () => orphaned() && shutdown('SIGINT'));
  process.on('SIGTERM', () => orphaned() && shutdown('SIGTERM'));
  setInterval(() => orphaned() && shutdown('application gone'), 1000).unref();
} else {
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
// The address last, once the signals are handled: whoever reads it may signal this process at once.
console.log(server.uri);
console.error(server.dbpath ? `kartoteka-memory: durable (LMDB), data in ${server.dbpath}` : 'kartoteka-memory: temporary LMDB environment, deleted on exit (no --dbpath)');
