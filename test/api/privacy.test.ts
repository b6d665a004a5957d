import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createUser } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const USERS = '{ users(includeInactive: true) { id fullName department { name } login email active locale groups { name } } }';

interface UserRow {
  id: string;
  fullName: string;
  department: { name: string } | null;
  login: string | null;
  email: string | null;
  active: boolean | null;
  locale: string | null;
  groups: { name: string }[] | null;
}

describe('who may see what about colleagues (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let staff: ApiClient;
  let ids: Record<string, string>;
  let folderId: string;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'nvakulenko', fullName: 'Наталья Вакуленко', level: 'read' },
    ]);
    ids = scenario.userIds;
    folderId = scenario.folderId;
    const gone = await createUser(admin, { login: 'gone', fullName: 'Уволенный Сотрудник', password: PASSWORD, departmentId: scenario.departmentId });
    await admin.data('mutation($id: ID!) { setUserActive(id: $id, active: false) { id } }', { id: gone });
    await admin.data('mutation($id: ID!, $e: String) { updateUser(id: $id, input: { email: $e }) { id } }', { id: ids.nvakulenko, e: 'natalia@example.com' });
    staff = await signedIn(server, 'tgoncharenko', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('shows staff their colleagues’ names and departments only, and no deactivated accounts', async () => {
    const { users } = await staff.data<{ users: UserRow[] }>(USERS);
    expect(users.map((u) => u.fullName)).to.not.include('Уволенный Сотрудник');
    const natalia = users.find((u) => u.id === ids.nvakulenko)!;
    expect(natalia).to.deep.equal({
      id: ids.nvakulenko,
      fullName: 'Наталья Вакуленко',
      department: { name: 'Кассиопея' },
      login: null,
      email: null,
      active: null,
      locale: null,
      groups: null,
    });
    const administrator = users.find((u) => u.fullName === 'Администратор')!;
    expect(administrator.groups).to.equal(null);
    const self = users.find((u) => u.id === ids.tgoncharenko)!;
    expect(self).to.deep.include({ login: 'tgoncharenko', active: true, locale: 'ru' });
  });

  it('shows administrators everything, deactivated accounts and group memberships included', async () => {
    const { users } = await admin.data<{ users: UserRow[] }>(USERS);
    expect(users.find((u) => u.fullName === 'Уволенный Сотрудник')).to.deep.include({ login: 'gone', active: false });
    expect(users.find((u) => u.id === ids.nvakulenko)).to.deep.include({ login: 'nvakulenko', email: 'natalia@example.com' });
    expect(users.find((u) => u.fullName === 'Администратор')?.groups).to.deep.equal([{ name: 'Администраторы' }]);
  });

  it('does not tell staff who is in which group', async () => {
    const staffGroups = await staff.data<{ groups: { name: string; members: unknown[] | null }[] }>('{ groups { name members { id } } }');
    expect(staffGroups.groups.map((g) => g.members)).to.deep.equal(staffGroups.groups.map(() => null));
    const adminGroups = await admin.data<{ groups: { name: string; members: unknown[] | null }[] }>('{ groups { name members { id } } }');
    expect(adminGroups.groups.find((g) => g.name === 'Администраторы')?.members).to.have.length(1);
  });

  it('shows a folder manager who has access by name, without logins', async () => {
    const rows = await staff.data<{ effectiveAccess: { fullName: string; login: string | null }[] }>('query($f: ID!) { effectiveAccess(folderId: $f) { fullName login } }', {
      f: folderId,
    });
    expect(rows.effectiveAccess.map((r) => r.fullName)).to.include('Наталья Вакуленко');
    expect(rows.effectiveAccess.every((r) => r.login === null)).to.equal(true);
  });
});
