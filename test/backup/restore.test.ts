import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { pino } from 'pino';
import { ARCHIVE_FORMAT, ARCHIVE_FORMAT_VERSION, packArchive, serializeMetadata, type Manifest, type StagedFile } from '../../server/src/backup/archive';
import { endMaintenance, startMaintenance } from '../../server/src/backup/maintenance';
import { restoreArchive } from '../../server/src/backup/restore';
import { writeSnapshot } from '../../server/src/backup/snapshot';
import { entryHash, GENESIS_HASH } from '../../server/src/history/chain';
import { storedVersion, type MigrationStep } from '../../server/src/migrations';
import type { RunningServer } from '../../server/src/server';
import { runBackupCli, uriWithDatabase } from '../support/cli';
import { contentHashes } from '../support/content-hash';
import { testMongoUri, uniqueDbName } from '../support/mongo';
import { signedIn, startTestServer } from '../support/server';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const { BSON } = mongoose.mongo;
const sha256 = (content: Buffer) => createHash('sha256').update(content).digest('hex');

/** A hand-made archive of one collection `contacts`, at the data-model version given. */
async function craftArchive(dir: string, options: { dataModelVersion: number; documents: Record<string, unknown>[]; claimedSha256?: string }): Promise<string> {
  const data = Buffer.concat(options.documents.map((doc) => BSON.serialize(doc)));
  const metadata = serializeMetadata({ collectionName: 'contacts', type: 'collection', options: {}, indexes: [{ v: 2, key: { _id: 1 }, name: '_id_' }] });
  await writeFile(path.join(dir, 'contacts.bson'), data);
  await writeFile(path.join(dir, 'contacts.metadata.json'), metadata);
  const files: StagedFile[] = [
    { source: path.join(dir, 'contacts.metadata.json'), path: 'dump/contacts.metadata.json', bytes: metadata.length, sha256: sha256(metadata) },
    { source: path.join(dir, 'contacts.bson'), path: 'dump/contacts.bson', bytes: data.length, sha256: options.claimedSha256 ?? sha256(data) },
  ];
  const manifest: Manifest = {
    format: ARCHIVE_FORMAT,
    formatVersion: ARCHIVE_FORMAT_VERSION,
    kartotekaVersion: '0.0.1',
    dataModelVersion: options.dataModelVersion,
    createdAt: new Date().toISOString(),
    source: { database: 'old', server: 'mongodb' },
    consistency: 'snapshot',
    collections: [{ name: 'contacts', documents: options.documents.length, metadata: files[0], data: files[1] }].map((c) => ({
      ...c,
      metadata: { path: c.metadata.path, bytes: c.metadata.bytes, sha256: c.metadata.sha256 },
      data: { path: c.data.path, bytes: c.data.bytes, sha256: c.data.sha256 },
    })),
  };
  const file = path.join(dir, `crafted-${options.dataModelVersion}-${Date.now()}.tar.gz`);
  await packArchive(file, manifest, files);
  return file;
}

