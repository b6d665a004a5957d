import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { signedIn, startTestServer } from '../support/server';
import { supplierType as supplier } from '../support/supplier-type';

const CREATE = 'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "supplier", values: $v) { id values } }';

describe('INN, KPP and OGRN kinds of the russian-requisites plugin in an administrator’s own type (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folder: string;

  before(async () => {
    server = await startTestServer({ PLUGINS: 'russian-requisites' });
    admin = await signedIn(server);
    const library = (await admin.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Закупки") { id } }')).createLibrary.id;
    folder = (
      await admin.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', {
        input: { libraryId: library, name: 'Поставщики' },
      })
    ).createFolder.id;
  });
  after(async () => {
    await server?.stop();
  });

  it('offers the kinds in the designer’s list', async () => {
    const { fieldKinds } = await admin.data<{ fieldKinds: { key: string; labels: { ru: string } }[] }>('{ fieldKinds { key labels { ru } } }');
    expect(fieldKinds.filter((kind) => ['inn', 'kpp', 'ogrn'].includes(kind.key)).map((kind) => kind.labels.ru)).to.deep.equal(['ИНН', 'КПП', 'ОГРН / ОГРНИП']);
  });

  it('checks the checksum of an INN field of a type the administrator defined, at that field', async () => {
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: supplier });
    const refused = await admin.request(CREATE, { f: folder, v: { title: 'ООО «Ромашка»', taxNumber: '7707083894', registration: '1027700132196' } });
    expect(refused.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    expect(refused.errors?.[0].extensions?.fields).to.deep.equal({ taxNumber: 'Неверная контрольная сумма ИНН', registration: 'Неверная контрольная сумма ОГРН' });
  });

  it('checks that the INN and the OGRN belong to one kind of taxpayer', async () => {
    const refused = await admin.request(CREATE, { f: folder, v: { title: 'ИП Иванов', taxNumber: '500100732259', registration: '1027700132195' } });
    expect(refused.errors?.[0].extensions?.fields).to.deep.equal({ registration: 'ИНН из 12 цифр — у предпринимателя: укажите ОГРНИП (15 цифр)' });
  });

  it('stores a valid INN as its digits, and search finds the card by it', async () => {
    const created = await admin.data<{ createCard: { id: string; values: Record<string, unknown> } }>(CREATE, {
      f: folder,
      v: { title: 'ПАО Сбербанк', taxNumber: '7707 083 893', registration: '1027700132195' },
    });
    expect(created.createCard.values).to.include({ taxNumber: '7707083893', registration: '1027700132195' });
    const { search } = await admin.data<{ search: { card: { id: string } }[] }>('{ search(query: "7707083893") { card { id } } }');
    expect(search.map((hit) => hit.card.id)).to.deep.equal([created.createCard.id]);
  });

  it('a list filter finds an INN typed as the form shows it («7707 083893»), and a phone typed «8912…» or as digits', async () => {
    const titles = async (field: string, value: string) =>
      (
        await admin.data<{ cards: { edges: { node: { title: string } }[] } }>(
          'query($f: ID!, $filters: [CardFilterInput!]) { cards(folderId: $f, filters: $filters) { edges { node { title } } } }',
          { f: folder, filters: [{ field, op: 'contains', value }] },
        )
      ).cards.edges.map((edge) => edge.node.title);
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', {
      d: {
        key: 'contacts',
        names: { ru: 'Контакт', en: 'Contact' },
        titleTemplate: '{name}',
        historyEnabled: false,
        origin: 'admin',
        fields: [
          { key: 'name', kind: 'string', label: { ru: 'Имя', en: 'Name' }, required: true },
          { key: 'mobile', kind: 'phone', label: { ru: 'Мобильный', en: 'Mobile' } },
        ],
      },
    });
    await admin.data('mutation($id: ID!, $input: FolderInput!) { updateFolder(id: $id, input: $input) { id } }', {
      id: folder,
      input: { allowedCardTypes: ['supplier', 'contacts'] },
    });
    expect(await titles('taxNumber', '7707 083893')).to.deep.equal(['ПАО Сбербанк']);
    expect(await titles('taxNumber', '7707-08')).to.deep.equal(['ПАО Сбербанк']);
    expect(await titles('taxNumber', '7707 083894')).to.deep.equal([]);

    const created = await admin.data<{ createCard: { values: Record<string, unknown> } }>(
      'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "contacts", values: $v) { values } }',
      { f: folder, v: { name: 'Пётр', mobile: '8 (912) 000-11-22' } },
    );
    expect(created.createCard.values).to.include({ mobile: '+7 912 000 11 22' });
    for (const typed of ['89120001122', '9120001122', '+7 912 000', '912 000']) expect(await titles('mobile', typed), typed).to.deep.equal(['Пётр']);
    expect(await titles('mobile', '89120001123')).to.deep.equal([]);
  });

  it('gives the built-in «Контрагент» the same kinds', async () => {
    const { cardType } = await admin.data<{ cardType: { fields: { key: string; kind: string }[] } }>('{ cardType(key: "counterparty") { fields { key kind } } }');
    expect(cardType.fields.filter((field) => ['inn', 'kpp', 'ogrn'].includes(field.key))).to.deep.equal([
      { key: 'inn', kind: 'inn' },
      { key: 'kpp', kind: 'kpp' },
      { key: 'ogrn', kind: 'ogrn' },
    ]);
  });
});
