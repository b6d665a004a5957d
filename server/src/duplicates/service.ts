import { Types, type ClientSession } from 'mongoose';
import { accessibleBy } from '@casl/mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { LEVEL_RANK } from '../access/effective-access';
import { recordAudit } from '../audit/service';
import { validateCardValues, type CardTypeDefinition, type CardValues } from '../../../card-types';
import { findCardType } from '../card-types/registry';
import { Card, type CardDoc } from '../cards/model';
import { checksEachCard, permittedCards } from '../cards/permitted';
import { findCard, findCards } from '../cards/service';
import { forbidden, notFound } from '../errors';
import { auditActorOf } from '../people/service';
import { FieldErrors, isObjectIdText, refuseField } from '../validation';
import { alikeCards, listLimit, refreshGroupsAround } from './groups';
import { DuplicateDismissal, DuplicateKey, pairKey, type DuplicateDismissalDoc, type DuplicateKeyDoc } from './model';
import { cardKeys, commonKeysAmong } from './keys';
import { rulesOf, type TypeRules } from './rules';
import type { CardChange } from '../cards/lifecycle';

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

/** Candidates a typing check looks at (among the cards the user may read). */
const CHECK_CANDIDATES = 200;

/** Administrators, and users who may edit cards in at least one folder: the «Дубликаты» view is theirs. */
export function mayHandleDuplicates(actor: Actor): boolean {
  if (actor.isAdmin) return true;
  for (const level of actor.folderLevels.values()) if (LEVEL_RANK[level] >= LEVEL_RANK.edit) return true;
  return false;
}

export function requireDuplicatesAccess(actor: Actor): void {
  if (!mayHandleDuplicates(actor))
    throw forbidden(
      actor,
      t(actor, 'работа с дубликатами (нужно право редактирования хотя бы в одной папке)', 'handling duplicates (editing rights on at least one folder are needed)'),
    );
}

/** The typed values that are already valid, in their stored form (the rest is still being typed). */
function acceptedValues(type: CardTypeDefinition, fields: Set<string>, input: Record<string, unknown>): CardValues {
  const wanted = Object.fromEntries(Object.entries(input).filter(([key]) => fields.has(key)));
  const { values, errors } = validateCardValues(type, wanted);
  return Object.fromEntries(Object.entries(values).filter(([key]) => !Object.hasOwn(errors, key) && fields.has(key)));
}

export interface SimilarCard {
  card: CardDoc;
  score: number;
  rules: { id: string; score: number }[];
  /** Labels (in the account's language) of the unique fields whose typed value this card already holds: the save will be refused. */
  refusedBy: string[];
  /** The same fields by key, for a client that names them in its interface language. */
  refusedFields: string[];
}

/** The unique fields whose typed value the card holds: a save with these values is refused. */
function uniqueClashes(type: CardTypeDefinition, values: CardValues, card: CardDoc) {
  return type.fields.filter(
    (field) => field.unique && !field.hidden && values[field.key] !== undefined && JSON.stringify(values[field.key]) === JSON.stringify(card.values[field.key]),
  );
}

/**
 * «Похожие карточки» while a card is typed: cards of the type, among those the user may read (not
 * `excludeId`, the card being edited), that a rule finds alike, best first; each says which unique
 * fields it already holds the typed value of (the save would be refused).
 */
export async function similarCards(actor: Actor, input: { typeKey: string; values: unknown; excludeId?: string | null; first: number }): Promise<SimilarCard[]> {
  const type = await findCardType(input.typeKey);
  if (!type) throw notFound(actor, t(actor, 'Тип карточки', 'Card type'));
  if (input.values === null || typeof input.values !== 'object' || Array.isArray(input.values)) refuseField(actor.locale, 'values', 'notAnObject');
  if (input.excludeId && !isObjectIdText(input.excludeId)) refuseField(actor.locale, 'excludeId', 'badId');
  const rules = await rulesOf(type.key);
  if (!rules || rules.rules.length === 0) return [];
  const unique = type.fields.filter((field) => field.unique && !field.hidden).map((field) => field.key);
  const values = acceptedValues(type, new Set([...rules.rules.flatMap((rule) => rule.fields), ...unique]), input.values as Record<string, unknown>);
  const exclude = input.excludeId ? new Types.ObjectId(input.excludeId) : undefined;
  const found = await alikeCards(type, rules, values, {
    exclude,
    find: async (filter) => (await permittedCards(actor, 'read', filter, (f) => DuplicateKey.find(f), CHECK_CANDIDATES)) as unknown as DuplicateKeyDoc[],
  });
  const shown = found.slice(0, listLimit(actor, input.first, 50));
  const cards = await Card.find({ _id: { $in: shown.map((match) => match.doc._id) }, inTrash: false }).lean<CardDoc[]>();
  const byId = new Map(cards.filter((card) => actor.ability.can('read', cardSubject(card))).map((card) => [String(card._id), card]));
  return shown.flatMap((match) => {
    const card = byId.get(String(match.doc._id));
    if (!card) return [];
    const clashes = uniqueClashes(type, values, card);
    return [{ card, score: match.score, rules: match.rules, refusedBy: clashes.map((field) => field.label[actor.locale]), refusedFields: clashes.map((field) => field.key) }];
  });
}

