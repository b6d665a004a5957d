import { Repeater, map, pipe } from 'graphql-yoga';
import type { Actor } from '../access/actor';
import { heardOfAccessVersion, type AccessVersion } from '../access/changes';
import { accessSnapshot, type UserAccess } from '../access/snapshot';
import { events, type CardEvent, type CardPlace, type ExportProgress, type ReadsChanged } from '../events/bus';
import { openLiveStream, viewerReads, type Audience, type Viewer } from '../live/streams';
import type { GraphQLContext } from '../graphql/context';
import { requireActor } from '../graphql/guards';
import type { JobView } from '../jobs/view';
import { applyReadChange, countUnread, isUnread, sameLevels, sharedRecount, type ReadState } from './service';

/**
 * What a subscriber is told a card did: the change's own action, or `moved-away` — the card left
 * this (readable) folder for one they may not read, which is not named.
 */
type CardEventViewAction = CardEvent['action'] | 'moved-away';

/** A card change as a subscriber sees it: never the id of a folder they may not read. */
export interface CardEventView {
  cardId: string;
  folderId: string;
  previousFolderId: string | null;
  action: CardEventViewAction;
  actorId: string;
  actorName: string;
  at: string;
}

/**
 * The card change as this viewer may see it, or null: a change in a folder they read, or the card
 * leaving a folder they read for one they do not (then only the folder it left is named, so an
 * open list of that folder drops it).
 */
function cardEventFor(event: CardEvent, viewer: Viewer): CardEventView | null {
  const left = event.previous !== null && event.previous.folderId !== event.folderId && viewerReads(viewer, event.previous.folderId) ? event.previous.folderId : null;
  const common = { cardId: event.cardId, actorId: event.actorId, actorName: event.actorName, at: event.at };
  if (viewerReads(viewer, event.folderId)) return { ...common, folderId: event.folderId, previousFolderId: left, action: event.action };
  if (left !== null) return { ...common, folderId: left, previousFolderId: null, action: 'moved-away' };
  return null;
}

/** Where a card change may be seen: the folder it is in, and the one it left. */
const placesOf = (event: CardEvent): string[] => [event.folderId, ...(event.previous && event.previous.folderId !== event.folderId ? [event.previous.folderId] : [])];

/** Where any of these changes may be seen, each folder once: worked out once per event, not per subscriber. */
const placesOfChanges = new WeakMap<readonly CardEvent[], string[]>();
function placesOfAll(changes: readonly CardEvent[]): string[] {
  if (changes.length === 1) return placesOf(changes[0]!);
  let places = placesOfChanges.get(changes);
  if (!places) placesOfChanges.set(changes, (places = [...new Set(changes.flatMap(placesOf))]));
  return places;
}

/** Card changes one by one, a batch's too (the `cardEvents` subscription tells of each card). */
const eachCardEvent = () =>
  new Repeater<CardEvent>(async (push, stop) => {
    const changes = events.subscribe('card-events')[Symbol.asyncIterator]();
    void stop.then(() => changes.return?.());
    for (let next = await changes.next(); !next.done; next = await changes.next()) for (const event of next.value) await push(event);
    stop();
  });

/** Changes to cards in folders the subscriber may read. */
export function cardEventStream(context: GraphQLContext): Promise<AsyncIterableIterator<CardEventView>> {
  return openLiveStream<CardEvent, CardEventView>(context, {
    source: eachCardEvent(),
    audience: (event) => ({ folderIds: placesOf(event) }),
    present: cardEventFor,
  });
}

/**
 * The cards of a batch (an import's rows, its undo) a subscriber may see, told once for the batch:
 * their ids, the folders they read where those changed (never another), and who made it.
 */
export interface CardBatchView {
  cardIds: string[];
  folderIds: string[];
  actorId: string;
  actorName: string;
  at: string;
}

/** A tab's view of card changes: one change as it is, a batch's as one CardBatchView; null when none is for this viewer. */
function cardChangesFor(changes: readonly CardEvent[], viewer: Viewer): { cardEvent: CardEventView | null; cardBatch: CardBatchView | null } {
  const views = changes.map((event) => cardEventFor(event, viewer)).filter((view): view is CardEventView => view !== null);
  if (views.length <= 1) return { cardEvent: views[0] ?? null, cardBatch: null };
  const folderIds = new Set(views.flatMap((view) => (view.previousFolderId === null ? [view.folderId] : [view.folderId, view.previousFolderId])));
  const last = views.at(-1)!;
  return { cardEvent: null, cardBatch: { cardIds: views.map((view) => view.cardId), folderIds: [...folderIds], actorId: last.actorId, actorName: last.actorName, at: last.at } };
}

