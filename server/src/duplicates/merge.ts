import { Types, type ClientSession } from 'mongoose';
import { cardSubject } from '../access/ability';
import { actorOfUser, type Actor } from '../access/actor';
import { cardTargets, conformValues, isMultiValued, type CardTypeDefinition, type CardValues, type Locale, type LocalizedText, type StoredValue } from '../../../card-types';
import { listCardTypes, uniqueIndexName } from '../card-types/registry';
import type { CardChange, FieldChange } from '../cards/lifecycle';
import { Card, type CardDoc } from '../cards/model';
import { commitCardBatch, conflict, derived, findCard, validated, type BatchedCardWrite, type CardServiceContext, writtenCardType } from '../cards/service';
import { AppError, forbidden, notFound, UserInputError } from '../errors';
import { FieldErrors, isDuplicateKeyError, isObjectIdText, MAX_MERGED } from '../validation';
import { announceJob, defineJob, type JobContext } from '../jobs/define';
import { Job, type JobDoc } from '../jobs/model';
import type { JobView } from '../jobs/view';
import { Folder } from '../folders/models';
import { isUnread, readStateOf, readsAfterOwnChange, recordOwnChange } from '../unread/service';
import { handBackFiles, handOverFiles, type HandedFiles } from '../files/handover';
import type { StoredFileDoc } from '../files/model';
import { cardFileIds, fileFields, fileIdsOf, fileRecord, historyTitle, mayDownload, storedFiles } from '../files/service';
import { DuplicateGroup, Merge, type MergeDoc, type RepointedReference } from './model';

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

const MERGED_INTO: LocalizedText = { ru: 'Объединена с', en: 'Merged into' };
const MERGED_FROM: LocalizedText = { ru: 'Объединена с карточками', en: 'Merged with' };
const FILES_HANDED: LocalizedText = { ru: 'Файлы переданы', en: 'Files handed over' };
const FILES_BACK: LocalizedText = { ru: 'Файлы возвращены', en: 'Files given back' };

export interface CardVersion {
  id: string;
  version: number;
}

export interface MergeInput {
  survivor: CardVersion;
  merged: CardVersion[];
  /** Which card's value stays, per field; fields left out keep the survivor's value (lists are united). */
  choices: { field: string; cardId: string }[];
}

const cardWord = (actor: Actor) => t(actor, 'Карточка', 'Card');

/**
 * Why the actor may not edit all of these cards, naming the folders (of cards they may read) where
 * they only read: «в папке «Архив» у вас только право чтения»; null when they may edit them all.
 */
async function editingGap(actor: Actor, cards: CardDoc[]): Promise<string | null> {
  const readOnly = cards.filter((card) => !actor.ability.can('update', cardSubject(card)));
  if (readOnly.length === 0) return null;
  const seen = readOnly.filter((card) => actor.ability.can('read', cardSubject(card)));
  const folders = await Folder.find({ _id: { $in: [...new Set(seen.map((card) => String(card.folderId)))] } }, { name: 1 }).lean<{ name: string }[]>();
  if (folders.length === 0) return t(actor, 'в папке одной из карточек у вас нет права редактирования', 'you may not edit in the folder of one of the cards');
  const names = folders.map((folder) => t(actor, `«${folder.name}»`, `“${folder.name}”`)).join(', ');
  return folders.length === 1
    ? t(actor, `в папке ${names} у вас только право чтения`, `you may only read in the folder ${names}`)
    : t(actor, `в папках ${names} у вас только право чтения`, `you may only read in the folders ${names}`);
}

/** Cards the actor may read (NOT_FOUND otherwise) and edit (FORBIDDEN, naming the folder, otherwise), outside the trash, at the versions they saw. */
async function editableCards(actor: Actor, wanted: CardVersion[]): Promise<CardDoc[]> {
  const cards: CardDoc[] = [];
  for (const { id } of wanted) {
    const card = await findCard(actor, id);
    if (!card) throw notFound(actor, cardWord(actor));
    cards.push(card);
  }
  const gap = await editingGap(actor, cards);
  if (gap) {
    // Which of the cards asked for (`survivor`, `merged.N`) the actor may not edit, so that a client can point at them.
    const at = (index: number) => (index === 0 ? 'survivor' : `merged.${index - 1}`);
    const fields = Object.fromEntries(cards.flatMap((card, index) => (actor.ability.can('update', cardSubject(card)) ? [] : [[at(index), gap]])));
    throw new AppError('FORBIDDEN', forbidden(actor, t(actor, `объединение карточек — ${gap}`, `merging the cards: ${gap}`)).message, { fields });
  }
  for (const [index, card] of cards.entries()) if (card.version !== wanted[index].version) throw await conflict(actor, String(card._id));
  return cards;
}

/**
 * «Экспорт» is granted only by administrators: a card in a folder where the actor lacks it is not
 * merged into a survivor in a folder where they hold it (its values and files would become theirs to
 * export, and an undo would leave no trace of it), as a card does not move so: FORBIDDEN, naming the
 * folder. Merging the other way round (the survivor on the side without the right) is allowed.
 */
async function refuseExportGain(actor: Actor, survivor: CardDoc, merged: CardDoc[]): Promise<void> {
  if (!mayDownload(actor, survivor)) return;
  const closed = merged.filter((card) => !mayDownload(actor, card));
  if (closed.length === 0) return;
  const folders = await Folder.find({ _id: { $in: closed.map((card) => card.folderId) } }, { name: 1 }).lean<{ name: string }[]>();
  const names = folders.map((folder) => t(actor, `«${folder.name}»`, `“${folder.name}”`)).join(', ');
  throw forbidden(
    actor,
    t(
      actor,
      `объединение карточек — значения и файлы перешли бы из папки ${names}, где у вас нет права «Экспорт», в папку, где оно есть (так они стали бы доступны вам для выгрузки); оставьте главной карточку из папки без этого права или обратитесь к администратору`,
      `merging the cards: values and files would go from the folder ${names}, where you lack the “Export” right, into one where you have it (they would become exportable to you); keep the card of the folder without that right as the main one, or ask an administrator`,
    ),
  );
}

/**
 * A merged card goes to the trash. Where the actor may not delete it (an editor without «Полный
 * доступ»), a merge is no way round that: such a card is merged only into a card of its duplicate
 * group — a probable duplicate the scan or a save found, not marked «Не дубликат» — and otherwise
 * refused (FORBIDDEN, naming the card and its folder at `merged.N`). With the right to delete, any
 * card of the type may be merged, as it may be deleted.
 */
