/** `npm run seed`: loads the demo data into the configured database (MONGODB_URI or the embedded one). */
import { ConfigError, loadConfig } from '../server/src/config';
import { openDatabase } from '../server/src/db/connect';
import { createLogger } from '../server/src/logger';
import { prepareDatabase } from '../server/src/server';
import { seedDemoData } from './demo';

try {
  const config = loadConfig();
  const logger = createLogger(config);
  const database = await openDatabase(config, logger);
  try {
    await prepareDatabase(config, logger);
    await seedDemoData(logger);
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
}