/** Retries `change` while the server still answers MAINTENANCE (it re-reads the flag every second). */
async function acceptedAgain<T>(change: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await change();
    } catch (error) {
      if (!/MAINTENANCE/.test((error as Error).message) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('restore', function () {
  this.timeout(120_000);
  let dir: string;
  let mongo: mongoose.mongo.MongoClient;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-restore-'));
    mongo = await mongoose.mongo.MongoClient.connect(await testMongoUri());
  });
  after(async () => {
    await mongo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('a database a server is using', () => {
    let server: RunningServer;
    let dbName: string;
    let archive: string;

    before(async () => {
      dbName = uniqueDbName('refusals');
      server = await startTestServer({}, { dbName });
      const admin = await signedIn(server);
      await admin.data('mutation { createLibrary(name: "Из архива") { id } }');
      archive = (await writeSnapshot({ dir, server: 'test' })).path;
    });
    after(async () => {
      await server?.stop();
    });

    it('refuses a database that holds data unless --force is given', async () => {
      const db = mongo.db(dbName);
      const names = ['users', 'groups', 'cardtypes'];
      const unchanged = await contentHashes(db, names);
      const refused = await runBackupCli(['restore', archive], { MONGODB_URI: uriWithDatabase(await testMongoUri(), dbName) });
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(new RegExp(`Restore refused: the database "${dbName}" is not empty \\(.+: \\d+.*\\); nothing was changed. Add --force`));
      expect(await contentHashes(db, names)).to.deep.equal(unchanged);
    });

    it('refuses an archive whose content does not match its manifest, and a damaged file', async () => {
      const db = mongo.db(dbName);
      const unchanged = await contentHashes(db, ['users']);
      const tampered = await craftArchive(dir, { dataModelVersion: 1, documents: [{ name: 'ООО «Альфа»' }], claimedSha256: '0'.repeat(64) });
      const mismatch = await runBackupCli(['restore', tampered, '--force'], { MONGODB_URI: uriWithDatabase(await testMongoUri(), dbName) });
      expect(mismatch.code).to.equal(1);
      expect(mismatch.stderr).to.match(/Restore refused: dump\/contacts.bson does not match the manifest/);

      const bytes = await readFile(archive);
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      const damaged = path.join(dir, 'damaged.tar.gz');
      await writeFile(damaged, bytes);
      const broken = await runBackupCli(['restore', damaged, '--force'], { MONGODB_URI: uriWithDatabase(await testMongoUri(), dbName) });
      expect(broken.code).to.equal(1);
      expect(broken.stderr).to.match(/Restore refused: (the archive cannot be read|.*does not match the manifest|.*is not valid Extended JSON|corrupt BSON)/);
      expect(await contentHashes(db, ['users'])).to.deep.equal(unchanged);
      expect(await db.collection('contacts').countDocuments()).to.equal(0);
    });

    it('with --force replaces the contents of a database in use, the server refusing changes meanwhile', async () => {
      const admin = await signedIn(server);
      await admin.data('mutation { createLibrary(name: "После архива") { id } }');
      const restoring = runBackupCli(['restore', archive, '--force'], { MONGODB_URI: uriWithDatabase(await testMongoUri(), dbName) });
      let finished = false;
      void restoring.then(() => (finished = true));
      // Changes are tried until the server refuses one for the restore, and not after: a change the
      // server accepted once the flag was down again would rightly stay.
      const answers = new Set<string>();
      while (!finished && !answers.has('MAINTENANCE')) {
        const attempt = await admin.request('mutation { createLibrary(name: "Во время восстановления") { id } }');
        answers.add(String(attempt.errors?.[0].extensions?.code ?? 'OK'));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const restored = await restoring;
      expect(restored.code, restored.stderr + restored.stdout).to.equal(0);
      expect(answers).to.include('MAINTENANCE');
      // The archive's contents, and the changes made after it are gone (the session too: sign in again
      // once the server has seen the flag go down).
      const again = await acceptedAgain(() => signedIn(server));
      // The server that saw the flag go down reloaded its access snapshot (libraries, folders) from
      // the restored data before it answered that sign-in.
      const { libraries } = await again.data<{ libraries: { name: string }[] }>('{ libraries { name } }');
      expect(libraries.map((l) => l.name)).to.deep.equal(['Из архива']);
      expect((await again.request('mutation { createLibrary(name: "После восстановления") { id } }')).errors).to.equal(undefined);
    });

    it('keeps a server on the database read-only while the maintenance flag is up', async () => {
      const admin = await acceptedAgain(() => signedIn(server));
      const restore = await startMaintenance(mongo.db(dbName), 'archive.tar.gz');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const refused = await admin.request('mutation { createLibrary(name: "Во время восстановления") { id } }');
      expect(refused.errors?.[0].extensions?.code).to.equal('MAINTENANCE');
      expect(refused.errors?.[0].message).to.match(/^Идёт восстановление из резервной копии: изменения временно недоступны, просмотр работает/);
      expect((await admin.data<{ libraries: unknown[] }>('{ libraries { id } }')).libraries).to.be.an('array');
      // The flag of a restore still running stays; once it failed, it is lifted.
      expect(await endMaintenance(mongo.db(dbName))).to.equal('running');
      await restore!.fail();
      expect(await endMaintenance(mongo.db(dbName))).to.equal('lifted');
      expect(await endMaintenance(mongo.db(dbName))).to.equal('none');
      await acceptedAgain(() => admin.data('mutation { createLibrary(name: "После восстановления") { id } }'));
    });
  });

  it('backs up and restores GridFS collections with the rest', async () => {
    const source = mongo.db(uniqueDbName('gridfs'));
    await source.collection('cards').insertOne({ title: 'ООО «Альфа»' });
    const upload = new mongoose.mongo.GridFSBucket(source).openUploadStream('договор.pdf');
    await new Promise((resolve, reject) => upload.on('finish', resolve).on('error', reject).end(Buffer.alloc(600_000, 7)));
    const backup = await writeSnapshot({ dir, server: 'test', db: source });
    expect(backup.manifest.collections.map((c) => `${c.name}:${c.documents}`)).to.deep.equal(['cards:1', 'fs.chunks:3', 'fs.files:1']);
    const target = mongo.db(uniqueDbName('gridfs_restored'));
    await restoreArchive(backup.path, { logger, db: target });
    const names = ['cards', 'fs.files', 'fs.chunks'];
    expect(await contentHashes(target, names)).to.deep.equal(await contentHashes(source, names));
    await Promise.all([source.dropDatabase(), target.dropDatabase()]);
  });

  it("ends by verifying every card's history chain and reports the ones that do not verify", async () => {
    const source = mongo.db(uniqueDbName('chains'));
    const cards = [new mongoose.Types.ObjectId(), new mongoose.Types.ObjectId()];
    for (const [index, cardId] of cards.entries()) {
      let prevHash = GENESIS_HASH;
      for (const seq of [1, 2, 3]) {
        const entry = {
          cardId,
          typeKey: 'counterparty',
          folderId: cardId,
          seq,
          at: new Date(),
          actorId: cardId,
          actorName: 'Татьяна Гончаренко',
          ip: '',
          action: 'update',
          changes: [],
          prevHash,
        };
        prevHash = entryHash(entry as never);
        // The second card's second entry was edited in the database after it was written.
        await source.collection('history').insertOne({ ...entry, hash: prevHash, ...(index === 1 && seq === 2 && { actorName: 'Кто-то другой' }) });
      }
    }
    await source.collection('cards').insertMany(cards.map((_id) => ({ _id, title: 'ООО «Альфа»' })));
    const backup = await writeSnapshot({ dir, server: 'test', db: source });
    const target = mongo.db(uniqueDbName('chains_restored'));
    const report = await restoreArchive(backup.path, { logger, db: target });
    expect(report.history).to.deep.equal({ cards: 2, chains: 2, entries: 6, broken: [{ cardId: String(cards[1]), seq: 2, reason: 'content altered' }] });
    await Promise.all([source.dropDatabase(), target.dropDatabase()]);
  });

  it('migrates an archive from an older data model through the same steps a server runs', async () => {
    const db = mongo.db(uniqueDbName('older'));
    const archive = await craftArchive(dir, { dataModelVersion: 1, documents: [{ name: 'Татьяна Гончаренко' }] });
    const steps: MigrationStep[] = [
      {
        version: 2,
        name: 'split contact names',
        async up(target) {
          for await (const contact of target.collection('contacts').find({ name: { $exists: true } })) {
            const [first, last] = String(contact.name).split(' ');
            await target.collection('contacts').updateOne({ _id: contact._id }, { $set: { first, last }, $unset: { name: '' } });
          }
        },
      },
    ];
    const report = await restoreArchive(archive, { logger, db, steps });
    expect(report.migration).to.deep.equal({ from: 1, to: 2, applied: ['split contact names'] });
    expect(await storedVersion(db)).to.equal(2);
    expect(
      await db
        .collection('contacts')
        .find({}, { projection: { _id: 0 } })
        .toArray(),
    ).to.deep.equal([{ first: 'Татьяна', last: 'Гончаренко' }]);
    // An archive from a newer Kartoteka is refused.
    const newer = await craftArchive(dir, { dataModelVersion: 3, documents: [] });
    const refused = await restoreArchive(newer, { logger, db: mongo.db(uniqueDbName('newer')), steps }).catch((error: Error) => error);
    expect((refused as Error).message).to.match(/data model is version 3, newer than this Kartoteka knows \(2\)/);
    await db.dropDatabase();
  });
});