async function refuseTrashingWithoutRight(actor: Actor, survivor: CardDoc, merged: CardDoc[]): Promise<void> {
  const undeletable = merged.flatMap((card, index) => (actor.ability.can('delete', cardSubject(card)) ? [] : [{ card, index }]));
  const outside: typeof undeletable = [];
  for (const entry of undeletable) if (!(await DuplicateGroup.exists({ $and: [{ cardIds: survivor._id }, { cardIds: entry.card._id }] }))) outside.push(entry);
  if (outside.length === 0) return;
  const folders = await Folder.find({ _id: { $in: outside.map(({ card }) => card.folderId) } }, { name: 1 }).lean<{ _id: Types.ObjectId; name: string }[]>();
  const folderName = (card: CardDoc) => folders.find((folder) => String(folder._id) === String(card.folderId))?.name ?? '';
  const why = (card: CardDoc) =>
    t(
      actor,
      `карточка «${card.title}» не из группы возможных дубликатов карточки «${survivor.title}», а удалять карточки в папке «${folderName(card)}» у вас права нет — объединение отправило бы её в корзину`,
      `the card “${card.title}” is not in the group of probable duplicates of “${survivor.title}”, and you may not delete cards in the folder “${folderName(card)}” — the merge would put it in the trash`,
    );
  const fields = Object.fromEntries(outside.map(({ card, index }) => [`merged.${index}`, why(card)]));
  throw new AppError('FORBIDDEN', forbidden(actor, t(actor, `объединение карточек — ${why(outside[0].card)}`, `merging the cards: ${why(outside[0].card)}`)).message, { fields });
}

/** The survivor's values after the merge: its own, the chosen cards' where chosen, lists united. */
function mergedValues(actor: Actor, type: CardTypeDefinition, cards: CardDoc[], choices: MergeInput['choices']): Record<string, unknown> {
  const [survivor] = cards;
  const values: Record<string, unknown> = { ...survivor.values };
  const errors = new FieldErrors(actor.locale);
  choices.forEach((choice, index) => {
    const field = type.fields.find((f) => f.key === choice.field && !f.hidden);
    const source = cards.find((card) => String(card._id) === choice.cardId);
    if (!field) errors.addMessage(`choices.${index}.field`, t(actor, 'Нет такого поля', 'No such field'));
    else if (!source) errors.addMessage(`choices.${index}.cardId`, t(actor, 'Эта карточка не участвует в объединении', 'This card is not being merged'));
    else if (!isMultiValued(field)) {
      if (source.values[field.key] === undefined) delete values[field.key];
      else values[field.key] = source.values[field.key];
    }
  });
  errors.throwIfAny();
  for (const field of type.fields.filter(isMultiValued)) {
    // One of each (two cards' «VIP» tag is one tag, a file a card restored from an earlier merge still holds is one file).
    const united = new Map(cards.flatMap((card) => [card.values[field.key] ?? []].flat()).map((item) => [JSON.stringify(item), item]));
    if (united.size > 0) values[field.key] = [...united.values()];
  }
  return values;
}

/** A reference field's value with `from` ids replaced by `to` (lists keep one of each). */
function repointed(value: StoredValue, from: ReadonlySet<string>, to: string): string | string[] {
  if (!Array.isArray(value)) return from.has(String(value)) ? to : String(value);
  return [...new Set(value.map((id) => (from.has(String(id)) ? to : String(id))))];
}

/**
 * Cards (of any type, in any folder, in the trash too) whose reference field points to one of
 * `ids`, not those in `skip`; at most about `limit` of them (a batch of a large merge).
 */
async function referencingCards(
  typeKey: string,
  ids: string[],
  skip: ReadonlySet<string>,
  options: { session?: ClientSession; limit?: number } = {},
): Promise<{ card: CardDoc; type: CardTypeDefinition; fields: string[] }[]> {
  const found = new Map<string, { card: CardDoc; type: CardTypeDefinition; fields: string[] }>();
  const limit = options.limit ?? 0;
  for (const type of await listCardTypes()) {
    for (const field of type.fields) {
      if (!cardTargets(field)?.includes(typeKey)) continue;
      if (limit > 0 && found.size >= limit) break;
      const query = Card.find({ [`values.${field.key}`]: { $in: ids }, typeKey: type.key }, null, { session: options.session });
      // The merge's own cards may hold such a reference too: room for them beyond the limit.
      const cards = await (limit > 0 ? query.limit(limit + skip.size) : query).lean<CardDoc[]>();
      for (const card of cards) {
        if (skip.has(String(card._id))) continue;
        const entry = found.get(String(card._id)) ?? { card, type, fields: [] };
        entry.fields.push(field.key);
        found.set(String(card._id), entry);
      }
    }
  }
  return [...found.values()];
}

/** How many cards refer to `ids` (each field counted: an estimate from above, for choosing how to merge). */
async function countReferencing(typeKey: string, ids: string[]): Promise<number> {
  let count = 0;
  for (const type of await listCardTypes()) {
    for (const field of type.fields) {
      if (cardTargets(field)?.includes(typeKey)) count += await Card.countDocuments({ [`values.${field.key}`]: { $in: ids }, typeKey: type.key });
    }
  }
  return count;
}

/** One card's part of a merge or its undo: its write, made in order inside the transaction. */
interface CardWrite extends Omit<BatchedCardWrite, 'before' | 'after'> {
  before: CardDoc;
  write: (session: ClientSession) => Promise<CardDoc>;
}

/**
 * A unique value two cards would share once the writes are made (two cards of a type whose unique
 * reference both end up pointing to the survivor, a value taken back by an undo that another card
 * holds now): refused at `at`, naming the type and the field.
 */
function uniqueClash(actor: Actor, types: CardTypeDefinition[], error: unknown, at: string): UserInputError | null {
  if (!isDuplicateKeyError(error)) return null;
  const text = String((error as Error).message);
  for (const type of types) {
    const field = type.fields.find((f) => text.includes(uniqueIndexName(type.key, f.key)));
    if (!field) continue;
    const refusal = t(
      actor,
      `Две карточки «${type.names.ru}» получили бы одно и то же значение поля «${field.label.ru}», а оно уникально: ничего не изменено`,
      `Two “${type.names.en}” cards would get the same “${field.label.en}”, which must be unique: nothing was changed`,
    );
    return new UserInputError(refusal, { [at]: refusal });
  }
  return null;
}

/**
 * The changes the author has read as they leave them (their own change is not new to them): the
 * cards in `own` (the merge's), and the others (referencing cards) where they had read them as
 * they were — one they had not read stays unread. Colleagues find every changed card unread.
 */
async function readByAuthor(changes: CardChange[], own: ReadonlySet<string>): Promise<CardChange[]> {
  if (changes.length === 0) return [];
  const state = await readStateOf(changes[0].actor.userId);
  return changes.filter((change) => {
    const id = String(change.after._id);
    if (own.has(id)) return true;
    const before = change.before;
    return before !== null && !isUnread(state, id, { folderId: String(before.folderId), inTrash: before.inTrash, updatedAt: before.updatedAt.getTime() });
  });
}

