/**
 * `npm run bench:type-change -- --cards 200000 [--cache /tmp/kartoteka-type-change] [--no-job]`:
 * changing the card type «Контрагент» when that many counterparties exist, as the designer does it:
 * the dry runs of three changes (a new required field «Сегмент» with a value to fill in — every card
 * lacks it; «ИНН» becoming required — the cards lacking it counted by the database; «ИНН» becoming
 * a plain string — a kind change, every card's value read), the save of «ИНН» required after its
 * dry run (given the dry run's checkId, and without it), then saving «Сегмент»: how long the
 * administrator waits for the save, and how long the background job takes to write every card
 * (`--no-job` stops before that).
 *
 * The counterparties are generated once into `--cache/cards-N` (the built-in database, or
 * MONGODB_URI's database when set) and copied for each run, since the save changes them. Runs the
 * service and the job runner in this process. Prints numbers; asserts nothing.
 *
 * `--search-words`: instead, the job that gives cards stored before word search their words
 * (`search-words`, data-model step 3) over the same counterparties without their words (removed
 * once, kept in `--cache/cards-N-without-words`): its rate, and its CPU time per 1,000 cards in
 * this process and in the built-in database's.
 */
import { cp, mkdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Types } from 'mongoose';
import { pino } from 'pino';
import { buildActor } from '../server/src/access/actor';
import { Card } from '../server/src/cards/model';
import { searchWordsJob } from '../server/src/cards/search';
import { pendingTypeChange } from '../server/src/cards/type-change';
import { findCardType } from '../server/src/card-types/registry';
import { previewCardTypeChange, saveCardTypeDefinition } from '../server/src/cards/type-admin';
import { loadConfig } from '../server/src/config';
import { openDatabase } from '../server/src/db/connect';
import { Job, type JobDoc } from '../server/src/jobs/model';
import { JobRunner } from '../server/src/jobs/runner';
import { User } from '../server/src/people/models';
import { prepareDatabase } from '../server/src/server';
import { seedDemoData } from '../seeds/demo';
import { generateCounterparties } from '../seeds/generate';
import { cpuMs, databaseChildPid, printMachine } from './support';

const { values } = parseArgs({
  options: {
    cards: { type: 'string', default: '100000' },
    cache: { type: 'string', default: path.join(os.tmpdir(), 'kartoteka-type-change') },
    'search-words': { type: 'boolean', default: false },
    'no-job': { type: 'boolean', default: false },
  },
});
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

/** The same cards without their words, as an installation from before word search stored them; made once and kept in the cache. */
async function cachedWithoutWords(): Promise<string> {
  const dir = path.join(values.cache, `cards-${CARDS}-without-words`);
  if (await exists(path.join(dir, 'ready'))) return dir;
  await rm(dir, { recursive: true, force: true });
  await cp(await cachedDataset(), dir, { recursive: true });
  await rm(path.join(dir, 'ready'), { recursive: true });
  const started = performance.now();
  const database = await openDatabase(config(dir), logger);
  try {
    // A thousand cards per command: one command over all of them keeps the database busy past the driver's heartbeat.
    for (let after: Types.ObjectId | null = null; ;) {
      const ids = (
        await Card.collection
          .find(after ? { _id: { $gt: after } } : {}, { projection: { _id: 1 } })
          .sort({ _id: 1 })
          .limit(1000)
          .toArray()
      ).map((card) => card._id);
      if (ids.length === 0) break;
      await Card.collection.updateMany({ _id: { $in: ids } }, { $unset: { searchWords: '' } });
      after = ids.at(-1) as Types.ObjectId;
    }
  } finally {
    await database.close();
  }
  await mkdir(path.join(dir, 'ready'));
  console.log(`removed the words of the cards in ${seconds(performance.now() - started)} (kept in ${dir})`);
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

/**
 * Waits for a background job, printing its progress every 10 s, then its rate, the CPU time it
 * took per 1,000 cards in this process and in the built-in database's (less swayed by other work on
 * the machine than the rate), and how long a user's read of one card by id waited meanwhile (the
 * job's commands and a user's requests take turns in the database).
 */
async function jobFinished(jobId: string, started: number): Promise<void> {
  const databasePid = databaseChildPid();
  const cpuBefore = { own: process.cpuUsage(), database: databasePid ? cpuMs(databasePid) : 0 };
  const someCard = (await Card.findOne({}, { _id: 1 }).lean())!._id;
  const waits: number[] = [];
  let job: JobDoc | null;
  let shown = Date.now();
  do {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const asked = performance.now();
    await Card.findById(someCard).lean();
    waits.push(performance.now() - asked);
    job = await Job.findById(jobId).lean<JobDoc>();
    if (Date.now() - shown > 10_000) {
      shown = Date.now();
      console.log(
        `  … ${job?.state}: ${(job?.progress.done ?? 0).toLocaleString('en')} of ${(job?.progress.total ?? 0).toLocaleString('en')} after ${seconds(performance.now() - started)}${job?.error ? ` (${job.error})` : ''}`,
      );
    }
  } while (job && !['succeeded', 'failed', 'cancelled'].includes(job.state));
  const took = performance.now() - started;
  const cards = job?.progress.done ?? 0;
  const own = process.cpuUsage(cpuBefore.own);
  const perThousand = (ms: number) => ((ms / Math.max(cards, 1)) * 1000).toFixed(0);
  console.log(`background job ${job?.type}: ${job?.state}, ${cards.toLocaleString('en')} cards in ${seconds(took)} (${Math.round((cards / took) * 1000)} cards/s)`);
  console.log(
    `  CPU per 1,000 cards: ${perThousand((own.user + own.system) / 1000)} ms in this process (the job)` +
      (databasePid ? `, ${perThousand(cpuMs(databasePid) - cpuBefore.database)} ms in the database's` : ''),
  );
  waits.sort((a, b) => a - b);
  const at = (q: number) => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))].toFixed(0);
  console.log(`  a card read by id meanwhile (${waits.length} reads, one every 200 ms): p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, longest ${at(1)} ms`);
}

