import { expect } from 'chai';
import { CardTypeRecord } from '../../server/src/card-types/registry';
import type { RunningServer } from '../../server/src/server';
import { refusalFields, type ApiClient } from '../support/api-client';
import { createFolder, createLibrary } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const CREATE_CARD = 'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "visit", values: $v) { id values } }';
const label = (ru: string) => ({ ru, en: ru });

/**
 * Definitions are cached for a few seconds; a card write checks values against the type as stored,
 * so a type another instance has just changed (a new required field) is in force for the next card.
 */
describe('card writes and a card type changed a moment ago (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folderId: string;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', {
      d: {
        key: 'visit',
        names: label('Визит'),
        titleTemplate: '{name}',
        historyEnabled: false,
        origin: 'admin',
        fields: [{ key: 'name', kind: 'string', label: label('Название'), required: true }],
      },
    });
    folderId = await createFolder(admin, { libraryId: await createLibrary(admin, 'Визиты'), name: 'Визиты', allowedCardTypes: ['visit'] });
  });
  after(async () => {
    await server?.stop();
  });

  it('refuses a card without the required field that another instance added just now, though this instance had cached the type', async () => {
    // This instance reads (and caches) the type as it is.
    await admin.data(CREATE_CARD, { f: folderId, v: { name: 'До изменения' } });
    // Another instance saves the next revision of the type: «Цель» becomes required.
    const record = await CardTypeRecord.findOne({ key: 'visit' }).lean();
    const definition = record!.definition as { version?: number; fields: unknown[] };
    await CardTypeRecord.updateOne(
      { key: 'visit' },
      {
        $set: {
          definition: {
            ...definition,
            version: (definition.version ?? 0) + 1,
            fields: [...definition.fields, { key: 'goal', kind: 'string', label: label('Цель'), required: true }],
          },
        },
      },
    );

    expect(refusalFields(await admin.request(CREATE_CARD, { f: folderId, v: { name: 'После изменения' } }))).to.deep.equal({ goal: 'Обязательное поле' });
    const saved = await admin.data<{ createCard: { values: Record<string, unknown> } }>(CREATE_CARD, { f: folderId, v: { name: 'С целью', goal: 'Переговоры' } });
    expect(saved.createCard.values).to.include({ goal: 'Переговоры' });
  });
});
