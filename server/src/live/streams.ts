import { Repeater } from 'graphql-yoga';
import { folderSubject } from '../access/ability';
import { accessSnapshot, type AccessSnapshot, type UserAccess } from '../access/snapshot';
import { AppError } from '../errors';
import type { GraphQLContext } from '../graphql/context';
import { requireActor } from '../graphql/guards';
import { message } from '../i18n';
import { addressAllowedIn } from '../people/auth';
import { onEvent } from '../events/bus';
import { liveSessions } from '../people/sessions';

/** Open live streams (subscriptions over server-sent events) a session may hold at once. */
export const MAX_STREAMS_PER_SESSION = 5;
/**
 * And a user over all their sessions (on this instance): signing in again and again must not let one
 * person hold hundreds, each a subscriber every event is filtered for (s15 attack A8: 40 sessions
 * × 5 streams slowed colleagues' pages 2.8×). Four devices' worth of tabs.
 */
export const MAX_STREAMS_PER_USER = 20;

/** Who may receive an event: readers of any of the folders, any of the users, administrators, or every subscriber. */
export interface Audience {
  folderIds?: readonly string[];
  userIds?: readonly string[];
  administrators?: boolean;
  everyone?: boolean;
}

/** A subscriber as of the current access snapshot. */
export interface Viewer {
  userId: string;
  snapshot: AccessSnapshot;
  access: UserAccess;
}

/** Whether the viewer may read the folder, by the same ability as every other read. */
export function viewerReads(viewer: Viewer, folderId: string): boolean {
  const folder = viewer.snapshot.folders.get(folderId);
  return Boolean(folder && viewer.access.ability.can('read', folderSubject(folder)));
}

function mayReceive(viewer: Viewer, audience: Audience): boolean {
  if (audience.everyone) return true;
  if (audience.userIds?.includes(viewer.userId)) return true;
  if (audience.administrators && viewer.access.isAdmin) return true;
  return (audience.folderIds ?? []).some((id) => viewerReads(viewer, id));
}

/**
 * What a kind of event needs to become a live stream: where events come from, who may receive
 * each, and what a given viewer gets of it (null: nothing). Card changes, unread counts — and
 * whatever comes next (job progress, permission changes) — are specs for openLiveStream.
 */
export interface LiveStreamSpec<E, R> {
  source: AsyncIterable<E>;
  audience(event: E): Audience;
  present(event: E, viewer: Viewer): R | null | Promise<R | null>;
  /**
   * Runs once the source listens, before its first event is presented: what it reads (a
   * subscriber's counts) misses no event published meanwhile.
   */
  start?(): Promise<void>;
}

interface OpenStream {
  userId: string;
  sessionId: string;
  ip: string;
  close(): void;
}

const bySession = new Map<string, Set<OpenStream>>();
const countByUser = new Map<string, number>();

function register(stream: OpenStream): void {
  const streams = bySession.get(stream.sessionId) ?? new Set<OpenStream>();
  streams.add(stream);
  bySession.set(stream.sessionId, streams);
  countByUser.set(stream.userId, (countByUser.get(stream.userId) ?? 0) + 1);
  sweepWhileOpen();
}

function unregister(stream: OpenStream): void {
  const streams = bySession.get(stream.sessionId);
  if (!streams?.delete(stream)) return;
  if (streams.size === 0) bySession.delete(stream.sessionId);
  const left = (countByUser.get(stream.userId) ?? 1) - 1;
  if (left > 0) countByUser.set(stream.userId, left);
  else countByUser.delete(stream.userId);
}

function* openStreams(): Generator<OpenStream> {
  for (const streams of bySession.values()) yield* [...streams];
}

/** Ends every open stream (the server is stopping: their connections would hold it up). */
export function closeAllStreams(): void {
  for (const stream of openStreams()) stream.close();
  stopSweeping();
}

/**
 * Closes the streams whose session has ended, or whose user may no longer be signed in from the
 * stream's address. `sessions` are those a sweep looked up and `live` the ones of them found live: a
 * stream of a session opened while the lookup ran is judged by the next sweep, not taken for ended.
 */
function closeEnded(snapshot: AccessSnapshot, sessions: { asked: ReadonlySet<string>; live: Set<string> } | null): void {
  for (const stream of openStreams()) {
    const user = snapshot.users.get(stream.userId);
    const ended = sessions !== null && sessions.asked.has(stream.sessionId) && !sessions.live.has(stream.sessionId);
    if (ended || !user?.active || !addressAllowedIn(snapshot, user, stream.ip)) stream.close();
  }
}

/**
 * Every second while streams are open, their sessions are looked up (one query for all of them)
 * and their users checked against the access snapshot: a session ended on another instance, or a
 * deactivation whose event this instance missed (the bus drops messages across a reconnect), closes
 * the streams within the bound requests have (a second), not never.
 */
