import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createDepartment, createFolder, createLibrary, createUser, typeChangeApplied, versioned } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';
import { sheetRows } from '../support/xlsx';

const PASSWORD = 'secret-password-1';

type Audit = { kind: string; targetType: string; summary: string; after: Record<string, unknown> | null };

/**
 * Export of a search's results and of a selection of a folder's cards (issue 15): each card
 * checked for reading and «Экспорт» on its own folder, hidden fields left out, the request checked
 * field by field, audited with the search or the selection, counted in the daily limit and as cards
 * read for the bulk-reading alarm.
 */
describe('export of search results and of selected cards (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let natasha: ApiClient;
  let ids: { open: string; closed: string; alpha: string; beta: string; other: string; gamma: string; department: string };

  const csvLines = (body: Buffer) =>
    body
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .split('\r\n')
      .filter(Boolean);
  const post = async (client: ApiClient, body: unknown, contentType = 'application/json') => {
    const response = await fetch(`${server.url}/transfer/export`, {
      method: 'POST',
      headers: { cookie: client.cookieHeader(), 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
  };
  const refusal = (answer: { body: Buffer }) => JSON.parse(answer.body.toString()) as { code: string; error: string; fields?: Record<string, string> };
  const audits = async (kind: string) =>
    (
      await admin.data<{ auditLog: { edges: { node: Audit }[] } }>('query($k: String) { auditLog(kind: $k) { edges { node { kind targetType summary after } } } }', { k: kind })
    ).auditLog.edges.map((edge) => edge.node);

  before(async () => {
    server = await startTestServer({ EXPORT_DAILY_ROWS: '7', READ_ALARM_CARDS: '3' });
    admin = await signedIn(server);
    // A type whose second field is hidden once a card holds a value in it: its values never go out.
    const vault = {
      key: 'vault',
      names: { ru: 'Сейф', en: 'Vault' },
      titleTemplate: '{name}',
      historyEnabled: false,
      origin: 'admin',
      fields: [
        { key: 'name', kind: 'string', label: { ru: 'Наименование', en: 'Name' }, required: true, listed: true },
        { key: 'secret', kind: 'string', label: { ru: 'Шифр', en: 'Code' }, listed: true },
      ],
    };
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: vault });
    const department = await createDepartment(admin, 'Отдел продаж');
    const natashaId = await createUser(admin, { login: 'natasha', fullName: 'Наталья Вакуленко', password: PASSWORD, departmentId: department });
    const library = await createLibrary(admin, 'Клиенты');
    const open = await createFolder(admin, { libraryId: library, name: 'Открытые', allowedCardTypes: ['counterparty', 'vault'] });
    const closed = await createFolder(admin, { libraryId: library, name: 'Без экспорта', allowedCardTypes: ['counterparty'] });
    const unseen = await createFolder(admin, { libraryId: library, name: 'Чужие', allowedCardTypes: ['counterparty'] });
    const grant = (folderId: string, exporting: boolean) =>
      admin.data('mutation($id: ID!, $e: AccessEntryInput!) { grantFolderAccess(id: $id, entry: $e) { id } }', {
        id: folderId,
        e: { principalType: 'user', principalId: natashaId, level: 'read', export: exporting },
      });
    await grant(open, true);
    await grant(closed, false);
    const create = async (folderId: string, typeKey: string, values: Record<string, string>) =>
      (
        await admin.data<{ createCard: { id: string } }>('mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }', {
          f: folderId,
          t: typeKey,
          v: values,
        })
      ).createCard.id;
    const alpha = await create(open, 'counterparty', { name: 'ООО «Вектор Альфа»', inn: '7707083893' });
    const beta = await create(open, 'vault', { name: 'Вектор Бета', secret: 'пароль-сейфа' });
    const other = await create(open, 'counterparty', { name: 'ООО «Другая»' });
    const gamma = await create(closed, 'counterparty', { name: 'ООО «Вектор Гамма»' });
    await create(unseen, 'counterparty', { name: 'ООО «Вектор Дельта»' });
    ids = { open, closed, alpha, beta, other, gamma, department };
    const hiding = await admin.data<{ updateCardType: { changeJob: { id: string } | null } }>(
      'mutation($d: CardTypeInput!) { updateCardType(definition: $d) { changeJob { id } } }',
      {
        d: await versioned(admin, { ...vault, fields: vault.fields.map((field) => (field.key === 'secret' ? { ...field, hidden: true } : field)) }),
      },
    );
    await typeChangeApplied(admin, hiding.updateCardType.changeJob);
    natasha = await signedIn(server, 'natasha', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('exports what a search found, only from folders with «Экспорт», without hidden fields; audited with the search; counted as cards read', async () => {
    const csv = await post(natasha, { search: 'Вектор', format: 'csv' });
    expect(csv.status, csv.body.toString()).to.equal(200);
    expect(csv.headers.get('content-disposition')).to.contain('.csv');
    const lines = csvLines(csv.body);
    expect(lines[0].split(';')).to.include('Наименование').and.not.include('Шифр');
    // Both types' cards, in the results' order; not the card of the folder without «Экспорт», nor the one she cannot read.
    expect(lines.slice(1).map((line) => line.split(';')[0])).to.deep.equal(['Вектор Бета', 'ООО «Вектор Альфа»']);
    expect(csv.body.toString()).not.to.contain('пароль-сейфа').and.not.to.contain('Гамма').and.not.to.contain('Дельта');

    // The same by GET, as .xlsx.
    const xlsx = await fetch(`${server.url}/transfer/export?search=${encodeURIComponent('Вектор')}&format=xlsx`, { headers: { cookie: natasha.cookieHeader() } });
    expect(xlsx.status).to.equal(200);
    const rows = await sheetRows(Buffer.from(await xlsx.arrayBuffer()));
    expect(rows.slice(1).map((row) => row[0])).to.deep.equal(['Вектор Бета', 'ООО «Вектор Альфа»']);

    // An export is audited with its rows as its stream ends, which may come just after the client read the last byte.
    let exported: Audit[] = [];
    await waitFor(async () => (exported = (await audits('cards-exported')).filter((entry) => entry.targetType === 'Search')).length === 2, 'both search exports in the audit log');
    expect(exported[1].summary).to.equal('Поиск «Вектор»: 2 карточек в csv');
    expect(exported[1].after).to.deep.include({ search: 'Вектор', found: 3, leftOutWithoutRight: 1, rows: 2, complete: true });
    // 4 cards sent within the hour, the floor 3: the bulk-reading alarm is raised for her.
    await waitFor(async () => (await audits('bulk-reading')).some((entry) => entry.summary.includes('Наталья Вакуленко')), 'the bulk-reading alarm');
  });

  it('refuses a search whose every result lies in folders without «Экспорт», audited', async () => {
    const refused = await post(natasha, { search: 'Гамма', format: 'csv' });
    expect(refused.status).to.equal(403);
    expect(refusal(refused).code).to.equal('FORBIDDEN');
    expect((await audits('export-refused')).map((entry) => entry.summary)).to.include('Экспорт результатов поиска «Гамма» без права «Экспорт» (найдено: 1)');
  });

  it('refuses someone holding «Экспорт» on no folder whatever the search finds, also nothing — not an empty file (s17 check)', async () => {
    await createUser(admin, { login: 'reader', fullName: 'Ирина Орлова', password: PASSWORD, departmentId: ids.department });
    const reader = await signedIn(server, 'reader', PASSWORD);
    const refused = await post(reader, { search: 'Несуществующее', format: 'csv' });
    expect(refused.status).to.equal(403);
    expect(refusal(refused).error).to.include('нужно право «Экспорт»');
    expect((await audits('export-refused')).map((entry) => entry.summary)).to.include('Экспорт результатов поиска «Несуществующее» без права «Экспорт»');
  });

  it('exports the selected cards of a folder only, in the list’s order; audited with the selection', async () => {
    const selected = await post(natasha, { folderId: ids.open, ids: [ids.other, ids.alpha], sortBy: 'title', descending: false, format: 'csv' });
    expect(selected.status, selected.body.toString()).to.equal(200);
    expect(
      csvLines(selected.body)
        .slice(1)
        .map((line) => line.split(';')[0]),
    ).to.deep.equal(['ООО «Вектор Альфа»', 'ООО «Другая»']);
    let entry: Audit | undefined;
    await waitFor(
      async () => (entry = (await audits('cards-exported')).find((audit) => audit.summary.includes('выбранные карточки'))) !== undefined,
      'the selection export in the audit log',
    );
    expect(entry!.summary).to.equal('Папка «Открытые», выбранные карточки: 2 карточек в csv');
    expect(entry!.after).to.deep.include({ rows: 2, selected: [ids.other, ids.alpha] });
  });

  it('exports a column of a type the folder holds no card of yet, empty — a folder without a type restriction lists every type’s columns (s12 user U6)', async () => {
    const library = await createLibrary(admin, 'Переезд');
    const anyTypes = await createFolder(admin, { libraryId: library, name: 'Без ограничения типов' });
    // The administrator exports here: the other tests count Наталья's rows against the daily limit.
    await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: anyTypes, v: { name: 'ООО «Новосёл»' } });
    const answer = await post(admin, { folderId: anyTypes, columns: ['name', 'position'], format: 'csv' });
    expect(answer.status, answer.body.toString()).to.equal(200);
    expect(csvLines(answer.body)).to.deep.equal(['Наименование;Должность', 'ООО «Новосёл»;']);
    // A column no type has is still refused by name.
    expect(refusal(await post(admin, { folderId: anyTypes, columns: ['name', 'nothing'], format: 'csv' })).fields).to.deep.equal({ 'columns.1': 'Нет такого поля' });
  });

  it('checks the request field by field', async () => {
    const cases: [unknown, Record<string, string>][] = [
      [{ search: 'В', format: 'csv' }, { search: 'Введите не меньше 2 символов' }],
      [{ search: 'Вектор', folderId: ids.open, format: 'csv' }, { search: 'Выгружается либо поиск, либо папка, не оба сразу' }],
      [{ format: 'csv' }, { folderId: 'Укажите папку или поиск' }],
      [{ search: 'Вектор', format: 'pdf' }, { format: 'Формат: xlsx или csv' }],
      [{ folderId: ids.open, ids: [], format: 'csv' }, { ids: 'Не выбрано ни одной карточки' }],
      [{ folderId: ids.open, ids: 'abc', format: 'csv' }, { ids: 'Ожидается список' }],
      [{ folderId: ids.open, ids: [ids.alpha, 'not-an-id'], format: 'csv' }, { 'ids.1': 'Неверный идентификатор' }],
      // A card of another folder (or one moved away since it was ticked) is named, whatever she may read.
      [{ folderId: ids.open, ids: [ids.gamma, ids.alpha], format: 'csv' }, { 'ids.0': 'Этой карточки нет в папке: её перенесли или удалили' }],
      [{ folderId: ids.open, ids: Array.from({ length: 5001 }, () => ids.alpha), format: 'csv' }, { ids: 'Не больше 5000 элементов' }],
    ];
    for (const [body, fields] of cases) {
      const answer = await post(natasha, body);
      expect(answer.status, JSON.stringify(body).slice(0, 200)).to.equal(400);
      expect(refusal(answer)).to.deep.include({ code: 'BAD_USER_INPUT', fields });
    }
    expect(refusal(await post(natasha, '{"search": "Вектор"', 'application/json')).fields).to.deep.equal({ body: 'Неверный JSON' });
    // A body a form of another site could send is not taken.
    expect(refusal(await post(natasha, 'search=Вектор', 'application/x-www-form-urlencoded')).fields).to.deep.equal({ body: 'Ожидается JSON (application/json)' });
    // A selection in a folder without «Экспорт» is refused as its list is.
    expect((await post(natasha, { folderId: ids.closed, ids: [ids.gamma], format: 'csv' })).status).to.equal(403);
  });

  it('the audit log says in words what an export was of (its search, selection or filter and sort) and who joined a group', async () => {
    const tanyaId = await createUser(admin, { login: 'tanya', fullName: 'Татьяна Гончаренко', password: PASSWORD, departmentId: ids.department });
    const group = (await admin.data<{ groups: { id: string; systemRole: string | null }[] }>('{ groups { id systemRole } }')).groups.find((g) => g.systemRole === 'exporters')!;
    await admin.data('mutation($id: ID!, $u: [ID!]) { changeGroupMembers(id: $id, add: $u) { id } }', { id: group.id, u: [tanyaId] });
    await admin.data('mutation($id: ID!, $u: [ID!]) { changeGroupMembers(id: $id, remove: $u) { id } }', { id: group.id, u: [tanyaId] });
    const filters = [
      { field: 'name', op: 'contains', value: 'Вектор' },
      { field: 'inn', op: 'notEmpty' },
    ];
    const listed = await fetch(
      `${server.url}/transfer/export?folderId=${ids.open}&format=csv&sortBy=title&descending=false&columns=name,inn&filters=${encodeURIComponent(JSON.stringify(filters))}`,
      {
        headers: { cookie: admin.cookieHeader() },
      },
    );
    expect(listed.status).to.equal(200);
    await listed.arrayBuffer();
    type Described = { kind: string; targetType: string; details: string | null };
    const described = async (kind: string) =>
      (
        await admin.data<{ auditLog: { edges: { node: Described }[] } }>('query($k: String) { auditLog(kind: $k) { edges { node { kind targetType details } } } }', { k: kind })
      ).auditLog.edges.map((edge) => edge.node);
    // An export is audited with its rows as its stream ends, which may come just after the client read the last byte.
    const filtered = (entry: Described) => entry.details?.startsWith('Фильтр:') ?? false;
    let exports: Described[] = [];
    await waitFor(async () => (exports = await described('cards-exported')).some(filtered), 'the filtered export in the audit log');
    expect(exports.find(filtered)?.details).to.equal('Фильтр: «Наименование» содержит «Вектор»; «ИНН» заполнено · Сортировка: «Заголовок» ↑ · Столбцы: Наименование, ИНН');
    expect(exports.find((entry) => entry.targetType === 'Search')?.details).to.match(/^Поиск: «Вектор» \(найдено 3, в папках без права «Экспорт» — 1\) · Столбцы: /);
    expect(
      exports.some((entry) => /^Выбранные карточки: 2 · Сортировка: «Заголовок» ↑/.test(entry.details ?? '')),
      JSON.stringify(exports),
    ).to.equal(true);
    const members = (await described('group-members-changed')).map((entry) => entry.details);
    expect(members.slice(0, 2)).to.deep.equal(['Исключены: Татьяна Гончаренко (tanya)', 'Добавлены: Татьяна Гончаренко (tanya)']);
  });

  it('counts search and selection exports in the daily limit: over it, refused with the numbers and audited', async () => {
    // 2 + 2 (the search, twice) + 2 (the selection) of 7 today: the search's 2 more would pass the limit.
    const refused = await post(natasha, { search: 'Вектор', format: 'csv' });
    expect(refused.status).to.equal(403);
    expect(refusal(refused).error).to.contain('Сегодня выгружено: 6, в этом списке: 2, можно ещё: 1');
    const [limit] = await audits('export-limit-reached');
    expect(limit.summary).to.equal('Поиск «Вектор»: запрошено строк — 2, дневной лимит — 7, сегодня уже — 6');
    expect(limit.after).to.deep.include({ search: 'Вектор', requested: 2 });
    // One card still fits.
    expect((await post(natasha, { folderId: ids.open, ids: [ids.alpha], format: 'csv' })).status).to.equal(200);
  });
});
