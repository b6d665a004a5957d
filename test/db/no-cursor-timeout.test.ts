import { expect } from 'chai';
import { Long, MongoClient, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

// A find opened with noCursorTimeout stays open while idle; others are closed after cursorTimeoutMillis.
describe('db conformance: noCursorTimeout', function () {
  this.timeout(60_000);
  let client: MongoClient;
  let db: Db;
  let was: number;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('no_cursor_timeout'));
    await db.collection<{ _id: number }>('c').insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i })));
    was = (await client.db('admin').command({ setParameter: 1, cursorTimeoutMillis: 500 })).was as number;
  });
  after(async () => {
    await client.db('admin').command({ setParameter: 1, cursorTimeoutMillis: was });
    await db.dropDatabase();
    await client.close();
  });

  const open = async (noCursorTimeout: boolean) => Long.fromBigInt(BigInt((await db.command({ find: 'c', filter: {}, batchSize: 2, noCursorTimeout })).cursor.id));

  it('keeps the cursor while an ordinary one opened after it is closed for being idle', async () => {
    const kept = await open(true);
    // Wait (without touching either) until an ordinary cursor, opened later, has been closed.
    let expired = false;
    for (let round = 0; round < 20 && !expired; round++) {
      const ordinary = await open(false);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const killed = await db.command({ killCursors: 'c', cursors: [ordinary] });
      expired = (killed.cursorsNotFound as Long[]).length === 1;
    }
    expect(expired, 'an ordinary idle cursor was closed').to.equal(true);
    const more = await db.command({ getMore: kept, collection: 'c', batchSize: 100 });
    expect(more.cursor.nextBatch.map((doc: { _id: number }) => doc._id)).to.deep.equal([2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
