import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createDepartment, createFolder, createLibrary, createUser, setFolderAccess } from '../support/fixtures';
import { searchWork, storeCounterparties } from '../support/search-work';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const SEARCH = 'query($q: String!, $first: Int) { search(query: $q, first: $first) { exact card { id title } } }';
const RESULTS = 'query($q: String!, $first: Int) { searchResults(query: $q, first: $first) { totalCount totalExact edges { node { card { title } } } } }';
type Hit = { search: { card: { title: string } }[] };
const READABLE = 30;

/**
 * A reader of many folders searches within each of them: every query to the words index positions
 * the index once per folder. Counting every query word before reading the rarest one made that one
 * pass per word plus one for the read (four for «ООО Вектор 474»); the words are now counted the
 * likeliest rare first, and a rare one is read at once — one pass to count it, one to read it.
 */
describe('search by words for a reader of many folders (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let reader: ApiClient;
  const expected = ['ООО «Вектор-474»', ...Array.from({ length: 5 }, (_, i) => `ООО «Вектор-474-${i}»`)];

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    const admin = await signedIn(server);
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const departmentId = await createDepartment(admin, 'Чтение');
    const readerId = await createUser(admin, { login: 'many.folders', fullName: 'Читатель Папок', password: PASSWORD, departmentId });
    const libraryId = await createLibrary(admin, 'Много папок');
    // 30 folders the reader reads, 31 they do not (so the search is scoped to the reader's folders).
    for (let f = 0; f < 2 * READABLE + 1; f += 1) {
      const folderId = await createFolder(admin, { libraryId, name: `Папка ${f}`, allowedCardTypes: ['counterparty'] });
      const readable = f < READABLE;
      if (readable) await setFolderAccess(admin, folderId, [{ principalId: readerId, level: 'read' }]);
      // «вектор» and «ооо» on 600 readable cards (common), «474» on 6 of them.
      const names = readable ? Array.from({ length: 20 }, (_, i) => `ООО «Вектор-${f * 20 + i}»`) : [`ООО «Вектор-474-скрытая-${f}»`];
      if (readable && f % 6 === 1) names.push(`ООО «Вектор-474-${(f - 1) / 6}»`);
      await storeCounterparties({ folderId, libraryId }, names, adminId);
    }
    reader = await signedIn(server, 'many.folders', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('«ООО Вектор 474» counts only the number (one pass over the 30 folders) and reads its 6 cards: the other words are not counted', async () => {
    const work = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'ООО Вектор 474', first: 30 }));
    expect(work.result.search.map((hit) => hit.card.title).sort()).to.deep.equal([...expected].sort());
    expect(work.counts).to.equal(1);
    expect(work.countsExamined).to.equal(0);
    expect(work.ranges).to.deep.equal(['474']);
    expect(work.cardsExamined).to.be.at.most(6);
    expect(work.cardsReturned).to.equal(6);
  });

  it('all results of the same words: the same 6 cards, counted exactly, at the same cost', async () => {
    const work = await searchWork(() =>
      reader.data<{ searchResults: { totalCount: number; totalExact: boolean; edges: { node: { card: { title: string } } }[] } }>(RESULTS, { q: 'Вектор 474 ООО', first: 50 }),
    );
    const { totalCount, totalExact, edges } = work.result.searchResults;
    expect(edges.map((edge) => edge.node.card.title).sort()).to.deep.equal([...expected].sort());
    expect([totalCount, totalExact]).to.deep.equal([6, true]);
    expect(work.counts).to.equal(1);
    expect(work.ranges).to.deep.equal(['474']);
  });

  it('words every readable card has are each counted (each has 500 or more) and walked together for a page', async () => {
    const work = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'ООО Вектор', first: 30 }));
    expect(work.result.search).to.have.length(30);
    expect(work.result.search.every((hit) => hit.card.title.startsWith('ООО «Вектор-') && !hit.card.title.includes('скрытая'))).to.equal(true);
    expect(work.counts).to.equal(2);
    expect(work.ranges.sort()).to.deep.equal(['вектор', 'ооо']);
  });
});
