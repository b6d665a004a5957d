import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createFolder, createLibrary } from '../support/fixtures';
import { searchWork, storeCounterparties } from '../support/search-work';
import { signedIn, startTestServer } from '../support/server';

const SEARCH = 'query($q: String!, $first: Int) { search(query: $q, first: $first) { exact card { id title } } }';

type Hit = { search: { exact: boolean; card: { title: string } }[] };

/**
 * A search by name reads what its rarest word costs. The words' counts were once capped at 50, so
 * among words that all reach 50 the longest was walked: «ООО Вектор 474» read the 2,005 cards
 * with «вектор» for the 6 having all three words, rather than the 126 beginning with «474». Then
 * the words were walked together, a card of each in turn, reading the rarest word's cards once per
 * query word. Now each word's cards are counted from the index keys alone, and only the rarest
 * word's range is read, the database checking the other words: the server gets only the hits.
 */
describe('search by words walks the rarest word (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    admin = await signedIn(server);
    const libraryId = await createLibrary(admin, 'Контрагенты');
    const folderId = await createFolder(admin, { libraryId, name: 'Все', allowedCardTypes: ['counterparty'] });
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    await storeCounterparties(
      { folderId, libraryId },
      [
        ...Array.from({ length: 2000 }, (_, i) => `ООО «Вектор-${i}»`),
        ...Array.from({ length: 120 }, (_, i) => `ООО «Гранит-474${i}»`),
        ...Array.from({ length: 5 }, (_, i) => `ООО «Вектор-474-${i}»`),
      ],
      adminId,
    );
  });
  after(async () => {
    await server?.stop();
  });

  it('«ООО Вектор 474» reads only the 126 cards beginning with «474», not the 2,005 with «вектор», and gives the server only the 6 having all three words', async () => {
    const work = await searchWork(() => admin.data<Hit>(SEARCH, { q: 'ООО Вектор 474', first: 30 }));
    expect(work.result.search.map((hit) => hit.card.title).sort()).to.deep.equal(['ООО «Вектор-474»', ...Array.from({ length: 5 }, (_, i) => `ООО «Вектор-474-${i}»`)].sort());
    expect(work.ranges).to.deep.equal(['474']);
    expect(work.cardsExamined).to.be.at.most(126);
    expect(work.cardsReturned).to.equal(6);
    // The number is counted first (up to 500, from the index keys alone): it has fewer, so the other words are not counted.
    expect(work.counts).to.equal(1);
    expect(work.countsExamined).to.equal(0);
  });

  it('a word few cards have is the one read, whatever the order of the words', async () => {
    const work = await searchWork(() => admin.data<Hit>(SEARCH, { q: 'ООО 4741 Гранит', first: 100 }));
    // «Гранит-4741», «Гранит-47410» … «Гранит-47419» and «Гранит-474100» … «Гранит-474119»: 31 cards.
    const expected = Array.from({ length: 120 }, (_, i) => `474${i}`).filter((word) => word.startsWith('4741'));
    expect(expected).to.have.length(31);
    expect(work.result.search.map((hit) => hit.card.title).sort()).to.deep.equal(expected.map((word) => `ООО «Гранит-${word}»`).sort());
    expect(work.ranges).to.deep.equal(['4741']);
    expect(work.cardsExamined).to.be.at.most(31);
    expect(work.cardsReturned).to.equal(31);
  });

  it('common words that many cards share together stop the read once the page is full', async () => {
    const work = await searchWork(() => admin.data<Hit>(SEARCH, { q: 'ООО Вектор', first: 30 }));
    expect(work.result.search).to.have.length(30);
    expect(work.result.search.every((hit) => hit.card.title.startsWith('ООО «Вектор-'))).to.equal(true);
    // Both words have 500 cards or more: walked together, the first batch of each (50) holds the page.
    expect(work.ranges.sort()).to.deep.equal(['вектор', 'ооо']);
    expect(work.cardsExamined).to.be.at.most(2 * 50);
    expect(work.cardsReturned).to.be.at.most(2 * 50);
    expect(work.countsExamined).to.equal(0);
  });

  it('a word no card has answers nothing', async () => {
    expect((await admin.data<Hit>(SEARCH, { q: 'ООО Вектор квокка', first: 30 })).search).to.deep.equal([]);
  });
});
