import { expect } from 'chai';
import { MongoClient, ObjectId, type Collection, type Document } from 'mongodb';
import { startMemoryServer, type MemoryServer } from '../../server/src/db/memory';
import type { CardShape } from '../support/card-shape';

interface Card extends CardShape {
  searchKeys: string[];
  searchWords: string[];
  values: Record<string, string | number>;
}

const FOLDERS = 40;
const CARDS = 2000;
/** Sortable fields of the card types: each one a folder-first index, as card types declare them. */
const SORT_FIELDS = Array.from({ length: 24 }, (_, i) => `f${i}`);

/** The index named in an explain output, wherever the plan nests it. */
const indexNameIn = (plan: unknown): string | null => JSON.stringify(plan).match(/"indexName":"([^"]+)"/)?.[1] ?? null;

/**
 * The built-in database's planner builds key ranges only for the plans it compares, not one set per
 * index: a search by INN among a reader's 20 folders, beside 27 folder-first indexes, once built a
 * union of 20 folder ranges on every one of them before choosing the search-key index (1 key), and
 * that planning was most of the request's database time. explain lists the plans the planner built
 * and did not choose (rejectedPlans), so their number is asserted here, never a time. (Not a
 * conformance test: MongoDB's planner enumerates its candidate plans differently.)
 */
