import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { signedIn, startTestServer } from '../support/server';

interface Page {
  cards: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { id: string; title: string } }[] };
}

// Cards whose titles share their first kilobyte (index keys keep only that much of a string): a
// folder listed by title, page after page, must show every card exactly once, in title order.
describe('db: a folder paged by titles that share their first kilobyte', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folder: string;
  const titles: string[] = [];

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    // A type whose title joins a long part and a short one (titles over a kilobyte).
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', {
      d: {
        key: 'long-title',
        names: { ru: 'Длинное название', en: 'Long title' },
        titleTemplate: '{part} {tail}',
        historyEnabled: false,
        origin: 'admin',
        fields: [
          { key: 'part', kind: 'string', label: { ru: 'Начало', en: 'Beginning' }, required: true, max: 500, listed: true },
          { key: 'tail', kind: 'string', label: { ru: 'Конец', en: 'End' }, listed: true },
        ],
      },
    });
    const library = (await admin.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Длинные названия") { id } }')).createLibrary.id;
    folder = (
      await admin.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', {
        input: { libraryId: library, name: 'Длинные', allowedCardTypes: ['long-title'] },
      })
    ).createFolder.id;
    const shared = '中'.repeat(400); // 1,200 bytes of UTF-8
    // Created in an order unrelated to the titles' order; two short titles around them.
    const parts: [string, string][] = [];
    for (let i = 0; i < 26; i++) parts.push([shared, String((i * 7) % 26).padStart(2, '0')]);
    parts.push(['Альфа', '1'], ['中中', '2']);
    for (const [part, tail] of parts) {
      const created = await admin.data<{ createCard: { title: string } }>(
        'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "long-title", values: $v) { title } }',
        { f: folder, v: { part, tail } },
      );
      titles.push(created.createCard.title);
    }
    expect(titles[0]).to.equal(`${shared} 00`);
  });
  after(async () => {
    await server?.stop();
  });

  for (const descending of [false, true]) {
    it(`lists every card once, by title ${descending ? 'descending' : 'ascending'}, four to a page`, async () => {
      const seen: string[] = [];
      let after: string | null = null;
      let total: number;
      do {
        const page: Page = await admin.data<Page>(
          'query($f: ID!, $after: String, $d: Boolean) { cards(folderId: $f, first: 4, after: $after, sortBy: "title", descending: $d) { totalCount pageInfo { hasNextPage endCursor } edges { node { id title } } } }',
          { f: folder, after, d: descending },
        );
        total = page.cards.totalCount;
        seen.push(...page.cards.edges.map((edge) => edge.node.title));
        after = page.cards.pageInfo.hasNextPage ? page.cards.pageInfo.endCursor : null;
      } while (after);
      const expected = [...titles].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) * (descending ? -1 : 1));
      expect(total).to.equal(titles.length);
      expect(seen).to.deep.equal(expected);
    });
  }
});
