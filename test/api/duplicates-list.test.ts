import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { searchLimits } from '../../server/src/duplicates/groups';
import { keysComputed } from '../../server/src/duplicates/keys';
import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id version } }';
const GROUPS = `query($t: String, $s: String, $c: ID, $first: Int, $after: String) {
  duplicateGroups(typeKey: $t, search: $s, cardId: $c, first: $first, after: $after) {
    edges { node { score size cards { title } } cursor } pageInfo { hasNextPage endCursor } searchLimit } }`;
const CARD_GROUP = 'query($id: ID!) { card(id: $id) { duplicateGroup { id size cards { title } } } }';
const DISMISSALS = `query($first: Int, $after: String) { duplicateDismissals(first: $first, after: $after) {
  edges { node { id typeKey byName at cards { title } } cursor } pageInfo { hasNextPage endCursor } } }`;
const MARK = 'mutation($c: ID!, $o: [ID!]!) { markNotDuplicates(cardId: $c, otherIds: $o) }';
const UNDO_MARK = 'mutation($id: ID!) { undoNotDuplicates(id: $id) }';

interface GroupsPage {
  edges: { node: { score: number; size: number; cards: { title: string }[] }; cursor: string }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  searchLimit: number | null;
}
interface Mark {
  id: string;
  typeKey: string;
  byName: string;
  at: string;
  cards: { title: string }[];
}

/**
 * Finding a card's group (a search over titles, the card's own group, the link on its page), the
 * order and cursor of the list as a viewer who cannot read every card sees them, and «Не дубликат»
 * marks listed and taken back.
 */
