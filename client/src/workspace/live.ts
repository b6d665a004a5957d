import { createClient, type Client } from 'graphql-sse';
import { graphql, request, subscribe, type ResultOf } from '../api/graphql';
import { useFoldersStore } from '../stores/folders';
import { useSessionStore } from '../stores/session';
import { useUnreadStore } from '../stores/unread';
import { paced } from './paced';

const Live = graphql(`
  subscription Live {
    live {
      cardEvent { cardId folderId previousFolderId action actorId actorName }
      cardBatch { cardIds folderIds actorId }
      unreadCounts { folderId count }
      accessChanged
      job { id type state ownerId }
      exportProgress { progressId rows total }
    }
  }
`);
const UnreadCountsQuery = graphql(`query UnreadCounts { unreadCounts { folderId count } }`);

export type CardEvent = NonNullable<ResultOf<typeof Live>['live']['cardEvent']>;
/** The cards one batch changed (an import's rows, its undo), told once: their ids and the folders they changed in. */
export type CardBatch = NonNullable<ResultOf<typeof Live>['live']['cardBatch']>;
/** One of the viewer's own jobs, created or changed: its state (its progress is followed by useJob). */
export type JobEvent = NonNullable<ResultOf<typeof Live>['live']['job']>;
/** How far one of the viewer's exports is: rows written of the total. */
export type ExportProgress = NonNullable<ResultOf<typeof Live>['live']['exportProgress']>;
type Counts = ResultOf<typeof UnreadCountsQuery>['unreadCounts'];
/** Listeners of one kind of live news: `on` adds one and returns what removes it; `tell` calls them all. */
function listeners<T = void>() {
  const all = new Set<(news: T) => void>();
  return {
    on(listener: (news: T) => void): () => void {
      all.add(listener);
      return () => void all.delete(listener);
    },
    tell(news: T): void {
      for (const listener of all) listener(news);
    },
  };
}

const cardEvents = listeners<CardEvent>();
const cardBatches = listeners<CardBatch>();
const accessChanges = listeners();
const jobEvents = listeners<JobEvent>();
const exportProgress = listeners<ExportProgress>();
const reconnections = listeners();
let client: Client | null = null;
let stops: (() => void)[] = [];

/** Calls its listener for every card change the viewer may see; returns the unsubscribe function. */
export const onCardEvent = cardEvents.on;
/** Calls its listener for every batch of card changes the viewer may see (in place of an event per card). */
export const onCardBatch = cardBatches.on;
/** Calls its listener when the viewer's rights change (after the viewer and the folder tree are read again). */
export const onAccessChanged = accessChanges.on;
/** Calls its listener when one of the viewer's own jobs is created or changes. */
export const onJobEvent = jobEvents.on;
/** Calls its listener with the progress of the viewer's exports. */
export const onExportProgress = exportProgress.on;
/** Calls its listener when the live connection is back after it was lost (what happened meanwhile was not heard). */
export const onLiveReconnected = reconnections.on;

/**
 * The viewer's rights changed: the session (rules, history reader, administrator), the tree and the
 * unread counts (a folder just shared has its own) are read again, then the listeners hear of it.
 */
async function accessChanged(): Promise<void> {
  await Promise.all([useSessionStore().refresh(), useFoldersStore().load(), refreshUnreadCounts()]);
  accessChanges.tell();
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

/** How many times the live stream sent counts: a question answered after one of them is older than it. */
let streamedCounts = 0;

/**
 * Loads the unread counts now (e.g. after a reconnect, when pushes may have been missed). Counts the
 * stream sent while the question was out are newer than its answer, which is then dropped — drawn
 * last, it held the badge below a colleague's import once the import had ended.
 */
export async function refreshUnreadCounts(): Promise<void> {
  const streamedBefore = streamedCounts;
  const { unreadCounts } = await request(UnreadCountsQuery);
  if (streamedCounts === streamedBefore) pushCounts(unreadCounts);
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
    on: {
      connected: (reconnected) => {
        void (reconnected ? accessChanged() : useSessionStore().refresh()).catch(() => undefined);
        if (reconnected) reconnections.tell();
      },
    },
  });
  // One stream per tab carries both (a session may hold five streams).
  stops = [
    subscribe(client, Live, {}, ({ live }) => {
      if (live.cardEvent) cardEvents.tell(live.cardEvent);
      if (live.cardBatch) cardBatches.tell(live.cardBatch);
      if (live.unreadCounts) {
        streamedCounts += 1;
        pushCounts(live.unreadCounts);
      }
      if (live.accessChanged) void accessChanged();
      if (live.job) jobEvents.tell(live.job);
      if (live.exportProgress) exportProgress.tell(live.exportProgress);
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
