import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';

/** cards(ids:) and users(ids:): what the client reads in one request instead of one aliased field per id. */
describe('batch reads by id (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let admin: ApiClient;
  let colleague: ApiClient;
  const ids: Record<string, string> = {};

  const create = async (folderId: string, name: string) =>
    (
      await admin.data<{ createCard: { id: string } }>('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', {
        f: folderId,
        v: { name },
      })
    ).createCard.id;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'reader', fullName: 'Читатель Карточек', level: 'read' }]);
    ids.user = scenario.userIds.reader!;
    ids.alpha = await create(scenario.folderId, 'ООО «Альфа»');
    ids.beta = await create(scenario.folderId, 'ООО «Бета»');
    const hidden = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Закрытая', allowedCardTypes: ['counterparty'] });
    ids.secret = await create(hidden, 'ООО «Секрет»');
    colleague = await signedIn(server, 'reader', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  const titles = async (client: ApiClient, cardIds: string[]) =>
    (
      await client.data<{ cards: { edges: { node: { id: string; title: string } }[] } }>('query($ids: [ID!]!) { cards(ids: $ids) { edges { node { id title } } } }', {
        ids: cardIds,
      })
    ).cards.edges.map((edge) => edge.node.title);

  it('gives the cards in the order asked, leaving out those the reader may not see and ids of nothing', async () => {
    expect(await titles(colleague, [ids.beta!, ids.secret!, '65a1b2c3d4e5f6a7b8c9d0e1', ids.alpha!])).to.deep.equal(['ООО «Бета»', 'ООО «Альфа»']);
    expect(await titles(admin, [ids.secret!, ids.alpha!])).to.deep.equal(['ООО «Секрет»', 'ООО «Альфа»']);
  });

  it('refuses a folder page without a folder, and more than 200 ids, at the argument', async () => {
    const none = await colleague.request('{ cards(first: 5) { totalCount } }');
    expect(none.errors?.[0].extensions?.fields).to.have.property('folderId');
    const many = await colleague.request('query($ids: [ID!]!) { cards(ids: $ids) { totalCount } }', { ids: Array.from({ length: 201 }, () => ids.alpha) });
    expect(many.errors?.[0].extensions?.fields).to.have.property('ids');
  });

  it('gives users by id, deactivated ones too, as names on cards need them', async () => {
    await admin.data('mutation($id: ID!) { setUserActive(id: $id, active: false) { id } }', { id: ids.user });
    const users = await admin.data<{ users: { id: string; fullName: string }[] }>('query($ids: [ID!]!) { users(ids: $ids) { id fullName } }', {
      ids: ['65a1b2c3d4e5f6a7b8c9d0e1', ids.user],
    });
    expect(users.users).to.deep.equal([{ id: ids.user, fullName: 'Читатель Карточек' }]);
  });

  it('refuses paging, sorting, a folder or filters together with ids, naming the argument, and ids that are not ids', async () => {
    const combined = {
      first: ['first: 1', 'first'],
      sortBy: ['sortBy: "title"', 'sortBy'],
      descending: ['descending: true', 'descending'],
      folderId: [`folderId: "${ids.alpha}"`, 'folderId'],
      filters: ['filters: [{ field: "name", op: contains, value: "А" }]', 'filters'],
    };
    for (const [argument, field] of Object.values(combined)) {
      const refused = await admin.request(`query($ids: [ID!]!) { cards(ids: $ids, ${argument}) { totalCount } }`, { ids: [ids.alpha] });
      expect(refused.errors?.[0].extensions?.code, argument).to.equal('BAD_USER_INPUT');
      expect(refused.errors?.[0].extensions?.fields, argument).to.deep.equal({
        [field]: 'Не сочетается с ids: карточки по идентификаторам приходят в порядке ids, без сортировки и фильтров',
      });
    }
    // `after` goes on in the ids asked (a reply ends at its budget of values): only a cursor of such a reply.
    const made = await admin.request('query($ids: [ID!]!) { cards(ids: $ids, after: "x") { totalCount } }', { ids: [ids.alpha] });
    expect(made.errors?.[0].extensions?.fields).to.deep.equal({ after: 'Неверный курсор страницы: откройте список с начала' });
    for (const query of ['query($ids: [ID!]!) { cards(ids: $ids) { totalCount } }', 'query($ids: [ID!]!) { users(ids: $ids) { id } }']) {
      const malformed = await admin.request(query, { ids: [ids.alpha, 'zzz'] });
      expect(malformed.errors?.[0].extensions?.code, query).to.equal('BAD_USER_INPUT');
      expect(malformed.errors?.[0].extensions?.fields, query).to.deep.equal({ ids: 'Неверный идентификатор' });
    }
    // The same wording as other id arguments.
    const departments = await admin.request('{ users(departmentId: "zzz") { id } }');
    expect(departments.errors?.[0].extensions?.fields).to.deep.equal({ departmentId: 'Неверный идентификатор' });
  });

  it('says «не найдена» of a card or folder and «не найден» of a card type, agreeing with the noun', async () => {
    const missing = '65a1b2c3d4e5f6a7b8c9d0e1';
    const card = await admin.request('mutation($id: ID!) { moveCard(id: $id, folderId: $id, version: 1) { id } }', { id: missing });
    expect(card.errors?.[0].message).to.equal('Карточка не найдена');
    const folder = await admin.request('mutation($id: ID!) { markFolderRead(folderId: $id) }', { id: missing });
    expect(folder.errors?.[0].message).to.equal('Папка не найдена');
    const type = await admin.request('mutation { setCardTypeHistory(typeKey: "nothing-like-this", enabled: true) { key } }');
    expect(type.errors?.[0].message).to.equal('Тип карточки не найден');
    const users = await admin.request('mutation($id: ID!) { changeGroupMembers(id: $id, add: ["65a1b2c3d4e5f6a7b8c9d0e1"]) { id } }', { id: missing });
    expect(users.errors?.[0].message).to.equal('Группа не найдена');
    await admin.data('mutation { setMyLocale(locale: en) { id } }');
    const english = await admin.request('mutation($id: ID!) { markFolderRead(folderId: $id) }', { id: missing });
    expect(english.errors?.[0].message).to.equal('Folder not found');
    await admin.data('mutation { setMyLocale(locale: ru) { id } }');
  });
});
