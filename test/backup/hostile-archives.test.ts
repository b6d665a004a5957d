import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { createGunzip, createGzip } from 'node:zlib';
import mongoose from 'mongoose';
import tar from 'tar-stream';
import { pino } from 'pino';
import { MANIFEST_FILE, MANIFEST_HASH_FILE, type Manifest } from '../../server/src/backup/archive';
import { Backup } from '../../server/src/backup/model';
import { maintenanceOf, startMaintenance } from '../../server/src/backup/maintenance';
import { applyRetention } from '../../server/src/backup/service';
import { writeSnapshot } from '../../server/src/backup/snapshot';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { runBackupCli, uriWithDatabase } from '../support/cli';
import { contentHashes } from '../support/content-hash';
import { testMongoUri, uniqueDbName } from '../support/mongo';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';

const { BSON } = mongoose.mongo;
const sha256 = (content: Buffer) => createHash('sha256').update(content).digest('hex');
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

/** The archive's entries, in order. */
async function entriesOf(file: string): Promise<[string, Buffer][]> {
  const extract = tar.extract();
  const reading = pipeline(createReadStream(file), createGunzip(), extract);
  const entries: [string, Buffer][] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.push([entry.header.name, Buffer.concat(chunks)]);
  }
  await reading;
  return entries;
}

async function packEntries(file: string, entries: [string, Buffer][]): Promise<string> {
  const pack = tar.pack();
  const written = pipeline(pack, createGzip(), createWriteStream(file));
  for (const [name, content] of entries) pack.entry({ name }, content);
  pack.finalize();
  await written;
  return file;
}

/**
 * A copy of a good archive changed by `edit` (the manifest and the data files by name). As a
 * careful forger would, every hash is recomputed — the manifest's own too, unless `keepManifestHash`.
 */
async function forge(
  source: string,
  target: string,
  edit: (manifest: Manifest, files: Map<string, Buffer>) => void,
  options: { keepManifestHash?: boolean } = {},
): Promise<string> {
  const entries = await entriesOf(source);
  const manifest = JSON.parse(entries[0][1].toString('utf8')) as Manifest;
  const files = new Map(entries.slice(2));
  edit(manifest, files);
  for (const collection of manifest.collections) {
    for (const part of [collection.data, collection.metadata]) {
      const content = files.get(part.path)!;
      Object.assign(part, { bytes: content.length, sha256: sha256(content) });
    }
  }
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestHash = options.keepManifestHash ? entries[1][1] : Buffer.from(sha256(manifestBytes));
  return packEntries(target, [[MANIFEST_FILE, manifestBytes], [MANIFEST_HASH_FILE, manifestHash], ...files]);
}

function addCollection(manifest: Manifest, files: Map<string, Buffer>, name: string, documents: Record<string, unknown>[], indexes: Record<string, unknown>[] = []) {
  const data = Buffer.concat(documents.map((doc) => BSON.serialize(doc)));
  const metadata = Buffer.from(JSON.stringify({ collectionName: name, type: 'collection', options: {}, indexes: [{ v: 2, key: { _id: 1 }, name: '_id_' }, ...indexes] }));
  files.set(`dump/${name}.metadata.json`, metadata);
  files.set(`dump/${name}.bson`, data);
  manifest.collections.push({
    name,
    documents: documents.length,
    data: { path: `dump/${name}.bson`, bytes: 0, sha256: '' },
    metadata: { path: `dump/${name}.metadata.json`, bytes: 0, sha256: '' },
  });
}

/** Tries a change until the server answers with a refusal code (it re-reads the maintenance flag every second); that code. */
async function changeRefusedFor(client: ApiClient): Promise<string> {
  let answer = 'OK';
  for (const deadline = Date.now() + 10_000; answer === 'OK' && Date.now() < deadline;) {
    answer = String((await client.request('mutation { createLibrary(name: "Во время восстановления") { id } }')).errors?.[0].extensions?.code ?? 'OK');
  }
  return answer;
}

