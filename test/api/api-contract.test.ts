import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { refusalFields, type ApiClient } from '../support/api-client';
import { createCorrespondents, createLibrary } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const ENTRY = 'principalType principalId level';
const GRANT_FOLDER = `mutation($id: ID!, $e: AccessEntryInput!) { grantFolderAccess(id: $id, entry: $e) { accessEntries { ${ENTRY} } } }`;
const REVOKE_FOLDER = `mutation($id: ID!, $p: ID!) { revokeFolderAccess(id: $id, principalType: user, principalId: $p) { accessEntries { ${ENTRY} } } }`;
const GRANT_LIBRARY = `mutation($id: ID!, $e: AccessEntryInput!) { grantLibraryAccess(id: $id, entry: $e) { id } }`;
const REVOKE_LIBRARY = `mutation($id: ID!, $p: ID!) { revokeLibraryAccess(id: $id, principalType: user, principalId: $p) { id } }`;
const FOLDERS = '{ folders { id name myAccess } }';
type Entry = { principalType: string; principalId: string; level: string };

/** Issue 14, item 17 and «API»: what a client of the GraphQL API was surprised by. */
describe('issue 14: the API says what it does — folder access one entry at a time, the creator’s level, null cards (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let tatiana: ApiClient;
  let natalia: ApiClient;
  let ids: { folderId: string; libraryId: string; userIds: Record<string, string> };
  const users = () => ids.userIds;

  const folderNames = async (client: ApiClient) =>
    (await client.data<{ folders: { name: string; myAccess: string }[] }>(FOLDERS)).folders.map((folder) => `${folder.name}:${folder.myAccess}`);
  const byPrincipal = (entries: Entry[]) => Object.fromEntries(entries.map((entry) => [entry.principalId, entry.level]));

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    ids = await createCorrespondents(admin, PASSWORD, [
      { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'nvakulenko', fullName: 'Наталья Вакуленко', level: 'read' },
    ]);
    tatiana = await signedIn(server, 'tgoncharenko', PASSWORD);
    natalia = await signedIn(server, 'nvakulenko', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('item 17: createFolder answers with the creator’s own level on the new folder, as a fresh query does', async () => {
    const library = await createLibrary(admin, 'Договоры');
    const created = await admin.data<{ createFolder: { id: string; myAccess: string } }>('mutation($i: FolderInput!) { createFolder(input: $i) { id myAccess } }', {
      i: { libraryId: library, name: 'Договоры 2026' },
    });
    expect(created.createFolder.myAccess).to.equal('full');
    const sub = await tatiana.data<{ createFolder: { id: string; myAccess: string } }>('mutation($i: FolderInput!) { createFolder(input: $i) { id myAccess } }', {
      i: { parentId: ids.folderId, name: 'Поставщики' },
    });
    expect(sub.createFolder.myAccess).to.equal('full');
    expect(await folderNames(tatiana)).to.include('Поставщики:full');
  });

  it('grantFolderAccess from two administrators at once keeps both entries and the existing ones; revokeFolderAccess removes one', async () => {
    const library = await createLibrary(admin, 'Коммерческие предложения');
    const folder = (await admin.data<{ createFolder: { id: string } }>('mutation($i: FolderInput!) { createFolder(input: $i) { id } }', { i: { libraryId: library, name: 'КП' } }))
      .createFolder.id;
    const second = await signedIn(server);
    const [one, two] = await Promise.all([
      admin.data<{ grantFolderAccess: { accessEntries: Entry[] } }>(GRANT_FOLDER, { id: folder, e: { principalType: 'user', principalId: users().tgoncharenko, level: 'edit' } }),
      second.data<{ grantFolderAccess: { accessEntries: Entry[] } }>(GRANT_FOLDER, { id: folder, e: { principalType: 'user', principalId: users().nvakulenko, level: 'read' } }),
    ]);
    expect(one.grantFolderAccess.accessEntries.length + two.grantFolderAccess.accessEntries.length).to.be.at.least(3);
    const entries = await admin.data<{ folder: { accessEntries: Entry[] } }>(`query($id: ID!) { folder(id: $id) { accessEntries { ${ENTRY} } } }`, { id: folder });
    expect(byPrincipal(entries.folder.accessEntries)).to.deep.equal({ [users().tgoncharenko]: 'edit', [users().nvakulenko]: 'read' });
    expect(await folderNames(natalia)).to.include('КП:read');
    expect(await folderNames(tatiana)).to.include('КП:edit');

    // Granting again replaces that principal's entry only.
    const raised = await admin.data<{ grantFolderAccess: { accessEntries: Entry[] } }>(GRANT_FOLDER, {
      id: folder,
      e: { principalType: 'user', principalId: users().nvakulenko, level: 'full' },
    });
    expect(byPrincipal(raised.grantFolderAccess.accessEntries)).to.deep.equal({ [users().tgoncharenko]: 'edit', [users().nvakulenko]: 'full' });
    const revoked = await admin.data<{ revokeFolderAccess: { accessEntries: Entry[] } }>(REVOKE_FOLDER, { id: folder, p: users().tgoncharenko });
    expect(byPrincipal(revoked.revokeFolderAccess.accessEntries)).to.deep.equal({ [users().nvakulenko]: 'full' });
    expect((await folderNames(tatiana)).some((name) => name.startsWith('КП:'))).to.equal(false);

    const audit = await admin.data<{ auditLog: { edges: { node: { targetId: string; summary: string; before: Entry[]; after: Entry[] } }[] } }>(
      '{ auditLog(kind: "access-changed", first: 5) { edges { node { targetId summary before after } } } }',
    );
    const [latest] = audit.auditLog.edges.map((edge) => edge.node);
    expect(latest).to.deep.include({ targetId: folder, summary: 'entry removed', after: [] });
    expect(latest.before.map((entry) => [entry.principalId, entry.level])).to.deep.equal([[users().tgoncharenko, 'edit']]);
  });

  it('refuses a grant naming nobody at entry.principalId, and a revoke by someone without full access', async () => {
    const refused = await admin.request(GRANT_FOLDER, { id: ids.folderId, e: { principalType: 'user', principalId: '0123456789abcdef01234567', level: 'read' } });
    expect(refusalFields(refused))
      .to.have.property('entry.principalId')
      .that.match(/не найден/);
    const forbidden = await natalia.request(REVOKE_FOLDER, { id: ids.folderId, p: users().tgoncharenko });
    expect(forbidden.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    expect(await folderNames(tatiana)).to.include('Корреспонденты:full');
  });

  it('grantLibraryAccess and revokeLibraryAccess change one entry of a library, which its folders inherit', async () => {
    const library = await createLibrary(admin, 'Архив');
    await admin.data('mutation($i: FolderInput!) { createFolder(input: $i) { id } }', { i: { libraryId: library, name: 'Архив 2025' } });
    await admin.data(GRANT_LIBRARY, { id: library, e: { principalType: 'user', principalId: users().nvakulenko, level: 'read' } });
    await admin.data(GRANT_LIBRARY, { id: library, e: { principalType: 'user', principalId: users().tgoncharenko, level: 'edit' } });
    expect(await folderNames(natalia)).to.include('Архив 2025:read');
    expect(await folderNames(tatiana)).to.include('Архив 2025:edit');
    await admin.data(REVOKE_LIBRARY, { id: library, p: users().nvakulenko });
    expect((await folderNames(natalia)).some((name) => name.startsWith('Архив 2025'))).to.equal(false);
    expect(await folderNames(tatiana)).to.include('Архив 2025:edit');
    const notAdmin = await tatiana.request(GRANT_LIBRARY, { id: library, e: { principalType: 'user', principalId: users().nvakulenko, level: 'full' } });
    expect(notAdmin.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
  });

  it('card(id) answers null alike for a card that does not exist and one the viewer may not read', async () => {
    const library = await createLibrary(admin, 'Закрытая');
    const closed = (
      await admin.data<{ createFolder: { id: string } }>('mutation($i: FolderInput!) { createFolder(input: $i) { id } }', {
        i: { libraryId: library, name: 'Закрытая папка', allowedCardTypes: ['counterparty'] },
      })
    ).createFolder.id;
    const secret = (
      await admin.data<{ createCard: { id: string } }>('mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Тайна»" }) { id } }', {
        f: closed,
      })
    ).createCard.id;
    const unreadable = await natalia.request('query($id: ID!) { card(id: $id) { id } }', { id: secret });
    const missing = await natalia.request('query($id: ID!) { card(id: $id) { id } }', { id: '0123456789abcdef01234567' });
    expect(unreadable).to.deep.equal({ status: 200, data: { card: null } });
    expect(missing).to.deep.equal(unreadable);
  });

  it('revertCard needs the history readers’ group as well as editing, as its description says', async () => {
    const card = (
      await tatiana.data<{ createCard: { id: string; version: number } }>(
        'mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Откат»" }) { id version } }',
        { f: ids.folderId },
      )
    ).createCard;
    const refused = await tatiana.request('mutation($id: ID!, $at: DateTime!, $v: Int!) { revertCard(cardId: $id, at: $at, version: $v) { id } }', {
      id: card.id,
      at: new Date().toISOString(),
      v: card.version,
    });
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    const schema = await admin.data<{ __type: { fields: { name: string; description: string }[] } }>('{ __type(name: "Mutation") { fields { name description } } }');
    expect(schema.__type.fields.find((field) => field.name === 'revertCard')?.description).to.contain('Операторы чтения истории');
  });

  it('unreadCounts lists only folders with something unread, as its description says', async () => {
    const counts = async () => (await natalia.data<{ unreadCounts: { folderId: string; count: number }[] }>('{ unreadCounts { folderId count } }')).unreadCounts;
    await natalia.data('mutation($f: ID!) { markFolderRead(folderId: $f) }', { f: ids.folderId });
    expect(await counts()).to.deep.equal([]);
    const created = await tatiana.data<{ createCard: { id: string } }>(
      'mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Новое»" }) { id } }',
      { f: ids.folderId },
    );
    expect(await counts()).to.deep.equal([{ folderId: ids.folderId, count: 1 }]);
    await natalia.data('mutation($id: ID!) { openCard(id: $id) { id } }', { id: created.createCard.id });
    expect(await counts()).to.deep.equal([]);
  });
});
