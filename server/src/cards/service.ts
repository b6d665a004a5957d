import mongoose, { Types, type ClientSession } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import {
  conformValues,
  kindOf,
  ownValue,
  renderTitle,
  searchIndexOf,
  validateCardValues,
  type CardTypeDefinition,
  type CardValues,
  type FieldDefinition,
} from '../../../card-types';
import { findCardType, findCurrentCardType, uniqueIndexName } from '../card-types/registry';
import { AppError, forbidden, notFound } from '../errors';
import { message } from '../i18n';
import { findFolder, registerFolderUsageCheck, registerLibraryChangeStep } from '../folders/service';
import { recordAudit } from '../audit/service';
import { User } from '../people/models';
import { auditActorOf } from '../people/service';
import type { Logger } from '../logger';
import { FieldErrors, isDuplicateKeyError, refuseField } from '../validation';
import {
  diffValues,
  runAfterCommit,
  runAfterCommitBatch,
  runAfterPurge,
  runBeforePurge,
  runBeforeSave,
  runBeforeSaveBatch,
  runCheckMove,
  runRestore,
  runCheckValues,
  type CardAction,
  type CardChange,
  type ChangeSource,
  type FieldChange,
} from './lifecycle';
import { cardsInOrderWithinBudget } from './budget';
import { findInOneReply } from './find-in-one-reply';
import { Card, WITHOUT_SEARCH_FIELDS, type CardDoc } from './model';
import { pluginFieldErrors } from './plugins';
import { withPendingTypeChange } from './type-rewrite';

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

// A folder holding cards (outside the trash) is not empty and cannot be deleted.
const folderHoldsCards = async (folderId: Types.ObjectId) => Boolean(await Card.exists({ folderId, inTrash: false }));
// A folder moved to another library takes its cards' library with it (library conditions in
// permissions and the library filter of search read it).
const cardsFollowFolders = async (folderIds: Types.ObjectId[], libraryId: Types.ObjectId, session: ClientSession) => {
  await Card.updateMany({ folderId: { $in: folderIds } }, { $set: { libraryId } }, { session });
};

/** What cards mean to folders (deleting, moving between libraries); registered at start-up. */
export function registerCardFolderSteps(): void {
  registerFolderUsageCheck(folderHoldsCards);
  registerLibraryChangeStep(cardsFollowFolders);
}

export interface CardServiceContext {
  actor: Actor;
  logger: Logger;
}

export async function cardTypeOrFail(actor: Actor, key: string, { current = false }: { current?: boolean } = {}): Promise<CardTypeDefinition> {
  const type = current ? await findCurrentCardType(key) : await findCardType(key);
  if (!type) throw notFound(actor, t(actor, 'Тип карточки', 'Card type'));
  return type;
}

/** The type a card write checks values against: its stored revision, even just after another instance saved it. */
export const writtenCardType = (actor: Actor, key: string): Promise<CardTypeDefinition> => cardTypeOrFail(actor, key, { current: true });

/**
 * Whether the actor may see this card: read access to its folder, and full access to see it in the
 * trash (when asked) — except a card merged into another, which whoever reads its folder may still
 * open («объединена с …» and the link; the trash list and restoring stay with full access).
 */
function visible(actor: Actor, card: CardDoc, includeTrash: boolean): boolean {
  if (!actor.ability.can('read', cardSubject(card))) return false;
  return !card.inTrash || (includeTrash && (Boolean(card.mergedInto) || actor.ability.can('delete', cardSubject(card))));
}

export async function findCard(actor: Actor, id: string, { includeTrash = false } = {}): Promise<CardDoc | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  // By id, then the ability on the card's folder: one lookup, whatever the actor may read.
  const card = await Card.findById(id).lean<CardDoc>();
  return card && visible(actor, card, includeTrash) ? card : null;
}

/**
 * Cards by id in the order asked as far as a reply's budget goes (./budget): `found[i]` is the card
 * of `ids[i]`, or null where `findCard` would answer null; the caller goes on from `ids[found.length]`.
 */