describe('duplicates: finding a group, the list as each viewer sees it, «Не дубликат» taken back (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let eve: ApiClient;
  let mal: ApiClient;
  const ids: Record<string, string> = {};

  const create = async (folder: string, name: string, key: string) => {
    ids[key] = (await admin.data<{ createCard: { id: string } }>(CREATE, { f: folder, v: { name } })).createCard.id;
  };
  const page = async (client: ApiClient, variables: Record<string, unknown> = {}) =>
    (await client.data<{ duplicateGroups: GroupsPage }>(GROUPS, { t: 'counterparty', first: 20, ...variables })).duplicateGroups;
  const titles = (list: GroupsPage) => list.edges.map((edge) => edge.node.cards.map((card) => card.title).sort());
  const marks = async (client: ApiClient, variables: Record<string, unknown> = {}) =>
    (await client.data<{ duplicateDismissals: { edges: { node: Mark; cursor: string }[]; pageInfo: GroupsPage['pageInfo'] } }>(DISMISSALS, { first: 20, ...variables }))
      .duplicateDismissals;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'eve', fullName: 'Ева Миронова', level: 'edit' },
      { login: 'mal', fullName: 'Мал Читатель', level: 'read' },
    ]);
    ids.FE = scenario.folderId;
    ids.FR = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Только чтение', allowedCardTypes: ['counterparty'] });
    ids.FH = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Закрытая', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, ids.FR, [{ principalId: scenario.userIds.eve, level: 'read' }]);
    eve = await signedIn(server, 'eve', PASSWORD);
    mal = await signedIn(server, 'mal', PASSWORD);
    // E (eve edits) and R (eve reads) are alike by name (0.73); H, hidden from eve, has E's very name (1).
    await create(ids.FE, 'Кассиопея', 'E');
    await create(ids.FR, 'Касиопея', 'R');
    await create(ids.FH, 'ООО «Кассиопея»', 'H');
    // K1–K2: alike (0.78), both where eve edits.
    await create(ids.FE, 'Северный ветер', 'K1');
    await create(ids.FE, 'Северный ветерок', 'K2');
  });
  after(async () => {
    await server?.stop();
  });

  it('orders the list, shows the score and makes the cursor from the pairs the viewer may read only', async () => {
    const all = await page(admin);
    expect(titles(all)).to.deep.equal([
      ['Касиопея', 'Кассиопея', 'ООО «Кассиопея»'],
      ['Северный ветер', 'Северный ветерок'],
    ]);
    expect(all.edges[0].node.score).to.equal(1);
    // Eve's part E–R is alike by 0.73 only: it comes after K (0.78), and nothing in its cursor tells of the exact pair with H.
    const seen = await page(eve);
    expect(titles(seen)).to.deep.equal([
      ['Северный ветер', 'Северный ветерок'],
      ['Касиопея', 'Кассиопея'],
    ]);
    const [k, er] = seen.edges;
    expect(er.node.score).to.be.closeTo(8 / 11, 1e-9);
    expect(Number(er.cursor.split('_')[0])).to.equal(er.node.score);
    expect(Number(k.cursor.split('_')[0])).to.equal(k.node.score);
    expect(er.cursor).not.to.include(ids.FH);
    // Page by page (keyset), the same order.
    const first = await page(eve, { first: 1 });
    expect(titles(first)).to.deep.equal([['Северный ветер', 'Северный ветерок']]);
    expect(first.pageInfo.hasNextPage).to.equal(true);
    const second = await page(eve, { first: 1, after: first.pageInfo.endCursor });
    expect(titles(second)).to.deep.equal([['Касиопея', 'Кассиопея']]);
    expect(second.pageInfo.hasNextPage).to.equal(false);
    const bad = await eve.request(GROUPS, { after: '1_abc' });
    expect(bad.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
  });

  it('finds a group by a word of a card title (with the type filter), and a card’s own group', async () => {
    expect(titles(await page(eve, { s: 'ветерок' }))).to.deep.equal([['Северный ветер', 'Северный ветерок']]);
    expect(titles(await page(eve, { s: 'касиопе' }))).to.deep.equal([['Касиопея', 'Кассиопея']]);
    expect(titles(await page(admin, { s: 'ООО Кассиопея' }))).to.deep.equal([['Касиопея', 'Кассиопея', 'ООО «Кассиопея»']]);
    // A title eve cannot read finds nothing for her; another type has no such groups.
    expect(titles(await page(eve, { s: 'ООО Кассиопея' }))).to.deep.equal([]);
    expect(titles(await page(eve, { s: 'ветерок', t: 'contact-person' }))).to.deep.equal([]);
    expect(titles(await page(eve, { c: ids.K1 }))).to.deep.equal([['Северный ветер', 'Северный ветерок']]);
    expect(titles(await page(eve, { c: ids.H }))).to.deep.equal([]);
  });

  it('says when a search matched more cards than it looks at (their groups only are shown), and not when a narrower one did not', async () => {
    const limit = searchLimits.cards;
    searchLimits.cards = 1;
    try {
      const wide = await page(eve, { s: 'северный' });
      expect(wide.searchLimit).to.equal(1);
      expect(wide.edges).to.have.length(1);
      const narrow = await page(eve, { s: 'северный ветерок' });
      expect(narrow.searchLimit).to.equal(null);
      expect(titles(narrow)).to.deep.equal([['Северный ветер', 'Северный ветерок']]);
    } finally {
      searchLimits.cards = limit;
    }
    expect((await page(eve, { s: 'северный' })).searchLimit).to.equal(null);
    expect((await page(eve)).searchLimit).to.equal(null);
  });

  it('gives a card page its group, counting only the cards the viewer may read; none for a reader', async () => {
    const group = async (client: ApiClient, id: string) =>
      (await client.data<{ card: { duplicateGroup: { size: number; cards: { title: string }[] } | null } }>(CARD_GROUP, { id })).card.duplicateGroup;
    expect((await group(admin, ids.E))?.size).to.equal(3);
    expect((await group(eve, ids.E))?.size).to.equal(2);
    expect((await group(eve, ids.R))?.cards.map((card) => card.title).sort()).to.deep.equal(['Касиопея', 'Кассиопея']);
    expect(await group(mal, ids.K1)).to.equal(null);
  });

  it('lists «Не дубликат» marks to those who may edit both cards, and takes one back: the pair is offered again at once, audited', async () => {
    await eve.data(MARK, { c: ids.K1, o: [ids.K2] });
    await admin.data(MARK, { c: ids.E, o: [ids.R] });
    expect(titles(await page(eve))).to.deep.equal([]);

    const byAdmin = await marks(admin);
    expect(byAdmin.edges.map((edge) => [edge.node.byName, edge.node.cards.map((card) => card.title).sort()])).to.deep.equal([
      ['Администратор', ['Касиопея', 'Кассиопея']],
      ['Ева Миронова', ['Северный ветер', 'Северный ветерок']],
    ]);
    const onePage = await marks(admin, { first: 1 });
    expect(onePage.pageInfo.hasNextPage).to.equal(true);
    expect((await marks(admin, { first: 1, after: onePage.pageInfo.endCursor })).edges.map((edge) => edge.node.byName)).to.deep.equal(['Ева Миронова']);
    // Eve only reads R: the mark of E–R is not hers to list or take back.
    const byEve = await marks(eve);
    expect(byEve.edges.map((edge) => edge.node.cards.map((card) => card.title).sort())).to.deep.equal([['Северный ветер', 'Северный ветерок']]);
    const erMark = byAdmin.edges[0].node.id;
    const refused = await eve.request(UNDO_MARK, { id: erMark });
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    expect(refused.errors?.[0].message).to.include('нужно право редактирования обеих карточек');
    expect((await mal.request(DISMISSALS)).errors?.[0].extensions?.code).to.equal('FORBIDDEN');

    await eve.data(UNDO_MARK, { id: byEve.edges[0].node.id });
    expect(titles(await page(eve))).to.deep.equal([['Северный ветер', 'Северный ветерок']]);
    expect((await marks(eve)).edges).to.deep.equal([]);
    const again = await eve.request(UNDO_MARK, { id: byEve.edges[0].node.id });
    expect(again.errors?.[0].extensions?.code).to.equal('NOT_FOUND');
    const log = (
      await admin.data<{ auditLog: { edges: { node: { kind: string; summary: string; actorLogin: string } }[] } }>(
        '{ auditLog(kind: "duplicates-dismissal-undone") { edges { node { kind summary actorLogin } } } }',
      )
    ).auditLog.edges.map((edge) => edge.node);
    expect(log.map((entry) => [entry.actorLogin, entry.summary])).to.deep.equal([['eve', 'Северный ветер']]);

    // The mark follows a card that moves: R moved to where eve edits, the E–R mark is hers to see.
    const r = (await admin.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id: ids.R })).card;
    await admin.data('mutation($id: ID!, $f: ID!, $v: Int!) { moveCard(id: $id, folderId: $f, version: $v) { id } }', { id: ids.R, f: ids.FE, v: r.version });
    expect((await marks(eve)).edges.map((edge) => edge.node.id)).to.deep.equal([erMark]);
    // A card of the pair in the trash: the mark is listed (the card marked so) to those who may see it
    // there and restore it — not to eve, who only edits — and can be taken back.
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: ids.E });
    expect((await marks(eve)).edges).to.deep.equal([]);
    expect((await eve.request(UNDO_MARK, { id: erMark })).errors?.[0].extensions?.code).to.equal('NOT_FOUND');
    const trashed = await admin.data<{ duplicateDismissals: { edges: { node: { cards: { title: string; inTrash: boolean }[] } }[] } }>(
      '{ duplicateDismissals { edges { node { cards { title inTrash } } } } }',
    );
    expect(trashed.duplicateDismissals.edges[0].node.cards.find((one) => one.title === 'Кассиопея')?.inTrash).to.equal(true);
    expect((await admin.data<{ undoNotDuplicates: boolean }>(UNDO_MARK, { id: erMark })).undoNotDuplicates).to.equal(true);
    expect((await marks(admin)).edges).to.deep.equal([]);
  });

  it('lets a «Не дубликат» mark lapse when a later edit gives the pair the same e-mail or phone: the pair is in the groups again, audited', async () => {
    const person = async (values: Record<string, unknown>) =>
      (await eve.data<{ createCard: { id: string } }>(CREATE.replace('"counterparty"', '"contact-person"'), { f: ids.FE, v: values })).createCard.id;
    const update = async (id: string, values: Record<string, unknown>) => {
      const { version } = (await eve.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id })).card;
      await eve.data('mutation($id: ID!, $n: Int!, $v: JSON!) { updateCard(id: $id, version: $n, values: $v) { id } }', { id, n: version, v: values });
    };
    const contacts = async (id: string) => titles(await page(eve, { t: 'contact-person', c: id }));
    const a = await person({ fullName: 'Смирнова Анна', email: 'anna.smirnova@alfa.ru' });
    const b = await person({ fullName: 'Смирнова Анна С.', email: 'a.smirnova@beta.ru' });
    expect(await contacts(a)).to.deep.equal([['Смирнова Анна', 'Смирнова Анна С.']]);
    await eve.data(MARK, { c: a, o: [b] });
    expect(await contacts(a)).to.deep.equal([]);
    // An edit that makes them no more the same than they were keeps the mark.
    await update(b, { fullName: 'Смирнова Анна Ю.' });
    expect(await contacts(a)).to.deep.equal([]);
    expect((await marks(eve)).edges.map((edge) => edge.node.cards.map((card) => card.title).sort())).to.deep.equal([['Смирнова Анна', 'Смирнова Анна Ю.']]);

    // The same e-mail now: they are the same person after all.
    await update(b, { email: 'anna.smirnova@alfa.ru' });
    expect(await contacts(a)).to.deep.equal([['Смирнова Анна', 'Смирнова Анна Ю.']]);
    expect((await marks(eve)).edges).to.deep.equal([]);
    const log = (
      await admin.data<{ auditLog: { edges: { node: { summary: string; actorLogin: string; before: unknown; after: unknown } }[] } }>(
        '{ auditLog(kind: "duplicates-dismissal-lapsed") { edges { node { summary actorLogin before after } } } }',
      )
    ).auditLog.edges.map((edge) => edge.node);
    expect(log.map((entry) => [entry.actorLogin, entry.summary, entry.after])).to.deep.equal([['eve', 'Смирнова Анна Ю.', { sameBy: ['email'] }]]);
    expect(log[0].before).to.deep.include({ notDuplicatesOf: [{ id: a, title: 'Смирнова Анна' }] });
  });

  it('makes a saved card’s duplicate keys once: the save stores them, the refresh of its groups after the commit reuses them', async () => {
    const before = keysComputed();
    const first = (await eve.data<{ createCard: { id: string } }>(CREATE, { f: ids.FE, v: { name: 'Звёздный путь' } })).createCard;
    await eve.data(CREATE, { f: ids.FE, v: { name: 'ООО «Звездный путь»' } });
    await eve.data(CREATE, { f: ids.FE, v: { name: 'Лунная дорога' } });
    expect(keysComputed() - before).to.equal(3);
    await eve.data('mutation($id: ID!, $v: JSON!) { updateCard(id: $id, version: 1, values: $v) { id } }', { id: first.id, v: { name: 'Звёздный путь плюс' } });
    expect(keysComputed() - before).to.equal(4);
    expect(titles(await page(eve, { s: 'путь' }))).to.deep.equal([['Звёздный путь плюс', 'ООО «Звездный путь»']]);
  });
});
