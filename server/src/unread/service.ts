import { Types, type ClientSession } from 'mongoose';
import { folderSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { accessSnapshot } from '../access/snapshot';
import type { CardChange } from '../cards/lifecycle';
import { idText } from '../cards/id-text';
import { Card, type CardDoc } from '../cards/model';
import { events, onEvent, type CardPlace, type ReadsChanged } from '../events/bus';
import type { FolderDoc } from '../folders/models';
import { batchReadKey, cardReadKey, folderReadKey, Read, StoredCounts, type ForcedUnread, type ReadDoc, type StoredCountsDoc } from './model';

const oid = (id: string | Types.ObjectId) => new Types.ObjectId(String(id));

// ---------- a user's read state ----------

export interface Receipt {
  folderId: string;
  /** The card's change time when the user read it (ms), or null. */
  readUpTo: number | null;
  /** Set when the user asked to see the card unread again. */
  unread: ForcedUnread | null;
}

/** Everything a user has read: folder watermarks, card receipts and batch receipts (see model.ts). */
export interface ReadState {
  folders: Map<string, number>;
  cards: Map<string, Receipt>;
  /** By folder: the change times (ms) of the user's own batches there — their cards are read. */
  batches: Map<string, Set<number>>;
}

function addBatch(state: ReadState, folderId: string, at: number): void {
  const times = state.batches.get(folderId);
  if (times) times.add(at);
  else state.batches.set(folderId, new Set([at]));
}

export async function loadReadState(userId: string): Promise<ReadState> {
  const docs = await Read.find({ userId: oid(userId) }).lean<ReadDoc[]>();
  const state: ReadState = { folders: new Map(), cards: new Map(), batches: new Map() };
  for (const doc of docs) {
    if (doc.cardId) {
      state.cards.set(String(doc.cardId), { folderId: String(doc.folderId), readUpTo: doc.readUpTo?.getTime() ?? null, unread: doc.unread ?? null });
    } else if (doc.batch && doc.readUpTo) {
      addBatch(state, String(doc.folderId), doc.readUpTo.getTime());
    } else if (doc.readUpTo) {
      state.folders.set(String(doc.folderId), doc.readUpTo.getTime());
    }
  }
  return state;
}

/**
 * Read states are kept per instance for a second at most: a page's bold rows and the counts cost
 * no query for it while a user works. A user's own read actions drop it at once on every
 * instance (the bus); the one-second bound covers a missed event. An entry leaves the map when its
 * second is over, so the map holds the states of the users of the last second only, whatever they
 * weigh (a reader's state holds every receipt since their folders' watermarks).
 */
const READ_STATE_TTL_MS = 1000;
const readStates = new Map<string, { state: Promise<ReadState>; loadedAt: number }>();

export function readStateOf(userId: string): Promise<ReadState> {
  const now = Date.now();
  const cached = readStates.get(userId);
  if (cached && now - cached.loadedAt < READ_STATE_TTL_MS) return cached.state;
  const entry = { state: loadReadState(userId), loadedAt: now };
  readStates.set(userId, entry);
  const forget = () => {
    if (readStates.get(userId) === entry) readStates.delete(userId);
  };
  entry.state.catch(forget);
  setTimeout(forget, READ_STATE_TTL_MS).unref();
  return entry.state;
}

/** Applies a written change to a read state (idempotent: applying it twice changes nothing more). */
export function applyReadChange(state: ReadState, change: ReadsChanged): void {
  if (change.receipt) {
    const { cardId, folderId, readUpTo, unread } = change.receipt;
    state.cards.set(cardId, { folderId, readUpTo: readUpTo === null ? null : Date.parse(readUpTo), unread: unread && { ...unread, since: new Date(unread.since) } });
  }
  if (change.folder) {
    const { folderId } = change.folder;
    // A watermark never moves back (two marks at once: the later change it saw wins).
    const readUpTo = Math.max(Date.parse(change.folder.readUpTo), state.folders.get(folderId) ?? -Infinity);
    state.folders.set(folderId, readUpTo);
    // Receipts newer than the watermark stay: they say more than it does.
    for (const [cardId, receipt] of state.cards) if (receipt.folderId === folderId && (receipt.readUpTo === null || receipt.readUpTo <= readUpTo)) state.cards.delete(cardId);
    const batches = state.batches.get(folderId);
    if (batches) for (const at of batches) if (at <= readUpTo) batches.delete(at);
  }
  if (change.batch) addBatch(state, change.batch.folderId, Date.parse(change.batch.at));
}

/**
 * After a write to a user's read state: this instance's cached state takes the change now (no
 * reload), the other instances' through the bus; live counts recount on the same event.
 */
function readStateChanged(change: ReadsChanged): void {
  applyToCached(change);
  events.publish('reads-changed', change);
}

function applyToCached(change: ReadsChanged): void {
  countsChangedIn(change.userId, [change.folder?.folderId ?? change.receipt?.folderId ?? change.batch?.folderId]);
  const cached = readStates.get(change.userId);
  // Also right for a load still under way: the change is applied once it has arrived.
  if (!cached) return;
  cached.state = cached.state.then((state) => {
    applyReadChange(state, change);
    return state;
  });
}

onEvent('reads-changed', applyToCached);

/** Forgets every cached read state (a new database was opened). */
export function forgetReadStates(): void {
  readStates.clear();
  knownCounts.clear();
  countedSinceStart.clear();
}

// ---------- is a card unread for a user ----------

/** Why a card is bold for the viewer: new to them, or these fields changed since they last read it. */
export interface UnreadView {
  isNew: boolean;
  changedFields: string[];
  since: Date;
}

type CardForUnread = Pick<CardDoc, '_id' | 'folderId' | 'inTrash' | 'updatedAt' | 'createdAt' | 'arrivedAt' | 'fieldChangedAt'>;

/** When the user last read this card: the later of the folder's watermark and the card's receipt. */
function lastRead(state: ReadState, cardId: string, folderId: string): number {
  return Math.max(state.folders.get(folderId) ?? -Infinity, state.cards.get(cardId)?.readUpTo ?? -Infinity);
}

/** Whether the card's last change was a batch of the user's own there (a batch receipt). */
const ownBatch = (state: ReadState, folderId: string, updatedAt: number): boolean => state.batches.get(folderId)?.has(updatedAt) ?? false;

/** Whether the card changed since the user last read it (as the count counts it: keys past the watermark and the receipts). */
const changedSinceRead = (state: ReadState, cardId: string, folderId: string, updatedAt: number): boolean =>
  updatedAt > lastRead(state, cardId, folderId) && !ownBatch(state, folderId, updatedAt);

/** Whether a card in this place is unread for the user: changed since they last read it, or marked unread. */
export function isUnread(state: ReadState, cardId: string, place: Pick<CardPlace, 'folderId' | 'inTrash'> & { updatedAt: number }): boolean {
  if (place.inTrash) return false;
  if (state.cards.get(cardId)?.unread) return true;
  return changedSinceRead(state, cardId, place.folderId, place.updatedAt);
}

/** The card's unread state for the user (null when read): computed from the card itself and the read state, no query. */
export function unreadViewOf(state: ReadState, card: CardForUnread): UnreadView | null {
  if (card.inTrash) return null;
  const cardId = idText(card._id);
  const folderId = idText(card.folderId);
  const read = lastRead(state, cardId, folderId);
  const forced = state.cards.get(cardId)?.unread ?? null;
  const changed = changedSinceRead(state, cardId, folderId, card.updatedAt.getTime());
  if (!changed && !forced) return null;
  // What the user's own batches wrote is read (an import's card, the fields it wrote): a card of
  // her import a colleague changed since is changed for her, not new (s10 re-test V1).
  const unseen = (at: number) => at > read && !ownBatch(state, folderId, at);
  const arrived = (card.arrivedAt ?? card.createdAt).getTime();
  const fieldTimes = changed ? Object.entries(card.fieldChangedAt ?? {}).filter(([, at]) => unseen(new Date(at).getTime())) : [];
  const isNew = changed && unseen(arrived);
  const times = [...fieldTimes.map(([, at]) => new Date(at).getTime()), ...(isNew ? [arrived] : [])];
  return {
    isNew: Boolean(forced?.asNew) || isNew,
    changedFields: [...new Set([...(forced?.changedFields ?? []), ...fieldTimes.map(([key]) => key)])],
    since: forced?.since ?? new Date(times.length > 0 ? Math.min(...times) : card.updatedAt.getTime()),
  };
}

// ---------- counts ----------

/** Who counts are for: a request's actor, or a live stream's subscriber. */
type Reader = Pick<Actor, 'ability' | 'folderLevels'>;

/** Folders of the list the actor may read, by the ability, as the snapshot holds them. */
async function readableFolders(actor: Reader, folderIds: Iterable<string>): Promise<FolderDoc[]> {
  const snapshot = await accessSnapshot();
  const folders: FolderDoc[] = [];
  for (const id of folderIds) {
    const folder = snapshot.folders.get(id);
    if (folder && actor.ability.can('read', folderSubject(folder))) folders.push(folder);
  }
  return folders;
}

/** Folders counted by one aggregate (one `$or` branch each): a recount of 700 folders is two round trips. */
const FOLDERS_PER_COUNT = 500;
/** Receipts checked by one aggregate (one `$or` branch each), and forced-unread cards read by id per batch. */
const RECEIPT_BATCH = 1000;
/** The index every count reads (cards/model.ts: a folder's cards by change time), named so the planner weighs no other. */
const BY_FOLDER_AND_CHANGE = { folderId: 1, inTrash: 1, updatedAt: -1, _id: -1 } as const;

/** How many cards each `$or` branch (each within one folder) finds per folder, counted from the index keys. */
async function countPerFolder(branches: Record<string, unknown>[]): Promise<{ _id: Types.ObjectId; n: number }[]> {
  if (branches.length === 0) return [];
  return Card.aggregate<{ _id: Types.ObjectId; n: number }>([{ $match: { $or: branches } }, { $group: { _id: '$folderId', n: { $sum: 1 } } }])
    .hint(BY_FOLDER_AND_CHANGE)
    .option({ batchSize: branches.length });
}

/**
 * Unread cards per folder, for the folders given (default: every folder the actor may read), from
 * index keys alone except for cards the user marked unread:
 * - the cards changed since each folder's watermark (all of them when it has none): one `$or`
 *   branch per folder, each a key range of the `folderId, inTrash, updatedAt` index, counted per
 *   folder (an aggregate per 500 folders);
 * - less the cards the user opened since (a receipt newer than the watermark) that have not
 *   changed since: the card's key (folder, out of the trash, `updatedAt` = the receipt's time, id)
 *   is still there — one point per receipt, counted per folder by one aggregate per 1,000; a card
 *   changed, moved or trashed since has another key (a change always moves `updatedAt`);
 * - less the cards the user's own batches wrote that have not changed since: the keys of the
 *   folder at the batch's time, one range per batch receipt (a card receipt at such a time is
 *   left to it, so nothing is taken away twice);
 * - the cards marked unread: read by id (`updatedAt`, folder, trash), they count whether or not
 *   they changed.
 * With `upTo` (ms), only cards whose change time is at most that are counted («mark folder read»
 * counts what its watermark covers).
 * The cost follows the actor's folders and their own receipts, never the cards' number.
 */
export async function countUnread(actor: Reader, state: ReadState, folderIds: Iterable<string> = actor.folderLevels.keys(), upTo: number = Infinity): Promise<Map<string, number>> {
  const folders = (await readableFolders(actor, folderIds)).map((f) => String(f._id));
  const counts = new Map(folders.map((folderId) => [folderId, 0]));
  const watermarkOf = (folderId: string) => state.folders.get(folderId) ?? -Infinity;
  const changed: Record<string, unknown>[][] = [];
  for (let i = 0; i < folders.length; i += FOLDERS_PER_COUNT) {
    changed.push(
      folders.slice(i, i + FOLDERS_PER_COUNT).map((folderId) => {
        const watermark = state.folders.get(folderId);
        const range = { ...(watermark === undefined ? {} : { $gt: new Date(watermark) }), ...(upTo === Infinity ? {} : { $lte: new Date(upTo) }) };
        return { folderId: oid(folderId), inTrash: false, ...(Object.keys(range).length === 0 ? {} : { updatedAt: range }) };
      }),
    );
  }
  const unchanged: Record<string, unknown>[] = [];
  const forced: Types.ObjectId[] = [];
  for (const [cardId, receipt] of state.cards) {
    if (!counts.has(receipt.folderId)) continue;
    if (receipt.unread) forced.push(oid(cardId));
    else if (receipt.readUpTo !== null && receipt.readUpTo > watermarkOf(receipt.folderId) && receipt.readUpTo <= upTo && !ownBatch(state, receipt.folderId, receipt.readUpTo))
      unchanged.push({ folderId: oid(receipt.folderId), inTrash: false, updatedAt: new Date(receipt.readUpTo), _id: oid(cardId) });
  }
  for (const [folderId, times] of state.batches) {
    if (!counts.has(folderId)) continue;
    for (const at of times) if (at > watermarkOf(folderId) && at <= upTo) unchanged.push({ folderId: oid(folderId), inTrash: false, updatedAt: new Date(at) });
  }
  const read: Record<string, unknown>[][] = [];
  for (let i = 0; i < unchanged.length; i += RECEIPT_BATCH) read.push(unchanged.slice(i, i + RECEIPT_BATCH));
  const [changedRows, readRows] = await Promise.all([Promise.all(changed.map(countPerFolder)), Promise.all(read.map(countPerFolder))]);
  for (const { _id, n } of changedRows.flat()) counts.set(String(_id), n);
  for (const { _id, n } of readRows.flat()) counts.set(String(_id), (counts.get(String(_id)) ?? 0) - n);

  for (let i = 0; i < forced.length; i += RECEIPT_BATCH) {
    const cards = await Card.find({ _id: { $in: forced.slice(i, i + RECEIPT_BATCH) } }, { folderId: 1, inTrash: 1, updatedAt: 1 }).lean<
      Pick<CardDoc, '_id' | 'folderId' | 'inTrash' | 'updatedAt'>[]
    >();
    for (const card of cards) {
      const folderId = String(card.folderId);
      const count = counts.get(folderId);
      if (count === undefined || card.inTrash || card.updatedAt.getTime() > upTo) continue;
      // Unread whatever its change time; the range counted it if it changed since the watermark
      // and no batch receipt took it away (a forced receipt is not among the unchanged ones
      // subtracted above).
      const at = card.updatedAt.getTime();
      counts.set(folderId, count + 1 - Number(at > watermarkOf(folderId) && !ownBatch(state, folderId, at)));
    }
  }
  for (const [folderId, count] of counts) if (count === 0) counts.delete(folderId);
  return counts;
}

/**
 * A user's counts as this instance last made them, and the folders where something changed since
 * (a card event there, the user's own read action there): a question counts those folders alone,
 * and none when nothing changed — a reader of 200 folders with 50,000 unread cards asking again
 * costs no database read, where every question counted the 50,000 index keys and looked up each
 * receipt. A second after the last count of all folders ended, the next question starts one in
 * the background and is answered from the kept counts meanwhile (so an event this instance missed
 * — Redis pub/sub drops messages across a reconnect — is made good within that second and that
 * count's time, as for the read state); a question waited for that count, and under load it was
 * the tail of every second (s13: p99 64–1,032 ms at 1M cards against a p50 of 7). Counts are
 * served so up to KEPT_COUNTS_MS after such a count ended, or as long as the next one runs; older
 * ones (nobody asked meanwhile), or another view of the user's rights, are counted afresh before
 * the answer.
 */
interface KnownCounts {
  levels: Reader['folderLevels'];
  counts: Map<string, number>;
  /** By folder: when (`moment`) the count its number comes from began. */
  countedFrom: Map<string, number>;
  /** By folder: when (`moment`) something last happened there that its count may not hold. */
  changed: Map<string, number>;
  /** Counts of changed folders under way: a question joins one that began after its folders changed. */
  counting: Set<{ began: number; folderIds: ReadonlySet<string>; done: Promise<void> }>;
  /** The count of all folders under way (at most one per user), and when the last one ended (ms). */
  countingAll: Promise<void> | null;
  allCountedAt: number;
  /** The counts are the stored ones (the first question since the start) until the first count of all folders ends. */
  stored: boolean;
}

/**
 * The users' known counts, found by user and by folder: a card event marks the folders it touched
 * in the known counts of the users who read them, and looks at no one else's — with 1,000 users'
 * counts kept, an event in a folder 3 of them read costs 3 lookups, not 1,000.
 */
class KnownCountsByUser {
  private readonly byUser = new Map<string, KnownCounts>();
  private readonly byFolder = new Map<string, Set<KnownCounts>>();

  get size(): number {
    return this.byUser.size;
  }

  get(userId: string): KnownCounts | undefined {
    return this.byUser.get(userId);
  }

  set(userId: string, known: KnownCounts): void {
    this.delete(userId);
    this.byUser.set(userId, known);
    for (const folderId of known.levels.keys()) {
      const readers = this.byFolder.get(folderId);
      if (readers) readers.add(known);
      else this.byFolder.set(folderId, new Set([known]));
    }
  }

  /** Drops the user's known counts, if they are still `only` when it is given. */
  delete(userId: string, only?: KnownCounts): void {
    const known = this.byUser.get(userId);
    if (!known || (only && known !== only)) return;
    this.byUser.delete(userId);
    for (const folderId of known.levels.keys()) {
      const readers = this.byFolder.get(folderId);
      readers?.delete(known);
      if (readers?.size === 0) this.byFolder.delete(folderId);
    }
  }

  clear(): void {
    this.byUser.clear();
    this.byFolder.clear();
  }

  /** The known counts of the users who read the folder. */
  readersOf(folderId: string): Iterable<KnownCounts> {
    return this.byFolder.get(folderId) ?? [];
  }
}
const knownCounts = new KnownCountsByUser();
/** How long after a count of all folders ended the next question starts another (in the background). */
const KNOWN_COUNTS_MS = 1000;
/** How long after a count of all folders ended its counts are still served when no other runs. */
const KEPT_COUNTS_MS = 5000;
/** Orders the changes and the beginnings of counts: a count that began after a change holds it. */
let moment = 0;

/** Something changed in these folders: the counts known for this user (for every user who reads them when none is named) count them again. */
function countsChangedIn(userId: string | null, folderIds: (string | undefined)[]): void {
  for (const folderId of folderIds) {
    if (folderId === undefined) continue;
    if (userId === null) for (const known of knownCounts.readersOf(folderId)) known.changed.set(folderId, ++moment);
    else {
      const known = knownCounts.get(userId);
      if (known?.levels.has(folderId)) known.changed.set(folderId, ++moment);
    }
  }
}

onEvent('card-events', (changes) => {
  if (knownCounts.size === 0) return;
  countsChangedIn(null, [...new Set(changes.flatMap((change) => [change.folderId, change.previous?.folderId]))]);
});

/**
 * Counts these folders into the known counts. A folder keeps the number of the count that began
 * last (counts of the same folder may end in any order), and stays changed when something happened
 * there after this count began — the count may have read before it.
 */
async function countInto(known: KnownCounts, userId: string, reader: Reader, folderIds: string[], began: number): Promise<void> {
  // The read state the user's pages use (kept for a second, and changed with every read action as
  // it is written): a count reads no read state of its own.
  const fresh = await countUnread(reader, await readStateOf(userId), folderIds);
  for (const folderId of folderIds) {
    if ((known.countedFrom.get(folderId) ?? -Infinity) > began) continue;
    known.countedFrom.set(folderId, began);
    const count = fresh.get(folderId);
    if (count === undefined) known.counts.delete(folderId);
    else known.counts.set(folderId, count);
    if ((known.changed.get(folderId) ?? Infinity) < began) known.changed.delete(folderId);
  }
}

/**
 * Users whose counts of all folders this instance began since it started (their stored counts are
 * behind what it knows), with their counts as this instance last stored them (JSON) and when (ms):
 * unchanged counts are not written again, changed ones once a minute at most — however often the
 * user's known counts are dropped and counted again.
 */
const countedSinceStart = new Map<string, { storedAs: string | null; storedAt: number }>();

/** The user's counts as the last count of all folders stored them, for the folders the reader reads now; null when none are stored. */
async function storedCountsOf(userId: string, reader: Reader): Promise<Map<string, number> | null> {
  const stored = await StoredCounts.findById(userId).lean<StoredCountsDoc>();
  if (!stored) return null;
  return new Map(Object.entries(stored.counts).filter(([folderId, count]) => reader.folderLevels.has(folderId) && count > 0));
}

/** How often at most a user's changed counts are stored again (a count of all folders ends every second while they work). */
const STORE_COUNTS_EVERY_MS = 60_000;

/**
 * Stores the counts a count of all folders left, when they differ from what was stored last (at
 * most once a minute). A failed write is left alone: the stored counts only give the first question
 * after a start its answer early, and that question counts before it answers when none are stored.
 */
async function storeCounts(known: KnownCounts, userId: string): Promise<void> {
  const last = countedSinceStart.get(userId);
  if (!last || (last.storedAs !== null && Date.now() - last.storedAt < STORE_COUNTS_EVERY_MS)) return;
  const counts = Object.fromEntries([...known.counts].sort(([a], [b]) => (a < b ? -1 : 1)));
  const json = JSON.stringify(counts);
  if (json === last.storedAs) return;
  await StoredCounts.replaceOne({ _id: userId }, { counts, countedAt: new Date(known.allCountedAt) }, { upsert: true }).then(
    () => Object.assign(last, { storedAs: json, storedAt: Date.now() }),
    () => undefined,
  );
}

/** Counts all the user's folders (one such count at a time); the known counts are dropped when it fails. */
function countAll(known: KnownCounts, userId: string, reader: Reader): Promise<void> {
  if (!countedSinceStart.has(userId)) countedSinceStart.set(userId, { storedAs: null, storedAt: -Infinity });
  known.countingAll ??= countInto(known, userId, reader, [...known.levels.keys()], ++moment)
    .then(() => {
      const endedAt = (known.allCountedAt = Date.now());
      known.stored = false;
      void storeCounts(known, userId);
      const forget = () => {
        if (known.allCountedAt === endedAt && !known.countingAll) knownCounts.delete(userId, known);
      };
      setTimeout(forget, KEPT_COUNTS_MS).unref();
    })
    .catch((error: unknown) => {
      knownCounts.delete(userId, known);
      throw error;
    })
    .finally(() => (known.countingAll = null));
  return known.countingAll;
}

/** Counts the folders that changed since their count began: joining counts under way that began after the change, one more for the rest. */
async function countChanged(known: KnownCounts, userId: string, reader: Reader): Promise<void> {
  const waits = new Set<Promise<void>>();
  const rest: string[] = [];
  for (const [folderId, changedAt] of known.changed) {
    const joined = [...known.counting].find((count) => count.began > changedAt && count.folderIds.has(folderId));
    if (joined) waits.add(joined.done);
    else rest.push(folderId);
  }
  if (rest.length > 0) {
    const began = ++moment;
    const count = { began, folderIds: new Set(rest), done: countInto(known, userId, reader, rest, began) };
    known.counting.add(count);
    waits.add(count.done.finally(() => known.counting.delete(count)));
  }
  await Promise.all(waits);
}

/** Whether two views of a user's rights reach the same folders at the same levels. */
export function sameLevels(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [id, level] of a) if (b.get(id) !== level) return false;
  return true;
}