export async function findCardsWithinBudget(
  actor: Actor,
  ids: readonly Types.ObjectId[],
  { includeTrash = false, projection = WITHOUT_SEARCH_FIELDS as Record<string, 0> } = {},
): Promise<(CardDoc | null)[]> {
  const found = (await cardsInOrderWithinBudget(ids, projection)) as (CardDoc | null)[];
  return found.map((card) => (card && visible(actor, card, includeTrash) ? card : null));
}

/** Cards by id in one query, in the order asked, leaving out those `findCard` would answer null. */
export async function findCards(actor: Actor, ids: readonly string[], { includeTrash = false, projection = WITHOUT_SEARCH_FIELDS as Record<string, 0> } = {}): Promise<CardDoc[]> {
  const valid = ids.filter((id) => Types.ObjectId.isValid(id));
  // Read as the folder's page reads its rows (findInOneReply): through the driver, the ids cast here
  // as mongoose would, without the search's fields (or what `projection` leaves out).
  const found = (await findInOneReply({ filter: { _id: { $in: valid.map((id) => new Types.ObjectId(id)) } }, projection, limit: valid.length })) as CardDoc[];
  const cards = new Map(found.map((card) => [String(card._id), card]));
  return valid.map((id) => cards.get(id.toLowerCase())).filter((card): card is CardDoc => card !== undefined && visible(actor, card, includeTrash));
}

/** The keys of a type's hidden fields, per definition (a definition is never changed once loaded). */
const hiddenKeysOf = new WeakMap<CardTypeDefinition, Set<string>>();
const NO_KEYS = new Set<string>();

function hiddenKeys(type: CardTypeDefinition | null): Set<string> {
  if (!type) return NO_KEYS;
  let keys = hiddenKeysOf.get(type);
  if (!keys) {
    keys = new Set((type.fields ?? []).filter((field) => field.hidden === true).map((field) => field.key));
    hiddenKeysOf.set(type, keys);
  }
  return keys;
}

const partition = (type: CardTypeDefinition | null, values: CardValues, hidden: boolean): CardValues => {
  const keys = hiddenKeys(type);
  if (keys.size === 0) return hidden ? {} : { ...values };
  return Object.fromEntries(Object.entries(values).filter(([key]) => keys.has(key) === hidden));
};

/** A card's values as readers see them: those of hidden (removed) fields left out. */
export const shownValues = (type: CardTypeDefinition | null, values: CardValues): CardValues => partition(type, values, false);

/** The values kept under a type's hidden fields (shown to administrators only). */
export const keptValues = (type: CardTypeDefinition | null, values: CardValues): CardValues => partition(type, values, true);

async function cardOrFail(actor: Actor, id: string, options?: { includeTrash?: boolean }): Promise<CardDoc> {
  const card = await findCard(actor, id, options);
  if (!card) throw notFound(actor, t(actor, 'Карточка', 'Card'));
  return card;
}

/**
 * The card an edit or a move is about. One a colleague has just put in the trash (an import's undo,
 * a delete) is not «not found» to whoever may edit it: the edit is refused saying where the card
 * went and by whom, so the user knows what to do with what they typed (s14 attack A5). Anyone else
 * learns nothing of a card in the trash (s14 re-attack B1).
 */
async function cardToChange(actor: Actor, id: string): Promise<CardDoc> {
  const card = Types.ObjectId.isValid(id) ? await Card.findById(id).lean<CardDoc>() : null;
  if (card?.inTrash && actor.ability.can('update', cardSubject(card))) throw await trashedMeanwhile(actor, card);
  if (!card || !visible(actor, card, false)) throw notFound(actor, t(actor, 'Карточка', 'Card'));
  return card;
}

async function trashedMeanwhile(actor: Actor, card: CardDoc): Promise<AppError> {
  const by = card.trashedBy ? await User.findById(card.trashedBy, { fullName: 1 }).lean() : null;
  const who = by?.fullName ? ` (${by.fullName})` : '';
  return new AppError(
    'CONFLICT',
    t(
      actor,
      `Карточку «${card.title}» перенесли в корзину${who}: ваши изменения не сохранены. Верните её из корзины и повторите правку`,
      `The card “${card.title}” was moved to the trash${who}: your changes are not saved. Restore it from the trash and make them again`,
    ),
    { trashed: true },
  );
}