describe('built-in database: the planner builds only the plans it compares', function () {
  this.timeout(60_000);
  let server: MemoryServer;
  let client: MongoClient;
  let cards: Collection<Card>;
  const folders = Array.from({ length: FOLDERS }, () => new ObjectId());

  before(async () => {
    server = await startMemoryServer({ log: () => {} });
    client = await new MongoClient(server.uri).connect();
    cards = client.db('planner').collection<Card>('cards');
    await cards.createIndexes([
      { key: { folderId: 1, inTrash: 1, updatedAt: -1, _id: -1 }, name: 'folder_updated' },
      { key: { folderId: 1, inTrash: 1, title: 1, _id: 1 }, name: 'folder_title' },
      { key: { inTrash: 1, trashedAt: -1 }, name: 'trash' },
      { key: { searchKeys: 1 }, name: 'search_keys' },
      { key: { searchWords: 1 }, name: 'search_words' },
      { key: { folderId: 1, searchWords: 1 }, name: 'folder_words' },
      ...SORT_FIELDS.map((field) => ({ key: { folderId: 1, inTrash: 1, [`values.${field}`]: 1, _id: 1 }, name: `sort_${field}` })),
    ]);
    const start = Date.UTC(2026, 0, 1);
    await cards.insertMany(
      Array.from({ length: CARDS }, (_, i) => ({
        _id: new ObjectId(),
        folderId: folders[i % FOLDERS]!,
        inTrash: false,
        title: `Карточка ${i}`,
        updatedAt: new Date(start + i * 60_000),
        searchKeys: [String(7700000000 + i)],
        // Every card has «ооо» (and «ооо2» for some: two keys in the prefix range); «вектор» every 7th.
        searchWords: ['ооо', ...(i % 3 === 0 ? ['ооо2'] : []), ...(i % 7 === 0 ? ['вектор'] : []), `карточка${i}`],
        values: Object.fromEntries(SORT_FIELDS.map((field, j) => [field, (i * (j + 7)) % 101])),
      })),
    );
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });

  it('a search by INN among a reader’s 20 folders reads its one card by the search-key index and builds at most one other plan', async () => {
    const readable = folders.slice(0, 20);
    // Card 1005 is in folder 1005 % 40 = 5: among the reader's folders.
    const filter = { $or: [{ folderId: { $in: readable } }], inTrash: false, searchKeys: { $in: ['7700001005'] } };
    const explained: Document = await cards.find(filter).limit(30).explain('executionStats');
    expect(indexNameIn(explained.queryPlanner.winningPlan)).to.equal('search_keys');
    expect(explained.executionStats.totalKeysExamined).to.equal(1);
    expect(explained.executionStats.totalDocsExamined).to.equal(1);
    expect(explained.queryPlanner.rejectedPlans.length).to.be.at.most(1);
    const found = await cards.find(filter).limit(30).toArray();
    expect(found.map((card) => card.title)).to.deep.equal(['Карточка 1005']);
    // A key of a card in a folder the reader does not read finds nothing.
    expect(await cards.countDocuments({ ...filter, searchKeys: { $in: ['7700001030'] } })).to.equal(0);
  });

  it('counting a common word among 20 folders, capped at 50, reads 50 cards and tries one folder index, not each of them', async () => {
    const filter = { folderId: { $in: folders.slice(0, 20) }, searchWords: { $elemMatch: { $gte: 'ооо', $lt: 'ооо\u{10FFFF}' } } };
    const pipeline = [{ $match: filter }, { $limit: 50 }, { $group: { _id: 1, n: { $sum: 1 } } }];
    const explained: Document = await cards.aggregate(pipeline).explain('executionStats');
    expect(indexNameIn(explained.queryPlanner.winningPlan)).to.equal('folder_words');
    expect(explained.executionStats.totalDocsExamined).to.equal(50);
    // The other word index and one of the 26 plain folder-first indexes (they hold the same keys).
    expect(explained.queryPlanner.rejectedPlans.map(indexNameIn).sort()).to.deep.equal(['folder_updated', 'search_words']);
    expect(await cards.countDocuments(filter, { limit: 50 })).to.equal(50);
    expect(await cards.countDocuments(filter)).to.equal(1000);
    expect(await cards.countDocuments({ ...filter, searchWords: { $elemMatch: { $gte: 'вектор', $lt: 'вектор\u{10FFFF}' } } })).to.equal(143);
  });

  it('unread counts of 40 folders, one `$or` branch per folder, build the key ranges of one index, not of each of the 27 beginning with the folder', async () => {
    // Every folder's watermark: its cards changed after the 30th minute of the day.
    const since = new Date(Date.UTC(2026, 0, 1) + 30 * 60_000);
    const branches = folders.map((folderId) => ({ folderId, inTrash: false, updatedAt: { $gt: since } }));
    const pipeline = [{ $match: { $or: branches } }, { $group: { _id: '$folderId', n: { $sum: 1 } } }];
    const explained: Document = await cards.aggregate(pipeline).explain('executionStats');
    expect(indexNameIn(explained.queryPlanner.winningPlan)).to.equal('folder_updated');
    expect(explained.queryPlanner.rejectedPlans).to.deep.equal([]);
    expect(explained.executionStats.totalDocsExamined).to.equal(0);
    const counts = await cards.aggregate<{ _id: ObjectId; n: number }>(pipeline).toArray();
    // Cards 0–30 (one a minute) are older: 1,969 newer ones, 49 or 50 per folder.
    expect(counts.reduce((sum, { n }) => sum + n, 0)).to.equal(CARDS - 31);
    expect(counts.find(({ _id }) => _id.equals(folders[0]!))?.n).to.equal(49);
    expect(counts.find(({ _id }) => _id.equals(folders[31]!))?.n).to.equal(50);
  });

  it('a folder page sorted by change builds no plan beside its own index', async () => {
    const filter = { folderId: folders[3], inTrash: false };
    const sort = { updatedAt: -1, _id: -1 } as const;
    const explained: Document = await cards.find(filter).sort(sort).limit(10).explain('executionStats');
    expect(indexNameIn(explained.queryPlanner.winningPlan)).to.equal('folder_updated');
    expect(explained.queryPlanner.rejectedPlans).to.deep.equal([]);
    expect(explained.executionStats.totalDocsExamined).to.equal(10);
    const page = await cards.find(filter).sort(sort).limit(3).toArray();
    expect(page.map((card) => card.title)).to.deep.equal(['Карточка 1963', 'Карточка 1923', 'Карточка 1883']);
  });

  it('a page of the reader’s folders sorted by one of the sortable fields uses that field’s index', async () => {
    const filter = { folderId: { $in: folders.slice(0, 3) }, inTrash: false };
    const explained: Document = await cards.find(filter).sort({ 'values.f5': 1, _id: 1 }).limit(5).explain('queryPlanner');
    expect(indexNameIn(explained.queryPlanner.winningPlan)).to.equal('sort_f5');
    const page = await cards.find(filter).sort({ 'values.f5': 1, _id: 1 }).limit(200).toArray();
    const values = page.map((card) => card.values.f5 as number);
    expect(values).to.deep.equal([...values].sort((a, b) => a - b));
    expect(page.every((card) => folders.slice(0, 3).some((folder) => folder.equals(card.folderId)))).to.equal(true);
  });
});
