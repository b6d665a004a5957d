import { expect } from 'chai';
import { counterparty } from '../../card-types/built-in/counterparty';
import { findCardType, saveCardType, uniqueIndexName } from '../../server/src/card-types/registry';
import { Card } from '../../server/src/cards/model';
import type { RunningServer } from '../../server/src/server';
import { refusalFields, type ApiClient } from '../support/api-client';
import { createCorrespondents, typeChangeApplied, versioned } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const SAVE = 'mutation($d: CardTypeInput!) { updateCardType(definition: $d) { key fields { key unique kind } } }';
const CREATE = 'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }';
const TYPES = '{ cardTypes { key uniqueNotEnforced fields { key unique } } }';
type Types = { cardTypes: { key: string; uniqueNotEnforced: string[] | null; fields: { key: string; unique: boolean }[] }[] };

const inn = counterparty.fields.find((field) => field.key === 'inn')!;
/** counterparty as an administrator sends it with only the INN field changed (fields left out stay as stored). */
const withInn = (change: Record<string, unknown>) => ({
  key: counterparty.key,
  names: counterparty.names,
  titleTemplate: counterparty.titleTemplate,
  historyEnabled: false,
  origin: 'code',
  fields: [{ ...inn, ...change }],
});

describe('built-in fields keep the rules their code gives them (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folderId: string;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    ({ folderId } = await createCorrespondents(admin, 'secret-password-1', []));
  });
  after(async () => {
    await server?.stop();
  });

  it('refuses to drop «unique» or change the kind of a built-in field, at the field, and keeps the index', async () => {
    expect(refusalFields(await admin.request(SAVE, { d: await versioned(admin, withInn({ unique: false })) }))).to.deep.equal({
      'fields.0.unique': 'Встроенное поле: уникальность задаётся в коде и здесь не меняется. Можно изменить подпись, подсказку, раздел, порядок, показ в списке и скрытие',
    });
    expect(refusalFields(await admin.request(SAVE, { d: await versioned(admin, withInn({ kind: 'string' })) }))).to.deep.equal({
      'fields.0.kind': 'Встроенное поле: тип поля задаётся в коде и здесь не меняется. Можно изменить подпись, подсказку, раздел, порядок, показ в списке и скрытие',
    });
    // What may be customised still saves.
    const relabelled = await admin.data<{ updateCardType: { fields: { key: string; unique: boolean; kind: string }[] } }>(SAVE, {
      d: await versioned(admin, withInn({ label: { ru: 'ИНН организации', en: 'Company INN' } })),
    });
    expect(relabelled.updateCardType.fields.find((field) => field.key === 'inn')).to.deep.include({ unique: true, kind: 'inn' });
    await admin.data(CREATE, { f: folderId, v: { name: 'ООО «Первое»', inn: '7707083893' } });
    const second = await admin.request(CREATE, { f: folderId, v: { name: 'ООО «Второе»', inn: '7707083893' } });
    expect(Object.keys(refusalFields(second))).to.deep.equal(['inn']);
  });

  it('saves a built-in type read back as the designer reads it, with a label changed', async () => {
    const FIELDS = `key kind label { ru en } required requiredFor unique help { ru en } section { ru en } order listed hidden origin customized
      default min max scale pattern patternMessage { ru en } options { value label { ru en } } multiple targets allowedTypes`;
    const read = await admin.data<{ cardType: { fields: Record<string, unknown>[] } & Record<string, unknown> }>(
      `{ cardType(key: "counterparty") { key version names { ru en } titleTemplate historyEnabled icon colour origin customized fields { ${FIELDS} } relatedTabs { key label { ru en } cardType referenceField origin } } }`,
    );
    const withoutNulls = (record: Record<string, unknown>) => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null));
    const type = withoutNulls(read.cardType);
    const fields = read.cardType.fields.map((field) => withoutNulls(field.key === 'phone' ? { ...field, label: { ru: 'Телефон офиса', en: 'Office phone' } } : field));
    const saved = await admin.data<{ updateCardType: { fields: { key: string }[]; changeJob: { id: string } | null } }>(
      'mutation($d: CardTypeInput!) { updateCardType(definition: $d) { fields { key } changeJob { id } } }',
      { d: { ...type, relatedTabs: (type.relatedTabs as Record<string, unknown>[]).map(withoutNulls), fields } },
    );
    expect(saved.updateCardType.fields.map((field) => field.key)).to.include('phone');
    expect((await typeChangeApplied(admin, saved.updateCardType.changeJob))?.state ?? 'succeeded').to.equal('succeeded');
  });

  it('refuses a change made from a revision another administrator has saved over (CONFLICT), so the other administrator’s change stays', async () => {
    const READ = '{ cardType(key: "counterparty") { version fields { key required } } }';
    const opened = (await admin.data<{ cardType: { version: number } }>(READ)).cardType.version;
    // Administrator A relabels «Сайт» and saves; administrator B still has the form opened before.
    const saved = await admin.data<{ updateCardType: { version: number } }>('mutation($d: CardTypeInput!) { updateCardType(definition: $d) { version } }', {
      d: { ...withInn({}), version: opened, fields: [{ key: 'website', kind: 'url', label: { ru: 'Веб-сайт', en: 'Website' } }] },
    });
    expect(saved.updateCardType.version).to.equal(opened + 1);
    const stale = await admin.request(SAVE, { d: { ...withInn({}), version: opened, fields: [{ key: 'website', kind: 'url', label: { ru: 'Сайт', en: 'Website' } }] } });
    expect(stale.errors?.[0].extensions?.code).to.equal('CONFLICT');
    expect(stale.errors?.[0].message).to.equal(
      'Тип карточки уже изменил другой администратор, пока вы его редактировали. Откройте тип заново, чтобы увидеть его изменения, и внесите свои ещё раз',
    );
    const website = await admin.data<{ cardType: { fields: { key: string; label: { ru: string } }[] } }>('{ cardType(key: "counterparty") { fields { key label { ru } } } }');
    expect(website.cardType.fields.find((field) => field.key === 'website')?.label.ru).to.equal('Веб-сайт');
    // Without a revision a change is refused at `version`.
    expect(refusalFields(await admin.request(SAVE, { d: withInn({}) }))).to.deep.equal({ version: 'Обязательное поле' });
    // Switching history is a revision too: a form opened before it is stale.
    const beforeSwitch = (await admin.data<{ cardType: { version: number } }>(READ)).cardType.version;
    const switched = await admin.data<{ setCardTypeHistory: { version: number } }>('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { version } }');
    expect(switched.setCardTypeHistory.version).to.equal(beforeSwitch + 1);
    expect((await admin.request(SAVE, { d: { ...withInn({}), version: beforeSwitch } })).errors?.[0].extensions?.code).to.equal('CONFLICT');
  });

  it('starts even when stored cards break a built-in unique field, and shows administrators that it is not enforced', async () => {
    // The state an earlier version let an administrator reach: INN made non-unique, its index dropped, duplicates stored.
    const stored = (await findCardType('counterparty'))!;
    await saveCardType({ ...stored, fields: stored.fields.map((field) => (field.key === 'inn' ? { ...field, unique: false } : field)) });
    await Card.collection.dropIndex(uniqueIndexName('counterparty', 'inn'));
    const duplicate = await admin.data<{ createCard: { id: string } }>(CREATE, { f: folderId, v: { name: 'ООО «Двойник»', inn: '7707083893' } });

    const dbName = server.database.connection.db!.databaseName;
    await server.stop();
    server = await startTestServer({}, { dbName });
    admin = await signedIn(server);

    const types = (await admin.data<Types>(TYPES)).cardTypes;
    const type = types.find((t) => t.key === 'counterparty')!;
    expect(type.fields.find((field) => field.key === 'inn')?.unique).to.equal(true);
    expect(type.uniqueNotEnforced).to.deep.equal(['inn']);
    expect(types.find((t) => t.key === 'contract')?.uniqueNotEnforced).to.deep.equal([]);
    const card = await admin.data<{ card: { values: { inn: string } } }>('query($id: ID!) { card(id: $id) { values } }', { id: duplicate.createCard.id });
    expect(card.card.values.inn).to.equal('7707083893');
  });
});