/** Ids a reference or user field holds, as a list. */
const idsOf = (value: CardValues[string] | undefined): string[] => (value === undefined ? [] : [value].flat().map(String));

/**
 * The cards and users that references name, looked up for many cards' values at once (an import's
 * batch of rows): one `$in` over the cards of the fields' target types and one over the users, so
 * that checking each card's references asks the database nothing more.
 */
export interface KnownReferences {
  /** Ids looked up (found or not). */
  asked: Set<string>;
  /** Cards found among them: of a target type, outside the trash. */
  cards: Map<string, Pick<CardDoc, 'typeKey' | 'folderId' | 'libraryId'>>;
  users: Set<string>;
}

const referenceFields = (type: CardTypeDefinition) =>
  type.fields.flatMap((field) => {
    const link = kindOf(field).link;
    return link && link.to !== 'file' ? [{ field, link }] : [];
  });

/** Looks up what the reference fields of these values (as submitted or as stored) name. */
export async function lookUpReferences(type: CardTypeDefinition, valuesList: Record<string, unknown>[]): Promise<KnownReferences> {
  const cardIds = new Set<string>();
  const userIds = new Set<string>();
  const targets = new Set<string>();
  for (const { field, link } of referenceFields(type)) {
    if (link.to === 'card') for (const target of link.targets(field)) targets.add(target);
    const into = link.to === 'user' ? userIds : cardIds;
    for (const values of valuesList) for (const id of idsOf(values[field.key] as CardValues[string] | undefined)) if (Types.ObjectId.isValid(id)) into.add(id);
  }
  const [cards, users] = await Promise.all([
    cardIds.size > 0 ? Card.find({ _id: { $in: [...cardIds] }, typeKey: { $in: [...targets] }, inTrash: false }, { typeKey: 1, folderId: 1, libraryId: 1 }).lean<CardDoc[]>() : [],
    userIds.size > 0 ? User.find({ _id: { $in: [...userIds] } }, { _id: 1 }).lean<{ _id: Types.ObjectId }[]>() : [],
  ]);
  return {
    asked: new Set([...cardIds, ...userIds]),
    cards: new Map(cards.map((card) => [String(card._id), card])),
    users: new Set(users.map((user) => String(user._id))),
  };
}

/**
 * Referenced cards must exist, be of a target type, be outside the trash and be readable by the
 * author; users must exist. Only what the change adds is checked: references the card already
 * holds stay as they are, even when their card went to the trash or out of the author's sight.
 * (Files are checked by the files module's `checkValues` hook.) With `known` covering the added
 * ids (an import's batch looked them up at once) nothing is asked; otherwise they are looked up.
 */
async function checkReferences(actor: Actor, type: CardTypeDefinition, values: CardValues, previous: CardValues, errors: FieldErrors, known?: KnownReferences): Promise<void> {
  const added = referenceFields(type).flatMap(({ field, link }) => {
    const kept = new Set(idsOf(ownValue(previous, field.key)));
    const ids = idsOf(ownValue(values, field.key)).filter((id) => !kept.has(id) && Types.ObjectId.isValid(id));
    return ids.length > 0 ? [{ field, link, ids }] : [];
  });
  if (added.length === 0) return;
  const covered = known && added.every(({ ids }) => ids.every((id) => known.asked.has(id)));
  const found = covered ? known : await lookUpReferences(type, [Object.fromEntries(added.map(({ field, ids }) => [field.key, ids]))]);
  for (const { field, link, ids } of added) {
    if (link.to === 'user') {
      if (!ids.every((id) => found.users.has(id))) errors.add(field.key, 'notFound', { what: t(actor, 'Пользователь', 'User') });
      continue;
    }
    const targets = link.targets(field);
    const readable = (id: string) => {
      const card = found.cards.get(id);
      return card !== undefined && targets.includes(card.typeKey) && actor.ability.can('read', cardSubject(card));
    };
    if (!ids.every(readable)) errors.add(field.key, 'notFound', { what: t(actor, 'Карточка', 'Card') });
  }
}

