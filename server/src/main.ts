/**
 * The server's entry point: configuration → database → app → listen. `npm run start:prod` runs
 * its bundle (dist/server/main.js) with plain node; `npm start` runs it through tsx after building
 * the client when needed (scripts/start.ts).
 */
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { CLIENT_DIST } from './paths';
import { startServer } from './server';

/** The longest a stop may take after SIGINT/SIGTERM (a second signal stops at once); the database process is killed on exit. */
const STOP_DEADLINE_MS = 25_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config);
  const running = await startServer(config, logger, { clientDist: CLIENT_DIST });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: stopping now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Open requests, jobs and the database each have their own grace period; this bounds them all.
    setTimeout(() => {
      logger.error({ afterMs: STOP_DEADLINE_MS }, 'shutdown did not finish in time: stopping now');
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
