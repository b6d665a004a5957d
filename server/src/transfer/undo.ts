/**
 * Undoing an import, as a background job: every card it created goes to the trash, and every
 * field it overwrote gets its earlier value back — unless someone changed that field since, which
 * is then kept (and counted). Each batch is one transaction with its history (marked
 * `via: import-undo`) and marks its import rows undone, so a resumed undo goes on where it was.
 */
import { Types, type ClientSession } from 'mongoose';
import { cardSubject } from '../access/ability';
import { actorFollowingAccess, actorOfUser, type Actor } from '../access/actor';
import { recordAudit } from '../audit/service';
import type { CardTypeDefinition, CardValues } from '../../../card-types';
import { findCardType } from '../card-types/registry';
import { Card, type CardDoc } from '../cards/model';
import { commitCardBatch, updatedCardFields, type BatchedCardWrite } from '../cards/service';
import { AppError, notFound } from '../errors';
import { HistoryEntry, type HistoryEntryDoc } from '../history/model';
import { defineJob } from '../jobs/define';
import { Job, type JobDoc } from '../jobs/model';
import { retryJob } from '../jobs/service';
import type { JobView } from '../jobs/view';
import { jobView } from '../jobs/view';
import { readsAfterOwnBatch, recordOwnBatch, type KeptUnread } from '../unread/service';
import type { ImportParams } from './import';
import { releaseImportUpload } from './files';
import { ImportRow, undoKey, type ImportOutcome, type ImportRowDoc } from './model';

export interface UndoParams {
  importId: string;
  ip: string;
}

export interface UndoResult {
  /** Cards the import created, now in the trash. */
  trashed: number;
  /** Cards whose overwritten fields got their earlier values back. */
  restored: number;
  /** Of those restored, cards that kept a field someone changed since the import (that field was left as they made it). */
  restoredInPart: number;
  /** Cards left as they are: changed since by someone, already in the trash, gone, or out of the user's rights. */
  kept: number;
}

const BATCH = 250;
const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * The values an undo writes back — each field the import wrote and nobody changed since gets its
 * value from before (null: none) — and whether a field someone changed since was left.
 */
function restoredValues(card: CardDoc, row: ImportRowDoc): { values: CardValues | null; keptChanged: boolean } {
  const values: CardValues = { ...card.values };
  let changed = false;
  let keptChanged = false;
  for (const [key, written] of Object.entries(row.after ?? {})) {
    if (!same(card.values[key], written)) {
      keptChanged = true;
      continue;
    }
    const before = row.before?.[key];
    if (before === null || before === undefined) delete values[key];
    else values[key] = before as CardValues[string];
    changed = true;
  }
  return { values: changed ? values : null, keptChanged };
}

/** What became of a row's card, as stored on the row: a card restored in part counts among the restored too. */
/**
 * Whether a card the import created is as the import made it: never saved since, or saved only by
 * imports and their undos and put back — a later import overwrote it and was undone — so its folder
 * and values are those its history's first entry records (s13 user U5: such cards stayed behind).
 */
async function asCreated(card: CardDoc, session: ClientSession): Promise<boolean> {
  if (card.version === 1) return true;
  const created = await HistoryEntry.findOne({ cardId: card._id, seq: 1 }, { folderId: 1, changes: 1 }).session(session).lean<Pick<HistoryEntryDoc, 'folderId' | 'changes'>>();
  if (!created?.folderId.equals(card.folderId)) return false;
  const createdValues = new Map(created.changes.map((change) => [change.key, change.after]));
  const keys = new Set([...createdValues.keys(), ...Object.keys(card.values)]);
  if (![...keys].every((key) => same(card.values[key], createdValues.get(key)))) return false;
  // A person's save, even one put back since, is someone's work on the card (s13 re-attack B3).
  const byHand = await HistoryEntry.exists({ cardId: card._id, seq: { $gt: 1 }, via: { $nin: ['import', 'import-undo'] } }).session(session);
  return byHand === null;
}

type UndoOutcome = 'trashed' | 'restored' | 'restoredInPart' | 'kept';
const UNDO_OUTCOMES: UndoOutcome[] = ['trashed', 'restored', 'restoredInPart', 'kept'];

/**
 * Undoes one row in the batch's transaction → what became of its card. A card the import created
 * goes to the trash unless someone changed it since (then it is kept, as an overwritten field
 * changed since is); the importer may trash such an unchanged card of his own import with the
 * right to edit (it undoes his own work), anyone else needs the right to delete. Overwritten
 * fields get their values back where they still hold the import's.
 */
