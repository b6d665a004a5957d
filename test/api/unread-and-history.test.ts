import { createCorrespondents, createDepartment, createFolder, setFolderAccess } from '../support/fixtures';
import { expect } from 'chai';
import { HistoryEntry } from '../../server/src/history/model';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id version } }';
const UPDATE = 'mutation($id: ID!, $version: Int!, $v: JSON!) { updateCard(id: $id, version: $version, values: $v) { id version } }';
const COUNTS = '{ unreadCounts { folderId count } }';
const LIST = 'query($f: ID!) { cards(folderId: $f) { edges { node { id title unread { isNew changedFields } } } } }';
const HISTORY = 'query($id: ID!) { cardHistory(cardId: $id) { totalCount edges { node { seq action actorName changes { key label { ru } before after } } } } }';

describe('unread tracking and change history: the scenario (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let tatiana: ApiClient;
  let natalia: ApiClient;
  let outsider: ApiClient;
  const ids: Record<string, string> = {};
  const countFor = async (client: ApiClient) =>
    (await client.data<{ unreadCounts: { folderId: string; count: number }[] }>(COUNTS)).unreadCounts.find((c) => c.folderId === ids.folder)?.count ?? 0;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const elsewhere = await createDepartment(admin, 'Бухгалтерия');
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'nvakulenko', fullName: 'Наталья Вакуленко', level: 'full' },
      { login: 'outsider', fullName: 'Посторонний', level: 'read', departmentId: elsewhere },
    ]);
    Object.assign(ids, scenario.userIds, { folder: scenario.folderId, library: scenario.libraryId });
    tatiana = await signedIn(server, 'tgoncharenko', PASSWORD);
    natalia = await signedIn(server, 'nvakulenko', PASSWORD);
    outsider = await signedIn(server, 'outsider', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('Татьяна creates three counterparties: Наталья has 3 unread, Татьяна none', async () => {
    for (const name of ['ООО «Альфа»', 'ООО «Бета»', 'ООО «Гамма»']) {
      const card = await tatiana.data<{ createCard: { id: string } }>(CREATE, { f: ids.folder, v: { name, phone: '+7 495 111-11-11' } });
      ids[name] = card.createCard.id;
    }
    expect(await countFor(natalia)).to.equal(3);
    expect(await countFor(tatiana)).to.equal(0);
    const list = await natalia.data<{ cards: { edges: { node: { unread: { isNew: boolean } | null } }[] } }>(LIST, { f: ids.folder });
    expect(list.cards.edges.map((e) => e.node.unread?.isNew)).to.deep.equal([true, true, true]);
  });

  it('opening one card leaves 2', async () => {
    const opened = await natalia.data<{ openCard: { unread: { isNew: boolean } } }>('mutation($id: ID!) { openCard(id: $id) { unread { isNew } } }', { id: ids['ООО «Альфа»'] });
    expect(opened.openCard.unread.isNew).to.equal(true);
    expect(await countFor(natalia)).to.equal(2);
  });

  it('Татьяна changes its phone: unread again for Наталья with the phone highlighted, still read for Татьяна', async () => {
    await tatiana.data(UPDATE, { id: ids['ООО «Альфа»'], version: 1, v: { phone: '+7 495 222-22-22' } });
    expect(await countFor(natalia)).to.equal(3);
    const card = await natalia.data<{ card: { unread: { isNew: boolean; changedFields: string[] } } }>('query($id: ID!) { card(id: $id) { unread { isNew changedFields } } }', {
      id: ids['ООО «Альфа»'],
    });
    expect(card.card.unread).to.deep.equal({ isNew: false, changedFields: ['phone'] });
    expect(await countFor(tatiana)).to.equal(0);
  });

  it('history: off by default, then readable by history readers only after the administrator turns it on', async () => {
    const before = await natalia.request(HISTORY, { id: ids['ООО «Альфа»'] });
    expect(before.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { historyEnabled } }');
    const group = (await admin.data<{ groups: { id: string; systemRole: string | null }[] }>('{ groups { id systemRole } }')).groups.find(
      (g) => g.systemRole === 'history-readers',
    )!;
    await admin.data('mutation($id: ID!, $u: [ID!]) { changeGroupMembers(id: $id, add: $u) { id } }', { id: group.id, u: [ids.nvakulenko] });
    await tatiana.data(UPDATE, { id: ids['ООО «Альфа»'], version: 2, v: { phone: '+7 495 333-33-33' } });
    const history = await natalia.data<{
      cardHistory: {
        totalCount: number;
        edges: { node: { action: string; actorName: string; changes: { key: string; label: { ru: string }; before: string; after: string }[] } }[];
      };
    }>(HISTORY, { id: ids['ООО «Альфа»'] });
    expect(history.cardHistory.totalCount).to.equal(1);
    const [entry] = history.cardHistory.edges.map((e) => e.node);
    expect(entry.action).to.equal('update');
    expect(entry.actorName).to.equal('Татьяна Гончаренко');
    expect(entry.changes).to.have.length(1);
    expect(entry.changes[0].key).to.equal('phone');
    expect(entry.changes[0].label.ru).to.equal('Телефон');
    expect(String(entry.changes[0].before).replace(/\D/g, '')).to.equal('74952222222');
    expect(String(entry.changes[0].after).replace(/\D/g, '')).to.equal('74953333333');
  });

  it('a user outside «Операторы чтения истории» gets FORBIDDEN', async () => {
    const result = await outsider.request(HISTORY, { id: ids['ООО «Альфа»'] });
    expect(result.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
  });

  it('verifyHistory reports an entry altered directly in the database', async () => {
    await tatiana.data(UPDATE, { id: ids['ООО «Альфа»'], version: 3, v: { email: 'info@alfa.ru' } });
    const intact = await natalia.data<{ verifyHistory: { intact: boolean; entries: number } }>('query($id: ID!) { verifyHistory(cardId: $id) { intact entries } }', {
      id: ids['ООО «Альфа»'],
    });
    expect(intact.verifyHistory).to.deep.equal({ intact: true, entries: 2 });
    await HistoryEntry.updateOne({ seq: 1, 'changes.key': 'phone' }, { $set: { 'changes.0.after': '+7 000 000-00-00' } });
    const broken = await natalia.data<{ verifyHistory: { intact: boolean; brokenAtSeq: number; reason: string } }>(
      'query($id: ID!) { verifyHistory(cardId: $id) { intact brokenAtSeq reason } }',
      { id: ids['ООО «Альфа»'] },
    );
    expect(broken.verifyHistory).to.deep.equal({ intact: false, brokenAtSeq: 1, reason: 'content altered' });
  });

  it('rebuilds values as of a moment and reverts a field as a new, recorded change', async () => {
    const moment = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await tatiana.data(UPDATE, { id: ids['ООО «Бета»'], version: 1, v: { email: 'old@beta.ru' } });
    await tatiana.data(UPDATE, { id: ids['ООО «Бета»'], version: 2, v: { email: 'new@beta.ru' } });
    const asOf = await natalia.data<{ cardAsOf: { values: { email?: string } } }>('query($id: ID!, $at: DateTime!) { cardAsOf(cardId: $id, at: $at) { values } }', {
      id: ids['ООО «Бета»'],
      at: moment,
    });
    expect(asOf.cardAsOf.values.email).to.equal(undefined);
    const reverted = await natalia.data<{ revertCard: { values: { email?: string }; version: number } }>(
      'mutation($id: ID!, $at: DateTime!) { revertCard(cardId: $id, at: $at, fields: ["email"], version: 3) { values version } }',
      { id: ids['ООО «Бета»'], at: moment },
    );
    expect(reverted.revertCard.values.email).to.equal(undefined);
    const history = await natalia.data<{ cardHistory: { edges: { node: { action: string } }[] } }>(HISTORY, { id: ids['ООО «Бета»'] });
    expect(history.cardHistory.edges.map((e) => e.node.action)).to.deep.equal(['revert', 'update', 'update']);
  });

  it('reverting a move moves the card back to the folder it came from, as a recorded move', async () => {
    const archive = await createFolder(admin, { libraryId: ids.library, name: 'Архив' });
    await setFolderAccess(admin, archive, [{ principalId: ids.nvakulenko, level: 'full' }]);
    const card = ids['ООО «Бета»'];
    const { card: before } = await natalia.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id: card });
    await natalia.data('mutation($id: ID!, $f: ID!, $v: Int!) { moveCard(id: $id, folderId: $f, version: $v) { id } }', { id: card, f: archive, v: before.version });
    const moved = await natalia.data<{ cardHistory: { edges: { node: { action: string; at: string; changes: { key: string; before: string; after: string }[] } }[] } }>(
      'query($id: ID!) { cardHistory(cardId: $id) { edges { node { action at changes { key before after } } } } }',
      { id: card },
    );
    const move = moved.cardHistory.edges[0].node;
    expect(move).to.deep.include({ action: 'move', changes: [{ key: 'folder', before: 'Корреспонденты', after: 'Архив' }] });
    // What «Отменить» on that entry sends: the keys of its changes, as of just before it.
    const justBefore = new Date(new Date(move.at).getTime() - 1).toISOString();
    const reverted = await natalia.data<{ revertCard: { folderId: string } }>(
      'mutation($id: ID!, $at: DateTime!, $v: Int!) { revertCard(cardId: $id, at: $at, fields: ["folder"], version: $v) { folderId } }',
      { id: card, at: justBefore, v: before.version + 1 },
    );
    expect(reverted.revertCard.folderId).to.equal(ids.folder);
    const history = await natalia.data<{ cardHistory: { edges: { node: { action: string; changes: { before: string; after: string }[] } }[] } }>(HISTORY, { id: card });
    expect(history.cardHistory.edges[0].node).to.deep.include({ action: 'move' });
    expect(history.cardHistory.edges[0].node.changes[0]).to.deep.include({ before: 'Архив', after: 'Корреспонденты' });
  });

  it('switching history off stops new entries and keeps the old ones readable', async () => {
    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: false) { historyEnabled } }');
    await tatiana.data(UPDATE, { id: ids['ООО «Гамма»'], version: 1, v: { email: 'g@gamma.ru' } });
    const gamma = await natalia.data<{ cardHistory: { totalCount: number } }>(HISTORY, { id: ids['ООО «Гамма»'] });
    expect(gamma.cardHistory.totalCount).to.equal(0);
    const alfa = await natalia.data<{ cardHistory: { totalCount: number } }>(HISTORY, { id: ids['ООО «Альфа»'] });
    expect(alfa.cardHistory.totalCount).to.equal(2);
  });

  it('marks a whole folder read, and a card unread again on request', async () => {
    await natalia.data('mutation($f: ID!) { markFolderRead(folderId: $f) }', { f: ids.folder });
    expect(await countFor(natalia)).to.equal(0);
    await natalia.data('mutation($id: ID!) { markCardUnread(id: $id) }', { id: ids['ООО «Гамма»'] });
    expect(await countFor(natalia)).to.equal(1);
  });

  it('a user given access finds the folder unread; one losing it keeps no marks', async () => {
    const department = (await admin.data<{ departments: { id: string; name: string }[] }>('{ departments { id name } }')).departments.find((d) => d.name === 'Кассиопея')!.id;
    await admin.data('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { login: 'newcomer', fullName: 'Новенькая', password: PASSWORD, departmentId: department },
    });
    const newcomer = await signedIn(server, 'newcomer', PASSWORD);
    expect(await countFor(newcomer)).to.equal(0);
    await admin.data('mutation($id: ID!, $e: [AccessEntryInput!]!) { setFolderAccess(id: $id, entries: $e) { id } }', {
      id: ids.folder,
      e: [
        { principalType: 'user', principalId: ids.tgoncharenko, level: 'full' },
        { principalType: 'user', principalId: ids.nvakulenko, level: 'full' },
        { principalType: 'department', principalId: department, level: 'read' },
      ],
    });
    expect(await countFor(newcomer)).to.equal(3);
    expect((await outsider.data<{ unreadCounts: unknown[] }>(COUNTS)).unreadCounts).to.deep.equal([]);
  });
});

