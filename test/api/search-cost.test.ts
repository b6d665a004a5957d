import { expect } from 'chai';
import { queryPrefixes } from '../../server/src/cards/search';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createFolder, createLibrary } from '../support/fixtures';
import { searchWork, storeCounterparties } from '../support/search-work';
import { signedIn, startTestServer } from '../support/server';
import { databaseCommandsDuring } from '../support/commands';
import mongoose from 'mongoose';

const WORDS = ['альфа', 'бета', 'гамма', 'дельта', 'эпсилон', 'дзета', 'эта', 'тета'];
type Hit = { search: { card: { title: string } }[] };

/**
 * What one request may make a search do (s9 attack A16: nine aliased searches of ten one-letter
 * words were 12.6 s of CPU in one 622-byte request). A search costs the cost limit what it may look
 * at, so a request holds two; and the words' walk looks at 10,000 cards at most however many words
 * the query has (it was 5,000 per word).
 */
describe('a search costs a request what it may touch (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let place: { folderId: string; libraryId: string };
  let adminId: string;

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    admin = await signedIn(server);
    const libraryId = await createLibrary(admin, 'Слова');
    const folderId = await createFolder(admin, { libraryId, name: 'Все', allowedCardTypes: ['counterparty'] });
    adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    place = { folderId, libraryId };
    // 6,000 cards, each with seven of the eight words: every word is on 5,250 cards, no card has all eight.
    await storeCounterparties(
      { folderId, libraryId },
      Array.from({ length: 6000 }, (_, i) => `${WORDS.filter((_w, w) => w !== i % WORDS.length).join(' ')} ${i}`),
      adminId,
    );
  });
  after(async () => {
    await server?.stop();
  });

  it('two searches fit in a request; a third is refused before it runs, with the cost named', async () => {
    const search = (alias: string) => `${alias}: search(query: "альфа ${alias}", first: 30) { card { id } }`;
    const two = await admin.request(`{ ${search('a')} ${search('b')} }`);
    expect(two.errors).to.equal(undefined);
    const three = await admin.request(`{ ${search('a')} ${search('b')} ${search('c')} }`);
    expect(three.errors?.[0]?.extensions?.code).to.equal('TOO_COSTLY');
    expect(three.errors?.[0]?.message).to.match(/30[\s\u00a0]?000/);
    expect(three.data ?? null).to.equal(null);
  });

  it('eight common words no card has together: the walk looks at 10,000 cards at most, not 5,000 per word', async () => {
    const work = await searchWork(() => admin.data<Hit>('query($q: String!) { search(query: $q, first: 30) { card { title } } }', { q: WORDS.join(' ') }));
    expect(work.result.search).to.deep.equal([]);
    expect(work.ranges.sort()).to.deep.equal(queryPrefixes(WORDS.join(' ')).sort());
    expect(work.cardsReturned).to.be.greaterThan(0);
    expect(work.cardsReturned).to.be.at.most(10_000);
  });

  it('a phone 150 clients share (a business centre’s switchboard) is read through its key: the database looks at those 150 cards, not at every card (s15 user U1)', async () => {
    const phone = '+7 495 796 96 88';
    await storeCounterparties(
      place,
      Array.from({ length: 150 }, (_, i) => `ООО «Бизнес-центр ${i}»`),
      adminId,
      { phone },
    );
    const examinedBy = async (work: () => Promise<unknown>) => {
      const { commands } = await databaseCommandsDuring(work);
      const finds = commands.filter((c) => c.name === 'find' && c.collection === 'cards' && JSON.stringify(c.command.filter).includes('searchKeys'));
      expect(finds, 'the search by the phone’s key').to.have.length(1);
      const { filter, projection, hint, limit } = finds[0]!.command;
      const explained = await mongoose.connection.db!.command({ explain: { find: 'cards', filter, projection, hint, limit }, verbosity: 'executionStats' });
      return Number(/"totalDocsExamined":(\d+)/.exec(JSON.stringify(explained))?.[1]);
    };
    let hits: { search: { exact: boolean }[] } = { search: [] };
    expect(await examinedBy(async () => (hits = await admin.data('query($q: String!) { search(query: $q, first: 30) { exact } }', { q: phone })))).to.be.at.most(150);
    expect(hits.search).to.have.length(30);
    expect(hits.search.every((hit) => hit.exact)).to.equal(true);
    let page: { searchResults: { totalCount: number } } = { searchResults: { totalCount: 0 } };
    expect(
      await examinedBy(async () => (page = await admin.data('query($q: String!) { searchResults(query: $q, first: 50) { totalCount } }', { q: '84957969688' }))),
    ).to.be.at.most(150);
    expect(page.searchResults.totalCount).to.equal(150);
  });
});
