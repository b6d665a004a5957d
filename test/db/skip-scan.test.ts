import { expect } from 'chai';
import { MongoClient, ObjectId, type Collection, type Document } from 'mongodb';
import { startMemoryServer, type MemoryServer } from '../../server/src/db/memory';

interface Card {
  _id: ObjectId;
  folderId: ObjectId;
  title: string;
  searchWords: string[];
}

const FOLDERS = 40;
const CARDS = 4000;

/** The index named in an explain output, wherever the plan nests it. */
const indexNameIn = (plan: unknown): string | null => JSON.stringify(plan).match(/"indexName":"([^"]+)"/)?.[1] ?? null;

/**
 * A word's prefix within some folders on the index `{ searchWords: 1, folderId: 1 }` (the search's
 * index, README «Search»): the built-in database reads the word's range with the folders as a list
 * of values on the index's second field, seeking past the keys of other folders as MongoDB's index
 * bounds do — it reads, counts and checks only the cards of the listed folders, not every card
 * having the word.
 */
describe('built-in database: a range then a list of values on the next field is a skip scan', function () {
  this.timeout(60_000);
  let server: MemoryServer;
  let client: MongoClient;
  let cards: Collection<Card>;
  const folders = Array.from({ length: FOLDERS }, () => new ObjectId()).sort((a, b) => a.toHexString().localeCompare(b.toHexString()));
  const all: Card[] = Array.from({ length: CARDS }, (_, i) => ({
    _id: new ObjectId(),
    folderId: folders[i % FOLDERS]!,
    title: `Карточка ${i}`,
    // Every card has «север» and one of «северный», «северо» (two keys in the prefix range); «вектор» every 7th.
    searchWords: ['север', i % 2 === 0 ? 'северныи' : 'северо', ...(i % 7 === 0 ? ['вектор'] : []), `карточка${i}`],
  }));
  /** Two folders at either end and one in the middle, out of order and one named twice. */
  const readable = [folders[39]!, folders[0]!, folders[17]!, folders[0]!];
  const inReadable = (card: Card) => readable.some((folder) => folder.equals(card.folderId));

  before(async () => {
    server = await startMemoryServer({ log: () => {} });
    client = await new MongoClient(server.uri).connect();
    cards = client.db('skip').collection<Card>('cards');
    await cards.createIndexes([
      { key: { searchWords: 1, folderId: 1 }, name: 'words_folder' },
      { key: { folderId: 1, title: 1 }, name: 'folder_title' },
    ]);
    await cards.insertMany(all);
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });

  const titles = (found: Pick<Card, 'title'>[]) => found.map((card) => card.title).sort();

  it('finds the cards of the listed folders having a word beginning so, reading only their keys and cards', async () => {
    const filter = { searchWords: /^север/, folderId: { $in: readable } };
    const expected = all.filter(inReadable);
    expect(expected).to.have.length(300);
    expect(titles(await cards.find(filter).toArray())).to.deep.equal(titles(expected));
    const explained: Document = await cards.find(filter).explain('executionStats');
    expect(indexNameIn(explained.queryPlanner.winningPlan)).to.equal('words_folder');
    // Each card twice in the range («север» and its longer word), once returned; none of the other 37 folders read.
    expect(explained.executionStats.totalKeysExamined).to.equal(600);
    expect(explained.executionStats.totalDocsExamined).to.equal(300);
    expect(await cards.countDocuments(filter)).to.equal(300);
    expect(await cards.countDocuments(filter, { limit: 50 })).to.equal(50);
  });

  it('a rarer word and the other words checked, a limit, a hint and a skip give the same cards as the filter says', async () => {
    const filter = { folderId: { $in: readable }, $and: [{ searchWords: /^вект/ }, { searchWords: /^северн/ }] };
    const expected = all.filter((card) => inReadable(card) && card.searchWords.includes('вектор') && card.searchWords.includes('северныи'));
    expect(expected.length).to.be.greaterThan(10);
    const found = await cards.find(filter).hint({ searchWords: 1, folderId: 1 }).toArray();
    expect(titles(found)).to.deep.equal(titles(expected));
    const explained: Document = await cards.find(filter).hint('words_folder').explain('executionStats');
    expect(explained.executionStats.totalDocsExamined).to.equal(all.filter((card) => inReadable(card) && card.searchWords.includes('вектор')).length);
    expect(await cards.find(filter).limit(5).toArray()).to.have.length(5);
    expect(titles(await cards.find(filter).skip(3).toArray())).to.have.length(expected.length - 3);
  });

  it('a prefix of 4,000 words of one card each: the listed folders’ 300, read past the others or seeking', async () => {
    const filter = { searchWords: /^карточка/, folderId: { $in: readable } };
    expect(await cards.countDocuments(filter)).to.equal(300);
    expect(titles(await cards.find(filter).toArray())).to.deep.equal(titles(all.filter(inReadable)));
    expect(titles(await cards.find({ searchWords: /^карточка/, folderId: { $in: folders.slice(0, 39) } }).toArray())).to.have.length(CARDS - CARDS / FOLDERS);
  });

  it('a word no card of the listed folders has finds nothing; a folder listed alone finds its own', async () => {
    expect(await cards.countDocuments({ searchWords: /^карточка1$/, folderId: { $in: [folders[2]!] } })).to.equal(0);
    expect(titles(await cards.find({ searchWords: /^карточка1$/, folderId: { $in: [folders[1]!] } }).toArray())).to.deep.equal(['Карточка 1']);
    expect(await cards.countDocuments({ searchWords: /^карточка1/, folderId: { $in: [folders[1]!] } })).to.equal(
      all.filter((card, i) => i % FOLDERS === 1 && card.title.startsWith('Карточка 1')).length,
    );
  });

  it('a transaction sees its own cards of the listed folders only', async () => {
    const session = client.startSession();
    try {
      session.startTransaction();
      await cards.insertMany(
        [
          { _id: new ObjectId(), folderId: folders[17]!, title: 'Своя в папке', searchWords: ['северяне'] },
          { _id: new ObjectId(), folderId: folders[18]!, title: 'Своя не в папке', searchWords: ['северяне'] },
        ],
        { session },
      );
      const found = await cards.find({ searchWords: /^северя/, folderId: { $in: readable } }, { session }).toArray();
      expect(titles(found)).to.deep.equal(['Своя в папке']);
    } finally {
      await session.abortTransaction();
      await session.endSession();
    }
  });
});