/**
 * «Не дубликат»: the card and each of the others are different; they are not offered together
 * again. Needs editing rights on all of them.
 */
export async function markNotDuplicates(actor: Actor, cardId: string, otherIds: string[]): Promise<boolean> {
  const errors = new FieldErrors(actor.locale);
  if (otherIds.length === 0 || otherIds.length > 100) errors.addMessage('otherIds', t(actor, 'От 1 до 100 карточек', '1 to 100 cards'));
  if (otherIds.some((id) => id.toLowerCase() === cardId.toLowerCase()))
    errors.addMessage('otherIds', t(actor, 'Карточка не может быть дубликатом самой себя', 'A card cannot duplicate itself'));
  errors.throwIfAny();
  const cards: CardDoc[] = [];
  for (const id of [cardId, ...otherIds]) {
    const card = await findCard(actor, id);
    if (!card) throw notFound(actor, t(actor, 'Карточка', 'Card'));
    cards.push(card);
  }
  if (cards.some((card) => !actor.ability.can('update', cardSubject(card)))) {
    throw forbidden(actor, t(actor, 'отметка «Не дубликат» (нужно право редактирования обеих карточек)', 'marking “Not a duplicate” (editing rights on both cards are needed)'));
  }
  const [card, ...others] = cards;
  if (others.some((other) => other.typeKey !== card.typeKey)) refuseField(actor.locale, 'otherIds', 'badId');
  const at = new Date();
  await DuplicateDismissal.bulkWrite(
    others.map((other) => ({
      updateOne: {
        filter: { _id: pairKey(card._id, other._id) },
        update: { $setOnInsert: { typeKey: card.typeKey, ...pairPlaces([card, other]), by: new Types.ObjectId(actor.userId), at } },
        upsert: true,
      },
    })),
  );
  // Who set cards apart, and which: the pair is offered to nobody again, so auditors can see it.
  await recordAudit(auditActorOf(actor), {
    kind: 'duplicates-dismissed',
    targetType: 'Card',
    targetId: String(card._id),
    summary: card.title,
    after: { notDuplicatesOf: others.map((other) => ({ id: String(other._id), title: other.title })) },
  });
  await refreshPairs(card.typeKey, cards);
  return true;
}

/** The groups around cards whose «Не дубликат» marks changed, found again at once. */
async function refreshPairs(typeKey: string, cards: CardDoc[]): Promise<void> {
  const type = await findCardType(typeKey);
  if (type)
    await refreshGroupsAround(
      type,
      await rulesOf(type.key),
      cards.map((card) => card._id),
    );
}

/** The cards of a «Не дубликат» pair in the order of its id, with their folders and libraries. */
export function pairPlaces(cards: Pick<CardDoc, '_id' | 'folderId' | 'libraryId'>[]): Pick<DuplicateDismissalDoc, 'cardIds' | 'folderId' | 'libraryId'> {
  const sorted = [...cards].sort((x, y) => (String(x._id) < String(y._id) ? -1 : 1));
  return { cardIds: sorted.map((card) => card._id), folderId: sorted.map((card) => card.folderId), libraryId: sorted.map((card) => card.libraryId) };
}

/** A «Не дубликат» mark as its list shows it: both cards (the viewer may edit them), who set it and when. */
export interface DismissalView {
  id: string;
  typeKey: string;
  cards: CardDoc[];
  by: Types.ObjectId;
  at: Date;
}

