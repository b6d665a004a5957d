import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { CardDetails, CardPage, CardRow } from '../src/workspace/api';
import type { CardBatch, CardEvent } from '../src/workspace/live';

// The stores talk to the server through these modules; the tests answer in its place.
const server = vi.hoisted(() => ({
  request: vi.fn(),
  fetchCardPage: vi.fn(),
  fetchCardCount: vi.fn(),
  fetchCards: vi.fn(),
  cardEventListeners: [] as ((event: CardEvent) => void)[],
  cardBatchListeners: [] as ((batch: CardBatch) => void)[],
}));
vi.mock('../src/api/graphql', () => ({ graphql: (text: string) => text, request: server.request }));
vi.mock('../src/workspace/api', () => ({ fetchCardPage: server.fetchCardPage, fetchCardCount: server.fetchCardCount, fetchCards: server.fetchCards }));
vi.mock('../src/workspace/live', () => ({
  onCardEvent: (listener: (event: CardEvent) => void) => server.cardEventListeners.push(listener),
  onCardBatch: (listener: (batch: CardBatch) => void) => server.cardBatchListeners.push(listener),
}));

const { useSessionStore } = await import('../src/stores/session');
const { useFoldersStore } = await import('../src/stores/folders');
const { useCardListStore } = await import('../src/workspace/stores/cardList');

beforeEach(() => {
  setActivePinia(createPinia());
  vi.clearAllMocks();
  server.cardEventListeners.length = 0;
  server.cardBatchListeners.length = 0;
});

const viewer = (login: string, rules: unknown[]) => ({
  user: { id: `id-${login}`, login, fullName: login, locale: 'ru', department: { name: 'Кассиопея' } },
  isAdmin: false,
  isHistoryReader: false,
  rules,
});

describe('the session store', () => {
  it('signs in with the rules the server packed, so the interface offers what the server allows', async () => {
    // Packed CASL rules: [action, subject, conditions]; Татьяна may update cards of one folder.
    server.request.mockResolvedValueOnce({
      signIn: viewer('tgoncharenko', [
        ['read', 'Card'],
        ['update', 'Card', { folderId: 'f1' }],
      ]),
    });
    const session = useSessionStore();
    await session.signIn('tgoncharenko', 'kartoteka-demo');
    expect(server.request.mock.calls[0][1]).toEqual({ login: 'tgoncharenko', password: 'kartoteka-demo' });
    expect(session.viewer?.user.login).toBe('tgoncharenko');
    const ability = session.ability();
    expect(ability.can('read', 'Card')).toBe(true);
    expect(ability.can('update', { __caslSubjectType__: 'Card', folderId: 'f1' } as never)).toBe(true);
    expect(ability.can('update', { __caslSubjectType__: 'Card', folderId: 'f2' } as never)).toBe(false);
    expect(ability.can('manage', 'Admin')).toBe(false);

    server.request.mockResolvedValueOnce({ signOut: true });
    await session.signOut();
    expect(session.viewer).toBeNull();
    expect(session.ability().can('read', 'Card')).toBe(false);
  });

  it('treats a failed check of the session as signed out and keeps the reason', async () => {
    server.request.mockRejectedValueOnce(new Error('Сервер недоступен'));
    const session = useSessionStore();
    await session.ensureLoaded();
    expect(session.loaded).toBe(true);
    expect(session.viewer).toBeNull();
    expect(session.loadError).toBe('Сервер недоступен');
  });
});

describe('the folder tree store', () => {
  it('builds each library’s tree, sub-folders under their parents in order, and folds a branch', async () => {
    const folder = (id: string, name: string, parentId: string | null, order: number) => ({ id, libraryId: 'lib', parentId, name, order, myAccess: 'full' });
    server.request.mockResolvedValueOnce({
      libraries: [
        {
          id: 'lib',
          name: 'Корреспонденты и контакты',
          order: 0,
          folders: [folder('c', 'Контакты', 'a', 1), folder('a', 'Корреспонденты', null, 0), folder('b', 'Архив', 'a', 0)],
        },
      ],
    });
    const folders = useFoldersStore();
    await folders.load();
    const [tree] = folders.trees;
    expect(tree.library.name).toBe('Корреспонденты и контакты');
    expect(tree.folders.map((node) => node.item.name)).toEqual(['Корреспонденты']);
    expect(tree.folders[0].children.map((node) => node.item.name)).toEqual(['Архив', 'Контакты']);
    expect(folders.folderById.get('c')?.name).toBe('Контакты');
    folders.toggle('a');
    expect(folders.collapsed.has('a')).toBe(true);
    folders.toggle('a');
    expect(folders.collapsed.has('a')).toBe(false);
  });
});