const SWEEP_MS = 1000;
let sweeper: NodeJS.Timeout | null = null;
let sweeping = false;

function stopSweeping(): void {
  if (sweeper) clearInterval(sweeper);
  sweeper = null;
}

function sweepWhileOpen(): void {
  if (sweeper) return;
  sweeper = setInterval(() => {
    if (bySession.size === 0) return stopSweeping();
    if (sweeping) return;
    sweeping = true;
    const asked = new Set(bySession.keys());
    Promise.all([liveSessions([...asked]), accessSnapshot()])
      .then(([live, snapshot]) => closeEnded(snapshot, { asked, live }))
      // The database out of reach: the streams stay until the next sweep can tell.
      .catch(() => undefined)
      .finally(() => (sweeping = false));
  }, SWEEP_MS);
  sweeper.unref();
}

// A session that ends closes its streams, whatever ended it.
onEvent('sessions-ended', ({ userId, sessionIds, exceptSessionId }) => {
  for (const stream of openStreams()) {
    if (stream.userId !== userId) continue;
    if (sessionIds ? sessionIds.includes(stream.sessionId) : stream.sessionId !== exceptSessionId) stream.close();
  }
});

// A user deactivated, or an allow-list that now leaves their address out: their streams close.
onEvent('access-changed', async () => {
  if (bySession.size === 0) return;
  closeEnded(await accessSnapshot(), null);
});

/**
 * A live stream for the signed-in user of this request: at most MAX_STREAMS_PER_SESSION per
 * session and MAX_STREAMS_PER_USER per user (more are refused with TOO_MANY_REQUESTS), closed when the session ends or expires,
 * and every event filtered for the subscriber against the shared access snapshot — no database
 * read per event or subscriber.
 */
export async function openLiveStream<E, R>(context: GraphQLContext, spec: LiveStreamSpec<E, R>): Promise<AsyncIterableIterator<R>> {
  const actor = await requireActor(context);
  const { sessionId, sessionExpiresAt } = context.auth;
  if (!sessionId) throw new AppError('UNAUTHENTICATED', message(context.locale, 'unauthenticated'));
  if ((bySession.get(sessionId)?.size ?? 0) >= MAX_STREAMS_PER_SESSION) {
    throw new AppError('TOO_MANY_REQUESTS', message(actor.locale, 'tooManyStreams', { max: MAX_STREAMS_PER_SESSION }), { maxStreams: MAX_STREAMS_PER_SESSION });
  }
  const userId = actor.userId;
  if ((countByUser.get(userId) ?? 0) >= MAX_STREAMS_PER_USER) {
    throw new AppError('TOO_MANY_REQUESTS', message(actor.locale, 'tooManyUserStreams', { max: MAX_STREAMS_PER_USER }), { maxStreams: MAX_STREAMS_PER_USER });
  }
  let released = false;
  let expiry: NodeJS.Timeout | null = null;
  // Closed before its first event is pulled: it stops as soon as it starts.
  const stream: OpenStream = { userId, sessionId, ip: context.ip, close: () => release() };
  const release = () => {
    if (released) return;
    released = true;
    if (expiry) clearTimeout(expiry);
    unregister(stream);
  };
  // Counted from now, not from the first event: a sixth stream opened at once is refused too.
  register(stream);
  const repeater = new Repeater<R>(async (push, stop) => {
    stream.close = () => stop();
    if (released) return stop();
    if (sessionExpiresAt) {
      expiry = setTimeout(() => stop(), Math.max(0, sessionExpiresAt.getTime() - Date.now()));
      expiry.unref();
    }
    const iterator = spec.source[Symbol.asyncIterator]();
    void stop.then(() => iterator.return?.());
    try {
      // The first pull subscribes the source: from here on, what is published waits for `start`.
      const first = iterator.next();
      await spec.start?.();
      for (let next = await first; !next.done; next = await iterator.next()) {
        const snapshot = await accessSnapshot();
        const access = snapshot.accessOf(userId);
        if (!access) break;
        const viewer: Viewer = { userId, snapshot, access };
        if (!mayReceive(viewer, spec.audience(next.value))) continue;
        const shown = await spec.present(next.value, viewer);
        if (shown !== null) await push(shown);
      }
    } finally {
      release();
      stop();
    }
  });
  // The stream leaves the count however it ends, even if the client goes before its first event.
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => repeater.next(),
    return: (value?: unknown) => {
      release();
      return repeater.return(value as R);
    },
    throw: (error?: unknown) => {
      release();
      return repeater.throw(error);
    },
  } satisfies AsyncIterableIterator<R>;
}
