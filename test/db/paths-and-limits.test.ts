import { expect } from 'chai';
import { Long, MongoClient, MongoServerError, type Db, type Document } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

/**
 * What MongoDB 7 refuses or computes where the built-in server once answered otherwise: a result
 * document over the BSON size limit (the server stopped for every client), a field created inside
 * a value that is not a document (the write was dropped and reported as matched), the positional
 * projection `'a.$'` (it returned `[null]`).
 */
describe('db conformance: paths, projections and size limits', function () {
  this.timeout(120_000);
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('paths_limits'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('an aggregation whose result is over 16 MB is refused, and the server goes on serving', async () => {
    const c = db.collection('big');
    await c.insertOne({ _id: 'big', s: 'x'.repeat(6 * 1024 * 1024) } as Document);
    const error = await c
      .aggregate([{ $project: { tripled: { $concat: ['$s', '$s', '$s'] } } }])
      .toArray()
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error, 'the aggregation is refused').to.be.instanceOf(MongoServerError);
    expect(await db.command({ ping: 1 })).to.deep.include({ ok: 1 });
    const other = await new MongoClient(await testMongoUri()).connect();
    try {
      const found = await other
        .db(db.databaseName)
        .collection('big')
        .findOne({ _id: 'big' } as Document, { projection: { length: { $strLenCP: '$s' } } });
      expect(found).to.deep.equal({ _id: 'big', length: 6 * 1024 * 1024 });
    } finally {
      await other.close();
    }
  });

  it('a field cannot be created inside a number, null or a named field of an array: PathNotViable, nothing written', async () => {
    const c = db.collection('viable');
    await c.insertOne({ _id: 1, x: 5, n: null, list: [1, 2], items: [{ a: 1 }] } as Document);
    const refusals: { code?: number; message: string }[] = [];
    for (const update of [{ $set: { 'x.b': 1 } }, { $inc: { 'n.c': 1 } }, { $set: { 'list.b': 1 } }, { $push: { 'x.y': 1 } }]) {
      const error = (await c.updateOne({ _id: 1 } as Document, update as Document).then(
        () => null,
        (e: unknown) => e,
      )) as MongoServerError | null;
      refusals.push({ code: error?.code as number | undefined, message: error?.message ?? 'accepted' });
    }
    expect(refusals).to.deep.equal([
      { code: 28, message: "Cannot create field 'b' in element {x: 5}" },
      { code: 28, message: "Cannot create field 'c' in element {n: null}" },
      { code: 28, message: "Cannot create field 'b' in element {list: [ 1, 2 ]}" },
      { code: 28, message: "Cannot create field 'y' in element {x: 5}" },
    ]);
    await c.updateOne({ _id: 1 } as Document, { $set: { 'items.0.b': 2, 'fresh.deep': 1 } });
    expect(await c.findOne({ _id: 1 } as Document)).to.deep.equal({ _id: 1, x: 5, n: null, list: [1, 2], items: [{ a: 1, b: 2 }], fresh: { deep: 1 } });
  });

  it('a retryable write sent again with its txnNumber (its reply was lost) is answered, not applied twice', async () => {
    const c = db.collection('retried');
    await c.insertOne({ _id: 1, n: 0 } as Document);
    // Its own client: a session given back to the pool after these txnNumbers would refuse the driver's next (lower) ones.
    const own = await new MongoClient(await testMongoUri()).connect();
    const ownDb = own.db(db.databaseName);
    const session = own.startSession();
    try {
      const increment = { update: 'retried', updates: [{ q: { _id: 1 }, u: { $inc: { n: 1 } } }], txnNumber: Long.fromNumber(1_000_005) };
      const first = await ownDb.command(increment, { session });
      const again = await ownDb.command(increment, { session });
      expect({ n: again.n, nModified: again.nModified }).to.deep.equal({ n: first.n, nModified: first.nModified });
      expect(await c.findOne({ _id: 1 } as Document)).to.deep.equal({ _id: 1, n: 1 });
      const insert = { insert: 'retried', documents: [{ _id: 2 }], txnNumber: Long.fromNumber(1_000_006) };
      await ownDb.command(insert, { session });
      expect((await ownDb.command(insert, { session })).n, 'the retried insert answers as the first did, no E11000').to.equal(1);
      const older = await ownDb.command({ ...increment, txnNumber: Long.fromNumber(1_000_004) }, { session }).then(
        () => null,
        (e: unknown) => e as MongoServerError,
      );
      expect(older?.code, 'an older txnNumber is refused').to.equal(225);
      expect(await c.countDocuments()).to.equal(2);
      expect(await c.findOne({ _id: 1 } as Document)).to.deep.equal({ _id: 1, n: 1 });
    } finally {
      await session.endSession();
      await own.close();
    }
  });

  it('maxTimeMS stops a scan that outlasts it with MaxTimeMSExpired, and the next request is served', async () => {
    const c = db.collection('slow');
    await c.insertMany(Array.from({ length: 30_000 }, (_, i) => ({ _id: i, n: i })) as Document[]);
    // 30,000 documents through an expression cannot be tested within one millisecond.
    const heavy = { $expr: { $lt: [{ $multiply: ['$n', 2] }, -1] } };
    const error = await c
      .find(heavy as Document, { maxTimeMS: 1 })
      .toArray()
      .then(
        () => null,
        (e: unknown) => e as MongoServerError,
      );
    expect(error?.code, 'MaxTimeMSExpired').to.equal(50);
    const counted = await c.countDocuments(heavy as Document, { maxTimeMS: 1 }).then(
      () => null,
      (e: unknown) => e as MongoServerError,
    );
    expect(counted?.code, 'MaxTimeMSExpired for a count').to.equal(50);
    expect(await c.countDocuments(heavy as Document), 'without a limit the same scan answers').to.equal(0);
  });

  it('a collation is honoured or refused, never ignored (a case-insensitive find, a case-insensitive unique index)', async () => {
    const c = db.collection('collated');
    await c.insertMany([{ n: 'x' }, { n: 'X' }] as Document[]);
    const caseless = { locale: 'en', strength: 2 };
    const found = await c
      .find({ n: 'x' } as Document, { collation: caseless, projection: { _id: 0, n: 1 } })
      .toArray()
      .then(
        (docs) => docs.map((doc) => doc.n as string).sort(),
        (e: unknown) => (e as MongoServerError).code,
      );
    if (typeof found === 'number') expect(found, 'refused as not implemented').to.equal(238);
    else expect(found, 'both cases found').to.deep.equal(['X', 'x']);
    const u = db.collection('collated_unique');
    const index = await u.createIndex({ n: 1 }, { unique: true, collation: caseless }).then(
      () => null,
      (e: unknown) => (e as MongoServerError).code,
    );
    if (index !== null) expect(index, 'refused as not implemented').to.equal(238);
    else {
      await u.insertOne({ n: 'a' } as Document);
      const duplicate = await u.insertOne({ n: 'A' } as Document).then(
        () => null,
        (e: unknown) => (e as MongoServerError).code,
      );
      expect(duplicate, 'a and A are one key').to.equal(11000);
    }
    expect(await u.countDocuments({}), 'nothing stored through an ignored collation').to.be.at.most(1);
  });

  it('the positional projection gives the first array element the filter matched', async () => {
    const c = db.collection('positional');
    await c.insertMany([
      {
        _id: 1,
        a: [
          { b: 1, c: 1 },
          { b: 2, c: 2 },
          { b: 2, c: 3 },
        ],
        other: 'x',
      },
      { _id: 2, tags: ['red', 'green', 'blue'] },
    ] as Document[]);
    expect(await c.findOne({ 'a.b': 2 } as Document, { projection: { 'a.$': 1 } })).to.deep.equal({ _id: 1, a: [{ b: 2, c: 2 }] });
    expect(await c.findOne({ _id: 1, a: { $elemMatch: { b: 2, c: { $gt: 2 } } } } as Document, { projection: { 'a.$': 1, other: 1 } })).to.deep.equal({
      _id: 1,
      a: [{ b: 2, c: 3 }],
      other: 'x',
    });
    expect(await c.findOne({ tags: { $in: ['blue', 'green'] } } as Document, { projection: { 'tags.$': 1, _id: 0 } })).to.deep.equal({ tags: ['green'] });
  });
});