/**
 * The writes in order, in one transaction with the lifecycle's hooks and `alsoInside` (the merge's
 * own record): all of them or none; a unique value they would make two cards share refuses it at `at`.
 * The cards in `own` are read by the author as they leave them, and so are the others they had read.
 */
async function commitWrites(
  context: CardServiceContext,
  writesIn: (session: ClientSession) => Promise<CardWrite[]>,
  alsoInside: (changes: CardChange[], session: ClientSession) => Promise<void>,
  at: string,
  own: ReadonlySet<string> = new Set(),
): Promise<CardChange[]> {
  const types = new Set<CardTypeDefinition>();
  let read: CardChange[] = [];
  try {
    const changes = await commitCardBatch(
      context,
      async (session) => {
        const done: BatchedCardWrite[] = [];
        for (const { write, ...rest } of await writesIn(session)) {
          types.add(rest.type);
          done.push({ ...rest, after: await write(session) });
        }
        return done;
      },
      {
        alsoInside: async (changes, session) => {
          read = await readByAuthor(changes, own);
          for (const change of read) await recordOwnChange(change, session);
          await alsoInside(changes, session);
        },
      },
    );
    read.forEach(readsAfterOwnChange);
    return changes;
  } catch (error) {
    throw uniqueClash(context.actor, [...types], error, at) ?? error;
  }
}

const changedAt = (keys: string[], now: Date) => Object.fromEntries(keys.map((key) => [`fieldChangedAt.${key}`, now]));

/** Writes new values over the version read, or fails with CONFLICT. */
function valuesWrite(actor: Actor, type: CardTypeDefinition, card: CardDoc, values: CardValues, now: Date, extra: Record<string, unknown> = {}) {
  return async (session: ClientSession): Promise<CardDoc> => {
    const changed = Object.keys({ ...card.values, ...values }).filter((key) => JSON.stringify(card.values[key]) !== JSON.stringify(values[key]));
    const updated = await Card.findOneAndUpdate(
      { _id: card._id, version: card.version },
      { $set: { values, ...derived(type, values, 'ru'), ...changedAt(changed, now), ...extra, updatedBy: actor.userId, updatedAt: now }, $inc: { version: 1 } },
      { session, returnDocument: 'after', lean: true, timestamps: false },
    );
    if (!updated) throw await conflict(actor, String(card._id));
    return updated as unknown as CardDoc;
  };
}

/** Puts a card in or out of the trash as a merge does: `mergedInto` says where it went. */
function trashWrite(actor: Actor, card: CardDoc, into: Types.ObjectId | null, now: Date) {
  return async (session: ClientSession): Promise<CardDoc> => {
    const set = into
      ? { inTrash: true, trashedAt: now, trashedBy: actor.userId, mergedInto: into }
      : { inTrash: false, trashedAt: null, trashedBy: null, mergedInto: null, arrivedAt: now };
    const updated = await Card.findOneAndUpdate(
      { _id: card._id, version: card.version },
      { $set: { ...set, updatedBy: actor.userId, updatedAt: now }, $inc: { version: 1 } },
      { session, returnDocument: 'after', lean: true, timestamps: false },
    );
    if (!updated) throw await conflict(actor, String(card._id));
    return updated as unknown as CardDoc;
  };
}

/**
 * A merged card's history line for the files it handed to the survivor, or gave back by an undo:
 * their names (the version they are at) on one side, the survivor on the other; none without files.
 */
function filesChange(docs: StoredFileDoc[], label: LocalizedText, sides: (names: string[]) => Pick<FieldChange, 'before' | 'after'>): FieldChange[] {
  if (docs.length === 0) return [];
  return [{ key: 'mergedFiles', label, ...sides(docs.map((doc) => historyTitle(fileRecord(doc)))), cardIds: true }];
}

/** Writes re-pointing these cards' references from the merged cards to the survivor, each recorded in `into`. */
function referenceWrites(
  actor: Actor,
  referencing: { card: CardDoc; type: CardTypeDefinition; fields: string[] }[],
  mergedIds: ReadonlySet<string>,
  survivorId: string,
  now: Date,
  into: RepointedReference[],
): CardWrite[] {
  return referencing.map(({ card, type, fields }) => {
    const next: CardValues = { ...card.values };
    for (const field of fields) {
      const before = card.values[field];
      next[field] = repointed(before, mergedIds, survivorId);
      into.push({ cardId: card._id, field, before: before as string | string[], after: next[field] as string | string[] });
    }
    return { type, action: 'merge' as const, before: card, write: valuesWrite(actor, type, card, next, now) };
  });
}

/** Cards whose references a large merge re-points per transaction (each batch with its histories and its part of the merge record). */
const REFERENCES_PER_BATCH = 200;

/**
 * Re-points the references still made to the merged cards (not by the merge's own cards) to the
 * survivor, REFERENCES_PER_BATCH cards per transaction, each batch recorded in the merge so that its
 * undo puts them back too; `progress` hears how many cards each batch re-pointed. Stops when none
 * are left, or after `attempts` failed batches in a row (a card changed meanwhile keeps its
 * reference; logged). Returns whether all were re-pointed.
 */
async function repointReferences(
  context: CardServiceContext,
  merge: MergeDoc,
  options: { attempts: number; signal?: AbortSignal; progress?: (cards: number) => void },
): Promise<boolean> {
  const mergedIds = new Set(merge.merged.map((state) => String(state.cardId)));
  const survivorId = String(merge.survivor.cardId);
  const involved = new Set([survivorId, ...mergedIds]);
  let failures = 0;
  while (failures < options.attempts) {
    options.signal?.throwIfAborted();
    const references: RepointedReference[] = [];
    let cards = 0;
    try {
      await commitWrites(
        context,
        async (session) => {
          references.length = 0;
          const batch = await referencingCards(merge.typeKey, [...mergedIds], involved, { session, limit: REFERENCES_PER_BATCH });
          cards = batch.length;
          return referenceWrites(context.actor, batch, mergedIds, survivorId, new Date(), references);
        },
        async (_done, session) => {
          if (references.length > 0) await Merge.updateOne({ _id: merge._id }, { $push: { references: { $each: references } } }, { session });
        },
        'merged',
      );
      if (cards === 0) return true;
      failures = 0;
      options.progress?.(cards);
    } catch (error) {
      failures += 1;
      context.logger.warn({ err: error, mergeId: String(merge._id) }, 'references of a merged card not re-pointed in this batch');
    }
  }
  return false;
}

const ids = (cards: CardDoc[]) => cards.map((card) => String(card._id));

