import { expect } from 'chai';
import { MongoClient, MongoServerError, ObjectId, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

// Loosely typed documents: these tests exercise the server, not the driver's typings.
type AnyDoc = { _id?: string | number | ObjectId; [field: string]: any };

describe('db conformance: aggregation', function () {
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('agg'));
    await db.collection<AnyDoc>('orders').insertMany([
      { _id: 1, customer: 'a', items: ['x', 'y'], total: 10 },
      { _id: 2, customer: 'b', items: ['x'], total: 25 },
      { _id: 3, customer: 'a', items: [], total: 40 },
    ]);
    await db.collection<AnyDoc>('customers').insertMany([
      { _id: 'a', name: 'Ann' },
      { _id: 'b', name: 'Bob' },
    ]);
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  const run = (pipeline: object[]) => db.collection<AnyDoc>('orders').aggregate(pipeline).toArray();

  it('runs $match $project $addFields $set $unset $sort $skip $limit $count', async () => {
    expect(await run([{ $match: { total: { $gt: 5 } } }, { $sort: { total: -1 } }, { $skip: 1 }, { $limit: 1 }, { $project: { _id: 0, total: 1 } }])).to.deep.equal([
      { total: 25 },
    ]);
    expect(await run([{ $match: { _id: 1 } }, { $addFields: { double: { $multiply: ['$total', 2] } } }, { $set: { one: 1 } }, { $unset: ['items', 'customer'] }])).to.deep.equal([
      { _id: 1, total: 10, double: 20, one: 1 },
    ]);
    expect(await run([{ $match: { customer: 'a' } }, { $count: 'n' }])).to.deep.equal([{ n: 2 }]);
  });

  it('runs $group $unwind $sortByCount $bucket $facet $replaceRoot', async () => {
    expect(await run([{ $group: { _id: '$customer', sum: { $sum: '$total' } } }, { $sort: { _id: 1 } }])).to.deep.equal([
      { _id: 'a', sum: 50 },
      { _id: 'b', sum: 25 },
    ]);
    expect(await run([{ $unwind: '$items' }, { $sortByCount: '$items' }])).to.deep.equal([
      { _id: 'x', count: 2 },
      { _id: 'y', count: 1 },
    ]);
    const buckets = await run([{ $bucket: { groupBy: '$total', boundaries: [0, 20, 50], default: 'other' } }]);
    expect(buckets).to.deep.equal([
      { _id: 0, count: 1 },
      { _id: 20, count: 2 },
    ]);
    const [facets] = await run([{ $facet: { cheap: [{ $match: { total: { $lt: 20 } } }, { $count: 'n' }], all: [{ $count: 'n' }] } }]);
    expect(facets).to.deep.equal({ cheap: [{ n: 1 }], all: [{ n: 3 }] });
    expect(await run([{ $match: { _id: 2 } }, { $replaceRoot: { newRoot: { who: '$customer' } } }])).to.deep.equal([{ who: 'b' }]);
  });

  it('runs $lookup in both forms', async () => {
    const simple = await run([{ $match: { _id: 2 } }, { $lookup: { from: 'customers', localField: 'customer', foreignField: '_id', as: 'c' } }]);
    expect(simple[0]!.c).to.deep.equal([{ _id: 'b', name: 'Bob' }]);
    const piped = await run([
      { $match: { _id: 1 } },
      { $lookup: { from: 'customers', let: { id: '$customer' }, pipeline: [{ $match: { $expr: { $eq: ['$_id', '$$id'] } } }, { $project: { _id: 0, name: 1 } }], as: 'c' } },
    ]);
    expect(piped[0]!.c).to.deep.equal([{ name: 'Ann' }]);
  });

  it('converts ObjectIds to strings and back ($toString, $toObjectId, $convert), in pipelines and in $expr', async () => {
    const refs = db.collection<AnyDoc>('refs');
    const id = new ObjectId();
    await refs.insertOne({ _id: id, at: new Date(0) });
    const [converted] = await refs
      .aggregate([
        {
          $project: {
            _id: 0,
            hex: { $toString: '$_id' },
            converted: { $convert: { input: '$_id', to: 'string' } },
            back: { $toObjectId: { $toString: '$_id' } },
            date: { $toString: '$at' },
            bad: { $convert: { input: 'not an id', to: 'objectId', onError: 'refused' } },
            none: { $convert: { input: '$missing', to: 'objectId', onNull: 'nothing' } },
          },
        },
      ])
      .toArray();
    expect(converted).to.deep.equal({ hex: id.toHexString(), converted: id.toHexString(), back: id, date: '1970-01-01T00:00:00.000Z', bad: 'refused', none: 'nothing' });
    expect(await refs.countDocuments({ $expr: { $eq: ['$_id', { $toObjectId: id.toHexString() }] } })).to.equal(1);
    const failed = (await refs
      .aggregate([{ $project: { v: { $toObjectId: 'abc' } } }])
      .toArray()
      .catch((e: unknown) => e)) as MongoServerError;
    expect(failed).to.be.instanceOf(MongoServerError);
    expect(failed.code).to.equal(241);
  });

  it('returns large results through getMore and reports bad stages', async () => {
    const big = db.collection<AnyDoc>('big');
    await big.insertMany(Array.from({ length: 1500 }, (_, i) => ({ i })));
    expect(await big.aggregate([{ $match: { i: { $gte: 100 } } }], { batchSize: 100 }).toArray()).to.have.length(1400);
    const error = await run([{ $nope: {} }]).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Error);
  });
});
