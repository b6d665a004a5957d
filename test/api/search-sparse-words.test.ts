import { expect } from 'chai';
import { Types } from 'mongoose';
import { Folder } from '../../server/src/folders/models';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createDepartment, createFolder, createLibrary, createUser } from '../support/fixtures';
import { searchWork, storeCounterparties } from '../support/search-work';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const SEARCH = 'query($q: String!, $first: Int) { search(query: $q, first: $first) { card { title } } }';
type Hit = { search: { card: { title: string } }[] };
const FOLDERS = 400;

/**
 * A reader of half the folders searches two words each common everywhere that few cards have
 * together (the benchmark's «ООО «Север-200»» at a million cards: «200», «север» and «ооо» walked
 * across all folders for 1,803 cards that held no hit, then the reader's folders visited anyway).
 * The walk across gives up after its first batch of each word found no hit, and the reader's folders
 * find the cards: the same hits, without reading cards of the whole installation for nothing.
 */
describe('search by words together rare, each common, for a reader of many folders (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let reader: ApiClient;

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    const admin = await signedIn(server);
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const departmentId = await createDepartment(admin, 'Чтение');
    const readerId = await createUser(admin, { login: 'half.reader', fullName: 'Читатель Половины', password: PASSWORD, departmentId });
    const libraryId = await createLibrary(admin, 'Много папок');
    const readable = [{ principalType: 'user', principalId: new Types.ObjectId(readerId), level: 'read' }];
    const folders = await Folder.insertMany(
      Array.from({ length: FOLDERS }, (_, i) => ({ libraryId: new Types.ObjectId(libraryId), name: `Папка ${i}`, order: i, accessEntries: i % 2 === 0 ? readable : [] })),
    );
    // Another folder through the API: the access snapshot is reloaded with the folders stored above.
    await createFolder(admin, { libraryId, name: 'Последняя' });
    // In every folder two «ООО «Вектор-…»» and two «ЗАО «Альфа-…»»: «вектор» and «зао» on 800 cards each, together on none of them.
    for (const [f, folder] of folders.entries()) {
      await storeCounterparties(
        { folderId: String(folder._id), libraryId },
        [`ООО «Вектор-${2 * f}»`, `ООО «Вектор-${2 * f + 1}»`, `ЗАО «Альфа-${2 * f}»`, `ЗАО «Альфа-${2 * f + 1}»`],
        adminId,
      );
    }
    // Stored last (at the ends of the words' ranges): the two cards with both words in folders the reader reads, and one elsewhere.
    for (const f of [10, 20, 31]) await storeCounterparties({ folderId: String(folders[f]!._id), libraryId }, [`ЗАО «Вектор-особый-${f}»`], adminId);
    reader = await signedIn(server, 'half.reader', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('«ЗАО Вектор» finds the two readable cards having both words, the walk across giving up after one batch of each word', async () => {
    const work = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'ЗАО Вектор', first: 30 }));
    expect(work.result.search.map((hit) => hit.card.title).sort()).to.deep.equal(['ЗАО «Вектор-особый-10»', 'ЗАО «Вектор-особый-20»']);
    // Across all folders: a batch of 50 of each word (no card of them has both), not 300 of each (3 per folder the reader reads, 600 in all);
    // then the reader's folders: «вектор» rare there (402 cards), read with «зао» checked by the database — the 2 hits sent.
    expect(work.ranges).to.deep.equal(['вектор', 'зао', 'вектор']);
    expect(work.cardsReturned).to.equal(50 + 50 + 2);
  });

  it('words many readable cards have together still fill the page from the walk across all folders', async () => {
    const work = await searchWork(() => reader.data<Hit>(SEARCH, { q: 'ООО Вектор', first: 30 }));
    expect(work.result.search).to.have.length(30);
    expect(work.asked.join(' ')).not.to.include('"folderId":{');
  });
});
