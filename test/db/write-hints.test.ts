import { expect } from 'chai';
import { MongoBulkWriteError, MongoClient, MongoServerError, type Collection, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

interface Item {
  _id: number;
  n: number;
  code?: string;
  seen?: boolean;
  picked?: boolean;
}

const ITEMS = 20;

/** Items 0–19; the even ones have a code, and only they are in the sparse index `code_sparse`. */
const items = (): Item[] => Array.from({ length: ITEMS }, (_, i) => ({ _id: i, n: i, ...(i % 2 === 0 ? { code: `c${i}` } : {}) }));
const withCode = (docs: { _id: number }[]) => docs.map((doc) => doc._id).filter((id) => id % 2 === 0);

async function failureOf(work: () => Promise<unknown>): Promise<MongoServerError> {
  const error = await work().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, 'the command should fail').to.be.instanceOf(MongoServerError);
  return error as MongoServerError;
}

function expectUnknownHint(error: MongoServerError): void {
  expect(error.code).to.equal(2);
  expect(error.codeName ?? 'BadValue').to.equal('BadValue');
  expect(error.message).to.contain('hint provided does not correspond to an existing index');
}

/**
 * `hint` on distinct, update, delete and findAndModify, as MongoDB 7 answers them (distinct's hint
 * since 7.1): the hinted index finds the documents — a sparse one holds only the documents having
 * the field, so a hinted write touches only those, as a hinted find reads only those — and an index
 * that does not exist fails the statement with BadValue (2), changing nothing.
 */
