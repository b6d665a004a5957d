import { createClient, type Client } from 'graphql-sse';
import { graphql } from '../api/graphql';
import { useFoldersStore } from '../stores/folders';
import { useSessionStore } from '../stores/session';
import { useUnreadStore } from '../stores/unread';

export interface CardEvent {
  cardId: string;
  folderId: string;
  previousFolderId: string | null;
  action: string;
  actorId: string;
  actorName: string;
}

type Counts = { folderId: string; count: number }[];
type Listener = (event: CardEvent) => void;

const listeners = new Set<Listener>();
const accessListeners = new Set<() => void>();
let client: Client | null = null;
let stops: (() => void)[] = [];

/** Calls `listener` for every card change the viewer may see; returns the unsubscribe function. */
export function onCardEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
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

function pushCounts(counts: Counts): void {
  useUnreadStore().setCounts(Object.fromEntries(counts.map((c) => [c.folderId, c.count])));
}

/** Loads the unread counts now (e.g. after a reconnect, when pushes may have been missed). */
export async function refreshUnreadCounts(): Promise<void> {
  const data = await graphql<{ unreadCounts: Counts }>('query UnreadCounts { unreadCounts { folderId count } }');
  pushCounts(data.unreadCounts);
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
    // Counts are loaded once when the live connection opens (below); after a reconnect again, as
    // pushes may have been missed meanwhile.
    on: { connected: (reconnected) => void (reconnected && refreshUnreadCounts().catch(() => undefined)) },
  });
  // One stream per tab carries both (a session may hold five streams).
  stops = [
    client.subscribe<{ live: { cardEvent: CardEvent | null; unreadCounts: Counts | null; accessChanged: boolean } }>(
      { query: 'subscription Live { live { cardEvent { cardId folderId previousFolderId action actorId actorName } unreadCounts { folderId count } accessChanged } }' },
      {
        next: ({ data }) => {
          const event = data?.live.cardEvent;
          if (event) for (const listener of listeners) listener(event);
          if (data?.live.unreadCounts) pushCounts(data.live.unreadCounts);
          if (data?.live.accessChanged) void accessChanged();
        },
        error: () => undefined,
        complete: () => undefined,
      },
    ),
  ];
  void refreshUnreadCounts().catch(() => undefined);
}

/** Closes the live connection (on sign-out). */
export function stopLive(): void {
  stops.forEach((stop) => stop());
  stops = [];
  client?.dispose();
  client = null;
  useUnreadStore().setCounts({});
}
