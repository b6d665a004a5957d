import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { refusalFields, type ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }';
const PAGE = `query($f: ID!, $after: String, $sortBy: String, $filters: [CardFilterInput!], $first: Int) {
  cards(folderId: $f, after: $after, sortBy: $sortBy, filters: $filters, first: $first) { edges { node { title } cursor } pageInfo { endCursor } }
}`;

const cursorOf = (value: unknown, id = '0123456789abcdef01234567') => Buffer.from(JSON.stringify([value, id])).toString('base64url');

describe('hostile input on read paths (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let reader: ApiClient;
  let folderId: string;
  let contracts: string;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    ({ folderId } = await createCorrespondents(admin, PASSWORD, [{ login: 'reader', fullName: 'Читатель', level: 'read' }]));
    // Values a backtracking regex chokes on: «^(.+)+$X» over 30 letters does not finish in a lifetime.
    for (const name of ['a'.repeat(30), 'b'.repeat(30), 'c'.repeat(30)]) await admin.data(CREATE, { f: folderId, t: 'counterparty', v: { name } });
    const libraryId = (await admin.data<{ libraries: { id: string }[] }>('{ libraries { id } }')).libraries[0].id;
    contracts = await createFolder(admin, { libraryId, name: 'Договоры', allowedCardTypes: ['contract'] });
    const counterparty = (await admin.data<{ cards: { edges: { node: { id: string } }[] } }>('query($f: ID!) { cards(folderId: $f) { edges { node { id } } } }', { f: folderId }))
      .cards.edges[0].node.id;
    for (const [number, amount] of [
      ['1', '100.50'],
      ['2', '2500'],
      ['3', '99999.99'],
    ]) {
      await admin.data(CREATE, { f: contracts, t: 'contract', v: { number, date: '2026-01-15', counterparty, amount } });
    }
    reader = await signedIn(server, 'reader', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('refuses a cursor carrying a query operator at `after`, and the server stays responsive', async () => {
    const evil = cursorOf({ $regex: '^(.+)+$X' });
    const fields = refusalFields(await reader.request(PAGE, { f: folderId, sortBy: 'name', after: evil }));
    expect(fields).to.deep.equal({ after: 'Неверный курсор страницы: откройте список с начала' });
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).to.equal(200);
  });

  it('refuses cursors whose value is not of the sort field’s stored type', async () => {
    const cases: [string, string][] = [
      ['title', cursorOf({ $date: '2026-01-01T00:00:00.000Z' })],
      ['title', cursorOf(5)],
      ['updatedAt', cursorOf('yesterday')],
      ['name', cursorOf(['a', 'b'])],
      ['name', cursorOf('a', 'not-an-object-id')],
      ['name', Buffer.from(JSON.stringify({ 0: 'a', 1: '0123456789abcdef01234567' })).toString('base64url')],
      ['name', 'not base64 at all!'],
    ];
    for (const [sortBy, after] of cases) {
      expect(refusalFields(await reader.request(PAGE, { f: folderId, sortBy, after })), `${sortBy} ${after}`).to.have.key('after');
    }
  });

  it('pages through a folder sorted by a field with the cursors it hands out', async () => {
    const titles: string[] = [];
    let after: string | null = null;
    do {
      const page: { cards: { edges: { node: { title: string } }[]; pageInfo: { endCursor: string | null } } } = await reader.data(PAGE, {
        f: folderId,
        sortBy: 'name',
        first: 1,
        after,
      });
      titles.push(...page.cards.edges.map((edge) => edge.node.title));
      after = page.cards.edges.length > 0 ? page.cards.pageInfo.endCursor : null;
    } while (after);
    expect(titles).to.deep.equal(['a'.repeat(30), 'b'.repeat(30), 'c'.repeat(30)]);
    const byDate = await reader.data<{ cards: { pageInfo: { endCursor: string } } }>(PAGE, { f: folderId, first: 1 });
    const next = await reader.data<{ cards: { edges: unknown[] } }>(PAGE, { f: folderId, first: 5, after: byDate.cards.pageInfo.endCursor });
    expect(next.cards.edges).to.have.length(2);
  });

  it('hands out cursors that tell nothing of the sort value or the card, and refuses one altered by a single bit (s9 B3)', async () => {
    const first = await reader.data<{ cards: { edges: { node: { title: string } }[]; pageInfo: { endCursor: string } } }>(PAGE, { f: folderId, sortBy: 'name', first: 1 });
    const cursor = first.cards.pageInfo.endCursor;
    const inside = Buffer.from(cursor, 'base64url').toString('latin1');
    expect(inside).not.to.include('aaaa');
    expect(inside).not.to.match(/[0-9a-f]{24}/);
    // The same page asked twice gets different cursors (nothing to compare between readers), both valid.
    const again = await reader.data<{ cards: { pageInfo: { endCursor: string } } }>(PAGE, { f: folderId, sortBy: 'name', first: 1 });
    expect(again.cards.pageInfo.endCursor).not.to.equal(cursor);
    for (const after of [cursor, again.cards.pageInfo.endCursor]) {
      const next = await reader.data<{ cards: { edges: { node: { title: string } }[] } }>(PAGE, { f: folderId, sortBy: 'name', first: 1, after });
      expect(next.cards.edges.map((edge) => edge.node.title)).to.deep.equal(['b'.repeat(30)]);
    }
    const bytes = Buffer.from(cursor, 'base64url');
    bytes[bytes.length - 1] ^= 1;
    const altered = await reader.request(PAGE, { f: folderId, sortBy: 'name', first: 1, after: bytes.toString('base64url') });
    expect(refusalFields(altered)).to.deep.equal({ after: 'Неверный курсор страницы: откройте список с начала' });
  });

  it('checks filter values against the field’s kind and names the filter', async () => {
    const decimal = await admin.request(PAGE, { f: contracts, filters: [{ field: 'amount', op: 'range', from: 'abc' }] });
    expect(refusalFields(decimal)).to.deep.equal({ 'filters.amount': 'Значение не подходит к полю этого вида' });
    const date = await admin.request(PAGE, { f: contracts, filters: [{ field: 'date', op: 'equals', value: '31.02.2026' }] });
    expect(refusalFields(date)).to.have.key('filters.date');
    const tooLong = await reader.request(PAGE, { f: folderId, filters: [{ field: 'name', op: 'contains', value: 'x'.repeat(300) }] });
    expect(refusalFields(tooLong)).to.have.key('filters.name');
    const unknown = await reader.request(PAGE, { f: folderId, filters: [{ field: '$where', op: 'equals', value: '1' }] });
    expect(refusalFields(unknown)).to.deep.equal({ 'filters.0': 'Нет такого поля' });
    // «Содержит» without text to look for (or with `values` in its place) is refused, not read as «everything» (s10 re-attack S7).
    for (const filter of [
      { field: 'name', op: 'contains', values: ['ООО'] },
      { field: 'name', op: 'contains', value: '  ' },
    ]) {
      expect(refusalFields(await reader.request(PAGE, { f: folderId, filters: [filter] }))).to.deep.equal({ 'filters.name': 'Значение не подходит к полю этого вида' });
    }
    // Too many values (all valid) are refused as too many, not as a bad value (s10 attack A6).
    const inns = Array.from({ length: 101 }, (_, i) => String(7700000000 + i));
    const manyValues = await reader.request(PAGE, { f: folderId, filters: [{ field: 'inn', op: 'in', values: inns }] });
    expect(refusalFields(manyValues)).to.deep.equal({ 'filters.inn': 'Не больше 100 элементов' });
    const hundred = await reader.data<{ cards: { edges: unknown[] } }>(PAGE, { f: folderId, filters: [{ field: 'inn', op: 'in', values: inns.slice(0, 100) }] });
    expect(hundred.cards.edges).to.deep.equal([]);
    const range = await admin.data<{ cards: { edges: { node: { title: string } }[] } }>(PAGE, {
      f: contracts,
      filters: [{ field: 'amount', op: 'range', from: '1 000', to: '99 999,99' }],
    });
    expect(range.cards.edges).to.have.length(2);
  });

  it('treats regex metacharacters in «contains» literally', async () => {
    const page = await reader.data<{ cards: { edges: unknown[] } }>(PAGE, { f: folderId, filters: [{ field: 'name', op: 'contains', value: '^(.+)+$X' }] });
    expect(page.cards.edges).to.have.length(0);
    const literal = await reader.data<{ cards: { edges: unknown[] } }>(PAGE, { f: folderId, filters: [{ field: 'name', op: 'contains', value: 'aaa' }] });
    expect(literal.cards.edges).to.have.length(1);
  });

  it('refuses hostile search text and ids at the argument instead of failing', async () => {
    expect(refusalFields(await reader.request('query($s: String) { users(search: $s) { id } }', { s: 'a\u0000b' }))).to.have.key('search');
    expect(refusalFields(await reader.request('query($s: String) { users(search: $s) { id } }', { s: 'x'.repeat(300_000) }))).to.have.key('search');
    expect(refusalFields(await reader.request('query($d: ID) { users(departmentId: $d) { id } }', { d: 'not-an-id' }))).to.have.key('departmentId');
    expect(refusalFields(await reader.request('query($q: String!) { search(query: $q) { exact } }', { q: 'x'.repeat(300) }))).to.have.key('query');
    expect(refusalFields(await reader.request('query($q: String!, $l: ID) { search(query: $q, libraryId: $l) { exact } }', { q: 'aaa', l: '{"$ne":null}' }))).to.have.key(
      'libraryId',
    );
    expect(refusalFields(await admin.request('query($u: ID) { auditLog(userId: $u) { totalCount } }', { u: 'nobody' }))).to.have.key('userId');
    expect(refusalFields(await admin.request('query($a: String) { auditLog(after: $a) { totalCount } }', { a: '{"$gt":""}' }))).to.have.key('after');
  });

  it('keeps no control characters or bidi overrides in card text, so a title cannot pose as another (s10 attack A4)', async () => {
    const created = await admin.data<{ createCard: { id: string } }>(CREATE, {
      f: folderId,
      t: 'counterparty',
      v: {
        name: 'ООО Нуль\u0000\u0007\u001b[31mКрасный\u202eпуп\nвторая\u200f\u061c\u200b\u00ad\u3164\u2060\ufeff',
        notes: 'строка\u202e\r\nещё\tодна\u2066\u2028третья\u{E0041}',
        tags: ['\u202eтег\u0000'],
      },
    });
    const card = await admin.data<{ card: { title: string; values: Record<string, unknown> } }>('query($id: ID!) { card(id: $id) { title values } }', {
      id: created.createCard.id,
    });
    expect(card.card.title).to.equal('ООО Нуль[31mКрасныйпуп вторая');
    expect(card.card.values).to.include({ name: 'ООО Нуль[31mКрасныйпуп вторая', notes: 'строка\nещё\tодна\nтретья' });
    expect(card.card.values.tags).to.deep.equal(['тег']);
    // A name blank to the eye is no name (s12 attack A6): the required name is refused.
    const blank = await admin.request(CREATE, { f: folderId, t: 'counterparty', v: { name: '\u2800\u2800\u2800\ufffc' } });
    expect(blank.errors?.[0]?.extensions?.code).to.equal('BAD_USER_INPUT');
    expect(Object.keys(refusalFields(blank))).to.deep.equal(['name']);
    // Nor one of private-use, unassigned or blank-drawn code points (s12 re-attack B5): the blank name's message, and no card.
    const blankMessage = refusalFields(blank).name;
    for (const unseen of ['\ue000', '\u{f0000}', '\u0378\u0378', '\u{1d159}', ' \ue000\u2800\u{10fffd} ']) {
      const refused = await admin.request(CREATE, { f: folderId, t: 'counterparty', v: { name: unseen } });
      expect(refusalFields(refused), JSON.stringify(unseen)).to.deep.equal({ name: blankMessage });
    }
    // Beside a letter, a private-use character stays (a company's own sign in its font).
    const withSign = await admin.data<{ createCard: { title: string } }>(
      'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { title } }',
      { f: folderId, t: 'counterparty', v: { name: 'ООО Знак \uf8ff' } },
    );
    expect(withSign.createCard.title).to.equal('ООО Знак \uf8ff');
  });

  it('never returns an unlimited trash page', async () => {
    const list = await admin.data<{ cards: { edges: { node: { title: string } }[] } }>('query($f: ID!) { cards(folderId: $f) { edges { node { title } } } }', { f: contracts });
    expect(list.cards.edges).to.have.length(3);
    const ids = (
      await admin.data<{ cards: { edges: { node: { id: string } }[] } }>('query($f: ID!) { cards(folderId: $f) { edges { node { id } } } }', { f: contracts })
    ).cards.edges.map((e) => e.node.id);
    for (const id of ids) await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id });
    const one = await admin.data<{ trash: unknown[] }>('{ trash(first: 1) { id } }');
    expect(one.trash).to.have.length(1);
    // No page of 0 or −5 rows is taken as 1: refused at `first`, written inline or as a variable (s10 attack A11).
    for (const [query, variables] of [
      ['{ trash(first: 0) { id } }', {}],
      ['query($f: ID!, $n: Int) { cards(folderId: $f, first: $n) { edges { cursor } } }', { f: contracts, n: -5 }],
      ['query($n: Int) { search(query: "ООО", first: $n) { exact } }', { n: 0 }],
    ] as const) {
      expect(refusalFields(await admin.request(query, variables)), query).to.deep.equal({ first: 'Укажите целое число от 1' });
    }
  });
});