describe('db conformance: hint on distinct, update, delete and findAndModify', function () {
  let client: MongoClient;
  let db: Db;
  let c: Collection<Item>;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('write_hints'));
    c = db.collection<Item>('items');
  });
  beforeEach(async () => {
    await c.drop().catch(() => undefined);
    await c.insertMany(items());
    await c.createIndex({ code: 1 }, { name: 'code_sparse', sparse: true });
    await c.createIndex({ n: 1 }, { name: 'n' });
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('updates find their documents by the hinted index: a sparse one updates only the documents it holds', async () => {
    const many = await c.updateMany({}, { $set: { seen: true } }, { hint: 'code_sparse' });
    expect(many.matchedCount).to.equal(ITEMS / 2);
    expect(withCode(await c.find({ seen: true }).toArray())).to.have.length(ITEMS / 2);
    expect(await c.countDocuments({ seen: true, code: { $exists: false } })).to.equal(0);
    // By key pattern, and in natural order: every document is found.
    expect((await c.updateMany({ n: { $gte: 0 } }, { $set: { seen: false } }, { hint: { n: 1 } })).matchedCount).to.equal(ITEMS);
    expect((await c.updateMany({}, { $set: { seen: true } }, { hint: { $natural: 1 } })).matchedCount).to.equal(ITEMS);
    const one = await c.updateOne({ n: { $gte: 5 } }, { $set: { picked: true } }, { hint: 'code_sparse' });
    expect(one.modifiedCount).to.equal(1);
    expect((await c.findOne({ picked: true }))!.code).to.be.a('string');
    const replaced = await c.replaceOne({ n: 7 }, { n: 70 }, { hint: 'n' });
    expect(replaced.modifiedCount).to.equal(1);
    expect(await c.findOne({ _id: 7 })).to.deep.equal({ _id: 7, n: 70 });
  });

  it('deletes find their documents by the hinted index: a sparse one deletes only the documents it holds', async () => {
    const one = await c.deleteOne({ n: { $lt: 4 } }, { hint: 'code_sparse' });
    expect(one.deletedCount).to.equal(1);
    expect(await c.countDocuments({ n: { $lt: 4 } })).to.equal(3);
    expect(await c.countDocuments({ _id: 1 })).to.equal(1);
    const many = await c.deleteMany({}, { hint: 'code_sparse' });
    expect(many.deletedCount).to.equal(ITEMS / 2 - 1);
    expect((await c.find({}).toArray()).every((doc) => doc.code === undefined)).to.equal(true);
    expect((await c.deleteMany({ n: { $gte: 15 } }, { hint: { n: 1 } })).deletedCount).to.equal(3);
    expect(await c.countDocuments({})).to.equal(ITEMS / 2 - 3);
  });

  it('findAndModify finds its document by the hinted index (key pattern; the driver types no name), in the asked order', async () => {
    const updated = await c.findOneAndUpdate({}, { $set: { seen: true } }, { hint: { code: 1 }, sort: { n: -1 }, returnDocument: 'after' });
    expect(updated).to.deep.equal({ _id: 18, n: 18, code: 'c18', seen: true });
    const replaced = await c.findOneAndReplace({ n: { $gt: 2 } }, { n: 300 }, { hint: { code: 1 }, sort: { n: 1 } });
    expect(replaced).to.deep.equal({ _id: 4, n: 4, code: 'c4' });
    expect(await c.findOne({ _id: 4 })).to.deep.equal({ _id: 4, n: 300 });
    const removed = await c.findOneAndDelete({ n: { $lt: 10 } }, { hint: { code: 1 }, sort: { n: -1 } });
    expect(removed).to.deep.equal({ _id: 8, n: 8, code: 'c8' });
    expect(await c.findOneAndDelete({ n: 9 }, { hint: { n: 1 } })).to.deep.equal({ _id: 9, n: 9 });
    expect(await c.countDocuments({})).to.equal(ITEMS - 2);
  });

  it('distinct reads the hinted index (MongoDB 7.1+): a sparse one gives only the values of the documents it holds', async () => {
    // MongoDB does not promise an order of the values.
    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    const hinted = await c.distinct('n', {}, { hint: 'code_sparse' });
    expect(sorted(hinted)).to.deep.equal(
      items()
        .filter((item) => item.code !== undefined)
        .map((item) => item.n),
    );
    expect(sorted(await c.distinct('n', { n: { $lt: 3 } }, { hint: { n: 1 } }))).to.deep.equal([0, 1, 2]);
    expect(sorted(await c.distinct('n', { n: { $lt: 3 } }, { hint: { $natural: 1 } }))).to.deep.equal([0, 1, 2]);
  });

  it('a hint naming no index fails each of them with BadValue and changes nothing', async () => {
    const attempts: (() => Promise<unknown>)[] = [
      () => c.updateOne({ n: 1 }, { $set: { seen: true } }, { hint: 'no_such_index' }),
      () => c.updateMany({}, { $set: { seen: true } }, { hint: { seen: 1 } }),
      () => c.updateOne({ n: 100 }, { $set: { seen: true } }, { hint: 'no_such_index', upsert: true }),
      () => c.replaceOne({ n: 1 }, { n: 1, seen: true }, { hint: { n: -1 } }),
      () => c.deleteOne({ n: 1 }, { hint: 'no_such_index' }),
      () => c.deleteMany({}, { hint: { code: -1 } }),
      () => c.findOneAndUpdate({ n: 1 }, { $set: { seen: true } }, { hint: { seen: 1 } }),
      () => c.findOneAndReplace({ n: 1 }, { n: 1, seen: true }, { hint: { nope: 1 } }),
      () => c.findOneAndDelete({ n: 1 }, { hint: { n: 1, code: 1 } }),
      () => db.command({ findAndModify: 'items', query: { n: 1 }, remove: true, hint: 'no_such_index' }),
      () => c.distinct('n', {}, { hint: 'no_such_index' }),
    ];
    for (const attempt of attempts) expectUnknownHint(await failureOf(attempt));
    expect(await c.find({}).sort({ _id: 1 }).toArray()).to.deep.equal(items());
  });

  it('in an ordered bulk write the statement with an unknown hint stops the batch; the ones before it stay', async () => {
    const error = (await c
      .bulkWrite([
        { updateOne: { filter: { n: 1 }, update: { $set: { seen: true } } } },
        { updateOne: { filter: { n: 2 }, update: { $set: { seen: true } }, hint: 'no_such_index' } },
        { deleteOne: { filter: { n: 3 } } },
      ])
      .then(
        () => null,
        (e: unknown) => e,
      )) as MongoBulkWriteError;
    expect(error).to.be.instanceOf(MongoBulkWriteError);
    const failures = [error.writeErrors].flat();
    expect(failures).to.have.length(1);
    const [failed] = failures;
    expect(failed!.index).to.equal(1);
    expect(failed!.code).to.equal(2);
    expect(failed!.errmsg).to.contain('hint provided does not correspond to an existing index');
    expect((await c.find({ seen: true }).toArray()).map((doc) => doc._id)).to.deep.equal([1]);
    expect(await c.countDocuments({})).to.equal(ITEMS);
    // Unordered, the statements after it run.
    const unordered = await c.bulkWrite([{ deleteOne: { filter: { n: 4 }, hint: 'no_such_index' } }, { deleteOne: { filter: { n: 5 }, hint: 'n' } }], { ordered: false }).then(
      () => null,
      (e: unknown) => e as MongoBulkWriteError,
    );
    expect(unordered).to.be.instanceOf(MongoBulkWriteError);
    expect(unordered!.result.deletedCount).to.equal(1);
    expect(await c.countDocuments({ n: { $in: [4, 5] } })).to.equal(1);
  });
});