type Signal = { kind: 'cards'; changes: CardEvent[] } | { kind: 'reads'; change: ReadsChanged } | { kind: 'access'; version: AccessVersion };
type Counts = { folderId: string; count: number }[];

const placeOf = (place: CardPlace) => ({ folderId: place.folderId, inTrash: place.inTrash, updatedAt: Date.parse(place.updatedAt) });

const signals = () =>
  Repeater.merge([
    pipe(
      events.subscribe('card-events'),
      map((changes: CardEvent[]): Signal => ({ kind: 'cards', changes })),
    ),
    pipe(
      events.subscribe('reads-changed'),
      map((change: ReadsChanged): Signal => ({ kind: 'reads', change })),
    ),
    pipe(
      events.subscribe('access-changed'),
      map((version: AccessVersion): Signal => ({ kind: 'access', version })),
    ),
  ]);

/**
 * A user's own read action (or move of cards) recounts the folders it touched once for all their
 * streams on this instance with the same rights: the same event reaches each of them, and five
 * tabs cost one aggregate, not five. Keyed by the event, so the entry goes with it.
 */
type Recounted = { counts: Map<string, number>; countedAt: number };
const recountsByCause = new WeakMap<object, { levels: UserAccess['folderLevels']; folderIds: ReadonlySet<string>; recounted: Promise<Recounted> }>();

/**
 * These folders counted after `cause`, and when the answer was in (ms: the database read them
 * before). Shared when another stream counted them all after the same cause (a stream that opened
 * later may count more of them after a colleague's change: see countsTracker).
 */
function recountOnce(cause: object, viewer: Viewer, state: ReadState, folderIds: string[]): Promise<Recounted> {
  const shared = recountsByCause.get(cause);
  if (shared && shared.levels === viewer.access.folderLevels && folderIds.every((id) => shared.folderIds.has(id))) return shared.recounted;
  const recounted = countUnread(viewer.access, state, folderIds).then((counts) => ({ counts, countedAt: Date.now() }));
  recountsByCause.set(cause, { levels: viewer.access.folderLevels, folderIds: new Set(folderIds), recounted });
  return recounted;
}

/** Whether a change moved what counts are made of — the card's folder, trash or change time (a notice about a card moves none). */
const movesCountedKey = (event: CardEvent): boolean =>
  event.previous === null || event.previous.folderId !== event.folderId || event.previous.inTrash !== event.inTrash || event.previous.updatedAt !== event.updatedAt;

/**
 * A subscriber's unread counts, kept as events arrive: a colleague's change moves a count by one,
 * worked out in memory from the event (where the card was and when it last changed, before and
 * after) — no database read per subscriber and event; the subscriber's own read action, and their
 * own move of a card, recount the folders it touched (the change is applied to the read state as
 * written); a change to their access costs a full recount (shared by all their streams on this
 * instance). A card is stored before its event is published (after-commit steps run between), so a
 * count read meanwhile may hold a change whose event comes after it: a change stamped no later than
 * its folder's count was read has its folders counted again instead of moved by one — moved, it
 * would be counted twice (s12 re-test R2: a tab's badge one import batch, 492, above the folder's
 * cards). Its stamp is taken before it is stored, so a later stamp is a change the count did not see.
 */
