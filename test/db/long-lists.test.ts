import { expect } from 'chai';
import { MongoClient, ObjectId, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

// Loosely typed documents: these tests exercise the server, not the driver's typings.
type AnyDoc = { _id?: ObjectId | number; [field: string]: any };

/**
 * Filters naming many values at once (a reader's thousand folders, their read receipts) must
 * match exactly what shorter filters would: the built-in server compiles long `$in` lists and
 * long `$or`/`$nor` branch lists into lookups, and these checks hold it to MongoDB's semantics.
 */
describe('db conformance: filters with long lists of values', function () {
  let client: MongoClient;
  let db: Db;
  const folders = Array.from({ length: 40 }, () => new ObjectId());
  const at = (minute: number) => new Date(Date.UTC(2026, 10, 26, 6, minute));
  const docs: AnyDoc[] = [];

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('long-lists'));
    for (let i = 0; i < 400; i += 1) {
      docs.push({ _id: i, folderId: folders[i % folders.length], updatedAt: at(i % 60), inTrash: i % 7 === 0, tag: `t${i % 13}`, n: i % 11 });
    }
    // Values of other shapes in the same fields: arrays, an embedded document, nothing.
    docs.push({ _id: 1000, folderId: [folders[3], new ObjectId()], updatedAt: at(59), inTrash: false, tag: ['t1', 'x'], n: [50, 5] });
    docs.push({ _id: 1001, folderId: { nested: folders[4] }, updatedAt: at(59), inTrash: false, tag: null });
    docs.push({ _id: 1002, updatedAt: at(59), inTrash: false });
    await db.collection<AnyDoc>('cards').insertMany(docs);
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  const ids = async (filter: Record<string, unknown>) =>
    (
      await db
        .collection<AnyDoc>('cards')
        .find(filter, { projection: { _id: 1 } })
        .sort({ _id: 1 })
        .toArray()
    ).map((d) => d._id);
  const sameAs = (keep: (doc: AnyDoc) => boolean) => docs.filter(keep).map((d) => d._id);
  const hex = (value: unknown) => String(value);

  it('$in of many ids matches a field equal to one of them, or an array holding one', async () => {
    const some = folders.slice(0, 20);
    const wanted = new Set(some.map(hex));
    expect(await ids({ folderId: { $in: some } })).to.deep.equal(
      sameAs((d) => (Array.isArray(d.folderId) ? d.folderId.some((f: ObjectId) => wanted.has(hex(f))) : d.folderId instanceof ObjectId && wanted.has(hex(d.folderId)))),
    );
  });

  it('$in of many ids beside another condition matches an array by any element, nested arrays and documents as MongoDB does', async () => {
    const groups = db.collection<AnyDoc>('groups');
    const [a, b, c] = [new ObjectId(), new ObjectId(), new ObjectId()];
    await groups.insertMany([
      { _id: 1, kind: 'g', cardIds: [a, b] },
      { _id: 2, kind: 'g', cardIds: [c] },
      { _id: 3, kind: 'g', cardIds: [null, { id: a }, b] },
      { _id: 4, kind: 'g', cardIds: [[a], { id: b }] },
      { _id: 5, kind: 'g', cardIds: [] },
      { _id: 6, kind: 'other', cardIds: [a] },
    ]);
    const list = [a, b, ...folders.slice(0, 10)];
    const found = await groups.find({ cardIds: { $in: list }, kind: 'g' }, { projection: { _id: 1 } }).toArray();
    expect(found.map((d) => d._id).sort()).to.deep.equal([1, 3]);
  });

  it('$in of many numbers or strings matches an element of an array', async () => {
    expect(await ids({ n: { $in: [5, 6, 7, 8, 9, 10, 100, 200, 300] } })).to.deep.equal(sameAs((d) => d._id === 1000 || (typeof d.n === 'number' && d.n >= 5)));
    const tags = ['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8'];
    expect(await ids({ tag: { $in: tags }, inTrash: false })).to.deep.equal(sameAs((d) => !d.inTrash && (d._id === 1000 || tags.includes(d.tag))));
  });

  it('$or of many branches pinning the same field, plus branches pinning nothing, matches any branch', async () => {
    const watermarks = folders.slice(0, 30).map((folderId, i) => ({ folderId, updatedAt: { $gt: at(i) } }));
    const filter = { inTrash: false, $or: [...watermarks, { folderId: { $in: folders.slice(30) } }, { _id: { $in: [1001, 1002] } }] };
    const limitOf = new Map(folders.slice(0, 30).map((f, i) => [hex(f), at(i)]));
    const neverRead = new Set(folders.slice(30).map(hex));
    const matches = (d: AnyDoc) => {
      if (d.inTrash) return false;
      if (d._id === 1001 || d._id === 1002) return true;
      const inFolder = (f: unknown) => f instanceof ObjectId && ((limitOf.has(hex(f)) && d.updatedAt > limitOf.get(hex(f))!) || neverRead.has(hex(f)));
      return Array.isArray(d.folderId) ? d.folderId.some(inFolder) : inFolder(d.folderId);
    };
    expect(await ids(filter)).to.deep.equal(sameAs(matches));
  });

  it('$nor of many branches pinning _id leaves out exactly the documents a branch matches', async () => {
    const readSince = Array.from({ length: 50 }, (_, i) => ({ _id: i * 3, updatedAt: { $lte: at(30) } }));
    const excluded = (d: AnyDoc) => typeof d._id === 'number' && d._id < 150 && d._id % 3 === 0 && d.updatedAt <= at(30);
    expect(await ids({ inTrash: false, $nor: readSince })).to.deep.equal(sameAs((d) => !d.inTrash && !excluded(d)));
  });

  it('$or of thousands of branches pinning the same two values matches any branch', async () => {
    // Thousands of branches sharing two folders (a read receipt per card of a big folder): each
    // branch keeps cards of its tag in its folder; a document is tested against its folder's branches.
    const branches = Array.from({ length: 3000 }, (_, i) => ({ folderId: folders[i % 2], tag: `t${i % 13}`, n: { $gte: i % 11 } }));
    const matches = (d: AnyDoc) =>
      !Array.isArray(d.folderId) &&
      typeof d.n === 'number' &&
      branches.some((b) => d.folderId instanceof ObjectId && b.folderId!.equals(d.folderId) && d.tag === b.tag && d.n >= b.n.$gte);
    const expected = sameAs(matches);
    expect(expected.length).to.be.greaterThan(10);
    expect(await ids({ $or: branches })).to.deep.equal(expected);
  });

  it('counts and groups the same way through aggregate', async () => {
    const some = folders.slice(0, 12);
    const rows = await db
      .collection<AnyDoc>('cards')
      .aggregate<{ _id: ObjectId; count: number }>([
        { $match: { _id: { $lt: 1000 }, folderId: { $in: some }, $or: some.map((folderId) => ({ folderId, updatedAt: { $gt: at(20) } })) } },
        { $group: { _id: '$folderId', count: { $sum: 1 } } },
      ])
      .toArray();
    const expected = new Map<string, number>();
    for (const d of docs)
      if (d.folderId instanceof ObjectId && some.some((f) => f.equals(d.folderId)) && d.updatedAt > at(20)) expected.set(hex(d.folderId), (expected.get(hex(d.folderId)) ?? 0) + 1);
    expect(new Map(rows.map((r) => [hex(r._id), r.count]))).to.deep.equal(expected);
  });
});
