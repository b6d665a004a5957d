import { createClient, type Client } from 'graphql-sse';
import { graphql, request, subscribe, type ResultOf } from '../api/graphql';
import { useFoldersStore } from '../stores/folders';
import { useSessionStore } from '../stores/session';
import { useUnreadStore } from '../stores/unread';
import { paced } from './paced';

const Live = graphql(`
  subscription Live {
    live { cardEvent { cardId folderId previousFolderId action actorId actorName } unreadCounts { folderId count } accessChanged exportProgress { progressId rows total } }
  }
`);
const UnreadCountsQuery = graphql(`query UnreadCounts { unreadCounts { folderId count } }`);

export type CardEvent = NonNullable<ResultOf<typeof Live>['live']['cardEvent']>;
/** How far one of the viewer's exports is: rows written of the total. */
export type ExportProgress = NonNullable<ResultOf<typeof Live>['live']['exportProgress']>;
type Counts = ResultOf<typeof UnreadCountsQuery>['unreadCounts'];
type Listener = (event: CardEvent) => void;

const listeners = new Set<Listener>();
const accessListeners = new Set<() => void>();
const exportListeners = new Set<(progress: ExportProgress) => void>();
let client: Client | null = null;
let stops: (() => void)[] = [];

/** Calls `listener` for every card change the viewer may see; returns the unsubscribe function. */
export function onCardEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Calls `listener` with the progress of the viewer's exports; returns the unsubscribe function. */
export function onExportProgress(listener: (progress: ExportProgress) => void): () => void {
  exportListeners.add(listener);
  return () => exportListeners.delete(listener);
}

/** Calls `listener` when the viewer's rights change (after the viewer and the folder tree are read again); returns the unsubscribe function. */
export function onAccessChanged(listener: () => void): () => void {
  accessListeners.add(listener);
  return () => accessListeners.delete(listener);
}

/**
 * The viewer's rights changed: the session (rules, history reader, administrator), the tree and the
 * unread counts (a folder just shared has its own) are read again, then the listeners hear of it.
 */
async function accessChanged(): Promise<void> {
  await Promise.all([useSessionStore().refresh(), useFoldersStore().load(), refreshUnreadCounts()]);
  for (const listener of accessListeners) listener();
}

/** Counts reach the tree at most this often; the latest wins. */
const COUNTS_EVERY_MS = 250;
let heldCounts: Counts = [];
const drawCounts = paced(() => useUnreadStore().setCounts(Object.fromEntries(heldCounts.map((c) => [c.folderId, c.count]))), COUNTS_EVERY_MS);

/**
 * New counts for the tree: at once, or with the next ones at most COUNTS_EVERY_MS later. A
 * colleague's import pushes them once a card, thousands a minute, and each one drew the whole
 * tree again (s10 re-test V3: the page froze).
 */
function pushCounts(counts: Counts): void {
  heldCounts = counts;
  drawCounts.call();
}

/** Loads the unread counts now (e.g. after a reconnect, when pushes may have been missed). */
export async function refreshUnreadCounts(): Promise<void> {
  pushCounts((await request(UnreadCountsQuery)).unreadCounts);
}

/**
 * Opens the live connection (a GraphQL subscription over SSE, session cookie): card events go to
 * the listeners, unread counts to the shell's unread store, a change of the viewer's rights to the
 * session and the tree. Retries with back-off when it drops.
 */
export function startLive(): void {
  if (client) return;
  client = createClient({
    url: '/graphql',
    credentials: 'same-origin',
    retryAttempts: Infinity,
    // Counts are loaded once when the live connection opens (below). The stream tells of a change of
    // rights made once it listens: one made while it was being set up (the viewer was read before)
    // or while it was lost is read now — the rules when it opens (say, «Экспорт» withdrawn while a
    // busy server set the stream up), the rules, tree and counts after a reconnect.
    on: { connected: (reconnected) => void (reconnected ? accessChanged() : useSessionStore().refresh()).catch(() => undefined) },
  });
  // One stream per tab carries both (a session may hold five streams).
  stops = [
    subscribe(client, Live, {}, ({ live }) => {
      if (live.cardEvent) for (const listener of listeners) listener(live.cardEvent);
      if (live.unreadCounts) pushCounts(live.unreadCounts);
      if (live.accessChanged) void accessChanged();
      if (live.exportProgress) for (const listener of exportListeners) listener(live.exportProgress);
    }),
  ];
  void refreshUnreadCounts().catch(() => undefined);
}

/** Closes the live connection (on sign-out). */
export function stopLive(): void {
  stops.forEach((stop) => stop());
  stops = [];
  client?.dispose();
  client = null;
  drawCounts.cancel();
  useUnreadStore().setCounts({});
}
