/**
 * `npm run bench:type-change -- --cards 100000 [--cache /tmp/kartoteka-type-change] [--no-job] [--history]`:
 * changing the card type «Контрагент» when that many counterparties exist, as the designer does it.
 * The type has two fields of an administrator's beside the built-in ones: «Численность» (a string,
 * every card's own value: digits on most cards, «около 50» on every 50th, none on every 20th) and
 * «Категория» (a choice of four, none on every 10th). Timed: the dry runs of four changes — a new
 * required field «Сегмент» with a value to fill in (every card lacks it, counted by the database),
 * «Категория» becoming required (the cards lacking it counted by the database), «Численность»
 * becoming an integer (a kind change: every value read and converted, the first failures listed),
 * «Категория» becoming a plain string (a kind change, every value converts) — then the save of
 * «Категория» required after its dry run (given its checkId) and without one, then saving «Сегмент»:
 * how long the administrator waits for the save, and how long the background job takes to fill in
 * every card (`--history`: with change history on for the type, one entry per card; `--no-job`
 * stops before the job).
 *
 * The counterparties are generated once into `--cache/cards-N` (the built-in database, or
 * MONGODB_URI's database when set), given the two fields' values once in `--cache/cards-N-fields`,
 * and copied for each run, since the save changes them. Runs the
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
import { findCardType, listCardTypes, saveCardType } from '../server/src/card-types/registry';
import { validateCardTypeDefinition } from '../card-types/definitions';
import { previewCardTypeChange, saveCardTypeDefinition, switchCardTypeHistory, type SchemaChangeReport } from '../server/src/cards/type-admin';
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
    history: { type: 'boolean', default: false },
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

/**
 * The generated cards changed once by `change` (given the ids of a thousand cards at a time, in id
 * order, and their position), kept in `--cache/cards-N-<name>`. A thousand cards per command: one
 * command over all of them keeps the database busy past the driver's heartbeat.
 */
async function cachedVariant(name: string, what: string, prepare: () => Promise<void>, change: (ids: Types.ObjectId[], offset: number) => Promise<void>): Promise<string> {
  const dir = path.join(values.cache, `cards-${CARDS}-${name}`);
  if (await exists(path.join(dir, 'ready'))) return dir;
  await rm(dir, { recursive: true, force: true });
  await cp(await cachedDataset(), dir, { recursive: true });
  await rm(path.join(dir, 'ready'), { recursive: true });
  const started = performance.now();
  const database = await openDatabase(config(dir), logger);
  try {
    await prepareDatabase(config(dir), logger);
    await prepare();
    let offset = 0;
    for (let after: Types.ObjectId | null = null; ;) {
      const ids = (
        await Card.collection
          .find({ typeKey: 'counterparty', ...(after && { _id: { $gt: after } }) }, { projection: { _id: 1 } })
          .sort({ _id: 1 })
          .limit(1000)
          .toArray()
      ).map((card) => card._id);
      if (ids.length === 0) break;
      await change(ids, offset);
      offset += ids.length;
      after = ids.at(-1) as Types.ObjectId;
    }
  } finally {
    await database.close();
  }
  await mkdir(path.join(dir, 'ready'));
  console.log(`${what} in ${seconds(performance.now() - started)} (kept in ${dir})`);
  return dir;
}

/** The same cards without their words, as an installation from before word search stored them. */
const cachedWithoutWords = () =>
  cachedVariant(
    'without-words',
    'removed the words of the cards',
    async () => {},
    async (ids) => {
      await Card.collection.updateMany({ _id: { $in: ids } }, { $unset: { searchWords: '' } });
    },
  );

const EMPLOYEES = { key: 'employees', kind: 'string', label: { ru: 'Численность', en: 'Employees' }, max: 100 };
const TIERS = ['A', 'B', 'C', 'D'];
const TIER = { key: 'tier', kind: 'enum', label: { ru: 'Категория', en: 'Tier' }, options: TIERS.map((value) => ({ value, label: { ru: `Категория ${value}` } })) };