/**
 * The user's counts as far as this instance has heard at the question: the known ones with the
 * folders changed since counted again, or all counted afresh; a second after the last count of all
 * folders, one more starts in the background.
 */
async function knownOrCounted(userId: string, reader: Reader): Promise<Map<string, number>> {
  let known = knownCounts.get(userId);
  // Any change of the access structure (a library created, someone's group) gives every user new
  // levels: the kept counts stay while the user's folders and levels are the same.
  if (known && known.levels !== reader.folderLevels && sameLevels(known.levels, reader.folderLevels)) known.levels = reader.folderLevels;
  const age = known ? Date.now() - known.allCountedAt : Infinity;
  if (!known || known.levels !== reader.folderLevels || (age >= KEPT_COUNTS_MS && !known.countingAll)) {
    const first = !countedSinceStart.has(userId);
    known = {
      levels: reader.folderLevels,
      counts: new Map(),
      countedFrom: new Map(),
      changed: new Map(),
      counting: new Set(),
      countingAll: null,
      allCountedAt: -Infinity,
      stored: false,
    };
    knownCounts.set(userId, known);
    const stored = first ? await storedCountsOf(userId, reader) : null;
    if (stored) {
      // The first question since the start: the stored counts now, the count of all folders in the
      // background (cold, it reads index pages from disk: seconds at a million cards); the user's
      // streams count again when it ends.
      Object.assign(known, { counts: stored, stored: true });
      countAll(known, userId, reader).then(
        () => events.publish('reads-changed', { userId }),
        () => undefined,
      );
    } else await countAll(known, userId, reader);
  } else if (known.allCountedAt === -Infinity && !known.stored) {
    // The first count of all folders is under way: nothing is kept yet.
    await countAll(known, userId, reader);
  } else if (age >= KNOWN_COUNTS_MS) {
    // Its failure drops the known counts: the next question counts afresh and meets the error.
    countAll(known, userId, reader).catch(() => undefined);
  }
  await countChanged(known, userId, reader);
  return new Map(known.counts);
}

