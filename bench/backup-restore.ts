/**
 * `npm run bench:backup [-- --cards 100000]`: backup and restore of N counterparties, each with a
 * history chain of two entries (created, then a phone changed), a read receipt of one reader and a
 * few sessions. Prints the archive size and both durations (restore includes verifying the
 * archive first and every history chain at the end). MONGODB_URI is used when set, else the
 * database `npm start` would use (the built-in one in its own process, data in a temporary
 * DATA_DIR). Prints numbers; asserts nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mongoose, { Types } from 'mongoose';
import { pino } from 'pino';
import { restoreArchive } from '../server/src/backup/restore';
import { writeSnapshot } from '../server/src/backup/snapshot';
import { Card } from '../server/src/cards/model';
import { loadConfig } from '../server/src/config';
import { openDatabase } from '../server/src/db/connect';
import { entryHash, GENESIS_HASH } from '../server/src/history/chain';
import { HistoryEntry } from '../server/src/history/model';
import { Session, User } from '../server/src/people/models';
import { prepareDatabase } from '../server/src/server';
import { cardReadKey, Read } from '../server/src/unread/model';
import { seedDemoData } from '../seeds/demo';
import { generateCounterparties } from '../seeds/generate';
import { contentHashes } from '../test/support/content-hash';
import { printMachine } from './support';

const { values } = parseArgs({ options: { cards: { type: 'string', default: '100000' } } });
const CARDS = Number(values.cards);
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Runs `work` while sampling this process's resident memory; the database runs in another process. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; before: number; peak: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    return { result: await work(), before, peak };
  } finally {
    clearInterval(timer);
  }
}

/** Two chained history entries per generated card, and each card read by Наталья (a receipt). */
async function addHistoryAndReads(folderId: string): Promise<void> {
  const [author, reader] = await Promise.all([User.findOne({ loginKey: 'tgoncharenko' }).lean(), User.findOne({ loginKey: 'nvakulenko' }).lean()]);
  const cursor = Card.find({ folderId: new Types.ObjectId(folderId) }, { _id: 1, typeKey: 1, folderId: 1, values: 1, createdAt: 1, updatedAt: 1 })
    .lean()
    .cursor({ batchSize: 2000 });
  let history: Record<string, unknown>[] = [];
  let reads: Record<string, unknown>[] = [];
  const flush = async () => {
    await Promise.all([HistoryEntry.insertMany(history, { lean: true }), Read.insertMany(reads, { lean: true })]);
    history = [];
    reads = [];
  };
  for await (const card of cursor) {
    const base = { cardId: card._id, typeKey: card.typeKey, folderId: card.folderId, actorId: author!._id, actorName: author!.fullName, ip: '127.0.0.1' };
    const created = {
      ...base,
      seq: 1,
      at: card.createdAt,
      action: 'create',
      changes: [{ key: 'name', label: { ru: 'Наименование', en: 'Name' }, before: null, after: card.values.name, beforeTitles: null, afterTitles: null }],
      prevHash: GENESIS_HASH,
    };
    const createdHash = entryHash(created as never);
    const changed = {
      ...base,
      seq: 2,
      at: new Date(card.createdAt.getTime() + 1000),
      action: 'update',
      changes: [{ key: 'phone', label: { ru: 'Телефон', en: 'Phone' }, before: card.values.phone, after: '+7 495 000-00-00', beforeTitles: null, afterTitles: null }],
      prevHash: createdHash,
    };
    history.push({ ...created, hash: createdHash }, { ...changed, hash: entryHash(changed as never) });
    reads.push({ _id: cardReadKey(String(reader!._id), String(card._id)), userId: reader!._id, cardId: card._id, folderId: card.folderId, readUpTo: card.updatedAt, unread: null });
    if (history.length >= 4000) await flush();
  }
  if (history.length > 0) await flush();
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-bench-backup-'));
const config = loadConfig({ ...process.env, DATA_DIR: path.join(dir, 'data'), ADMIN_PASSWORD: 'bench-admin-password', LOG_LEVEL: 'warn' });
const database = await openDatabase(config, logger, { dbName: `bench_backup_${Date.now()}` });
try {
  printMachine();
  console.log(`database: ${database.kind}; ${CARDS.toLocaleString('en-US')} cards with 2 history entries each`);
  await prepareDatabase(config, logger);
  await seedDemoData(logger);
  let started = Date.now();
  const folderId = await generateCounterparties({ count: CARDS, folderName: 'Большая папка' });
  await addHistoryAndReads(folderId);
  for (let i = 0; i < 20; i += 1) {
    await Session.create({ tokenHash: `bench-${i}`, userId: new Types.ObjectId(), createdAt: new Date(), expiresAt: new Date(Date.now() + 3_600_000) });
  }
  console.log(`data generated in ${seconds(Date.now() - started)}`);

  const source = mongoose.connection.db!;
  started = Date.now();
  const backupRun = await withPeakRss(() => writeSnapshot({ dir, server: database.kind }));
  const backup = backupRun.result;
  const backupMs = Date.now() - started;
  const raw = backup.manifest.collections.reduce((sum, c) => sum + c.data.bytes, 0);
  console.log(
    `backup:  ${seconds(backupMs)} — ${backup.documents.toLocaleString('en-US')} documents, archive ${(backup.sizeBytes / 2 ** 20).toFixed(1)} MiB (raw BSON ${(raw / 2 ** 20).toFixed(1)} MiB)`,
  );
  for (const c of backup.manifest.collections.filter((c) => c.documents >= 1000)) console.log(`         ${c.name}: ${c.documents.toLocaleString('en-US')} documents`);
  console.log(`         memory of this process: ${mib(backupRun.before)} before, peak ${mib(backupRun.peak)}`);

  const target = mongoose.connection.getClient().db(`${source.databaseName}_restored`);
  started = Date.now();
  const restoreRun = await withPeakRss(() => restoreArchive(backup.path, { logger, db: target }));
  const report = restoreRun.result;
  const restoreMs = Date.now() - started;
  console.log(
    `restore: ${seconds(restoreMs)} — verify archive, ${report.documents.toLocaleString('en-US')} documents, indexes, ${report.history.chains.toLocaleString('en-US')} history chains verified (${report.history.broken.length} broken)`,
  );
  console.log(`         memory of this process: ${mib(restoreRun.before)} before, peak ${mib(restoreRun.peak)}`);
  const compared = ['cards', 'history', 'reads', 'sessions'];
  const [a, b] = await Promise.all([contentHashes(source, compared), contentHashes(target, compared)]);
  console.log(`identical by content hash (${compared.join(', ')}): ${JSON.stringify(a) === JSON.stringify(b) ? 'yes' : 'NO'}`);
  await target.dropDatabase();
  await source.dropDatabase();
} finally {
  await database.close();
  await rm(dir, { recursive: true, force: true });
}
