import { expect } from 'chai';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { pino } from 'pino';
import { restoreArchive } from '../../server/src/backup/restore';
import { writeSnapshot } from '../../server/src/backup/snapshot';
import { Card } from '../../server/src/cards/model';
import { startMemoryServer } from '../../server/src/db/memory';
import { DEMO_PASSWORD } from '../../seeds/demo';
import { runBackupCli, uriWithDatabase } from '../support/cli';
import { contentHashes } from '../support/content-hash';
import { testMongoUri, uniqueDbName } from '../support/mongo';
import { signedIn, startTestServer } from '../support/server';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const COMPARED = ['cards', 'history', 'reads', 'sessions', 'users', 'groups', 'departments', 'folders', 'libraries', 'cardtypes'];

/**
 * Moving between servers is a backup on one and a restore on the other. Checked here between the
 * built-in server's two modes — in memory and durable (journaled to disk, surviving a restart) —
 * through the same commands and driver calls that move data onto a real MongoDB.
 */
describe('moving data between the built-in in-memory and durable modes', function () {
  this.timeout(120_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-move-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('in memory → durable → restarted → back into memory, identical by content hash', async () => {
    const sourceName = uniqueDbName('source');
    const server = await startTestServer({ SEED_DEMO_DATA: 'true' }, { dbName: sourceName });
    let archive: string;
    try {
      const admin = await signedIn(server);
      await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { historyEnabled } }');
      const tatiana = await signedIn(server, 'tgoncharenko', DEMO_PASSWORD);
      for (const card of await Card.find({ typeKey: 'counterparty' }, { _id: 1, version: 1 }).limit(2).lean()) {
        await tatiana.data('mutation($id: ID!, $v: Int!) { updateCard(id: $id, version: $v, values: { phone: "+7 495 123-45-67" }) { id } }', {
          id: String(card._id),
          v: card.version,
        });
      }
      archive = (await writeSnapshot({ dir, server: 'kartoteka-memory' })).path;
    } finally {
      await server.stop();
    }
    const mongo = await mongoose.mongo.MongoClient.connect(await testMongoUri());
    const original = await contentHashes(mongo.db(sourceName), COMPARED);
    expect(original.history.documents).to.equal(2);

    // Into the durable mode with `npm run restore`, then the durable server restarts from disk.
    const dbpath = path.join(dir, 'durable');
    let durable = await startMemoryServer({ dbpath });
    const restored = await runBackupCli(['restore', archive], { MONGODB_URI: uriWithDatabase(durable.uri, 'kartoteka') });
    expect(restored.code, restored.stderr + restored.stdout).to.equal(0);
    expect(restored.stdout).to.match(/every chain verifies/);
    await durable.stop();
    durable = await startMemoryServer({ dbpath });
    const durableClient = await mongoose.mongo.MongoClient.connect(durable.uri);
    try {
      expect(await contentHashes(durableClient.db('kartoteka'), COMPARED)).to.deep.equal(original);

      // And back: `npm run backup` on the durable server, restored into memory.
      const out = path.join(dir, 'from-durable');
      const backedUp = await runBackupCli(['backup', '--out', out], { MONGODB_URI: uriWithDatabase(durable.uri, 'kartoteka') });
      expect(backedUp.code, backedUp.stderr + backedUp.stdout).to.equal(0);
      expect(backedUp.stdout).to.match(/Backup written: .*kartoteka-backup-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.tar\.gz/);
      const [file] = await readdir(out);
      const back = mongo.db(uniqueDbName('back'));
      const report = await restoreArchive(path.join(out, file), { logger, db: back });
      expect(report.history.broken).to.deep.equal([]);
      expect(await contentHashes(back, COMPARED)).to.deep.equal(original);
      await back.dropDatabase();
    } finally {
      await durableClient.close();
      await durable.stop();
      await mongo.db(sourceName).dropDatabase();
      await mongo.close();
    }
  });
});
