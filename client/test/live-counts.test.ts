import { createPinia, setActivePinia } from 'pinia';
import { describe, expect, it, vi } from 'vitest';

// The live stream and the server are answered here: the test pushes what the stream would carry.
const server = vi.hoisted(() => ({
  onData: null as null | ((data: unknown) => void),
  request: vi.fn(),
}));
vi.mock('../src/api/graphql', () => ({
  graphql: (text: string) => text,
  request: server.request,
  subscribe: (_client: unknown, _operation: unknown, _variables: unknown, onData: (data: unknown) => void) => {
    server.onData = onData;
    return () => undefined;
  },
}));

const { startLive, stopLive } = await import('../src/workspace/live');
const { useUnreadStore } = await import('../src/stores/unread');

describe('live unread counts', () => {
  it('draws the counts a colleague’s import pushes once a card a few times, ending with the latest (s10 re-test V3)', async () => {
    setActivePinia(createPinia());
    server.request.mockResolvedValue({ unreadCounts: [] });
    const unread = useUnreadStore();
    const setCounts = vi.spyOn(unread, 'setCounts');
    startLive();
    await vi.waitFor(() => expect(server.request).toHaveBeenCalled());
    setCounts.mockClear();
    for (let card = 1; card <= 2000; card += 1) server.onData!({ live: { cardEvent: null, unreadCounts: [{ folderId: 'f1', count: card }], accessChanged: false } });
    await vi.waitFor(() => expect(unread.counts).toEqual({ f1: 2000 }));
    expect(setCounts.mock.calls.length).toBeLessThanOrEqual(3);
    stopLive();
  });
});