describe('hostile and damaged archives, concurrent restores', function () {
  this.timeout(120_000);
  let dir: string;
  let mongo: mongoose.mongo.MongoClient;
  let server: RunningServer;
  let dbName: string;
  let good: string;
  let uri: string;
  /** Signed in before the archive was taken: the session survives the restores. */
  let admin: ApiClient;
  const watched = ['users', 'cards', 'libraries', 'backups'];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-hostile-'));
    mongo = await mongoose.mongo.MongoClient.connect(await testMongoUri());
    dbName = uniqueDbName('hostile');
    server = await startTestServer({ BACKUP_DIR: path.join(dir, 'backups') }, { dbName });
    uri = uriWithDatabase(await testMongoUri(), dbName);
    admin = await signedIn(server);
    await admin.data('mutation { createLibrary(name: "Из архива") { id } }');
    good = (await writeSnapshot({ dir, server: 'test' })).path;
  });
  after(async () => {
    await server?.stop();
    await mongo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `npm run restore -- ARCHIVE --force` and checks it refused with the database untouched. */
  async function refused(archive: string): Promise<string> {
    const db = mongo.db(dbName);
    const before = await contentHashes(db, watched);
    const run = await runBackupCli(['restore', archive, '--force'], { MONGODB_URI: uri });
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stderr).to.match(/^Restore refused: /);
    expect(await contentHashes(db, watched)).to.deep.equal(before);
    expect(await maintenanceOf(db)).to.equal(null);
    return run.stderr;
  }

  it('refuses an archive that lists a collection a backup never writes (the backup catalog, meta, jobs)', async () => {
    for (const name of ['backups', 'meta', 'jobs']) {
      const planted = await forge(good, path.join(dir, `planted-${name}.tar.gz`), (manifest, files) =>
        addCollection(manifest, files, name, [
          { _id: new mongoose.Types.ObjectId(), trigger: 'manual', state: 'succeeded', dir: '/proc/self', file: 'environ', startedAt: new Date() },
        ]),
      );
      expect(await refused(planted)).to.contain(`the manifest lists the collection "${name}", which a backup never contains`);
    }
    expect(await Backup.countDocuments({ dir: '/proc/self' })).to.equal(0);
  });

  it('never serves nor deletes a file outside BACKUP_DIR, whatever the catalog says', async () => {
    const backups = path.join(dir, 'backups');
    const victim = path.join(dir, 'victim.txt');
    await writeFile(victim, 'keep me');
    const at = new Date('2020-01-01T00:00:00Z');
    const entry = { trigger: 'schedule', state: 'succeeded', startedAt: at, finishedAt: at, sizeBytes: 7, verification: { state: 'verified', at, message: null } };
    const inserted = await mongo
      .db(dbName)
      .collection('backups')
      .insertMany([
        { ...entry, dir: backups, file: '../victim.txt' },
        { ...entry, dir: '/proc/self', file: 'environ' },
        { ...entry, dir, file: 'victim.txt' },
      ]);
    const planted = Object.values(inserted.insertedIds).map((_id) => ({ _id }));
    for (const backup of planted) {
      const download = await fetch(`${server.url}/backups/${String(backup._id)}/download`, { headers: { cookie: admin.cookieHeader() } });
      expect(download.status).to.equal(404);
    }
    const { backups: listed } = await admin.data<{ backups: { id: string; downloadUrl: string | null }[] }>('{ backups { id downloadUrl } }');
    expect(listed.filter((b) => planted.some((p) => String(p._id) === b.id)).map((b) => b.downloadUrl)).to.deep.equal([null, null, null]);
    // A real backup into BACKUP_DIR, then the retention rule: it keeps the newest, and would delete the older planted entries.
    await admin.data('mutation { createBackup { id } }');
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await Backup.countDocuments({ dir: backups, state: 'succeeded', file: /^kartoteka-backup-/ })) === 0)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const deleted = await applyRetention(backups, { daily: 1, weekly: 0, monthly: 0 }, logger);
    expect(deleted).to.deep.equal([]);
    expect(await readFile(victim, 'utf8')).to.equal('keep me');
    await Backup.deleteMany({ _id: { $in: planted.map((b) => b._id) } });
  });

  it('refuses, changing nothing, an archive whose manifest was edited, whose counts are off, or with a repeated _id', async () => {
    const cardsRaised = (manifest: Manifest) => {
      const users = manifest.collections.find((c) => c.name === 'users')!;
      users.documents += 1;
    };
    // The manifest edited alone (as a text editor would): its recorded SHA-256 no longer matches.
    const edited = await forge(good, path.join(dir, 'edited.tar.gz'), cardsRaised, { keepManifestHash: true });
    expect(await refused(edited)).to.match(/manifest\.json was changed after the backup was written/);
    // Rewritten consistently, hashes and all: the first pass counts the documents.
    const counted = await forge(good, path.join(dir, 'counted.tar.gz'), cardsRaised);
    expect(await refused(counted)).to.match(/users: \d+ documents in the archive, the manifest says \d+/);
    // A document repeated in the data (its count raised to match).
    const repeated = await forge(good, path.join(dir, 'repeated.tar.gz'), (manifest, files) => {
      const data = files.get('dump/users.bson')!;
      files.set('dump/users.bson', Buffer.concat([data, data.subarray(0, data.readInt32LE(0))]));
      manifest.collections.find((c) => c.name === 'users')!.documents += 1;
    });
    expect(await refused(repeated)).to.match(/users: the _id .+ appears twice/);
    // A cut BSON document.
    const cut = await forge(good, path.join(dir, 'cut.tar.gz'), (_manifest, files) => {
      const data = files.get('dump/users.bson')!;
      files.set('dump/users.bson', data.subarray(0, data.length - 3));
    });
    expect(await refused(cut)).to.match(/corrupt BSON/);
    // A manifest of megabytes is not read whole into memory.
    const entries = await entriesOf(good);
    const bloated = await packEntries(path.join(dir, 'bloated.tar.gz'), [[MANIFEST_FILE, Buffer.concat([Buffer.alloc(6 * 1024 * 1024, ' '), entries[0][1]])], ...entries.slice(1)]);
    expect(await refused(bloated)).to.match(/manifest\.json is larger than 4 MB/);
  });

  it('a restore that fails after it began says the database was changed and stays read-only, and a new restore recovers', async () => {
    const db = mongo.db(dbName);
    // Passes every check of the first pass, then fails on the server: a unique index over a repeated value.
    const clash = await forge(good, path.join(dir, 'clash.tar.gz'), (manifest, files) =>
      addCollection(manifest, files, 'contacts', [{ email: 'a@example.com' }, { email: 'a@example.com' }], [{ v: 2, key: { email: 1 }, name: 'email_1', unique: true }]),
    );
    const failed = await runBackupCli(['restore', clash, '--force'], { MONGODB_URI: uri });
    expect(failed.code, failed.stderr).to.equal(3);
    expect(failed.stderr).to.match(/(^|\n)Restore FAILED: the restore into ".+" stopped after it began replacing its contents: /);
    expect(failed.stderr).to.contain(`The database "${dbName}" WAS CHANGED`);
    expect(failed.stderr).to.contain(`npm run restore -- ${clash} --force`);
    expect(failed.stderr).to.contain('npm run restore -- --end-maintenance');
    expect(await maintenanceOf(db)).to.include({ reason: 'restore' });
    // The server on the database refuses changes (it re-reads the flag every second).
    expect(await changeRefusedFor(admin)).to.equal('MAINTENANCE');

    const recovered = await runBackupCli(['restore', good, '--force'], { MONGODB_URI: uri });
    expect(recovered.code, recovered.stderr).to.equal(0);
    expect(await maintenanceOf(db)).to.equal(null);
    expect((await db.collection('libraries').find().toArray()).map((l) => l.name)).to.deep.equal(['Из архива']);
  });

  it('refuses a second restore while one holds the database, and lets one take over a failed one', async () => {
    const db = mongo.db(dbName);
    const running = await startMaintenance(db, 'other-archive.tar.gz');
    expect(running).to.not.equal(null);
    try {
      const stderr = await refusedWhileHeld();
      expect(stderr).to.match(new RegExp(`Restore refused: another restore into "${dbName}" is under way \\(other-archive\\.tar\\.gz, since .+\\); nothing was changed`));
      expect(await maintenanceOf(db)).to.include({ detail: 'other-archive.tar.gz' });
      // Meanwhile the server is read-only, but signing out works: the browser's session is gone.
      expect(await changeRefusedFor(admin)).to.equal('MAINTENANCE');
      // Uploads for an import too: a file stored now would be lost with the restore.
      const upload = await fetch(`${server.url}/transfer/uploads?name=${encodeURIComponent('контрагенты.csv')}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', cookie: admin.cookieHeader() },
        body: new Uint8Array(Buffer.from('Наименование\nООО «Альфа»\n')),
      });
      expect(upload.status).to.equal(503);
      expect(await upload.json()).to.deep.include({ code: 'MAINTENANCE' });
      expect(await admin.data('mutation { signOut }')).to.deep.equal({ signOut: true });
      expect(await admin.data('{ viewer { user { id } } }')).to.deep.equal({ viewer: null });
      // The flag of the running restore is not lifted by --end-maintenance (changes let in now would be lost).
      const endRefused = await runBackupCli(['restore', '--end-maintenance'], { MONGODB_URI: uri });
      expect(endRefused.code, endRefused.stderr).to.equal(1);
      expect(endRefused.stderr).to.contain(`Maintenance flag kept: a restore into "${dbName}" is running`);
      expect(await maintenanceOf(db)).to.include({ detail: 'other-archive.tar.gz' });
    } finally {
      await running!.fail();
    }
    const takenOver = await runBackupCli(['restore', good, '--force'], { MONGODB_URI: uri });
    expect(takenOver.code, takenOver.stderr).to.equal(0);
    expect(await maintenanceOf(db)).to.equal(null);
  });

  async function refusedWhileHeld(): Promise<string> {
    const db = mongo.db(dbName);
    const before = await contentHashes(db, watched);
    const run = await runBackupCli(['restore', good, '--force'], { MONGODB_URI: uri });
    expect(run.code, run.stderr).to.equal(1);
    expect(await contentHashes(db, watched)).to.deep.equal(before);
    return run.stderr;
  }

  it('eight «Создать сейчас» at once take one backup', async () => {
    // The server accepts changes again once it has seen the last restore's flag go down.
    await waitFor(
      () =>
        signedIn(server).then(
          () => true,
          () => false,
        ),
      'the server to leave maintenance',
    );
    const admins = await Promise.all([1, 2, 3, 4].map(() => signedIn(server)));
    const before = await Backup.countDocuments();
    const asked = await Promise.all(
      admins.flatMap((client) => [client, client]).map((client) => client.data<{ createBackup: { id: string } }>('mutation { createBackup { id } }')),
    );
    expect(new Set(asked.map((a) => a.createBackup.id)).size).to.equal(1);
    const job = asked[0].createBackup.id;
    const deadline = Date.now() + 60_000;
    let state = '';
    while (Date.now() < deadline && !['succeeded', 'failed'].includes(state)) {
      state = (await admins[0].data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id: job })).job.state;
    }
    expect(state).to.equal('succeeded');
    expect(await Backup.countDocuments()).to.equal(before + 1);
    // Once it is done, the next request takes a new backup.
    const next = await admins[0].data<{ createBackup: { id: string } }>('mutation { createBackup { id } }');
    expect(next.createBackup.id).to.not.equal(job);
  });

  it('a failed command-line backup says so in a sentence', async () => {
    const notADirectory = path.join(dir, 'victim-file');
    await writeFile(notADirectory, '');
    const run = await runBackupCli(['backup', '--out', path.join(notADirectory, 'sub')], { MONGODB_URI: uri });
    expect(run.code).to.equal(1);
    expect(run.stderr.trim()).to.match(/^Backup failed: ENOTDIR: not a directory/);
    expect(run.stderr).to.not.match(/\n\s+at /);
    expect(existsSync(path.join(notADirectory, 'sub'))).to.equal(false);
  });
});
