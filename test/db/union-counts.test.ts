import { expect } from 'chai';
import { MongoClient, MongoServerError, ObjectId, type Collection, type Db, type Document } from 'mongodb';
import type { CardShape } from '../support/card-shape';
import { testMongoUri, uniqueDbName } from '../support/mongo';

interface Card extends CardShape {
  tags: string[];
  code?: string;
}

/** The largest `totalDocsExamined` anywhere in an explain output (top level or under `$cursor`). */
const docsExamined = (explained: Document) => Math.max(...[...JSON.stringify(explained).matchAll(/"totalDocsExamined":(\d+)/g)].map((m) => Number(m[1])));
const indexNameIn = (explained: Document): string | null => JSON.stringify(explained).match(/"indexName":"([^"]+)"/)?.[1] ?? null;
const byFolder = (rows: Document[]): Record<string, number> =>
  Object.fromEntries(rows.map((row) => [String(row._id), row.n]).sort(([a], [b]) => String(a).localeCompare(String(b))));

describe('db conformance: counts over a union of index ranges, and hints', function () {
  let client: MongoClient;
  let db: Db;
  let cards: Collection<Card>;
  const folders = Array.from({ length: 30 }, (_, i) => new ObjectId(String(i + 1).padStart(24, '0')));
  const base = Date.UTC(2026, 0, 1);
  const at = (minute: number) => new Date(base + minute * 60_000);
  const all: Card[] = Array.from({ length: 900 }, (_, i) => ({
    _id: new ObjectId(),
    folderId: folders[(i * 7) % folders.length]!,
    inTrash: i % 11 === 0,
    title: `t${i % 50}`,
    updatedAt: at(i),
    tags: [`g${i % 4}`, `h${i % 3}`],
    ...(i % 5 === 0 ? { code: `c${i}` } : {}),
  }));
  // A reader's folders: watermarks on every other one (cards changed after it are unread), none on the rest.
  const watermarks = new Map(folders.slice(0, 24).map((folder, i) => [String(folder), i % 2 === 0 ? at(i * 35) : null]));
  const unreadFilter = () => ({
    $or: [...watermarks].map(([folder, mark]) => ({ folderId: new ObjectId(folder), inTrash: false, ...(mark ? { updatedAt: { $gt: mark } } : {}) })),
  });
  const expectedUnread = () => {
    const counts: Record<string, number> = {};
    for (const card of all) {
      if (card.inTrash || !watermarks.has(String(card.folderId))) continue;
      const mark = watermarks.get(String(card.folderId));
      if (mark && card.updatedAt <= mark) continue;
      counts[String(card.folderId)] = (counts[String(card.folderId)] ?? 0) + 1;
    }
    return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
  };
  const groupByFolder = [{ $group: { _id: '$folderId', n: { $sum: 1 } } }];

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('unions'));
    cards = db.collection<Card>('cards');
    await cards.createIndex({ folderId: 1, inTrash: 1, updatedAt: -1, _id: -1 }, { name: 'folder_recent' });
    await cards.createIndex({ folderId: 1, inTrash: 1, title: 1, _id: 1 }, { name: 'folder_title' });
    await cards.createIndex({ tags: 1 }, { name: 'tags' });
    await cards.createIndex({ code: 1 }, { name: 'code', sparse: true });
    await cards.insertMany(all);
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('counts unread cards per folder of a reader with watermarks in one aggregate, from index keys alone', async () => {
    const pipeline = [{ $match: unreadFilter() }, ...groupByFolder];
    const counted = byFolder(await cards.aggregate(pipeline).toArray());
    expect(counted).to.deep.equal(expectedUnread());
    expect(Object.keys(counted)).to.have.length.above(10);
    // The same pipeline over every document (a collection scan) agrees.
    expect(byFolder(await cards.aggregate(pipeline, { hint: { $natural: 1 } }).toArray())).to.deep.equal(counted);
    const explained = await cards.aggregate(pipeline).explain('executionStats');
    expect(docsExamined(explained)).to.equal(0);
    // countDocuments of the same union: the total, also without reading a document.
    const total = Object.values(counted).reduce((a, b) => a + b, 0);
    expect(await cards.countDocuments(unreadFilter())).to.equal(total);
    expect(await cards.countDocuments(unreadFilter(), { hint: { $natural: 1 } })).to.equal(total);
    expect(docsExamined(await cards.aggregate([{ $match: unreadFilter() }, { $group: { _id: 1, n: { $sum: 1 } } }]).explain('executionStats'))).to.equal(0);
    const find = await cards.find(unreadFilter()).explain('executionStats');
    expect(find.executionStats.nReturned).to.equal(total);
    expect(find.executionStats.totalDocsExamined).to.equal(total);
  });

  it('counts read receipts — one branch per card: its folder, out of the trash, its change time and id — as the documents say', async () => {
    // Receipts of cards as they are, of cards changed since (another change time), in another
    // folder, in the trash, of a card that does not exist, and two of the same card.
    const live = all.filter((card) => !card.inTrash).slice(0, 300);
    const receipts = [
      ...live.map((card) => ({ folderId: card.folderId, inTrash: false, updatedAt: card.updatedAt, _id: card._id })),
      ...live.slice(0, 40).map((card) => ({ folderId: card.folderId, inTrash: false, updatedAt: at(-1), _id: card._id })),
      ...live.slice(40, 60).map((card) => ({ folderId: folders[29]!, inTrash: false, updatedAt: card.updatedAt, _id: card._id })),
      ...all.filter((card) => card.inTrash).map((card) => ({ folderId: card.folderId, inTrash: false, updatedAt: card.updatedAt, _id: card._id })),
      { folderId: folders[0]!, inTrash: false, updatedAt: at(1), _id: new ObjectId() },
      { folderId: live[7]!.folderId, inTrash: false, updatedAt: live[7]!.updatedAt, _id: live[7]!._id },
    ];
    const hint = { folderId: 1, inTrash: 1, updatedAt: -1, _id: -1 };
    const pipeline = [{ $match: { $or: receipts } }, ...groupByFolder];
    const scanned = byFolder(await cards.aggregate(pipeline, { hint: { $natural: 1 } }).toArray());
    expect(Object.values(scanned).reduce((a, b) => a + b, 0)).to.equal(live.length);
    expect(byFolder(await cards.aggregate(pipeline, { hint }).toArray())).to.deep.equal(scanned);
    expect(docsExamined(await cards.aggregate(pipeline, { hint }).explain('executionStats'))).to.equal(0);
    expect(await cards.countDocuments({ $or: receipts }, { hint })).to.equal(await cards.countDocuments({ $or: receipts }, { hint: { $natural: 1 } }));
    const found = await cards.find({ $or: receipts }).hint(hint).toArray();
    const foundScanning = await cards.find({ $or: receipts }).hint({ $natural: 1 }).toArray();
    expect(found.map((card) => String(card._id)).sort()).to.deep.equal(foundScanning.map((card) => String(card._id)).sort());
    // A snapshot read, and a transaction that changed one of the cards: its receipt no longer counts there.
    const session = client.startSession();
    try {
      session.startTransaction();
      await cards.updateOne({ _id: live[0]!._id }, { $set: { updatedAt: at(9000) } }, { session });
      const inside = byFolder(await cards.aggregate(pipeline, { hint, session }).toArray());
      expect(inside[String(live[0]!.folderId)]).to.equal(scanned[String(live[0]!.folderId)]! - 1);
    } finally {
      await session.abortTransaction();
      await session.endSession();
    }
    expect(byFolder(await cards.aggregate(pipeline, { hint, readConcern: { level: 'snapshot' } }).toArray())).to.deep.equal(scanned);
  });

  it('overlapping branches count each card once, and a find returns each card once', async () => {
    const [folder] = folders;
    const filter = {
      $or: [
        { folderId: folder, inTrash: false, updatedAt: { $gt: at(300) } },
        { folderId: folder, inTrash: false },
        { folderId: folder, inTrash: false, title: 't3' },
      ],
    };
    const expected = all.filter((card) => String(card.folderId) === String(folder) && !card.inTrash);
    expect(await cards.countDocuments(filter)).to.equal(expected.length);
    expect(byFolder(await cards.aggregate([{ $match: filter }, ...groupByFolder]).toArray())).to.deep.equal({ [String(folder)]: expected.length });
    const found = await cards.find(filter).toArray();
    expect(found.map((card) => String(card._id)).sort()).to.deep.equal(expected.map((card) => String(card._id)).sort());
  });

  it('a union within one folder gives the index order, and pages by it as a scan sorted in memory does', async () => {
    const folder = folders[3]!;
    const filter = { folderId: folder, inTrash: false, $or: [{ updatedAt: { $gt: at(100), $lte: at(250) } }, { updatedAt: { $gt: at(600) } }] };
    const sort = { updatedAt: -1, _id: -1 } as const;
    const scanned = await cards.find(filter).sort(sort).hint({ $natural: 1 }).toArray();
    expect(scanned.length).to.be.above(10);
    expect(await cards.find(filter).sort(sort).toArray()).to.deep.equal(scanned);
    expect(await cards.find(filter).sort(sort).skip(3).limit(5).toArray()).to.deep.equal(scanned.slice(3, 8));
    const ascending = await cards.find(filter).sort({ updatedAt: 1, _id: 1 }).limit(4).toArray();
    expect(ascending).to.deep.equal([...scanned].reverse().slice(0, 4));
    // Across folders the order is not the index's: sorted in memory, same answer as the scan.
    const across = unreadFilter();
    expect(await cards.find(across).sort({ title: 1, _id: 1 }).limit(20).toArray()).to.deep.equal(
      await cards.find(across).sort({ title: 1, _id: 1 }).limit(20).hint({ $natural: 1 }).toArray(),
    );
  });

  it('counts per folder stay right where the index cannot answer alone: another condition, a transaction’s own writes, an array field', async () => {
    // A branch with a condition the index does not hold: documents are read, counts still right.
    const filter = {
      $or: [
        { folderId: folders[0], inTrash: false, tags: 'g1' },
        { folderId: folders[1], inTrash: false },
      ],
    };
    const expected: Record<string, number> = {};
    for (const card of all) {
      const first = String(card.folderId) === String(folders[0]) && !card.inTrash && card.tags.includes('g1');
      const second = String(card.folderId) === String(folders[1]) && !card.inTrash;
      if (first || second) expected[String(card.folderId)] = (expected[String(card.folderId)] ?? 0) + 1;
    }
    expect(byFolder(await cards.aggregate([{ $match: filter }, ...groupByFolder]).toArray())).to.deep.equal(expected);
    // Inside a transaction its own new card counts, and only there.
    const session = client.startSession();
    try {
      session.startTransaction();
      await cards.insertOne({ _id: new ObjectId(), folderId: folders[1]!, inTrash: false, title: 'own', updatedAt: at(5000), tags: [] }, { session });
      const inside = byFolder(await cards.aggregate([{ $match: unreadFilter() }, ...groupByFolder], { session }).toArray());
      expect(inside[String(folders[1])]).to.equal(expectedUnread()[String(folders[1])]! + 1);
    } finally {
      await session.abortTransaction();
      await session.endSession();
    }
    expect(byFolder(await cards.aggregate([{ $match: unreadFilter() }, ...groupByFolder]).toArray())).to.deep.equal(expectedUnread());
    // Grouped by an array field: one group per whole array, as the documents hold it.
    const byTags = await cards.aggregate([{ $match: { tags: { $in: ['g1', 'g2'] } } }, { $group: { _id: '$tags', n: { $sum: 1 } } }]).toArray();
    const tagsExpected: Record<string, number> = {};
    for (const card of all) if (card.tags.includes('g1') || card.tags.includes('g2')) tagsExpected[card.tags.join()] = (tagsExpected[card.tags.join()] ?? 0) + 1;
    expect(Object.fromEntries(byTags.map((row) => [(row._id as string[]).join(), row.n]))).to.deep.equal(tagsExpected);
  });

  it('honours hints in find, aggregate and count: an index by name or key pattern, or the collection in natural order', async () => {
    const filter = { folderId: folders[2], inTrash: false };
    const named = await cards.find(filter).hint('folder_title').explain('queryPlanner');
    expect(indexNameIn(named)).to.equal('folder_title');
    const byPattern = await cards.find(filter).hint({ folderId: 1, inTrash: 1, updatedAt: -1, _id: -1 }).explain('queryPlanner');
    expect(indexNameIn(byPattern)).to.equal('folder_recent');
    const natural = await cards.find(filter).hint({ $natural: 1 }).explain('executionStats');
    expect(JSON.stringify(natural.queryPlanner)).to.contain('COLLSCAN');
    expect(natural.executionStats.totalDocsExamined).to.equal(all.length);
    const expected = all.filter((card) => String(card.folderId) === String(folders[2]) && !card.inTrash).length;
    for (const hint of ['folder_title', { $natural: 1 }, { $natural: -1 }, '_id_', 'tags']) {
      expect((await cards.find(filter).hint(hint).toArray()).length, JSON.stringify(hint)).to.equal(expected);
      expect(await cards.countDocuments(filter, { hint }), JSON.stringify(hint)).to.equal(expected);
    }
    // An index the filter does not narrow is read whole: the answer stays the same.
    expect(indexNameIn(await cards.find(filter).hint('tags').explain('queryPlanner'))).to.equal('tags');
    // A hinted sparse index holds only the cards with a code: MongoDB answers from it alone.
    const withCode = all.filter((card) => card.code !== undefined).length;
    expect(await cards.countDocuments({}, { hint: 'code' })).to.equal(withCode);
    expect(await cards.countDocuments({})).to.equal(all.length);
    expect((await cards.find({}).sort({ code: 1 }).hint({ code: 1 }).toArray()).length).to.equal(withCode);
  });

  it('a hint naming no index fails as MongoDB fails: BadValue, "hint provided does not correspond to an existing index"', async () => {
    const failures = [
      () => cards.find({ inTrash: false }).hint('no_such_index').toArray(),
      () => cards.find({ inTrash: false }).hint({ inTrash: 1 }).toArray(),
      () => cards.aggregate([{ $match: { inTrash: false } }], { hint: 'no_such_index' }).toArray(),
      () => cards.countDocuments({ inTrash: false }, { hint: { nope: 1 } }),
      () => db.command({ count: 'cards', query: { inTrash: false }, hint: 'no_such_index' }),
      () => cards.find({ inTrash: false }).hint({ folderId: -1, inTrash: -1, updatedAt: 1, _id: 1 }).toArray(),
    ];
    for (const failure of failures) {
      const error = (await failure().then(
        () => null,
        (e: unknown) => e,
      )) as MongoServerError;
      expect(error).to.be.instanceOf(MongoServerError);
      expect(error.code).to.equal(2);
      expect(error.codeName).to.equal('BadValue');
      expect(error.message).to.contain('hint provided does not correspond to an existing index');
    }
  });
});
