import { expect } from 'chai';
import { Types } from 'mongoose';
import { Card } from '../../server/src/cards/model';
import { verifyChain } from '../../server/src/history/chain';
import { HistoryEntry, type HistoryEntryDoc } from '../../server/src/history/model';
import type { RunningServer } from '../../server/src/server';
import { ApiClient, refusalFields } from '../support/api-client';
import { createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const ILL_FORMED = 'Текст содержит повреждённый символ (одиночный суррогат UTF-16): его нельзя сохранить как есть';
const WRONG_TYPE = 'Значение не подходит к типу этого аргумента';
const REQUIRED = 'Обязательное поле';

describe('input guard: query text, unstorable text, refusals naming the argument (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folderId: string;
  let departmentId: string;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    ({ folderId, departmentId } = await createCorrespondents(admin, PASSWORD, []));
    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { historyEnabled } }');
  });
  after(async () => {
    await server?.stop();
  });

  it('refuses 3,000 levels of nesting before parsing, with or without signing in', async () => {
    const deep = `{ ${'viewer { '.repeat(3000)}id${' }'.repeat(3000)} }`;
    const anonymous = await new ApiClient(server.url).request(deep);
    expect(refusalFields(anonymous)).to.deep.equal({ query: 'Слишком глубокая вложенность (больше 40)' });
    const deepValue = await admin.request(`mutation { createGroup(name: ${'['.repeat(3000)}"x"${']'.repeat(3000)}) { id } }`);
    expect(refusalFields(deepValue)).to.deep.equal({ name: 'Слишком глубокая вложенность (больше 40)' });
    // An object written for a text argument is refused at that argument; inside an input object, at the key within.
    const nested = (depth: number) => `${'{ a: '.repeat(depth)}1${' }'.repeat(depth)}`;
    const objectForText = refusalFields(await admin.request(`mutation { setCardTypeHistory(typeKey: ${nested(45)}, enabled: true) { key } }`));
    expect(Object.keys(objectForText)[0]).to.match(/^typeKey\.a\.a/);
    const objectInInput = refusalFields(await admin.request(`mutation { createFolder(input: { name: ${nested(45)} }) { id } }`));
    expect(Object.keys(objectInInput)[0]).to.match(/^name\.a\.a/);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).to.equal(200);
  });

  it('refuses a query of more tokens than any client sends, more than 50 aliases and more than 12 levels, with a code and in the user’s language (s10 attack A5)', async () => {
    const huge = await admin.request(`{ ${'__typename '.repeat(6000)}}`);
    expect(refusalFields(huge)).to.deep.equal({ query: 'Запрос слишком велик (больше 5000 лексем)' });
    const manyAliases = `{ ${Array.from({ length: 51 }, (_, i) => `a${i}: viewer { isAdmin }`).join(' ')} }`;
    const tooDeep = `{ cards(first: 1) { edges { node { files { versions { ${'versions { '.repeat(9)}id${' }'.repeat(9)} } } } } } }`;
    const refusal = async (client: ApiClient, query: string) => {
      const result = await client.request(query);
      expect(result.status).to.be.below(500);
      expect(result.data ?? null).to.equal(null);
      return { message: result.errors?.[0].message, code: result.errors?.[0].extensions?.code };
    };
    expect(await refusal(admin, manyAliases)).to.deep.equal({ message: 'Слишком много псевдонимов в запросе: не больше 50', code: 'TOO_COMPLEX' });
    expect(await refusal(admin, tooDeep)).to.deep.equal({ message: 'Запрос слишком глубокий: не больше 12 уровней вложенности', code: 'TOO_COMPLEX' });
    const english = new ApiClient(server.url, { 'accept-language': 'en' });
    expect(await refusal(english, manyAliases)).to.deep.equal({ message: 'Too many aliases in the query: at most 50', code: 'TOO_COMPLEX' });
    expect(await refusal(english, tooDeep)).to.deep.equal({ message: 'The query is nested too deeply: at most 12 levels', code: 'TOO_COMPLEX' });
  });

  it('counts the rows every list returns in the cost limit — first/last however set (default included) and the number of ids — so 50 aliased lists are refused and a client page is not', async () => {
    const CARD_ROW = 'id typeKey title values version createdAt updatedAt unread { isNew changedFields } references { fieldKey id title accessible inTrash }';
    const CARD = `${CARD_ROW} folderId inTrash createdBy { fullName } updatedBy { fullName }`;
    const ids = Array.from({ length: 200 }, () => new Types.ObjectId().toHexString());
    const aliased = (list: string, declared = '') => `query${declared} { ${Array.from({ length: 50 }, (_, i) => `a${i}: ${list} { edges { node { ${CARD} } } }`).join(' ')} }`;
    const costly = /^Запрос слишком дорогой: его стоимость \d+ больше предела 30000/;
    for (const [query, variables] of [
      [aliased('cards(ids: $ids)', '($ids: [ID!])'), { ids }],
      [aliased(`cards(folderId: "${folderId}")`), {}],
      [aliased(`cards(folderId: "${folderId}", first: 50)`), {}],
      [`query($n: Int) { ${Array.from({ length: 50 }, (_, i) => `a${i}: cards(folderId: "${folderId}", first: $n) { edges { node { ${CARD_ROW} } } }`).join(' ')} }`, { n: 50 }],
      // A related tab's page holds up to 500 cards (s10 attack A1: 50 aliased tabs returned 25,000 cards).
      [`{ ${Array.from({ length: 2 }, (_, i) => `a${i}: relatedCards(cardId: "${ids[0]}", tab: "contacts", first: 500) { edges { node { ${CARD_ROW} } } }`).join(' ')} }`, {}],
    ] as const) {
      const refused = await admin.request(query, variables);
      expect(refused.data ?? null).to.equal(null);
      expect(refused.errors?.[0].message).to.match(costly);
      expect(refused.errors?.[0].extensions?.code).to.equal('TOO_COSTLY');
    }
    // What the client asks for: a folder page of 100 rows, and the 200 cards a change report names.
    const page = await admin.request(
      `query($f: ID!, $first: Int) { cards(folderId: $f, first: $first) { pageInfo { hasNextPage endCursor } edges { cursor node { ${CARD_ROW} } } } }`,
      { f: folderId, first: 100 },
    );
    expect(page.errors).to.equal(undefined);
    const batch = await admin.request(`query($ids: [ID!]!) { cards(ids: $ids) { edges { node { ${CARD} } } } }`, { ids });
    expect(batch.errors).to.equal(undefined);
    // A card's related tab, as the client asks for it (a card that is not there: NOT_FOUND, not the cost limit).
    const related = await admin.request(
      `query($id: ID!) { relatedCards(cardId: $id, tab: "contacts", first: 100) { edges { node { ${CARD_ROW} } } pageInfo { hasNextPage endCursor } } }`,
      {
        id: ids[0],
      },
    );
    expect(related.errors?.[0].extensions?.code).to.equal('NOT_FOUND');
  });

  it('costs a query by the variables of each request: the same text is refused with 50 rows per list and served with 1, in any order', async () => {
    const ROW = 'id title values unread { isNew changedFields } references { fieldKey id title }';
    const query = `query($f: ID!, $n: Int) { ${Array.from({ length: 50 }, (_, i) => `a${i}: cards(folderId: $f, first: $n) { edges { node { ${ROW} } } }`).join(' ')} }`;
    for (const n of [1, 50, 1, 50]) {
      const answer = await admin.request(query, { f: folderId, n });
      if (n === 1) expect(answer.errors, `first: ${n}`).to.equal(undefined);
      else expect(answer.errors?.[0].extensions?.code, `first: ${n}`).to.equal('TOO_COSTLY');
    }
  });

  it('refuses a lone UTF-16 surrogate at the field, in variables and inline', async () => {
    const CREATE = 'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }';
    expect(refusalFields(await admin.request(CREATE, { f: folderId, v: { name: 'ООО \ud800' } }))).to.deep.equal({ name: ILL_FORMED });
    expect(refusalFields(await admin.request('mutation($n: String!) { createGroup(name: $n) { id } }', { n: '\udfffx' }))).to.deep.equal({ name: ILL_FORMED });
    const input = { login: 'surrogate', fullName: 'Имя \ud83d', password: PASSWORD, departmentId };
    expect(refusalFields(await admin.request('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', { input }))).to.deep.equal({ fullName: ILL_FORMED });
    expect(refusalFields(await admin.request('mutation { createGroup(name: "a\\ud800b") { id } }'))).to.deep.equal({ name: ILL_FORMED });
    expect(refusalFields(await admin.request('mutation { createGroup(name: "a\ud800b") { id } }'))).to.deep.equal({ name: ILL_FORMED });
    const inlineCard = await admin.request(`mutation { createCard(folderId: "${folderId}", typeKey: "counterparty", values: { name: "\\udc00" }) { id } }`);
    expect(refusalFields(inlineCard)).to.deep.equal({ name: ILL_FORMED });
    const groups = await admin.data<{ groups: { name: string }[] }>('{ groups { name } }');
    expect(groups.groups.map((g) => g.name).join('')).to.not.contain('\ufffd');
  });

  it('keeps every history chain verifiable: what is hashed is what is stored', async () => {
    const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version } }';
    const create = async (t: string, v: Record<string, unknown>) => (await admin.data<{ createCard: { id: string; version: number } }>(CREATE, { f: folderId, t, v })).createCard;
    await create('counterparty', { name: 'Эмодзи 😀 и «кавычки»', notes: 'строка\u2028разделитель \u0000 нуль' });
    await admin.request(CREATE, { f: folderId, t: 'counterparty', v: { name: 'Сломанный \ud800' } });
    // A reference to a card purged since: its title is gone, and the entry records an empty set of titles.
    await admin.data('mutation { setCardTypeHistory(typeKey: "contact-person", enabled: true) { historyEnabled } }');
    const [gone, next] = [await create('counterparty', { name: 'Удалённый' }), await create('counterparty', { name: 'Следующий' })];
    const contact = await create('contact-person', { fullName: 'Связной', counterparty: gone.id });
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: gone.id });
    await admin.data('mutation($id: ID!) { purgeCard(id: $id) }', { id: gone.id });
    await admin.data('mutation($id: ID!, $v: Int!, $values: JSON!) { updateCard(id: $id, version: $v, values: $values) { id } }', {
      id: contact.id,
      v: contact.version,
      values: { counterparty: next.id },
    });
    const verdict = await admin.data<{ verifyHistory: { intact: boolean; entries: number } }>('query($id: ID!) { verifyHistory(cardId: $id) { intact entries } }', {
      id: contact.id,
    });
    expect(verdict.verifyHistory).to.deep.equal({ intact: true, entries: 2 });
    const cards = await Card.find({}, { _id: 1 }).lean();
    expect(cards.length).to.be.greaterThan(0);
    for (const card of cards) {
      const entries = await HistoryEntry.find({ cardId: card._id }).sort({ seq: 1 }).lean<HistoryEntryDoc[]>();
      expect(verifyChain(entries).intact, String(card._id)).to.equal(true);
    }
  });

  it('answers a required value left out exactly as the same value sent empty: BAD_USER_INPUT at its place', async () => {
    const empty = refusalFields(await admin.request('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', { input: { name: '' } }));
    expect(empty).to.include({ name: REQUIRED });
    const CREATE_USER = 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }';
    const emptyLogin = refusalFields(await admin.request(CREATE_USER, { i: { login: '', fullName: 'Имя', password: PASSWORD, departmentId } }));
    const missingLogin = refusalFields(await admin.request(CREATE_USER, { i: { fullName: 'Имя', password: PASSWORD, departmentId } }));
    expect(emptyLogin).to.include({ login: REQUIRED });
    expect(missingLogin).to.deep.equal({ login: REQUIRED });
    const inlineMissing = await admin.request(`mutation { createUser(input: { fullName: "Имя", password: "${PASSWORD}", departmentId: "${departmentId}" }) { id } }`);
    expect(refusalFields(inlineMissing)).to.deep.equal({ login: REQUIRED });
    expect(refusalFields(await admin.request('mutation { createGroup { id } }'))).to.deep.equal({ name: REQUIRED });
    expect(refusalFields(await admin.request('mutation($n: String!) { createGroup(name: $n) { id } }', {}))).to.deep.equal({ name: REQUIRED });
    const nestedMissing = await admin.request('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', {
      d: { key: 'x', names: { ru: 'Икс' }, titleTemplate: '{a}', historyEnabled: false, origin: 'admin', fields: [{ key: 'a', label: { ru: 'А' } }] },
    });
    expect(refusalFields(nestedMissing)).to.deep.equal({ 'fields.0.kind': REQUIRED });
    const entries = await admin.request('mutation($id: ID!, $e: [AccessEntryInput!]!) { setFolderAccess(id: $id, entries: $e) { id } }', {
      id: folderId,
      e: [{ principalType: 'user', principalId: departmentId }],
    });
    expect(refusalFields(entries)).to.deep.equal({ 'entries.0.level': REQUIRED });
  });

  it('names the argument when a value has the wrong type, inline or in variables', async () => {
    const inline = await admin.request('mutation { setUserActive(id: "0123456789abcdef01234567", active: "yes") { id } }');
    expect(refusalFields(inline)).to.deep.equal({ active: WRONG_TYPE });
    const variable = await admin.request('mutation($x: ID!, $a: Boolean!) { setUserActive(id: $x, active: $a) { id } }', { x: '0123456789abcdef01234567', a: 'yes' });
    expect(refusalFields(variable)).to.deep.equal({ active: WRONG_TYPE });
    const nested = await admin.request('mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { login: 5, fullName: 'x', password: PASSWORD, departmentId } });
    expect(refusalFields(nested)).to.deep.equal({ login: WRONG_TYPE });
    const missing = await admin.request('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: folderId, v: null });
    expect(refusalFields(missing)).to.deep.equal({ values: REQUIRED });
    const deep = await admin.request('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', {
      f: folderId,
      v: JSON.parse(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`),
    });
    expect(Object.keys(refusalFields(deep))[0]).to.match(/^a\.a/);
  });
});

describe('input guard in production: no schema hints, no server paths (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let admin: ApiClient;

  before(async () => {
    server = await startTestServer({ NODE_ENV: 'production', SESSION_SECRET: 'p'.repeat(40), TRUST_PROXY: 'true' });
    admin = new ApiClient(server.url, { 'x-forwarded-proto': 'https' });
    await admin.data('mutation($l: String!, $p: String!) { signIn(login: $l, password: $p) { isAdmin } }', { l: 'admin', p: 'admin-password-for-tests' });
  });
  after(async () => {
    await server?.stop();
  });

  it('suggests no field, argument or enum value names', async () => {
    for (const query of ['{ viewr { isAdmin } }', '{ users(searc: "a") { id } }', 'mutation { setMyLocale(locale: ru_RU) { id } }']) {
      const result = await admin.request(query);
      expect(result.errors?.[0].message, query).to.not.match(/Did you mean/);
    }
    const variable = await admin.request('mutation($l: Locale!) { setMyLocale(locale: $l) { id } }', { l: 'rus' });
    expect(variable.errors?.[0].message).to.not.match(/Did you mean/);
  });
});

describe('masked errors in development mode (API)', function () {
  this.timeout(60_000);

  it('say «Unexpected error.» with no stack trace and no server path', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'development';
    const server = await startTestServer({ NODE_ENV: 'development' });
    const find = Card.find;
    try {
      const admin = await signedIn(server);
      Card.find = (() => {
        throw new Error(`boom in ${process.cwd()}/server/src/cards/queries.ts`);
      }) as unknown as typeof Card.find;
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: admin.cookieHeader() },
        body: JSON.stringify({ query: '{ trash { id } }' }),
      });
      const text = await response.text();
      expect(JSON.parse(text).errors[0].message).to.equal('Unexpected error.');
      expect(text).to.not.contain(process.cwd());
      expect(text).to.not.match(/stack|at [A-Za-z.]+ \(/);
    } finally {
      Card.find = find;
      if (previous === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = previous;
      await server.stop();
    }
  });
});