function checkInput(actor: Actor, input: MergeInput): void {
  const errors = new FieldErrors(actor.locale);
  if (input.merged.length === 0)
    errors.addMessage('merged', t(actor, 'Выберите хотя бы две карточки: ту, что остаётся, и ещё одну', 'Choose at least two cards: the one that stays and another'));
  if (input.merged.length > MAX_MERGED) errors.addMessage('merged', t(actor, `Не больше ${MAX_MERGED} карточек за раз`, `At most ${MAX_MERGED} cards at a time`));
  const all = [input.survivor, ...input.merged];
  if (!isObjectIdText(input.survivor.id)) errors.addMessage('survivor', t(actor, 'Неверный идентификатор', 'Not a valid identifier'));
  if (input.merged.some((card) => !isObjectIdText(card.id))) errors.addMessage('merged', t(actor, 'Неверный идентификатор', 'Not a valid identifier'));
  if (new Set(all.map((card) => card.id.toLowerCase())).size !== all.length) errors.addMessage('merged', t(actor, 'Карточка указана дважды', 'A card is given twice'));
  input.choices.forEach((choice, index) => {
    if (!isObjectIdText(choice.cardId)) errors.addMessage(`choices.${index}.cardId`, t(actor, 'Неверный идентификатор', 'Not a valid identifier'));
  });
  errors.throwIfAny();
}

/**
 * Merges cards of one type into the survivor, in one transaction: the survivor takes the chosen
 * values (lists united), the merged cards go to the trash marked «объединена с …», every
 * reference to them (contacts' «Контрагент», proposals, contracts, in any folder) now points to
 * the survivor, both histories record it, and the merge is stored so that it can be undone.
 */
export async function mergeCards(context: CardServiceContext, input: MergeInput): Promise<{ merge: MergeDoc; survivor: CardDoc; job: JobView | null }> {
  const { actor } = context;
  checkInput(actor, input);
  const cards = await editableCards(actor, [input.survivor, ...input.merged]);
  await refuseWhileRepointing(
    actor,
    cards.map((card) => card._id),
  );
  const [survivor, ...merged] = cards;
  if (merged.some((card) => card.typeKey !== survivor.typeKey)) {
    const errors = new FieldErrors(actor.locale);
    errors.addMessage('merged', t(actor, 'Объединять можно только карточки одного типа', 'Only cards of one type can be merged'));
    errors.throwIfAny();
  }
  await refuseExportGain(actor, survivor, merged);
  await refuseTrashingWithoutRight(actor, survivor, merged);
  const type = await writtenCardType(actor, survivor.typeKey);
  const values = await validated(actor, type, mergedValues(actor, type, cards, input.choices), 'merge', survivor, undefined, undefined, undefined, merged);
  const mergedIds = new Set(ids(merged));
  const survivorId = String(survivor._id);
  const now = new Date();
  const involved = new Set(ids(cards));
  // The files the survivor takes from the merged cards: handed over (with all their versions) as it is written.
  const ownFiles = new Set(cardFileIds(type, survivor.values));
  const takenFiles = cardFileIds(type, values).filter((id) => !ownFiles.has(id));
  const takenDocs = [...(await storedFiles(takenFiles)).values()];
  let handed: HandedFiles[] = [];
  const own: CardWrite[] = [
    // The merged cards leave first, so the survivor may take their unique values (an INN).
    ...merged.map((card) => ({
      type,
      action: 'merge' as const,
      before: card,
      write: trashWrite(actor, card, survivor._id, now),
      extraChanges: [
        { key: 'mergedInto', label: MERGED_INTO, before: undefined, after: survivorId, cardIds: true } satisfies FieldChange,
        ...filesChange(
          takenDocs.filter((doc) => String(doc.cardId) === String(card._id)),
          FILES_HANDED,
          (names) => ({ before: names, after: survivorId }),
        ),
      ],
    })),
    {
      type,
      action: 'merge',
      before: survivor,
      write: async (session) => {
        handed = await handOverFiles(
          takenFiles,
          merged.map((card) => card._id),
          survivor._id,
          session,
        );
        return valuesWrite(actor, type, survivor, values, now)(session);
      },
      extraChanges: [{ key: 'mergedFrom', label: MERGED_FROM, before: undefined, after: [...mergedIds], cardIds: true }],
    },
  ];
  // A merge re-pointing many references does it afterwards, in a background job with progress.
  const large = (await countReferencing(type.key, [...mergedIds])) > mergeLimits.inRequest;
  const references: RepointedReference[] = [];
  let record: MergeDoc | undefined;
  let job: JobDoc | undefined;
  const changes = await commitWrites(
    context,
    async (session) => {
      // Read inside the transaction (a retry reads them again): the references as they are now.
      references.length = 0;
      const referencing = large ? [] : await referencingCards(type.key, [...mergedIds], involved, { session });
      return [...own, ...referenceWrites(actor, referencing, mergedIds, survivorId, now, references)];
    },
    async (done, session) => {
      const versionOf = (id: string) => done.find((change) => String(change.after._id) === id)!.after.version;
      const [created] = await Merge.create(
        [
          {
            typeKey: type.key,
            survivor: { cardId: survivor._id, values: survivor.values, versionAfter: versionOf(survivorId) },
            merged: merged.map((card) => ({ cardId: card._id, values: card.values, versionAfter: versionOf(String(card._id)) })),
            references,
            files: handed,
            by: new Types.ObjectId(actor.userId),
            byName: actor.fullName,
            at: now,
          },
        ],
        { session },
      );
      record = created.toObject() as MergeDoc;
      if (large) {
        job = await cardMergeJob.enqueueIn(session, actor.userId, { mergeId: String(created._id), ip: actor.ip });
        await Merge.updateOne({ _id: created._id }, { $set: { jobId: job._id } }, { session });
        record.jobId = job._id;
      }
    },
    'merged',
    involved,
  );
  const after = changes.find((change) => String(change.after._id) === survivorId)!.after;
  if (job) return { merge: record!, survivor: after, job: announceJob(job) };
  // References made to the merged cards while the merge ran (a contact person saved meanwhile,
  // which still saw them outside the trash) are re-pointed once it is committed.
  await repointReferences(context, record!, { attempts: 3 });
  return { merge: (await Merge.findById(record!._id).lean<MergeDoc>())!, survivor: after, job: null };
}

/** Merges whose references (cards referring to the merged ones) exceed this re-point them in a background job. */
export const mergeLimits = { inRequest: 200 };

const say = (locale: Locale, ru: string, en: string) => (locale === 'ru' ? ru : en);

/**
 * The references of a large merge, re-pointed after the merge itself (the survivor's values, the
 * merged cards in the trash, the merge's record) committed: batch by batch, with progress to its
 * owner's live stream. Resumable (what is left is what still points to the merged cards); not
 * cancellable halfway. The merge can be undone once it has finished.
 */
