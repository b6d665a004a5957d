import { createMongoAbility, subject, type MongoAbility } from '@casl/ability';
import { unpackRules, type PackRule } from '@casl/ability/extra';
import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { ApiClient } from '../support/api-client';
import { signedIn, startTestServer } from '../support/server';

const CREATE_DEPARTMENT = 'mutation($input: DepartmentInput!) { createDepartment(input: $input) { id name } }';
const CREATE_USER = 'mutation($input: CreateUserInput!) { createUser(input: $input) { id login fullName } }';
const CREATE_LIBRARY = 'mutation($name: String!) { createLibrary(name: $name) { id name } }';
const CREATE_FOLDER = 'mutation($input: FolderInput!) { createFolder(input: $input) { id name } }';
const SET_ACCESS = 'mutation($id: ID!, $entries: [AccessEntryInput!]!) { setFolderAccess(id: $id, entries: $entries) { id accessEntries { principalName level } } }';
const FOLDERS = '{ libraries { name folders { id name myAccess } } folders { id name } }';
const RENAME_FOLDER = 'mutation($id: ID!, $name: String!) { updateFolder(id: $id, input: { name: $name }) { id name } }';
const PASSWORD = 'secret-password-1';

describe('people, sign-in and folder permissions (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let admin: ApiClient;
  const ids: Record<string, string> = {};

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
  });
  after(async () => {
    await server?.stop();
  });

  const createUser = async (login: string, fullName: string, departmentId: string) => {
    const data = await admin.data<{ createUser: { id: string } }>(CREATE_USER, { input: { login, fullName, password: PASSWORD, departmentId } });
    return data.createUser.id;
  };

  describe('the scenario: «Кассиопея» shares «Корреспонденты»', () => {
    before(async () => {
      ids.cassiopeia = (await admin.data<{ createDepartment: { id: string } }>(CREATE_DEPARTMENT, { input: { name: 'Кассиопея' } })).createDepartment.id;
      ids.others = (await admin.data<{ createDepartment: { id: string } }>(CREATE_DEPARTMENT, { input: { name: 'Бухгалтерия' } })).createDepartment.id;
      ids.tatiana = await createUser('tgoncharenko', 'Татьяна Гончаренко', ids.cassiopeia);
      ids.natalia = await createUser('nvakulenko', 'Наталья Вакуленко', ids.cassiopeia);
      ids.reader = await createUser('reader', 'Пётр Читатель', ids.others);
      ids.outsider = await createUser('outsider', 'Олег Посторонний', ids.others);
      ids.library = (await admin.data<{ createLibrary: { id: string } }>(CREATE_LIBRARY, { name: 'Корреспонденты и контакты' })).createLibrary.id;
      ids.folder = (await admin.data<{ createFolder: { id: string } }>(CREATE_FOLDER, { input: { libraryId: ids.library, name: 'Корреспонденты' } })).createFolder.id;
      const access = await admin.data<{ setFolderAccess: { accessEntries: { principalName: string; level: string }[] } }>(SET_ACCESS, {
        id: ids.folder,
        entries: [
          { principalType: 'user', principalId: ids.tatiana, level: 'full' },
          { principalType: 'user', principalId: ids.natalia, level: 'full' },
          { principalType: 'user', principalId: ids.reader, level: 'read' },
        ],
      });
      expect(access.setFolderAccess.accessEntries.map((e) => `${e.principalName}:${e.level}`)).to.deep.equal([
        'Татьяна Гончаренко:full',
        'Наталья Вакуленко:full',
        'Пётр Читатель:read',
      ]);
    });

    it('both colleagues see the folder with full access and may rename it', async () => {
      for (const login of ['tgoncharenko', 'nvakulenko']) {
        const client = await signedIn(server, login, PASSWORD);
        const data = await client.data<{ libraries: { name: string; folders: { name: string; myAccess: string }[] }[] }>(FOLDERS);
        expect(data.libraries).to.deep.equal([{ name: 'Корреспонденты и контакты', folders: [{ id: ids.folder, name: 'Корреспонденты', myAccess: 'full' }] }]);
        const renamed = await client.data<{ updateFolder: { name: string } }>(RENAME_FOLDER, { id: ids.folder, name: 'Корреспонденты' });
        expect(renamed.updateFolder.name).to.equal('Корреспонденты');
      }
    });

    it('a reader sees the folder but cannot change it or its access', async () => {
      const reader = await signedIn(server, 'reader', PASSWORD);
      const data = await reader.data<{ folders: { name: string }[] }>(FOLDERS);
      expect(data.folders.map((f) => f.name)).to.deep.equal(['Корреспонденты']);
      const rename = await reader.request(RENAME_FOLDER, { id: ids.folder, name: 'Моя папка' });
      expect(rename.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
      expect(rename.errors?.[0].message).to.contain('Недостаточно прав');
      const grant = await reader.request(SET_ACCESS, { id: ids.folder, entries: [{ principalType: 'user', principalId: ids.reader, level: 'full' }] });
      expect(grant.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
      const entries = await reader.data<{ folder: { accessEntries: unknown } }>('query($id: ID!) { folder(id: $id) { accessEntries { level } } }', { id: ids.folder });
      expect(entries.folder.accessEntries).to.equal(null);
    });

    it('a user with no entry cannot see the folder or its library, not even by id', async () => {
      const outsider = await signedIn(server, 'outsider', PASSWORD);
      const data = await outsider.data<{ libraries: unknown[]; folders: unknown[] }>(FOLDERS);
      expect(data).to.deep.equal({ libraries: [], folders: [] });
      const byId = await outsider.data<{ folder: unknown; library: unknown }>('query($f: ID!, $l: ID!) { folder(id: $f) { name } library(id: $l) { name } }', {
        f: ids.folder,
        l: ids.library,
      });
      expect(byId).to.deep.equal({ folder: null, library: null });
      const rename = await outsider.request(RENAME_FOLDER, { id: ids.folder, name: 'x' });
      expect(rename.errors?.[0].extensions?.code).to.equal('NOT_FOUND');
      const effective = await outsider.request('query($id: ID!) { effectiveAccess(folderId: $id) { userId } }', { id: ids.folder });
      expect(effective.errors?.[0].extensions?.code).to.equal('NOT_FOUND');
    });

    it('explains effective access: who, at what level, from which entry', async () => {
      const tatiana = await signedIn(server, 'tgoncharenko', PASSWORD);
      const data = await tatiana.data<{ effectiveAccess: { fullName: string; level: string; reasons: { sourceName: string; inherited: boolean }[] }[] }>(
        'query($id: ID!) { effectiveAccess(folderId: $id) { fullName level reasons { sourceName inherited } } }',
        { id: ids.folder },
      );
      const rows = Object.fromEntries(data.effectiveAccess.map((row) => [row.fullName, row.level]));
      expect(rows).to.include({ 'Татьяна Гончаренко': 'full', 'Наталья Вакуленко': 'full', 'Пётр Читатель': 'read', Администратор: 'full' });
      expect(rows).to.not.have.property('Олег Посторонний');
    });

    it('sub-folders inherit until they stop, and stopping keeps everyone’s access as it was', async () => {
      const tatiana = await signedIn(server, 'tgoncharenko', PASSWORD);
      const child = await tatiana.data<{ createFolder: { id: string } }>(CREATE_FOLDER, { input: { parentId: ids.folder, name: 'Архив' } });
      const reader = await signedIn(server, 'reader', PASSWORD);
      const visible = async () => (await reader.data<{ folders: { name: string }[] }>(FOLDERS)).folders.map((f) => f.name).sort();
      expect(await visible()).to.deep.equal(['Архив', 'Корреспонденты']);
      const stopped = await tatiana.data<{ setFolderInheritance: { inheritsAccess: boolean; accessEntries: { principalName: string; level: string }[] } }>(
        'mutation($id: ID!) { setFolderInheritance(id: $id, inherits: false) { inheritsAccess accessEntries { principalName level } } }',
        { id: child.createFolder.id },
      );
      expect(stopped.setFolderInheritance.inheritsAccess).to.equal(false);
      expect(stopped.setFolderInheritance.accessEntries).to.have.length(3);
      expect(await visible()).to.deep.equal(['Архив', 'Корреспонденты']);
      // Now the parent's entries no longer reach the child.
      await admin.data(SET_ACCESS, {
        id: ids.folder,
        entries: [
          { principalType: 'user', principalId: ids.tatiana, level: 'full' },
          { principalType: 'user', principalId: ids.natalia, level: 'full' },
        ],
      });
      expect(await visible()).to.deep.equal(['Архив']);
      await admin.data(SET_ACCESS, {
        id: ids.folder,
        entries: [
          { principalType: 'user', principalId: ids.tatiana, level: 'full' },
          { principalType: 'user', principalId: ids.natalia, level: 'full' },
          { principalType: 'user', principalId: ids.reader, level: 'read' },
        ],
      });
    });

    it('refuses to delete a folder that still has sub-folders', async () => {
      const result = await admin.request('mutation($id: ID!) { deleteFolder(id: $id) }', { id: ids.folder });
      expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
      expect(result.errors?.[0].message).to.contain('Папка не пуста');
    });

    it('gives department entries to sub-departments only when asked to', async () => {
      const sub = await admin.data<{ createDepartment: { id: string } }>(CREATE_DEPARTMENT, { input: { name: 'Кассиопея — филиал', parentId: ids.cassiopeia } });
      await createUser('branch', 'Вера Филиальная', sub.createDepartment.id);
      const library = await admin.data<{ createLibrary: { id: string } }>(CREATE_LIBRARY, { name: 'Отдел' });
      const folder = await admin.data<{ createFolder: { id: string } }>(CREATE_FOLDER, { input: { libraryId: library.createLibrary.id, name: 'Общая' } });
      const branch = await signedIn(server, 'branch', PASSWORD);
      const sees = async () => (await branch.data<{ folders: { name: string }[] }>(FOLDERS)).folders.some((f) => f.name === 'Общая');
      await admin.data(SET_ACCESS, { id: folder.createFolder.id, entries: [{ principalType: 'department', principalId: ids.cassiopeia, level: 'read' }] });
      expect(await sees()).to.equal(false);
      await admin.data(SET_ACCESS, {
        id: folder.createFolder.id,
        entries: [{ principalType: 'department', principalId: ids.cassiopeia, includeSubdepartments: true, level: 'read' }],
      });
      expect(await sees()).to.equal(true);
    });

    it('packs the viewer’s CASL rules for the client: it may read the folder and its cards, not change them', async () => {
      const reader = await signedIn(server, 'reader', PASSWORD);
      const data = await reader.data<{ viewer: { isAdmin: boolean; rules: PackRule<never>[] } }>('{ viewer { isAdmin rules } }');
      expect(data.viewer.isAdmin).to.equal(false);
      // The client's ability, built as client/src/stores/session.ts builds it.
      const ability: MongoAbility = createMongoAbility(unpackRules(data.viewer.rules));
      const folder = subject('Folder', { folderId: ids.folder, libraryId: ids.library, parentId: null });
      const card = subject('Card', { folderId: ids.folder, libraryId: ids.library });
      expect([ability.can('read', folder), ability.can('read', card)]).to.deep.equal([true, true]);
      expect([ability.can('manageAccess', folder), ability.can('update', card), ability.can('delete', card)]).to.deep.equal([false, false, false]);
      const elsewhere = subject('Card', { folderId: ids.others, libraryId: ids.others });
      expect(ability.can('read', elsewhere)).to.equal(false);
    });
  });

  describe('users and administration', () => {
    it('rejects a taken login whatever its case, with the message at the field', async () => {
      const result = await admin.request(CREATE_USER, { input: { login: 'TGONCHARENKO', fullName: 'Другая Татьяна', password: PASSWORD, departmentId: ids.cassiopeia } });
      expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
      expect(result.errors?.[0].extensions?.fields).to.deep.equal({ login: 'Логин «TGONCHARENKO» уже занят' });
    });

    it('requires login, name and password, each reported at its field', async () => {
      const result = await admin.request(CREATE_USER, { input: { login: ' ', fullName: '', password: 'short', departmentId: ids.cassiopeia } });
      expect(result.errors?.[0].extensions?.fields).to.deep.equal({
        login: 'Обязательное поле',
        fullName: 'Обязательное поле',
        password: 'Пароль должен быть не короче 8 символов',
      });
    });

    it('keeps the administration API from non-administrators', async () => {
      const tatiana = await signedIn(server, 'tgoncharenko', PASSWORD);
      const result = await tatiana.request(CREATE_DEPARTMENT, { input: { name: 'Тайный отдел' } });
      expect(result.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
      const audit = await tatiana.request('{ auditLog { totalCount } }');
      expect(audit.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    });

    it('answers UNAUTHENTICATED without a session', async () => {
      const anonymous = new ApiClient(server.url);
      expect((await anonymous.data<{ viewer: unknown }>('{ viewer { isAdmin } }')).viewer).to.equal(null);
      const result = await anonymous.request(FOLDERS);
      expect(result.errors?.[0].extensions?.code).to.equal('UNAUTHENTICATED');
    });

    it('records access changes with before and after in the audit log', async () => {
      const data = await admin.data<{
        auditLog: { totalCount: number; edges: { node: { kind: string; targetId: string; before: unknown; after: { principalId: string; level: string }[] } }[] };
      }>('{ auditLog(kind: "access-changed", first: 50) { totalCount edges { node { kind targetId before after } } } }');
      const first = data.auditLog.edges.findLast((e) => e.node.targetId === ids.folder);
      expect(first?.node.before).to.deep.equal([]);
      expect(first?.node.after.map((e) => e.level)).to.deep.equal(['full', 'full', 'read']);
    });
  });
});