async function undoRow(
  actor: Actor,
  type: CardTypeDefinition | null,
  card: CardDoc | undefined,
  row: ImportRowDoc,
  session: ClientSession,
  writes: BatchedCardWrite[],
  now: Date,
): Promise<UndoOutcome> {
  if (!card || !type || card.inTrash) return 'kept';
  if (row.outcome === 'created') {
    const unchanged = await asCreated(card, session);
    const ownWork = unchanged && String(card.createdBy) === actor.userId && actor.ability.can('update', cardSubject(card));
    if (!unchanged || !(ownWork || actor.ability.can('delete', cardSubject(card)))) return 'kept';
    const after = await Card.findOneAndUpdate(
      { _id: card._id, version: card.version },
      {
        $set: { inTrash: true, trashedAt: now, trashedBy: new Types.ObjectId(actor.userId), updatedBy: new Types.ObjectId(actor.userId), updatedAt: now },
        $inc: { version: 1 },
      },
      { session, returnDocument: 'after', lean: true, timestamps: false },
    ).lean<CardDoc>();
    if (!after) throw new AppError('CONFLICT', t(actor, `Карточку «${card.title}» только что изменили`, `The card “${card.title}” was changed meanwhile`));
    writes.push({ type, action: 'trash', before: card, after });
    return 'trashed';
  }
  if (!actor.ability.can('update', cardSubject(card))) return 'kept';
  const { values, keptChanged } = restoredValues(card, row);
  if (!values) return 'kept';
  const after = await Card.findOneAndUpdate(
    { _id: card._id, version: card.version },
    { $set: updatedCardFields(actor, type, card.values, values, now), $inc: { version: 1 } },
    { session, returnDocument: 'after', lean: true, timestamps: false },
  ).lean<CardDoc>();
  if (!after) throw new AppError('CONFLICT', t(actor, `Карточку «${card.title}» только что изменили`, `The card “${card.title}” was changed meanwhile`));
  writes.push({ type, action: 'update', before: card, after });
  return keptChanged ? 'restoredInPart' : 'restored';
}

/** What the undo did so far, from its rows (an undo continued after a restart or a failure counts its earlier runs too). */
async function undoneSoFar(importId: Types.ObjectId): Promise<UndoResult> {
  const result: UndoResult = { trashed: 0, restored: 0, restoredInPart: 0, kept: 0 };
  const grouped = await ImportRow.aggregate<{ _id: UndoOutcome; count: number }>([
    { $match: { importId, undoneAt: { $ne: null } } },
    { $group: { _id: '$undoOutcome', count: { $sum: 1 } } },
  ]);
  for (const group of grouped) {
    if (!UNDO_OUTCOMES.includes(group._id)) continue;
    result[group._id] += group.count;
    if (group._id === 'restoredInPart') result.restored += group.count;
  }
  return result;
}

