import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createDepartment, createFolder, createLibrary, createUser, setFolderAccess } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const PAGE = `query($after: String, $folderId: ID, $search: String, $first: Int) {
  trashPage(first: $first, after: $after, folderId: $folderId, search: $search) { totalCount pageInfo { hasNextPage endCursor } edges { node { title } } }
}`;

interface TrashPage {
  trashPage: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { title: string } }[] };
}

/**
 * The trash at a real size (issue 14, s9 user U18): a card deleted before many others is still
 * reached — page after page, by words, by folder — and only where the viewer may restore.
 */
describe('the trash a page at a time (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let reader: ApiClient;
  let folders: { main: string; other: string };

  const page = async (client: ApiClient, variables: Record<string, unknown>) => (await client.data<TrashPage>(PAGE, variables)).trashPage;
  const titles = (found: TrashPage['trashPage']) => found.edges.map((edge) => edge.node.title);

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const library = await createLibrary(admin, 'Клиенты');
    folders = {
      main: await createFolder(admin, { libraryId: library, name: 'Основная', allowedCardTypes: ['counterparty'] }),
      other: await createFolder(admin, { libraryId: library, name: 'Другая', allowedCardTypes: ['counterparty'] }),
    };
    const department = await createDepartment(admin, 'Отдел');
    const readerId = await createUser(admin, { login: 'reader', fullName: 'Читатель Один', password: PASSWORD, departmentId: department });
    await setFolderAccess(admin, folders.main, [{ principalType: 'user', principalId: readerId, level: 'edit' }]);
    reader = await signedIn(server, 'reader', PASSWORD);
    const trashed = async (folderId: string, name: string) => {
      const created = await admin.data<{ createCard: { id: string } }>('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', {
        f: folderId,
        v: { name },
      });
      await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: created.createCard.id });
    };
    // Deleted first, then 120 others after it.
    await trashed(folders.main, 'ООО «Удалённая раньше всех»');
    for (let index = 1; index <= 120; index += 1) await trashed(index % 4 === 0 ? folders.other : folders.main, `ООО «Уборка ${index}»`);
  });
  after(async () => {
    await server?.stop();
  });

  it('pages the latest deleted first with how many there are, down to the earliest', async () => {
    const first = await page(admin, { first: 50 });
    expect(first.totalCount).to.equal(121);
    expect(titles(first)[0]).to.equal('ООО «Уборка 120»');
    expect(first.pageInfo.hasNextPage).to.equal(true);
    const seen = [...titles(first)];
    let after = first.pageInfo.endCursor;
    while (after) {
      const next = await page(admin, { first: 50, after });
      seen.push(...titles(next));
      after = next.pageInfo.hasNextPage ? next.pageInfo.endCursor : null;
    }
    expect(seen).to.have.length(121);
    expect(new Set(seen).size).to.equal(121);
    expect(seen.at(-1)).to.equal('ООО «Удалённая раньше всех»');
  });

  it('finds a card by its words (ё as е, any case) and narrows to a folder', async () => {
    const found = await page(admin, { search: 'удаленная' });
    expect(titles(found)).to.deep.equal(['ООО «Удалённая раньше всех»']);
    expect(found.totalCount).to.equal(1);
    const inOther = await page(admin, { folderId: folders.other, first: 200 });
    expect(inOther.totalCount).to.equal(30);
    expect(titles(inOther).every((title) => Number(/\d+/.exec(title)![0]) % 4 === 0)).to.equal(true);
  });

  it('shows a user only what they may restore: nothing with edit access, and refuses a bad folder id or cursor with field messages', async () => {
    expect((await page(reader, {})).totalCount).to.equal(0);
    const badFolder = await reader.request(PAGE, { folderId: 'не-id' });
    expect(badFolder.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    expect(badFolder.errors?.[0].extensions?.fields).to.have.property('folderId');
    const badCursor = await admin.request(PAGE, { after: 'x'.repeat(40) });
    expect(badCursor.errors?.[0].extensions?.fields).to.have.property('after');
  });
});