export const cardMergeJob = defineJob<{ mergeId: string; ip: string }, { cards: number }>({
  type: 'card-merge',
  cancelRefusal: {
    ru: 'Объединение нельзя остановить на полпути: часть ссылок уже указывает на оставшуюся карточку. Дождитесь окончания — затем объединение можно отменить целиком.',
    en: 'A merge cannot be stopped halfway: some references already point to the card that stays. Wait until it finishes; then the whole merge can be undone.',
  },
  failureMessage: (job, locale) =>
    say(
      locale,
      `Перенаправлены не все ссылки на объединённые карточки: ${job.progress.done.toLocaleString('ru')} из ${(job.progress.total ?? job.progress.done).toLocaleString('ru')}. Карточки объединены; остальные ссылки пока указывают на карточки в корзине. Нажмите «Продолжить с места остановки» или отмените объединение.`,
      `Not every reference to the merged cards was re-pointed: ${job.progress.done.toLocaleString('en')} of ${(job.progress.total ?? job.progress.done).toLocaleString('en')}. The cards are merged; the other references still point to the cards in the trash. Press “Continue from where it stopped”, or undo the merge.`,
    ),
  retryRefusal: async (job, locale) => {
    const merge = await Merge.findById((job.params as { mergeId?: string }).mergeId, { undoneAt: 1 }).lean<Pick<MergeDoc, 'undoneAt'>>();
    return !merge || merge.undoneAt ? say(locale, 'Это объединение уже отменено.', 'This merge has already been undone.') : null;
  },
  async run(ctx) {
    const merge = await Merge.findById(ctx.params.mergeId).lean<MergeDoc>();
    // Undone meanwhile (after a failed run): nothing is left to re-point.
    if (!merge || merge.undoneAt) return { cards: 0 };
    const context = await ownerContext(ctx);
    const mergedIds = merge.merged.map((state) => String(state.cardId));
    // Progress counts cards: those a run before this one re-pointed, then each batch's.
    let done = new Set(merge.references.map((ref) => String(ref.cardId))).size;
    const total = done + (await countReferencing(merge.typeKey, mergedIds));
    ctx.progress(done, total);
    const complete = await repointReferences(context, merge, {
      attempts: 5,
      signal: ctx.signal,
      progress: (cards) => ctx.progress((done += cards), Math.max(total, done)),
    });
    if (!complete) throw new Error(`merge ${ctx.params.mergeId}: references still not re-pointed after 5 attempts`);
    return { cards: done };
  },
});

/**
 * A merge the actor may see: they may read its survivor — or, once the survivor was deleted for
 * good, one of the cards merged into it (they still say what they were merged into).
 */
export async function findMerge(actor: Actor, id: string): Promise<MergeDoc | null> {
  if (!isObjectIdText(id)) return null;
  const merge = await Merge.findById(id).lean<MergeDoc>();
  if (!merge) return null;
  const survivor = await Card.findById(merge.survivor.cardId, { folderId: 1, libraryId: 1 }).lean();
  if (survivor) return actor.ability.can('read', cardSubject(survivor)) ? merge : null;
  const merged = await Card.find({ _id: { $in: merge.merged.map((state) => state.cardId) } }, { folderId: 1, libraryId: 1 }).lean<CardDoc[]>();
  return merged.some((card) => actor.ability.can('read', cardSubject(card))) ? merge : null;
}

/**
 * The title of the card a merge went into, as the actor may know it: the survivor's own while it
 * exists and they may read it; once it was deleted for good, the title it had then, when they may
 * read the folder it was in. Null otherwise.
 */
export async function survivorTitle(actor: Actor, merge: MergeDoc): Promise<string | null> {
  const survivor = await Card.findById(merge.survivor.cardId, { title: 1, folderId: 1, libraryId: 1 }).lean<CardDoc>();
  const known = survivor ?? merge.survivorGone;
  return known && actor.ability.can('read', cardSubject(known)) ? known.title : null;
}

/** How many of the references a merge re-pointed are in cards the actor may read (the others are not theirs to know of). */
export async function readableReferences(actor: Actor, merge: MergeDoc): Promise<number> {
  const cards = await Card.find({ _id: { $in: [...new Set(merge.references.map((ref) => String(ref.cardId)))] } }, { folderId: 1, libraryId: 1 }).lean<CardDoc[]>();
  const readable = new Set(cards.filter((card) => actor.ability.can('read', cardSubject(card))).map((card) => String(card._id)));
  return merge.references.filter((ref) => readable.has(String(ref.cardId))).length;
}

/** The merge that put this card in the trash (not undone), if any. */
export async function mergeOfCard(cardId: Types.ObjectId): Promise<MergeDoc | null> {
  return Merge.findOne({ 'merged.cardId': cardId, undoneAt: null }).sort({ at: -1 }).lean<MergeDoc>();
}

const alreadyUndone = (actor: Actor) => t(actor, 'Это объединение уже отменено', 'This merge has already been undone');

/** A merge as it is now: its cards (survivor first, then the merged ones; undefined where deleted for good), and whether its background job is still to finish. */
interface MergeNow {
  cards: (CardDoc | undefined)[];
  merging: boolean;
}

async function mergeNow(merge: MergeDoc): Promise<MergeNow> {
  const involved = [merge.survivor, ...merge.merged];
  const found = await Card.find({ _id: { $in: involved.map((state) => state.cardId) } }).lean<CardDoc[]>();
  const byId = new Map(found.map((card) => [String(card._id), card]));
  const merging = Boolean(merge.jobId && (await Job.exists({ _id: merge.jobId, state: { $in: ['queued', 'running'] } })));
  return { cards: involved.map((state) => byId.get(String(state.cardId))), merging };
}

const cannotUndo = (actor: Actor, reason: string) => t(actor, `Отменить объединение нельзя: ${reason}`, `The merge cannot be undone: ${reason}`);

/**
 * Why a merge cannot be undone now, in the viewer's words, or null when it can: undone already, its
 * references still being re-pointed, a card deleted for good (CONFLICT); the viewer only reads in
 * the folder of one of its cards (`gap`, FORBIDDEN, naming the folder); a card changed after the
 * merge (edited, moved, put in or taken out of the trash) — undoing would overwrite that change
 * (CONFLICT). Cards the viewer may not read are not named.
 */
