import { beforeEach, describe, expect, it, vi } from 'vitest';

// The server in the tests' place: a related tab of 250 cards, its replies of values cut at a budget (11 a reply).
const server = vi.hoisted(() => ({ request: vi.fn() }));
vi.mock('../src/api/graphql', async (importOriginal) => ({ ...(await importOriginal<typeof import('../src/api/graphql')>()), request: server.request }));

const { fetchRelated } = await import('../src/workspace/api');
const { useLoader } = await import('../src/composables/useLoader');
const { print } = await import('graphql');

const CARDS = Array.from({ length: 250 }, (_, i) => ({ id: `c${i}`, title: `Контакт ${i}`, values: { notes: 'ж' }, references: [] }));
const asksValues = (query: unknown) => /\bvalues\b/.test(typeof query === 'string' ? query : print(query as Parameters<typeof print>[0]));

beforeEach(() => {
  vi.clearAllMocks();
  server.request.mockImplementation(async (query: unknown, variables: { after: string | null }) => {
    const from = variables.after === null ? 0 : Number(variables.after);
    const to = Math.min(CARDS.length, from + (asksValues(query) ? 11 : 500));
    const edges = CARDS.slice(from, to).map((card) => ({ node: asksValues(query) ? card : { id: card.id, title: card.title } }));
    return { relatedCards: { edges, pageInfo: { hasNextPage: to < CARDS.length, endCursor: String(to) } } };
  });
});

describe('a related tab (s17 guard H1)', () => {
  it('asks no values when it shows only titles: its 250 cards come in one reply, not 23', async () => {
    const rows = await fetchRelated('company', 'contacts', false);
    expect(server.request).toHaveBeenCalledTimes(1);
    expect(asksValues(server.request.mock.calls[0]![0])).toBe(false);
    expect(rows.map((row) => row.title)).toEqual(CARDS.map((card) => card.title));
    await fetchRelated('company', 'contacts', true);
    expect(server.request).toHaveBeenCalledTimes(1 + 23);
  });

  it('reads once more after a read under way when colleagues change cards, never alongside it; a read replaced stops asking', async () => {
    let reading = 0;
    let most = 0;
    const load = vi.fn(async (stale: () => boolean) => {
      most = Math.max(most, ++reading);
      try {
        return await fetchRelated('company', 'contacts', true, stale);
      } finally {
        reading -= 1;
      }
    });
    const { data, refresh, reload } = useLoader(load);
    const first = reload();
    // A colleague saves five times while the tab reads its 23 replies.
    for (let save = 0; save < 5; save++) refresh();
    await first;
    await vi.waitFor(() => expect(load).toHaveBeenCalledTimes(2));
    await vi.waitFor(() => expect(reading).toBe(0));
    expect(most).toBe(1);
    expect(server.request).toHaveBeenCalledTimes(2 * 23);
    expect(data.value).toHaveLength(250);

    // Another card opened meanwhile: the earlier read stops after its reply under way.
    server.request.mockClear();
    const earlier = reload();
    const later = reload();
    await Promise.all([earlier, later]);
    expect(server.request).toHaveBeenCalledTimes(1 + 23);
    expect(data.value).toHaveLength(250);
  });
});
