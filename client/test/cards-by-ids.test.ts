import { beforeEach, describe, expect, it, vi } from 'vitest';

// The server in the tests' place: its replies of cards by id end at a budget, as the real one's do.
const server = vi.hoisted(() => ({ request: vi.fn() }));
vi.mock('../src/api/graphql', async (importOriginal) => ({ ...(await importOriginal<typeof import('../src/api/graphql')>()), request: server.request }));

const { fetchCards } = await import('../src/workspace/api');

beforeEach(() => vi.clearAllMocks());

describe('cards by id (s16 re-attack B2)', () => {
  it('asks again after the cursor while the server says more follow, and gives every card once, in the order asked', async () => {
    const ids = Array.from({ length: 14 }, (_, i) => `c${i}`);
    // Replies of 11 cards, then the rest; «c5» is one the viewer may not read (left out).
    server.request.mockImplementation(async (_query: unknown, variables: { ids: string[]; after: string | null }) => {
      const from = variables.after === null ? 0 : Number(variables.after);
      const to = Math.min(variables.ids.length, from + 11);
      const edges = variables.ids.slice(from, to).flatMap((id) => (id === 'c5' ? [] : [{ node: { id, title: id } }]));
      return { cards: { edges, pageInfo: { hasNextPage: to < variables.ids.length, endCursor: String(to) } } };
    });
    const cards = await fetchCards(ids);
    expect(server.request.mock.calls.map((call) => (call[1] as { after: string | null }).after)).toEqual([null, '11']);
    expect(cards.map((card) => card?.id ?? null)).toEqual(ids.map((id) => (id === 'c5' ? null : id)));
  });
});