export interface Recount {
  state: ReadState;
  counts: Map<string, number>;
}

/**
 * A live stream's read state and all the user's counts: the counts as far as this instance has
 * heard at the question (knownOrCounted), shared with the user's requests and other streams.
 */
export async function sharedRecount(userId: string, reader: Reader): Promise<Recount> {
  const state = await readStateOf(userId);
  return { state, counts: await knownOrCounted(userId, reader) };
}

/** Unread counts of every folder the actor can read that has unread cards. */
export async function unreadCounts(actor: Actor): Promise<{ folderId: string; count: number }[]> {
  // No read state unless something is counted: counts asked again cost nothing but memory.
  const counts = await knownOrCounted(actor.userId, actor);
  return [...counts].map(([folderId, count]) => ({ folderId, count }));
}

// ---------- the user's own read actions ----------

/** Marks the card read as it is now (its current change time). */
export async function markRead(actor: Actor, card: Pick<CardDoc, '_id' | 'folderId' | 'updatedAt'>): Promise<void> {
  await Read.updateOne(
    { _id: cardReadKey(actor.userId, String(card._id)) },
    { $set: { userId: oid(actor.userId), cardId: card._id, folderId: card.folderId, readUpTo: card.updatedAt, unread: null } },
    { upsert: true },
  );
  readStateChanged({ userId: actor.userId, receipt: { cardId: String(card._id), folderId: String(card.folderId), readUpTo: card.updatedAt.toISOString(), unread: null } });
}

