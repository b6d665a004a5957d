import { expect } from 'chai';
import { MongoClient, ObjectId, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

/** The index named in an explain output, wherever the plan nests it. */
const indexNameIn = (plan: unknown): string | null => JSON.stringify(plan).match(/"indexName":"([^"]+)"/)?.[1] ?? null;

describe('db conformance: explain names the index a find uses', function () {
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('explain'));
    const folderA = 'a';
    await db.collection('cards').insertMany(Array.from({ length: 200 }, (_, i) => ({ folder: i % 2 ? folderA : 'b', trashed: false, name: `n${i}` })));
    await db.collection('cards').createIndex({ folder: 1, trashed: 1, name: 1, _id: 1 }, { name: 'folder_page' });
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('a page of one folder sorted by name uses the compound index', async () => {
    const plan = await db.collection('cards').find({ folder: 'a', trashed: false }).sort({ name: 1, _id: 1 }).limit(10).explain('queryPlanner');
    expect(indexNameIn(plan.queryPlanner)).to.equal('folder_page');
    const page = await db.collection('cards').find({ folder: 'a', trashed: false }).sort({ name: 1, _id: 1 }).limit(3).toArray();
    expect(page.map((doc) => doc.name)).to.deep.equal(['n1', 'n101', 'n103']);
  });

  it('equality on a compound prefix with $in, sorted by the next fields, uses the index and keeps the order', async () => {
    const filter = { folder: { $in: ['a', 'b'] }, trashed: false };
    const plan = await db.collection('cards').find(filter).sort({ name: -1, _id: -1 }).limit(5).explain('queryPlanner');
    expect(indexNameIn(plan.queryPlanner)).to.equal('folder_page');
    const page = await db.collection('cards').find(filter).sort({ name: -1, _id: -1 }).skip(2).limit(4).toArray();
    expect(page.map((doc) => doc.name)).to.deep.equal(['n97', 'n96', 'n95', 'n94']);
    expect(await db.collection('cards').countDocuments({ folder: 'a', trashed: false })).to.equal(100);
    expect(await db.collection('cards').countDocuments({ folder: 'a', trashed: false }, { skip: 90, limit: 50 })).to.equal(10);
    const points = await db
      .collection('cards')
      .find({ folder: 'b', trashed: false, name: { $in: ['n0', 'n2', 'n3', 'n0'] } })
      .toArray();
    expect(points.map((doc) => doc.name).sort()).to.deep.equal(['n0', 'n2']);
  });

  it('a word prefix on an array field ($elemMatch with both bounds) uses the multikey index and matches one element within both', async () => {
    const c = db.collection<{ _id: number; folder: string; words: string[] | string }>('words');
    await c.createIndex({ folder: 1, words: 1 }, { name: 'folder_words' });
    await c.insertMany([
      { _id: 1, folder: 'a', words: ['ул', 'елка'] },
      { _id: 2, folder: 'a', words: ['север', 'ул'] },
      { _id: 3, folder: 'b', words: ['северныи'] },
      { _id: 4, folder: 'a', words: 'север' },
      { _id: 5, folder: 'a', words: ['сев'] },
    ]);
    // ['ул', 'елка'] has one element above 'сев' and another below 'сев\u{10FFFF}': not a match. A scalar is no array: not a match.
    const filter = { folder: { $in: ['a', 'b'] }, words: { $elemMatch: { $gte: 'сев', $lt: 'сев\u{10FFFF}' } } };
    const plan = await c.find(filter).explain('queryPlanner');
    expect(indexNameIn(plan.queryPlanner)).to.equal('folder_words');
    expect((await c.find(filter).toArray()).map((doc) => doc._id).sort()).to.deep.equal([2, 3, 5]);
    expect(await c.countDocuments(filter)).to.equal(3);
    expect((await c.find({ words: { $elemMatch: { $gt: 'сев', $lt: 'севера' } } }).toArray()).map((doc) => doc._id)).to.deep.equal([2]);
  });

  it('pages by keyset ("after this value and id") in both directions without gaps or repeats, nulls included', async () => {
    const c = db.collection<{ _id: number; f: string; v?: number | null }>('keyset');
    await c.createIndex({ f: 1, v: 1, _id: 1 });
    await c.insertMany(Array.from({ length: 60 }, (_, i) => ({ _id: i, f: i % 3 ? 'x' : 'y', ...(i % 7 === 0 ? {} : { v: i % 11 }) })));
    const expected = (await c.find({ f: 'x' }).toArray()).map((d) => ({ id: d._id, v: d.v ?? null }));
    for (const dir of [1, -1] as const) {
      const order = [...expected].sort((a, b) => dir * ((a.v ?? -1) - (b.v ?? -1) || a.id - b.id));
      const seen: number[] = [];
      let after: { v: number | null; id: number } | null = null;
      for (;;) {
        const beyond = dir === 1 ? '$gt' : '$lt';
        let keyset: object = {};
        if (after && after.v === null)
          keyset = dir === 1 ? { $or: [{ v: null, _id: { [beyond]: after.id } }, { v: { $exists: true, $ne: null } }] } : { v: null, _id: { [beyond]: after.id } };
        else if (after) keyset = { $or: [{ v: { [beyond]: after.v } }, { v: after.v, _id: { [beyond]: after.id } }, ...(dir === -1 ? [{ v: null }] : [])] };
        const page = await c
          .find({ $and: [{ f: 'x' }, keyset] })
          .sort({ v: dir, _id: dir })
          .limit(7)
          .toArray();
        if (page.length === 0) break;
        seen.push(...page.map((d) => d._id));
        const last = page[page.length - 1]!;
        after = { v: last.v ?? null, id: last._id };
      }
      expect(seen, `direction ${dir}`).to.deep.equal(order.map((d) => d.id));
    }
  });

  it('a search by a rare key among large folders reads that key, and a folder page only its page', async () => {
    const c = db.collection('search');
    await c.createIndex({ folder: 1, trashed: 1, name: 1, _id: 1 }, { name: 'folder_page' });
    await c.createIndex({ folder: 1, trashed: 1, at: -1, _id: -1 }, { name: 'folder_recent' });
    await c.createIndex({ keys: 1 }, { name: 'search_keys' });
    await c.insertMany(
      Array.from({ length: 600 }, (_, i) => ({
        folder: `f${i % 3}`,
        trashed: false,
        name: `n${String(i).padStart(3, '0')}`,
        at: new Date(Date.UTC(2026, 0, 1, 0, i)),
        keys: [`k${i}`],
      })),
    );
    const search = { folder: { $in: ['f0', 'f1'] }, trashed: false, keys: 'k301' };
    const found = await c.find(search).explain('executionStats');
    expect(indexNameIn(found.queryPlanner)).to.equal('search_keys');
    expect(found.executionStats.nReturned).to.equal(1);
    expect(found.executionStats.totalDocsExamined).to.equal(1);
    expect((await c.find(search).sort({ name: 1, _id: 1 }).toArray()).map((d) => d.name)).to.deep.equal(['n301']);
    const page = await c.find({ folder: 'f2', trashed: false }).sort({ name: 1, _id: 1 }).limit(10).explain('executionStats');
    expect(indexNameIn(page.queryPlanner)).to.equal('folder_page');
    expect(page.executionStats.nReturned).to.equal(10);
    expect(page.executionStats.totalDocsExamined).to.equal(10);
    const recent = await c.find({ folder: 'f2', trashed: false }).sort({ at: -1, _id: -1 }).limit(3).toArray();
    expect(recent.map((d) => d.name)).to.deep.equal(['n599', 'n596', 'n593']);
  });

  it('equality on every field of a unique index is one point lookup, whatever other indexes exist', async () => {
    const marks = db.collection('marks');
    await marks.createIndex({ userId: 1, folderId: 1 });
    await marks.createIndex({ cardId: 1 });
    await marks.createIndex({ userId: 1, cardId: 1 }, { unique: true, name: 'receipt' });
    await marks.insertMany(Array.from({ length: 300 }, (_, i) => ({ userId: `u${i % 3}`, cardId: `c${i % 100}`, folderId: `f${i % 2}`, n: i })));
    const explained = await marks.find({ cardId: 'c42', userId: 'u0' }).explain('executionStats');
    expect(indexNameIn(explained.queryPlanner)).to.equal('receipt');
    expect(explained.executionStats.totalDocsExamined).to.equal(1);
    expect(await marks.find({ cardId: 'c42', userId: 'u0' }, { projection: { _id: 0 } }).toArray()).to.deep.equal([{ userId: 'u0', cardId: 'c42', folderId: 'f0', n: 42 }]);
    await marks.updateOne({ userId: 'u0', cardId: 'c42' }, { $set: { read: true } }, { upsert: true });
    await marks.updateOne({ userId: 'u9', cardId: 'c42' }, { $set: { read: true } }, { upsert: true });
    expect(await marks.countDocuments({ cardId: 'c42', read: true })).to.equal(2);
    expect(await marks.countDocuments()).to.equal(301);
  });

  it('an empty $in finds nothing and reads no key or document', async () => {
    const cards = db.collection('cards');
    const read = async (filter: object, sort?: Record<string, 1 | -1>) => {
      const explained = await cards.find(filter, sort ? { sort } : {}).explain('executionStats');
      return { keys: explained.executionStats.totalKeysExamined, docs: explained.executionStats.totalDocsExamined, returned: explained.executionStats.nReturned };
    };
    for (const filter of [{ _id: { $in: [] } }, { folder: { $in: [] } }, { folder: 'a', trashed: false, name: { $in: [] } }, { $and: [{ folder: 'a' }, { _id: { $in: [] } }] }]) {
      expect(await cards.find(filter).toArray(), JSON.stringify(filter)).to.deep.equal([]);
      expect(await cards.find(filter).sort({ name: 1, _id: 1 }).limit(5).toArray(), JSON.stringify(filter)).to.deep.equal([]);
      expect(await cards.countDocuments(filter), JSON.stringify(filter)).to.equal(0);
      expect(await read(filter), JSON.stringify(filter)).to.deep.equal({ keys: 0, docs: 0, returned: 0 });
      expect(await read(filter, { name: 1, _id: 1 }), JSON.stringify(filter)).to.deep.equal({ keys: 0, docs: 0, returned: 0 });
    }
    // Other operators beside it still answer nothing, and a field with no index finds nothing either.
    expect(await cards.find({ name: { $in: [], $exists: true } }).toArray()).to.deep.equal([]);
    expect(await cards.find({ unindexed: { $in: [] } }).toArray()).to.deep.equal([]);
    // The executionStats of a find that reads do count what it read.
    expect((await read({ folder: 'a', trashed: false })).returned).to.equal(100);
    expect((await read({ folder: 'a', trashed: false })).docs).to.be.at.least(100);
  });

  it('an empty $in inside a transaction finds none of its own writes', async () => {
    const cards = db.collection('cards');
    const session = client.startSession();
    try {
      session.startTransaction();
      await cards.insertOne({ _id: 'own' as never, folder: 'a', trashed: false, name: 'own' }, { session });
      expect(await cards.find({ _id: { $in: [] } }, { session }).toArray()).to.deep.equal([]);
      expect(await cards.find({ folder: { $in: [] } }, { session }).toArray()).to.deep.equal([]);
      expect(await cards.countDocuments({ folder: { $in: [] } }, { session })).to.equal(0);
      expect(await cards.countDocuments({ _id: { $in: ['own'] } } as never, { session })).to.equal(1);
    } finally {
      await session.abortTransaction();
      await session.endSession();
    }
  });

  it('$in of more ids than 5,000 on an array field reads the groups holding them through its index, not every group', async () => {
    // The duplicates refresh of an import's batch asks the groups holding any of thousands of
    // cards (s12 U1): a scan of every group, each member compared with each id, held the
    // database for minutes.
    const groups = db.collection('duplicate_groups');
    await groups.createIndex({ cardIds: 1 });
    const members = Array.from({ length: 3000 }, () => Array.from({ length: 4 }, () => new ObjectId()));
    await groups.insertMany(members.map((cardIds, i) => ({ typeKey: 'counterparty', cardIds, n: i })));
    const touched = [...members.slice(0, 1500).flat(), ...Array.from({ length: 500 }, () => new ObjectId())];
    expect(touched.length).to.equal(6500);
    const explained = await groups.find({ cardIds: { $in: touched } }).explain('executionStats');
    expect(indexNameIn(explained.queryPlanner)).to.equal('cardIds_1');
    expect(explained.executionStats.nReturned).to.equal(1500);
    expect(explained.executionStats.totalDocsExamined).to.equal(1500);
    const found = await groups.find({ cardIds: { $in: touched }, typeKey: 'counterparty' }, { projection: { n: 1, _id: 0 } }).toArray();
    expect(found.map((group) => group.n).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 1500 }, (_, i) => i));
  });

  it('a filter on an unindexed field is a collection scan', async () => {
    const plan = await db.collection('cards').find({ name: 'n7' }).explain('queryPlanner');
    expect(indexNameIn(plan.queryPlanner)).to.equal(null);
    expect(JSON.stringify(plan.queryPlanner)).to.contain('COLLSCAN');
  });
});
