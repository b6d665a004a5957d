import { expect } from 'chai';
import { MongoClient, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

/** Strings in MongoDB's order without a collation: by their UTF-8 bytes, a prefix first. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

describe('db conformance: strings in index keys', function () {
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('string_keys'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('an index orders and finds strings with NUL characters, Cyrillic, emoji and over a kilobyte exactly', async () => {
    const long = 'ё'.repeat(600);
    const values = ['a', 'a\u0000', 'a\u0000b', 'ab', '', 'я', 'ёж', '😀', 'ä', `${long}x`, `${long}y`, 'ё'.repeat(170), 'z\u0000\u0000'];
    const strings = db.collection<{ _id: number; s: string }>('strings');
    await strings.createIndex({ s: 1 });
    await strings.insertMany(values.map((s, i) => ({ _id: i, s })));
    const ordered = await strings
      .find({}, { projection: { _id: 0, s: 1 } })
      .sort({ s: 1 })
      .hint({ s: 1 })
      .toArray();
    expect(ordered.map((doc) => doc.s)).to.deep.equal([...values].sort(byBytes));
    for (const s of values) {
      const found = await strings.find({ s }).hint({ s: 1 }).toArray();
      expect(found.map((doc) => doc._id)).to.deep.equal([values.indexOf(s)]);
    }
    const after = await strings
      .find({ s: { $gt: 'a\u0000' } }, { projection: { _id: 0, s: 1 } })
      .sort({ s: 1 })
      .hint({ s: 1 })
      .limit(2)
      .toArray();
    expect(after.map((doc) => doc.s)).to.deep.equal(['a\u0000b', 'ab']);
  });
});
