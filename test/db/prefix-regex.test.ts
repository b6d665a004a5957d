import { expect } from 'chai';
import { MongoClient, ObjectId, type Collection, type Db, type Document } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

interface Doc {
  _id: ObjectId;
  folderId: number;
  words?: string[] | string;
  name?: string;
}

/** The largest `totalDocsExamined` anywhere in an explain output (top level or under `$cursor`). */
const docsExamined = (explained: Document) => Math.max(0, ...[...JSON.stringify(explained).matchAll(/"totalDocsExamined":(\d+)/g)].map((m) => Number(m[1])));
const keysExamined = (explained: Document) => Math.max(0, ...[...JSON.stringify(explained).matchAll(/"totalKeysExamined":(\d+)/g)].map((m) => Number(m[1])));

/**
 * An anchored literal regex (`/^abc/`) reads one key range of an index, as in MongoDB: strings
 * beginning with it. On a multikey index (an array of words) a document matches when one of its
 * strings does, so the index answers the filter alone: counts read no document, and a document
 * with several such words is counted and returned once.
 */
describe('db conformance: prefix regexes over indexes', function () {
  let client: MongoClient;
  let db: Db;
  let docs: Collection<Doc>;
  const all: Doc[] = [
    ...Array.from({ length: 300 }, (_, i) => ({ _id: new ObjectId(), folderId: i % 3, words: ['ооо', `вектор`, String(i), `${i}0`], name: `n${i}` })),
    // A scalar string where the others hold arrays; strings with regex characters; a word over the 1 KB a key keeps.
    { _id: new ObjectId(), folderId: 0, words: '12 скаляр', name: 'a.b' },
    { _id: new ObjectId(), folderId: 1, words: ['a.b', 'a+b', 'axb'], name: 'axb' },
    { _id: new ObjectId(), folderId: 2, words: [`${'я'.repeat(600)}хвост`, 'длинное'], name: 'a+b' },
  ];
  const matching = (folders: number[], test: (word: string) => boolean) =>
    all
      .filter((doc) => folders.includes(doc.folderId) && (Array.isArray(doc.words) ? doc.words : [doc.words ?? '']).some(test))
      .map((doc) => String(doc._id))
      .sort();
  const ids = (rows: Doc[]) => rows.map((doc) => String(doc._id)).sort();

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('prefix_regex'));
    docs = db.collection<Doc>('docs');
    await docs.createIndex({ words: 1 }, { name: 'words' });
    await docs.createIndex({ folderId: 1, words: 1 }, { name: 'folder_words' });
    await docs.createIndex({ name: -1 }, { name: 'name_down' });
    await docs.insertMany(all);
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('finds and counts the documents having a word that begins with the prefix, once each, counting from the keys alone', async () => {
    // «12» and «120» of one document, «120» … «129» with «1200» … «1290», and the scalar «12 скаляр».
    const expected = matching([0, 1, 2], (word) => word.startsWith('12'));
    expect(expected).to.have.length(12);
    expect(ids(await docs.find({ words: /^12/ }).toArray())).to.deep.equal(expected);
    expect(ids(await docs.find({ words: /^12/ }, { hint: { $natural: 1 } }).toArray())).to.deep.equal(expected);
    expect(await docs.countDocuments({ words: /^12/ })).to.equal(expected.length);
    const counted = await docs.aggregate([{ $match: { words: /^12/ } }, { $group: { _id: 1, n: { $sum: 1 } } }]).explain('executionStats');
    expect(docsExamined(counted)).to.equal(0);
    // A count capped below the total stops there.
    expect(await docs.countDocuments({ words: /^12/ }, { limit: 5 })).to.equal(5);
    // Within folders: one range per folder, the same answer.
    const inFolders = { folderId: { $in: [0, 2] }, words: /^12/ };
    expect(await docs.countDocuments(inFolders, { hint: 'folder_words' })).to.equal(matching([0, 2], (word) => word.startsWith('12')).length);
    expect(ids(await docs.find(inFolders, { hint: 'folder_words' }).toArray())).to.deep.equal(matching([0, 2], (word) => word.startsWith('12')));
    const explained = await docs.find({ words: /^29/ }).explain('executionStats');
    expect(explained.executionStats.nReturned).to.equal(matching([0, 1, 2], (word) => word.startsWith('29')).length);
    expect(keysExamined(explained)).to.be.below(50);
  });

  it('reads the range of the first of several prefixes of one field and checks the others on the documents', async () => {
    const filter = { $and: [{ words: /^29/ }, { words: /^вект/ }, { words: /^ооо/ }] };
    const expected = matching([0, 1, 2], (word) => word.startsWith('29'));
    expect(ids(await docs.find(filter, { hint: 'words' }).toArray())).to.deep.equal(expected);
    const explained = await docs.find(filter, { hint: 'words' }).explain('executionStats');
    expect(docsExamined(explained)).to.equal(expected.length);
    expect(await docs.countDocuments({ $and: [{ words: /^29/ }, { words: /^нет/ }] }, { hint: 'words' })).to.equal(0);
  });

  it('keeps regex characters literal, leaves other regexes to the documents, and finds long words and descending keys', async () => {
    expect((await docs.find({ words: /^a\.b/ }).toArray()).map((doc) => doc.name)).to.deep.equal(['axb']);
    expect((await docs.find({ words: /^a.b/ }).toArray()).map((doc) => doc.name)).to.deep.equal(['axb']);
    expect((await docs.find({ words: /^A\.B/i }).toArray()).map((doc) => doc.name)).to.deep.equal(['axb']);
    expect(await docs.countDocuments({ words: /^a\+/ })).to.equal(1);
    // A scalar value matches as itself; a word longer than a key is found by its beginning, not by what the key cut off.
    expect((await docs.find({ words: /^12 ск/ }).toArray()).map((doc) => doc.name)).to.deep.equal(['a.b']);
    expect(await docs.countDocuments({ words: new RegExp(`^${'я'.repeat(600)}х`) })).to.equal(1);
    expect(await docs.countDocuments({ words: new RegExp(`^${'я'.repeat(600)}ю`) })).to.equal(0);
    expect(await docs.countDocuments({ words: new RegExp(`^${'я'.repeat(400)}`) })).to.equal(1);
    // A descending index: names beginning with «n1» (n1, n10 … n19, n100 … n199), in its order.
    const names = (await docs.find({ name: /^n1/ }, { projection: { name: 1 }, sort: { name: -1 } }).toArray()).map((doc) => doc.name!);
    const expected = all.map((doc) => doc.name!).filter((name) => name.startsWith('n1'));
    expect(names).to.deep.equal([...expected].sort().reverse());
    expect(await docs.countDocuments({ name: /^n1/ }, { hint: 'name_down' })).to.equal(expected.length);
  });
});