describe('concurrent edits of one card with history on (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('20 clients × 25 updates: one history entry per accepted update, none for rejected ones, final card = last accepted', async () => {
    const admin = await signedIn(server);
    const library = (await admin.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Гонка") { id } }')).createLibrary.id;
    const folder = (
      await admin.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', { input: { libraryId: library, name: 'Гонка' } })
    ).createFolder.id;
    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { historyEnabled } }');
    const card = (await admin.data<{ createCard: { id: string } }>(CREATE, { f: folder, v: { name: 'Общая карточка' } })).createCard.id;
    const clients = await Promise.all(Array.from({ length: 20 }, () => signedIn(server)));
    const accepted: { version: number; notes: string }[] = [];
    let rejected = 0;
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < 25; i += 1) {
          const current = await client.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id: card });
          const notes = `client ${c} update ${i}`;
          const result = await client.request<{ updateCard: { version: number } }>(UPDATE, { id: card, version: current.card.version, v: { notes } });
          if (result.errors) {
            expect(result.errors[0].extensions?.code).to.equal('CONFLICT');
            rejected += 1;
          } else {
            accepted.push({ version: result.data!.updateCard.version, notes });
          }
        }
      }),
    );
    expect(accepted.length + rejected).to.equal(500);
    const history = await admin.data<{ cardHistory: { totalCount: number } }>('query($id: ID!) { cardHistory(cardId: $id, first: 1) { totalCount } }', { id: card });
    expect(history.cardHistory.totalCount).to.equal(accepted.length + 1);
    const last = accepted.sort((a, b) => a.version - b.version).at(-1)!;
    const final = await admin.data<{ card: { version: number; values: { notes: string } } }>('query($id: ID!) { card(id: $id) { version values } }', { id: card });
    expect(final.card).to.deep.equal({ version: last.version, values: { name: 'Общая карточка', notes: last.notes } });
    const chain = await admin.data<{ verifyHistory: { intact: boolean } }>('query($id: ID!) { verifyHistory(cardId: $id) { intact } }', { id: card });
    expect(chain.verifyHistory.intact).to.equal(true);
  });
});