const row = (id: string, title: string, updatedAt: string): CardRow => ({
  id,
  typeKey: 'counterparty',
  title,
  values: { name: title },
  version: 1,
  createdAt: updatedAt,
  updatedAt,
  unread: null,
  references: [],
});
const page = (rows: CardRow[], hasNextPage: boolean): CardPage => ({
  pageInfo: { hasNextPage, endCursor: rows.at(-1)?.id ?? null },
  edges: rows.map((node) => ({ node })),
});
const details = (card: CardRow, folderId: string): CardDetails => ({ ...card, folderId, inTrash: false }) as CardDetails;
const event = (cardId: string, folderId: string, previousFolderId: string | null = null): CardEvent => ({
  cardId,
  folderId,
  previousFolderId,
  action: 'update',
  actorId: 'u',
  actorName: 'Татьяна',
});

describe('the card list store', () => {
  it('loads a folder page by page without repeating a card, and counts the folder', async () => {
    server.fetchCardPage.mockResolvedValueOnce(page([row('3', 'В', '2026-01-03'), row('2', 'Б', '2026-01-02')], true));
    server.fetchCardCount.mockResolvedValue(3);
    const list = useCardListStore();
    await list.open('f1');
    expect(list.rows.map((r) => r.id)).toEqual(['3', '2']);
    await vi.waitFor(() => expect(list.totalCount).toBe(3));

    server.fetchCardPage.mockResolvedValueOnce(page([row('2', 'Б', '2026-01-02'), row('1', 'А', '2026-01-01')], false));
    await list.loadMore();
    expect(server.fetchCardPage.mock.calls[1][1]).toMatchObject({ after: '2' });
    expect(list.rows.map((r) => r.id)).toEqual(['3', '2', '1']);
    expect(list.hasNextPage).toBe(false);
  });

  it('ignores a late answer for a folder the user already left', async () => {
    let answerFirst: (value: CardPage) => void = () => {};
    server.fetchCardPage.mockReturnValueOnce(new Promise<CardPage>((resolve) => (answerFirst = resolve)));
    server.fetchCardPage.mockResolvedValueOnce(page([row('b1', 'Вторая папка', '2026-01-01')], false));
    server.fetchCardCount.mockResolvedValue(1);
    const list = useCardListStore();
    const first = list.open('f1');
    await list.open('f2');
    answerFirst(page([row('a1', 'Первая папка', '2026-01-01')], false));
    await first;
    expect(list.folderId).toBe('f2');
    expect(list.rows.map((r) => r.title)).toEqual(['Вторая папка']);
  });

  it('puts a colleague’s new card in its sorted place and drops one moved to another folder', async () => {
    const older = row('1', 'А', '2026-01-01');
    const newest = row('2', 'Б', '2026-01-05');
    server.fetchCardPage.mockResolvedValueOnce(page([newest, older], false));
    server.fetchCardCount.mockResolvedValue(2);
    const list = useCardListStore();
    await list.open('f1');
    await vi.waitFor(() => expect(list.totalCount).toBe(2));

    const added = row('3', 'В', '2026-01-03');
    server.fetchCards.mockResolvedValueOnce([details(added, 'f1')]);
    for (const listener of server.cardEventListeners) listener(event('3', 'f1'));
    await vi.waitFor(() => expect(list.rows.map((r) => r.id)).toEqual(['2', '3', '1']));
    expect(list.totalCount).toBe(3);

    server.fetchCards.mockResolvedValueOnce([details(newest, 'f2')]);
    for (const listener of server.cardEventListeners) listener(event('2', 'f2', 'f1'));
    await vi.waitFor(() => expect(list.rows.map((r) => r.id)).toEqual(['3', '1']));
    expect(list.totalCount).toBe(2);

    // A change in another folder is not fetched: the next batch asks for this folder's card only.
    const renamed = { ...older, title: 'А (новое название)' };
    server.fetchCards.mockResolvedValueOnce([details(renamed, 'f1')]);
    for (const listener of server.cardEventListeners) listener(event('9', 'elsewhere'));
    for (const listener of server.cardEventListeners) listener(event('1', 'f1'));
    await vi.waitFor(() => expect(list.rows.map((r) => r.title)).toEqual(['В', 'А (новое название)']));
    expect(server.fetchCards.mock.calls.at(-1)?.[0]).toEqual(['1']);
  });

  it('takes a colleague’s import of thousands of cards as one refresh of the rows on show and the count, not card by card (s10 re-test V3)', async () => {
    const shown = Array.from({ length: 100 }, (_, i) => row(`old-${i}`, `Старая ${i}`, '2026-01-01'));
    server.fetchCardPage.mockResolvedValueOnce(page(shown, true));
    server.fetchCardCount.mockResolvedValue(37_700);
    const list = useCardListStore();
    await list.open('f1');
    await vi.waitFor(() => expect(list.totalCount).toBe(37_700));

    const imported = Array.from({ length: 100 }, (_, i) => row(`new-${i}`, `Новая ${i}`, '2026-01-02'));
    server.fetchCardPage.mockResolvedValue(page(imported, true));
    server.fetchCardCount.mockResolvedValue(41_700);
    for (let i = 0; i < 4000; i += 1) for (const listener of server.cardEventListeners) listener(event(`new-${i}`, 'f1'));
    await vi.waitFor(() => expect(list.totalCount).toBe(41_700), { timeout: 3000 });
    expect(list.rows.map((r) => r.id)).toEqual(imported.map((r) => r.id));
    expect(server.fetchCards).not.toHaveBeenCalled();
    expect(server.fetchCardPage).toHaveBeenCalledTimes(2);
    expect(server.fetchCardPage.mock.calls[1]).toEqual(['f1', expect.objectContaining({ first: 100, after: null })]);

    // A steady stream of a few changes at a time, as an import sends them, is a burst too.
    server.fetchCards.mockResolvedValue([]);
    for (let tick = 0; tick < 20; tick += 1) {
      for (let i = 0; i < 5; i += 1) for (const listener of server.cardEventListeners) listener(event(`more-${tick}-${i}`, 'f1'));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(server.fetchCards.mock.calls.length).toBeLessThanOrEqual(3);
    expect(server.fetchCardPage.mock.calls.length).toBeLessThanOrEqual(5);
  });

  it('takes a colleague’s import told a batch at a time as one refresh of the rows on show and the count; a batch of other folders leaves the list alone', async () => {
    server.fetchCardPage.mockResolvedValueOnce(page([row('old', 'Старая', '2026-01-01')], false));
    server.fetchCardCount.mockResolvedValue(1);
    const list = useCardListStore();
    await list.open('f1');
    await vi.waitFor(() => expect(list.totalCount).toBe(1));
    const batch = (folderId: string, from: number): CardBatch => ({ cardIds: Array.from({ length: 500 }, (_, i) => `new-${from + i}`), folderIds: [folderId], actorId: 'u2' });
    for (const listener of server.cardBatchListeners) listener(batch('f2', 0));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.fetchCardPage).toHaveBeenCalledTimes(1);

    const imported = Array.from({ length: 100 }, (_, i) => ({ ...row(`new-${i}`, `Новая ${i}`, '2026-01-02'), unread: { isNew: true, changedFields: [], since: '2026-01-02' } }));
    server.fetchCardPage.mockResolvedValue(page(imported, true));
    server.fetchCardCount.mockResolvedValue(1001);
    for (const listener of server.cardBatchListeners) listener(batch('f1', 0));
    for (const listener of server.cardBatchListeners) listener(batch('f1', 500));
    await vi.waitFor(() => expect(list.totalCount).toBe(1001), { timeout: 3000 });
    expect(list.rows.map((r) => r.id)).toEqual(imported.map((r) => r.id));
    expect(list.rows.every((r) => r.unread?.isNew)).toBe(true);
    expect(server.fetchCards).not.toHaveBeenCalled();
  });

  it('shows a colleague’s edit of a row on show at once while an import into the folder is being refreshed, and a refresh read before it keeps it (s15 U3)', async () => {
    const shown = [row('a', 'Альфа', '2026-01-02'), row('b', 'Бета', '2026-01-01')];
    server.fetchCardPage.mockResolvedValueOnce(page(shown, true));
    server.fetchCardCount.mockResolvedValueOnce(2);
    const list = useCardListStore();
    await list.open('f1');
    await vi.waitFor(() => expect(list.totalCount).toBe(2));
    // An import's batch: the refresh of the rows on show is under way (its answer held back).
    let answerPage: (value: CardPage) => void = () => {};
    server.fetchCardPage.mockReturnValueOnce(new Promise<CardPage>((resolve) => (answerPage = resolve)));
    server.fetchCardCount.mockResolvedValue(502);
    for (const listener of server.cardBatchListeners) listener({ cardIds: Array.from({ length: 500 }, (_, i) => `new-${i}`), folderIds: ['f1'], actorId: 'u2' });
    await vi.waitFor(() => expect(server.fetchCardPage).toHaveBeenCalledTimes(2));

    const edited = { ...shown[0]!, values: { name: 'Альфа', note: 'Перезвонить' }, version: 2 };
    server.fetchCards.mockResolvedValueOnce([details(edited, 'f1')]);
    for (const listener of server.cardEventListeners) listener(event('a', 'f1'));
    await vi.waitFor(() => expect(list.rows.find((r) => r.id === 'a')?.values).toEqual({ name: 'Альфа', note: 'Перезвонить' }));
    expect(server.fetchCards).toHaveBeenCalledWith(['a']);

    // The refresh read the card before the edit: the row keeps the edit.
    answerPage(page([row('new-0', 'Новая', '2026-01-03'), shown[0]!, shown[1]!], true));
    await vi.waitFor(() => expect(list.totalCount).toBe(502));
    expect(list.rows.map((r) => r.id)).toEqual(['new-0', 'a', 'b']);
    expect(list.rows[1]!.version).toBe(2);
  });

  it('reads the list again for changes that come while a burst’s refresh is under way, rather than counting them twice', async () => {
    server.fetchCardPage.mockResolvedValueOnce(page([row('old', 'Старая', '2026-01-01')], true));
    server.fetchCardCount.mockResolvedValueOnce(100);
    const list = useCardListStore();
    await list.open('f1');
    await vi.waitFor(() => expect(list.totalCount).toBe(100));
    let answerCount: (count: number) => void = () => {};
    server.fetchCardPage.mockResolvedValue(page([row('new-32', 'Новая', '2026-01-02')], true));
    server.fetchCardCount.mockReturnValueOnce(new Promise<number>((resolve) => (answerCount = resolve)));
    for (let i = 1; i <= 30; i += 1) for (const listener of server.cardEventListeners) listener(event(`new-${i}`, 'f1'));
    await vi.waitFor(() => expect(server.fetchCardCount).toHaveBeenCalledTimes(2));
    // Two more arrive while the count is being read, and the count already holds them.
    for (const id of ['new-31', 'new-32']) for (const listener of server.cardEventListeners) listener(event(id, 'f1'));
    server.fetchCards.mockResolvedValue(['new-31', 'new-32'].map((id) => details(row(id, id, '2026-01-02'), 'f1')));
    server.fetchCardCount.mockResolvedValue(132);
    answerCount(132);
    await vi.waitFor(() => expect(server.fetchCardCount).toHaveBeenCalledTimes(3), { timeout: 3000 });
    await vi.waitFor(() => expect(list.totalCount).toBe(132));
    expect(server.fetchCards).not.toHaveBeenCalled();
  });
});