function undoObstacle(actor: Actor, merge: MergeDoc, { cards: current, merging }: MergeNow, gap: string | null): AppError | null {
  const no = (ru: string, en: string) => new AppError('CONFLICT', cannotUndo(actor, t(actor, ru, en)));
  if (merge.undoneAt) return new AppError('CONFLICT', alreadyUndone(actor));
  if (merging)
    return no(
      'ссылки на объединённые карточки ещё перенаправляются — дождитесь окончания',
      'the references to the merged cards are still being re-pointed; wait until it finishes',
    );
  if (!current[0]) return no('основная карточка удалена навсегда', 'the card they were merged into was deleted for good');
  if (current.some((card) => !card)) return no('одну из карточек удалили окончательно', 'one of the cards was deleted for good');
  if (gap) return new AppError('FORBIDDEN', cannotUndo(actor, gap));
  const [survivor, ...merged] = current as CardDoc[];
  const which = (card: CardDoc) =>
    actor.ability.can('read', cardSubject(card)) ? t(actor, `карточку «${card.title}»`, `the card “${card.title}”`) : t(actor, 'одну из карточек', 'one of the cards');
  if (survivor.inTrash) return no(`${which(survivor)} после него удалили в корзину`, `${which(survivor)} was put in the trash after it`);
  if (survivor.version !== merge.survivor.versionAfter)
    return no(`${which(survivor)} изменили после него, и отмена стёрла бы это изменение`, `${which(survivor)} was changed after it, and undoing would overwrite that`);
  for (const [index, card] of merged.entries()) {
    if (!card.inTrash || String(card.mergedInto) !== String(survivor._id))
      return no(`${which(card)} после него восстановили из корзины`, `${which(card)} was restored from the trash after it`);
    if (card.version !== merge.merged[index].versionAfter) return no(`${which(card)} изменили после него`, `${which(card)} was changed after it`);
  }
  return null;
}

/** The cards of a merge that still exist. */
const presentCards = (now: MergeNow) => now.cards.filter((card): card is CardDoc => card !== undefined);

/**
 * Whether the actor may undo the merge now: nothing changed since, and they may edit every card of
 * it. Why not is said to those it concerns — who merged, or may edit some of its cards (then also
 * where they only read) —, not to its readers; a card deleted for good is said to everyone.
 */
export async function undoState(actor: Actor, merge: MergeDoc): Promise<{ canUndo: boolean; obstacle: string | null }> {
  const now = await mergeNow(merge);
  const present = presentCards(now);
  const complete = present.length === now.cards.length;
  const mayEdit = present.filter((card) => actor.ability.can('update', cardSubject(card)));
  const concerned = String(merge.by) === actor.userId || mayEdit.length > 0;
  if (!concerned && complete) return { canUndo: false, obstacle: null };
  const obstacle = undoObstacle(actor, merge, now, await editingGap(actor, present));
  return { canUndo: !obstacle, obstacle: obstacle?.message ?? null };
}

/** The files (the versions their fields hold) that each merged card gets back from the survivor by an undo, by card id. */
async function filesGivenBack(type: CardTypeDefinition, merged: CardDoc[], handed: readonly HandedFiles[]): Promise<Map<string, StoredFileDoc[]>> {
  const byCard = new Map<string, StoredFileDoc[]>();
  for (const { cardId, lineages } of handed) {
    const card = merged.find((candidate) => String(candidate._id) === String(cardId));
    if (!card) continue;
    const mine = new Set(lineages.map(String));
    const held = await storedFiles(cardFileIds(type, card.values));
    byCard.set(
      String(cardId),
      [...held.values()].filter((doc) => mine.has(String(doc.lineage ?? doc._id))),
    );
  }
  return byCard;
}

/** A merge's re-pointed references by the card holding them. */
function referencesByCard(merge: MergeDoc): Map<string, RepointedReference[]> {
  const byCard = new Map<string, RepointedReference[]>();
  for (const ref of merge.references) {
    const list = byCard.get(String(ref.cardId));
    if (list) list.push(ref);
    else byCard.set(String(ref.cardId), [ref]);
  }
  return byCard;
}

/**
 * The cards holding references a merge re-pointed, read now (inside `session`), with writes
 * pointing back to the merged cards those that still point to the survivor (nobody changed them since).
 */
async function referencesBack(actor: Actor, byCard: Map<string, RepointedReference[]>, cardIds: string[], session: ClientSession, now: Date): Promise<CardWrite[]> {
  const cards = await Card.find({ _id: { $in: cardIds } }, null, { session }).lean<CardDoc[]>();
  const types = new Map((await listCardTypes()).map((known) => [known.key, known]));
  const writes: CardWrite[] = [];
  for (const card of cards) {
    const next: CardValues = { ...card.values };
    let changed = false;
    for (const ref of byCard.get(String(card._id)) ?? []) {
      if (JSON.stringify(card.values[ref.field]) !== JSON.stringify(ref.after)) continue;
      next[ref.field] = ref.before;
      changed = true;
    }
    const type = types.get(card.typeKey);
    if (changed && type) writes.push({ type, action: 'unmerge', before: card, write: valuesWrite(actor, type, card, next, now) });
  }
  return writes;
}

/**
 * Undoes a merge: the survivor gets its values back, the merged cards come out of the trash, and
 * references the merge re-pointed (and nobody changed since) point to them again; recorded in every
 * history. One transaction — or, when more than `mergeLimits.inRequest` cards hold such references,
 * the cards and the merge's record in the request and the references in a background job
 * (`card-unmerge`, returned as `job`). Refused, saying why, once it was undone, a card of it was
 * deleted for good or changed after the merge (CONFLICT), or where the actor only reads (FORBIDDEN).
 */
export async function undoMerge(context: CardServiceContext, id: string): Promise<{ merge: MergeDoc; cards: CardDoc[]; job: JobView | null }> {
  const { actor } = context;
  const merge = await findMerge(actor, id);
  if (!merge) throw notFound(actor, t(actor, 'Объединение', 'Merge'));
  const state = await mergeNow(merge);
  const current = state.cards;
  const complete = presentCards(state).length === current.length;
  if (!merge.undoneAt && complete && current.some((card) => !actor.ability.can('read', cardSubject(card!)))) throw notFound(actor, cardWord(actor));
  const obstacle = undoObstacle(actor, merge, state, await editingGap(actor, presentCards(state)));
  if (obstacle) throw obstacle;
  const [survivor, ...merged] = current as CardDoc[];
  const type = await writtenCardType(actor, survivor.typeKey);
  const survivorId = String(survivor._id);
  const mergedIds = merged.map((card) => String(card._id));
  const byCard = referencesByCard(merge);
  const large = byCard.size > mergeLimits.inRequest;
  const now = new Date();
  const handed = merge.files ?? [];
  const givenBack = await filesGivenBack(type, merged, handed);
  const own: CardWrite[] = [
    // The survivor first gives back what it took (an INN, the files), then the merged cards return.
    {
      type,
      action: 'unmerge',
      before: survivor,
      write: async (session) => {
        await handBackFiles(handed, survivor._id, session);
        return valuesWrite(actor, type, survivor, merge.survivor.values, now)(session);
      },
      extraChanges: [{ key: 'mergedFrom', label: MERGED_FROM, before: mergedIds, after: undefined, cardIds: true }],
    },
    ...merged.map((card) => ({
      type,
      action: 'unmerge' as const,
      before: card,
      write: trashWrite(actor, card, null, now),
      extraChanges: [
        { key: 'mergedInto', label: MERGED_INTO, before: survivorId, after: undefined, cardIds: true } satisfies FieldChange,
        ...filesChange(givenBack.get(String(card._id)) ?? [], FILES_BACK, (names) => ({ before: survivorId, after: names })),
      ],
    })),
  ];
  let job: JobDoc | undefined;
  const undone = { undoneAt: now, undoneBy: new Types.ObjectId(actor.userId) };
  const changes = await commitWrites(
    context,
    // A large merge's references go back afterwards, in a background job with progress.
    async (session) => [...own, ...(large ? [] : await referencesBack(actor, byCard, [...byCard.keys()], session, now))],
    async (_done, session) => {
      job = large ? await cardUnmergeJob.enqueueIn(session, actor.userId, { mergeId: String(merge._id), ip: actor.ip }) : undefined;
      const marked = await Merge.updateOne({ _id: merge._id, undoneAt: null }, { $set: { ...undone, undoJobId: job?._id ?? null } }, { session });
      if (marked.modifiedCount !== 1) throw new AppError('CONFLICT', alreadyUndone(actor));
    },
    'id',
    new Set([survivorId, ...mergedIds]),
  );
  return {
    merge: { ...merge, ...undone, undoJobId: job?._id ?? null },
    cards: changes.slice(0, 1 + merged.length).map((change) => change.after),
    job: job ? announceJob(job) : null,
  };
}

