/**
 * `npm run bench:type-change -- --cards 200000 [--cache /tmp/kartoteka-type-change]`: changing the
 * card type «Контрагент» when that many counterparties exist, as the designer does it: the dry runs
 * of two changes (a new required field «Сегмент» with a value to fill in — every card lacks it; and
 * «ИНН» becoming required — every card's value is read), then saving the first one: how long the
 * administrator waits for the save, and how long the background job takes to write every card.
 *
 * The counterparties are generated once into `--cache/cards-N` (the built-in database, or
 * MONGODB_URI's database when set) and copied for each run, since the save changes them. Runs the
 * service and the job runner in this process. Prints numbers; asserts nothing.
 */
import { cp, mkdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildActor } from '../server/src/access/actor';
import { Card } from '../server/src/cards/model';
import { pendingTypeChange } from '../server/src/cards/type-change';
import { previewCardTypeChange, saveCardTypeDefinition } from '../server/src/cards/type-admin';
import { loadConfig } from '../server/src/config';
import { openDatabase } from '../server/src/db/connect';
import { Job, type JobDoc } from '../server/src/jobs/model';
import { JobRunner } from '../server/src/jobs/runner';
import { User } from '../server/src/people/models';
import { prepareDatabase } from '../server/src/server';
import { seedDemoData } from '../seeds/demo';
import { generateCounterparties } from '../seeds/generate';
import { printMachine } from './support';

const { values } = parseArgs({ options: { cards: { type: 'string', default: '100000' }, cache: { type: 'string', default: path.join(os.tmpdir(), 'kartoteka-type-change') } } });
const CARDS = Number(values.cards);
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const exists = async (file: string) => Boolean(await stat(file).catch(() => null));

const config = (dataDir: string) => loadConfig({ ...process.env, DATA_DIR: dataDir, ADMIN_PASSWORD: 'bench-admin-password', LOG_LEVEL: 'warn', SEED_DEMO_DATA: 'false' });

/** The demo data and N generated counterparties, made once per size and kept in the cache. */
async function cachedDataset(): Promise<string> {
  const dir = path.join(values.cache, `cards-${CARDS}`);
  if (await exists(path.join(dir, 'ready'))) return dir;
  await rm(dir, { recursive: true, force: true });
  const started = performance.now();
  const database = await openDatabase(config(dir), logger);
  try {
    await prepareDatabase(config(dir), logger);
    await seedDemoData(logger);
    await generateCounterparties({ count: CARDS, folderName: 'Большая папка' });
  } finally {
    await database.close();
  }
  await mkdir(path.join(dir, 'ready'));
  console.log(`generated ${CARDS.toLocaleString('en')} counterparties in ${seconds(performance.now() - started)} (kept in ${dir})`);
  return dir;
}

const counterparty = (fields: object[]) => ({
  key: 'counterparty',
  names: { ru: 'Контрагент', en: 'Counterparty' },
  titleTemplate: '{name}',
  historyEnabled: false,
  origin: 'code',
  fields,
});

printMachine();
const source = await cachedDataset();
const work = path.join(values.cache, `run-${process.pid}`);
await cp(source, work, { recursive: true });
const database = await openDatabase(config(work), logger);
const runner = new JobRunner({ logger, tickMs: 500 });
try {
  await prepareDatabase(config(work), logger);
  const admin = await User.findOne({ loginKey: 'admin' }).lean();
  const actor = await buildActor(admin!, '127.0.0.1');
  const count = await Card.countDocuments({ typeKey: 'counterparty', inTrash: false });
  console.log(`database: ${database.kind}; counterparties: ${count.toLocaleString('en')}`);

  const segment = counterparty([{ key: 'segment', kind: 'string', label: { ru: 'Сегмент' }, required: true, fillMissing: 'малый бизнес' }]);
  let started = performance.now();
  const added = await previewCardTypeChange(actor, segment);
  console.log(`dry run, new required «Сегмент» with a fill-in value: ${seconds(performance.now() - started)} (cards to fill: ${added.fields[0]?.updates ?? 0})`);

  const inn = counterparty([{ key: 'inn', kind: 'string', label: { ru: 'ИНН', en: 'INN (taxpayer number)' }, unique: true, max: 12, required: true }]);
  started = performance.now();
  const innReport = await previewCardTypeChange(actor, inn);
  console.log(`dry run, «ИНН» becomes required (every value read): ${seconds(performance.now() - started)} (missing: ${innReport.fields[0]?.missingCount ?? 0})`);

  runner.start();
  started = performance.now();
  await saveCardTypeDefinition(actor, segment, { isNew: false });
  console.log(`save of «Сегмент» answered in ${seconds(performance.now() - started)}`);
  const pending = await pendingTypeChange('counterparty');
  if (pending) {
    let job: JobDoc | null = null;
    let shown = Date.now();
    do {
      await new Promise((resolve) => setTimeout(resolve, 200));
      job = await Job.findById(pending._id).lean<JobDoc>();
      if (Date.now() - shown > 10_000) {
        shown = Date.now();
        console.log(
          `  … ${job?.state}: ${(job?.progress.done ?? 0).toLocaleString('en')} of ${(job?.progress.total ?? 0).toLocaleString('en')} after ${seconds(performance.now() - started)}${job?.error ? ` (${job.error})` : ''}`,
        );
      }
    } while (job && !['succeeded', 'failed', 'cancelled'].includes(job.state));
    const took = performance.now() - started;
    console.log(
      `background job: ${job?.state}, ${(job?.progress.done ?? 0).toLocaleString('en')} cards in ${seconds(took)} (${Math.round(((job?.progress.done ?? 0) / took) * 1000)} cards/s)`,
    );
  }
  const filled = await Card.countDocuments({ typeKey: 'counterparty', 'values.segment': 'малый бизнес' });
  console.log(`cards holding the filled-in value: ${filled.toLocaleString('en')}`);
} finally {
  await runner.stop();
  await database.close();
  await rm(work, { recursive: true, force: true });
}
