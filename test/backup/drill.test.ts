import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { pino } from 'pino';
import { readArchive } from '../../server/src/backup/archive';
import { restoreArchive } from '../../server/src/backup/restore';
import { Card } from '../../server/src/cards/model';
import { User } from '../../server/src/people/models';
import type { RunningServer } from '../../server/src/server';
import { DEMO_PASSWORD } from '../../seeds/demo';
import { generateCounterparties } from '../../seeds/generate';
import type { ApiClient } from '../support/api-client';
import { runBackupCli, uriWithDatabase } from '../support/cli';
import { contentHashes } from '../support/content-hash';
import { testMongoUri, uniqueDbName } from '../support/mongo';
import { signedIn, startTestServer } from '../support/server';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
type Hashes = Awaited<ReturnType<typeof contentHashes>>;
type BackupRow = { id: string; state: string; file: string; sizeBytes: number; documents: number; verification: { state: string }; downloadUrl: string | null; trigger: string };

/** Polls a job through the API until it finishes. */
async function finishedJob(client: ApiClient, id: string): Promise<{ state: string; error: string | null; result: { file: string } }> {
  for (;;) {
    const { job } = await client.data<{ job: { state: string; error: string | null; result: { file: string } } }>('query($id: ID!) { job(id: $id) { state error result } }', {
      id,
    });
    if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The drill of issue 17: the demo plus 10,000 generated cards, edits, a backup from the console,
 * the database wiped, `npm run restore`, and everything compared by content hash; then the same
 * archive restored into a second, empty database while the first keeps serving.
 */
describe('backup and restore drill', function () {
  this.timeout(240_000);
  const dbName = uniqueDbName('drill');
  let server: RunningServer;
  let mongo: mongoose.mongo.MongoClient;
  let dir: string;
  let archive: string;
  let original: Hashes;
  let collections: string[];
  let natalia: ApiClient;
  let countsBefore: unknown;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-drill-'));
    server = await startTestServer({ SEED_DEMO_DATA: 'true', BACKUP_DIR: dir }, { dbName });
    const readers = await User.find({ loginKey: { $in: ['tgoncharenko', 'nvakulenko'] } }, { _id: 1 }).lean();
    await generateCounterparties({ count: 10_000, folderName: 'Большая папка', grantUserIds: readers.map((r) => String(r._id)) });
    mongo = await mongoose.mongo.MongoClient.connect(await testMongoUri());
  });
  after(async () => {
    await server?.stop();
    await mongo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('backs up, wipes and restores: cards, history, unread state and sessions come back identical and every chain verifies', async () => {
    const admin = await signedIn(server);
    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { historyEnabled } }');
    const tatiana = await signedIn(server, 'tgoncharenko', DEMO_PASSWORD);
    natalia = await signedIn(server, 'nvakulenko', DEMO_PASSWORD);
    // Edits: demo and generated counterparties changed twice each (history chains of two entries).
    const edited = await Card.find({ typeKey: 'counterparty' }, { _id: 1, version: 1 }).sort({ _id: 1 }).limit(10).lean();
    for (const [i, card] of edited.entries()) {
      for (let round = 0; round < 2; round += 1) {
        await tatiana.data('mutation($id: ID!, $v: Int!, $values: JSON!) { updateCard(id: $id, version: $v, values: $values) { id } }', {
          id: String(card._id),
          v: card.version + round,
          values: { phone: `+7 495 100-${String(i).padStart(2, '0')}-${round}${round}` },
        });
      }
    }
    await natalia.data('mutation($id: ID!) { openCard(id: $id) { id } }', { id: String(edited[0]._id) });
    await natalia.data('mutation($id: ID!) { markCardUnread(id: $id) }', { id: String(edited[9]._id) });
    countsBefore = (await natalia.data('{ unreadCounts { folderId count } }')).unreadCounts;

    // «Создать сейчас»: a backup job, then the catalog shows it verified and downloadable.
    const { createBackup } = await admin.data<{ createBackup: { id: string } }>('mutation { createBackup { id } }');
    const job = await finishedJob(admin, createBackup.id);
    expect(job.state, job.error ?? '').to.equal('succeeded');
    const { backups } = await admin.data<{ backups: BackupRow[] }>('{ backups { id state file sizeBytes documents verification { state } downloadUrl trigger } }');
    expect(backups[0]).to.include({ state: 'succeeded', trigger: 'manual', file: job.result.file });
    expect(backups[0].verification.state).to.equal('verified');
    expect(backups[0].documents).to.be.above(10_000);
    const download = await fetch(`${server.url}${backups[0].downloadUrl}`, { headers: { cookie: admin.cookieHeader() } });
    expect(download.status).to.equal(200);
    expect(download.headers.get('content-disposition')).to.contain(job.result.file);
    expect((await download.arrayBuffer()).byteLength).to.equal(backups[0].sizeBytes);
    const forbidden = await fetch(`${server.url}${backups[0].downloadUrl}`, { headers: { cookie: natalia.cookieHeader() } });
    expect(forbidden.status).to.equal(403);
    archive = path.join(dir, job.result.file);

    const db = mongo.db(dbName);
    collections = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((name) => !['meta', 'jobs', 'locks', 'backups'].includes(name));
    expect(collections).to.include.members(['cards', 'history', 'reads', 'sessions', 'users', 'auditentries']);
    original = await contentHashes(db, collections);
    expect(original.history.documents).to.equal(20);
    expect(original.cards.documents).to.be.above(10_000);

    // Wipe, then `npm run restore -- FILE`.
    await server.stop();
    await db.dropDatabase();
    const restored = await runBackupCli(['restore', archive], { MONGODB_URI: uriWithDatabase(await testMongoUri(), dbName) });
    expect(restored.code, restored.stderr + restored.stdout).to.equal(0);
    expect(restored.stdout).to.match(/Archive verified/);
    expect(restored.stdout).to.match(/10 with a history chain, 20 entries — every chain verifies/);
    const restoredHashes = await contentHashes(db, collections);
    // Byte for byte what was backed up. The audit log goes on after the snapshot (the backup and
    // its download are audited), and the restore adds its own entry; so do the bulk-reading counters
    // (cards sent just before the snapshot are counted within seconds, by a timer).
    const goingOn = { auditentries: null, read_counts: null, read_baselines: null };
    expect({ ...restoredHashes, ...goingOn }).to.deep.equal({ ...original, ...goingOn });
    const manifest = await readArchive(archive);
    const archivedAudit = manifest.collections.find((c) => c.name === 'auditentries')!.documents;
    expect(restoredHashes.auditentries.documents).to.equal(archivedAudit + 1);
    const lastAudit = await db.collection('auditentries').find().sort({ _id: -1 }).limit(1).next();
    expect(lastAudit).to.deep.include({ kind: 'backup-restored', targetId: path.basename(archive) });

    // The server starts on the restored data and Наталья's session from before still works.
    server = await startTestServer({ BACKUP_DIR: dir }, { dbName });
    const sameSession = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: natalia.cookieHeader() },
      body: JSON.stringify({ query: '{ unreadCounts { folderId count } }' }),
    });
    expect(((await sameSession.json()) as { data: { unreadCounts: unknown } }).data.unreadCounts).to.deep.equal(countsBefore);
  });

  it('restores the same archive into a second, empty database while the first keeps serving', async () => {
    const second = mongo.db(uniqueDbName('drill_second'));
    const tatiana = await signedIn(server, 'tgoncharenko', DEMO_PASSWORD);
    const restoring = restoreArchive(archive, { logger, db: second });
    // Meanwhile the first database takes changes as usual.
    const card = await Card.findOne({ typeKey: 'counterparty' }, { _id: 1, version: 1 }).sort({ _id: 1 }).lean();
    const change = await tatiana.request('mutation($id: ID!, $v: Int!) { updateCard(id: $id, version: $v, values: { phone: "+7 812 000-00-01" }) { version } }', {
      id: String(card!._id),
      v: card!.version,
    });
    expect(change.errors, JSON.stringify(change.errors)).to.equal(undefined);
    const report = await restoring;
    expect(report.history).to.deep.include({ chains: 10, entries: 20, broken: [] });
    const copy = await contentHashes(second, collections);
    expect({ ...copy, auditentries: null }).to.deep.equal({ ...original, auditentries: null });
    await second.dropDatabase();
  });
});
