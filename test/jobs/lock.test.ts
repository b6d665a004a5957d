import { expect } from 'chai';
import mongoose from 'mongoose';
import { tryLock, unlock } from '../../server/src/jobs/lock';
import { testMongoUri, uniqueDbName } from '../support/mongo';

describe('named locks shared by instances', function () {
  let connection: mongoose.Connection;
  let db: mongoose.mongo.Db;

  before(async () => {
    connection = await mongoose.createConnection(await testMongoUri(), { dbName: uniqueDbName('locks') }).asPromise();
    db = connection.db!;
  });
  after(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  const holderOf = async (name: string) => (await db.collection<{ _id: string; holder: string }>('locks').findOne({ _id: name }))?.holder;

  it('is taken by one instance, refused to another while valid, renewed by its holder and free once released', async () => {
    expect(await tryLock('migrate', 'a', 60_000, db)).to.equal(true);
    expect(await holderOf('migrate')).to.equal('a');
    expect(await tryLock('migrate', 'b', 60_000, db)).to.equal(false);
    expect(await tryLock('migrate', 'a', 60_000, db)).to.equal(true);
    expect(await holderOf('migrate')).to.equal('a');
    await unlock('migrate', 'a', db);
    expect(await tryLock('migrate', 'b', 60_000, db)).to.equal(true);
    expect(await holderOf('migrate')).to.equal('b');
  });

  it('goes to another instance once the claim has expired, and exactly one of many racing instances gets it', async () => {
    await db.collection<{ _id: string; holder: string; until: Date }>('locks').insertOne({ _id: 'expired', holder: 'gone', until: new Date(Date.now() - 1000) });
    expect(await tryLock('expired', 'c', 60_000, db)).to.equal(true);
    expect(await holderOf('expired')).to.equal('c');
    const won = await Promise.all(Array.from({ length: 8 }, (_, i) => tryLock('race', `racer-${i}`, 60_000, db)));
    expect(won.filter(Boolean)).to.have.length(1);
    expect(await holderOf('race')).to.equal(`racer-${won.indexOf(true)}`);
  });
});