/** "Mark as unread": the card shows bold again, as new to the user. */
export async function markUnread(actor: Actor, card: Pick<CardDoc, '_id' | 'folderId'>): Promise<void> {
  const unread = { asNew: true, changedFields: [], since: new Date() };
  const stored = await Read.findOneAndUpdate(
    { _id: cardReadKey(actor.userId, String(card._id)) },
    { $set: { userId: oid(actor.userId), cardId: card._id, folderId: card.folderId, unread }, $setOnInsert: { readUpTo: null } },
    { upsert: true, returnDocument: 'after', projection: { readUpTo: 1 } },
  ).lean<Pick<ReadDoc, 'readUpTo'>>();
  readStateChanged({
    userId: actor.userId,
    receipt: {
      cardId: String(card._id),
      folderId: String(card.folderId),
      readUpTo: stored?.readUpTo?.toISOString() ?? null,
      unread: { ...unread, since: unread.since.toISOString() },
    },
  });
}

/**
 * "Mark folder read": the folder's watermark moves to the newest change the mark finds there (one
 * index key), not to "now": a card stamped before the mark but committed after the mark looked is
 * newer than that change, so it stays unread instead of being marked read unseen. Counted are the
 * unread cards up to the watermark, which is what the mark makes read; the folder's receipts up to
 * it go (they say nothing the watermark does not). Returns that count.
 */
