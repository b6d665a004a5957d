import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder, setFolderAccess, versioned } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id title } }';
const CHECK = 'query($inn: String!) { requisitesCheck(inn: $inn) { inn valid problem holders { id typeKey title } } }';
const TYPE = '{ cardType(key: "bank-account") { key names { ru } origin plugin fields { key kind } } }';

interface Check {
  inn: string;
  valid: boolean;
  problem: string | null;
  holders: { id: string; typeKey: string; title: string }[];
}

describe('a plugin’s GraphQL field, card type and their life without the plugin (russian-requisites, API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let reader: ApiClient;
  let folderId: string;
  let hiddenFolder: string;

  const create = async (client: ApiClient, f: string, t: string, v: Record<string, unknown>) =>
    (await client.data<{ createCard: { id: string; title: string } }>(CREATE, { f, t, v })).createCard;
  const check = async (client: ApiClient, inn: string) => (await client.data<{ requisitesCheck: Check }>(CHECK, { inn })).requisitesCheck;

  before(async () => {
    server = await startTestServer({ PLUGINS: 'russian-requisites' });
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'reader', fullName: 'Читатель', level: 'read' }]);
    folderId = scenario.folderId;
    hiddenFolder = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Закрытая', allowedCardTypes: ['counterparty', 'bank-account'] });
    await setFolderAccess(admin, hiddenFolder, []);
    reader = await signedIn(server, 'reader', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('requisitesCheck says why an INN is wrong, in the viewer’s language', async () => {
    expect(await check(reader, '7707 083 894')).to.deep.equal({ inn: '7707083894', valid: false, problem: 'Неверная контрольная сумма ИНН', holders: [] });
    expect(await check(reader, '12345')).to.include({ valid: false, problem: 'ИНН должен содержать 10 или 12 цифр' });
  });

  it('requisitesCheck names the card holding the INN to whoever may read it, and not to a reader who may not', async () => {
    const secret = await create(admin, hiddenFolder, 'counterparty', { name: 'ПАО Сбербанк', inn: '7707083893' });
    expect(await check(admin, '7707083893')).to.deep.equal({
      inn: '7707083893',
      valid: true,
      problem: null,
      holders: [{ id: secret.id, typeKey: 'counterparty', title: 'ПАО Сбербанк' }],
    });
    expect(await check(reader, '7707083893')).to.deep.equal({ inn: '7707083893', valid: true, problem: null, holders: [] });
    const open = await create(admin, folderId, 'counterparty', { name: 'ИП Иванов', inn: '500100732259' });
    expect((await check(reader, '500100732259')).holders).to.deep.equal([{ id: open.id, typeKey: 'counterparty', title: 'ИП Иванов' }]);
  });

  it('requisitesCheck needs a signed-in viewer', async () => {
    const anonymous = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: CHECK, variables: { inn: '7707083893' } }),
    });
    const body = (await anonymous.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(body.errors?.[0]?.extensions?.code).to.equal('UNAUTHENTICATED');
  });

  it('stores the plugin’s card type marked as the plugin’s; an administrator customises it; switched off, the type and its cards stay', async () => {
    const { cardType } = await admin.data<{ cardType: { key: string; names: { ru: string }; origin: string; plugin: string | null; fields: { key: string; kind: string }[] } }>(
      TYPE,
    );
    expect(cardType).to.deep.include({ key: 'bank-account', names: { ru: 'Банковский счёт' }, origin: 'code', plugin: 'russian-requisites' });
    expect(cardType.fields.map((field) => `${field.key}:${field.kind}`)).to.deep.equal([
      'counterparty:reference',
      'bankName:string',
      'bik:string',
      'account:string',
      'bankInn:inn',
    ]);

    await admin.data('mutation($d: CardTypeInput!) { updateCardType(definition: $d) { key } }', {
      d: await versioned(admin, {
        key: 'bank-account',
        names: { ru: 'Счёт в банке', en: 'Bank account' },
        titleTemplate: '{bankName} {account}',
        historyEnabled: true,
        origin: 'code',
        fields: [],
      }),
    });
    const refused = await admin.request(CREATE, { f: hiddenFolder, t: 'bank-account', v: { bankName: 'Сбербанк', bik: '04452522', account: '40702810938000000001' } });
    expect(refused.errors?.[0]?.extensions?.fields).to.deep.equal({ bik: 'БИК — 9 цифр' });
    const account = await create(admin, hiddenFolder, 'bank-account', { bankName: 'Сбербанк', bik: '044525225', account: '40702810938000000001', bankInn: '7707083893' });
    expect(account.title).to.equal('Сбербанк 40702810938000000001');

    const dbName = server.database.connection.db!.databaseName;
    await server.stop();
    server = await startTestServer({ PLUGINS: 'none' }, { dbName });
    admin = await signedIn(server);
    const off = (await admin.data<{ cardType: { names: { ru: string }; origin: string; plugin: string | null } }>(TYPE)).cardType;
    expect(off).to.deep.include({ names: { ru: 'Счёт в банке' }, origin: 'code', plugin: 'russian-requisites' });
    const { card } = await admin.data<{ card: { title: string; values: Record<string, unknown> } }>('query($id: ID!) { card(id: $id) { title values } }', { id: account.id });
    expect(card).to.deep.equal({
      title: 'Сбербанк 40702810938000000001',
      values: { bankName: 'Сбербанк', bik: '044525225', account: '40702810938000000001', bankInn: '7707083893' },
    });
    const gone = await admin.request(CHECK, { inn: '7707083893' });
    expect(gone.errors?.[0]?.message).to.match(/requisitesCheck/);

    await server.stop();
    server = await startTestServer({ PLUGINS: 'russian-requisites' }, { dbName });
    admin = await signedIn(server);
    expect((await admin.data<{ cardType: { names: { ru: string }; plugin: string } }>(TYPE)).cardType).to.deep.include({
      names: { ru: 'Счёт в банке' },
      plugin: 'russian-requisites',
    });
  });
});
