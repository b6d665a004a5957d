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
});