export async function markFolderRead(actor: Actor, folderId: string): Promise<number> {
  const state = await readStateOf(actor.userId);
  const newest = await Card.findOne({ folderId: oid(folderId), inTrash: false }, { updatedAt: 1 })
    .sort({ updatedAt: -1, _id: -1 })
    .hint(BY_FOLDER_AND_CHANGE)
    .lean<Pick<CardDoc, 'updatedAt'>>();
  const readUpTo = Math.max(newest?.updatedAt.getTime() ?? -Infinity, state.folders.get(folderId) ?? -Infinity);
  // Nothing was ever there (out of the trash): nothing to mark, and what comes later is new.
  if (readUpTo === -Infinity) return 0;
  const before = (await countUnread(actor, state, [folderId], readUpTo)).get(folderId) ?? 0;
  const userId = oid(actor.userId);
  const watermark = new Date(readUpTo);
  await Read.bulkWrite(
    [
      {
        updateOne: {
          filter: { _id: folderReadKey(actor.userId, folderId) },
          update: { $set: { userId, folderId: oid(folderId), cardId: null, unread: null }, $max: { readUpTo: watermark } },
          upsert: true,
        },
      },
      // The folder's card and batch receipts up to the watermark (all entries but the watermark's own).
      {
        deleteMany: {
          filter: { userId, folderId: oid(folderId), _id: { $ne: folderReadKey(actor.userId, folderId) }, $or: [{ readUpTo: null }, { readUpTo: { $lte: watermark } }] },
        },
      },
    ],
    { ordered: true },
  );
  readStateChanged({ userId: actor.userId, folder: { folderId, readUpTo: watermark.toISOString() } });
  return before;
}

