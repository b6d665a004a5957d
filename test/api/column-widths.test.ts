import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { refusalFields, type ApiClient } from '../support/api-client';
import { createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const READ = 'query($f: ID!) { columnWidths(folderId: $f) }';
const SET = 'mutation($f: ID!, $w: JSON!) { setColumnWidths(folderId: $f, widths: $w) }';

/** Column widths (#14 item 8): a preference of the person, stored on the server, checked like any input. */
describe('issue 14: column widths are kept per user on the server', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folderId: string;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    ({ folderId } = await createCorrespondents(admin, PASSWORD, [{ login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', level: 'edit' }]));
    await createCorrespondentsOutsider();
  });
  after(async () => {
    await server?.stop();
  });

  async function createCorrespondentsOutsider(): Promise<void> {
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    await admin.data('mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { login: 'outsider', fullName: 'Посторонний', password: PASSWORD, departmentId },
    });
  }

  it('widths set in one session are read in another of the same user, and by no one else', async () => {
    const tatiana = await signedIn(server, 'tgoncharenko', PASSWORD);
    expect((await tatiana.data<{ columnWidths: object }>(READ, { f: folderId })).columnWidths).to.deep.equal({});
    expect((await tatiana.data<{ setColumnWidths: object }>(SET, { f: folderId, w: { title: 420, phone: 160 } })).setColumnWidths).to.deep.equal({ title: 420, phone: 160 });
    const laptop = await signedIn(server, 'tgoncharenko', PASSWORD);
    expect((await laptop.data<{ columnWidths: object }>(READ, { f: folderId })).columnWidths).to.deep.equal({ title: 420, phone: 160 });
    expect((await admin.data<{ columnWidths: object }>(READ, { f: folderId })).columnWidths).to.deep.equal({});
    // Replaced as a whole: a column set back to the list's own width is gone.
    await laptop.data(SET, { f: folderId, w: { title: 380 } });
    expect((await tatiana.data<{ columnWidths: object }>(READ, { f: folderId })).columnWidths).to.deep.equal({ title: 380 });
  });

  it('refuses widths out of bounds, odd keys, too many columns and a folder the user may not read, at the field', async () => {
    const tatiana = await signedIn(server, 'tgoncharenko', PASSWORD);
    expect(refusalFields(await tatiana.request(SET, { f: folderId, w: { title: 20 } }))).to.deep.equal({ 'widths.title': 'Ширина — целое число пикселей от 60 до 1200' });
    expect(refusalFields(await tatiana.request(SET, { f: folderId, w: { phone: 150.5 } }))).to.deep.equal({ 'widths.phone': 'Ширина — целое число пикселей от 60 до 1200' });
    expect(refusalFields(await tatiana.request(SET, { f: folderId, w: { 'values.$where': 100 } }))).to.deep.equal({ widths: 'Неверный ключ столбца: values.$where' });
    const many = Object.fromEntries(Array.from({ length: 61 }, (_, n) => [`field${n}`, 100]));
    expect(refusalFields(await tatiana.request(SET, { f: folderId, w: many }))).to.deep.equal({ widths: 'Не больше 60 элементов' });
    expect(refusalFields(await tatiana.request(SET, { f: folderId, w: [100] }))).to.deep.equal({ widths: 'Ожидается объект «столбец → ширина»' });
    expect((await tatiana.data<{ columnWidths: object }>(READ, { f: folderId })).columnWidths).to.deep.equal({ title: 380 });
    const outsider = await signedIn(server, 'outsider', PASSWORD);
    const refused = await outsider.request(SET, { f: folderId, w: { title: 300 } });
    expect(refused.errors?.[0].extensions?.code).to.equal('NOT_FOUND');
  });
});