describe('hostile input on administrators’ write paths (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let admin: ApiClient;
  let groupId: string;
  let folderId: string;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    groupId = (await admin.data<{ createGroup: { id: string } }>('mutation { createGroup(name: "Проверка") { id } }')).createGroup.id;
    ({ folderId } = await createCorrespondents(admin, PASSWORD, []));
  });
  after(async () => {
    await server?.stop();
  });

  it('takes changeGroupMembers(add: null) as nothing to add, and names add/remove in refusals', async () => {
    const CHANGE = 'mutation($id: ID!, $add: [ID!], $remove: [ID!]) { changeGroupMembers(id: $id, add: $add, remove: $remove) { name } }';
    expect((await admin.data<{ changeGroupMembers: { name: string } }>(CHANGE, { id: groupId, add: null, remove: null })).changeGroupMembers.name).to.equal('Проверка');
    expect(refusalFields(await admin.request(CHANGE, { id: groupId, add: ['not-an-id'] }))).to.deep.equal({ add: 'Неверный идентификатор' });
    expect(refusalFields(await admin.request(CHANGE, { id: groupId, add: ['0123456789abcdef01234567'] }))).to.deep.equal({ add: 'Пользователь не найден' });
    expect(refusalFields(await admin.request(CHANGE, { id: groupId, remove: ['{"$ne":null}'] }))).to.deep.equal({ remove: 'Неверный идентификатор' });
  });

  it('refuses more than 1,000 access entries at once, and names each entry whose principal does not exist', async () => {
    const SET = 'mutation($id: ID!, $entries: [AccessEntryInput!]!) { setFolderAccess(id: $id, entries: $entries) { id } }';
    const entry = (principalType: string, principalId: string) => ({ principalType, principalId, level: 'read' });
    const many = Array.from({ length: 1001 }, () => entry('group', groupId));
    expect(refusalFields(await admin.request(SET, { id: folderId, entries: many }))).to.deep.equal({ entries: 'Не больше 1000 элементов' });
    const named = await admin.request(SET, { id: folderId, entries: [entry('group', groupId), entry('user', '0123456789abcdef01234567'), entry('department', groupId)] });
    expect(Object.keys(refusalFields(named))).to.deep.equal(['entries.1.principalId', 'entries.2.principalId']);
    expect((await admin.data<{ setFolderAccess: { id: string } }>(SET, { id: folderId, entries: [entry('group', groupId)] })).setFolderAccess.id).to.equal(folderId);
  });

  it('accepts only known card types for a folder, and does not echo 100,000 characters back', async () => {
    const UPDATE = 'mutation($id: ID!, $input: FolderInput!) { updateFolder(id: $id, input: $input) { allowedCardTypes defaultCardType } }';
    expect(refusalFields(await admin.request(UPDATE, { id: folderId, input: { allowedCardTypes: ['counterparty', 'no-such-type'] } }))).to.deep.equal({
      allowedCardTypes: 'Нет типа карточки «no-such-type»',
    });
    const long = refusalFields(await admin.request(UPDATE, { id: folderId, input: { defaultCardType: 'x'.repeat(100_000) } }));
    expect(long.defaultCardType).to.equal(`Нет типа карточки «${'x'.repeat(64)}…»`);
    const folder = await admin.data<{ folder: { allowedCardTypes: string[] } }>('query($id: ID!) { folder(id: $id) { allowedCardTypes } }', { id: folderId });
    expect(folder.folder.allowedCardTypes).to.deep.equal(['counterparty', 'contact-person']);
  });

  it('keeps no control characters, bidi overrides or invisible letters in library, folder, group, department and full names (s10 re-attack S4)', async () => {
    const hostile = (name: string) => `${name}\u202eпуп\u0000\u0007\u001b[31m\u200f\u3164\n`;
    const library = await admin.data<{ createLibrary: { id: string; name: string } }>('mutation($n: String!) { createLibrary(name: $n) { id name } }', {
      n: hostile('Библиотека'),
    });
    expect(library.createLibrary.name).to.equal('Библиотекапуп[31m');
    const folder = await admin.data<{ createFolder: { name: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { name } }', {
      input: { libraryId: library.createLibrary.id, name: hostile('Папка') },
    });
    expect(folder.createFolder.name).to.equal('Папкапуп[31m');
    const group = await admin.data<{ renameGroup: { name: string } }>('mutation($id: ID!, $n: String!) { renameGroup(id: $id, name: $n) { name } }', {
      id: groupId,
      n: hostile('Группа'),
    });
    expect(group.renameGroup.name).to.equal('Группапуп[31m');
    const department = await admin.data<{ createDepartment: { id: string; name: string } }>('mutation($n: String!) { createDepartment(input: { name: $n }) { id name } }', {
      n: hostile('Отдел'),
    });
    expect(department.createDepartment.name).to.equal('Отделпуп[31m');
    const user = await admin.data<{ createUser: { id: string; fullName: string } }>('mutation($input: CreateUserInput!) { createUser(input: $input) { id fullName } }', {
      input: { login: 'hostile-name', fullName: hostile('Татьяна Гончаренко'), password: PASSWORD, departmentId: department.createDepartment.id },
    });
    expect(user.createUser.fullName).to.equal('Татьяна Гончаренкопуп[31m');
    const renamed = await admin.data<{ updateUser: { fullName: string } }>('mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { fullName } }', {
      id: user.createUser.id,
      input: { fullName: hostile('Анна') },
    });
    expect(renamed.updateUser.fullName).to.equal('Аннапуп[31m');
    // Tag letters spelling hidden text, variation selectors, the Mongolian vowel separator and the line
    // separators (s11 re-attack S4); an emoji keeps its presentation selector and joiners.
    const hidden = await admin.data<{ updateUser: { fullName: string } }>('mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { fullName } }', {
      id: user.createUser.id,
      input: { fullName: 'Анна\u{E0041}\u{E0064}\u{E006D} Ол\ufe0f\u{E0100}ег\u180e\u2028Ли\u2029❤\ufe0f 👨\u200d👩' },
    });
    expect(hidden.updateUser.fullName).to.equal('Анна Олег Ли ❤\ufe0f 👨\u200d👩');
    // Nothing but hidden characters is no name at all.
    expect(refusalFields(await admin.request('mutation { createGroup(name: "\\u202e\\u200b") { id } }'))).to.deep.equal({ name: 'Обязательное поле' });
    // Nor is a name blank to the eye (s12 attack A6): Braille blanks, combining marks with nothing to sit on, the object replacement character.
    for (const blank of ['\u2800\u2800\u2800', '\u0301\u0336', '\ufffc', '\u3164\u2800', '\u2800\u0301 \ufffc']) {
      expect(refusalFields(await admin.request('mutation($n: String!) { createGroup(name: $n) { id } }', { n: blank })), JSON.stringify(blank)).to.deep.equal({
        name: 'Обязательное поле',
      });
    }
    // A mark on a letter stays; a Braille blank between words is a space.
    const marked = await admin.data<{ updateUser: { fullName: string } }>('mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { fullName } }', {
      id: user.createUser.id,
      input: { fullName: '\u2800Ольга\u2800Е\u0301ва\u2800' },
    });
    expect(marked.updateUser.fullName).to.equal('Ольга Е\u0301ва');
    // Nor one of private-use, unassigned or blank-drawn code points (s12 re-attack B5), whoever is named.
    for (const unseen of ['\ue000', '\u{f0000}', '\u0378\u0378', '\u{1d159}']) {
      const what = JSON.stringify(unseen);
      expect(refusalFields(await admin.request('mutation($n: String!) { createGroup(name: $n) { id } }', { n: unseen })), what).to.deep.equal({ name: 'Обязательное поле' });
      expect(refusalFields(await admin.request('mutation($n: String!) { createDepartment(input: { name: $n }) { id } }', { n: unseen })), what).to.deep.equal({
        name: 'Обязательное поле',
      });
      const renamed = await admin.request('mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { fullName } }', {
        id: user.createUser.id,
        input: { fullName: unseen },
      });
      expect(Object.values(refusalFields(renamed)), what).to.deep.equal(['Обязательное поле']);
    }
  });
});