// ---------- card changes ----------

/**
 * Inside the card's transaction: the author has read what they wrote (one receipt, however many
 * readers the folder has), and receipts follow a card that moved. Nothing is written per reader.
 */
export async function recordOwnChange(change: CardChange, session: ClientSession): Promise<void> {
  const card = change.after;
  const moved = change.before !== null && String(change.before.folderId) !== String(card.folderId);
  await Read.bulkWrite(
    [
      {
        updateOne: {
          filter: { _id: cardReadKey(change.actor.userId, String(card._id)) },
          update: { $set: { userId: oid(change.actor.userId), cardId: card._id, folderId: card.folderId, readUpTo: card.updatedAt, unread: null } },
          upsert: true,
        },
      },
      ...(moved ? [{ updateMany: { filter: { cardId: card._id }, update: { $set: { folderId: card.folderId } } } }] : []),
    ],
    { session, ordered: true },
  );
}

/** The folders and change times a batch of the author's wrote cards at (outside the trash), each once. */
function batchStamps(changes: CardChange[]): { userId: string; folderId: string; at: Date }[] {
  const stamps = new Map<string, { userId: string; folderId: string; at: Date }>();
  for (const { actor, after } of changes) {
    if (after.inTrash) continue;
    const stamp = { userId: actor.userId, folderId: String(after.folderId), at: after.updatedAt };
    stamps.set(batchReadKey(stamp.userId, stamp.folderId, stamp.at), stamp);
  }
  return [...stamps.values()];
}