printMachine();
const source = values['search-words'] ? await cachedWithoutWords() : await cachedDataset();
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

  if (values['search-words']) {
    runner.start();
    const started = performance.now();
    const job = await searchWordsJob.enqueue(null, {});
    await jobFinished(job.id, started);
    const lacking = await Card.countDocuments({ searchWords: { $exists: false } });
    console.log(`cards still without their words: ${lacking.toLocaleString('en')}`);
  } else {
    const segment = counterparty([{ key: 'segment', kind: 'string', label: { ru: 'Сегмент' }, required: true, fillMissing: 'малый бизнес' }]);
    let started = performance.now();
    const added = await previewCardTypeChange(actor, segment);
    console.log(`dry run, new required «Сегмент» with a fill-in value: ${seconds(performance.now() - started)} (cards to fill: ${added.fields[0]?.updates ?? 0})`);

    const storedInn = (await findCardType('counterparty'))!.fields.find((field) => field.key === 'inn')!;
    const innRequired = counterparty([{ ...storedInn, required: true }]);
    started = performance.now();
    const innReport = await previewCardTypeChange(actor, innRequired);
    console.log(`dry run, «ИНН» (${storedInn.kind}) becomes required: ${seconds(performance.now() - started)} (missing: ${innReport.fields[0]?.missingCount ?? 0})`);

    const innString = counterparty([{ key: 'inn', kind: 'string', label: { ru: 'ИНН', en: 'INN (taxpayer number)' }, unique: true, max: 12, required: true }]);
    started = performance.now();
    const stringReport = await previewCardTypeChange(actor, innString);
    console.log(
      `dry run, «ИНН» becomes a required plain string (every value read): ${seconds(performance.now() - started)} (values to rewrite: ${stringReport.fields[0]?.updates ?? 0})`,
    );

    started = performance.now();
    await saveCardTypeDefinition(actor, innRequired, { isNew: false, checkId: innReport.checkId });
    console.log(`save of «ИНН» required right after its dry run (its checkId): ${seconds(performance.now() - started)}`);
    await saveCardTypeDefinition(actor, counterparty([{ ...storedInn, required: false }]), { isNew: false });
    started = performance.now();
    await saveCardTypeDefinition(actor, innRequired, { isNew: false });
    console.log(`save of «ИНН» required without a dry run's checkId (the whole check): ${seconds(performance.now() - started)}`);

    if (!values['no-job']) {
      runner.start();
      started = performance.now();
      await saveCardTypeDefinition(actor, segment, { isNew: false });
      console.log(`save of «Сегмент» answered in ${seconds(performance.now() - started)}`);
      const pending = await pendingTypeChange('counterparty');
      if (pending) await jobFinished(String(pending._id), started);
      const filled = await Card.countDocuments({ typeKey: 'counterparty', 'values.segment': 'малый бизнес' });
      console.log(`cards holding the filled-in value: ${filled.toLocaleString('en')}`);
    }
  }
} finally {
  await runner.stop();
  await database.close();
  await rm(work, { recursive: true, force: true });
}
