import { expect } from 'chai';
import { MongoBulkWriteError, MongoClient, MongoServerError, type Db, type ObjectId } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

// Loosely typed documents: these tests exercise the server, not the driver's typings.
type AnyDoc = { _id?: string | number | ObjectId | null; [field: string]: any };

describe('db conformance: MongoDB 7 behaviours drivers and applications rely on', function () {
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('mongo7'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('applies pipeline-style updates, keeping _id when a stage leaves it out', async () => {
    const c = db.collection<AnyDoc>('pipeline');
    await c.insertMany([
      { _id: 1, a: 2, b: 3, tags: ['x'] },
      { _id: 2, a: 10, b: 1 },
    ]);
    await c.updateOne({ _id: 1 }, [{ $set: { total: { $add: ['$a', '$b'] }, tags: { $concatArrays: ['$tags', ['y']] } } }, { $unset: 'b' }]);
    expect(await c.findOne({ _id: 1 })).to.deep.equal({ _id: 1, a: 2, tags: ['x', 'y'], total: 5 });
    await c.updateOne({ _id: 2 }, [{ $replaceWith: { doubled: { $multiply: ['$a', 2] } } }]);
    expect(await c.findOne({ _id: 2 })).to.deep.equal({ _id: 2, doubled: 20 });
    await c.updateOne({ _id: 2 }, [{ $project: { _id: 0, doubled: 1 } }]);
    expect(await c.findOne({ _id: 2 })).to.deep.equal({ _id: 2, doubled: 20 });
    const changedId = (await c.updateOne({ _id: 2 }, [{ $set: { _id: 99 } }]).catch((e: unknown) => e)) as MongoServerError;
    expect(changedId.code).to.equal(66);
    const many = await c.updateMany({}, [{ $set: { seen: true } }]);
    expect(many.modifiedCount).to.equal(2);
    const upserted = await c.updateOne({ _id: 3 }, [{ $set: { created: { $literal: 'yes' } } }], { upsert: true });
    expect(upserted.upsertedId).to.equal(3);
    expect(await c.findOne({ _id: 3 })).to.deep.equal({ _id: 3, created: 'yes' });
  });

  it('applies $set, $unset, $inc and $addToSet on nested paths, creating fields in lexicographic order (5.0+)', async () => {
    const c = db.collection<AnyDoc>('operators');
    await c.insertOne({ _id: 1, tags: ['a'], n: 1, keep: { x: 1 } });
    await c.updateOne(
      { _id: 1 },
      {
        $set: { zeta: 1, 'meta.b': 2, 'meta.a': 1, alpha: true },
        $inc: { n: 2, fresh: 5 },
        $unset: { 'keep.x': '', missing: '' },
        $addToSet: { tags: { $each: ['b', 'a', 'b'] }, more: 'x' },
      },
    );
    const doc = (await c.findOne({ _id: 1 }))!;
    expect(doc).to.deep.equal({ _id: 1, tags: ['a', 'b'], n: 3, keep: {}, alpha: true, fresh: 5, meta: { a: 1, b: 2 }, more: ['x'], zeta: 1 });
    expect(Object.keys(doc)).to.deep.equal(['_id', 'tags', 'n', 'keep', 'alpha', 'fresh', 'meta', 'more', 'zeta']);
    const refused = (await c.updateOne({ _id: 1 }, { $inc: { alpha: 1 } }).catch((e: unknown) => e)) as MongoServerError;
    expect(refused).to.be.instanceOf(MongoServerError);
    expect((await c.findOne({ _id: 1 }))!.alpha).to.equal(true);
  });

  it('stores, finds, refuses a duplicate of and deletes a document whose _id is null', async () => {
    const c = db.collection<AnyDoc>('nullid');
    // The driver's insertOne replaces a null _id with an ObjectId, so the insert command is sent as is.
    await db.command({ insert: 'nullid', documents: [{ _id: null, v: 1 }] });
    expect(await c.findOne({ _id: null })).to.deep.equal({ _id: null, v: 1 });
    expect(await c.countDocuments({ _id: null })).to.equal(1);
    const duplicate = await db.command({ insert: 'nullid', documents: [{ _id: null, v: 2 }] });
    expect((duplicate.writeErrors as { code: number }[])[0]!.code).to.equal(11000);
    await c.updateOne({ _id: null }, { $set: { v: 3 } });
    expect(await c.find().toArray()).to.deep.equal([{ _id: null, v: 3 }]);
    expect((await c.deleteOne({ _id: null })).deletedCount).to.equal(1);
    const upserted = await c.updateOne({ _id: null }, { $set: { v: 4 } }, { upsert: true });
    expect(upserted.upsertedId).to.equal(null);
    await c.updateOne({ _id: null }, { $inc: { v: 1 } }, { upsert: true });
    expect(await c.find().toArray()).to.deep.equal([{ _id: null, v: 5 }]);
  });

  it('creates views and answers find, count and estimated count on them', async () => {
    const c = db.collection<AnyDoc>('people');
    await c.insertMany([
      { _id: 1, name: 'Ann', active: true, age: 31 },
      { _id: 2, name: 'Bob', active: false, age: 25 },
      { _id: 3, name: 'Cid', active: true, age: 40 },
      { _id: 4, name: 'Dee', active: true, age: 22 },
    ]);
    await db.createCollection('activePeople', { viewOn: 'people', pipeline: [{ $match: { active: true } }, { $project: { active: 0 } }] });
    const view = db.collection<AnyDoc>('activePeople');
    expect(
      await view
        .find({ age: { $gt: 25 } })
        .sort({ age: -1 })
        .toArray(),
    ).to.deep.equal([
      { _id: 3, name: 'Cid', age: 40 },
      { _id: 1, name: 'Ann', age: 31 },
    ]);
    expect(
      await view
        .find({}, { projection: { _id: 0, name: 1 } })
        .sort({ name: 1 })
        .skip(1)
        .limit(1)
        .toArray(),
    ).to.deep.equal([{ name: 'Cid' }]);
    expect(await view.countDocuments({ age: { $lt: 35 } })).to.equal(2);
    expect(await view.estimatedDocumentCount()).to.equal(3);
    expect(await view.distinct('name', { age: { $gte: 30 } })).to.deep.equal(['Ann', 'Cid']);
    const listed = await db.listCollections({ name: 'activePeople' }).toArray();
    expect(listed[0]).to.include({ name: 'activePeople', type: 'view' });
    expect((listed[0] as unknown as { options: { viewOn: string } }).options.viewOn).to.equal('people');
    const write = (await view.insertOne({ name: 'Eve' }).catch((e: unknown) => e)) as MongoServerError;
    expect(write.code).to.equal(166);
    await c.insertOne({ _id: 5, name: 'Eve', active: true, age: 50 });
    expect(await view.countDocuments()).to.equal(4);
  });

  it('lists the sessions it has seen with $listLocalSessions', async () => {
    const session = client.startSession();
    try {
      await db.collection('people').findOne({}, { session });
      const listed = await client
        .db('admin')
        .aggregate([{ $listLocalSessions: { allUsers: true } }])
        .toArray();
      const ids = listed.map((entry) => Buffer.from((entry._id as { id: { buffer: Uint8Array } }).id.buffer).toString('hex'));
      expect(ids).to.include(Buffer.from(session.id!.id.buffer).toString('hex'));
      expect(listed.every((entry) => entry.lastUse instanceof Date)).to.equal(true);
    } finally {
      await session.endSession();
    }
  });

  it('refuses the sort option on update and replace, as MongoDB 7.0 does, changing nothing', async () => {
    const c = db.collection<AnyDoc>('sorted');
    await c.insertMany([
      { _id: 1, rank: 2, v: 'a' },
      { _id: 2, rank: 1, v: 'b' },
    ]);
    const update = await c.updateOne({}, { $set: { v: 'changed' } }, { sort: { rank: 1 } } as never).catch((e: unknown) => e);
    expect(update).to.be.instanceOf(Error);
    const replace = await c.replaceOne({}, { v: 'replaced' }, { sort: { rank: 1 } } as never).catch((e: unknown) => e);
    expect(replace).to.be.instanceOf(Error);
    expect(await c.find().sort({ _id: 1 }).toArray()).to.deep.equal([
      { _id: 1, rank: 2, v: 'a' },
      { _id: 2, rank: 1, v: 'b' },
    ]);
  });

  it('inserts the rest of an unordered insertMany and reports each failed document', async () => {
    const c = db.collection<AnyDoc>('unordered');
    await c.createIndex({ email: 1 }, { unique: true });
    const error = (await c
      .insertMany(
        [
          { _id: 1, email: 'a@x' },
          { _id: 1, email: 'b@x' },
          { _id: 2, email: 'c@x' },
          { _id: 3, email: 'a@x' },
          { _id: 4, email: 'd@x' },
        ],
        { ordered: false },
      )
      .catch((e: unknown) => e)) as MongoBulkWriteError;
    expect(error).to.be.instanceOf(MongoBulkWriteError);
    expect(error.insertedCount).to.equal(3);
    const failures = (error.writeErrors as unknown as { index: number; code: number; errmsg: string }[]).map((e) => ({ index: e.index, code: e.code }));
    expect(failures).to.deep.equal([
      { index: 1, code: 11000 },
      { index: 3, code: 11000 },
    ]);
    expect((error.writeErrors as unknown as { errmsg: string }[])[1]!.errmsg).to.match(/index: email_1 dup key: \{ email: "a@x" \}/);
    expect((await c.find().sort({ _id: 1 }).toArray()).map((d) => d._id)).to.deep.equal([1, 2, 4]);
  });
});