function countsTracker(actor: Actor) {
  const userId = actor.userId;
  let state: ReadState = { folders: new Map(), cards: new Map(), batches: new Map() };
  let counts = new Map<string, number>();
  let access: UserAccess | null = null;
  /** When the counts were last read from the database (ms, once the answer was in): every folder's, and single folders' since. */
  let allCountedAt = -Infinity;
  const countedAt = new Map<string, number>();
  const listed = (): Counts => [...counts].filter(([, count]) => count > 0).map(([folderId, count]) => ({ folderId, count }));
  const recount = async (reader: Actor | UserAccess): Promise<Counts> => {
    ({ state, counts } = await sharedRecount(userId, reader));
    allCountedAt = Date.now();
    countedAt.clear();
    return listed();
  };
  /** Whether a count read at or after the change's stamp may already hold it. */
  const mayBeCounted = (event: CardEvent): boolean => {
    const stamped = Date.parse(event.updatedAt);
    return movesCountedKey(event) && placesOf(event).some((folderId) => stamped <= Math.max(allCountedAt, countedAt.get(folderId) ?? -Infinity));
  };
  /** Counts these folders again after `cause` (shared with the user's other streams); whether any count changed. */
  const recountFolders = async (cause: object, folderIds: string[], viewer: Viewer): Promise<boolean> => {
    const { counts: fresh, countedAt: at } = await recountOnce(cause, viewer, state, folderIds);
    let changed = false;
    for (const folderId of folderIds) {
      countedAt.set(folderId, at);
      const count = fresh.get(folderId);
      if ((counts.get(folderId) ?? 0) !== (count ?? 0)) changed = true;
      if (count === undefined) counts.delete(folderId);
      else counts.set(folderId, count);
    }
    return changed;
  };
  const move = (folderId: string, by: number) => counts.set(folderId, (counts.get(folderId) ?? 0) + by);
  /** The card's receipt follows it to the folder it is in now, as stored (recordOwnChange moves it with the card). */
  const receiptFollows = (event: CardEvent) => {
    const receipt = state.cards.get(event.cardId);
    if (receipt) receipt.folderId = event.folderId;
  };
  /**
   * A colleague's change moves a count by one, worked out in memory from the event (where the card
   * was and when it last changed, before and after): no database read per subscriber and event,
   * whatever the number of streams open. Whether a count moved.
   */
  const colleagueChange = (event: CardEvent, viewer: Viewer): boolean => {
    const wasUnread = event.previous !== null && viewerReads(viewer, event.previous.folderId) && isUnread(state, event.cardId, placeOf(event.previous));
    receiptFollows(event);
    const nowUnread = viewerReads(viewer, event.folderId) && isUnread(state, event.cardId, placeOf(event));
    if (wasUnread === nowUnread && (!wasUnread || event.previous?.folderId === event.folderId)) return false;
    if (wasUnread) move(event.previous!.folderId, -1);
    if (nowUnread) move(event.folderId, 1);
    return true;
  };
  const recountFolder = async (change: ReadsChanged, viewer: Viewer): Promise<Counts> => {
    const folderId = change.folder?.folderId ?? change.receipt?.folderId ?? change.batch?.folderId;
    if (folderId === undefined) {
      access = viewer.access;
      return recount(viewer.access);
    }
    applyReadChange(state, change);
    await recountFolders(change, [folderId], viewer);
    return listed();
  };
  return {
    /** The counts the stream starts from: read once it listens, so no change published meanwhile is missed. */
    async start(): Promise<void> {
      await recount(actor);
      access = (await accessSnapshot()).accessOf(userId);
    },
    audience(signal: Signal): Audience {
      if (signal.kind === 'cards') return { folderIds: placesOfAll(signal.changes) };
      if (signal.kind === 'reads') return { userIds: [signal.change.userId] };
      return { everyone: true };
    },
    /** The counts after this signal, or null when they did not change. */
    async after(signal: Signal, viewer: Viewer): Promise<Counts | null> {
      if (signal.kind === 'reads') return recountFolder(signal.change, viewer);
      if (signal.kind === 'access') {
        heardOfAccessVersion(signal.version);
        const snapshot = await accessSnapshot();
        const current = snapshot.accessOf(userId);
        if (!current || (access && sameLevels(current.folderLevels, access.folderLevels))) return null;
        access = current;
        return recount(current);
      }
      // The author's own changes arrived before them with their read state (reads-changed), which
      // recounted the folders the cards are in: the ones they left are what is left to recount.
      const recountAgain = new Set<string>();
      let moved = false;
      for (const event of signal.changes) {
        if (event.actorId === userId) {
          receiptFollows(event);
          for (const folderId of placesOf(event).slice(1)) recountAgain.add(folderId);
        } else if (mayBeCounted(event)) {
          receiptFollows(event);
          for (const folderId of placesOf(event)) recountAgain.add(folderId);
        } else moved = colleagueChange(event, viewer) || moved;
      }
      if (recountAgain.size > 0) moved = (await recountFolders(signal.changes, [...recountAgain], viewer)) || moved;
      return moved ? listed() : null;
    },
  };
}

/** The subscriber's unread counts whenever they change. */
export async function unreadCountStream(context: GraphQLContext): Promise<AsyncIterableIterator<Counts>> {
  const tracker = countsTracker(await requireActor(context));
  return openLiveStream<Signal, Counts>(context, { source: signals(), audience: tracker.audience, present: tracker.after, start: tracker.start });
}

/**
 * What a tab shows live, on one stream: a card change it may see, new unread counts, and/or that
 * the viewer's rights changed; or one of the viewer's own jobs changing, or how far one of their
 * exports is.
 */
export interface LiveUpdate {
  cardEvent: CardEventView | null;
  cardBatch: CardBatchView | null;
  unreadCounts: Counts | null;
  accessChanged: boolean;
  job?: JobView;
  exportProgress?: Omit<ExportProgress, 'userId'>;
}

function sameIds(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a === b || (a.size === b.size && [...a].every((id) => b.has(id)));
}

/**
 * Whether a user's rights differ: administrator, history reader, «Экспорт» (the system group's
 * member, or the folders an entry gives it on), or the folders they reach and at what level.
 */
