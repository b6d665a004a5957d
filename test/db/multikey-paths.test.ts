import { expect } from 'chai';
import { MongoClient, type Db, type Collection } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

type AnyDoc = { _id?: number; [field: string]: any };

// An index whose path passes through an array of subdocuments ({'contacts.age': 1} on
// {contacts: [{age: 30}, {age: 50}]}) gives a document several keys: it is multikey, so finds must
// not return a document twice and ranges must not be intersected on one element.
describe('db conformance: an index through an array of subdocuments is multikey', function () {
  let client: MongoClient;
  let db: Db;
  let people: Collection<AnyDoc>;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('multikey_paths'));
    people = db.collection<AnyDoc>('people');
    await people.createIndex({ 'contacts.age': 1 });
    const docs: AnyDoc[] = [];
    for (let i = 0; i < 40; i++) {
      docs.push({ _id: i, group: i % 3, contacts: [{ age: 20 + (i % 7) }, { age: 45 + (i % 11) }, { age: 30 + (i % 5) }] });
    }
    docs.push({ _id: 100, contacts: { age: 33 } }, { _id: 101, contacts: [] }, { _id: 102 });
    await people.insertMany(docs);
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  const filters: Record<string, unknown>[] = [
    { 'contacts.age': { $gte: 30 } },
    { 'contacts.age': { $gt: 25, $lt: 40 } },
    { 'contacts.age': { $gte: 50, $lte: 21 } },
    { 'contacts.age': { $in: [21, 33, 46] } },
    { 'contacts.age': 33 },
    { contacts: { $elemMatch: { age: { $gt: 30, $lt: 34 } } } },
  ];

  async function scan(filter: Record<string, unknown>): Promise<number[]> {
    return (await people.find(filter, { hint: { $natural: 1 } }).toArray()).map((d) => d._id!).sort((a, b) => a - b);
  }

  it('reports the index as multikey in explain', async () => {
    const explain = await people.find({ 'contacts.age': { $gte: 30 } }).explain();
    const text = JSON.stringify(explain.queryPlanner.winningPlan);
    expect(text).to.include('"isMultiKey":true');
  });

  it('finds and counts each document once, as the collection scan does', async () => {
    for (const filter of filters) {
      const expected = await scan(filter);
      const viaIndex = (await people.find(filter, { hint: { 'contacts.age': 1 } }).toArray()).map((d) => d._id!);
      expect(
        [...viaIndex].sort((a, b) => a - b),
        JSON.stringify(filter),
      ).to.deep.equal(expected);
      const planned = (await people.find(filter).toArray()).map((d) => d._id!);
      expect(
        [...planned].sort((a, b) => a - b),
        JSON.stringify(filter),
      ).to.deep.equal(expected);
      expect(await people.countDocuments(filter), JSON.stringify(filter)).to.equal(expected.length);
      expect(await people.countDocuments(filter, { hint: { 'contacts.age': 1 } }), JSON.stringify(filter)).to.equal(expected.length);
    }
  });

  it('updates and deletes each matching document once; counts stay right afterwards', async () => {
    const updateFilter = { 'contacts.age': { $gte: 30 } };
    const toUpdate = await scan(updateFilter);
    const updated = await people.updateMany(updateFilter, { $inc: { touched: 1 } });
    expect(updated.matchedCount).to.equal(toUpdate.length);
    expect(updated.modifiedCount).to.equal(toUpdate.length);
    expect(await scan({ touched: 1 })).to.deep.equal(toUpdate);
    expect(await scan({ touched: { $gt: 1 } })).to.deep.equal([]);

    const deleteFilter = { 'contacts.age': { $gt: 25, $lt: 40 } };
    const toDelete = await scan(deleteFilter);
    const before = await people.countDocuments({}, { hint: { $natural: 1 } });
    const deleted = await people.deleteMany(deleteFilter);
    expect(deleted.deletedCount).to.equal(toDelete.length);
    const remaining = await scan({});
    expect(remaining.length).to.equal(before - toDelete.length);
    expect(await people.countDocuments({})).to.equal(remaining.length);
    expect(await people.estimatedDocumentCount()).to.equal(remaining.length);
    for (const filter of filters) {
      const expected = await scan(filter);
      expect(await people.countDocuments(filter), JSON.stringify(filter)).to.equal(expected.length);
      const viaIndex = (await people.find(filter, { hint: { 'contacts.age': 1 } }).toArray()).map((d) => d._id!);
      expect(
        [...viaIndex].sort((a, b) => a - b),
        JSON.stringify(filter),
      ).to.deep.equal(expected);
    }
  });
});
