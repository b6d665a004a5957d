/**
 * `npm run bench:duplicates [-- --sizes 10000,100000 --duplicates-per-mille 10]`: finding all groups
 * of probable duplicates among N counterparties (the scan job's work, run in this process against
 * the database `npm start` would use: the built-in one in its own process, or MONGODB_URI), with
 * real duplicates among them (per mille of N a second card with the name typed another way).
 * Prints, per size: the first scan (every card's keys written), a second one (keys unchanged), each
 * with the CPU of this process and of the built-in database's,
 * and the look-ups a user waits for — «Похожие карточки» for a typed name and the refresh of the
 * groups after a card is saved (p50 / p95 of 200), and pages of the «Дубликаты» list (the first, up
 * to ten more by cursor, a search by a title word) for the administrator and for a user with access to
 * the generated folders only (Татьяна Гончаренко). Prints numbers; asserts nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mongoose, { Types } from 'mongoose';
import { pino } from 'pino';
import { findCardType } from '../server/src/card-types/registry';
import { Card, type CardDoc } from '../server/src/cards/model';
import { loadConfig } from '../server/src/config';
import { openDatabase } from '../server/src/db/connect';
import { actorOfUser, type Actor } from '../server/src/access/actor';
import { User } from '../server/src/access/structure';
import { alikeCards, listGroups, refreshGroupsAround } from '../server/src/duplicates/groups';
import { DuplicateGroup } from '../server/src/duplicates/model';
import { rulesOf } from '../server/src/duplicates/rules';
import { prepareDatabase } from '../server/src/server';
import { generateDuplicateVariants, variantOf } from '../seeds/duplicates';
import { generateCounterparties } from '../seeds/generate';
import { seedDemoData } from '../seeds/demo';
import { scanCounterparties } from './duplicate-scan';
import { cpuMs, databaseChildPid, printMachine } from './support';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10000,100000' }, 'duplicates-per-mille': { type: 'string', default: '10' } } });
const SIZES = values.sizes.split(',').map(Number);
const PER_MILLE = Number(values['duplicates-per-mille']);
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const percentile = (list: number[], p: number) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(list.length * p))];

/** The scan job's own code, run here with a context that only records its progress. */
async function scan(): Promise<{ ms: number; progressReports: number; cpu: string }> {
  let progressReports = 0;
  const db = databaseChildPid();
  const [cpu0, db0, started] = [cpuMs(process.pid), db ? cpuMs(db) : 0, performance.now()];
  await scanCounterparties(logger, () => void (progressReports += 1));
  const cpu = `CPU ${seconds(cpuMs(process.pid) - cpu0)} here${db ? ` + ${seconds(cpuMs(db) - db0)} database` : ''}`;
  return { ms: performance.now() - started, progressReports, cpu };
}

async function lookups(folderId: string): Promise<{ similar: number[]; refresh: number[] }> {
  const type = (await findCardType('counterparty'))!;
  const rules = (await rulesOf('counterparty'))!;
  const sample = await Card.find({ folderId: new Types.ObjectId(folderId) }, { values: 1 })
    .limit(200)
    .lean<CardDoc[]>();
  const similar: number[] = [];
  const refresh: number[] = [];
  for (const [i, card] of sample.entries()) {
    let started = performance.now();
    await alikeCards(type, rules, { name: variantOf(String(card.values.name), i) });
    similar.push(performance.now() - started);
    started = performance.now();
    await refreshGroupsAround(type, rules, [card._id]);
    refresh.push(performance.now() - started);
  }
  return { similar, refresh };
}

