import { expect } from 'chai';
import { MongoClient, type Db } from 'mongodb';
import { tryLock, unlock } from '../../server/src/jobs/lock';
import { testMongoUri, uniqueDbName } from '../support/mongo';

describe('named locks shared by instances', function () {
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('locks'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
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