/** The same cards with the values of the administrator's fields «Численность» and «Категория» (written directly, as stored values). */
const cachedWithFields = () =>
  cachedVariant(
    'fields',
    'gave the cards «Численность» and «Категория»',
    async () => {
      // As the designer would store them (checked and completed by the kernel), without a job over the cards.
      const stored = (await findCardType('counterparty'))!;
      const checked = validateCardTypeDefinition({ ...stored, fields: [...stored.fields, EMPLOYEES, TIER] }, { locale: 'ru', knownTypes: await listCardTypes() });
      if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
      const added = (key: string) => ({ ...checked.definition.fields.find((field) => field.key === key)!, origin: 'admin' as const });
      await saveCardType({ ...stored, fields: [...stored.fields, added(EMPLOYEES.key), added(TIER.key)] });
    },
    async (ids, offset) => {
      const set = (n: number) => ({
        ...(n % 20 !== 0 && { 'values.employees': n % 50 === 1 ? 'около 50' : String(n) }),
        ...(n % 10 !== 0 && { 'values.tier': TIERS[n % TIERS.length] }),
      });
      const updates = ids.map((_id, index) => ({ _id, $set: set(offset + index) })).filter((update) => Object.keys(update.$set).length > 0);
      await Card.collection.bulkWrite(
        updates.map(({ _id, $set }) => ({ updateOne: { filter: { _id }, update: { $set } } })),
        { ordered: false },
      );
    },
  );

/** A change of «Контрагент» as the designer sends it: these fields changed (the others stay as stored), from the revision stored now. */
const counterparty = async (fields: object[]) => {
  const stored = (await findCardType('counterparty'))!;
  return {
    key: 'counterparty',
    names: stored.names,
    titleTemplate: stored.titleTemplate,
    historyEnabled: stored.historyEnabled,
    origin: stored.origin,
    version: stored.version,
    fields,
  };
};

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
const source = values['search-words'] ? await cachedWithoutWords() : await cachedWithFields();
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
    // The CPU time each step took in this process and the database's: less swayed by other work on the machine than the time.
    const databasePid = databaseChildPid();
    const timed = async <T>(what: string, run: () => Promise<T>, outcome: (result: T) => string): Promise<T> => {
      const began = { at: performance.now(), own: process.cpuUsage(), database: databasePid ? cpuMs(databasePid) : 0 };
      const result = await run();
      const own = process.cpuUsage(began.own);
      const cpu = `CPU ${seconds((own.user + own.system) / 1000)} here${databasePid ? `, ${seconds(cpuMs(databasePid) - began.database)} in the database` : ''}`;
      console.log(`${what}: ${seconds(performance.now() - began.at)}, ${cpu} (${outcome(result)})`);
      return result;
    };
    const segment = [{ key: 'segment', kind: 'string', label: { ru: 'Сегмент' }, required: true, fillMissing: 'малый бизнес' }];
    const report = (change: SchemaChangeReport) => {
      const field = change.fields[0];
      return field
        ? `safe: ${change.safe}, cards to rewrite: ${field.updates}, would not convert: ${field.failureCount}, lacking a value: ${field.missingCount}`
        : `safe: ${change.safe}`;
    };
    await timed('dry run, a new required «Сегмент» with a value to fill in', async () => previewCardTypeChange(actor, await counterparty(segment)), report);
    const tierRequired = [{ ...TIER, required: true, requiredFor: 'newAndEdited' }];
    const tierReport = await timed(
      'dry run, «Категория» becomes required (for new and edited cards)',
      async () => previewCardTypeChange(actor, await counterparty(tierRequired)),
      report,
    );
    await timed(
      'dry run, «Численность» becomes an integer (a kind change)',
      async () => previewCardTypeChange(actor, await counterparty([{ key: EMPLOYEES.key, label: EMPLOYEES.label, kind: 'integer' }])),
      report,
    );
    await timed(
      'dry run, «Категория» becomes a plain string (a kind change)',
      async () => previewCardTypeChange(actor, await counterparty([{ key: TIER.key, label: TIER.label, kind: 'string' }])),
      report,
    );

    await timed(
      'save of «Категория» required right after its dry run (its checkId)',
      async () => saveCardTypeDefinition(actor, await counterparty(tierRequired), { isNew: false, checkId: tierReport.checkId }),
      (saved) => `job: ${saved.changeJob ? 'yes' : 'none'}`,
    );
    await saveCardTypeDefinition(actor, await counterparty([TIER]), { isNew: false });
    await timed(
      'save of «Категория» required without a dry run (the whole check)',
      async () => saveCardTypeDefinition(actor, await counterparty(tierRequired), { isNew: false }),
      (saved) => `job: ${saved.changeJob ? 'yes' : 'none'}`,
    );

    if (!values['no-job']) {
      if (values.history) await switchCardTypeHistory(actor, 'counterparty', true);
      runner.start();
      const started = performance.now();
      await saveCardTypeDefinition(actor, await counterparty(segment), { isNew: false });
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
