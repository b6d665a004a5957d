/**
 * The server's entry point: configuration → database → app → listen. `npm run start:prod` runs
 * its bundle (dist/server/main.js) with plain node; `npm start` runs it through tsx after building
 * the client when needed (scripts/start.ts).
 */
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { CLIENT_DIST } from './paths';
import { startServer } from './server';

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

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
