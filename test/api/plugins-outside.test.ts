import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { refusalFields, type ApiClient } from '../support/api-client';
import { createFolder, createLibrary } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const CREATE_CARD = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id values } }';

/**
 * A plugin a team keeps outside Kartoteka's repository, named by path in PLUGINS
 * (test/fixtures/plugin-outside: a «Процент» field kind): the server offers its kind to every card
 * type and checks values with it (its browser part: client/test/outside-plugin.test.ts).
 */
describe('a plugin named by path in PLUGINS (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let admin: ApiClient;

  before(async () => {
    server = await startTestServer({ PLUGINS: 'russian-requisites,./test/fixtures/plugin-outside/index.ts' });
    admin = await signedIn(server);
  });
  after(async () => {
    await server?.stop();
  });

  it('offers its field kind beside the shipped ones, and an administrator’s own type checks values with it', async () => {
    const { fieldKinds } = await admin.data<{ fieldKinds: { key: string; labels: { ru: string } }[] }>('{ fieldKinds { key labels { ru } } }');
    expect(fieldKinds.find((kind) => kind.key === 'percent')?.labels.ru).to.equal('Процент');
    expect(fieldKinds.map((kind) => kind.key)).to.include('inn');

    const label = (ru: string) => ({ ru, en: ru });
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', {
      d: {
        key: 'plan',
        names: label('План'),
        titleTemplate: '{name}',
        historyEnabled: false,
        origin: 'admin',
        fields: [
          { key: 'name', kind: 'string', label: label('Название'), required: true },
          { key: 'share', kind: 'percent', label: label('Доля') },
        ],
      },
    });
    const folderId = await createFolder(admin, { libraryId: await createLibrary(admin, 'Планы'), name: 'Планы', allowedCardTypes: ['plan'] });
    const created = await admin.data<{ createCard: { values: Record<string, unknown> } }>(CREATE_CARD, { f: folderId, t: 'plan', v: { name: 'Первый', share: '42 %' } });
    expect(created.createCard.values).to.include({ share: 42 });
    expect(refusalFields(await admin.request(CREATE_CARD, { f: folderId, t: 'plan', v: { name: 'Второй', share: '142' } }))).to.deep.equal({ share: 'Целое число от 0 до 100' });
  });
});