/** The `values` argument: an object of field values, or a refusal naming it (never a string taken letter by letter). */
function valuesObject(actor: Actor, values: unknown): Record<string, unknown> {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) refuseField(actor.locale, 'values', 'notAnObject');
  return values as Record<string, unknown>;
}

/**
 * The values of a card checked against its type, its plugins, the lifecycle hooks and (for what
 * changed) its references. `folderId` is the folder of a card being created (an edited card's own otherwise);
 * `takenFrom`, in a merge, the cards merged into `before`, whose files it may take over.
 */
export async function validated(
  actor: Actor,
  type: CardTypeDefinition,
  input: Record<string, unknown>,
  action: CardAction,
  before?: CardDoc,
  touched?: ReadonlySet<string>,
  folderId?: string,
  references?: KnownReferences,
  takenFrom?: readonly CardDoc[],
): Promise<CardValues> {
  const { values, errors: fieldErrors } = validateCardValues(type, input, { locale: actor.locale, applyDefaults: action === 'create', touched, stored: before?.values });
  const errors = new FieldErrors(actor.locale);
  for (const [key, text] of Object.entries(fieldErrors)) errors.addMessage(key, text);
  // Plugins see the submitted values their field's kind accepted (never, say, an object where text belongs).
  const accepted = Object.fromEntries(Object.entries(input).filter(([key]) => !Object.hasOwn(fieldErrors, key)));
  const pluginErrors = await pluginFieldErrors({ cardType: type, values: accepted, action, cardId: before && String(before._id), locale: actor.locale });
  for (const [key, text] of Object.entries(pluginErrors)) errors.addMessage(key, text);
  if (Object.keys(fieldErrors).length === 0) {
    await checkReferences(actor, type, values, before?.values ?? {}, errors, references);
    const hookErrors = await runCheckValues({ actor, type, action, card: before ?? null, folderId: folderId ?? (before ? String(before.folderId) : ''), values, takenFrom });
    for (const [key, text] of Object.entries(hookErrors)) errors.addMessage(key, text);
  }
  errors.throwIfAny();
  return values;
}

/** A unique value another card holds: that card by title when the actor may read it (`holder`), otherwise only that one exists. */
export function takenValueMessage(actor: Actor, holder: Pick<CardDoc, 'title'> | null): string {
  return holder
    ? t(actor, `Такое значение уже есть в карточке «${holder.title}»`, `The card “${holder.title}” already has this value`)
    : t(actor, 'Такое значение уже есть в другой карточке', 'Another card already has this value');
}

/**
 * Turns the unique index's duplicate key error into a message at the field. Given `holder` (the
 * card that already has the value, which the actor may read) the message names it and
 * `extensions.sameValue` carries it by field ({id, title, folderId}) for a link; otherwise it only
 * says another card has it.
 */
export function uniqueViolation(actor: Actor, type: CardTypeDefinition, error: unknown, holder: CardDoc | null = null): AppError | null {
  if (!isDuplicateKeyError(error)) return null;
  const field = uniqueFieldOf(type, error);
  const fieldMessage = takenValueMessage(actor, holder);
  const sameValue = holder && field ? { [field.key]: { id: String(holder._id), title: holder.title, folderId: String(holder.folderId) } } : undefined;
  return new AppError('BAD_USER_INPUT', message(actor.locale, 'invalidInput'), { fields: { [field?.key ?? 'values']: fieldMessage }, ...(sameValue ? { sameValue } : {}) });
}

const uniqueFieldOf = (type: CardTypeDefinition, error: unknown): FieldDefinition | undefined => {
  const text = String((error as Error).message);
  return type.fields.find((f) => text.includes(uniqueIndexName(type.key, f.key)));
};

/**
 * The duplicate key error of a card's own write, naming the card that holds the value when the
 * actor may read it. The lookup is the unique index's own key (type and value): one index read.
 */
