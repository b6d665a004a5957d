import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CARD_FIELDS = 'id title values version typeKey folderId references { fieldKey id title accessible }';
const CREATE = `mutation($folderId: ID!, $typeKey: String!, $values: JSON!) { createCard(folderId: $folderId, typeKey: $typeKey, values: $values) { ${CARD_FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $version: Int!, $values: JSON!) { updateCard(id: $id, version: $version, values: $values) { ${CARD_FIELDS} } }`;

interface CardResult {
  id: string;
  title: string;
  values: Record<string, unknown>;
  version: number;
  references: { fieldKey: string; title: string | null; accessible: boolean }[];
}

describe('cards (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let reader: ApiClient;
  const ids: Record<string, string> = {};

  const create = async (client: ApiClient, folderId: string, typeKey: string, values: Record<string, unknown>) =>
    (await client.data<{ createCard: CardResult }>(CREATE, { folderId, typeKey, values })).createCard;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    for (const login of ['editor', 'reader']) {
      ids[login] = (
        await admin.data<{ createUser: { id: string } }>('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
          input: { login, fullName: login, password: PASSWORD, departmentId },
        })
      ).createUser.id;
    }
    const library = (await admin.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Корреспонденты и контакты") { id } }')).createLibrary.id;
    const folder = async (name: string, allowedCardTypes: string[]) =>
      (
        await admin.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', {
          input: { libraryId: library, name, allowedCardTypes },
        })
      ).createFolder.id;
    ids.correspondents = await folder('Корреспонденты', ['counterparty', 'contact-person']);
    ids.archive = await folder('Архив', ['counterparty']);
    ids.secret = await folder('Секретные', ['counterparty']);
    const grant = (id: string, entries: { principalId: string; level: string }[]) =>
      admin.data('mutation($id: ID!, $entries: [AccessEntryInput!]!) { setFolderAccess(id: $id, entries: $entries) { id } }', {
        id,
        entries: entries.map((e) => ({ principalType: 'user', ...e })),
      });
    await grant(ids.correspondents, [
      { principalId: ids.editor, level: 'edit' },
      { principalId: ids.reader, level: 'read' },
    ]);
    await grant(ids.archive, [{ principalId: ids.editor, level: 'read' }]);
    editor = await signedIn(server, 'editor', PASSWORD);
    reader = await signedIn(server, 'reader', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('creates a counterparty with normalised values and its title', async () => {
    const card = await create(editor, ids.correspondents, 'counterparty', {
      name: '  ООО «Кассиопея» ',
      inn: '7707083893',
      phone: '+7 (495) 123-45-67',
      tags: ['VIP', 'VIP', 'опт'],
    });
    expect(card.title).to.equal('ООО «Кассиопея»');
    expect(card.values.name).to.equal('ООО «Кассиопея»');
    expect(card.values.tags).to.deep.equal(['VIP', 'опт']);
    expect(card.version).to.equal(1);
    ids.cassiopeia = card.id;
  });

  it('reports every invalid field with its own message, and stores nothing', async () => {
    const result = await editor.request(CREATE, { folderId: ids.correspondents, typeKey: 'counterparty', values: { name: '', email: 'not-an-email', inn: '7707083894' } });
    expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    const fields = result.errors?.[0].extensions?.fields as Record<string, string>;
    expect(fields).to.have.keys(['name', 'email', 'inn']);
    expect(fields.name).to.equal('Обязательное поле');
    const list = await editor.data<{ cards: { totalCount: number } }>('query($f: ID!) { cards(folderId: $f) { totalCount } }', { f: ids.correspondents });
    expect(list.cards.totalCount).to.equal(1);
  });

  it('refuses a type the folder does not allow', async () => {
    const result = await editor.request(CREATE, { folderId: ids.correspondents, typeKey: 'contract', values: { number: '1' } });
    expect(result.errors?.[0].extensions?.fields).to.have.key('typeKey');
  });

  it('keeps money exact', async () => {
    const library = (await admin.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Договоры") { id } }')).createLibrary.id;
    const folder = (
      await admin.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', {
        input: { libraryId: library, name: 'Договоры 2026', allowedCardTypes: ['contract'] },
      })
    ).createFolder.id;
    const contract = await create(admin, folder, 'contract', { number: 'Д-1', date: '2026-11-02', counterparty: ids.cassiopeia, amount: '1234567890123.10' });
    expect(contract.values.amount).to.equal('1234567890123.10');
    expect(contract.title).to.contain('Д-1');
    expect(contract.references).to.deep.equal([{ fieldKey: 'counterparty', id: ids.cassiopeia, title: 'ООО «Кассиопея»', accessible: true }]);
  });

  it('fails a stale version with CONFLICT carrying the current values and who changed them', async () => {
    const first = await editor.data<{ updateCard: CardResult }>(UPDATE, { id: ids.cassiopeia, version: 1, values: { phone: '+7 495 000-00-01' } });
    expect(first.updateCard.version).to.equal(2);
    const stale = await admin.request(UPDATE, { id: ids.cassiopeia, version: 1, values: { phone: '+7 495 999-99-99' } });
    expect(stale.errors?.[0].extensions?.code).to.equal('CONFLICT');
    const current = stale.errors?.[0].extensions?.current as { version: number; updatedBy: string; values: Record<string, unknown> };
    expect(current.version).to.equal(2);
    expect(current.updatedBy).to.equal('editor');
    expect(current.values.phone).to.equal(first.updateCard.values.phone);
  });

  it('lets exactly one of 20 concurrent creates with the same INN succeed', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => editor.request(CREATE, { folderId: ids.correspondents, typeKey: 'counterparty', values: { name: `Дубль ${i}`, inn: '500100732259' } })),
    );
    const succeeded = attempts.filter((a) => !a.errors);
    expect(succeeded).to.have.length(1);
    const holder = (succeeded[0].data as { createCard: CardResult }).createCard;
    for (const failed of attempts.filter((a) => a.errors)) {
      // The editor may read the card that got the INN: the message names it, with what a link needs.
      expect(failed.errors?.[0].extensions?.fields).to.deep.equal({ inn: `Такое значение уже есть в карточке «${holder.title}»` });
      expect(failed.errors?.[0].extensions?.sameValue).to.deep.equal({ inn: { id: holder.id, title: holder.title, folderId: ids.correspondents } });
    }
  });

  it('names the card holding a unique value only to those who may read it', async () => {
    await create(admin, ids.secret, 'counterparty', { name: 'ООО «Тайное»', inn: '7702070139' });
    const refused = await editor.request(CREATE, { folderId: ids.correspondents, typeKey: 'counterparty', values: { name: 'ООО «Явное»', inn: '7702070139' } });
    expect(refused.errors?.[0].extensions?.fields).to.deep.equal({ inn: 'Такое значение уже есть в другой карточке' });
    expect(refused.errors?.[0].extensions).to.not.have.property('sameValue');
    expect(JSON.stringify(refused)).to.not.contain('Тайное');
    const administrator = await admin.request(CREATE, { folderId: ids.correspondents, typeKey: 'counterparty', values: { name: 'ООО «Явное»', inn: '7702070139' } });
    expect(administrator.errors?.[0].extensions?.fields).to.deep.equal({ inn: 'Такое значение уже есть в карточке «ООО «Тайное»»' });
  });

  it("refuses another card's INN at the field and then saves an ordinary edit of the same card", async () => {
    const first = await create(editor, ids.correspondents, 'counterparty', { name: 'ООО «Первый»', inn: '7736050003' });
    const second = await create(editor, ids.correspondents, 'counterparty', { name: 'ООО «Второй»', inn: '7708004767' });
    const refused = await editor.request(UPDATE, { id: second.id, version: second.version, values: { inn: first.values.inn } });
    expect(refused.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    expect(refused.errors?.[0].extensions?.fields).to.deep.equal({ inn: 'Такое значение уже есть в карточке «ООО «Первый»»' });
    expect(refused.errors?.[0].extensions?.sameValue).to.deep.equal({ inn: { id: first.id, title: 'ООО «Первый»', folderId: ids.correspondents } });
    const edited = await editor.data<{ updateCard: CardResult }>(UPDATE, { id: second.id, version: second.version, values: { phone: '+7 495 111-22-33' } });
    expect(edited.updateCard.version).to.equal(second.version + 1);
    expect(edited.updateCard.values.inn).to.equal('7708004767');
    expect(edited.updateCard.values.phone).to.be.a('string').and.not.equal('');
  });

  it('lists the contact persons of a counterparty in its related tab, filtered by access', async () => {
    const contact = await create(editor, ids.correspondents, 'contact-person', { fullName: 'Иван Директоров', position: 'Директор', counterparty: ids.cassiopeia });
    const tab = await reader.data<{ relatedCards: { edges: { node: { id: string; title: string } }[] } }>(
      'query($id: ID!) { relatedCards(cardId: $id, tab: "contacts") { edges { node { id title } } } }',
      {
        id: ids.cassiopeia,
      },
    );
    expect(tab.relatedCards.edges.map((edge) => edge.node)).to.deep.equal([{ id: contact.id, title: 'Иван Директоров' }]);
  });

  it('shows «no access» instead of the title of a referenced card the reader cannot see', async () => {
    const hidden = await create(admin, ids.secret, 'counterparty', { name: 'Тайный контрагент' });
    const contact = await create(admin, ids.correspondents, 'contact-person', { fullName: 'Связной', counterparty: hidden.id });
    const seen = await reader.data<{ card: CardResult }>(`query($id: ID!) { card(id: $id) { ${CARD_FIELDS} } }`, { id: contact.id });
    expect(seen.card.references).to.deep.equal([{ fieldKey: 'counterparty', id: hidden.id, title: null, accessible: false }]);
    const direct = await reader.data<{ card: unknown }>('query($id: ID!) { card(id: $id) { id } }', { id: hidden.id });
    expect(direct.card).to.equal(null);
  });

  it('finds cards by word, by INN and by phone digits, only where the user may read', async () => {
    const byWord = await reader.data<{ search: { card: { title: string } }[] }>('{ search(query: "кассиопея") { card { title } } }');
    expect(byWord.search.map((h) => h.card.title)).to.include('ООО «Кассиопея»');
    // A card that only mentions the INN in its text is not listed when a card has it as its INN.
    await create(admin, ids.correspondents, 'counterparty', { name: 'Упоминает 7707083893' });
    const byInn = await reader.data<{ search: { exact: boolean; card: { title: string } }[] }>('{ search(query: "7707083893") { exact card { title } } }');
    expect(byInn.search).to.deep.equal([{ exact: true, card: { title: 'ООО «Кассиопея»' } }]);
    const mentioned = await reader.data<{ search: { exact: boolean; card: { title: string } }[] }>('{ search(query: "Упоминает") { exact card { title } } }');
    expect(mentioned.search).to.deep.equal([{ exact: false, card: { title: 'Упоминает 7707083893' } }]);
    const byPhone = await reader.data<{ search: { card: { title: string } }[] }>('{ search(query: "8 495 000 00 01") { card { title } } }');
    expect(byPhone.search.map((h) => h.card.title)).to.include('ООО «Кассиопея»');
    const hidden = await reader.data<{ search: unknown[] }>('{ search(query: "Тайный") { card { title } } }');
    expect(hidden.search).to.deep.equal([]);
  });

  it('moves a card only with editing rights on both folders', async () => {
    const card = await create(editor, ids.correspondents, 'counterparty', { name: 'Переезжающий' });
    const refused = await editor.request('mutation($id: ID!, $f: ID!) { moveCard(id: $id, folderId: $f, version: 1) { id } }', { id: card.id, f: ids.archive });
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    const moved = await admin.data<{ moveCard: { folderId: string } }>('mutation($id: ID!, $f: ID!) { moveCard(id: $id, folderId: $f, version: 1) { folderId } }', {
      id: card.id,
      f: ids.archive,
    });
    expect(moved.moveCard.folderId).to.equal(ids.archive);
  });

  it('sends deleted cards to the trash (full access) and restores them', async () => {
    const card = await create(admin, ids.correspondents, 'counterparty', { name: 'Временный' });
    const refused = await editor.request('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: card.id });
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { inTrash } }', { id: card.id });
    const trash = await admin.data<{ trash: { id: string }[] }>('{ trash { id } }');
    expect(trash.trash.map((c) => c.id)).to.include(card.id);
    const gone = await editor.data<{ card: unknown }>('query($id: ID!) { card(id: $id) { id } }', { id: card.id });
    expect(gone.card).to.equal(null);
    await admin.data('mutation($id: ID!) { restoreCard(id: $id) { inTrash } }', { id: card.id });
    const back = await editor.data<{ card: { id: string } }>('query($id: ID!) { card(id: $id) { id } }', { id: card.id });
    expect(back.card.id).to.equal(card.id);
  });

  it('an edit of a card a colleague has just put in the trash says so and by whom, and changes nothing (s14 attack A5)', async () => {
    const card = await create(admin, ids.correspondents, 'counterparty', { name: 'Удаляемый' });
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { inTrash } }', { id: card.id });
    const refused = await editor.request(UPDATE, { id: card.id, version: card.version, values: { phone: '+7 495 111 22 33' } });
    expect(refused.errors?.[0].extensions?.code).to.equal('CONFLICT');
    expect(refused.errors?.[0].message).to.equal('Карточку «Удаляемый» перенесли в корзину (Администратор): ваши изменения не сохранены. Верните её из корзины и повторите правку');
    const moved = await editor.request('mutation($id: ID!, $f: ID!) { moveCard(id: $id, folderId: $f, version: 1) { id } }', { id: card.id, f: ids.archive });
    expect(moved.errors?.[0].extensions?.code).to.equal('CONFLICT');
    const stored = await admin.data<{ card: { inTrash: boolean; values: Record<string, unknown>; folderId: string } }>(
      'query($id: ID!) { card(id: $id) { inTrash values folderId } }',
      { id: card.id },
    );
    expect(stored.card).to.deep.include({ inTrash: true, folderId: ids.correspondents });
    expect(stored.card.values.phone).to.equal(undefined);
    // A reader of the folder learns nothing of a card in the trash: no title, no name (s14 re-attack B1).
    const read = await reader.request(UPDATE, { id: card.id, version: card.version, values: { phone: '+7 495 111 22 33' } });
    expect(read.errors?.[0].extensions?.code).to.equal('NOT_FOUND');
    expect(read.errors?.[0].message).to.not.include('Удаляемый');
  });

  it('pages through a folder sorted by a field with a filter, without gaps or repeats', async () => {
    const library = (await admin.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Большая") { id } }')).createLibrary.id;
    const folder = (
      await admin.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', {
        input: { libraryId: library, name: 'Много', allowedCardTypes: ['counterparty'] },
      })
    ).createFolder.id;
    for (let i = 0; i < 23; i += 1) {
      await create(admin, folder, 'counterparty', {
        name: `Компания ${String(i).padStart(2, '0')}`,
        ...(i % 3 === 0 ? {} : { legalAddress: `Москва, ул. ${i}` }),
        tags: i % 2 ? ['опт'] : ['розница'],
      });
    }
    const seen: string[] = [];
    let after: string | null = null;
    let total: number;
    do {
      const page: { cards: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: { node: { title: string } }[] } } = await admin.data(
        'query($f: ID!, $after: String) { cards(folderId: $f, first: 5, after: $after, sortBy: "name", descending: true, filters: [{ field: "tags", op: tags, values: ["опт"] }]) { totalCount pageInfo { hasNextPage endCursor } edges { node { title } } } }',
        { f: folder, after },
      );
      total = page.cards.totalCount;
      seen.push(...page.cards.edges.map((e) => e.node.title));
      after = page.cards.pageInfo.hasNextPage ? page.cards.pageInfo.endCursor : null;
    } while (after);
    const expected = Array.from({ length: 23 }, (_, i) => i)
      .filter((i) => i % 2)
      .map((i) => `Компания ${String(i).padStart(2, '0')}`)
      .reverse();
    expect(total).to.equal(expected.length);
    expect(seen).to.deep.equal(expected);
  });

  it('«Содержит» reads е and ё alike, in either case: «елка» finds «Ёлка», «ЁЛК» finds «Елки»', async () => {
    const library = (await admin.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Ёлочная") { id } }')).createLibrary.id;
    const folder = (
      await admin.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', {
        input: { libraryId: library, name: 'Ёлки', allowedCardTypes: ['counterparty'] },
      })
    ).createFolder.id;
    for (const name of ['ООО «Ёлка»', 'ООО «Елки-палки»', 'ООО «Сосна»']) await create(admin, folder, 'counterparty', { name });
    const titles = async (value: string) =>
      (
        await admin.data<{ cards: { edges: { node: { title: string } }[] } }>(
          'query($f: ID!, $v: String) { cards(folderId: $f, sortBy: "title", filters: [{ field: "name", op: contains, value: $v }]) { edges { node { title } } } }',
          { f: folder, v: value },
        )
      ).cards.edges.map((edge) => edge.node.title);
    expect(await titles('елка')).to.deep.equal(['ООО «Ёлка»']);
    expect(await titles('ЁЛК')).to.have.members(['ООО «Елки-палки»', 'ООО «Ёлка»']);
    expect(await titles('сосн')).to.deep.equal(['ООО «Сосна»']);
  });
});
