import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { generateCounterparties } from '../../seeds/generate';
import { refusalFields, type ApiClient } from '../support/api-client';
import { createDepartment, createUser } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const RESULTS = `query($q: String!, $first: Int, $after: String) {
  searchResults(query: $q, first: $first, after: $after) { edges { node { exact card { id title } } cursor } pageInfo { hasNextPage endCursor } totalCount totalExact } }`;

type Page = {
  edges: { node: { exact: boolean; card: { id: string; title: string } }; cursor: string }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
  totalExact: boolean;
};

/** «Все результаты» (#14): every hit of a search, a page at a time, with how many there are. */
describe('issue 14: all results of a search come in pages, with their total', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let reader: ApiClient;

  const page = async (client: ApiClient, q: string, after: string | null, first = 50) => (await client.data<{ searchResults: Page }>(RESULTS, { q, after, first })).searchResults;
  const all = async (client: ApiClient, q: string) => {
    const pages: Page[] = [];
    let after: string | null = null;
    do {
      const next: Page = await page(client, q, after);
      pages.push(next);
      after = next.pageInfo.hasNextPage ? next.pageInfo.endCursor : null;
    } while (after);
    return pages;
  };

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const departmentId = await createDepartment(admin, 'Кассиопея');
    const readerId = await createUser(admin, { login: 'nvakulenko', fullName: 'Наталья Вакуленко', password: PASSWORD, departmentId });
    reader = await signedIn(server, 'nvakulenko', PASSWORD);
    // Every generated counterparty's address is on «ул. Заводская»; Наталья reads only the second folder.
    await generateCounterparties({ count: 130, folderName: 'Большая папка' });
    await generateCounterparties({ count: 40, folderName: 'Папка Натальи', grantUserIds: [readerId] });
  });
  after(async () => {
    await server?.stop();
  });

  it('170 hits: the total, then pages of 50, 50, 50 and 20 — none repeated, none missed, best title matches first', async () => {
    const pages = await all(admin, 'Заводская');
    expect(pages.map((each) => each.edges.length)).to.deep.equal([50, 50, 50, 20]);
    expect(pages.every((each) => each.totalCount === 170 && each.totalExact)).to.equal(true);
    const ids = pages.flatMap((each) => each.edges.map((edge) => edge.node.card.id));
    expect(new Set(ids).size).to.equal(170);
    // A word of the title ranks its cards first.
    const titled = await page(admin, 'Заводская Альфа', null);
    expect(titled.totalCount).to.be.greaterThan(0);
    expect(titled.edges[0].node.card.title).to.match(/Альфа/);
  });

  it('a reader gets only what they may read, counted the same way; an exact INN answers alone', async () => {
    const pages = await all(reader, 'Заводская');
    expect(pages.map((each) => each.edges.length)).to.deep.equal([40]);
    expect(pages[0]).to.include({ totalCount: 40, totalExact: true });
    const one = pages[0].edges[0].node.card;
    const inn = (await admin.data<{ card: { values: { inn: string } } }>('query($id: ID!) { card(id: $id) { values } }', { id: one.id })).card.values.inn;
    const exact = await page(reader, inn, null);
    expect(exact.edges.map((edge) => edge.node)).to.deep.equal([{ exact: true, card: one }]);
    expect(exact).to.include({ totalCount: 1, totalExact: true });
  });

  it('a cursor that is not one of these pages is refused at «after»', async () => {
    const refused = await admin.request(RESULTS, { q: 'Заводская', after: Buffer.from('{"$gt":1}').toString('base64url') });
    expect(refusalFields(refused)).to.deep.equal({ after: 'Неверный курсор страницы: откройте список с начала' });
  });

  it('a page’s cursors tell nothing of the titles they follow (s9 B3), and still page', async () => {
    const first = await page(reader, 'Заводская', null, 10);
    const inside = first.edges.map((edge) => Buffer.from(edge.cursor, 'base64url').toString('utf8')).join('\n');
    for (const edge of first.edges) {
      expect(inside).not.to.include(edge.node.card.title);
      expect(inside).not.to.include(edge.node.card.id);
    }
    const next = await page(reader, 'Заводская', first.pageInfo.endCursor, 10);
    const seen = new Set(first.edges.map((edge) => edge.node.card.id));
    expect(next.edges).to.have.length(10);
    expect(next.edges.filter((edge) => seen.has(edge.node.card.id))).to.deep.equal([]);
  });

  it('beyond what one search looks at (5,000 cards with the rarest word) the total is a lower bound', async () => {
    await generateCounterparties({ count: 5000, folderName: 'Ещё папка' });
    const first = await page(admin, 'Заводская', null);
    expect(first.totalExact).to.equal(false);
    expect(first.totalCount).to.equal(5000);
    expect(first.pageInfo.hasNextPage).to.equal(true);
  });
});
