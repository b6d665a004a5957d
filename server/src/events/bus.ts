import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSubEventTarget } from 'graphql-yoga';

/** What a change does to a card. */
export type CardAction = 'create' | 'update' | 'move' | 'trash' | 'restore' | 'revert' | 'merge' | 'unmerge';

/** What happened to a card without a change of the card itself (its values stay): an earlier version of one of its files removed for good. */
export type CardNoticeAction = 'file-version-removed';

/** A card's place and change time, before or after a change. */
export interface CardPlace {
  folderId: string;
  libraryId: string;
  /** ISO time of the card's last change. */
  updatedAt: string;
  inTrash: boolean;
}

/**
 * A committed change to a card. Internal: live streams show each subscriber only what they may
 * see of it (live/streams.ts); `previous` lets unread counts follow the change without a query.
 */
export interface CardEvent extends CardPlace {
  cardId: string;
  action: CardAction | CardNoticeAction;
  actorId: string;
  actorName: string;
  at: string;
  /** Where the card was before the change; null for a new card. */
  previous: CardPlace | null;
}

/**
 * A change to a user's read state, as it was written (unread/model.ts): caches apply it as it is.
 * With none of its parts, the user's counts were counted afresh: their live streams count again.
 */
export interface ReadsChanged {
  userId: string;
  /** A card receipt written: read up to `readUpTo` (ISO), and/or asked to be shown unread. */
  receipt?: { cardId: string; folderId: string; readUpTo: string | null; unread: { asNew: boolean; changedFields: string[]; since: string } | null };
  /** A folder marked read up to `readUpTo`: its receipts are gone. */
  folder?: { folderId: string; readUpTo: string };
  /** The user's own batch wrote cards of the folder stamped `at` (ISO): they are read (a batch receipt). */
  batch?: { folderId: string; at: string };
}

/** Sessions that ended: the ones listed, or all of the user's but `exceptSessionId`. */
export interface SessionsEnded {
  userId: string;
  sessionIds?: string[];
  exceptSessionId?: string | null;
}

/** How far an export is (transfer/export.ts), for the page that asked for it by its `progressId`, on its owner's live stream. */
export interface ExportProgress {
  userId: string;
  progressId: string;
  /** Rows written into the download so far. */
  rows: number;
  /** Rows the export holds, counted before the first one was written. */
  total: number;
}

/**
 * Topics other modules add by declaration merging (jobs/view.ts: 'job-changed'), so the bus
 * imports none of them.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface ModuleTopics {}

export type Topics = { [K in keyof ModuleTopics]: ModuleTopics[K] } & {
  /**
   * Committed changes to cards: one change, or all the changes of a batch (an import's or its undo's
   * 500 rows) as one event, so that a subscriber takes a batch at once and a tab hears of it once.
   */
  'card-events': [CardEvent[]];
  /** What this user has read changed (opened, marked read or unread, their own change). */
  'reads-changed': [ReadsChanged];
  /** The access structure moved to this version (server/src/access/changes.ts). */
  'access-changed': [version: { epoch: string; value: number; people: number }];
  /** Users' profile fields (name, e-mail, language …) changed: the access snapshot refreshes them (access/changes.ts). */
  'people-changed': [version: { epoch: string; value: number; people: number }];
  /** Sessions ended (sign-out, password reset or change, deactivation): their live streams close. */
  'sessions-ended': [SessionsEnded];
  /** An export wrote more of its rows (paced, and once at its start and its end). */
  'export-progress': [ExportProgress];
};

/**
 * The event bus. Events are published after commit; live streams filter them for each subscriber
 * against the access snapshot. In-process unless REDIS_URL makes it shared (see useRedisEventBus).
 */
export let events = inProcessBus();

/** In-process: one EventTarget, one listener per open stream and topic (hundreds are normal). */
function inProcessBus() {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return createPubSub<Topics>({ eventTarget: target as PubSubEventTarget<Topics> });
}

/**
 * Switches the bus to Redis pub/sub so every server instance delivers every instance's events.
 * Returns a function that closes the Redis connections.
 */
export async function useRedisEventBus(url: string): Promise<() => Promise<void>> {
  const [{ Redis }, { createRedisEventTarget }] = await Promise.all([import('ioredis'), import('@graphql-yoga/redis-event-target')]);
  const publishClient = new Redis(url);
  const subscribeClient = new Redis(url);
  events = createPubSub<Topics>({ eventTarget: createRedisEventTarget({ publishClient, subscribeClient }) });
  return async () => {
    events = inProcessBus();
    await Promise.all([publishClient.quit(), subscribeClient.quit()]);
  };
}

type Handler<T extends keyof Topics> = (...payload: Topics[T]) => void | Promise<void>;
const handlers: { topic: keyof Topics; handle: (payload: unknown) => void | Promise<void> }[] = [];

/**
 * Registers what this instance does with every event of a topic (caches dropping what changed,
 * streams closing), whichever instance published it. Runs from startEventHandlers() on.
 */
export function onEvent<T extends keyof Topics>(topic: T, handle: Handler<T>): void {
  handlers.push({ topic, handle: (payload) => handle(...([payload] as unknown as Topics[T])) });
}

/** Starts the registered handlers on the current bus; returns the function that stops them. */
export function startEventHandlers(onError: (error: unknown) => void): () => Promise<void> {
  const running = handlers.map(({ topic, handle }) => {
    const iterator = (events.subscribe as (topic: keyof Topics) => AsyncIterable<unknown>)(topic)[Symbol.asyncIterator]();
    const done = (async () => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        try {
          await handle(next.value);
        } catch (error) {
          onError(error);
        }
      }
    })();
    return { iterator, done };
  });
  return async () => {
    await Promise.all(
      running.map(async ({ iterator, done }) => {
        await iterator.return?.();
        await done;
      }),
    );
  };
}