/**
 * Inside the transaction of a batch that stamps its cards with one change time (an import's, its
 * undo's): the author has read what they wrote, as a card write records it — but one batch
 * receipt per folder and change time, not a receipt per card: the read state of someone who
 * imported 100,000 cards stays a few hundred entries (it is loaded whole).
 */
export async function recordOwnBatch(changes: CardChange[], session: ClientSession): Promise<KeptUnread[]> {
  const stamps = batchStamps(changes);
  if (stamps.length === 0) return [];
  const kept = await unreadBeforeOwnBatch(changes);
  await Read.bulkWrite(
    [
      ...stamps.map(({ userId, folderId, at }) => ({
        updateOne: {
          filter: { _id: batchReadKey(userId, folderId, at) },
          update: { $set: { userId: oid(userId), folderId: oid(folderId), cardId: null, readUpTo: at, batch: true, unread: null } },
          upsert: true,
        },
      })),
      ...kept.map(({ userId, cardId, folderId, unread }) => ({
        updateOne: {
          filter: { _id: cardReadKey(userId, cardId) },
          update: { $set: { userId: oid(userId), cardId: oid(cardId), folderId: oid(folderId), unread }, $setOnInsert: { readUpTo: null } },
          upsert: true,
        },
      })),
    ],
    { session, ordered: false },
  );
  return kept;
}