export const undoImportJob = defineJob<UndoParams, UndoResult>({
  type: 'import-undo',
  // A failed undo (the database gone for a while, …) goes on from the rows not yet undone.
  retryRefusal: async () => null,
  async run(ctx) {
    const throwGone = (): never => {
      throw new Error('the user who asked for the undo is gone or deactivated');
    };
    let actor: Actor = (await actorOfUser(ctx.ownerId, ctx.params.ip, { activeOnly: true })) ?? throwGone();
    // The user's rights are asked again before each batch whenever the access structure changed
    // since: the rows of cards no longer hers to trash or edit are kept (counted so), and a
    // deactivated user's undo stops — 2,500 of 3,000 cards were trashed after her only right was
    // taken away (s16 attack A1).
    const actorNow = await actorFollowingAccess(actor, ctx.ownerId, ctx.params.ip);
    const importId = new Types.ObjectId(ctx.params.importId);
    const written: ImportOutcome[] = ['created', 'updated'];
    const pending = { importId, outcome: { $in: written }, undoneAt: null };
    const total = await ImportRow.countDocuments({ importId, outcome: { $in: written } });
    let done = total - (await ImportRow.countDocuments(pending));
    ctx.progress(done, total);
    const types = new Map<string, CardTypeDefinition | null>();
    const typeOf = async (key: string) => {
      if (!types.has(key)) types.set(key, await findCardType(key));
      return types.get(key) ?? null;
    };
    for (;;) {
      ctx.signal.throwIfAborted();
      const rows = await ImportRow.find(pending).sort({ row: 1 }).limit(BATCH).lean<ImportRowDoc[]>();
      if (rows.length === 0) break;
      actor = (await actorNow()) ?? throwGone();
      const now = new Date();
      let keptUnread: KeptUnread[] = [];
      const changes = await commitCardBatch(
        { actor, logger: ctx.logger },
        async (session) => {
          // Read in the transaction: a colleague's edit committed meanwhile is a write conflict,
          // and the transaction runs again on the cards as they are then.
          const cards = new Map(
            (
              await Card.find({ _id: { $in: rows.map((row) => row.cardId) } })
                .session(session)
                .lean<CardDoc[]>()
            ).map((card) => [String(card._id), card]),
          );
          const writes: BatchedCardWrite[] = [];
          const outcomes = new Map<UndoOutcome, Types.ObjectId[]>(UNDO_OUTCOMES.map((outcome) => [outcome, []]));
          for (const row of rows) {
            const card = cards.get(String(row.cardId));
            const outcome = await undoRow(actor, card ? await typeOf(card.typeKey) : null, card, row, session, writes, now);
            outcomes.get(outcome)!.push(row._id);
          }
          for (const [outcome, ids] of outcomes) {
            if (ids.length > 0) await ImportRow.updateMany({ _id: { $in: ids } }, { $set: { undoneAt: now, undoOutcome: outcome } }, { session });
          }
          return writes;
        },
        // The values given back are not new to the one who undid the import.
        {
          via: { kind: 'import-undo', id: ctx.params.importId },
          heldJob: ctx.holdJob,
          alsoInside: async (batch, session) => {
            keptUnread = await recordOwnBatch(batch, session);
          },
        },
      );
      readsAfterOwnBatch(changes, keptUnread);
      done += rows.length;
      ctx.progress(done, total);
    }
    const result = await undoneSoFar(importId);
    const job = await Job.findById(importId, { params: 1 }).lean<Pick<JobDoc, 'params'>>();
    const params = job?.params as unknown as ImportParams | undefined;
    await recordAudit(
      { userId: actor.userId, login: actor.login, ip: ctx.params.ip },
      {
        kind: 'import-undone',
        targetType: 'Folder',
        targetId: params?.folderId ?? '',
        summary: `${params?.fileName ?? ''}: ${t(actor, 'в корзину', 'to the trash')} ${result.trashed}, ${t(actor, 'восстановлено', 'restored')} ${result.restored} (${t(actor, 'с полями, изменёнными после импорта', 'with fields changed since')} ${result.restoredInPart}), ${t(actor, 'оставлено', 'kept')} ${result.kept}`,
        after: { importId: ctx.params.importId, ...result },
      },
    );
    return result;
  },
});

/**
 * Starts undoing an import of the actor's (administrators: anyone's) that wrote something; an undo
 * already asked for is returned instead of a second one, and continued if it had failed.
 */
export async function requestUndo(actor: Actor, importId: string): Promise<JobView> {
  const job = Types.ObjectId.isValid(importId) ? await Job.findById(importId).lean<JobDoc>() : null;
  const params = job?.params as unknown as ImportParams | undefined;
  if (!job || job.type !== 'import' || params?.dryRun !== false || (String(job.ownerId) !== actor.userId && !actor.isAdmin)) throw notFound(actor, t(actor, 'Импорт', 'Import'));
  if (!['succeeded', 'cancelled', 'failed'].includes(job.state)) {
    throw new AppError('CONFLICT', t(actor, 'Импорт ещё идёт: отмените его или дождитесь конца', 'The import is still running: cancel it or wait for its end'));
  }
  const earlier = await Job.findOne({ uniqueKey: { $eq: undoKey(importId), $type: 'string' } }).lean<JobDoc>();
  // One that failed goes on from where it stopped.
  if (earlier?.state === 'failed') return jobView((await retryJob(String(earlier._id), actor.locale, { userId: actor.userId, ip: actor.ip }))!);
  if (earlier) return jobView(earlier);
  // A failed import kept its upload to go on from where it stopped; undone, it will not go on.
  if (job.state === 'failed') await releaseImportUpload(importId, params.uploadId);
  return undoImportJob.enqueue(actor.userId, { importId, ip: actor.ip }, { uniqueKey: undoKey(importId) });
}