async function uniqueViolationOfCard(actor: Actor, type: CardTypeDefinition, values: CardValues, self: Types.ObjectId | null, error: unknown): Promise<AppError | null> {
  if (!isDuplicateKeyError(error)) return null;
  const field = uniqueFieldOf(type, error);
  const value = field ? ownValue(values, field.key) : undefined;
  const holder =
    field && value !== undefined
      ? await Card.findOne(
          { typeKey: type.key, inTrash: false, [`values.${field.key}`]: { $in: [value].flat() }, ...(self ? { _id: { $ne: self } } : {}) },
          { folderId: 1, libraryId: 1, title: 1 },
        ).lean<CardDoc>()
      : null;
  return uniqueViolation(actor, type, error, holder && actor.ability.can('read', cardSubject(holder)) ? holder : null);
}

/** What a card's stored form derives from its values: its title and search index. */
export function derived(type: CardTypeDefinition, values: CardValues, locale: Actor['locale']) {
  const title = renderTitle(type, values, locale);
  return { title, ...searchIndexOf(type, title, values) };
}

/** Runs a card write in a transaction with its lifecycle hooks; after-commit hooks follow. */
async function commitChange(
  context: CardServiceContext,
  type: CardTypeDefinition,
  action: CardAction,
  before: CardDoc | null,
  values: CardValues,
  write: (session: ClientSession) => Promise<CardDoc>,
): Promise<CardDoc> {
  let change: CardChange | undefined;
  try {
    await mongoose.connection.transaction(async (session) => {
      const after = await write(session);
      change = { action, actor: context.actor, type, before, after, changes: diffValues(before?.values ?? {}, after.values) };
      await runBeforeSave(change, session);
    });
  } catch (error) {
    throw (await uniqueViolationOfCard(context.actor, type, values, before?._id ?? null, error)) ?? error;
  }
  if (!change) throw new Error('transaction finished without a change');
  await runAfterCommit(change, (name, error) => context.logger.error({ err: error, hook: name }, 'after-commit hook failed'));
  return change.after;
}

/** One card's part of a batch: its type, what the change is, the card before (null when new) and after. */
export interface BatchedCardWrite {
  type: CardTypeDefinition;
  action: CardAction;
  before: CardDoc | null;
  after: CardDoc;
  /** Changes that are not field values (what a merge joined), recorded beside the field changes. */
  extraChanges?: FieldChange[];
}

/**
 * Many cards written in one transaction (a batch of an import or of its undo, a merge with the references it re-points): `write` makes the
 * writes inside it and says what each did; the lifecycle's hooks run for all of them in their batch
 * form (history, read receipts …), `alsoInside` adds the caller's own records, and the after-commit
 * hooks and card events follow once it is durable. All or nothing. With `afterCommit`, the
 * after-commit hooks are not awaited: their promise (which never rejects) is handed to it, so that
 * the caller can prepare its next batch meanwhile.
 */
export async function commitCardBatch(
  context: CardServiceContext,
  write: (session: ClientSession) => Promise<BatchedCardWrite[]>,
  options: {
    via?: ChangeSource;
    alsoInside?: (changes: CardChange[], session: ClientSession) => Promise<void>;
    afterCommit?: (done: Promise<void>) => void;
    /** A job's batch: its run's claim on the job, made first in the transaction (`JobContext.holdJob`). */
    heldJob?: (session: ClientSession) => Promise<void>;
    /**
     * A job's batch: its run's signal. Aborted while the batch is written (a cancel, a stop), the
     * transaction is rolled back instead of committed: nothing of the batch is written (s14 user U3).
     */
    signal?: AbortSignal;
  } = {},
): Promise<CardChange[]> {
  let changes: CardChange[] = [];
  await mongoose.connection.transaction(async (session) => {
    await options.heldJob?.(session);
    const writes = await write(session);
    options.signal?.throwIfAborted();
    changes = writes.map(({ type, action, before, after, extraChanges }) => ({
      action,
      actor: context.actor,
      type,
      before,
      after,
      changes: [...diffValues(before?.values ?? {}, after.values), ...(extraChanges ?? [])],
      via: options.via,
    }));
    await runBeforeSaveBatch(changes, session);
    await options.alsoInside?.(changes, session);
    options.signal?.throwIfAborted();
  });
  const hooks = runAfterCommitBatch(changes, (name, error) => context.logger.error({ err: error, hook: name }, 'after-commit hook failed'));
  if (options.afterCommit) options.afterCommit(hooks.catch((error: unknown) => context.logger.error({ err: error }, 'after-commit hooks failed')));
  else await hooks;
  return changes;
}