/** The «Дубликаты» list as a viewer pages through it: the first page of 30, each of the next ten (by cursor), a search by a word of a listed title. */
async function listPages(actor: Actor): Promise<{ first: number; pages: number; next: number; search: number; word: string }> {
  let started = performance.now();
  let page = await listGroups(actor, { typeKey: 'counterparty', first: 30 });
  const first = performance.now() - started;
  const shown = page.edges[0]?.node.cardIds[0];
  started = performance.now();
  let pages = 0;
  while (pages < 10 && page.pageInfo.hasNextPage) {
    page = await listGroups(actor, { typeKey: 'counterparty', first: 30, after: page.pageInfo.endCursor });
    pages += 1;
  }
  const next = (performance.now() - started) / Math.max(1, pages);
  const title = shown ? ((await Card.findById(shown, { title: 1 }).lean<Pick<CardDoc, 'title'>>())?.title ?? '') : '';
  const word = title.split(/[^\p{L}]+/u).find((part) => part.length > 3 && !/^(ООО|ОАО|ЗАО)$/u.test(part)) ?? 'ООО';
  started = performance.now();
  await listGroups(actor, { typeKey: 'counterparty', search: word, first: 30 });
  return { first, pages, next, search: performance.now() - started, word };
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-bench-duplicates-'));
const config = loadConfig({ ...process.env, DATA_DIR: path.join(dir, 'data'), ADMIN_PASSWORD: 'bench-admin-password', LOG_LEVEL: 'warn' });
const database = await openDatabase(config, logger, { dbName: `bench_duplicates_${Date.now()}` });
try {
  printMachine();
  console.log(`database: ${database.kind}; real duplicates: ${PER_MILLE}‰ of the counterparties (a second card, the name typed another way)`);
  await prepareDatabase(config, logger);
  await seedDemoData(logger);
  let generated = 0;
  for (const size of SIZES) {
    const started = Date.now();
    const count = size - generated;
    const tatiana = await User.findOne({ login: 'tgoncharenko' }, { _id: 1 }).lean();
    const folderId = await generateCounterparties({ count, folderName: `Большая папка ${size}`, grantUserIds: tatiana ? [String(tatiana._id)] : [] });
    const variants = await generateDuplicateVariants({ folderId, count: Math.round((count * PER_MILLE) / 1000) });
    generated = size;
    const cards = await Card.countDocuments({ typeKey: 'counterparty', inTrash: false });
    console.log(
      `\n${cards.toLocaleString('en-US')} counterparties (${variants.toLocaleString('en-US')} of them duplicates added now), generated in ${seconds(Date.now() - started)}`,
    );
    const first = await scan();
    const groups = () => DuplicateGroup.countDocuments({ typeKey: 'counterparty' });
    const weakest = await DuplicateGroup.findOne({ typeKey: 'counterparty' }).sort({ score: 1 }).lean();
    console.log(
      `  find all groups, first scan (keys written): ${seconds(first.ms)} (${first.cpu}) — ${(await groups()).toLocaleString('en-US')} groups, ${first.progressReports} progress reports`,
    );
    const second = await scan();
    console.log(`  find all groups, again (keys unchanged):     ${seconds(second.ms)} (${second.cpu}) — ${(await groups()).toLocaleString('en-US')} groups`);
    if (weakest) console.log(`  lowest-scoring group: ${weakest.cardIds.length} cards, score ${weakest.score.toFixed(2)}`);
    const { similar, refresh } = await lookups(folderId);
    console.log(`  «Похожие карточки» for a typed name: p50 ${percentile(similar, 0.5).toFixed(1)} ms, p95 ${percentile(similar, 0.95).toFixed(1)} ms`);
    console.log(`  groups refreshed after a card is saved: p50 ${percentile(refresh, 0.5).toFixed(1)} ms, p95 ${percentile(refresh, 0.95).toFixed(1)} ms`);
    for (const login of [config.adminLogin, 'tgoncharenko']) {
      const user = await User.findOne({ login }, { _id: 1 }).lean();
      const actor = user && (await actorOfUser(String(user._id), '127.0.0.1'));
      if (!actor) continue;
      const list = await listPages(actor);
      console.log(
        `  «Дубликаты» list as ${login}: first page of 30 ${list.first.toFixed(1)} ms, ${list.pages > 0 ? `each of the next ${list.pages} ${list.next.toFixed(1)} ms` : 'no next page'}, search «${list.word}» ${list.search.toFixed(1)} ms`,
      );
    }
  }
  await mongoose.connection.db!.dropDatabase();
} finally {
  await database.close();
  await rm(dir, { recursive: true, force: true });
}
