/**
 * `npm run bench:duplicates-merge [-- --references 1501 --savers 8 --saves 200]`: what a user waits
 * for when duplicates are merged and saved, against the database `npm start` would use.
 * - A merge of a counterparty that N contact persons refer to: the request (a large merge commits
 *   the cards and returns, its job re-points the references) and the job; its undo likewise (the
 *   request, then the job pointing the references back); then the same merge and its undo made
 *   wholly within the request (as every merge and undo was before).
 * - Saves of unrelated counterparties: the refresh of their duplicate groups one at a time, then
 *   `--savers` at once (they claim their blocking keys, not the whole type): refreshes per second.
 * Prints numbers; asserts nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mongoose, { Types } from 'mongoose';
import { pino } from 'pino';
import { buildActor } from '../server/src/access/actor';
import { findCardType } from '../server/src/card-types/registry';
import { Card } from '../server/src/cards/model';
import { createCard, newCardDocument } from '../server/src/cards/service';
import { loadConfig } from '../server/src/config';
import { openDatabase } from '../server/src/db/connect';
import { refreshGroupsAround } from '../server/src/duplicates/groups';
import { cardMergeJob, cardUnmergeJob, mergeCards, mergeLimits, undoMerge } from '../server/src/duplicates/merge';
import { rulesOf } from '../server/src/duplicates/rules';
import { Folder } from '../server/src/folders/models';
import { Job } from '../server/src/jobs/model';
import { User } from '../server/src/people/models';
import { prepareDatabase } from '../server/src/server';
import { generateCounterparties } from '../seeds/generate';
import { printMachine } from './support';

const { values } = parseArgs({
  options: { references: { type: 'string', default: '1501' }, savers: { type: 'string', default: '8' }, saves: { type: 'string', default: '200' } },
});
const REFERENCES = Number(values.references);
const SAVERS = Number(values.savers);
const SAVES = Number(values.saves);
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-bench-merge-'));
const config = loadConfig({ ...process.env, DATA_DIR: path.join(dir, 'data'), ADMIN_PASSWORD: 'bench-admin-password', LOG_LEVEL: 'warn' });
const database = await openDatabase(config, logger, { dbName: `bench_merge_${Date.now()}` });
try {
  printMachine();
  console.log(`database: ${database.kind}`);
  await prepareDatabase(config, logger);
  const admin = (await User.findOne({ loginKey: 'admin' }).lean())!;
  const actor = await buildActor(admin, '127.0.0.1');
  const context = { actor, logger };
  const folderId = await generateCounterparties({ count: Math.max(SAVES, 100), folderName: 'Контрагенты' });
  const folder = (await Folder.findById(folderId).lean())!;
  const contactType = (await findCardType('contact-person'))!;

  /** A pair of counterparties, the second referred to by REFERENCES contact persons. */
  async function pair(name: string) {
    const survivor = await createCard(context, { folderId, typeKey: 'counterparty', values: { name: `ООО «${name}»` } });
    const merged = await createCard(context, { folderId, typeKey: 'counterparty', values: { name: `${name} ООО` } });
    const now = new Date();
    const contacts = Array.from({ length: REFERENCES }, (_, i) =>
      newCardDocument(actor, contactType, folder, { fullName: `Сотрудник ${name} ${i + 1}`, counterparty: String(merged._id) }, now),
    );
    for (let i = 0; i < contacts.length; i += 1000) await Card.collection.insertMany(contacts.slice(i, i + 1000));
    return { survivor: { id: String(survivor._id), version: survivor.version }, merged: [{ id: String(merged._id), version: merged.version }], choices: [] };
  }

  console.log(`\nmerge of a counterparty that ${REFERENCES.toLocaleString('en-US')} contact persons refer to:`);
  const large = await pair('Гранит');
  const limit = mergeLimits.inRequest;
  // A run with few references still measures the large path.
  mergeLimits.inRequest = Math.min(limit, REFERENCES - 1);
  let started = performance.now();
  const done = await mergeCards(context, large);
  console.log(`  large merge (> ${mergeLimits.inRequest} references), the request: ${seconds(performance.now() - started)}`);
  /**
   * Runs a merge's (or its undo's) job code here, not in a runner, and prints how long it took;
   * then its record says it finished, as a runner's would.
   */
  async function runHere(job: typeof cardMergeJob | typeof cardUnmergeJob, jobId: string, mergeId: string, what: string): Promise<void> {
    const begun = performance.now();
    let reports = 0;
    const result = await job.run({
      jobId,
      ownerId: actor.userId,
      params: { mergeId, ip: actor.ip },
      resumeFrom: null,
      signal: new AbortController().signal,
      progress: () => void (reports += 1),
      checkpoint: async () => {},
      logger,
    });
    console.log(`  its job ${what} ${result.cards.toLocaleString('en-US')} cards: ${seconds(performance.now() - begun)} (${reports} progress reports)`);
    await Job.updateOne({ _id: jobId }, { $set: { state: 'succeeded', finishedAt: new Date() }, $unset: { activeKey: '' } });
  }
  await runHere(cardMergeJob, String(done.job!.id), String(done.merge._id), 're-pointing');
  started = performance.now();
  const undone = await undoMerge(context, String(done.merge._id));
  console.log(`  its undo (> ${mergeLimits.inRequest} references), the request: ${seconds(performance.now() - started)}`);
  await runHere(cardUnmergeJob, String(undone.job!.id), String(done.merge._id), 'pointing back');

  const within = await pair('Базальт');
  mergeLimits.inRequest = Number.POSITIVE_INFINITY;
  started = performance.now();
  const whole = await mergeCards(context, within);
  console.log(`  the same merge wholly within the request (as before): ${seconds(performance.now() - started)}`);
  started = performance.now();
  await undoMerge(context, String(whole.merge._id));
  console.log(`  its undo wholly within the request (as before): ${seconds(performance.now() - started)}`);
  mergeLimits.inRequest = limit;

  console.log(`\nrefreshes of duplicate groups after saves of ${SAVES} unrelated counterparties:`);
  const type = (await findCardType('counterparty'))!;
  const rules = await rulesOf('counterparty');
  const ids = (
    await Card.find({ folderId: new Types.ObjectId(folderId), typeKey: 'counterparty' }, { _id: 1 })
      .limit(SAVES)
      .lean()
  ).map((card) => card._id);
  started = performance.now();
  for (const id of ids) await refreshGroupsAround(type, rules, [id]);
  const serial = performance.now() - started;
  console.log(`  one at a time: ${seconds(serial)} (${((ids.length / serial) * 1000).toFixed(0)} refreshes/s)`);
  started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: SAVERS }, async () => {
      while (next < ids.length) await refreshGroupsAround(type, rules, [ids[next++]]);
    }),
  );
  const concurrent = performance.now() - started;
  console.log(`  ${SAVERS} at once: ${seconds(concurrent)} (${((ids.length / concurrent) * 1000).toFixed(0)} refreshes/s)`);
  await mongoose.connection.db!.dropDatabase();
} finally {
  await database.close();
  await rm(dir, { recursive: true, force: true });
}