/** The stored form of a new card of a type in a folder, as createCard writes it: complete, so it can be inserted as it is. */
export function newCardDocument(actor: Actor, type: CardTypeDefinition, folder: { _id: Types.ObjectId; libraryId: Types.ObjectId }, values: CardValues, now: Date) {
  return {
    _id: new Types.ObjectId(),
    typeKey: type.key,
    folderId: folder._id,
    libraryId: folder.libraryId,
    values,
    ...derived(type, values, 'ru'),
    version: 1,
    createdBy: new Types.ObjectId(actor.userId),
    updatedBy: new Types.ObjectId(actor.userId),
    createdAt: now,
    updatedAt: now,
    arrivedAt: now,
    inTrash: false,
    trashedAt: null,
    trashedBy: null,
  };
}

/** The $set of an update to these values, as updateCard writes it (title, search index, changed fields' times). */
export function updatedCardFields(actor: Actor, type: CardTypeDefinition, before: CardValues, values: CardValues, now: Date) {
  const changedAt = Object.fromEntries(diffValues(before, values).map((change) => [`fieldChangedAt.${change.key}`, now]));
  return { values, ...derived(type, values, 'ru'), ...changedAt, updatedBy: new Types.ObjectId(actor.userId), updatedAt: now };
}

// ---------- create / update ----------

export async function createCard(context: CardServiceContext, input: { folderId: string; typeKey: string; values: Record<string, unknown> }): Promise<CardDoc> {
  const { actor } = context;
  const folder = await findFolder(actor, input.folderId);
  if (!folder) throw notFound(actor, t(actor, 'Папка', 'Folder'));
  if (!actor.ability.can('create', cardSubject({ folderId: folder._id, libraryId: folder.libraryId })))
    throw forbidden(actor, t(actor, 'создание карточек в этой папке', 'creating cards in this folder'));
  const type = await writtenCardType(actor, input.typeKey);
  if (folder.allowedCardTypes.length > 0 && !folder.allowedCardTypes.includes(type.key)) {
    const errors = new FieldErrors(actor.locale);
    errors.addMessage('typeKey', t(actor, `В этой папке нельзя создавать карточки типа «${type.names.ru}»`, `Cards of type “${type.names.en}” cannot be created in this folder`));
    errors.throwIfAny();
  }
  const values = await validated(actor, type, valuesObject(actor, input.values), 'create', undefined, undefined, String(folder._id));
  const now = new Date();
  return commitChange(context, type, 'create', null, values, async (session) => {
    const [card] = await Card.create([newCardDocument(actor, type, folder, values, now)], { session });
    return card.toObject() as CardDoc;
  });
}

/** The CONFLICT error: someone saved first; carries their values and who they are. */
export async function conflict(actor: Actor, id: string): Promise<AppError> {
  const current = await Card.findById(id).lean<CardDoc>();
  if (current?.inTrash) return trashedMeanwhile(actor, current);
  const author = current ? await User.findById(current.updatedBy, { fullName: 1 }).lean() : null;
  const type = current && (await findCardType(current.typeKey));
  return new AppError('CONFLICT', t(actor, 'Карточку уже изменил другой пользователь', 'Someone else changed this card first'), {
    current: current && {
      version: current.version,
      values: shownValues(type, current.values),
      title: current.title,
      updatedAt: current.updatedAt.toISOString(),
      updatedBy: author?.fullName ?? '',
    },
  });
}

