import { expect } from 'chai';
import { Double, Int32, Long, MongoClient, type Collection, type Db, type Document } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

/**
 * A number keeps the BSON type it was written with — int32, long or double (5.0 stays a double,
 * a long of 5 stays a long) — through inserts, updates of every kind and transactions: `$type`
 * tells them apart, by a scan and by an index, and the driver reads them back as written.
 */
describe('db conformance: number types are kept as stored', function () {
  this.timeout(60_000);
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('number_types'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  const written = () => ({ d: new Double(5), l: Long.fromNumber(5), i: new Int32(5), big: Long.fromNumber(2 ** 40) });

  /** The BSON type of each field of the document, as `$type` answers (by a scan and through the index on the field) and as the driver decodes it. */
  async function typesOf(c: Collection<Document>, id: unknown, fields = ['d', 'l', 'i', 'big']): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const indexes = new Set((await c.indexes()).map((index) => index.name));
    for (const field of fields) {
      const found: string[] = [];
      for (const type of ['double', 'long', 'int']) {
        const filter = { _id: id, [field]: { $type: type } } as Document;
        const scan = await c.countDocuments(filter, { hint: { $natural: 1 } });
        if (indexes.has(`${field}_1`)) expect(await c.countDocuments(filter, { hint: `${field}_1` }), `${field} ${type} by index`).to.equal(scan);
        if (scan > 0) found.push(type);
      }
      expect(await c.countDocuments({ _id: id, [field]: { $type: 'number' } } as Document), `${field} is a number`).to.equal(1);
      const raw = await c.findOne({ _id: id } as Document, { promoteValues: false });
      const longs = await c.findOne({ _id: id } as Document, { promoteLongs: false });
      const decoded = (raw?.[field] as { _bsontype?: string } | undefined)?._bsontype;
      expect(decoded, `${field} as the driver decodes it`).to.equal({ double: 'Double', long: 'Long', int: 'Int32' }[found[0] ?? ''] ?? 'none');
      expect(longs?.[field] instanceof Long, `${field} with promoteLongs: false`).to.equal(found[0] === 'long');
      out[field] = found.join('|');
    }
    return out;
  }

  const asWritten = { d: 'double', l: 'long', i: 'int', big: 'long' };

  it('insertOne, insertMany, $set, replacement and upserts store each number as it was sent', async () => {
    const c = db.collection('writes');
    await c.createIndex({ d: 1 });
    await c.createIndex({ l: 1 });
    await c.insertOne({ _id: 'one', ...written() } as Document);
    expect(await typesOf(c, 'one')).to.deep.equal(asWritten);
    await c.insertMany([{ _id: 'many', ...written() }] as Document[]);
    expect(await typesOf(c, 'many')).to.deep.equal(asWritten);
    await c.insertOne({ _id: 'set', d: 5, l: 5, i: 5, big: 2 ** 40 } as Document);
    expect(await typesOf(c, 'set')).to.deep.equal({ d: 'int', l: 'int', i: 'int', big: 'double' });
    const changed = await c.updateOne({ _id: 'set' } as Document, { $set: written() });
    expect(changed.modifiedCount, 'a new type of the same value changes the document').to.equal(1);
    expect(await typesOf(c, 'set')).to.deep.equal(asWritten);
    await c.replaceOne({ _id: 'replaced' } as Document, written(), { upsert: true });
    expect(await typesOf(c, 'replaced')).to.deep.equal(asWritten);
    await c.updateOne({ _id: 'upserted' } as Document, { $set: written() }, { upsert: true });
    expect(await typesOf(c, 'upserted')).to.deep.equal(asWritten);
    await c.updateOne({ _id: 'pipeline' } as Document, [{ $set: written() }], { upsert: true });
    expect(await typesOf(c, 'pipeline')).to.deep.equal(asWritten);
    const after = await c.findOneAndUpdate({ _id: 'one' } as Document, { $set: { x: 1 } }, { returnDocument: 'after', promoteValues: false });
    expect(after?.d).to.be.instanceOf(Double);
    expect(after?.l).to.be.instanceOf(Long);
  });

  it('$inc adds as MongoDB does: a double makes a double, a long a long, int32s an int32 or a long past its range', async () => {
    const c = db.collection('increments');
    await c.insertOne({ _id: 1, d: 1.5, l: Long.fromNumber(2), i: 1, big: 2147483647 } as Document);
    await c.updateOne({ _id: 1 } as Document, { $inc: { d: new Double(1.5), l: 3, i: 4, big: 1 } });
    expect(await typesOf(c, 1)).to.deep.equal({ d: 'double', l: 'long', i: 'int', big: 'long' });
    const doc = await c.findOne({ _id: 1 } as Document);
    expect(doc).to.deep.include({ d: 3, l: 5, i: 5, big: 2147483648 });
    await c.updateOne({ _id: 1 } as Document, { $inc: { i: new Double(0) } });
    expect((await typesOf(c, 1, ['i'])).i).to.equal('double');
    await c.insertOne({ _id: 2, a: [{ n: new Double(5), m: Long.fromNumber(1) }], kept: new Double(7) } as Document);
    await c.updateOne({ _id: 2, 'a.n': 5 } as Document, { $inc: { 'a.$.n': 1 } });
    const raw = await c.findOne({ _id: 2 } as Document, { promoteValues: false });
    expect(raw?.kept, 'a field the update does not name keeps its type').to.be.instanceOf(Double);
    expect(Number((raw?.a as Document[])[0]!.n)).to.equal(6);
  });

  it('a pipeline update keeps the types of the fields it does not compute', async () => {
    const c = db.collection('pipelines');
    await c.insertOne({ _id: 1, ...written(), n: 2 } as Document);
    await c.updateOne({ _id: 1 } as Document, [{ $set: { sum: { $add: ['$n', 1] } } }]);
    expect(await typesOf(c, 1)).to.deep.equal(asWritten);
    expect((await c.findOne({ _id: 1 } as Document))?.sum).to.equal(3);
  });

  it('inside a transaction and after its commit, as written', async () => {
    const c = db.collection('transactions');
    await c.createIndex({ d: 1 });
    await c.insertOne({ _id: 'updated', d: 5, l: 5, i: 5, big: 5 } as Document);
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await c.insertOne({ _id: 'inserted', ...written() } as Document, { session });
        await c.updateOne({ _id: 'updated' } as Document, { $set: written() }, { session });
        for (const id of ['inserted', 'updated']) {
          expect(await c.countDocuments({ _id: id, d: { $type: 'double' } } as Document, { session }), `${id} double`).to.equal(1);
          expect(await c.countDocuments({ _id: id, l: { $type: 'long' } } as Document, { session }), `${id} long`).to.equal(1);
          expect(await c.countDocuments({ _id: id, i: { $type: 'int' } } as Document, { session }), `${id} int`).to.equal(1);
          expect(await c.countDocuments({ _id: id, d: { $type: 'int' } } as Document, { session }), `${id} not int`).to.equal(0);
          const raw = await c.findOne({ _id: id } as Document, { session, promoteValues: false });
          expect(raw?.d, id).to.be.instanceOf(Double);
          expect(raw?.l, id).to.be.instanceOf(Long);
        }
      });
    } finally {
      await session.endSession();
    }
    expect(await typesOf(c, 'inserted')).to.deep.equal(asWritten);
    expect(await typesOf(c, 'updated')).to.deep.equal(asWritten);
  });

  it('numbers of every type still compare by value, by a scan and by an index', async () => {
    const c = db.collection('values');
    await c.createIndex({ n: 1 });
    await c.insertMany([
      { _id: 'int', n: 5 },
      { _id: 'double', n: new Double(5) },
      { _id: 'long', n: Long.fromNumber(5) },
      { _id: 'half', n: 5.5 },
      { _id: 'six', n: Long.fromNumber(6) },
    ] as Document[]);
    for (const hint of [{ $natural: 1 }, 'n_1']) {
      const ids = async (filter: Document) => (await c.find(filter).hint(hint).toArray()).map((doc) => String(doc._id)).sort();
      expect(await ids({ n: 5 })).to.deep.equal(['double', 'int', 'long']);
      expect(await ids({ n: { $gt: 5 } })).to.deep.equal(['half', 'six']);
      expect(await ids({ n: new Double(6) })).to.deep.equal(['six']);
    }
    const sorted = await c.find({}).sort({ n: -1, _id: 1 }).toArray();
    expect(sorted.map((doc) => doc._id)).to.deep.equal(['six', 'half', 'double', 'int', 'long']);
  });
});
