import { expect } from 'chai';
import mongoose from 'mongoose';
import { migrateDatabase, storedVersion, type Db, type MigrationStep } from '../../server/src/migrations';
import { testMongoUri, uniqueDbName } from '../support/mongo';
import { recordingLogger } from '../support/recording-logger';

/** Two steps over a `contacts` collection: split `name` into first/last, then add a `status`. */
const steps: MigrationStep[] = [
  {
    version: 2,
    name: 'split contact names',
    async up(db) {
      for await (const contact of db.collection('contacts').find({ name: { $exists: true } })) {
        const [first, ...rest] = String(contact.name).split(' ');
        await db.collection('contacts').updateOne({ _id: contact._id }, { $set: { first, last: rest.join(' ') }, $unset: { name: '' } });
      }
    },
  },
  {
    version: 3,
    name: 'contacts get a status',
    async up(db) {
      await db.collection('contacts').updateMany({ status: { $exists: false } }, { $set: { status: 'active' } });
      await db.collection('step_runs').insertOne({ step: 3 });
    },
  },
];

describe('data-model migrations', function () {
  let connection: mongoose.Connection;
  let db: Db;

  beforeEach(async () => {
    connection = await mongoose.createConnection(await testMongoUri(), { dbName: uniqueDbName('migrations') }).asPromise();
    db = connection.db!;
  });
  afterEach(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  it('stamps a new database with the newest version without running steps', async () => {
    const { logger } = recordingLogger();
    const report = await migrateDatabase(logger, { db, steps });
    expect(report).to.deep.equal({ from: 3, to: 3, applied: [] });
    expect(await storedVersion(db)).to.equal(3);
    expect(await db.collection('step_runs').countDocuments()).to.equal(0);
  });

  it('runs the pending steps of an unversioned database in order, logs each, and is a no-op the second time', async () => {
    await db.collection('users').insertOne({ login: 'admin' });
    await db.collection('contacts').insertMany([{ name: 'Татьяна Гончаренко' }, { name: 'Наталья Вакуленко' }]);
    const { logger, lines } = recordingLogger();
    const report = await migrateDatabase(logger, { db, steps });
    expect(report).to.deep.equal({ from: 1, to: 3, applied: ['split contact names', 'contacts get a status'] });
    const contacts = await db
      .collection('contacts')
      .find({}, { projection: { _id: 0 } })
      .sort({ first: -1 })
      .toArray();
    expect(contacts).to.deep.equal([
      { first: 'Татьяна', last: 'Гончаренко', status: 'active' },
      { first: 'Наталья', last: 'Вакуленко', status: 'active' },
    ]);
    expect(lines.filter((l) => l.msg === 'migration done').map((l) => l.migration)).to.deep.equal(['split contact names', 'contacts get a status']);
    const stamp = await db.collection('meta').findOne({ _id: 'data-model' as never });
    expect(stamp?.applied.map((a: { version: number }) => a.version)).to.deep.equal([2, 3]);

    expect(await migrateDatabase(logger, { db, steps })).to.deep.equal({ from: 3, to: 3, applied: [] });
    expect(await db.collection('step_runs').countDocuments()).to.equal(1);
  });

  it('lets one of several starting instances migrate while the others wait', async () => {
    await db.collection('users').insertOne({ login: 'admin' });
    const { logger } = recordingLogger();
    const reports = await Promise.all([1, 2, 3].map((i) => migrateDatabase(logger, { db, steps, holder: `instance-${i}` })));
    expect(reports.map((r) => r.applied.length).sort()).to.deep.equal([0, 0, 2]);
    expect(await db.collection('step_runs').countDocuments()).to.equal(1);
  });

  it('refuses a database from a newer Kartoteka and misnumbered steps', async () => {
    const { logger } = recordingLogger();
    await db.collection('meta').insertOne({ _id: 'data-model' as never, version: 9, applied: [] });
    const newer = await migrateDatabase(logger, { db, steps }).catch((error: Error) => error);
    expect((newer as Error).message).to.match(/version 9, newer than this Kartoteka knows \(3\)/);
    const gap = await migrateDatabase(logger, { db, steps: [steps[1]] }).catch((error: Error) => error);
    expect((gap as Error).message).to.match(/must have version 2, not 3/);
  });
});
