import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { downloadFile, memoType, uploadFile } from '../support/files';
import { createDepartment, createFolder, createLibrary, createUser, setFolderAccess, typeChangeApplied, versioned } from '../support/fixtures';
import { SseSubscription } from '../support/sse';
import { signedIn, startTestServer } from '../support/server';
import { sheetRows } from '../support/xlsx';

const PASSWORD = 'secret-password-1';

type Entry = { principalType: string; principalId: string; level: string; export: boolean };
type EffectiveRow = { fullName: string; export: boolean; reasons: { level: string; export: boolean; sourceName: string }[] };

/**
 * «Экспорт» granted per folder or library to a user, a department or a group (an access entry's
 * export flag, inherited down like the level), by administrators only; every export path — CSV,
 * XLSX and saving a card's file — asks the same ability.
 */
describe('the «Экспорт» right per folder and library (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let natasha: ApiClient;
  let tanya: ApiClient;
  let ids: { natasha: string; tanya: string; sales: string; library: string; clients: string; branch: string; archive: string };

  const exportStatus = async (client: ApiClient, folderId: string, format: 'csv' | 'xlsx' = 'csv') => {
    const response = await fetch(`${server.url}/transfer/export?folderId=${folderId}&format=${format}`, { headers: { cookie: client.cookieHeader() } });
    const body = Buffer.from(await response.arrayBuffer());
    return { status: response.status, body };
  };
  const grantFolder = (client: ApiClient, folderId: string, entry: Record<string, unknown>) =>
    client.request('mutation($id: ID!, $e: AccessEntryInput!) { grantFolderAccess(id: $id, entry: $e) { id } }', { id: folderId, e: { principalType: 'user', ...entry } });
  const entriesOf = async (folderId: string) =>
    (await admin.data<{ folder: { accessEntries: Entry[] } }>('query($id: ID!) { folder(id: $id) { accessEntries { principalType principalId level export } } }', { id: folderId }))
      .folder.accessEntries;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: memoType });
    const sales = await createDepartment(admin, 'Отдел продаж');
    const natashaId = await createUser(admin, { login: 'natasha', fullName: 'Наталья Вакуленко', password: PASSWORD, departmentId: sales });
    const other = await createDepartment(admin, 'Бухгалтерия');
    const tanyaId = await createUser(admin, { login: 'tanya', fullName: 'Татьяна Гончаренко', password: PASSWORD, departmentId: other });
    const library = await createLibrary(admin, 'Клиенты');
    const clients = await createFolder(admin, { libraryId: library, name: 'Клиенты Москвы', allowedCardTypes: ['counterparty', 'memo'] });
    const branch = await createFolder(admin, { parentId: clients, name: 'Филиал', allowedCardTypes: ['counterparty'] });
    const archive = await createFolder(admin, { libraryId: library, name: 'Архив', allowedCardTypes: ['counterparty'] });
    await admin.data('mutation($id: ID!, $e: [AccessEntryInput!]!) { setLibraryAccess(id: $id, entries: $e) { id } }', {
      id: library,
      e: [
        { principalType: 'user', principalId: natashaId, level: 'read' },
        { principalType: 'user', principalId: tanyaId, level: 'full' },
      ],
    });
    ids = { natasha: natashaId, tanya: tanyaId, sales, library, clients, branch, archive };
    for (const [folder, name] of [
      [clients, 'ООО «Кассиопея»'],
      [branch, 'ООО «Филиал»'],
      [archive, 'ООО «Архивная»'],
    ]) {
      await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: folder, v: { name } });
    }
    natasha = await signedIn(server, 'natasha', PASSWORD);
    tanya = await signedIn(server, 'tanya', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('an administrator grants «Экспорт» on one folder: the reader exports it and its sub-folder (CSV, XLSX, its files), nothing else; the grant is audited', async () => {
    expect((await exportStatus(natasha, ids.clients)).status, 'a reader without the right').to.equal(403);

    const granted = await grantFolder(admin, ids.clients, { principalId: ids.natasha, level: 'read', export: true });
    expect(granted.errors, JSON.stringify(granted.errors)).to.equal(undefined);
    const viewer = await natasha.data<{ viewer: { rules: unknown[] } }>('{ viewer { rules } }');
    expect(JSON.stringify(viewer.viewer.rules)).to.contain('export');

    const csv = await exportStatus(natasha, ids.clients);
    expect(csv.status).to.equal(200);
    expect(csv.body.toString('utf8')).to.contain('ООО «Кассиопея»');
    expect((await exportStatus(natasha, ids.clients, 'xlsx')).status).to.equal(200);
    const inherited = await exportStatus(natasha, ids.branch);
    expect(inherited.status, 'the sub-folder inherits the entry').to.equal(200);
    expect(inherited.body.toString('utf8')).to.contain('ООО «Филиал»');
    const other = await exportStatus(natasha, ids.archive);
    expect(other.status, 'another folder of the library').to.equal(403);
    expect(JSON.parse(other.body.toString()).error).to.contain('Экспорт');

    // Saving a card's file is export too: allowed in the granted folder only.
    const upload = await uploadFile(
      admin,
      server.url,
      { folderId: ids.clients, typeKey: 'memo', field: 'attachment' },
      { name: 'записка.txt', content: Buffer.from('текст записки') },
    );
    const memo = await admin.data<{ createCard: { files: { url: string }[] } }>(
      'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "memo", values: $v) { files { url } } }',
      { f: ids.clients, v: { title: 'Записка', attachment: upload.body.file!.id } },
    );
    const file = await downloadFile(natasha, server.url, memo.createCard.files[0].url);
    expect(file.status).to.equal(200);
    expect(file.bytes.toString()).to.equal('текст записки');

    const audit = await admin.data<{ auditLog: { edges: { node: { kind: string; targetId: string; after: Entry[] } }[] } }>(
      '{ auditLog(kind: "access-changed", first: 1) { edges { node { kind targetId after } } } }',
    );
    expect(audit.auditLog.edges[0].node.targetId).to.equal(ids.clients);
    expect(audit.auditLog.edges[0].node.after).to.deep.equal([{ principalType: 'user', principalId: ids.natasha, includeSubdepartments: false, level: 'read', export: true }]);

    const effective = await admin.data<{ effectiveAccess: EffectiveRow[] }>(
      'query($id: ID!) { effectiveAccess(folderId: $id) { fullName export reasons { level export sourceName } } }',
      { id: ids.branch },
    );
    const row = effective.effectiveAccess.find((candidate) => candidate.fullName === 'Наталья Вакуленко')!;
    expect(row.export).to.equal(true);
    expect(row.reasons).to.deep.include({ level: 'read', export: true, sourceName: 'Клиенты Москвы' });
  });

  it('a library entry for a department grants «Экспорт» in every folder of the library to its members', async () => {
    expect((await exportStatus(natasha, ids.archive)).status).to.equal(403);
    await admin.data('mutation($id: ID!, $e: AccessEntryInput!) { grantLibraryAccess(id: $id, entry: $e) { id } }', {
      id: ids.library,
      e: { principalType: 'department', principalId: ids.sales, level: 'read', export: true },
    });
    expect((await exportStatus(natasha, ids.archive)).status).to.equal(200);
    expect((await exportStatus(tanya, ids.archive)).status, 'not a member of the department').to.equal(403);
    await admin.data('mutation($id: ID!, $e: AccessEntryInput!) { grantLibraryAccess(id: $id, entry: $e) { id } }', {
      id: ids.library,
      e: { principalType: 'department', principalId: ids.sales, level: 'read', export: false },
    });
    expect((await exportStatus(natasha, ids.archive)).status, 'withdrawn').to.equal(403);
  });

  it('someone with full access to a folder manages its entries but cannot grant or withdraw «Экспорт»; what they leave unsaid keeps the flag', async () => {
    const own = await grantFolder(tanya, ids.clients, { principalId: ids.tanya, level: 'full', export: true });
    expect(own.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    expect(own.errors?.[0].extensions?.fields).to.deep.equal({ 'entry.export': 'Право «Экспорт» выдаёт и снимает только администратор' });

    const withdraw = await grantFolder(tanya, ids.clients, { principalId: ids.natasha, level: 'read', export: false });
    expect(withdraw.errors?.[0].extensions?.fields).to.deep.equal({ 'entry.export': 'Право «Экспорт» выдаёт и снимает только администратор' });

    // Raising Наталья's level without a word about export leaves her right as it was.
    const raised = await grantFolder(tanya, ids.clients, { principalId: ids.natasha, level: 'edit' });
    expect(raised.errors, JSON.stringify(raised.errors)).to.equal(undefined);
    expect((await entriesOf(ids.clients)).find((entry) => entry.principalId === ids.natasha)).to.include({ level: 'edit', export: true });
    expect((await exportStatus(natasha, ids.clients)).status).to.equal(200);
    expect((await exportStatus(tanya, ids.clients)).status).to.equal(403);

    // Replacing all entries works the same way: the flag stays unless an administrator changes it.
    await setFolderAccess(tanya, ids.clients, [{ principalId: ids.natasha, level: 'read' }]);
    expect((await entriesOf(ids.clients)).find((entry) => entry.principalId === ids.natasha)).to.include({ level: 'read', export: true });
  });

  it('someone with full access cannot hand a department’s «Экспорт» to its sub-departments by widening the entry; an administrator can', async () => {
    const south = await createDepartment(admin, 'Продажи — Юг', ids.sales);
    const southId = await createUser(admin, { login: 'yug', fullName: 'Юрий Южный', password: PASSWORD, departmentId: south });
    const yug = await signedIn(server, 'yug', PASSWORD);
    const department = (entry: Record<string, unknown>) => ({ principalType: 'department' as const, principalId: ids.sales, level: 'read' as const, ...entry });
    await grantFolder(admin, ids.archive, department({ export: true }));
    await grantFolder(admin, ids.archive, { principalId: southId, level: 'read' });
    expect((await exportStatus(yug, ids.archive)).status, 'the sub-department is not covered').to.equal(403);

    const message = 'Запись даёт право «Экспорт»: распространить её на подотделы или снять с них может только администратор';
    const widened = await grantFolder(tanya, ids.archive, department({ includeSubdepartments: true }));
    expect(widened.errors?.[0].extensions?.fields).to.deep.equal({ 'entry.includeSubdepartments': message });
    const replaced = await setFolderAccess(tanya, ids.archive, [department({ includeSubdepartments: true })]).catch((error: Error) => error.message);
    expect(replaced).to.contain(message);
    expect((await exportStatus(yug, ids.archive)).status).to.equal(403);

    // An entry without «Экспорт» is widened as before; the administrator widens the one with it.
    expect((await grantFolder(tanya, ids.archive, { principalType: 'department', principalId: south, level: 'read', includeSubdepartments: true })).errors).to.equal(undefined);
    expect((await grantFolder(admin, ids.archive, department({ includeSubdepartments: true }))).errors).to.equal(undefined);
    expect((await exportStatus(yug, ids.archive)).status).to.equal(200);
  });

  it('someone with full access cannot give others «Экспорт» by moving a folder under an exporting one, nor keep an inherited one by stopping inheritance', async () => {
    const MOVE = 'mutation($id: ID!, $p: ID) { moveFolder(id: $id, parentId: $p) { id parentId } }';
    const INHERIT = 'mutation($id: ID!, $i: Boolean!) { setFolderInheritance(id: $id, inherits: $i) { id inheritsAccess } }';
    const exporting = await createFolder(admin, { libraryId: ids.library, name: 'Выгружаемая', allowedCardTypes: ['counterparty'] });
    await grantFolder(admin, exporting, { principalId: ids.natasha, level: 'read', export: true });
    const plain = await createFolder(admin, { libraryId: ids.library, name: 'Закрытая для выгрузки', allowedCardTypes: ['counterparty'] });
    expect((await exportStatus(natasha, plain)).status).to.equal(403);

    // Татьяна (full access, no «Экспорт» of her own anywhere) moves «Закрытая для выгрузки» under «Выгружаемая»: Наталья would export it.
    const moved = await tanya.request(MOVE, { id: plain, p: exporting });
    expect(moved.errors?.[0].message).to.equal(
      'Недостаточно прав: папка «Закрытая для выгрузки» дала бы «Наталья Вакуленко» право «Экспорт», которое выдаёт только администратор; обратитесь к администратору',
    );
    expect((await exportStatus(natasha, plain)).status).to.equal(403);

    // A folder inheriting Наталья's «Экспорт» (the administrator placed it there) keeps inheriting: stopping would make the right its own.
    expect((await admin.request(MOVE, { id: plain, p: exporting })).errors).to.equal(undefined);
    const stopped = await tanya.request(INHERIT, { id: plain, i: false });
    expect(stopped.errors?.[0].message).to.equal(
      'Недостаточно прав: папка наследует право «Экспорт» для «Наталья Вакуленко»: прекратить наследование (и сделать это право собственным правом папки) может только администратор',
    );
    // The administrator withdraws it where it came from: gone from the sub-folder too.
    await grantFolder(admin, exporting, { principalId: ids.natasha, level: 'read', export: false });
    expect((await exportStatus(natasha, plain)).status).to.equal(403);
  });

  it('a folder that takes any card type is listed, filtered and sorted by its cards’ fields (they were refused as unknown)', async () => {
    const anyType = await createFolder(admin, { libraryId: ids.library, name: 'Всё подряд' });
    for (const [name, inn] of [
      ['ООО «Любая-1»', '5001007336'],
      ['ООО «Любая-2»', '5001007329'],
    ])
      await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: anyType, v: { name, inn } });
    type List = { cards: { totalCount: number; edges: { node: { title: string } }[] } };
    const LIST = 'query($f: ID!, $s: String, $filters: [CardFilterInput!]) { cards(folderId: $f, sortBy: $s, filters: $filters) { totalCount edges { node { title } } } }';
    const byInn = await admin.data<List>(LIST, { f: anyType, filters: [{ field: 'inn', op: 'contains', value: '7336' }] });
    expect(byInn.cards.edges.map((edge) => edge.node.title)).to.deep.equal(['ООО «Любая-1»']);
    const sorted = await admin.data<List>(LIST, { f: anyType, s: 'inn' });
    expect(sorted.cards.edges.map((edge) => edge.node.title)).to.deep.equal(['ООО «Любая-2»', 'ООО «Любая-1»']);
  });

  it('an owner’s grants sent while an administrator withdraws «Экспорт» do not put it back', async () => {
    const folder = await createFolder(admin, { libraryId: ids.library, name: 'Спорная папка', allowedCardTypes: ['counterparty'] });
    for (let round = 0; round < 5; round += 1) {
      await grantFolder(admin, folder, { principalId: ids.natasha, level: 'read', export: true });
      // Татьяна (full access through the library) raises and lowers Наталья's level, not naming «Экспорт», while the administrator withdraws it.
      const answers = await Promise.all([
        ...Array.from({ length: 4 }, (_, n) => grantFolder(tanya, folder, { principalId: ids.natasha, level: n % 2 ? 'read' : 'edit' })),
        grantFolder(admin, folder, { principalId: ids.natasha, level: 'read', export: false }),
        ...Array.from({ length: 4 }, (_, n) => grantFolder(tanya, folder, { principalId: ids.natasha, level: n % 2 ? 'edit' : 'read' })),
      ]);
      // Each is written, or (when others kept changing the entries in between) answered CONFLICT to be sent again — as the administrator then does.
      for (const answer of answers) expect([undefined, 'CONFLICT'], JSON.stringify(answer.errors)).to.include(answer.errors?.[0].extensions?.code);
      if (answers[4].errors) expect((await grantFolder(admin, folder, { principalId: ids.natasha, level: 'read', export: false })).errors).to.equal(undefined);
      expect((await entriesOf(folder)).find((entry) => entry.principalId === ids.natasha)?.export, `round ${round}`).to.equal(false);
    }
    expect((await exportStatus(natasha, folder)).status).to.equal(403);
  });

  it('writes a card’s value only under a field its own type shows: a key hidden in one type and visible in another does not leak; a folder open to every type exports its cards’ types', async () => {
    const typeWithSecret = (key: string, label: string) => ({
      key,
      names: { ru: label, en: label },
      titleTemplate: '{name}',
      historyEnabled: false,
      origin: 'admin',
      fields: [
        { key: 'name', kind: 'string', label: { ru: 'Название', en: 'Name' }, required: true, listed: true },
        { key: 'secret', kind: 'string', label: { ru: `Поле ${label}`, en: `Field ${label}` }, listed: true },
      ],
    });
    const closed = typeWithSecret('closed-secret', 'Закрытый');
    for (const type of [closed, typeWithSecret('open-secret', 'Открытый')])
      await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: type });
    const mixed = await createFolder(admin, { libraryId: ids.library, name: 'Смешанная', allowedCardTypes: ['closed-secret', 'open-secret'] });
    const create = (folderId: string, typeKey: string, values: Record<string, string>) =>
      admin.data('mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }', { f: folderId, t: typeKey, v: values });
    await create(mixed, 'closed-secret', { name: 'Альфа', secret: 'пароль-сейфа' });
    await create(mixed, 'open-secret', { name: 'Бета', secret: 'открытое' });
    const hiding = await admin.data<{ updateCardType: { changeJob: { id: string } | null } }>(
      'mutation($d: CardTypeInput!) { updateCardType(definition: $d) { changeJob { id } } }',
      {
        d: await versioned(admin, { ...closed, fields: closed.fields.map((field) => (field.key === 'secret' ? { ...field, hidden: true } : field)) }),
      },
    );
    await typeChangeApplied(admin, hiding.updateCardType.changeJob);
    const csv = (await exportStatus(admin, mixed)).body.toString('utf8');
    expect(csv).to.contain('Бета;открытое');
    expect(csv).not.to.contain('пароль-сейфа');
    expect(csv).to.match(/Альфа;\r\n/);
    const xlsx = await exportStatus(admin, mixed, 'xlsx');
    expect(JSON.stringify(await sheetRows(xlsx.body))).not.to.contain('пароль-сейфа');

    // No types named: the folder's cards are exported with their own type's fields.
    const open = await createFolder(admin, { libraryId: ids.library, name: 'Любые типы' });
    await create(open, 'counterparty', { name: 'ООО «Любая»', inn: '7707083893' });
    const lines = (await exportStatus(admin, open)).body
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .split('\r\n');
    expect(lines[0]).to.contain('Наименование').and.contain('ИНН');
    expect(lines[1]).to.contain('ООО «Любая»').and.contain('7707083893');
  });

  it('writes a referenced card’s title only where the exporter has «Экспорт»: one read without it reads «(нет права «Экспорт»)»', async () => {
    const contracts = await createFolder(admin, { libraryId: ids.library, name: 'Выгружаемые договоры', allowedCardTypes: ['contract', 'counterparty'] });
    expect((await grantFolder(admin, contracts, { principalId: ids.natasha, level: 'read', export: true })).errors).to.equal(undefined);
    const create = async (folderId: string, typeKey: string, values: Record<string, unknown>) =>
      (
        await admin.data<{ createCard: { id: string } }>('mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }', {
          f: folderId,
          t: typeKey,
          v: values,
        })
      ).createCard.id;
    const own = await create(contracts, 'counterparty', { name: 'ООО «Своя»' });
    // A folder of another library she reads, without «Экспорт».
    const others = await createLibrary(admin, 'Партнёры');
    const partners = await createFolder(admin, { libraryId: others, name: 'Чужие контрагенты', allowedCardTypes: ['counterparty'] });
    expect((await grantFolder(admin, partners, { principalId: ids.natasha, level: 'read' })).errors).to.equal(undefined);
    const archived = await create(partners, 'counterparty', { name: 'ООО «Чужая»' });
    expect((await natasha.data<{ card: { title: string } | null }>('query($id: ID!) { card(id: $id) { title } }', { id: archived })).card?.title).to.equal('ООО «Чужая»');
    await create(contracts, 'contract', { number: 'В-1', date: '2026-11-26', counterparty: own });
    await create(contracts, 'contract', { number: 'В-2', date: '2026-11-26', counterparty: archived });
    for (const format of ['csv', 'xlsx'] as const) {
      const exported = await exportStatus(natasha, contracts, format);
      expect(exported.status, format).to.equal(200);
      const text = format === 'csv' ? exported.body.toString('utf8') : JSON.stringify(await sheetRows(exported.body));
      expect(text, format).to.contain('ООО «Своя»').and.contain('(нет права «Экспорт»)');
      expect(text, format).not.to.contain('Чужая');
    }
  });

  it('tells an open tab live when «Экспорт» is given or taken (the group «Доверенные лица (экспорт)», an entry’s flag), so the control comes and goes without a reload', async () => {
    const olegId = await createUser(admin, { login: 'oleg', fullName: 'Олег Сверкин', password: PASSWORD, departmentId: await createDepartment(admin, 'Склад') });
    const folder = await createFolder(admin, { libraryId: ids.library, name: 'Папка Олега', allowedCardTypes: ['counterparty'] });
    expect((await grantFolder(admin, folder, { principalId: olegId, level: 'read' })).errors).to.equal(undefined);
    const oleg = await signedIn(server, 'oleg', PASSWORD);
    const live = new SseSubscription<{ live: { accessChanged: boolean } }>(server.url, oleg.cookieHeader(), 'subscription { live { accessChanged } }');
    try {
      await live.ready;
      const mayExport = async () => JSON.stringify((await oleg.data<{ viewer: { rules: unknown[] } }>('{ viewer { rules } }')).viewer.rules).includes('export');
      expect(await mayExport()).to.equal(false);
      const { groups } = await admin.data<{ groups: { id: string; systemRole: string | null }[] }>('{ groups { id systemRole } }');
      const exporters = groups.find((group) => group.systemRole === 'exporters')!.id;
      const members = (change: 'add' | 'remove') =>
        admin.data(`mutation($id: ID!, $u: [ID!]) { changeGroupMembers(id: $id, ${change}: $u) { id } }`, { id: exporters, u: [olegId] });

      await members('add');
      expect((await live.waitFor(1, 5000))[0].live, 'joined the group').to.deep.equal({ accessChanged: true });
      expect(await mayExport()).to.equal(true);
      await members('remove');
      expect((await live.waitFor(2, 5000))[1].live, 'left the group').to.deep.equal({ accessChanged: true });
      expect(await mayExport()).to.equal(false);
      // The same level on the folder, with the flag ticked, then unticked.
      expect((await grantFolder(admin, folder, { principalId: olegId, level: 'read', export: true })).errors).to.equal(undefined);
      expect((await live.waitFor(3, 5000))[2].live, 'the entry’s flag ticked').to.deep.equal({ accessChanged: true });
      expect(await mayExport()).to.equal(true);
      expect((await grantFolder(admin, folder, { principalId: olegId, level: 'read', export: false })).errors).to.equal(undefined);
      expect((await live.waitFor(4, 5000))[3].live, 'the entry’s flag unticked').to.deep.equal({ accessChanged: true });
      expect(await mayExport()).to.equal(false);
    } finally {
      live.close();
    }
  });
});
