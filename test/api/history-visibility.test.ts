import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version } }';
const HISTORY = `query($id: ID!, $after: String) { cardHistory(cardId: $id, after: $after) { edges { node { action changes {
  key before after beforeTitles afterTitles beforeHidden afterHidden } } } } }`;

interface Change {
  key: string;
  before: unknown;
  after: unknown;
  beforeTitles: Record<string, string | null> | null;
  afterTitles: Record<string, string | null> | null;
  beforeHidden: boolean;
  afterHidden: boolean;
}
interface History {
  cardHistory: { edges: { node: { action: string; changes: Change[] } }[] };
}

describe('history shows only what its reader may see (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let auditor: ApiClient;
  let open: string;
  let closed: string;

  const create = async (folderId: string, typeKey: string, values: Record<string, unknown>) =>
    (await admin.data<{ createCard: { id: string; version: number } }>(CREATE, { f: folderId, t: typeKey, v: values })).createCard;
  const changesOf = async (client: ApiClient, id: string, action: string) =>
    (await client.data<History>(HISTORY, { id })).cardHistory.edges.find((edge) => edge.node.action === action)!.node.changes;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'auditor', fullName: 'Аудитор', level: 'read' }]);
    open = scenario.folderId;
    closed = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Секретная папка', allowedCardTypes: ['counterparty', 'contact-person'] });
    await setFolderAccess(admin, closed, []);
    for (const typeKey of ['counterparty', 'contact-person']) {
      await admin.data('mutation($t: String!) { setCardTypeHistory(typeKey: $t, enabled: true) { historyEnabled } }', { t: typeKey });
    }
    const readers = (await admin.data<{ groups: { id: string; systemRole: string | null }[] }>('{ groups { id systemRole } }')).groups.find(
      (g) => g.systemRole === 'history-readers',
    )!;
    await admin.data('mutation($id: ID!, $u: [ID!]) { changeGroupMembers(id: $id, add: $u) { id } }', { id: readers.id, u: [scenario.userIds.auditor] });
    auditor = await signedIn(server, 'auditor', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('withholds the title of a referenced card in a folder the reader cannot read, and keeps visible ones', async () => {
    const secret = await create(closed, 'counterparty', { name: 'Тайный контрагент' });
    const known = await create(open, 'counterparty', { name: 'Известный контрагент' });
    const contact = await create(open, 'contact-person', { fullName: 'Связной', counterparty: secret.id });
    const [change] = (await changesOf(auditor, contact.id, 'create')).filter((c) => c.key === 'counterparty');
    expect(change.afterTitles).to.deep.equal({ [secret.id]: null });
    expect(JSON.stringify(await auditor.data(HISTORY, { id: contact.id }))).to.not.contain('Тайный');
    expect((await changesOf(admin, contact.id, 'create')).find((c) => c.key === 'counterparty')?.afterTitles).to.deep.equal({ [secret.id]: 'Тайный контрагент' });

    await admin.data('mutation($id: ID!, $v: Int!, $values: JSON!) { updateCard(id: $id, version: $v, values: $values) { id } }', {
      id: contact.id,
      v: contact.version,
      values: { counterparty: known.id },
    });
    const update = (await changesOf(auditor, contact.id, 'update')).find((c) => c.key === 'counterparty')!;
    expect(update.beforeTitles).to.deep.equal({ [secret.id]: null });
    expect(update.afterTitles).to.deep.equal({ [known.id]: 'Известный контрагент' });
  });

  it('withholds the name of a hidden folder a card was moved from', async () => {
    const moved = await create(closed, 'counterparty', { name: 'Переехавший контрагент' });
    await admin.data('mutation($id: ID!, $f: ID!, $v: Int!) { moveCard(id: $id, folderId: $f, version: $v) { id } }', { id: moved.id, f: open, v: moved.version });
    const [folder] = (await changesOf(auditor, moved.id, 'move')).filter((c) => c.key === 'folder');
    expect(folder).to.deep.include({ before: null, beforeHidden: true, after: 'Корреспонденты', afterHidden: false });
    expect(folder.beforeTitles).to.deep.equal({ [closed]: null });
    const [seenByAdmin] = (await changesOf(admin, moved.id, 'move')).filter((c) => c.key === 'folder');
    expect(seenByAdmin).to.deep.include({ before: 'Секретная папка', beforeHidden: false });
  });

  it('refuses a history cursor that is not an entry number', async () => {
    const card = await create(open, 'counterparty', { name: 'С курсором' });
    for (const after of ['abc', '-1', '{"$gt":0}', '1e3']) {
      const result = await auditor.request(HISTORY, { id: card.id, after });
      expect(result.errors?.[0].extensions?.fields, after).to.deep.equal({ after: 'Неверный курсор страницы: откройте список с начала' });
    }
  });
});