/**
 * An existing card a batch of the user's changed while it was unread to them: it stays unread as
 * it was — a forced-unread receipt, as «Пометить непрочитанной» writes — since the batch receipt
 * would make the whole card read for them though they never opened it (an import overwriting
 * cards of another folder, its undo giving their values back: s10 re-test V5).
 */
export interface KeptUnread {
  userId: string;
  cardId: string;
  folderId: string;
  readUpTo: number | null;
  unread: ForcedUnread;
}

async function unreadBeforeOwnBatch(changes: CardChange[]): Promise<KeptUnread[]> {
  const kept: KeptUnread[] = [];
  for (const { actor, before, after } of changes) {
    if (!before || after.inTrash) continue;
    const state = await readStateOf(actor.userId);
    const view = unreadViewOf(state, before);
    if (!view) continue;
    const cardId = String(after._id);
    kept.push({
      userId: actor.userId,
      cardId,
      folderId: String(after.folderId),
      readUpTo: state.cards.get(cardId)?.readUpTo ?? null,
      unread: { asNew: view.isNew, changedFields: view.changedFields, since: view.since },
    });
  }
  return kept;
}

/** After a batch's commit: the author's read state takes its batch receipts, and the cards kept unread their receipts. */
export function readsAfterOwnBatch(changes: CardChange[], kept: KeptUnread[]): void {
  for (const { userId, folderId, at } of batchStamps(changes)) readStateChanged({ userId, batch: { folderId, at: at.toISOString() } });
  for (const { userId, cardId, folderId, readUpTo, unread } of kept) {
    readStateChanged({
      userId,
      receipt: { cardId, folderId, readUpTo: readUpTo === null ? null : new Date(readUpTo).toISOString(), unread: { ...unread, since: unread.since.toISOString() } },
    });
  }
}

/** After the commit: the author has read the card as they left it (the card event itself is the lifecycle's). */
export function readsAfterOwnChange(change: CardChange): void {
  const card = change.after;
  readStateChanged({ userId: change.actor.userId, receipt: { cardId: String(card._id), folderId: String(card.folderId), readUpTo: card.updatedAt.toISOString(), unread: null } });
}
