/**
 * `npm run seed`: loads the demo data into the configured database (MONGODB_URI or the embedded
 * one).
 * - `npm run seed -- --cards 100000` also generates that many counterparties into a folder
 *   «Большая папка» (library «Нагрузка») for benchmarks, readable by the demo users; with
 *   `--duplicates 1000` also that many of them a second time, the name typed another way (no INN).
 * - `npm run seed -- --cards 1000000 --folders 10000 --users 1000 [--reader-folders 200]` generates a
 *   whole installation of that size (the one `npm run bench:http` measures) and records it in
 *   `meta` (`_id: 'bench-dataset'`).
 */
import { parseArgs } from 'node:util';
import mongoose from 'mongoose';
import { ConfigError, loadConfig } from '../server/src/config';
import { openDatabase } from '../server/src/db/connect';
import { createLogger } from '../server/src/logger';
import { User } from '../server/src/people/models';
import { prepareDatabase } from '../server/src/server';
import { seedDemoData } from './demo';
import { generateDuplicateVariants } from './duplicates';
import { generateCounterparties, generateDataset } from './generate';

const count = (name: string, text: string | undefined, fallback: number): number => {
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(value) || value < 0) throw new ConfigError([`--${name}: must be a whole number, got "${text}"`]);
  return value;
};

try {
  const { values } = parseArgs({
    options: { cards: { type: 'string' }, folders: { type: 'string' }, users: { type: 'string' }, 'reader-folders': { type: 'string' }, duplicates: { type: 'string' } },
  });
  const cards = count('cards', values.cards, 0);
  const duplicates = count('duplicates', values.duplicates, 0);
  const folders = count('folders', values.folders, 0);
  const users = count('users', values.users, 1000);
  const readerFolders = count('reader-folders', values['reader-folders'], Math.min(200, Math.max(1, Math.floor(folders / 5))));
  if (folders > 0 && (users < 2 || readerFolders > folders)) throw new ConfigError(['--users must be at least 2 and --reader-folders at most --folders']);
  const config = loadConfig();
  const logger = createLogger(config);
  const database = await openDatabase(config, logger);
  try {
    await prepareDatabase(config, logger);
    await seedDemoData(logger);
    const started = Date.now();
    const progress = (stage: string, done: number, of: number) => logger.info({ stage, done, of, seconds: Math.round((Date.now() - started) / 1000) }, 'generating');
    if (folders > 0) {
      const dataset = await generateDataset({ cards, folders, users, readerFolders }, progress);
      await mongoose.connection.db!.collection('meta').replaceOne({ _id: 'bench-dataset' as never }, dataset, { upsert: true });
      logger.info({ cards, folders, users, readerFolders, unread: dataset.unread, seconds: dataset.generationSeconds }, 'installation generated');
    } else if (cards > 0) {
      const readers = await User.find({ loginKey: { $in: ['tgoncharenko', 'nvakulenko'] } }, { _id: 1 }).lean();
      const folderId = await generateCounterparties({
        count: cards,
        folderName: 'Большая папка',
        grantUserIds: readers.map((r) => String(r._id)),
        onProgress: (done) => progress('cards', done, cards),
      });
      const variants = duplicates > 0 ? await generateDuplicateVariants({ folderId, count: duplicates }) : 0;
      logger.info({ folderId, cards, duplicates: variants }, 'cards generated');
    }
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
}
