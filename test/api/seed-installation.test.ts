import { expect } from 'chai';
import { Types } from 'mongoose';
import { searchIndexOf } from '../../card-types';
import { builtInCardTypes } from '../../card-types/built-in';
import { generateDataset, type Dataset } from '../../seeds/generate';
import { Card } from '../../server/src/cards/model';
import { Folder } from '../../server/src/folders/models';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { signedIn, startTestServer } from '../support/server';

const SHAPE = { cards: 1500, folders: 20, users: 12, readerFolders: 4 };
/** 200 in the reader's own folder, 255 in each of the reader's 4, the other 280 over the other 16 folders. */
const OTHER_FOLDERS = 16;
const IN_OTHER_FOLDERS = 280;
const PAGE = `query($f: ID!) { cards(folderId: $f, first: 50, sortBy: "updatedAt", descending: true) { edges { node { title } } } }`;
const SEARCH = 'query($q: String!) { searchResults(query: $q, first: 10) { edges { node { exact card { id title } } } totalCount } }';

/** The number a generated counterparty was made with: «ООО «Альфа-100000123»» → 100000123. */
const numberOf = (title: string) => Number(/-(\d+)»$/.exec(title)![1]);

/** `npm run seed -- --cards N --folders F --users U` (issue 12): the installation `npm run bench:http` measures. */
describe('issue 12: a generated benchmark installation', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let dataset: Dataset;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    dataset = await generateDataset(SHAPE);
  });
  after(async () => {
    await server?.stop();
  });

  it('the reader signs in with the bench password and finds 250 of the 255 cards unread in each of their 4 folders', async () => {
    const reader = await signedIn(server, dataset.readerLogin, dataset.password);
    const { unreadCounts } = await reader.data<{ unreadCounts: { folderId: string; count: number }[] }>('{ unreadCounts { folderId count } }');
    const inReaderFolders = unreadCounts.filter((each) => each.folderId !== dataset.workFolderId);
    expect(inReaderFolders.map((each) => each.count)).to.deep.equal([250, 250, 250, 250]);
    expect(dataset.unread).to.equal(1000);
    expect(inReaderFolders.map((each) => each.folderId)).to.include(dataset.pageFolderId);
  });

  it('the cards beyond the reader’s folders are dealt in turn over the other 16 folders, each folder’s page newest first', async () => {
    const readerFolderIds = new Set((await Folder.find({ 'accessEntries.principalType': 'group' }, { _id: 1 }).lean()).map((f) => String(f._id)));
    const others = (await Folder.find({ name: /^Папка \d+$/ }, { _id: 1 }).lean()).filter((f) => !readerFolderIds.has(String(f._id)));
    expect(others).to.have.length(OTHER_FOLDERS);
    const remainders = new Set<number>();
    let dealt = 0;
    for (const folder of others) {
      const numbers = (await Card.find({ folderId: folder._id }, { title: 1 }).lean()).map((card) => numberOf(card.title));
      // 280 cards over 16 folders: 17 or 18 each, every 16th card in the same folder.
      expect(numbers.length).to.be.oneOf([17, 18]);
      expect(new Set(numbers.map((n) => n % OTHER_FOLDERS)).size).to.equal(1);
      remainders.add(numbers[0] % OTHER_FOLDERS);
      dealt += numbers.length;
      const page = await admin.data<{ cards: { edges: { node: { title: string } }[] } }>(PAGE, { f: String(folder._id) });
      const shown = page.cards.edges.map((edge) => numberOf(edge.node.title));
      expect(shown).to.deep.equal([...numbers].sort((a, b) => b - a));
    }
    expect(remainders.size).to.equal(OTHER_FOLDERS);
    expect(dealt).to.equal(IN_OTHER_FOLDERS);
  });

  it('every generated card carries the search words the product gives it: found by its name and by its INN', async () => {
    const counterparty = builtInCardTypes.find((type) => type.key === 'counterparty')!;
    const cards = await Card.find(
      { typeKey: 'counterparty', folderId: { $ne: new Types.ObjectId(dataset.workFolderId) } },
      { title: 1, values: 1, searchText: 1, searchWords: 1, searchKeys: 1 },
    )
      .sort({ _id: -1 })
      .limit(3)
      .lean();
    for (const card of cards) {
      const { searchText, searchWords, searchKeys } = card;
      expect({ searchText, searchWords, searchKeys }).to.deep.equal(searchIndexOf(counterparty, card.title, card.values));
    }
    const card = cards[0];
    const byName = await admin.data<{ searchResults: { edges: { node: { card: { id: string } } }[]; totalCount: number } }>(SEARCH, { q: card.title.replace(/^ООО «|»$/g, '') });
    expect(byName.searchResults.edges.map((edge) => edge.node.card.id)).to.deep.equal([String(card._id)]);
    const byInn = await admin.data<{ searchResults: { edges: { node: { exact: boolean; card: { id: string } } }[] } }>(SEARCH, { q: String(card.values.inn) });
    expect(byInn.searchResults.edges.map((edge) => edge.node)).to.deep.equal([{ exact: true, card: { id: String(card._id), title: card.title } }]);
  });
});