/**
 * A card's values with changed fields applied (a value, or null to empty it), checked as a whole:
 * the patch's keys are what the edit touches (a field required for new and edited cards only binds
 * it when touched). Values of removed (hidden) fields are kept as they are, out of the check; a value
 * sent for one is refused.
 */
export async function patchedValues(
  actor: Actor,
  type: CardTypeDefinition,
  card: CardDoc,
  patch: Record<string, unknown>,
  action: CardAction,
  references?: KnownReferences,
): Promise<CardValues> {
  // A map, so that any key a client sends (even "__proto__") stays a plain key and is reported as unknown.
  const merged = new Map<string, unknown>(Object.entries(shownValues(type, card.values)));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) merged.delete(key);
    else merged.set(key, value);
  }
  const touched = new Set(Object.keys(patch));
  return { ...(await validated(actor, type, Object.fromEntries(merged), action, card, touched, undefined, references)), ...keptValues(type, card.values) };
}

/**
 * Applies changed fields (a value, or null to empty it) on top of the version the user edited.
 * An old version fails with CONFLICT instead of overwriting someone else's change.
 */
export async function updateCard(
  context: CardServiceContext,
  id: string,
  input: { version: number; values: Record<string, unknown> },
  action: CardAction = 'update',
): Promise<CardDoc> {
  const { actor } = context;
  const card = await cardToChange(actor, id);
  if (!actor.ability.can('update', cardSubject(card))) throw forbidden(actor, t(actor, 'изменение карточки', 'changing the card'));
  if (card.version !== input.version) throw await conflict(actor, id);
  const type = await writtenCardType(actor, card.typeKey);
  // While a change of the type is being applied, the edit starts from the card as the change leaves it.
  const values = await patchedValues(actor, type, await withPendingTypeChange(type.key, card), valuesObject(actor, input.values), action);
  if (diffValues(card.values, values).length === 0) return card;
  const now = new Date();
  return commitChange(context, type, action, card, values, async (session) => {
    const updated = await Card.findOneAndUpdate(
      { _id: card._id, version: input.version },
      { $set: updatedCardFields(actor, type, card.values, values, now), $inc: { version: 1 } },
      { session, returnDocument: 'after', lean: true, timestamps: false },
    );
    if (!updated) throw await conflict(actor, id);
    return updated as unknown as CardDoc;
  });
}

/** Moves a card to another folder: editing rights on both folders, and the type allowed there. */
export async function moveCard(context: CardServiceContext, id: string, input: { folderId: string; version: number }): Promise<CardDoc> {
  const { actor } = context;
  const card = await cardToChange(actor, id);
  const target = await findFolder(actor, input.folderId);
  if (!target) throw notFound(actor, t(actor, 'Папка', 'Folder'));
  if (!actor.ability.can('update', cardSubject(card)) || !actor.ability.can('create', cardSubject({ folderId: target._id, libraryId: target.libraryId }))) {
    throw forbidden(actor, t(actor, 'перемещение карточки (нужно право редактирования в обеих папках)', 'moving the card (editing rights on both folders are needed)'));
  }
  if (target.allowedCardTypes.length > 0 && !target.allowedCardTypes.includes(card.typeKey)) {
    const errors = new FieldErrors(actor.locale);
    errors.addMessage('folderId', t(actor, 'В эту папку нельзя помещать карточки этого типа', 'This folder does not take cards of this type'));
    errors.throwIfAny();
  }
  if (String(card.folderId) === input.folderId) return card;
  // «Экспорт» is granted only by administrators: a card does not move from a folder where the actor lacks it into one where they hold it (that would hand them its values and files to export).
  if (!actor.ability.can('export', cardSubject(card)) && actor.ability.can('export', cardSubject({ folderId: target._id, libraryId: target.libraryId }))) {
    throw forbidden(
      actor,
      t(
        actor,
        'карточку нельзя перенести из папки, где у вас нет права «Экспорт», в папку, где оно есть (так её значения и файлы стали бы доступны вам для выгрузки); обратитесь к администратору',
        'a card cannot be moved from a folder where you lack the “Export” right into one where you have it (its values and files would become exportable to you); ask an administrator',
      ),
    );
  }
  const refusal = await runCheckMove({ actor, card, to: { folderId: target._id, libraryId: target.libraryId } });
  if (refusal) throw forbidden(actor, refusal);
  const type = await writtenCardType(actor, card.typeKey);
  const now = new Date();
  return commitChange(context, type, 'move', card, card.values, async (session) => {
    const moved = await Card.findOneAndUpdate(
      { _id: card._id, version: input.version },
      { $set: { folderId: target._id, libraryId: target.libraryId, updatedBy: actor.userId, updatedAt: now, arrivedAt: now }, $inc: { version: 1 } },
      { session, returnDocument: 'after', lean: true, timestamps: false },
    );
    if (!moved) throw await conflict(actor, id);
    return moved as unknown as CardDoc;
  });
}

