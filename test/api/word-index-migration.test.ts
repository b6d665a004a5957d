import { expect } from 'chai';
import mongoose from 'mongoose';
import { wordFolderIndexStep } from '../../server/src/migrations/word-folder-index';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createDepartment, createFolder, createLibrary, createUser, setFolderAccess } from '../support/fixtures';
import { recordingLogger } from '../support/recording-logger';
import { searchWork, storeCounterparties } from '../support/search-work';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const SEARCH = 'query($q: String!, $first: Int) { search(query: $q, first: $first) { card { title } } }';
type Hit = { search: { card: { title: string } }[] };

/**
 * The cards' words were indexed twice (`searchWords_1`, `folderId_1_searchWords_1`: 46 % of all
 * index entries); data-model step 7 builds the one index `{ searchWords, folderId }` that replaces
 * them, saying so in the log, and drops them. A reader's search within their folders reads the
 * word's range of it, seeking past other folders' keys: only their cards are read.
 */
describe('search: one words index, the word then the folder (data-model step 7)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let reader: ApiClient;
  const cardIndexes = async () => (await mongoose.connection.db!.collection('cards').indexes()).map((index) => index.name).sort();

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    const admin = await signedIn(server);
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const departmentId = await createDepartment(admin, 'Чтение');
    const readerId = await createUser(admin, { login: 'few.folders', fullName: 'Читатель Трёх Папок', password: PASSWORD, departmentId });
    const libraryId = await createLibrary(admin, 'Папки');
    // 30 folders of 40 «ООО «Вектор-…»» each; the reader reads 3 of them.
    for (let f = 0; f < 30; f++) {
      const folderId = await createFolder(admin, { libraryId, name: `Папка ${f}` });
      if (f % 10 === 0) await setFolderAccess(admin, folderId, [{ principalId: readerId, level: 'read' }]);
      await storeCounterparties(
        { folderId, libraryId },
        Array.from({ length: 40 }, (_, i) => `ООО «Вектор-${f}-${i}»`),
        adminId,
      );
    }
    reader = await signedIn(server, 'few.folders', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('a new installation has the one index; a reader of 3 of 30 folders reads the 120 cards of theirs having the word, not the 1,200', async () => {
    expect(await cardIndexes())
      .to.include('searchWords_1_folderId_1')
      .and.not.include('searchWords_1')
      .and.not.include('folderId_1_searchWords_1');
    const work = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'Вектор 7', first: 50 }));
    expect(work.result.search.map((hit) => hit.card.title).sort()).to.deep.equal(['ООО «Вектор-0-7»', 'ООО «Вектор-10-7»', 'ООО «Вектор-20-7»']);
    expect(work.asked.some((asked) => asked.includes('"hint":{"searchWords":1,"folderId":1}') && asked.includes('"folderId":{"$in"'))).to.equal(true);
    expect(work.cardsExamined).to.equal(120);
  });

  it('an installation with the two old indexes gets the new one, the old ones dropped, the log saying what is built and how long it took; run again, nothing changes', async () => {
    const cards = mongoose.connection.db!.collection('cards');
    await cards.dropIndex('searchWords_1_folderId_1');
    await cards.createIndex({ searchWords: 1 }, { name: 'searchWords_1' });
    await cards.createIndex({ folderId: 1, searchWords: 1 }, { name: 'folderId_1_searchWords_1' });
    const { logger, lines } = recordingLogger();
    await wordFolderIndexStep.up(mongoose.connection.db!, logger);
    const indexes = await cardIndexes();
    expect(indexes).to.include('searchWords_1_folderId_1').and.not.include('searchWords_1').and.not.include('folderId_1_searchWords_1');
    expect(lines.map((line) => line.msg)).to.deep.equal([
      'search: building the words index over the stored cards; the server answers once it is built',
      'search: the words index is built',
    ]);
    expect(lines[0]).to.include({ cards: 1200, index: 'searchWords_1_folderId_1' });
    expect(lines[1]!.seconds).to.be.a('number');
    const again = recordingLogger();
    await wordFolderIndexStep.up(mongoose.connection.db!, again.logger);
    expect(again.lines).to.deep.equal([]);
    expect(await cardIndexes()).to.deep.equal(indexes);
    const found = await reader.data<Hit>(SEARCH, { q: 'Вектор 7', first: 200 });
    expect(found.search.map((hit) => hit.card.title).sort()).to.deep.equal(['ООО «Вектор-0-7»', 'ООО «Вектор-10-7»', 'ООО «Вектор-20-7»']);
  });
});