const dismissalCursor = (mark: Pick<DuplicateDismissalDoc, '_id' | 'at'>) => `${mark.at.toISOString()}_${mark._id}`;

/**
 * «Отмечены как не дубликаты»: the pairs set apart that the viewer may take back (they may edit
 * both cards; administrators all), the latest first, a page at a time (keyset on when and which).
 * Marks of cards deleted for good are gone with them; a card in the trash is listed as its page
 * shows it: to those who may restore it.
 */
export async function listDismissals(actor: Actor, options: { typeKey?: string | null; first: number; after?: string | null }) {
  requireDuplicatesAccess(actor);
  const limit = listLimit(actor, options.first, 100);
  let since = {};
  if (options.after) {
    const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)_([0-9a-f]{24}:[0-9a-f]{24})$/.exec(options.after);
    const at = match ? new Date(match[1]) : null;
    if (!match || !at || Number.isNaN(at.getTime())) refuseField(actor.locale, 'after', 'badCursor');
    since = { $or: [{ at: { $lt: at } }, { at, _id: { $gt: match[2] } }] };
  }
  const base = { ...(options.typeKey && { typeKey: options.typeKey }), ...since };
  const filter = actor.isAdmin || (await checksEachCard(actor, 'update')) ? base : { $and: [base, accessibleBy(actor.ability, 'update').ofType('Card')] };
  const found: { node: DismissalView; cursor: string }[] = [];
  let more = false;
  const cursor = DuplicateDismissal.find(filter)
    .sort({ at: -1, _id: 1 })
    .lean<DuplicateDismissalDoc[]>()
    .batchSize(limit + 1)
    .cursor();
  try {
    for await (const mark of cursor as AsyncIterable<DuplicateDismissalDoc>) {
      const places = (mark.folderId ?? []).map((folderId, at) => ({ folderId, libraryId: mark.libraryId![at] }));
      if (places.length !== 2 || !places.every((place) => actor.ability.can('update', cardSubject(place)))) continue;
      // Cards in the trash as the card pages show them: to those who may restore them (or merged ones).
      const cards = await findCards(actor, mark.cardIds!.map(String), { includeTrash: true });
      if (cards.length !== 2 || !cards.every((card) => actor.ability.can('update', cardSubject(card)))) continue;
      if (found.length >= limit) {
        more = true;
        break;
      }
      found.push({
        node: { id: mark._id, typeKey: mark.typeKey, cards: pairPlaces(cards).cardIds!.map((id) => cards.find((card) => card._id.equals(id))!), by: mark.by, at: mark.at },
        cursor: dismissalCursor(mark),
      });
    }
  } finally {
    await cursor.close();
  }
  return { edges: found, pageInfo: { hasNextPage: more, endCursor: found.at(-1)?.cursor ?? null } };
}

/**
 * Takes a «Не дубликат» mark back: the two cards are offered together again at once (their groups
 * are found again now). Needs editing rights on both; audited.
 */
export async function undoDismissal(actor: Actor, id: string): Promise<boolean> {
  requireDuplicatesAccess(actor);
  const notFoundMark = () => notFound(actor, t(actor, 'Отметка «Не дубликат»', 'The “Not a duplicate” mark'));
  if (!/^[0-9a-f]{24}:[0-9a-f]{24}$/.test(id)) refuseField(actor.locale, 'id', 'badId');
  const mark = await DuplicateDismissal.findById(id).lean<DuplicateDismissalDoc>();
  if (!mark) throw notFoundMark();
  const cards: CardDoc[] = [];
  for (const cardId of id.split(':')) {
    // A card of the pair in the trash is listed with its mark, and the mark can be taken back.
    const card = await findCard(actor, cardId, { includeTrash: true });
    if (!card) throw notFoundMark();
    cards.push(card);
  }
  if (cards.some((card) => !actor.ability.can('update', cardSubject(card)))) {
    throw forbidden(
      actor,
      t(actor, 'снятие отметки «Не дубликат» (нужно право редактирования обеих карточек)', 'taking back “Not a duplicate” (editing rights on both cards are needed)'),
    );
  }
  const removed = await DuplicateDismissal.deleteOne({ _id: id });
  if (removed.deletedCount === 0) throw notFoundMark();
  await recordAudit(auditActorOf(actor), {
    kind: 'duplicates-dismissal-undone',
    targetType: 'Card',
    targetId: String(cards[0]._id),
    summary: cards[0].title,
    before: { notDuplicatesOf: [{ id: String(cards[1]._id), title: cards[1].title }], markedBy: String(mark.by), markedAt: mark.at.toISOString() },
  });
  await refreshPairs(mark.typeKey, cards);
  return true;
}

