import mongoose, { Types, type ClientSession } from 'mongoose';
import { cardSubject, folderSubject, historySubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { accessSnapshot } from '../access/snapshot';
import { cardTargets, type CardValues } from '../../../card-types';
import type { CardChange } from '../cards/lifecycle';
import { Card, type CardDoc } from '../cards/model';
import { findCardType } from '../card-types/registry';
import { findCard, moveCard, shownValues, updateCard, type CardServiceContext } from '../cards/service';
import { forbidden, notFound, UserInputError } from '../errors';
import { Folder } from '../folders/models';
import { objectIdArgument, pageSize, refuseField, searchText } from '../validation';
import { entryHash, GENESIS_HASH, verifyChain, type ChainVerdict } from './chain';
import { HistoryEntry, type HistoryEntryDoc, type HistoryFieldChange } from './model';

/** The key of a move's change in history entries (see describeChanges). */
const MOVE_KEY = 'folder';

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

async function titlesOf(ids: unknown, session: ClientSession): Promise<Record<string, string> | null> {
  const list = [ids].flat().filter((id): id is string => typeof id === 'string' && Types.ObjectId.isValid(id));
  if (list.length === 0) return null;
  const cards = await Card.find({ _id: { $in: list } }, { title: 1 })
    .session(session)
    .lean();
  return Object.fromEntries(cards.map((c) => [String(c._id), c.title]));
}

/**
 * How a module that owns a field kind describes a change of such a field (the files module: the
 * versions added, removed and replaced, and the files' names); undefined for fields it does not own.
 */
export type FieldChangeDescriber = (
  change: CardChange,
  key: string,
  session: ClientSession,
) => Promise<Pick<HistoryFieldChange, 'beforeTitles' | 'afterTitles' | 'files'> | undefined>;

const describers: FieldChangeDescriber[] = [];

/** Registered at start-up (once each). */
export function registerFieldChangeDescriber(describer: FieldChangeDescriber): void {
  if (!describers.includes(describer)) describers.push(describer);
}

async function ownedDescription(change: CardChange, key: string, session: ClientSession) {
  for (const describer of describers) {
    const described = await describer(change, key, session);
    if (described) return described;
  }
  return undefined;
}

/** Field changes as history records them: label at the time, references with their titles. */
async function describeChanges(change: CardChange, session: ClientSession): Promise<HistoryFieldChange[]> {
  const described: HistoryFieldChange[] = [];
  for (const { key, before, after, label, cardIds } of change.changes) {
    const field = change.type.fields.find((f) => f.key === key);
    const owned = await ownedDescription(change, key, session);
    if (owned) {
      described.push({ key, label: field?.label ?? { ru: key, en: key }, before: before ?? null, after: after ?? null, ...owned });
      continue;
    }
    const isReference = (field !== undefined && cardTargets(field) !== undefined) || cardIds === true;
    described.push({
      key,
      label: field?.label ?? label ?? { ru: key, en: key },
      before: before ?? null,
      after: after ?? null,
      beforeTitles: isReference ? await titlesOf(before, session) : null,
      afterTitles: isReference ? await titlesOf(after, session) : null,
    });
  }
  if (change.action === 'move' && change.before) {
    const folders = await Folder.find({ _id: { $in: [change.before.folderId, change.after.folderId] } }, { name: 1 })
      .session(session)
      .lean();
    const name = (id: Types.ObjectId) => folders.find((f) => String(f._id) === String(id))?.name ?? '';
    // The folders' ids travel with their names, so that a reader who may not see one gets neither.
    described.push({
      key: MOVE_KEY,
      label: { ru: 'Папка', en: 'Folder' },
      before: name(change.before.folderId),
      after: name(change.after.folderId),
      beforeTitles: { [String(change.before.folderId)]: name(change.before.folderId) },
      afterTitles: { [String(change.after.folderId)]: name(change.after.folderId) },
    });
  }
  return described;
}

type ChainEnd = { seq: number; hash: string };

/** The chained entry of one change, after the card's last entry (none for a new card). */
async function historyEntry(change: CardChange, last: ChainEnd | null, session: ClientSession) {
  return chainedEntry(change.after, change.actor, { action: change.action, via: change.via, changes: await describeChanges(change, session) }, last);
}

/** An entry of the card's chain after `last`: what was done, by whom, hashed with the previous entry's hash. */
function chainedEntry(card: CardDoc, actor: Actor, what: { action: string; via?: CardChange['via']; changes: HistoryFieldChange[] }, last: ChainEnd | null) {
  const entry = {
    cardId: card._id,
    typeKey: card.typeKey,
    folderId: card.folderId,
    seq: (last?.seq ?? 0) + 1,
    at: new Date(),
    actorId: new Types.ObjectId(actor.userId),
    actorName: actor.fullName,
    ip: actor.ip,
    action: what.action,
    ...(what.via && { via: what.via.kind, viaId: what.via.id }),
    changes: what.changes,
    prevHash: last?.hash ?? GENESIS_HASH,
  };
  // The hash covers the entry exactly as the database keeps it: serialised once, read back, and
  // inserted as read (no schema step may drop an empty object or rewrite a string after hashing).
  const stored = mongoose.mongo.BSON.deserialize(mongoose.mongo.BSON.serialize(entry)) as typeof entry;
  return { ...stored, hash: entryHash(stored) };
}

/**
 * Appends an entry that changes no value (the files module: an earlier version of a file removed)
 * to the card's chain, inside the caller's transaction: while history is on for the card's type, or
 * when the chain has entries already (they may record what the entry accounts for). Answers whether it was recorded.
 */
export async function recordCardEvent(
  card: CardDoc,
  actor: Actor,
  what: { action: string; historyEnabled: boolean; changes: HistoryFieldChange[] },
  session: ClientSession,
): Promise<boolean> {
  const last = await HistoryEntry.findOne({ cardId: card._id }, { seq: 1, hash: 1 }).sort({ seq: -1 }).session(session).lean<ChainEnd>();
  if (!what.historyEnabled && !last) return false;
  await HistoryEntry.collection.insertOne(chainedEntry(card, actor, what, last), { session });
  return true;
}

/** Lifecycle hook (inside the card's transaction): one chained entry per change while history is on. */
export async function recordHistory(change: CardChange, session: ClientSession): Promise<void> {
  if (!change.type.historyEnabled) return;
  const last = await HistoryEntry.findOne({ cardId: change.after._id }, { seq: 1, hash: 1 }).sort({ seq: -1 }).session(session).lean<ChainEnd>();
  await HistoryEntry.collection.insertOne(await historyEntry(change, last, session), { session });
}

/**
 * The same for a batch of changes to different cards (an import): the chains' ends of the changed
 * cards in one query (new cards have none), the entries in one insert.
 */
export async function recordHistoryBatch(changes: CardChange[], session: ClientSession): Promise<void> {
  const logged = changes.filter((change) => change.type.historyEnabled);
  if (logged.length === 0) return;
  const existing = logged.filter((change) => change.before !== null).map((change) => change.after._id);
  const ends = new Map<string, ChainEnd>();
  if (existing.length > 0) {
    const rows = await HistoryEntry.find({ cardId: { $in: existing } }, { cardId: 1, seq: 1, hash: 1 })
      .session(session)
      .lean<(ChainEnd & { cardId: Types.ObjectId })[]>();
    for (const row of rows) if ((ends.get(String(row.cardId))?.seq ?? 0) < row.seq) ends.set(String(row.cardId), row);
  }
  const entries = [];
  for (const change of logged) entries.push(await historyEntry(change, ends.get(String(change.after._id)) ?? null, session));
  await HistoryEntry.collection.insertMany(entries, { session, ordered: true });
}

/** History is read by history readers (or administrators) who may read the card. */
async function readableCardForHistory(actor: Actor, cardId: string): Promise<CardDoc> {
  const card = await findCard(actor, cardId, { includeTrash: true });
  if (!card) throw notFound(actor, t(actor, 'Карточка', 'Card'));
  if (!actor.ability.can('read', historySubject(card))) {
    throw forbidden(
      actor,
      t(actor, 'чтение истории изменений (нужно быть в группе «Операторы чтения истории»)', 'reading change history (membership in “History readers” is needed)'),
    );
  }
  return card;
}

export interface HistoryFilter {
  field?: string | null;
  userId?: string | null;
  from?: Date | null;
  to?: Date | null;
  first: number;
  after?: string | null;
}

/** A card's history, newest first, filtered by field, user and period, with cursor pages. */
export async function cardHistory(actor: Actor, cardId: string, filter: HistoryFilter) {
  const card = await readableCardForHistory(actor, cardId);
  const query: Record<string, unknown> = { cardId: card._id };
  if (filter.field) query['changes.key'] = searchText(actor.locale, 'field', filter.field, 64);
  if (filter.userId) query.actorId = objectIdArgument(actor.locale, 'userId', filter.userId);
  if (filter.from || filter.to) query.at = { ...(filter.from && { $gte: filter.from }), ...(filter.to && { $lte: filter.to }) };
  const limit = pageSize(filter.first, 200);
  // The cursor is the last entry's sequence number: a positive whole number, nothing else.
  if (filter.after && !/^[1-9]\d{0,15}$/.test(filter.after)) refuseField(actor.locale, 'after', 'badCursor');
  const afterSeq = filter.after ? Number(filter.after) : null;
  const page = afterSeq ? { ...query, seq: { $lt: afterSeq } } : query;
  const [rows, totalCount] = await Promise.all([
    HistoryEntry.find(page)
      .sort({ seq: -1 })
      .limit(limit + 1)
      .lean<HistoryEntryDoc[]>(),
    HistoryEntry.countDocuments(query),
  ]);
  const edges = (await asReadBy(actor, rows.slice(0, limit))).map((node) => ({ node, cursor: String(node.seq) }));
  return { edges, totalCount, pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** A field change as one reader may see it: null titles and `…Hidden` for what is hidden from them. */
export interface ReadableFieldChange extends Omit<HistoryFieldChange, 'beforeTitles' | 'afterTitles'> {
  beforeTitles: Record<string, string | null> | null;
  afterTitles: Record<string, string | null> | null;
  beforeHidden: boolean;
  afterHidden: boolean;
}

const isMove = (entry: HistoryEntryDoc, change: HistoryFieldChange) => entry.action === 'move' && change.key === MOVE_KEY;

/**
 * Entries as the reader may see them now, whatever the writer could see then: titles of cards in
 * folders the reader cannot read (or of cards no longer there) become null, and so do the names of
 * such folders in moves («нет доступа» in the client). One query for the whole page.
 */
async function asReadBy(actor: Actor, entries: HistoryEntryDoc[]): Promise<(Omit<HistoryEntryDoc, 'changes'> & { changes: ReadableFieldChange[] })[]> {
  const cardIds = new Set(
    entries.flatMap((entry) =>
      entry.changes
        .filter((change) => !isMove(entry, change) && !change.files)
        .flatMap((change) => [...Object.keys(change.beforeTitles ?? {}), ...Object.keys(change.afterTitles ?? {})]),
    ),
  );
  const cards = cardIds.size > 0 ? await Card.find({ _id: { $in: [...cardIds].filter((id) => Types.ObjectId.isValid(id)) } }, { folderId: 1, libraryId: 1 }).lean() : [];
  const cardById = new Map(cards.map((card) => [String(card._id), card]));
  const cardVisible = (id: string) => {
    const card = cardById.get(id);
    return card ? actor.ability.can('read', cardSubject(card)) : actor.isAdmin;
  };
  // Moves recorded before folder ids were kept name no folder, and deleted folders are no longer
  // known: only administrators see those names.
  const { folders } = await accessSnapshot();
  const folderVisible = (id: string | undefined) => {
    const folder = id ? folders.get(id) : undefined;
    return folder ? actor.ability.can('read', folderSubject(folder)) : actor.isAdmin;
  };
  const withheld = (titles: Record<string, string> | null, visible: (id: string) => boolean) =>
    titles && Object.fromEntries(Object.entries(titles).map(([id, title]) => [id, visible(id) ? title : null]));
  return entries.map((entry) => ({
    ...entry,
    changes: entry.changes.map((change) => {
      // A file field's titles name the card's own files: whoever may read its history may read them.
      if (change.files) return { ...change, beforeHidden: false, afterHidden: false };
      if (!isMove(entry, change)) {
        return {
          ...change,
          beforeTitles: withheld(change.beforeTitles, cardVisible),
          afterTitles: withheld(change.afterTitles, cardVisible),
          beforeHidden: false,
          afterHidden: false,
        };
      }
      const beforeHidden = !folderVisible(Object.keys(change.beforeTitles ?? {})[0]);
      const afterHidden = !folderVisible(Object.keys(change.afterTitles ?? {})[0] ?? String(entry.folderId));
      return {
        ...change,
        before: beforeHidden ? null : change.before,
        after: afterHidden ? null : change.after,
        beforeTitles: withheld(change.beforeTitles, folderVisible),
        afterTitles: withheld(change.afterTitles, folderVisible),
        beforeHidden,
        afterHidden,
      };
    }),
  }));
}

/**
 * A check of what an intact chain records but keeps elsewhere (the files module: every file version
 * still has the SHA-256 recorded for it): the first entry whose content no longer matches, or undefined.
 */
export type RecordedContentCheck = (entries: HistoryEntryDoc[]) => Promise<Pick<ChainVerdict, 'brokenAtSeq' | 'reason'> | undefined>;

const contentChecks: RecordedContentCheck[] = [];

/** Registered at start-up (once each). */
export function registerRecordedContentCheck(check: RecordedContentCheck): void {
  if (!contentChecks.includes(check)) contentChecks.push(check);
}

export async function verifyCardHistory(actor: Actor, cardId: string): Promise<ChainVerdict> {
  const card = await readableCardForHistory(actor, cardId);
  const entries = await HistoryEntry.find({ cardId: card._id }).sort({ seq: 1 }).lean<HistoryEntryDoc[]>();
  const verdict = verifyChain(entries);
  if (!verdict.intact) return verdict;
  for (const check of contentChecks) {
    const broken = await check(entries);
    if (broken) return { intact: false, entries: entries.length, ...broken };
  }
  return verdict;
}

/**
 * The card's values at a moment, rebuilt from history: today's values with every recorded
 * change made after that moment undone, newest first — those of fields its type hides now left out.
 */
export async function cardAsOf(actor: Actor, cardId: string, at: Date): Promise<{ values: CardValues; existed: boolean; folderId: string }> {
  const card = await readableCardForHistory(actor, cardId);
  const later = await HistoryEntry.find({ cardId: card._id, at: { $gt: at } })
    .sort({ seq: -1 })
    .lean<HistoryEntryDoc[]>();
  const type = await findCardType(card.typeKey);
  // A change that is neither a field nor a stored value (a merge's «Объединена с») is no value to rebuild.
  const isValue = (key: string) => key in card.values || Boolean(type?.fields.some((field) => field.key === key));
  const values: Record<string, unknown> = { ...card.values };
  let existed = card.createdAt <= at;
  let folderId = String(card.folderId);
  for (const entry of later) {
    if (entry.action === 'create') existed = false;
    for (const change of entry.changes) {
      if (isMove(entry, change)) {
        // A move's change names the folders by id in its titles (the values are their names).
        folderId = Object.keys(change.beforeTitles ?? {})[0] ?? folderId;
        continue;
      }
      if (!isValue(change.key)) continue;
      if (change.before === null) delete values[change.key];
      else values[change.key] = change.before;
    }
  }
  // Fields hidden now keep their values out of sight here as in `Card.values` (a snapshot «as of» tomorrow is today's card).
  return { values: shownValues(type, values as CardValues), existed, folderId };
}

/**
 * Reverts fields (or the whole card) to their values as of a moment: a new change, itself
 * recorded in history, based on the version the user saw.
 */
export async function revertCard(context: CardServiceContext, cardId: string, input: { at: Date; fields?: string[] | null; version: number }) {
  const { actor } = context;
  const { values, existed, folderId } = await cardAsOf(actor, cardId, input.at);
  if (!existed) {
    const text = t(actor, 'На этот момент карточки ещё не было', 'The card did not exist at that moment');
    throw new UserInputError(text, { at: text });
  }
  const card = await findCard(actor, cardId);
  if (!card) throw notFound(actor, t(actor, 'Карточка', 'Card'));
  // All fields: those shown now (values kept under hidden fields stay as they are).
  const hidden = new Set(((await findCardType(card.typeKey))?.fields ?? []).filter((field) => field.hidden).map((field) => field.key));
  const keys = input.fields?.length ? input.fields : [...new Set([...Object.keys(card.values), ...Object.keys(values)])].filter((key) => !hidden.has(key));
  // Reverting a move (the change keyed `folder`, unless the type has a field of that key) moves
  // the card back, with the rights a move needs; the other keys are values.
  const movesBack = keys.includes(MOVE_KEY) && !(MOVE_KEY in values) && !(MOVE_KEY in card.values);
  const valueKeys = movesBack ? keys.filter((key) => key !== MOVE_KEY) : keys;
  if (movesBack && valueKeys.length === 0) return moveCard(context, cardId, { folderId, version: input.version });
  const patch = Object.fromEntries(valueKeys.map((key) => [key, values[key] ?? null]));
  const reverted = await updateCard(context, cardId, { version: input.version, values: patch }, 'revert');
  return movesBack && folderId !== String(reverted.folderId) ? moveCard(context, cardId, { folderId, version: reverted.version }) : reverted;
}
