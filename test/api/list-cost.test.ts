import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createFolder, createLibrary } from '../support/fixtures';
import { storeCounterparties } from '../support/search-work';
import { signedIn, startTestServer } from '../support/server';

/**
 * What one request may make a folder's list or the trash read (s12 attack A3: 50 aliased pages of 1
 * card with a `contains` filter nothing matched cost 300 and held the database 107 s — each read
 * every card of a 48,000-card folder). A filtered list, one ordered by a field and a trash search
 * cost what a search costs: two fit in a request, a third is refused before anything is read.
 */
describe('a list that may read a whole folder costs a request what a search does (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folderId = '';
  const NOTHING = [{ field: 'name', op: 'contains', value: 'zqzq' }];
  const aliases = (n: number, field: (i: number) => string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field(i)}`).join(' ')} }`;
  const refused = (answer: { errors?: { extensions?: Record<string, unknown> }[]; data?: unknown }) => [answer.errors?.[0]?.extensions?.code, answer.data ?? null];

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const libraryId = await createLibrary(admin, 'Списки');
    folderId = await createFolder(admin, { libraryId, name: 'Большая', allowedCardTypes: ['counterparty'] });
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    await storeCounterparties({ folderId, libraryId }, ['ООО «Альфа»', 'ООО «Бета»'], adminId);
  });
  after(async () => {
    await server?.stop();
  });

  it('50 aliased pages of 1 card with a filter nothing matches are refused before they run; two are answered', async () => {
    const page = () => `cards(folderId: $f, first: 1, filters: $filters) { edges { node { id } } }`;
    const query = (n: number) => `query($f: ID!, $filters: [CardFilterInput!]) ${aliases(n, page)}`;
    expect(refused(await admin.request(query(50), { f: folderId, filters: NOTHING }))).to.deep.equal(['TOO_COSTLY', null]);
    const two = await admin.request<Record<string, { edges: unknown[] }>>(query(2), { f: folderId, filters: NOTHING });
    expect([two.errors, two.data?.a0?.edges, two.data?.a1?.edges]).to.deep.equal([undefined, [], []]);
    // Without a filter the same pages read their rows from an index, and cost them alone.
    expect((await admin.request(query(50), { f: folderId, filters: [] })).errors).to.equal(undefined);
  });

  it('a list ordered by a field no index serves costs as much; by the title it costs its rows (the order in a variable too)', async () => {
    const query = (n: number) => `query($f: ID!, $s: String) ${aliases(n, () => `cards(folderId: $f, first: 1, sortBy: $s) { edges { node { id } } }`)}`;
    expect((await admin.request(query(10), { f: folderId, s: 'title' })).errors).to.equal(undefined);
    expect(refused(await admin.request(query(10), { f: folderId, s: 'notes' }))).to.deep.equal(['TOO_COSTLY', null]);
  });

  it('the trash searched by words costs as much; the trash listed costs its rows', async () => {
    const query = (n: number) => `query($q: String) ${aliases(n, () => `trashPage(first: 1, search: $q) { edges { node { id } } }`)}`;
    expect((await admin.request(query(10), { q: '' })).errors).to.equal(undefined);
    expect(refused(await admin.request(query(10), { q: 'zqzq' }))).to.deep.equal(['TOO_COSTLY', null]);
  });

  it('lists that hold themselves cost each level: a file’s versions of versions, a merge’s merged cards’ merges; a history check costs its entries (s12 attacks A8–A10)', async () => {
    const id = '0123456789abcdef01234567';
    const versions = (levels: number) => `query($ids: [ID!]!) { files(ids: $ids) { ${'versions { id '.repeat(levels)}${'} '.repeat(levels)}} }`;
    expect((await admin.request(versions(2), { ids: [id] })).errors).to.equal(undefined);
    expect(refused(await admin.request(versions(3), { ids: [id] }))).to.deep.equal(['TOO_COSTLY', null]);
    const merges = (levels: number) => `query($id: ID!) { cardMerge(id: $id) { ${'merged { id merge { id '.repeat(levels)}${'} } '.repeat(levels)}} }`;
    expect((await admin.request(merges(1), { id })).errors).to.equal(undefined);
    expect(refused(await admin.request(merges(3), { id }))).to.deep.equal(['TOO_COSTLY', null]);
    const checks = (n: number) => `query($id: ID!) ${aliases(n, () => 'verifyHistory(cardId: $id) { intact entries }')}`;
    expect(refused(await admin.request(checks(50), { id }))).to.deep.equal(['TOO_COSTLY', null]);
    expect((await admin.request(checks(2), { id })).errors?.map((error) => error.extensions?.code)).to.not.include('TOO_COSTLY');
    // Reading a card as it was reads its history since, as a check does (s12 re-attack B2).
    const readings = (n: number) => `query($id: ID!) ${aliases(n, () => 'cardAsOf(cardId: $id, at: "2020-01-01T00:00:00Z") { existed }')}`;
    expect(refused(await admin.request(readings(50), { id }))).to.deep.equal(['TOO_COSTLY', null]);
  });

  it('a document first sent with a blank search is not remembered as cheap for a long real one (s12 re-attack B3)', async () => {
    const query = `query($q: String) ${aliases(50, () => 'trashPage(first: 1, search: $q) { edges { node { id } } }')}`;
    expect((await admin.request(query, { q: ' '.repeat(65) })).errors).to.equal(undefined);
    expect(refused(await admin.request(query, { q: 'zqzqx'.padEnd(65) }))).to.deep.equal(['TOO_COSTLY', null]);
  });

  it('the folder page a person filters and sorts, with its count, is answered', async () => {
    const answer = await admin.data<{ cards: { totalCount: number; edges: { node: { title: string } }[] } }>(
      'query($f: ID!, $filters: [CardFilterInput!]) { cards(folderId: $f, first: 50, sortBy: "inn", filters: $filters) { totalCount edges { node { title } } } }',
      { f: folderId, filters: [{ field: 'name', op: 'contains', value: 'альф' }] },
    );
    expect([answer.cards.totalCount, answer.cards.edges.map((edge) => edge.node.title)]).to.deep.equal([1, ['ООО «Альфа»']]);
  });
});
