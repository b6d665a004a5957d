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
import { createLogger, type Logger } from '../server/src/logger';
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

/**
 * Where the seed's time goes: each stage (`prepare` — opening the database, its indexes, the demo data —
 * then the generator's stages) logged as it ends with its items per second and this process's CPU
 * (the rest of the wall time is the database's), its progress with the rate since the last report,
 * and a summary line at the end.
 */
function phaseClock(logger: Logger) {
  const started = performance.now();
  const phases: { stage: string; items: number; seconds: number; perSecond: number; seedCpuSeconds: number }[] = [];
  let stageStart = started;
  let cpuStart = process.cpuUsage();
  let last = { done: 0, at: started };
  const seconds = (ms: number) => Math.round(ms) / 1000;
  return {
    progress(stage: string, done: number, of: number): void {
      const now = performance.now();
      if (done < of) {
        logger.info({ stage, done, of, seconds: seconds(now - started), perSecond: Math.round(((done - last.done) * 1000) / (now - last.at)) }, 'generating');
        last = { done, at: now };
        return;
      }
      const cpu = process.cpuUsage(cpuStart);
      const phase = {
        stage,
        items: of,
        seconds: seconds(now - stageStart),
        perSecond: Math.round((of * 1000) / (now - stageStart)),
        seedCpuSeconds: seconds((cpu.user + cpu.system) / 1000),
      };
      phases.push(phase);
      logger.info(phase, 'stage done');
      stageStart = now;
      cpuStart = process.cpuUsage();
      last = { done: 0, at: now };
    },
    summary(): void {
      const line = phases
        .map(
          (p) =>
            `${p.stage} ${p.items > 1 ? `${p.items.toLocaleString('en')} in ` : ''}${p.seconds.toFixed(1)} s (${p.items > 1 ? `${p.perSecond.toLocaleString('en')}/s, ` : ''}seed CPU ${p.seedCpuSeconds.toFixed(1)} s)`,
        )
        .join('; ');
      logger.info({ seconds: seconds(performance.now() - started), phases }, `seeded: ${line}`);
    },
  };
}

const USAGE = `Usage: npm run seed -- [options]
Loads the demo data into the configured database (MONGODB_URI or the built-in one).
  --cards N            also generate N counterparties into «Большая папка» (library «Нагрузка»)
  --duplicates N       with --cards: N of them a second time, the name typed another way
  --folders N          generate a whole installation: --cards cards in N folders
  --users N            with --folders: that many users (default 1000)
  --reader-folders N   with --folders: folders the reader «bench-reader» may read (default folders / 5, at most 200)
  -h, --help           print this and exit`;

/** The command line's options; null when it asked for the usage or was wrong (the usage is printed). */
function options() {
  try {
    const { values } = parseArgs({
      options: {
        cards: { type: 'string' },
        folders: { type: 'string' },
        users: { type: 'string' },
        'reader-folders': { type: 'string' },
        duplicates: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return null;
    }
    return values;
  } catch (error) {
    // An unknown option or a missing value: say which, and how the command is used.
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exitCode = 2;
    return null;
  }
}

try {
  const values = options();
  if (values) await seed(values);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
}

async function seed(values: NonNullable<ReturnType<typeof options>>): Promise<void> {
  const cards = count('cards', values.cards, 0);
  const duplicates = count('duplicates', values.duplicates, 0);
  const folders = count('folders', values.folders, 0);
  const users = count('users', values.users, 1000);
  const readerFolders = count('reader-folders', values['reader-folders'], Math.min(200, Math.max(1, Math.floor(folders / 5))));
  if (folders > 0 && (users < 2 || readerFolders > folders)) throw new ConfigError(['--users must be at least 2 and --reader-folders at most --folders']);
  const config = loadConfig();
  const logger = createLogger(config);
  const clock = phaseClock(logger);
  const database = await openDatabase(config, logger);
  try {
    await prepareDatabase(config, logger);
    await seedDemoData(logger);
    clock.progress('prepare', 1, 1);
    const progress = clock.progress;
    if (folders > 0) {
      const dataset = await generateDataset({ cards, folders, users, readerFolders }, progress);
      await mongoose.connection.db!.collection('meta').replaceOne({ _id: 'bench-dataset' as never }, dataset, { upsert: true });
      logger.info({ cards, folders, users, readerFolders, unread: dataset.unread, seconds: dataset.generationSeconds }, 'installation generated');
    } else if (cards > 0) {
      const readers = await User.find({ loginKey: { $in: ['tgoncharenko', 'nvakulenko'] } }, { _id: 1 }).lean();
      let stored = 0;
      const folderId = await generateCounterparties({
        count: cards,
        folderName: 'Большая папка',
        grantUserIds: readers.map((r) => String(r._id)),
        onProgress: (done) => {
          stored = done;
          progress('cards', done, cards);
        },
      }).catch((error: unknown) => {
        // What a run stopped half-way leaves, and how to go on: the cards stay, readable, and a new run numbers after them.
        logger.error(
          { stored, of: cards },
          `the seed stopped after at least ${stored.toLocaleString('en')} of ${cards.toLocaleString('en')} cards were stored in «Большая папка» (library «Нагрузка»), readable by the demo users; ` +
            `\`npm run seed -- --cards ${cards - stored}\` adds the rest in one more such folder (numbered after the cards stored)`,
        );
        throw error;
      });
      const variants = duplicates > 0 ? await generateDuplicateVariants({ folderId, count: duplicates }) : 0;
      logger.info({ folderId, cards, duplicates: variants }, 'cards generated');
    }
    clock.summary();
  } finally {
    await database.close();
  }
}