/** A card moved: the «Не дубликат» marks of it keep its new folder and library (so that the right people list them). */
export async function placeDismissalsOf(card: Pick<CardDoc, '_id' | 'folderId' | 'libraryId'>, session: ClientSession): Promise<void> {
  const marks = await DuplicateDismissal.find({ cardIds: card._id }, { cardIds: 1, folderId: 1, libraryId: 1 }, { session }).lean<DuplicateDismissalDoc[]>();
  for (const mark of marks) {
    const at = mark.cardIds!.findIndex((id) => id.equals(card._id));
    const folderId = [...mark.folderId!];
    const libraryId = [...mark.libraryId!];
    folderId[at] = card.folderId;
    libraryId[at] = card.libraryId;
    await DuplicateDismissal.updateOne({ _id: mark._id }, { $set: { folderId, libraryId } }, { session });
  }
}

/**
 * A «Не дубликат» mark lapses by itself when a later edit makes the pair the same by an exact rule
 * (INN, phone, e-mail): the edited card gained an exact key, not a common one, that the other card of a mark holds.
 * The mark goes inside the edit's transaction, audited as the editor's (`duplicates-dismissal-lapsed`),
 * and the refresh after the commit offers the pair again. A mark set while the pair already shared
 * such a value stays (nothing new made them alike).
 */
export async function lapseDismissals(items: { change: CardChange; rules: TypeRules }[], session: ClientSession): Promise<void> {
  const edited = items.filter(({ change }) => change.before && !change.after.inTrash);
  if (edited.length === 0) return;
  const marks = await DuplicateDismissal.find({ cardIds: { $in: edited.map(({ change }) => change.after._id) } }, null, { session }).lean<DuplicateDismissalDoc[]>();
  if (marks.length === 0) return;
  const gained = new Map<string, { change: CardChange; keys: string[] }>();
  for (const { change, rules } of edited) {
    if (!marks.some((mark) => mark.cardIds?.some((id) => id.equals(change.after._id)))) continue;
    const had = new Set(cardKeys(change.type, rules, change.before!.values).exact);
    const added = cardKeys(change.type, rules, change.after.values).exact.filter((key) => !had.has(key));
    // A common value (a switchboard many cards give) makes no pair the same.
    const common = await commonKeysAmong(change.type.key, added, session);
    const keys = added.filter((key) => !common.has(key));
    if (keys.length > 0) gained.set(String(change.after._id), { change, keys });
  }
  for (const mark of marks) {
    const pair = (mark.cardIds ?? []).map(String);
    const changed = pair.find((id) => gained.has(id));
    const other = pair.find((id) => id !== changed);
    const entry = changed === undefined ? undefined : gained.get(changed);
    if (!entry || other === undefined) continue;
    const shared = await DuplicateKey.findOne({ _id: new Types.ObjectId(other), keys: { $in: entry.keys } }, { keys: 1 }, { session }).lean<Pick<DuplicateKeyDoc, 'keys'>>();
    if (!shared) continue;
    const sameBy = [...new Set(entry.keys.filter((key) => shared.keys.includes(key)).map((key) => key.slice(0, key.indexOf('='))))];
    const removed = await DuplicateDismissal.deleteOne({ _id: mark._id }, { session });
    if (removed.deletedCount === 0) continue;
    const otherCard = await Card.findById(other, { title: 1 }, { session }).lean<Pick<CardDoc, 'title'>>();
    const { change } = entry;
    await recordAudit(
      auditActorOf(change.actor),
      {
        kind: 'duplicates-dismissal-lapsed',
        targetType: 'Card',
        targetId: String(change.after._id),
        summary: change.after.title,
        before: { notDuplicatesOf: [{ id: other, title: otherCard?.title ?? '' }], markedBy: String(mark.by), markedAt: mark.at.toISOString() },
        // The exact rules (their ids) the pair now matches by.
        after: { sameBy },
      },
      session,
    );
  }
}