const FILES_KEPT: LocalizedText = { ru: 'Файлы остались у карточки', en: 'Files stayed with the card' };

/** The values without these file ids (each file field keeps its other files). */
function withoutFiles(type: CardTypeDefinition, values: CardValues, gone: ReadonlySet<string>): CardValues {
  const next: CardValues = { ...values };
  for (const field of fileFields(type)) {
    const value = next[field.key];
    if (value === undefined || !fileIdsOf(value).some((id) => gone.has(id))) continue;
    const kept = fileIdsOf(value).filter((id) => !gone.has(id));
    if (Array.isArray(value)) next[field.key] = kept;
    else delete next[field.key];
  }
  return next;
}

/**
 * «Восстановить» on a card merged into another, rather than undoing the merge. While the merge can
 * be undone (nothing of it changed since), that is refused, pointing to «Отменить объединение»
 * (which gives back its values, files and references as well). Once it cannot, the card comes back
 * as an ordinary card: of the files it handed to the survivor, those the survivor no longer shows
 * go back to it (with all their versions); those the survivor shows stay there and leave the
 * restored card's fields — no file lost, none held by two cards; its history says which went where.
 * Null for a card without a merge on record (the ordinary restore).
 */
export async function restoreMergedCard(context: CardServiceContext, card: CardDoc): Promise<CardDoc | null> {
  const { actor } = context;
  if (!card.mergedInto) return null;
  const merge = await mergeOfCard(card._id);
  if (!merge) return null;
  const state = await mergeNow(merge);
  const survivorNow = state.cards[0];
  if (state.merging)
    throw new AppError(
      'CONFLICT',
      t(
        actor,
        'Ссылки на объединённые карточки ещё перенаправляются — дождитесь окончания',
        'The references to the merged cards are still being re-pointed; wait until it finishes',
      ),
    );
  if (!undoObstacle(actor, merge, state, null)) {
    const into = survivorNow && actor.ability.can('read', cardSubject(survivorNow)) ? survivorNow.title : null;
    throw new AppError(
      'CONFLICT',
      t(
        actor,
        `Карточка объединена ${into ? `с «${into}»` : 'с другой карточкой'}: чтобы вернуть её, нажмите «Отменить объединение» на странице карточки — вернутся и её значения, файлы и ссылки`,
        `The card was merged into ${into ? `“${into}”` : 'another card'}: to bring it back, press “Undo the merge” on the card’s page — its values, files and references come back too`,
      ),
    );
  }
  const type = await writtenCardType(actor, card.typeKey);
  const survivorId = merge.survivor.cardId;
  const handed = (merge.files ?? []).find((entry) => entry.cardId.equals(card._id))?.lineages ?? [];
  const now = new Date();
  const [restored] = await commitWrites(
    context,
    async (session) => {
      const current = await Card.findOne({ _id: card._id, inTrash: true, mergedInto: card.mergedInto }, null, { session }).lean<CardDoc>();
      if (!current) throw await conflict(actor, String(card._id));
      // The files handed over that the survivor no longer shows go back; those it shows stay with it.
      const survivor = await Card.findById(survivorId, { values: 1 }, { session }).lean<Pick<CardDoc, 'values'>>();
      const shown = survivor ? [...(await storedFiles(cardFileIds(type, survivor.values), session)).values()] : [];
      const inUse = new Set(shown.map((doc) => String(doc.lineage ?? doc._id)));
      const back = handed.filter((lineage) => !inUse.has(String(lineage)));
      if (survivor) await handBackFiles([{ cardId: card._id, lineages: back }], survivorId, session);
      const values = conformValues(type, current.values);
      const held = [...(await storedFiles(cardFileIds(type, values), session)).values()];
      const elsewhere = held.filter((doc) => !doc.cardId?.equals(card._id) && doc.state === 'attached');
      const given = held.filter((doc) => doc.cardId?.equals(card._id) && back.some((lineage) => lineage.equals(doc.lineage ?? doc._id)));
      const restore = { inTrash: false, trashedAt: null, trashedBy: null, mergedInto: null, arrivedAt: now };
      return [
        {
          type,
          action: 'restore' as const,
          before: current,
          write: valuesWrite(actor, type, current, withoutFiles(type, values, new Set(elsewhere.map((doc) => String(doc._id)))), now, restore),
          extraChanges: [
            ...filesChange(given, FILES_BACK, (names) => ({ before: String(survivorId), after: names })),
            ...filesChange(elsewhere, FILES_KEPT, (names) => ({ before: names, after: String(survivorId) })),
          ],
        },
      ];
    },
    async () => undefined,
    'id',
    new Set([String(card._id)]),
  );
  return restored.after;
}

/** The signed-in user a merge's job works for (its owner), with the address they asked from. */
async function ownerContext(ctx: { ownerId: string | null; params: { ip: string }; logger: CardServiceContext['logger'] }): Promise<CardServiceContext> {
  const actor = await actorOfUser(ctx.ownerId, ctx.params.ip);
  if (!actor) throw new Error('the user who asked for the merge or its undo is gone');
  return { actor, logger: ctx.logger };
}

/**
 * Points a merge's re-pointed references back to the merged cards — those nobody changed since —,
 * REFERENCES_PER_BATCH cards per transaction, each with its histories, with progress; resumes from
 * its checkpoint. The work of an undo's job and of a purged survivor's.
 */
