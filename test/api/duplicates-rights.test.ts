import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version } }';
const MERGE = `mutation($s: CardVersionInput!, $m: [CardVersionInput!]!) {
  mergeCards(survivor: $s, merged: $m, choices: []) { merge { id } survivor { id } } }`;
const CARD = 'query($id: ID!) { card(id: $id) { id inTrash } }';

describe('duplicates: a merge puts cards in the trash only as far as the user may (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let manager: ApiClient;
  let folderId = '';

  const create = async (client: ApiClient, values: Record<string, unknown>) =>
    (await client.data<{ createCard: { id: string; version: number } }>(CREATE, { f: folderId, t: 'counterparty', v: values })).createCard;
  const inTrash = async (id: string) => (await admin.data<{ card: { inTrash: boolean } }>(CARD, { id })).card.inTrash;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'editor', fullName: 'Наталья Вакуленко', level: 'edit' },
      { login: 'manager', fullName: 'Татьяна Гончаренко', level: 'full' },
    ]);
    folderId = scenario.folderId;
    editor = await signedIn(server, 'editor', PASSWORD);
    manager = await signedIn(server, 'manager', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('(s11 A4) refuses an editor without the delete right to merge a card that is not a probable duplicate of the survivor, naming it', async () => {
    const kept = await create(editor, { name: 'ООО «Вега»', inn: '7707083893' });
    const unrelated = await create(admin, { name: 'ООО «Альтаир»', phone: '+7 495 100-00-01' });
    const refused = await editor.request(MERGE, { s: kept, m: [unrelated] });
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    const why = 'карточка «ООО «Альтаир»» не из группы возможных дубликатов карточки «ООО «Вега»», а удалять карточки в папке «Корреспонденты» у вас права нет';
    expect(refused.errors?.[0].message).to.include(why);
    expect((refused.errors?.[0].extensions?.fields as Record<string, string>)['merged.0']).to.include(why);
    expect(await inTrash(unrelated.id), 'the card the editor may not delete stays').to.equal(false);
  });

  it('lets the same editor merge a probable duplicate (its group), and one who may delete merge any card of the type', async () => {
    const kept = await create(editor, { name: 'ООО «Сириус»' });
    const twin = await create(admin, { name: 'Сириус, ООО' });
    await editor.data(MERGE, { s: kept, m: [twin] });
    expect(await inTrash(twin.id)).to.equal(true);

    const survivor = await create(manager, { name: 'ООО «Денеб»' });
    const other = await create(admin, { name: 'ООО «Процион»' });
    await manager.data(MERGE, { s: survivor, m: [other] });
    expect(await inTrash(other.id)).to.equal(true);
  });
});
