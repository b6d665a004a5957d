import { expect } from 'chai';
import { Decimal128, MongoClient, MongoServerError, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

const decimal = (text: string) => Decimal128.fromString(text);

// Values whose index key is not the whole value: `_id` filters that no stored record can have, and
// decimals that no double equals. MongoDB matches such values exactly and never fails the command.
describe('db conformance: long _id filters and decimals in keys', function () {
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('id_decimal_keys'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('an _id filter over 510 bytes matches nothing instead of failing', async () => {
    const c = db.collection<{ _id: string; a: number }>('long_ids');
    await c.insertOne({ _id: 'short', a: 1 });
    const long = 'y'.repeat(600);
    expect(await c.findOne({ _id: long })).to.equal(null);
    expect((await c.find({ _id: { $in: ['short', long] } }).toArray()).map((doc) => doc._id)).to.deep.equal(['short']);
    expect(await c.countDocuments({ _id: long })).to.equal(0);
    expect((await c.deleteOne({ _id: long })).deletedCount).to.equal(0);
    expect((await c.updateOne({ _id: long }, { $set: { a: 2 } })).matchedCount).to.equal(0);
  });

  it('decimal _ids that no double equals are stored and found by their exact value', async () => {
    const c = db.collection<{ _id: number | Decimal128; n: number }>('decimal_ids');
    await c.insertMany([
      { _id: 0.1, n: 1 },
      { _id: decimal('0.10000000000000001'), n: 2 },
      { _id: decimal('0.1'), n: 3 },
      { _id: decimal('2.50'), n: 4 },
    ]);
    expect((await c.findOne({ _id: decimal('0.10000000000000001') }))?.n).to.equal(2);
    expect((await c.findOne({ _id: decimal('0.1') }))?.n).to.equal(3);
    expect((await c.findOne({ _id: 0.1 }))?.n).to.equal(1);
    expect((await c.findOne({ _id: 2.5 }))?.n).to.equal(4);
    expect(await c.findOne({ _id: decimal('0.10000000000000002') })).to.equal(null);
    const again = await c.insertOne({ _id: decimal('0.10'), n: 5 }).catch((error: unknown) => error);
    expect(again).to.be.instanceOf(MongoServerError);
    expect((again as MongoServerError).code).to.equal(11000);
  });

  it('a unique index tells a decimal from the double nearest to it, and refuses equal values', async () => {
    const c = db.collection<{ _id: number; a: unknown }>('unique_decimals');
    await c.createIndex({ a: 1 }, { unique: true });
    await c.insertOne({ _id: 1, a: 0.1 });
    await c.insertOne({ _id: 2, a: decimal('0.10000000000000001') });
    await c.insertOne({ _id: 3, a: decimal('0.1') });
    await c.insertOne({ _id: 4, a: 0.5 });
    for (const [id, a] of [
      [5, decimal('0.5')],
      [6, decimal('0.100')],
      [7, 0.1],
    ] as const) {
      const refused = await c.insertOne({ _id: id, a }).catch((error: unknown) => error);
      expect(refused, String(a)).to.be.instanceOf(MongoServerError);
      expect((refused as MongoServerError).code).to.equal(11000);
    }
    expect(await c.countDocuments({})).to.equal(4);
  });
});
