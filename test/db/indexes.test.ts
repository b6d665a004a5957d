import { expect } from 'chai';
import { MongoClient, type ObjectId, MongoServerError, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

// Loosely typed documents: these tests exercise the server, not the driver's typings.
type AnyDoc = { _id?: string | number | ObjectId; [field: string]: any };

describe('db conformance: catalog, indexes and text search', function () {
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('catalog'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('answers hello, ping and buildInfo as a replica-set primary of MongoDB 7', async () => {
    const hello = await db.admin().command({ hello: 1 });
    expect(hello.isWritablePrimary).to.equal(true);
    expect(hello.setName).to.be.a('string');
    expect(hello.maxWireVersion).to.be.at.least(21);
    expect(hello.logicalSessionTimeoutMinutes).to.be.a('number');
    expect((await db.admin().ping()).ok).to.equal(1);
    const info = await db.admin().buildInfo();
    expect(Number(String(info.version).split('.')[0])).to.be.at.least(7);
  });

  it('creates, lists, renames and drops collections and databases', async () => {
    await db.createCollection('alpha');
    const exists = (await db.createCollection('alpha').catch((e: unknown) => e)) as MongoServerError;
    expect(exists.code).to.equal(48);
    await db.collection<AnyDoc>('beta').insertOne({ x: 1 });
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    expect(names).to.include.members(['alpha', 'beta']);
    expect((await db.listCollections({ name: 'beta' }).toArray()).map((c) => c.name)).to.deep.equal(['beta']);
    await db.renameCollection('beta', 'gamma');
    expect(await db.collection<AnyDoc>('gamma').countDocuments()).to.equal(1);
    const missing = (await db.renameCollection('nope', 'other').catch((e: unknown) => e)) as MongoServerError;
    expect(missing.code).to.equal(26);
    expect(await db.collection<AnyDoc>('alpha').drop()).to.equal(true);
    const databases = (await db.admin().listDatabases()).databases.map((d) => d.name);
    expect(databases).to.include(db.databaseName);
    const other = client.db(uniqueDbName('dropme'));
    await other.collection<AnyDoc>('c').insertOne({});
    await other.dropDatabase();
    expect((await db.admin().listDatabases()).databases.map((d) => d.name)).not.to.include(other.databaseName);
  });

  it('creates, lists and drops indexes', async () => {
    const c = db.collection<AnyDoc>('idx');
    expect(await c.createIndex({ a: 1, b: -1 })).to.equal('a_1_b_-1');
    expect(await c.createIndex({ a: 1, b: -1 })).to.equal('a_1_b_-1');
    await c.createIndex({ email: 1 }, { unique: true, name: 'email_unique' });
    const indexes = await c.listIndexes().toArray();
    expect(indexes.map((i) => i.name)).to.deep.equal(['_id_', 'a_1_b_-1', 'email_unique']);
    expect(indexes[2]).to.include({ unique: true });
    const conflict = (await c.createIndex({ other: 1 }, { name: 'email_unique' }).catch((e: unknown) => e)) as MongoServerError;
    expect(conflict).to.be.instanceOf(MongoServerError);
    await c.dropIndex('a_1_b_-1');
    const missing = (await c.dropIndex('nope').catch((e: unknown) => e)) as MongoServerError;
    expect(missing.code).to.equal(27);
    await c.dropIndexes();
    expect((await c.listIndexes().toArray()).map((i) => i.name)).to.deep.equal(['_id_']);
  });

  it('enforces unique indexes on insert, update and upsert with E11000 details', async () => {
    const c = db.collection<AnyDoc>('uniq');
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertMany([{ email: 'a@x' }, { email: 'b@x' }]);
    const insert = (await c.insertOne({ email: 'a@x' }).catch((e: unknown) => e)) as MongoServerError;
    expect(insert.code).to.equal(11000);
    expect(insert.message).to.match(/E11000 duplicate key error collection: .*\.uniq index: email_1 dup key: \{ email: "a@x" \}/);
    expect(insert.keyPattern).to.deep.equal({ email: 1 });
    expect(insert.keyValue).to.deep.equal({ email: 'a@x' });
    const update = (await c.updateOne({ email: 'b@x' }, { $set: { email: 'a@x' } }).catch((e: unknown) => e)) as MongoServerError;
    expect(update.code).to.equal(11000);
    const upsert = (await c.updateOne({ name: 'n' }, { $set: { email: 'a@x' } }, { upsert: true }).catch((e: unknown) => e)) as MongoServerError;
    expect(upsert.code).to.equal(11000);
    expect(await c.countDocuments()).to.equal(2);
    const build = db.collection<AnyDoc>('uniqbuild');
    await build.insertMany([{ k: 1 }, { k: 1 }]);
    const failed = (await build.createIndex({ k: 1 }, { unique: true }).catch((e: unknown) => e)) as MongoServerError;
    expect(failed.code).to.equal(11000);
  });

  it('honours sparse and partial unique indexes, and compound uniqueness', async () => {
    const sparse = db.collection<AnyDoc>('sparse');
    await sparse.createIndex({ code: 1 }, { unique: true, sparse: true });
    await sparse.insertMany([{ n: 1 }, { n: 2 }, { code: 'x' }]);
    expect((await sparse.insertOne({ code: 'x' }).catch((e: MongoServerError) => e)) as MongoServerError).to.have.property('code', 11000);
    const plain = db.collection<AnyDoc>('nonsparse');
    await plain.createIndex({ code: 1 }, { unique: true });
    await plain.insertOne({ n: 1 });
    expect((await plain.insertOne({ n: 2 }).catch((e: MongoServerError) => e)) as MongoServerError).to.have.property('code', 11000);
    const partial = db.collection<AnyDoc>('partial');
    await partial.createIndex({ login: 1 }, { unique: true, partialFilterExpression: { active: true } });
    await partial.insertMany([
      { login: 'a', active: false },
      { login: 'a', active: false },
      { login: 'a', active: true },
    ]);
    expect((await partial.insertOne({ login: 'a', active: true }).catch((e: MongoServerError) => e)) as MongoServerError).to.have.property('code', 11000);
    const compound = db.collection<AnyDoc>('compound');
    await compound.createIndex({ folder: 1, name: 1 }, { unique: true });
    await compound.insertMany([
      { folder: 1, name: 'a' },
      { folder: 2, name: 'a' },
    ]);
    const dup = (await compound.insertOne({ folder: 1, name: 'a' }).catch((e: MongoServerError) => e)) as MongoServerError;
    expect(dup.keyValue).to.deep.equal({ folder: 1, name: 'a' });
  });

  it('answers equality, range and sorted queries through indexes correctly', async () => {
    const c = db.collection<AnyDoc>('ranges');
    await c.createIndex({ n: 1 });
    await c.createIndex({ tags: 1 });
    await c.insertMany(Array.from({ length: 200 }, (_, i) => ({ n: i, tags: [`t${i % 3}`, 'all'], s: String(i) })));
    await c.insertMany([{ n: 'text' }, { n: null }, {}]);
    expect(await c.countDocuments({ n: { $gte: 10, $lt: 20 } })).to.equal(10);
    expect(await c.countDocuments({ n: { $in: [1, 5, 'text', 999] } })).to.equal(3);
    expect(await c.countDocuments({ tags: 't1' })).to.equal(67);
    expect(await c.countDocuments({ n: null })).to.equal(2);
    const page = await c
      .find({}, { projection: { _id: 0, n: 1 } })
      .sort({ n: -1 })
      .limit(3)
      .toArray();
    expect(page).to.deep.equal([{ n: 'text' }, { n: 199 }, { n: 198 }]);
    const asc = await c
      .find({ n: { $gt: 195 } })
      .sort({ n: 1 })
      .toArray();
    expect(asc.map((d) => d.n)).to.deep.equal([196, 197, 198, 199]);
  });

  it('answers ranges on descending index fields exactly as a collection scan does, bounds included or not', async () => {
    const c = db.collection<AnyDoc>('descending');
    await c.createIndex({ n: -1, _id: 1 });
    await c.createIndex({ folder: 1, at: -1, _id: -1 });
    await c.createIndex({ s: -1 });
    const day = (i: number) => new Date(Date.UTC(2026, 10, 1) + i * 60_000);
    await c.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i, n: i % 2 ? i : i / 2 + 0.5, folder: i % 3, at: day(i), s: `s${String(i).padStart(3, '0')}` })));
    await c.insertMany([
      { _id: 'x', n: 'text', s: 5, at: 'late' },
      { _id: 'y', n: null, at: null },
      { _id: 'z', n: -Infinity, s: 'zzz' },
      { _id: 'w', n: Infinity, folder: 1, at: day(0) },
    ]);
    const filters: Record<string, unknown>[] = [];
    for (const [lo, hi] of [
      [3, 7],
      [100, 101],
      [-5, 0.5],
      [298, 400],
      [0.5, 0.5],
    ]) {
      filters.push(
        { n: { $gt: lo } },
        { n: { $gte: lo } },
        { n: { $lt: hi } },
        { n: { $lte: hi } },
        { n: { $gt: lo, $lt: hi } },
        { n: { $gte: lo, $lte: hi } },
        { n: { $gt: lo, $lte: hi } },
        { n: { $gte: lo, $lt: hi } },
      );
    }
    filters.push({ n: { $gte: -Infinity } }, { n: { $lte: Infinity } }, { n: { $gt: 'a' } }, { n: { $lt: 'zzz' } });
    for (const [lo, hi] of [
      [10, 20],
      [0, 0],
      [250, 299],
    ]) {
      filters.push(
        { folder: 1, at: { $gt: day(lo) } },
        { folder: 1, at: { $gte: day(lo) } },
        { folder: 1, at: { $lt: day(hi) } },
        { folder: 1, at: { $lte: day(hi) } },
        { folder: 1, at: { $gt: day(lo), $lte: day(hi) } },
        { folder: 1, at: { $gte: day(lo), $lt: day(hi) } },
      );
    }
    filters.push({ s: { $gt: 's010' } }, { s: { $gte: 's010' } }, { s: { $lt: 's005' } }, { s: { $lte: 's005' } }, { s: { $gt: 's1', $lt: 's2' } }, { s: { $gte: 's' } });
    // MongoDB's semantics: a bound matches values of its own type only (numbers, strings or dates).
    const kind = (v: unknown) => (v instanceof Date ? 'date' : typeof v);
    const value = (v: unknown) => (v instanceof Date ? v.getTime() : (v as number | string));
    const holds = (v: unknown, op: string, bound: unknown) => {
      if (kind(v) !== kind(bound)) return false;
      const [a, b] = [value(v), value(bound)];
      return op === '$gt' ? a > b : op === '$gte' ? a >= b : op === '$lt' ? a < b : a <= b;
    };
    const all = await c.find().sort({ _id: 1 }).toArray();
    const matching = (filter: Record<string, unknown>) =>
      all.filter((d) =>
        Object.entries(filter).every(([field, condition]) =>
          typeof condition === 'object' && !(condition instanceof Date)
            ? Object.entries(condition as object).every(([op, bound]) => holds(d[field], op, bound))
            : d[field] === condition,
        ),
      );
    for (const filter of filters) {
      const expected = matching(filter);
      expect(await c.find(filter).sort({ _id: 1 }).toArray(), JSON.stringify(filter)).to.deep.equal(expected);
      expect(await c.countDocuments(filter), JSON.stringify(filter)).to.equal(expected.length);
    }
    // In index order too, both directions.
    expect(
      (
        await c
          .find({ n: { $gt: 295, $lte: 299 } })
          .sort({ n: -1, _id: 1 })
          .toArray()
      ).map((d) => d._id),
    ).to.deep.equal([299, 297]);
    expect(
      (
        await c
          .find({ folder: 1, at: { $gte: day(290), $lt: day(298) } })
          .sort({ at: 1, _id: 1 })
          .toArray()
      ).map((d) => d._id),
    ).to.deep.equal([292, 295]);
  });

  it('builds indexes over many records while writes go on, and a unique clash leaves nothing behind', async () => {
    const c = db.collection<AnyDoc>('bigbuild');
    await c.insertMany(Array.from({ length: 5000 }, (_, i) => ({ _id: i, n: i, group: i % 7, tags: [`t${i % 3}`] })));
    // Writes while the build runs: they keep the new indexes up to date.
    const building = c.createIndexes([
      { key: { group: 1, n: -1 }, name: 'group_n' },
      { key: { tags: 1 }, name: 'tags' },
      { key: { n: 1 }, name: 'n_unique', unique: true },
    ]);
    const writes = (async () => {
      for (let i = 0; i < 20; i++) {
        await c.insertOne({ _id: 10_000 + i, n: 10_000 + i, group: 3, tags: ['new'] });
        await c.updateOne({ _id: i * 200 }, { $set: { group: 6, tags: ['moved'] } });
        await c.deleteOne({ _id: 4999 - i });
      }
    })();
    await Promise.all([building, writes]);
    expect((await c.listIndexes().toArray()).map((index) => index.name)).to.deep.equal(['_id_', 'group_n', 'tags', 'n_unique']);
    // The scan reads every record (not the new index), so the two answers are independent.
    const scan = await c.find({ group: 6 }).sort({ n: -1 }).hint({ $natural: 1 }).explain('executionStats');
    expect(JSON.stringify(scan.queryPlanner.winningPlan)).to.contain('COLLSCAN');
    expect(scan.executionStats.totalDocsExamined).to.equal(5000);
    const scanned = await c.find({ group: 6 }).sort({ n: -1 }).hint({ $natural: 1 }).toArray();
    expect(await c.find({ group: 6 }).sort({ n: -1 }).hint('group_n').toArray()).to.deep.equal(scanned);
    expect(await c.countDocuments({ tags: 'new' }, { hint: 'tags' })).to.equal(20);
    expect(await c.countDocuments({ tags: 'moved' }, { hint: 'tags' })).to.equal(20);
    expect(await c.countDocuments({ n: { $gte: 0 } }, { hint: 'n_unique' })).to.equal(5000);
    // A duplicate among the last records: E11000, and the collection is as it was.
    await c.updateOne({ _id: 100 }, { $set: { code: 'A-1' } });
    await c.insertOne({ _id: 'late', n: 20_000, group: 1, code: 'A-1' });
    const clash = (await c.createIndex({ code: 1 }, { unique: true, sparse: true, name: 'code' }).then(
      () => null,
      (e: unknown) => e,
    )) as MongoServerError;
    expect(clash).to.be.instanceOf(MongoServerError);
    expect(clash.code).to.equal(11000);
    expect(clash.message).to.contain('index: code dup key: { code: "A-1" }');
    expect((await c.listIndexes().toArray()).map((index) => index.name)).to.deep.equal(['_id_', 'group_n', 'tags', 'n_unique']);
    expect(await c.countDocuments({ code: 'A-1' })).to.equal(2);
  });

  it('takes a text index back in the form listIndexes reports it, as a restore gives it', async () => {
    const declared = { weights: { title: 5 }, default_language: 'russian', name: 'search' };
    const c = db.collection<AnyDoc>('textback');
    await c.createIndex({ title: 'text', body: 'text' }, declared);
    const listed = (await c.listIndexes().toArray()).find((index) => index.name === 'search')!;
    expect(listed.key).to.deep.equal({ _fts: 'text', _ftsx: 1 });
    expect(listed.weights).to.deep.equal({ title: 5, body: 1 });
    // The same index given back is no conflict and adds nothing.
    await db.command({ createIndexes: 'textback', indexes: [listed] });
    expect((await c.listIndexes().toArray()).map((index) => index.name)).to.deep.equal(['_id_', 'search']);
    // Into a new collection it builds the same index, which the application's declaration then matches.
    const copy = db.collection<AnyDoc>('textcopy');
    await copy.insertMany([
      { _id: 1, title: 'Договор поставки', body: 'Сроки' },
      { _id: 2, title: 'Письмо', body: 'О договоре' },
      { _id: 3, title: 'Счёт', body: 'Оплата' },
    ]);
    await db.command({ createIndexes: 'textcopy', indexes: [listed] });
    expect((await copy.listIndexes().toArray()).find((index) => index.name === 'search')).to.deep.equal(listed);
    await copy.createIndex({ title: 'text', body: 'text' }, declared);
    expect((await copy.listIndexes().toArray()).map((index) => index.name)).to.deep.equal(['_id_', 'search']);
    const hits = await copy
      .find({ $text: { $search: 'договор' } }, { projection: { score: { $meta: 'textScore' } } })
      .sort({ score: { $meta: 'textScore' } })
      .toArray();
    expect(hits.map((hit) => hit._id)).to.deep.equal([1, 2]);
    // A different text index is still refused.
    const other = (await copy.createIndex({ title: 'text' }, { name: 'search' }).catch((e: unknown) => e)) as MongoServerError;
    expect(other).to.be.instanceOf(MongoServerError);
    expect(other.code).to.equal(85);
  });

  it('searches text case- and diacritic-insensitively in Russian and English, with scores', async () => {
    const c = db.collection<AnyDoc>('texts');
    await c.createIndex({ title: 'text', body: 'text' }, { default_language: 'none', weights: { title: 5, body: 1 } });
    await c.insertMany([
      { _id: 1, title: 'Ёлка и ежи', body: 'Новогодняя ёлка' },
      { _id: 2, title: 'Договор поставки', body: 'Contract for supplies of elk' },
      { _id: 3, title: 'Café menu', body: 'Coffee and tea' },
      { _id: 4, title: 'Другое', body: 'Про ЕЛКУ ничего' },
    ]);
    const elka = await c.find({ $text: { $search: 'елка' } }).toArray();
    expect(elka.map((d) => d._id).sort()).to.include.members([1]);
    expect((await c.find({ $text: { $search: 'CAFE' } }).toArray()).map((d) => d._id)).to.deep.equal([3]);
    expect((await c.find({ $text: { $search: 'договор' } }).toArray()).map((d) => d._id)).to.deep.equal([2]);
    expect((await c.find({ $text: { $search: 'contract' } }).toArray()).map((d) => d._id)).to.deep.equal([2]);
    const scored = await c
      .find({ $text: { $search: 'ёлка coffee' } }, { projection: { score: { $meta: 'textScore' } } })
      .sort({ score: { $meta: 'textScore' } })
      .toArray();
    expect(scored.length).to.be.at.least(2);
    expect(scored[0]!._id).to.equal(1);
    expect(scored[0]!.score).to.be.greaterThan(scored[scored.length - 1]!.score);
    expect((await c.find({ $text: { $search: '"menu"' } }).toArray()).map((d) => d._id)).to.deep.equal([3]);
    await db.collection<AnyDoc>('plain').insertOne({ title: 'x' });
    const noIndex = (await db
      .collection<AnyDoc>('plain')
      .find({ $text: { $search: 'x' } })
      .toArray()
      .catch((e: unknown) => e)) as MongoServerError;
    expect(noIndex.code).to.equal(27);
  });
});
