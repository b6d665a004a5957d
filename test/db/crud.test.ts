import { expect } from 'chai';
import { Double, Int32, Long, MongoBulkWriteError, MongoClient, MongoServerError, ObjectId, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

// Loosely typed documents: these tests exercise the server, not the driver's typings.
type AnyDoc = { _id?: string | number | ObjectId; [field: string]: any };

describe('db conformance: CRUD through the official driver', function () {
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('crud'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('inserts with a generated ObjectId _id stored first, and stores copies', async () => {
    const c = db.collection<AnyDoc>('ids');
    const doc: Record<string, unknown> = { name: 'a', nested: { list: [1, 2] } };
    const { insertedId } = await c.insertOne(doc);
    expect(insertedId).to.be.instanceOf(ObjectId);
    (doc.nested as { list: number[] }).list.push(3);
    const stored = await c.findOne({ _id: insertedId });
    expect(Object.keys(stored!)[0]).to.equal('_id');
    expect(stored!.nested).to.deep.equal({ list: [1, 2] });
  });

  it('keeps the BSON types of inserted values: a whole double stays a double, a small long a long', async () => {
    const c = db.collection<AnyDoc>('types');
    await c.insertMany([
      { _id: 1, d: new Double(1), l: Long.fromNumber(5), i: new Int32(7) },
      { _id: 2, d: new Double(2.5), l: Long.fromNumber(6), i: new Int32(8) },
    ]);
    const raw = await c.find({}, { promoteValues: false, sort: { _id: 1 } }).toArray();
    expect(raw.map((doc) => [doc.d, doc.l, doc.i].map((v) => (v as { _bsontype: string })._bsontype))).to.deep.equal([
      ['Double', 'Long', 'Int32'],
      ['Double', 'Long', 'Int32'],
    ]);
    expect(await c.countDocuments({ d: { $type: 'double' }, l: { $type: 'long' } })).to.equal(2);
  });

  it('reports duplicate _id with index, ordered stops and unordered continues', async () => {
    const c = db.collection<AnyDoc>('dups');
    const ordered = await c.insertMany([{ _id: 1 }, { _id: 1 }, { _id: 2 }]).catch((e: unknown) => e);
    expect(ordered).to.be.instanceOf(MongoBulkWriteError);
    const bulk = ordered as MongoBulkWriteError;
    expect(bulk.code).to.equal(11000);
    expect(bulk.writeErrors).to.have.length(1);
    expect((bulk.writeErrors as unknown as { index: number }[])[0]!.index).to.equal(1);
    expect(await c.countDocuments()).to.equal(1);
    const unordered = (await c.insertMany([{ _id: 1 }, { _id: 3 }, { _id: 3 }, { _id: 4 }], { ordered: false }).catch((e: unknown) => e)) as MongoBulkWriteError;
    expect((unordered.writeErrors as unknown as { index: number }[]).map((e) => e.index)).to.deep.equal([0, 2]);
    expect(await c.countDocuments()).to.equal(3);
    const single = (await c.insertOne({ _id: 4 }).catch((e: unknown) => e)) as MongoServerError;
    expect(single.code).to.equal(11000);
    expect(single.message).to.match(/^E11000 duplicate key error collection: .*\.dups index: _id_ dup key: \{ _id: 4 \}/);
  });

  it('shows every acknowledged write to the next read, from any connection', async () => {
    const c = db.collection<AnyDoc>('readyourwrites');
    await c.insertMany([0, 1, 2, 3].map((w) => ({ _id: w, v: 0 })));
    let stale = 0;
    await Promise.all(
      [0, 1, 2, 3].map(async (w) => {
        for (let i = 1; i <= 50; i++) {
          await c.updateOne({ _id: w }, { $set: { v: i } });
          if ((await c.findOne({ _id: w }))!.v !== i) stale++;
        }
      }),
    );
    expect(stale).to.equal(0);
  });

  it('finds with filter, sort, projection, skip and limit', async () => {
    const c = db.collection<AnyDoc>('people');
    await c.insertMany([
      { name: 'Ann', age: 31, tags: ['x'] },
      { name: 'Bob', age: 25, tags: ['y', 'z'] },
      { name: 'Cid', age: 40 },
      { name: 'Dee', age: 25 },
    ]);
    const names = await c
      .find({ age: { $gte: 25 } }, { projection: { _id: 0, name: 1 } })
      .sort({ age: -1, name: 1 })
      .skip(1)
      .limit(2)
      .toArray();
    expect(names).to.deep.equal([{ name: 'Ann' }, { name: 'Bob' }]);
    expect(await c.countDocuments({ tags: 'z' })).to.equal(1);
    expect(await c.countDocuments({ tags: { $exists: false } })).to.equal(2);
    expect(await c.find({ $or: [{ name: 'Ann' }, { age: 40 }] }).count()).to.equal(2);
    expect(await c.find({}).hint({ _id: 1 }).limit(1).toArray()).to.have.length(1);
  });

  it('an inclusion projection of top-level fields keeps _id and the chosen fields in the document’s order, whole', async () => {
    const c = db.collection<AnyDoc>('picked');
    await c.insertMany([
      { _id: 1, b: 'B', a: { deep: [1, 2] }, c: 3 },
      { _id: 2, c: 4 },
    ]);
    const picked = await c
      .find({}, { projection: { a: 1, b: true } })
      .sort({ _id: 1 })
      .toArray();
    expect(picked).to.deep.equal([{ _id: 1, b: 'B', a: { deep: [1, 2] } }, { _id: 2 }]);
    expect(Object.keys(picked[0]!)).to.deep.equal(['_id', 'b', 'a']);
    expect(await c.find({ _id: 1 }, { projection: { c: 1, _id: 0 } }).toArray()).to.deep.equal([{ c: 3 }]);
    expect(await c.find({ _id: 1 }, { projection: { 'a.deep': 1 } }).toArray()).to.deep.equal([{ _id: 1, a: { deep: [1, 2] } }]);
  });

  it('a projection leaving out or keeping top-level fields gives every other value with its type, whatever the value’s type', async () => {
    const c = db.collection<AnyDoc>('left-out');
    const oid = new ObjectId();
    const doc: AnyDoc = {
      _id: 1,
      words: ['альфа', 'бета'],
      дата: new Date(5),
      n: new Int32(7),
      long: Long.fromString('9007199254740993'),
      whole: new Double(5),
      text: 'Ёлка',
      big: 'x'.repeat(3000),
      nested: { a: [1, { b: null }], oid },
      re: /^ab+c/i,
      flag: false,
      nothing: null,
      after: 'last',
    };
    await c.insertOne(doc);
    const read = (projection: Record<string, 0 | 1 | boolean>) => c.find({}, { projection, promoteValues: false }).hint({ _id: 1 }).toArray() as Promise<AnyDoc[]>;
    const [all] = await read({});
    const [without] = await read({ words: 0, big: 0, re: false });
    expect(Object.keys(without!)).to.deep.equal(['_id', 'дата', 'n', 'long', 'whole', 'text', 'nested', 'flag', 'nothing', 'after']);
    for (const key of Object.keys(without!)) expect(without![key], key).to.deep.equal(all![key]);
    expect(without!.long).to.be.instanceOf(Long);
    expect(without!.whole).to.be.instanceOf(Double);
    expect(await read({ _id: 0, дата: 1, after: 1, long: 1 })).to.deep.equal([{ дата: all!.дата, long: all!.long, after: 'last' }]);
    expect(await read({ _id: 0 })).to.deep.equal([{ ...all, _id: undefined }].map(({ _id, ...rest }) => rest));
    expect(await read({ _id: 1 })).to.deep.equal([{ _id: all!._id }]);
  });

  it('a projected batch keeps each document its own (the stored bytes are projected where they lie)', async () => {
    const c = db.collection<AnyDoc>('projected-batch');
    await c.insertMany(Array.from({ length: 120 }, (_, i) => ({ _id: i, title: `карточка ${i}`, words: ['x'.repeat(i)], n: i })));
    const byIndex = await c
      .find({}, { projection: { words: 0 }, batchSize: 50 })
      .sort({ _id: 1 })
      .toArray();
    expect(byIndex).to.deep.equal(Array.from({ length: 120 }, (_, i) => ({ _id: i, title: `карточка ${i}`, n: i })));
    await c.createIndex({ n: -1 });
    const kept = await c
      .find({ n: { $gte: 100 } }, { projection: { _id: 0, title: 1 } })
      .sort({ n: -1 })
      .toArray();
    expect(kept).to.deep.equal(Array.from({ length: 20 }, (_, i) => ({ title: `карточка ${119 - i}` })));
    // Names told apart by every byte: a prefix, one of the same length, the same letters in Cyrillic.
    const names = db.collection<AnyDoc>('projected-names');
    await names.insertOne({ _id: 1, ab: 1, abc: 2, a: 3, ac: 4, аb: 5, _i: 6 });
    expect(await names.findOne({}, { projection: { ab: 0, _i: 0 } })).to.deep.equal({ _id: 1, abc: 2, a: 3, ac: 4, аb: 5 });
    expect(await names.findOne({}, { projection: { аb: 1, ab: 1 } })).to.deep.equal({ _id: 1, ab: 1, аb: 5 });
  });

  it('sorts mixed types in BSON order', async () => {
    const c = db.collection<AnyDoc>('mixed');
    const oid = new ObjectId();
    const date = new Date(0);
    await c.insertMany([{ v: 'str' }, { v: 10 }, { v: null }, { v: true }, { v: oid }, { v: date }, { v: { a: 1 } }, { v: 2.5 }, {}]);
    const values = (
      await c
        .find({}, { projection: { _id: 0 } })
        .sort({ v: 1 })
        .toArray()
    ).map((d) => d.v);
    expect(values.slice(0, 2).every((v) => v === null || v === undefined)).to.equal(true);
    expect(values.slice(2)).to.deep.equal([2.5, 10, 'str', { a: 1 }, oid, true, date]);
  });

  it('iterates a cursor over 10,000 documents with getMore, and kills cursors', async () => {
    const c = db.collection<AnyDoc>('many');
    await c.insertMany(Array.from({ length: 10_050 }, (_, i) => ({ i })));
    let count = 0;
    let last = -1;
    for await (const doc of c.find({}, { batchSize: 500 }).sort({ i: 1 })) {
      expect(doc.i).to.equal(last + 1);
      last = doc.i as number;
      count++;
    }
    expect(count).to.equal(10_050);
    const cursor = c.find({}, { batchSize: 10 });
    await cursor.next();
    await cursor.close();
    const killed = await db.command({ killCursors: 'many', cursors: [Long.fromNumber(123456789)] });
    expect(killed.cursorsNotFound).to.have.length(1);
    const bad = await db.command({ getMore: Long.fromNumber(987654321), collection: 'many' }).catch((e: MongoServerError) => e);
    expect((bad as MongoServerError).code).to.equal(43);
  });

  it('updates: multi, upsert with $setOnInsert, arrayFilters, replacement and pipeline', async () => {
    const c = db.collection<AnyDoc>('updates');
    await c.insertMany([
      {
        _id: 1,
        qty: 1,
        items: [
          { k: 'a', v: 1 },
          { k: 'b', v: 2 },
        ],
      },
      { _id: 2, qty: 5, items: [] },
    ]);
    const many = await c.updateMany({ qty: { $gte: 1 } }, { $inc: { qty: 1 } });
    expect([many.matchedCount, many.modifiedCount]).to.deep.equal([2, 2]);
    const same = await c.updateOne({ _id: 1 }, { $set: { qty: 2 } });
    expect([same.matchedCount, same.modifiedCount]).to.deep.equal([1, 0]);
    const up = await c.updateOne({ sku: 'new' }, { $set: { qty: 9 }, $setOnInsert: { created: true } }, { upsert: true });
    expect(up.upsertedCount).to.equal(1);
    expect(await c.findOne({ _id: up.upsertedId! }, { projection: { _id: 0 } })).to.deep.equal({ sku: 'new', qty: 9, created: true });
    await c.updateOne({ sku: 'new' }, { $set: { qty: 10 }, $setOnInsert: { created: false } }, { upsert: true });
    expect((await c.findOne({ sku: 'new' }))!.created).to.equal(true);
    await c.updateOne({ _id: 1 }, { $set: { 'items.$[e].v': 20 } }, { arrayFilters: [{ 'e.k': 'b' }] });
    expect((await c.findOne({ _id: 1 }))!.items).to.deep.equal([
      { k: 'a', v: 1 },
      { k: 'b', v: 20 },
    ]);
    await c.updateOne({ 'items.k': 'a' }, { $set: { 'items.$.v': 10 } });
    expect((await c.findOne({ _id: 1 }))!.items[0].v).to.equal(10);
    await c.replaceOne({ _id: 2 }, { replaced: true });
    expect(await c.findOne({ _id: 2 })).to.deep.equal({ _id: 2, replaced: true });
    await c.updateOne({ _id: 1 }, [{ $set: { double: { $multiply: ['$qty', 2] } } }]);
    expect((await c.findOne({ _id: 1 }))!.double).to.equal(4);
    const immutable = (await c.updateOne({ _id: 1 }, { $set: { _id: 5 } }).catch((e: unknown) => e)) as MongoServerError;
    expect(immutable.code).to.equal(66);
  });

  it('upserts with a $or filter: the new document gets the update, and later the filter finds it', async () => {
    const c = db.collection<AnyDoc>('upsertor');
    const until = new Date('2030-01-01T00:00:00Z');
    // A lease taken when the holder matches or the previous claim expired (as jobs' locks do).
    const claim = await c.updateOne({ _id: 'lease', $or: [{ holder: 'a' }, { until: { $lt: new Date() } }] }, { $set: { holder: 'a', until } }, { upsert: true });
    expect(claim.upsertedId).to.equal('lease');
    expect(await c.findOne({ _id: 'lease' })).to.deep.equal({ _id: 'lease', holder: 'a', until });
    const renewed = await c.updateOne(
      { _id: 'lease', $or: [{ holder: 'a' }, { until: { $lt: new Date() } }] },
      { $set: { until: new Date('2031-01-01T00:00:00Z') } },
      { upsert: true },
    );
    expect([renewed.matchedCount, renewed.modifiedCount, renewed.upsertedCount]).to.deep.equal([1, 1, 0]);
    // Operators beyond a plain $set, on nested paths, in updateOne and findOneAndUpdate.
    const nested = await c.updateOne(
      { _id: 'n', $or: [{ a: 1 }, { b: 2 }] },
      { $set: { 'c.d': 3 }, $push: { list: 5 }, $max: { m: 7 }, $setOnInsert: { created: true } } as never,
      { upsert: true },
    );
    expect(nested.upsertedId).to.equal('n');
    expect(await c.findOne({ _id: 'n' })).to.deep.equal({ _id: 'n', c: { d: 3 }, list: [5], m: 7, created: true });
    const found = await c.findOneAndUpdate(
      { kind: 'x', $or: [{ v: 1 }, { v: { $exists: false } }] },
      { $inc: { hits: 1 }, $addToSet: { tags: 'a' } },
      { upsert: true, returnDocument: 'after', projection: { _id: 0 } },
    );
    expect(found).to.deep.equal({ kind: 'x', hits: 1, tags: ['a'] });
  });

  it('rejects bad operators with MongoDB errors', async () => {
    const c = db.collection<AnyDoc>('bad');
    await c.insertOne({ a: 1 });
    const query = (await c
      .find({ a: { $nope: 1 } })
      .toArray()
      .catch((e: unknown) => e)) as MongoServerError;
    expect(query).to.be.instanceOf(MongoServerError);
    expect(query.code).to.equal(2);
    const update = (await c.updateOne({}, { $nope: { a: 1 } } as never).catch((e: unknown) => e)) as MongoServerError;
    expect(update).to.be.instanceOf(MongoServerError);
    expect(update.code).to.equal(9);
    const unknown = (await db.command({ definitelyNotACommand: 1 }).catch((e: unknown) => e)) as MongoServerError;
    expect(unknown.code).to.equal(59);
    expect(unknown.codeName).to.equal('CommandNotFound');
  });

  it('deletes one or many', async () => {
    const c = db.collection<AnyDoc>('deletes');
    await c.insertMany([{ g: 1 }, { g: 1 }, { g: 1 }, { g: 2 }]);
    expect((await c.deleteOne({ g: 1 })).deletedCount).to.equal(1);
    expect((await c.deleteMany({ g: 1 })).deletedCount).to.equal(2);
    expect(await c.countDocuments()).to.equal(1);
  });

  it('findAndModify: new, upsert, sort, projection, remove', async () => {
    const c = db.collection<AnyDoc>('fam');
    await c.insertMany([
      { n: 1, s: 'a' },
      { n: 2, s: 'a' },
    ]);
    const before = await c.findOneAndUpdate({ s: 'a' }, { $inc: { n: 10 } }, { sort: { n: -1 }, projection: { _id: 0 } });
    expect(before).to.deep.equal({ n: 2, s: 'a' });
    const after = await c.findOneAndUpdate({ s: 'a' }, { $inc: { n: 10 } }, { sort: { n: 1 }, returnDocument: 'after', projection: { _id: 0, n: 1 } });
    expect(after).to.deep.equal({ n: 11 });
    const upserted = await c.findOneAndUpdate({ s: 'b' }, { $set: { n: 0 } }, { upsert: true, returnDocument: 'after', includeResultMetadata: true });
    expect(upserted.lastErrorObject?.updatedExisting).to.equal(false);
    expect(upserted.value!.s).to.equal('b');
    const removed = await c.findOneAndDelete({ s: 'b' });
    expect(removed!.n).to.equal(0);
    expect(await c.findOneAndReplace({ s: 'zzz' }, { s: 'y' })).to.equal(null);
  });

  it('counts and distinct', async () => {
    const c = db.collection<AnyDoc>('counts');
    await c.insertMany([{ k: 'x', t: [1, 2] }, { k: 'y', t: [2, 3] }, { k: 'x' }]);
    expect(await c.estimatedDocumentCount()).to.equal(3);
    expect(await c.countDocuments({ k: 'x' })).to.equal(2);
    expect(await c.countDocuments({}, { skip: 1, limit: 1 })).to.equal(1);
    expect((await c.distinct('k')).sort()).to.deep.equal(['x', 'y']);
    expect((await c.distinct('t', { k: 'y' })).sort()).to.deep.equal([2, 3]);
  });

  it('rejects documents over 16 MiB and nested deeper than 100 levels', async () => {
    const c = db.collection<AnyDoc>('limits');
    const big = (await c.insertOne({ blob: 'x'.repeat(16 * 1024 * 1024) }).catch((e: unknown) => e)) as Error;
    expect(big).to.be.instanceOf(Error);
    if (big instanceof MongoServerError) expect(big.code).to.equal(10334);
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 120; i++) deep = { d: deep };
    const nested = (await c.insertOne(deep).catch((e: unknown) => e)) as MongoServerError;
    expect(nested).to.be.instanceOf(MongoServerError);
    expect(await c.countDocuments()).to.equal(0);
    await c.insertOne({ _id: 1, s: 'x'.repeat(9 * 1024 * 1024) });
    const grown = (await c.updateOne({ _id: 1 }, { $set: { t: 'y'.repeat(9 * 1024 * 1024) } }).catch((e: unknown) => e)) as MongoServerError;
    expect(grown).to.be.instanceOf(MongoServerError);
  });
});