/** Trash and restore: full access on the card's folder. */
export async function setCardTrashed(context: CardServiceContext, id: string, trashed: boolean): Promise<CardDoc> {
  const { actor } = context;
  const card = await cardOrFail(actor, id, { includeTrash: true });
  if (!actor.ability.can('delete', cardSubject(card))) {
    throw forbidden(actor, trashed ? t(actor, 'удаление карточки', 'deleting the card') : t(actor, 'восстановление карточки', 'restoring the card'));
  }
  if (card.inTrash === trashed) return card;
  // A card a hook knows more of (one merged into another) is restored by that hook, or refused.
  const restored = trashed ? null : await runRestore(context, card);
  if (restored) return restored;
  const type = await writtenCardType(actor, card.typeKey);
  const now = new Date();
  // Back from the trash, values its type's kinds changed under it are converted where they can be (the history shows it); the rest stay as they are.
  const values = trashed ? card.values : conformValues(type, card.values);
  const rewritten = values !== card.values ? { values, ...derived(type, values, 'ru') } : {};
  return commitChange(context, type, trashed ? 'trash' : 'restore', card, values, async (session) => {
    const changed = await Card.findOneAndUpdate(
      { _id: card._id },
      {
        $set: {
          inTrash: trashed,
          trashedAt: trashed ? now : null,
          trashedBy: trashed ? actor.userId : null,
          updatedBy: actor.userId,
          updatedAt: now,
          // Restored, the card comes back as new to its readers (and no longer as merged into another).
          ...(trashed ? {} : { arrivedAt: now, mergedInto: null }),
          ...rewritten,
        },
        $inc: { version: 1 },
      },
      { session, returnDocument: 'after', lean: true, timestamps: false },
    );
    return changed as unknown as CardDoc;
  });
}

/** Removes a card from the trash for good (administrators), recorded in the audit log with the card as it was, with what the purge hooks remove (its files). Its history stays. */
export async function purgeCard(context: CardServiceContext, id: string): Promise<boolean> {
  const { actor } = context;
  if (!actor.isAdmin) throw forbidden(actor, t(actor, 'окончательное удаление', 'purging'));
  if (!Types.ObjectId.isValid(id)) return false;
  let purged: CardDoc | null = null;
  await mongoose.connection.transaction(async (session) => {
    const card = await Card.findOneAndDelete({ _id: id, inTrash: true }, { session }).lean<CardDoc>();
    purged = card;
    if (!card) return;
    const before = { typeKey: card.typeKey, folderId: String(card.folderId), title: card.title, version: card.version, values: card.values, trashedAt: card.trashedAt ?? null };
    await recordAudit(auditActorOf(actor), { kind: 'card-purged', targetType: 'Card', targetId: id, summary: card.title, before }, session);
    await runBeforePurge(card, session, actor);
  });
  if (!purged) return false;
  await runAfterPurge(purged, (name, error) => context.logger.error({ err: error, hook: name }, 'after-purge hook failed'));
  return true;
}

export function fieldOf(type: CardTypeDefinition, key: string): FieldDefinition | undefined {
  return type.fields.find((f) => f.key === key);
}
