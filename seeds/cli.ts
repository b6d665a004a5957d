/**
 * `npm run seed`: loads the demo data into the configured database (MONGODB_URI or the embedded
 * one). `npm run seed -- --cards 100000` also generates that many counterparties into a folder
 * «Большая папка» (library «Нагрузка») for benchmarks, readable by the demo users.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../server/src/config';
import { openDatabase } from '../server/src/db/connect';
import { createLogger } from '../server/src/logger';
import { User } from '../server/src/people/models';
import { prepareDatabase } from '../server/src/server';
import { seedDemoData } from './demo';
import { generateCounterparties } from './generate';

try {
  const { values } = parseArgs({ options: { cards: { type: 'string' } } });
  const cards = values.cards === undefined ? 0 : Number(values.cards);
  if (!Number.isInteger(cards) || cards < 0) throw new ConfigError([`--cards: must be a whole number, got "${values.cards}"`]);
  const config = loadConfig();
  const logger = createLogger(config);
  const database = await openDatabase(config, logger);
  try {
    await prepareDatabase(config, logger);
    await seedDemoData(logger);
    if (cards > 0) {
      const readers = await User.find({ loginKey: { $in: ['tgoncharenko', 'nvakulenko'] } }, { _id: 1 }).lean();
      const folderId = await generateCounterparties({
        count: cards,
        folderName: 'Большая папка',
        grantUserIds: readers.map((r) => String(r._id)),
        onProgress: (done) => logger.info({ done, of: cards }, 'generating cards'),
      });
      logger.info({ folderId, cards }, 'cards generated');
    }
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
}
