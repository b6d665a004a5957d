/**
 * `npm run bench:duplicates-shared-keys [-- --phones 200] [-- --holders 100] [-- --batches 3]`: what
 * the duplicates' refresh of an import's batch (500 new counterparties, each with its own name, INN
 * and e-mail) costs per row when every row's phone is already held by `holders` cards (a business
 * centre's switchboard, a holding's «8 800»: `phones` such numbers over phones × holders existing
 * cards), against rows with phones of their own (s15 R3: 4.5× the CPU per row on a populated
 * installation). The refresh is the import's own after-commit work (`refreshGroupsAround` after the
 * batch's keys are stored), run in this process against the database `npm start` would use: the
 * built-in one in its own process, or MONGODB_URI. Prints the CPU of this process and of the
 * database per row for each batch; asserts nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mongoose, { Types } from 'mongoose';
import { pino } from 'pino';
import { Folder, User } from '../server/src/access/structure';
import { findCardType } from '../server/src/card-types/registry';
import { Card } from '../server/src/cards/model';
import { loadConfig } from '../server/src/config';
import { openDatabase } from '../server/src/db/connect';
import { refreshGroupsAround } from '../server/src/duplicates/groups';
import { storeKeysOfCards } from '../server/src/duplicates/keys';
import { rulesOf } from '../server/src/duplicates/rules';
import { prepareDatabase } from '../server/src/server';
import { counterpartyDoc, generateCounterparties } from '../seeds/generate';
import { scanCounterparties } from './duplicate-scan';
import { cpuMs, databaseChildPid, loadAverage, printMachine } from './support';

const { values } = parseArgs({ options: { phones: { type: 'string', default: '200' }, holders: { type: 'string', default: '100' }, batches: { type: 'string', default: '3' } } });
const PHONES = Number(values.phones);
const HOLDERS = Number(values.holders);
const BATCHES = Number(values.batches);
const BATCH_ROWS = 500;
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

/** Shared number `n` in the stored form, far from the generator's own. */
const sharedPhone = (n: number) =>
  `+7 499 ${String(900 + Math.floor(n / 10_000)).padStart(3, '0')} ${String(Math.floor(n / 100) % 100).padStart(2, '0')} ${String(n % 100).padStart(2, '0')}`;

const dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-bench-shared-keys-'));
const config = loadConfig({ ...process.env, DATA_DIR: path.join(dir, 'data'), ADMIN_PASSWORD: 'bench-admin-password', LOG_LEVEL: 'warn' });
const database = await openDatabase(config, logger, { dbName: `bench_shared_keys_${Date.now()}` });
try {
  printMachine();
  await prepareDatabase(config, logger);
  const type = (await findCardType('counterparty'))!;
  const rules = (await rulesOf('counterparty'))!;
  const adminId = (await User.findOne({ loginKey: 'admin' }, { _id: 1 }).lean())!._id;
  const folderId = await generateCounterparties({ count: 0, folderName: 'Бизнес-центры' });
  const folder = (await Folder.findById(folderId, { libraryId: 1 }).lean())!;
  const place = { folderId: folder._id, libraryId: folder.libraryId };
  let number = 0;
  const card = (phone: string) => {
    const doc = counterpartyDoc(number, place, adminId, new Date());
    number += 1;
    return { ...doc, values: { ...doc.values, phone } };
  };
  const existing = PHONES * HOLDERS;
  for (let from = 0; from < existing; from += 5000) {
    const docs = Array.from({ length: Math.min(5000, existing - from) }, (_, i) => card(sharedPhone((from + i) % PHONES)));
    await Card.collection.insertMany(docs, { ordered: false });
  }
  await scanCounterparties(logger);
  console.log(`database: ${database.kind}; ${existing.toLocaleString('en-US')} counterparties, ${PHONES} phones each held by ${HOLDERS} of them; load average ${loadAverage()}`);

  const db = databaseChildPid();
  /** One batch as an import writes it: the cards and their keys stored, then their groups refreshed; CPU ms per row. */
  const batch = async (phone: (i: number) => string) => {
    const docs = Array.from({ length: BATCH_ROWS }, (_, i) => card(phone(i)));
    await Card.collection.insertMany(docs, { ordered: false });
    await storeKeysOfCards(docs.map((doc) => ({ type, rules, card: doc })));
    const [here, there, started] = [cpuMs(process.pid), db ? cpuMs(db) : 0, performance.now()];
    await refreshGroupsAround(
      type,
      rules,
      docs.map((doc) => doc._id as Types.ObjectId),
      docs,
    );
    const perRow = (ms: number) => (ms / BATCH_ROWS).toFixed(2);
    return `${perRow(cpuMs(process.pid) - here)} ms here${db ? ` + ${perRow(cpuMs(db) - there)} ms database` : ''} per row (${((performance.now() - started) / 1000).toFixed(1)} s wall)`;
  };
  for (let round = 1; round <= BATCHES; round += 1) {
    console.log(`batch ${round}, phones of their own:  ${await batch(() => sharedPhone(PHONES + number))}`);
    console.log(`batch ${round}, phones held by ${HOLDERS}: ${await batch((i) => sharedPhone((i * 7 + round) % PHONES))}`);
  }
  console.log(`load average now ${loadAverage()}`);
  await mongoose.connection.db!.dropDatabase();
} finally {
  await database.close();
  await rm(dir, { recursive: true, force: true });
}