async function pointReferencesBack(ctx: JobContext<{ mergeId: string; ip: string }, { next: number }>): Promise<{ cards: number }> {
  const merge = await Merge.findById(ctx.params.mergeId).lean<MergeDoc>();
  if (!merge) return { cards: 0 };
  const context = await ownerContext(ctx);
  const byCard = referencesByCard(merge);
  const cardIds = [...byCard.keys()];
  let next = ctx.resumeFrom?.next ?? 0;
  ctx.progress(next, cardIds.length);
  while (next < cardIds.length) {
    ctx.signal.throwIfAborted();
    const batch = cardIds.slice(next, next + REFERENCES_PER_BATCH);
    await commitWrites(
      context,
      (session) => referencesBack(context.actor, byCard, batch, session, new Date()),
      async () => {},
      'id',
    );
    next += batch.length;
    await ctx.checkpoint({ next }, next);
    ctx.progress(next, cardIds.length);
  }
  return { cards: cardIds.length };
}

/**
 * The references of a large merge's undo, pointed back to the merged cards after the cards
 * themselves (the survivor's values, the merged cards out of the trash, the merge marked undone)
 * committed: REFERENCES_PER_BATCH cards per transaction, each with its histories, only references
 * nobody changed since; progress to its owner's live stream. Resumes from its checkpoint; not
 * cancellable halfway; while it runs, the cards of the merge cannot be merged again.
 */
export const cardUnmergeJob = defineJob<{ mergeId: string; ip: string }, { cards: number }, { next: number }>({
  type: 'card-unmerge',
  cancelRefusal: {
    ru: 'Отмену объединения нельзя остановить на полпути: карточки уже восстановлены, часть ссылок уже возвращена. Дождитесь окончания.',
    en: 'Undoing a merge cannot be stopped halfway: the cards are back and some references already point to them again. Wait until it finishes.',
  },
  failureMessage: (job, locale) =>
    say(
      locale,
      `Возвращены не все ссылки на восстановленные карточки: ${job.progress.done.toLocaleString('ru')} из ${(job.progress.total ?? job.progress.done).toLocaleString('ru')}. Объединение отменено; остальные ссылки пока указывают на оставшуюся карточку. Нажмите «Продолжить с места остановки».`,
      `Not every reference was pointed back to the restored cards: ${job.progress.done.toLocaleString('en')} of ${(job.progress.total ?? job.progress.done).toLocaleString('en')}. The merge is undone; the other references still point to the card that stayed. Press “Continue from where it stopped”.`,
    ),
  retryRefusal: async () => null,
  run: pointReferencesBack,
});

/**
 * A survivor deleted for good gives the cards merged into it the references the merge re-pointed
 * from them (those nobody changed since): restoring such a card from the trash brings back its
 * contact persons, proposals and contracts with its values, rather than leaving them pointing to a
 * card that no longer exists. Queued by the purge in its transaction, for whoever purged; the
 * references go back batch by batch as an undo's do, each card's history recording it.
 */
export const survivorPurgedJob = defineJob<{ mergeId: string; ip: string }, { cards: number }, { next: number }>({
  type: 'merge-survivor-purged',
  cancelRefusal: {
    ru: 'Возврат ссылок объединённым карточкам нельзя остановить на полпути: та карточка удалена навсегда. Дождитесь окончания.',
    en: 'Giving the references back to the merged cards cannot be stopped halfway: the card they pointed to was deleted for good. Wait until it finishes.',
  },
  failureMessage: (job, locale) =>
    say(
      locale,
      `Возвращены не все ссылки объединённым карточкам: ${job.progress.done.toLocaleString('ru')} из ${(job.progress.total ?? job.progress.done).toLocaleString('ru')}. Остальные пока указывают на удалённую навсегда карточку. Нажмите «Продолжить с места остановки».`,
      `Not every reference was given back to the merged cards: ${job.progress.done.toLocaleString('en')} of ${(job.progress.total ?? job.progress.done).toLocaleString('en')}. The others still point to the card deleted for good. Press “Continue from where it stopped”.`,
    ),
  retryRefusal: async () => null,
  run: pointReferencesBack,
});

/** What a merge's running job (re-pointing references) or its undo's job refuses, and how it says so. */
const REFUSED_WHILE_REPOINTING = {
  merge: {
    job: [
      'Объединить нельзя: прошлое объединение этих карточек ещё перенаправляет ссылки — дождитесь окончания',
      'The cards cannot be merged yet: their earlier merge is still re-pointing references; wait until it finishes',
    ],
    undoJob: [
      'Объединить нельзя: отмена прошлого объединения этих карточек ещё возвращает ссылки — дождитесь окончания',
      'The cards cannot be merged yet: the undo of their earlier merge is still pointing references back; wait until it finishes',
    ],
  },
  purge: {
    job: [
      'Удалить навсегда нельзя: объединение с этой карточкой ещё перенаправляет ссылки — дождитесь окончания',
      'The card cannot be deleted for good yet: a merge with it is still re-pointing references; wait until it finishes',
    ],
    undoJob: [
      'Удалить навсегда нельзя: отмена объединения с этой карточкой ещё возвращает ссылки — дождитесь окончания',
      'The card cannot be deleted for good yet: the undo of a merge with it is still pointing references back; wait until it finishes',
    ],
  },
} as const;

/**
 * CONFLICT when one of these cards belongs to a merge whose background job is still re-pointing
 * references to its survivor, or whose undo's job is still pointing them back: merging them again
 * meanwhile would mix the two (the first job would point references at a card gone to the trash),
 * and purging one would leave the job's references at a card that no longer exists.
 */
export async function refuseWhileRepointing(actor: Actor, cardIds: Types.ObjectId[], action: keyof typeof REFUSED_WHILE_REPOINTING = 'merge'): Promise<void> {
  const merges = await Merge.find(
    { $or: [{ 'survivor.cardId': { $in: cardIds } }, { 'merged.cardId': { $in: cardIds } }], $and: [{ $or: [{ jobId: { $ne: null } }, { undoJobId: { $ne: null } }] }] },
    { jobId: 1, undoJobId: 1 },
  ).lean<Pick<MergeDoc, 'jobId' | 'undoJobId'>[]>();
  if (merges.length === 0) return;
  const running = async (ids: (Types.ObjectId | null | undefined)[]) => {
    const jobs = ids.filter((id): id is Types.ObjectId => Boolean(id));
    return jobs.length > 0 && Boolean(await Job.exists({ _id: { $in: jobs }, state: { $in: ['queued', 'running'] } }));
  };
  for (const job of ['jobId', 'undoJobId'] as const) {
    if (await running(merges.map((merge) => merge[job]))) {
      const [ru, en] = REFUSED_WHILE_REPOINTING[action][job === 'jobId' ? 'job' : 'undoJob'];
      throw new AppError('CONFLICT', t(actor, ru, en));
    }
  }
}
