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
 * A reader of many folders: a query word few cards have in the whole installation is counted and
 * read across all folders (the words index led by the word), each card's folder checked against the
 * reader's access — the search costs that word's cards, not the reader's folders; searching within
 * each folder positioned the index once per folder for the count and again for the read, so a
 * reader of 200 folders paid for 400 positions whatever the query found. Common words are still
 * counted the likeliest rare first and walked within the reader's folders.
 */
describe('search by words for a reader of many folders (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let reader: ApiClient;
  let fewFolders: ApiClient;
  let fewerFolders: ApiClient;
  const expected = ['ООО «Вектор-474»', ...Array.from({ length: 5 }, (_, i) => `ООО «Вектор-474-${i}»`)];

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    const admin = await signedIn(server);
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const departmentId = await createDepartment(admin, 'Чтение');
    const readerId = await createUser(admin, { login: 'many.folders', fullName: 'Читатель Папок', password: PASSWORD, departmentId });
    const fewId = await createUser(admin, { login: 'few.folders', fullName: 'Читатель Двадцати', password: PASSWORD, departmentId });
    const fewerId = await createUser(admin, { login: 'fewer.folders', fullName: 'Читатель Двадцати Девяти', password: PASSWORD, departmentId });
    const libraryId = await createLibrary(admin, 'Много папок');
    let firstFolderId = '';
    // 30 folders the reader reads, 31 they do not (so the search is scoped to the reader's folders).
    for (let f = 0; f < 2 * READABLE + 1; f += 1) {
      const folderId = await createFolder(admin, { libraryId, name: `Папка ${f}`, allowedCardTypes: ['counterparty'] });
      if (f === 0) firstFolderId = folderId;
      const readable = f < READABLE;
      if (readable)
        await setFolderAccess(admin, folderId, [
          { principalId: readerId, level: 'read' },
          ...(f < 20 ? [{ principalId: fewId, level: 'read' as const }] : []),
          ...(f < READABLE - 1 ? [{ principalId: fewerId, level: 'read' as const }] : []),
        ]);
      // «вектор» and «ооо» on 600 readable cards (common), «474» on 6 of them.
      const names = readable ? Array.from({ length: 20 }, (_, i) => `ООО «Вектор-${f * 20 + i}»`) : [`ООО «Вектор-474-скрытая-${f}»`];
      if (readable && f % 6 === 1) names.push(`ООО «Вектор-474-${(f - 1) / 6}»`);
      await storeCounterparties({ folderId, libraryId }, names, adminId);
      // «ЗАО Гранит»: 600 cards in a folder the readers do not read; the reader's 2 are stored after them.
      if (f === READABLE)
        await storeCounterparties(
          { folderId, libraryId },
          Array.from({ length: 600 }, (_, i) => `ЗАО «Гранит-${1000 + i}»`),
          adminId,
        );
    }
    await storeCounterparties({ folderId: firstFolderId, libraryId }, ['ЗАО «Гранит-для-читателя»', 'ЗАО «Гранит-второй»'], adminId);
    reader = await signedIn(server, 'many.folders', PASSWORD);
    fewFolders = await signedIn(server, 'few.folders', PASSWORD);
    fewerFolders = await signedIn(server, 'fewer.folders', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('«ООО Вектор 474» counts only the number, in the whole index, and reads its 37 cards across the folders: the 6 in folders the reader reads are the hits', async () => {
    const work = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'ООО Вектор 474', first: 30 }));
    expect(work.result.search.map((hit) => hit.card.title).sort()).to.deep.equal([...expected].sort());
    expect(work.counts).to.equal(1);
    expect(work.countsExamined).to.equal(0);
    expect(work.ranges).to.deep.equal(['474']);
    // «474» begins a word of 6 cards the reader reads and of 31 in folders they do not.
    expect(work.cardsExamined).to.equal(37);
    expect(work.cardsReturned).to.equal(37);
    expect(work.asked.join(' ')).not.to.include('"folderId":{');
  });

  it('a reader of 20 of those folders and the reader of 30 make the search count and read the same keys and cards', async () => {
    const few = await searchWork(() => fewFolders.data<Hit>(SEARCH, { q: 'ООО Вектор 474', first: 30 }));
    const many = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'ООО Вектор 474', first: 30 }));
    // Their hits: the extra cards of folders 1, 7, 13, 19 (and 25), and the 474th card (folder 23) for the reader of 30.
    expect(few.result.search.map((hit) => hit.card.title).sort()).to.deep.equal(Array.from({ length: 4 }, (_, i) => `ООО «Вектор-474-${i}»`));
    expect(many.result.search).to.have.length(6);
    // The same count — it names no folder; only its limit, 3 keys per folder read, differs, and both stop at the word's 37 cards — and the same read.
    const limitAside = (asked: string[]) => asked.map((command) => command.replace(/"\$limit":\d+/, '"$limit":"3 per folder"'));
    expect(limitAside(few.asked)).to.deep.equal(limitAside(many.asked));
    expect(few.asked.join(' ')).not.to.include('"folderId":{');
    expect([few.keysExamined, few.cardsExamined, few.cardsReturned]).to.deep.equal([many.keysExamined, many.cardsExamined, many.cardsReturned]);
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

  it('words every readable card has, for a reader of half the folders but one: counted and walked together across all folders, naming none of theirs', async () => {
    const work = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'ООО Вектор', first: 30 }));
    expect(work.result.search).to.have.length(30);
    expect(work.result.search.every((hit) => hit.card.title.startsWith('ООО «Вектор-') && !hit.card.title.includes('скрытая'))).to.equal(true);
    // The likeliest rare word across (too common for 3 per folder read), then both up to 500.
    expect(work.counts).to.equal(3);
    expect(work.countsExamined).to.equal(0);
    expect(work.ranges.sort()).to.deep.equal(['вектор', 'ооо']);
    // Visiting the reader's folders sent their 30 ids with each count and each word's walk.
    expect(work.asked.join(' ')).not.to.include('"folderId":{');
  });

  it('a reader of 30 folders and one of 29 walk common words with the same commands: the search costs its page, not their folders', async () => {
    const twentyNine = await searchWork(() => fewerFolders.data<Hit>(SEARCH, { q: 'ООО Вектор', first: 30 }));
    const thirty = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'ООО Вектор', first: 30 }));
    expect(twentyNine.result.search).to.have.length(30);
    expect(twentyNine.result.search.every((hit) => !hit.card.title.includes('скрытая'))).to.equal(true);
    const limitAside = (asked: string[]) => asked.map((command) => command.replace(/"\$limit":\d+/, '"$limit":"3 per folder"'));
    expect(limitAside(twentyNine.asked)).to.deep.equal(limitAside(thirty.asked));
  });

  it('common words whose cards are nearly all in folders the reader does not read: the walk across gives up and the reader’s folders find both of theirs', async () => {
    const work = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'ЗАО Гранит', first: 30 }));
    expect(work.result.search.map((hit) => hit.card.title).sort()).to.deep.equal(['ЗАО «Гранит-второй»', 'ЗАО «Гранит-для-читателя»']);
  });
});
