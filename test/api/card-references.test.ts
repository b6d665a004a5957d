import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const REFERENCES = 'references { fieldKey id title accessible inTrash deleted }';
const CREATE = `mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version ${REFERENCES} } }`;
const UPDATE = `mutation($id: ID!, $version: Int!, $v: JSON!) { updateCard(id: $id, version: $version, values: $v) { id version values ${REFERENCES} } }`;

interface Reference {
  fieldKey: string;
  id: string;
  title: string | null;
  accessible: boolean;
  inTrash: boolean;
  deleted: boolean;
}
interface Saved {
  id: string;
  version: number;
  values: Record<string, unknown>;
  references: Reference[];
}

describe('references to cards out of sight or in the trash (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let folderId: string;
  let hiddenFolder: string;

  const create = async (client: ApiClient, f: string, t: string, v: Record<string, unknown>) => (await client.data<{ createCard: Saved }>(CREATE, { f, t, v })).createCard;
  const update = (client: ApiClient, card: Saved, v: Record<string, unknown>) => client.request<{ updateCard: Saved }>(UPDATE, { id: card.id, version: card.version, v });

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'editor', fullName: 'Редактор', level: 'edit' }]);
    folderId = scenario.folderId;
    hiddenFolder = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Закрытая', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, hiddenFolder, []);
    editor = await signedIn(server, 'editor', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('lets an editor save a card whose unchanged reference points to a card they cannot read', async () => {
    const secret = await create(admin, hiddenFolder, 'counterparty', { name: 'Тайный контрагент' });
    const contact = await create(admin, folderId, 'contact-person', { fullName: 'Связной', counterparty: secret.id });
    const saved = await update(editor, contact, { position: 'Курьер' });
    expect(saved.errors).to.equal(undefined);
    expect(saved.data?.updateCard.values).to.deep.include({ position: 'Курьер', counterparty: secret.id });
    expect(saved.data?.updateCard.references).to.deep.equal([{ fieldKey: 'counterparty', id: secret.id, title: null, accessible: false, inTrash: false, deleted: false }]);
  });

  it('still refuses a reference the change adds to a card the editor cannot read', async () => {
    const secret = await create(admin, hiddenFolder, 'counterparty', { name: 'Ещё один тайный' });
    const open = await create(editor, folderId, 'counterparty', { name: 'Открытый' });
    const contact = await create(editor, folderId, 'contact-person', { fullName: 'Меняющий', counterparty: open.id });
    const refused = await update(editor, contact, { counterparty: secret.id });
    expect(refused.errors?.[0].extensions?.fields).to.deep.equal({ counterparty: 'Карточка не найдена' });
  });

  it('keeps a reference to a trashed card, shows it as in the trash, and refuses adding one', async () => {
    const gone = await create(editor, folderId, 'counterparty', { name: 'Ушедший контрагент' });
    const contact = await create(editor, folderId, 'contact-person', { fullName: 'Оставшийся', counterparty: gone.id });
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: gone.id });
    for (const client of [editor, admin]) {
      const current = (await client.data<{ card: Saved }>(`query($id: ID!) { card(id: $id) { id version values ${REFERENCES} } }`, { id: contact.id })).card;
      expect(current.references).to.deep.equal([{ fieldKey: 'counterparty', id: gone.id, title: 'Ушедший контрагент', accessible: true, inTrash: true, deleted: false }]);
      const saved = await update(client, current, { position: client === editor ? 'Бухгалтер' : 'Главный бухгалтер' });
      expect(saved.errors, JSON.stringify(saved.errors)).to.equal(undefined);
    }
    const trashed = await editor.request(CREATE, { f: folderId, t: 'contact-person', v: { fullName: 'Не выйдет', counterparty: gone.id } });
    expect(trashed.errors?.[0].extensions?.fields).to.deep.equal({ counterparty: 'Карточка не найдена' });
  });

  it('says a referenced card was deleted for good, where a hidden one reads «нет доступа»', async () => {
    const gone = await create(editor, folderId, 'counterparty', { name: 'Удалённый контрагент' });
    const contact = await create(editor, folderId, 'contact-person', { fullName: 'Осиротевший', counterparty: gone.id });
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: gone.id });
    await admin.data('mutation($id: ID!) { purgeCard(id: $id) }', { id: gone.id });
    for (const client of [editor, admin]) {
      const current = (await client.data<{ card: Saved }>(`query($id: ID!) { card(id: $id) { id version values ${REFERENCES} } }`, { id: contact.id })).card;
      expect(current.references).to.deep.equal([{ fieldKey: 'counterparty', id: gone.id, title: null, accessible: false, inTrash: false, deleted: true }]);
    }
  });

  it('refuses values that are not an object at `values`, naming it once', async () => {
    for (const values of ['name', 42, ['name'], true]) {
      const result = await editor.request(CREATE, { f: folderId, t: 'counterparty', v: values });
      expect(result.errors?.[0].extensions?.fields, JSON.stringify(values)).to.deep.equal({ values: 'Ожидаются значения полей: объект вида {"ключ поля": значение}' });
    }
  });
});
