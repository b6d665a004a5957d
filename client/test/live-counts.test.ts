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

  it('keeps the counts the stream sent while the question for them was out: the answer is older (s12 re-test R2)', async () => {
    setActivePinia(createPinia());
    let answer!: (value: unknown) => void;
    server.request.mockReturnValueOnce(new Promise((resolve) => (answer = resolve)));
    const unread = useUnreadStore();
    startLive();
    await vi.waitFor(() => expect(server.request).toHaveBeenCalled());
    // The last batch of a colleague's import reaches the stream; the question, asked before it, answers after.
    server.onData!({ live: { cardEvent: null, unreadCounts: [{ folderId: 'f1', count: 600 }], accessChanged: false } });
    answer({ unreadCounts: [{ folderId: 'f1', count: 500 }] });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(unread.counts).toEqual({ f1: 600 });
    stopLive();
  });
});
