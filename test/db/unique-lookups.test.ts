import { expect } from 'chai';
import { MongoClient, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

/** The index named in an explain output, wherever the plan nests it. */
const indexNameIn = (plan: unknown): string | null => JSON.stringify(plan).match(/"indexName":"([^"]+)"/)?.[1] ?? null;

/**
 * A card type's unique field is a partial unique index (`{ typeKey, inTrash: false, field: { $exists: true } }`).
 * An import asks for a batch of its values at once by `$in`: that query implies the partial filter
 * (no value is null), so the unique index answers it, value by value, rather than every card of the type.
 */
describe('db conformance: $in on a partial unique index', function () {
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('unique_lookups'));
    const cards = db.collection('cards');
    await cards.createIndex({ typeKey: 1, title: 1 });
    await cards.createIndex(
      { 'values.inn': 1 },
      { name: 'unique_counterparty_inn', unique: true, partialFilterExpression: { typeKey: 'counterparty', inTrash: false, 'values.inn': { $exists: true } } },
    );
    await cards.insertMany(Array.from({ length: 2000 }, (_, i) => ({ typeKey: 'counterparty', title: `c${i}`, inTrash: false, values: i % 10 === 0 ? {} : { inn: `inn${i}` } })));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('a batch of values by $in is looked up in the unique index and finds exactly the holders', async () => {
    const asked = Array.from({ length: 300 }, (_, i) => `inn${i * 7}`);
    const filter = { typeKey: 'counterparty', 'values.inn': { $in: asked }, inTrash: false };
    const plan = await db.collection('cards').find(filter).explain('queryPlanner');
    expect(indexNameIn(plan.queryPlanner)).to.equal('unique_counterparty_inn');
    const found = await db
      .collection('cards')
      .find(filter, { projection: { title: 1 } })
      .toArray();
    const expected = asked.filter((inn) => Number(inn.slice(3)) < 2000 && Number(inn.slice(3)) % 10 !== 0);
    expect(found.map((card) => card.title).sort()).to.deep.equal(expected.map((inn) => `c${inn.slice(3)}`).sort());
  });

  it('an $in holding null still finds the cards without the field (the partial index cannot answer it)', async () => {
    const filter = { typeKey: 'counterparty', 'values.inn': { $in: [null, 'inn1'] }, inTrash: false };
    const found = await db
      .collection('cards')
      .find(filter, { projection: { title: 1 } })
      .toArray();
    expect(found).to.have.length(201);
    expect(found.map((card) => card.title)).to.include.members(['c0', 'c10', 'c1990', 'c1']);
  });
});