function sameRights(a: UserAccess | null, b: UserAccess | null): boolean {
  if (!a || !b) return a === b;
  return (
    a.isAdmin === b.isAdmin &&
    a.isHistoryReader === b.isHistoryReader &&
    a.isExporter === b.isExporter &&
    sameIds(a.exportFolderIds, b.exportFolderIds) &&
    sameLevels(a.folderLevels, b.folderLevels)
  );
}

/** A tab's unread counts go out at most this often; the latest wins. */
export const COUNTS_EVERY_MS = 250;

/**
 * Unread counts for one stream, paced: new counts go out at once when none went out in the last
 * COUNTS_EVERY_MS, otherwise they are held and `due` is called when they may go. A colleague's
 * import changes a count with every card — thousands a minute, each time the viewer's whole list
 * of folders (s10 re-test V3) — and a tab needs only the latest.
 */
function countsPacer(due: () => void) {
  let sentAt = 0;
  let held: Counts | null = null;
  let timer: NodeJS.Timeout | null = null;
  const send = (counts: Counts) => {
    sentAt = Date.now();
    held = null;
    return counts;
  };
  return {
    /** The counts to send now with this update, or null (unchanged, or held for later). */
    pace(counts: Counts | null): Counts | null {
      if (counts === null) return null;
      const wait = sentAt + COUNTS_EVERY_MS - Date.now();
      if (wait <= 0 && timer === null) return send(counts);
      held = counts;
      timer ??= setTimeout(
        () => {
          timer = null;
          due();
        },
        Math.max(0, wait),
      );
      return null;
    },
    /** The held counts, now that they are due. */
    takeHeld: (): Counts | null => (held ? send(held) : null),
    stop: () => {
      if (timer) clearTimeout(timer);
    },
  };
}

/**
 * Card changes and unread counts together, so that a browser tab holds one stream, not two (a
 * session may hold five). Card changes go out as they happen, a batch's as one update
 * (`cardBatch`: a colleague's import of 100,000 rows is 200 updates, not 100,000); counts paced
 * (countsPacer).
 */
export async function liveUpdateStream(context: GraphQLContext): Promise<AsyncIterableIterator<LiveUpdate>> {
  const actor = await requireActor(context);
  const tracker = countsTracker(actor);
  // The rights the tab was last told about: a change of them (say, joining the history readers) reaches it live.
  let rights: UserAccess | null = (await accessSnapshot()).accessOf(actor.userId);
  type LiveSignal = Signal | { kind: 'counts-due' } | { kind: 'job'; job: JobView } | { kind: 'export'; progress: ExportProgress };
  const nothingElse = { cardEvent: null, cardBatch: null, unreadCounts: null, accessChanged: false };
  let pushDue: (() => void) | null = null;
  const pacer = countsPacer(() => pushDue?.());
  const countsDue = new Repeater<LiveSignal>(async (push, stop) => {
    pushDue = () => void push({ kind: 'counts-due' });
    await stop;
    pacer.stop();
  });
  return openLiveStream<LiveSignal, LiveUpdate>(context, {
    source: Repeater.merge([
      signals(),
      countsDue,
      pipe(
        events.subscribe('job-changed'),
        map((job: JobView): LiveSignal => ({ kind: 'job', job })),
      ),
      pipe(
        events.subscribe('export-progress'),
        map((progress: ExportProgress): LiveSignal => ({ kind: 'export', progress })),
      ),
    ]),
    // A job, an export's progress and held counts go to their owner's streams only (an administrator's jobEvents hears every job).
    audience: (signal) => {
      if (signal.kind === 'counts-due') return { userIds: [actor.userId] };
      if (signal.kind === 'job') return { userIds: signal.job.ownerId ? [signal.job.ownerId] : [] };
      if (signal.kind === 'export') return { userIds: [signal.progress.userId] };
      return tracker.audience(signal);
    },
    start: tracker.start,
    present: async (signal, viewer) => {
      if (signal.kind === 'counts-due') {
        const unreadCounts = pacer.takeHeld();
        return unreadCounts ? { ...nothingElse, unreadCounts } : null;
      }
      if (signal.kind === 'job') return { ...nothingElse, job: signal.job };
      if (signal.kind === 'export') {
        const { progressId, rows, total } = signal.progress;
        return { ...nothingElse, exportProgress: { progressId, rows, total } };
      }
      const { cardEvent, cardBatch } = signal.kind === 'cards' ? cardChangesFor(signal.changes, viewer) : { cardEvent: null, cardBatch: null };
      const unreadCounts = pacer.pace(await tracker.after(signal, viewer));
      let accessChanged = false;
      if (signal.kind === 'access') {
        const current = (await accessSnapshot()).accessOf(actor.userId);
        accessChanged = !sameRights(rights, current);
        rights = current;
      }
      return cardEvent || cardBatch || unreadCounts || accessChanged ? { cardEvent, cardBatch, unreadCounts, accessChanged } : null;
    },
  });
}
