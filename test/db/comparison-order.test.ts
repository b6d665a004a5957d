import { expect } from 'chai';
import { Decimal128, Double, Long, MaxKey, MinKey, MongoClient, ObjectId, type Collection, type Db, type Document, type Filter } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

/**
 * One filter, one answer: whichever plan the server picks (a collection scan, an index range, a
 * count from keys), it returns the documents MongoDB returns, where comparing values is subtle —
 * arrays of arrays, NaN, `$elemMatch` on nested arrays, decimals beside doubles, strings above
 * U+FFFF, the field order of embedded documents and `$type` of numbers.
 */
const D = (text: string) => Decimal128.fromString(text);

describe('db conformance: comparison order, whatever the plan', function () {
  this.timeout(60_000);
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('comparison'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  /**
   * Ids a filter returns as a collection scan, by the planner, counted, and through each index
   * (hinted) on a field the filter names (or every index), and counted through the first of them (or each).
   */
  async function answers(c: Collection<Document>, filter: Filter<Document>, fields?: string[]): Promise<string[]> {
    const ids = (docs: Document[]) => docs.map((doc) => String(doc._id)).sort();
    const scan = ids(await c.find(filter).hint({ $natural: 1 }).toArray());
    expect(ids(await c.find(filter).toArray()), `planned ${JSON.stringify(filter)}`).to.deep.equal(scan);
    expect(await c.countDocuments(filter), `count ${JSON.stringify(filter)}`).to.equal(scan.length);
    let counted = false;
    for (const index of await c.indexes()) {
      if (index.name === '_id_' || (fields && !Object.keys(index.key).some((field) => fields.includes(field)))) continue;
      expect(ids(await c.find(filter).hint(index.name!).toArray()), `${index.name} ${JSON.stringify(filter)}`).to.deep.equal(scan);
      if (!fields || !counted) expect(await c.countDocuments(filter, { hint: index.name! }), `count by ${index.name} ${JSON.stringify(filter)}`).to.equal(scan.length);
      counted = true;
    }
    return scan;
  }

  async function collection(name: string, docs: Document[], ...keys: Document[]): Promise<Collection<Document>> {
    const c = db.collection(name);
    for (const key of keys) await c.createIndex(key);
    await c.insertMany(docs);
    return c;
  }

  it('arrays of arrays: $in, $all, $regex and ranges meet an element, never an element of an element', async () => {
    const c = await collection(
      'nested_arrays',
      [
        { _id: 'pair', t: [['a', 'b']] },
        { _id: 'mixed', t: ['a', ['b']] },
        { _id: 'plain', t: 'a' },
        { _id: 'single', t: [['a']] },
      ],
      { t: 1 },
    );
    expect(await answers(c, { t: { $in: ['a'] } })).to.deep.equal(['mixed', 'plain']);
    expect(await answers(c, { t: { $in: ['b'] } })).to.deep.equal([]);
    expect(await answers(c, { t: { $in: [['a', 'b']] } })).to.deep.equal(['pair']);
    expect(await answers(c, { t: ['a'] })).to.deep.equal(['single']);
    expect(await answers(c, { t: { $gte: 'a' } })).to.deep.equal(['mixed', 'plain']);
    expect(await answers(c, { t: { $gt: ['a'] } })).to.deep.equal(['mixed', 'pair', 'single']);
    expect(await answers(c, { t: { $all: ['a'] } })).to.deep.equal(['mixed', 'plain']);
    expect(await answers(c, { t: { $all: [['a']] } })).to.deep.equal(['single']);
    expect(await answers(c, { t: { $regex: '^a' } })).to.deep.equal(['mixed', 'plain']);
  });

  it('NaN: below every number, equal to NaN, outside every range of numbers', async () => {
    const c = await collection(
      'nan',
      [
        { _id: 'nan', a: NaN },
        { _id: 'decimalNaN', a: D('NaN') },
        { _id: 'minusInfinity', a: -Infinity },
        { _id: 'zero', a: 0 },
        { _id: 'five', a: 5 },
      ],
      { a: 1 },
    );
    expect(await answers(c, { a: { $lt: 5 } })).to.deep.equal(['minusInfinity', 'zero']);
    expect(await answers(c, { a: { $lte: Infinity } })).to.deep.equal(['five', 'minusInfinity', 'zero']);
    expect(await answers(c, { a: { $gte: -Infinity } })).to.deep.equal(['five', 'minusInfinity', 'zero']);
    expect(await answers(c, { a: NaN })).to.deep.equal(['decimalNaN', 'nan']);
    expect(await answers(c, { a: { $in: [NaN, 5] } })).to.deep.equal(['decimalNaN', 'five', 'nan']);
    expect(await answers(c, { a: { $gte: NaN } })).to.deep.equal(['decimalNaN', 'nan']);
    expect(await answers(c, { a: { $gt: NaN } })).to.deep.equal([]);
    expect(await answers(c, { a: { $ne: NaN } })).to.deep.equal(['five', 'minusInfinity', 'zero']);
    const ascending = await c.find({}).sort({ a: 1, _id: 1 }).toArray();
    expect(ascending.map((doc) => doc._id)).to.deep.equal(['decimalNaN', 'nan', 'minusInfinity', 'zero', 'five']);
  });

  it('$elemMatch tests the elements themselves: an element that is an array is not searched', async () => {
    const c = await collection(
      'elem_match',
      [
        { _id: 'nested', a: [[1]] },
        { _id: 'flat', a: [1] },
        { _id: 'both', a: [[1], 2] },
        { _id: 'scalar', a: 1 },
      ],
      { a: 1 },
    );
    expect(await answers(c, { a: { $elemMatch: { $gte: 1, $lt: 6 } } })).to.deep.equal(['both', 'flat']);
    expect(await answers(c, { a: { $elemMatch: { $eq: [1] } } })).to.deep.equal(['both', 'nested']);
    expect(await answers(c, { a: { $elemMatch: { $type: 'array' } } })).to.deep.equal(['both', 'nested']);
    expect(await answers(c, { a: 1 })).to.deep.equal(['flat', 'scalar']);
  });

  it('decimals compare with doubles and ints by exact value', async () => {
    const c = await collection(
      'decimals',
      [
        { _id: 'decimalTenth', a: D('0.1') },
        { _id: 'doubleTenth', a: 0.1 },
        { _id: 'decimalOne', a: D('1.0') },
        { _id: 'intOne', a: 1 },
        { _id: 'longBig', a: Long.fromString('9007199254740993') },
        { _id: 'doubleBig', a: 2 ** 53 },
        { _id: 'decimalBig', a: D('9007199254740993') },
      ],
      { a: 1 },
    );
    expect(await answers(c, { a: 0.1 })).to.deep.equal(['doubleTenth']);
    expect(await answers(c, { a: D('0.1') })).to.deep.equal(['decimalTenth']);
    expect(await answers(c, { a: 1 })).to.deep.equal(['decimalOne', 'intOne']);
    expect(await answers(c, { a: { $in: [D('1'), 0.1] } })).to.deep.equal(['decimalOne', 'doubleTenth', 'intOne']);
    expect(await answers(c, { a: { $lt: 0.1 } })).to.deep.equal(['decimalTenth']);
    expect(await answers(c, { a: { $gt: 0.1, $lte: 1 } })).to.deep.equal(['decimalOne', 'intOne']);
    expect(await answers(c, { a: { $gt: 2 ** 53 } })).to.deep.equal(['decimalBig', 'longBig']);
    expect(await answers(c, { a: Long.fromString('9007199254740993') })).to.deep.equal(['decimalBig', 'longBig']);
    const ascending = await c.find({}).sort({ a: 1, _id: 1 }).hint({ a: 1 }).toArray();
    const scanned = await c.find({}).sort({ a: 1, _id: 1 }).hint({ $natural: 1 }).toArray();
    const order = ['decimalTenth', 'doubleTenth', 'decimalOne', 'intOne', 'doubleBig', 'decimalBig', 'longBig'];
    expect(ascending.map((doc) => doc._id)).to.deep.equal(order);
    expect(scanned.map((doc) => doc._id)).to.deep.equal(order);
  });

  it('a unique index holds numbers that differ by exact value and refuses equal ones of other types', async () => {
    const c = db.collection<{ _id?: number; a: unknown }>('unique_numbers');
    await c.createIndex({ a: 1 }, { unique: true });
    for (const [i, a] of [0.1, D('0.10000000000000001'), D('0.1'), 1, Long.fromString('9007199254740993'), 2 ** 53].entries()) await c.insertOne({ _id: i, a });
    for (const duplicate of [D('0.10'), D('1.000'), new Double(1), D('9007199254740993'), Long.fromNumber(2 ** 53)]) {
      const error = await c.insertOne({ a: duplicate }).catch((e: unknown) => e);
      expect(error, String(duplicate)).to.have.property('code', 11000);
    }
    expect(await c.countDocuments()).to.equal(6);
  });

  it('strings compare by UTF-8 bytes: a character above U+FFFF after U+FFFF', async () => {
    const c = await collection(
      'strings',
      [
        { _id: 'emoji', s: '😀' },
        { _id: 'uffff', s: '\uffff' },
        { _id: 'private', s: '\ue000' },
        { _id: 'latin', s: 'a' },
      ],
      { s: 1 },
    );
    expect(await answers(c, { s: { $gt: '\uffff' } })).to.deep.equal(['emoji']);
    expect(await answers(c, { s: { $gt: 'a', $lt: '😀' } })).to.deep.equal(['private', 'uffff']);
    expect(await answers(c, { s: { $lt: '\ue000' } })).to.deep.equal(['latin']);
    for (const hint of [{ s: 1 }, { $natural: 1 }]) {
      const ascending = await c.find({}).sort({ s: 1 }).hint(hint).toArray();
      expect(ascending.map((doc) => doc._id)).to.deep.equal(['latin', 'private', 'uffff', 'emoji']);
    }
  });

  it('embedded documents compare field by field in their stored order', async () => {
    const c = await collection(
      'embedded',
      [
        { _id: 'xy', e: { x: 1, y: 2 } },
        { _id: 'yx', e: { y: 2, x: 1 } },
        { _id: 'x', e: { x: 1 } },
      ],
      { e: 1 },
    );
    expect(await answers(c, { e: { x: 1, y: 2 } })).to.deep.equal(['xy']);
    expect(await answers(c, { e: { $in: [{ y: 2, x: 1 }] } })).to.deep.equal(['yx']);
    expect(await answers(c, { e: { $ne: { x: 1, y: 2 } } })).to.deep.equal(['x', 'yx']);
    expect(await answers(c, { e: { $lt: { x: 1, y: 3 } } })).to.deep.equal(['x', 'xy']);
    expect(await answers(c, { e: { $gt: { x: 1, y: 3 } } })).to.deep.equal(['yx']);
  });

  it('$type tells int, long, double and decimal apart, and "number" takes them all', async () => {
    const c = await collection(
      'types',
      [
        { _id: 'double', n: 1.5 },
        { _id: 'int', n: 7 },
        { _id: 'wholeDouble', n: new Double(5) },
        { _id: 'smallLong', n: Long.fromNumber(5) },
        { _id: 'long', n: Long.fromString('9007199254740993') },
        { _id: 'decimal', n: D('2.5') },
        { _id: 'string', n: '7' },
        { _id: 'array', n: [1.5, 'x'] },
      ],
      { n: 1 },
    );
    expect(await answers(c, { n: { $type: 'double' } })).to.deep.equal(['array', 'double', 'wholeDouble']);
    expect(await answers(c, { n: { $type: 'int' } })).to.deep.equal(['int']);
    expect(await answers(c, { n: { $type: 'long' } })).to.deep.equal(['long', 'smallLong']);
    expect(await answers(c, { n: { $type: 'decimal' } })).to.deep.equal(['decimal']);
    expect(await answers(c, { n: { $type: 19 } })).to.deep.equal(['decimal']);
    expect(await answers(c, { n: { $type: 'number' } })).to.deep.equal(['array', 'decimal', 'double', 'int', 'long', 'smallLong', 'wholeDouble']);
    expect(await answers(c, { n: 5 })).to.deep.equal(['smallLong', 'wholeDouble']);
    expect(await answers(c, { n: { $type: ['string', 'decimal'] } })).to.deep.equal(['array', 'decimal', 'string']);
    expect(await answers(c, { n: { $type: 'array' } })).to.deep.equal(['array']);
    const error = await c
      .find({ n: { $type: 'float' } })
      .toArray()
      .catch((e: unknown) => e);
    expect(error).to.have.property('code', 2);
  });

  it('MinKey and MaxKey bound every type: $gt MinKey and $lt MaxKey take all but the bound itself, missing fields included', async () => {
    const c = await collection(
      'min_max',
      [
        { _id: 'max', a: new MaxKey() },
        { _id: 'min', a: new MinKey() },
        { _id: 'null', a: null },
        { _id: 'number', a: 4 },
        { _id: 'object', a: { b: 'hi' } },
        { _id: 'string', a: 'hello' },
        { _id: 'array', a: [1, 'x'] },
        { _id: 'missing' },
      ],
      { a: 1 },
      { a: -1, _id: 1 },
    );
    const all = ['array', 'max', 'min', 'missing', 'null', 'number', 'object', 'string'];
    const without = (...ids: string[]) => all.filter((id) => !ids.includes(id));
    expect(await answers(c, { a: { $gt: new MinKey() } })).to.deep.equal(without('min'));
    expect(await answers(c, { a: { $gte: new MinKey() } })).to.deep.equal(all);
    expect(await answers(c, { a: { $lt: new MinKey() } })).to.deep.equal([]);
    expect(await answers(c, { a: { $lte: new MinKey() } })).to.deep.equal(['min']);
    expect(await answers(c, { a: { $eq: new MinKey() } })).to.deep.equal(['min']);
    expect(await answers(c, { a: { $lt: new MaxKey() } })).to.deep.equal(without('max'));
    expect(await answers(c, { a: { $lte: new MaxKey() } })).to.deep.equal(all);
    expect(await answers(c, { a: { $gt: new MaxKey() } })).to.deep.equal([]);
    expect(await answers(c, { a: { $gte: new MaxKey() } })).to.deep.equal(['max']);
    expect(await answers(c, { a: { $gt: new MinKey(), $lt: new MaxKey() } })).to.deep.equal(without('min', 'max'));
    expect(await answers(c, { a: { $gt: new MinKey(), $lt: 'z' } })).to.deep.equal(['array', 'string']);
    expect(await answers(c, { a: { $gte: 1, $lt: new MaxKey() } })).to.deep.equal(['array', 'number']);
    expect(await answers(c, { a: { $ne: new MinKey() } })).to.deep.equal(without('min'));
  });

  /** Ids a `$expr` filter returns from find (scan and planned), count, and an aggregation's later `$match` (after a stage the planner does not take). */
  async function exprAnswers(c: Collection<Document>, expr: Document): Promise<string[]> {
    const ids = (docs: Document[]) => docs.map((doc) => String(doc._id)).sort();
    const found = ids(await c.find({ $expr: expr }).toArray());
    expect(ids(await c.find({ $expr: expr }).hint({ $natural: 1 }).toArray()), `scan ${JSON.stringify(expr)}`).to.deep.equal(found);
    expect(await c.countDocuments({ $expr: expr }), `count ${JSON.stringify(expr)}`).to.equal(found.length);
    const later = await c.aggregate([{ $addFields: { later: true } }, { $match: { $expr: expr } }]).toArray();
    expect(ids(later), `later $match ${JSON.stringify(expr)}`).to.deep.equal(found);
    return found;
  }

  it('$expr comparisons and later $sort stages order values as filters and indexes do', async () => {
    const c = await collection('expressions', [
      { _id: 'bmp', v: '\uffff' },
      { _id: 'astral', v: '😀' },
      { _id: 'letter', v: 'a' },
      { _id: 'decimal', v: D('0.1') },
      { _id: 'double', v: 0.1 },
      { _id: 'long', v: Long.fromNumber(5) },
      { _id: 'xy', v: { x: 1, y: 2 } },
      { _id: 'yx', v: { y: 2, x: 1 } },
      { _id: 'null', v: null },
      { _id: 'missing' },
      { _id: 'array', v: [3, 1] },
    ]);
    expect(await exprAnswers(c, { $gt: ['$v', '\uffff'] })).to.deep.equal(['astral', 'xy', 'yx', 'array'].sort());
    expect(await exprAnswers(c, { $lt: ['$v', 0.1] })).to.deep.equal(['decimal', 'missing', 'null'].sort());
    expect(await exprAnswers(c, { $eq: ['$v', { x: 1, y: 2 }] })).to.deep.equal(['xy']);
    expect(await exprAnswers(c, { $eq: ['$v', null] })).to.deep.equal(['null']);
    expect(await exprAnswers(c, { $gte: ['$v', 5] })).to.deep.equal(['array', 'astral', 'bmp', 'letter', 'long', 'xy', 'yx'].sort());
    expect(await exprAnswers(c, { $ne: ['$v', Long.fromNumber(5)] })).to.not.include('long');
    const [compared] = await c.aggregate([{ $match: { _id: 'astral' } }, { $project: { c: { $cmp: ['$v', '\uffff'] } } }]).toArray();
    expect(compared?.c).to.equal(1);
    const sorted = await c
      .aggregate([{ $addFields: { later: true } }, { $match: { _id: { $in: ['bmp', 'astral', 'letter', 'decimal', 'double', 'array', 'null'] } } }, { $sort: { v: 1, _id: 1 } }])
      .toArray();
    expect(sorted.map((doc) => doc._id)).to.deep.equal(['null', 'decimal', 'double', 'array', 'letter', 'bmp', 'astral']);
    const descending = await c.aggregate([{ $addFields: { later: true } }, { $match: { _id: { $in: ['array', 'long', 'double'] } } }, { $sort: { v: -1 } }]).toArray();
    expect(descending.map((doc) => doc._id)).to.deep.equal(['long', 'array', 'double']);
  });

  it('sorts an empty array below null and missing fields, in both directions', async () => {
    const c = await collection('empty_arrays', [{ _id: 1, a: null }, { _id: 2 }, { _id: 3, a: [] }, { _id: 4, a: 1 }, { _id: 0, a: [] }], { a: 1 });
    for (const hint of [{ a: 1 }, { $natural: 1 }]) {
      const ascending = await c.find({}).sort({ a: 1, _id: 1 }).hint(hint).toArray();
      expect(ascending.map((doc) => doc._id)).to.deep.equal([0, 3, 1, 2, 4]);
      const descending = await c.find({}).sort({ a: -1, _id: 1 }).hint(hint).toArray();
      expect(descending.map((doc) => doc._id)).to.deep.equal([4, 1, 2, 0, 3]);
    }
  });

  it('a few hundred random filters give the same documents as a scan, through every index and as counts', async () => {
    let seed = 20261126;
    const random = () => {
      seed ^= seed << 13;
      seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return seed / 4294967296;
    };
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const numbers = [
      NaN,
      D('NaN'),
      -Infinity,
      Infinity,
      -0,
      0,
      1,
      D('1'),
      D('1.0'),
      0.1,
      D('0.1'),
      2.5,
      D('2.5'),
      7,
      Long.fromString('9007199254740993'),
      2 ** 53,
      -1.5,
      1e300,
      D('1e400'),
    ];
    const strings = ['', 'a', 'b', 'ab', 'Ёлка', 'ёлка', '😀', '😀a', '\uffff', '\ue000', 'z'];
    const embedded = [{ x: 1, y: 2 }, { y: 2, x: 1 }, { x: 1 }, { x: D('1') }, { x: 'a' }];
    const arrays = [[['a', 'b']], ['a', ['b']], [['a']], [[1]], [1, 2], [[1], 2], [], [NaN, 5], ['😀', '\uffff'], [D('0.1'), 0.1]];
    const oids = [new ObjectId('000000000000000000000001'), new ObjectId('000000000000000000000002')];
    const scalars = [...numbers, ...strings, null, true, false, new Date(0), new Date(86_400_000), ...oids];
    const anyValue = (): unknown => {
      const r = random();
      return r < 0.6 ? pick(scalars) : r < 0.8 ? pick(arrays) : pick(embedded);
    };
    const docs: Document[] = [];
    for (let i = 0; i < 300; i++) {
      const doc: Document = { _id: i };
      if (random() < 0.9) doc.a = anyValue();
      if (random() < 0.9) doc.b = pick(['g1', 'g2', 'g3']);
      if (random() < 0.8) doc.s = random() < 0.8 ? pick(strings) : anyValue();
      if (random() < 0.8) doc.t = random() < 0.6 ? pick(arrays) : anyValue();
      if (random() < 0.7) doc.n = random() < 0.5 ? { x: anyValue() } : [{ x: anyValue() }, { x: anyValue() }];
      docs.push(doc);
    }
    const c = await collection('random', docs, { a: 1, _id: 1 }, { b: 1, a: -1 }, { s: 1 }, { t: 1 }, { 'n.x': 1 });
    const fields = ['a', 's', 't', 'n.x'];
    const clause = (): Document => {
      const field = pick(fields);
      const r = random();
      if (r < 0.2) return { [field]: anyValue() };
      if (r < 0.35) return { [field]: { $in: [anyValue(), anyValue(), pick(scalars)] } };
      if (r < 0.6) {
        const range: Document = { [pick(['$gt', '$gte'])]: pick(scalars) };
        if (random() < 0.5) range[pick(['$lt', '$lte'])] = pick(scalars);
        return { [field]: range };
      }
      if (r < 0.67) return { [field]: { $ne: anyValue() } };
      if (r < 0.72) return { [field]: { $nin: [anyValue(), anyValue()] } };
      if (r < 0.82) return { [field]: { $elemMatch: random() < 0.6 ? { $gte: pick(scalars), $lt: pick(scalars) } : { $eq: anyValue() } } };
      if (r < 0.9) return { [field]: { $type: pick(['double', 'int', 'long', 'decimal', 'number', 'string', 'array', 'object', 'null']) } };
      return { $or: [clause(), clause()] };
    };
    const named = (filter: Document): string[] => Object.entries(filter).flatMap(([key, value]) => (key === '$or' ? (value as Document[]).flatMap(named) : [key]));
    for (let q = 0; q < 200; q++) {
      const filter: Document = random() < 0.3 ? { b: pick(['g1', 'g2']), ...clause() } : clause();
      await answers(c, filter, named(filter));
      if (random() < 0.3) {
        const sort: Record<string, 1 | -1> = { [pick(['a', 's'])]: pick([1, -1] as const), _id: 1 };
        const scanned = await c.find(filter).sort(sort).hint({ $natural: 1 }).toArray();
        const planned = await c.find(filter).sort(sort).toArray();
        expect(
          planned.map((doc) => doc._id),
          `sorted ${JSON.stringify(filter)} by ${JSON.stringify(sort)}`,
        ).to.deep.equal(scanned.map((doc) => doc._id));
      }
    }
  });
});
