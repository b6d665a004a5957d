import { expect } from 'chai';
import mongoose from 'mongoose';
import { testMongoUri, uniqueDbName } from '../support/mongo';

/**
 * What a consistent backup relies on (server/src/backup/snapshot.ts): in a session started with
 * `{ snapshot: true }`, every read — of any collection, by any number of cursors — sees the data as
 * of the session's first read, while other clients keep writing.
 *
 * MongoDB ≥ 5.0 does this (read concern "snapshot" at the session's atClusterTime), and so does the
 * built-in server (an LMDB read snapshot kept for the session).
 */
describe('db conformance: snapshot sessions', function () {
  let client: mongoose.mongo.MongoClient;
  let db: mongoose.mongo.Db;

  before(async () => {
    client = await mongoose.mongo.MongoClient.connect(await testMongoUri());
    db = client.db(uniqueDbName('snapshot'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('reads every collection as of the first read, whatever other clients write meanwhile', async () => {
    await db.collection('cards').insertMany([
      { _id: 1 as never, title: 'before' },
      { _id: 2 as never, title: 'before' },
    ]);
    await db.collection('history').insertOne({ cardId: 1, seq: 1 });
    const session = client.startSession({ snapshot: true });
    try {
      const first = await db.collection('cards').find({}, { session }).sort({ _id: 1 }).toArray();
      expect(first.map((c) => c.title)).to.deep.equal(['before', 'before']);
      // Another client changes both collections after the snapshot's moment.
      await db.collection('cards').updateMany({}, { $set: { title: 'after' } });
      await db.collection('cards').insertOne({ _id: 3 as never, title: 'after' });
      await db.collection('history').insertOne({ cardId: 1, seq: 2 });
      const again = await db.collection('cards').find({}, { session, batchSize: 1 }).sort({ _id: 1 }).toArray();
      expect(again.map((c) => c.title)).to.deep.equal(['before', 'before']);
      expect(await db.collection('history').countDocuments({}, { session })).to.equal(1);
    } finally {
      await session.endSession();
    }
  });
});
