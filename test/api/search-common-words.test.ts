import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createDepartment, createFolder, createLibrary, createUser, setFolderAccess } from '../support/fixtures';
import { searchWork, storeCounterparties } from '../support/search-work';
import { signedIn, startTestServer } from '../support/server';

const SEARCH = 'query($q: String!, $first: Int) { search(query: $q, first: $first) { card { title } } }';
const PASSWORD = 'reader-password-1';

type Hit = { search: { card: { title: string } }[] };
const titlesOf = (result: Hit) => result.search.map((hit) => hit.card.title);

/**
 * A request costs what it touches (issue 12): a search page of common words reads about the page,
 * however many cards share the words, and a common word beside a rare one costs the rare one. The
 * reader searches the two folders they read (folder by folder, as a reader of few folders does).
 */
describe('search by common words costs the page (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let reader: ApiClient;

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    const admin = await signedIn(server);
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const libraryId = await createLibrary(admin, 'Контрагенты');
    const departmentId = await createDepartment(admin, 'Продажи');
    const readerId = await createUser(admin, { login: 'reader', fullName: 'Читатель', password: PASSWORD, departmentId });
    const folder = async (name: string, readable: boolean) => {
      const id = await createFolder(admin, { libraryId, name, allowedCardTypes: ['counterparty'] });
      if (readable) await setFolderAccess(admin, id, [{ principalType: 'user', principalId: readerId, level: 'read' }]);
      return id;
    };
    const vector = await folder('Векторы', true);
    const alpha = await folder('Альфы', true);
    const hidden = await folder('Чужие', false);
    // More folders than the reader reads twice over: their two are searched one by one.
    for (const name of ['Архив', 'Прочие', 'Разное']) await folder(name, false);
    await storeCounterparties(
      { folderId: vector, libraryId },
      Array.from({ length: 4000 }, (_, i) => `ООО «Вектор-${i}»`),
      adminId,
    );
    await storeCounterparties(
      { folderId: alpha, libraryId },
      Array.from({ length: 1000 }, (_, i) => `ООО «Альфа-${i}»`),
      adminId,
    );
    await storeCounterparties(
      { folderId: hidden, libraryId },
      Array.from({ length: 1000 }, (_, i) => `ООО «Вектор-${i}»`),
      adminId,
    );
    reader = await signedIn(server, 'reader', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('a page of 50 by two words 4,000 cards share reads about the page — as few as for words 1,000 cards share', async () => {
    const vectors = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'ООО Вектор', first: 50 }));
    expect(titlesOf(vectors.result)).to.have.length(50);
    expect(titlesOf(vectors.result).every((title) => /^ООО «Вектор-\d+»$/.test(title))).to.equal(true);
    const alphas = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'ООО Альфа', first: 50 }));
    expect(titlesOf(alphas.result)).to.have.length(50);
    expect(titlesOf(alphas.result).every((title) => /^ООО «Альфа-\d+»$/.test(title))).to.equal(true);
    for (const work of [vectors, alphas]) {
      // Both words have 500 cards or more: their ranges are walked together, a batch of 50 each holds the page.
      expect(work.ranges.sort()).to.deep.equal(work === vectors ? ['вектор', 'ооо'] : ['альф', 'ооо']);
      expect(work.cardsExamined).to.be.at.most(2 * 50);
      expect(work.cardsReturned).to.be.at.most(2 * 50);
      // The words' counts came from the index keys alone: the likeliest rare one in the whole index up to 6 (too
      // many there to be read across all folders: 3 cards cost what one of the reader's folders does), then each in the two folders up to 500.
      expect(work.counts).to.equal(3);
      expect(work.countsExamined).to.equal(0);
    }
  });

  it('a common word beside a rare one reads the rare one: «Вектор 126» examines the 12 cards beginning with «126», not the 4,000 with «вектор»', async () => {
    const work = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'Вектор 126', first: 50 }));
    // «Вектор-126» and «Вектор-1260» … «Вектор-1269»; «Альфа-126» has «126» but not «вектор»; the hidden folder's are not searched.
    expect(titlesOf(work.result).sort()).to.deep.equal(['126', ...Array.from({ length: 10 }, (_, i) => `126${i}`)].map((n) => `ООО «Вектор-${n}»`).sort());
    expect(work.ranges).to.deep.equal(['126']);
    expect(work.cardsExamined).to.be.at.most(12);
    expect(work.cardsReturned).to.equal(11);
    expect(work.countsExamined).to.equal(0);
  });

  it('words no readable card has together answer nothing', async () => {
    expect(titlesOf(await reader.data<Hit>(SEARCH, { q: 'Вектор Альфа', first: 50 }))).to.deep.equal([]);
    expect(titlesOf(await reader.data<Hit>(SEARCH, { q: 'Альфа 2000', first: 50 }))).to.deep.equal([]);
  });
});
