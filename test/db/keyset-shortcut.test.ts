import { expect } from 'chai';
import { MongoClient, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

// A keyset page (`$or` of "after this value" and "this value, after this id") lets the scan start
// right after (value, id) only when that is what the filter says in the sort's order; other filters
// of the same shape must return every match.
describe('db conformance: filters shaped like a keyset page', function () {
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('keyset_shape'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  const ids = (docs: { _id: unknown }[]) => docs.map((doc) => doc._id);

  it('an _id direction opposite to the sort direction of the tie branch skips no match', async () => {
    const c = db.collection<{ _id: number; f: number }>('mixed');
    await c.createIndex({ f: 1, _id: -1 });
    await c.insertMany([1, 2, 3, 4, 5, 6].map((i) => ({ _id: i, f: i === 1 ? 1 : i === 6 ? 3 : 2 })));
    const filter = { x: { $ne: 7 }, $or: [{ f: { $gt: 2 } }, { f: 2, _id: { $gt: 3 } }] };
    expect(ids(await c.find(filter).sort({ f: 1, _id: -1 }).toArray())).to.deep.equal([5, 4, 6]);
    expect(ids(await c.find(filter).sort({ f: -1, _id: 1 }).toArray())).to.deep.equal([6, 4, 5]);
    const descending = { x: { $ne: 7 }, $or: [{ f: { $lt: 2 } }, { f: 2, _id: { $lt: 4 } }] };
    expect(ids(await c.find(descending).sort({ f: -1, _id: 1 }).toArray())).to.deep.equal([2, 3, 1]);
    expect(ids(await c.find(descending).sort({ f: 1, _id: -1 }).toArray())).to.deep.equal([1, 3, 2]);
  });

  it('a regular expression in place of the value is matched as a pattern', async () => {
    const c = db.collection<{ _id: number; g: string }>('pattern');
    await c.createIndex({ g: 1, _id: 1 });
    await c.insertMany([1, 2, 3, 4, 5].map((i) => ({ _id: i, g: `x${i}` })));
    const filter = { $or: [{ g: { $gt: /x/ } }, { g: /x/, _id: { $gt: 2 } }] };
    expect(ids(await c.find(filter).sort({ g: 1, _id: 1 }).toArray())).to.deep.equal([3, 4, 5]);
  });
});
