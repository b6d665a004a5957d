import { expect } from 'chai';
import { Decimal128, Double, Int32, Long, MongoClient, MongoServerError, type Db, type Document } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

/**
 * Arithmetic gives MongoDB 7's result types — pipeline-style updates, aggregation expressions and
 * accumulators, and the update operators `$inc`, `$mul`, `$min`, `$max`, `$bit` (positional paths
 * and decimals included) — and refuses what MongoDB refuses with its codes and messages. A number
 * is read back with `promoteValues: false`, so its BSON type shows: int32 → `Int32`, long →
 * `Long`, double → `Double`, decimal → `Decimal128`.
 */
describe('db conformance: arithmetic keeps MongoDB’s number types', function () {
  this.timeout(60_000);
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('number_arithmetic'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  /** A value as `Type(value)`, arrays and embedded documents walked. */
  function typed(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(typed);
    const type = (value as { _bsontype?: string } | null)?._bsontype;
    if (type === 'Int32' || type === 'Double' || type === 'Long' || type === 'Decimal128') return `${type}(${String(value)})`;
    if (value !== null && typeof value === 'object' && !type && !(value instanceof Date)) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, typed(item)]));
    }
    return value;
  }

  async function stored(collection: string, id: unknown): Promise<unknown> {
    return typed(await db.collection(collection).findOne({ _id: id } as Document, { promoteValues: false }));
  }

  async function failure(write: Promise<unknown>): Promise<{ code?: number; message: string }> {
    const error = (await write.then(
      () => null,
      (e: unknown) => e,
    )) as MongoServerError | null;
    expect(error, 'the write is refused').to.be.instanceOf(MongoServerError);
    return { code: error!.code as number, message: error!.message };
  }

  const kept = () => ({ d: new Double(5), l: Long.fromNumber(7), i: new Int32(3), m: Decimal128.fromString('1.5') });

  it('a pipeline update computes with the stored types and keeps the types of what it passes along', async () => {
    const c = db.collection('pipeline');
    await c.insertOne({ _id: 1, ...kept() } as Document);
    await c.updateOne({ _id: 1 } as Document, [{ $set: { d: { $add: ['$d', 0] }, l: { $add: ['$l', 1] }, i: { $add: ['$i', 1] }, m: { $add: ['$m', 1] } } }]);
    expect(await stored('pipeline', 1)).to.deep.equal({ _id: 'Int32(1)', d: 'Double(5)', l: 'Long(8)', i: 'Int32(4)', m: 'Decimal128(2.5)' });
    await c.updateOne({ _id: 1 } as Document, [{ $replaceWith: { $mergeObjects: ['$$ROOT', { extra: 1 }] } }]);
    expect(await stored('pipeline', 1)).to.deep.equal({ _id: 'Int32(1)', d: 'Double(5)', l: 'Long(8)', i: 'Int32(4)', m: 'Decimal128(2.5)', extra: 'Int32(1)' });
    await c.updateOne({ _id: 1 } as Document, [{ $project: { d: 1, l: 1, half: { $divide: ['$i', 2] }, whole: { $divide: ['$i', 4] } } }]);
    expect(await stored('pipeline', 1)).to.deep.equal({ _id: 'Int32(1)', d: 'Double(5)', l: 'Long(8)', half: 'Double(2)', whole: 'Double(1)' });
  });

  it('aggregation expressions and accumulators give MongoDB’s result types', async () => {
    const c = db.collection('aggregate');
    await c.insertMany([
      { _id: 1, g: 'a', ...kept(), big: 2147483647 },
      { _id: 2, g: 'a', d: new Double(2), l: Long.fromNumber(1), i: new Int32(4), m: Decimal128.fromString('0.25'), big: 1 },
    ] as Document[]);
    const [first] = await c
      .aggregate(
        [
          { $match: { _id: 1 } },
          {
            $project: {
              _id: 0,
              d: 1,
              l: 1,
              intSum: { $add: ['$i', 1] },
              intOverflow: { $add: ['$big', 1] },
              withLong: { $add: ['$i', '$l'] },
              withDouble: { $add: ['$i', '$d'] },
              withDecimal: { $add: ['$i', '$m'] },
              difference: { $subtract: ['$l', '$i'] },
              product: { $multiply: ['$i', '$d'] },
              quotient: { $divide: ['$l', '$i'] },
              decimalQuotient: { $divide: ['$m', 3] },
              remainder: { $mod: ['$l', 4] },
              absolute: { $abs: { $subtract: ['$i', '$l'] } },
              type: { $type: '$d' },
              isZero: { $cond: [{ $subtract: ['$d', 5] }, 'non-zero', 'zero'] },
            },
          },
        ],
        { promoteValues: false },
      )
      .toArray();
    expect(typed(first)).to.deep.equal({
      d: 'Double(5)',
      l: 'Long(7)',
      intSum: 'Int32(4)',
      intOverflow: 'Long(2147483648)',
      withLong: 'Long(10)',
      withDouble: 'Double(8)',
      withDecimal: 'Decimal128(4.5)',
      difference: 'Long(4)',
      product: 'Double(15)',
      quotient: 'Double(2.3333333333333335)',
      decimalQuotient: 'Decimal128(0.5)',
      remainder: 'Long(3)',
      absolute: 'Long(4)',
      type: 'double',
      isZero: 'zero',
    });
    const [group] = await c
      .aggregate(
        [
          {
            $group: {
              _id: '$g',
              count: { $sum: 1 },
              ints: { $sum: '$i' },
              longs: { $sum: '$l' },
              doubles: { $sum: '$d' },
              decimals: { $sum: '$m' },
              mean: { $avg: '$i' },
              top: { $max: '$l' },
            },
          },
        ],
        { promoteValues: false },
      )
      .toArray();
    expect(typed(group)).to.deep.equal({
      _id: 'a',
      count: 'Int32(2)',
      ints: 'Int32(7)',
      longs: 'Long(8)',
      doubles: 'Double(7)',
      decimals: 'Decimal128(1.75)',
      mean: 'Double(3.5)',
      top: 'Long(7)',
    });
    const refused = await failure(c.aggregate([{ $project: { x: { $add: ['$g', 1] } } }]).toArray());
    expect(refused.code).to.equal(16554);
    expect(refused.message).to.equal('$add only supports numeric or date types, not string');
  });

  it('decimals are summed and averaged exactly, and $bucket puts a boundary value in the bucket it opens', async () => {
    const c = db.collection('decimals');
    await c.insertMany([0.1, 0.2, 0.3].map((x, i) => ({ _id: i + 1, d: Decimal128.fromString(String(x)), n: i + 1 })) as Document[]);
    const [totals] = await c
      .aggregate([{ $group: { _id: null, sum: { $sum: '$d' }, mean: { $avg: '$d' } } }, { $project: { _id: 0, sum: 1, mean: 1, twice: { $add: ['$sum', '$sum'] } } }], {
        promoteValues: false,
      })
      .toArray();
    expect(typed(totals)).to.deep.equal({ sum: 'Decimal128(0.6)', mean: 'Decimal128(0.2)', twice: 'Decimal128(1.2)' });
    const buckets = await c.aggregate([{ $bucket: { groupBy: '$n', boundaries: [0, 2, 10], output: { ids: { $push: '$_id' } } } }]).toArray();
    expect(buckets).to.deep.equal([
      { _id: 0, ids: [1] },
      { _id: 2, ids: [2, 3] },
    ]);
  });

  it('$mul, $min, $max and $bit give MongoDB’s result types', async () => {
    const c = db.collection('operators');
    await c.insertOne({ _id: 1, ...kept(), n: 6, flags: new Int32(5), mask: Long.fromNumber(12) } as Document);
    await c.updateOne({ _id: 1 } as Document, { $mul: { d: 2, l: 3, i: Long.fromNumber(2), m: 2, created: new Double(4) } });
    expect(await stored('operators', 1)).to.deep.include({ d: 'Double(10)', l: 'Long(21)', i: 'Long(6)', m: 'Decimal128(3.0)', created: 'Double(0)' });
    await c.updateOne({ _id: 1 } as Document, { $min: { d: new Int32(4), l: new Double(100) }, $max: { n: Long.fromNumber(6), i: Long.fromNumber(9), fresh: new Double(2) } });
    expect(await stored('operators', 1)).to.deep.include({ d: 'Int32(4)', l: 'Long(21)', n: 'Int32(6)', i: 'Long(9)', fresh: 'Double(2)' });
    await c.updateOne({ _id: 1 } as Document, { $bit: { flags: { or: new Int32(2) }, mask: { and: new Int32(4) }, none: { xor: Long.fromNumber(1) } } } as Document);
    expect(await stored('operators', 1)).to.deep.include({ flags: 'Int32(7)', mask: 'Long(4)', none: 'Long(1)' });

    const onDouble = await failure(c.updateOne({ _id: 1 } as Document, { $bit: { fresh: { or: 1 } } }));
    expect(onDouble).to.deep.equal({ code: 2, message: 'Cannot apply $bit to a value of non-integral type._id: 1 has the field fresh of non-integer type double' });
    const withDouble = await failure(c.updateOne({ _id: 1 } as Document, { $bit: { flags: { or: 1.5 } } }));
    expect(withDouble).to.deep.equal({ code: 2, message: "The $bit modifier field must be an Integer(32/64 bit); a 'double' is not supported here: {or: 1.5}" });
    const unknown = await failure(c.updateOne({ _id: 1 } as Document, { $bit: { flags: { not: 1 } } } as Document));
    expect(unknown.code).to.equal(2);
    expect(unknown.message).to.match(/^The \$bit modifier only supports 'and', 'or', and 'xor', not 'not'/);
  });

  it('$inc and $mul on a value that is not a number fail with TypeMismatch, and change nothing', async () => {
    const c = db.collection('mismatch');
    await c.insertOne({ _id: 'x', title: 'text', n: 1, list: ['a', 2] } as Document);
    const inc = await failure(c.updateOne({ _id: 'x' } as Document, { $inc: { n: 1, title: 1 } }));
    expect(inc).to.deep.equal({ code: 14, message: `Cannot apply $inc to a value of non-numeric type. {_id: "x"} has the field 'title' of non-numeric type string` });
    const mul = await failure(c.updateOne({ _id: 'x' } as Document, { $mul: { title: 2 } }));
    expect(mul).to.deep.equal({ code: 14, message: `Cannot apply $mul to a value of non-numeric type. {_id: "x"} has the field 'title' of non-numeric type string` });
    const positional = await failure(c.updateOne({ _id: 'x', list: 'a' } as Document, { $inc: { 'list.$': 1 } }));
    expect(positional).to.deep.equal({ code: 14, message: `Cannot apply $inc to a value of non-numeric type. {_id: "x"} has the field '0' of non-numeric type string` });
    const argument = await failure(c.updateOne({ _id: 'x' } as Document, { $mul: { n: 'two' } } as Document));
    expect(argument).to.deep.equal({ code: 14, message: 'Cannot multiply with non-numeric argument: {n: "two"}' });
    expect(await stored('mismatch', 'x')).to.deep.equal({ _id: 'x', title: 'text', n: 'Int32(1)', list: ['a', 'Int32(2)'] });
  });

  it('$inc on positional paths and on decimals adds with MongoDB’s types', async () => {
    const c = db.collection('positional');
    await c.insertOne({
      _id: 1,
      list: [new Double(1), new Int32(2), Long.fromNumber(3)],
      items: [{ n: new Double(5) }, { n: new Int32(1) }],
      m: Decimal128.fromString('1.5'),
    } as Document);
    await c.updateOne({ _id: 1, list: 2 } as Document, { $inc: { 'list.$': 1 } });
    expect((await stored('positional', 1)) as Document).to.deep.include({ list: ['Double(1)', 'Int32(3)', 'Long(3)'] });
    await c.updateOne({ _id: 1 } as Document, { $inc: { 'list.$[]': 1 } });
    expect((await stored('positional', 1)) as Document).to.deep.include({ list: ['Double(2)', 'Int32(4)', 'Long(4)'] });
    await c.updateOne({ _id: 1 } as Document, { $inc: { 'items.$[big].n': 1 } }, { arrayFilters: [{ 'big.n': { $gte: 5 } }] });
    await c.updateOne({ _id: 1 } as Document, { $inc: { m: Decimal128.fromString('0.25'), 'list.1': Decimal128.fromString('1') } });
    expect((await stored('positional', 1)) as Document).to.deep.include({
      items: [{ n: 'Double(6)' }, { n: 'Int32(1)' }],
      m: 'Decimal128(1.75)',
      list: ['Double(2)', 'Decimal128(5)', 'Long(4)'],
    });
  });

  it('an update changing only the number type of _id is refused; a replacement with an equal _id of another type is taken', async () => {
    const c = db.collection('ids');
    await c.insertOne({ _id: 1, a: 1 } as Document);
    const same = await c.updateOne({ _id: 1 } as Document, { $set: { _id: 1, a: 1 } });
    expect(same.modifiedCount, 'the same _id of the same type changes nothing').to.equal(0);
    // MongoDB refuses a $set that is not a no-op on _id: the no-op test compares the bytes (modifier_node.cpp).
    const toDouble = await failure(c.updateOne({ _id: 1 } as Document, { $set: { _id: new Double(1) } }));
    expect(toDouble).to.deep.equal({ code: 66, message: "Updating the path '_id' to _id: 1.0 would modify the immutable field '_id'" });
    const toLong = await failure(c.updateOne({ _id: 1 } as Document, { $set: { _id: Long.fromNumber(1) } }));
    expect(toLong).to.deep.equal({ code: 66, message: "Updating the path '_id' to _id: 1 would modify the immutable field '_id'" });
    const inc = await failure(c.updateOne({ _id: 1 } as Document, { $inc: { _id: 1 } }));
    expect(inc).to.deep.equal({ code: 66, message: "Performing an update on the path '_id' would modify the immutable field '_id'" });
    expect(await stored('ids', 1)).to.deep.equal({ _id: 'Int32(1)', a: 'Int32(1)' });
    // A replacement's _id is compared by value (object_replace_executor.cpp): a long 1 is taken, and stored.
    const replaced = await c.replaceOne({ _id: 1 } as Document, { _id: Long.fromNumber(1), a: 2 });
    expect(replaced.modifiedCount).to.equal(1);
    expect(await stored('ids', 1)).to.deep.equal({ _id: 'Long(1)', a: 'Int32(2)' });
    const other = await failure(c.replaceOne({ _id: 1 } as Document, { _id: 2, a: 3 }));
    expect(other).to.deep.equal({ code: 66, message: "After applying the update, the (immutable) field '_id' was found to have been altered to _id: 2" });
  });
});
