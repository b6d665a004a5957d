/**
 * Undoing an import, as a background job: every card it created goes to the trash, and every
 * field it overwrote gets its earlier value back — unless someone changed that field since, which
 * is then kept (and counted). Each batch is one transaction with its history (marked
 * `via: import-undo`) and marks its import rows undone, so a resumed undo goes on where it was.
 */
import { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import { actorOfUser, type Actor } from '../access/actor';
import { recordAudit } from '../audit/service';
import type { CardTypeDefinition, CardValues } from '../../../card-types';
import { findCardType } from '../card-types/registry';
import { Card, type CardDoc } from '../cards/model';
import { commitCardBatch, updatedCardFields, type BatchedCardWrite } from '../cards/service';
import { AppError, notFound } from '../errors';
import { defineJob } from '../jobs/define';
import { Job, type JobDoc } from '../jobs/model';
import type { JobView } from '../jobs/view';
import { jobView } from '../jobs/view';
import type { ImportParams } from './import';
import { ImportRow, type ImportOutcome, type ImportRowDoc } from './model';

export interface UndoParams {
  importId: string;
  ip: string;
}

export interface UndoResult {
  /** Cards the import created, now in the trash. */
  trashed: number;
  /** Cards whose overwritten fields got their earlier values back. */
  restored: number;
  /** Cards left as they are: changed since by someone, already in the trash, gone, or out of the user's rights. */
  kept: number;
}

const BATCH = 250;
const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The values an undo writes back: each field the import wrote and nobody changed since gets its value from before. */
function restoredValues(card: CardDoc, row: ImportRowDoc): CardValues | null {
  const values: CardValues = { ...card.values };
  let changed = false;
  for (const [key, written] of Object.entries(row.after ?? {})) {
    if (!same(card.values[key], written)) continue;
    const before = row.before?.[key];
    if (before === null || before === undefined) delete values[key];
    else values[key] = before as CardValues[string];
    changed = true;
  }
  return changed ? values : null;
}

export const undoImportJob = defineJob<UndoParams, UndoResult>({
  type: 'import-undo',
  async run(ctx) {
    const actor = await actorOfUser(ctx.ownerId, ctx.params.ip, { activeOnly: true });
    if (!actor) throw new Error('the user who asked for the undo is gone or deactivated');
    const importId = new Types.ObjectId(ctx.params.importId);
    const written: ImportOutcome[] = ['created', 'updated'];
    const pending = { importId, outcome: { $in: written }, undoneAt: null };
    const result: UndoResult = { trashed: 0, restored: 0, kept: 0 };
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
      const cards = new Map((await Card.find({ _id: { $in: rows.map((row) => row.cardId) } }).lean<CardDoc[]>()).map((card) => [String(card._id), card]));
      const now = new Date();
      const counts = { trashed: 0, restored: 0, kept: 0 };
      await commitCardBatch(
        { actor, logger: ctx.logger },
        async (session) => {
          const writes: BatchedCardWrite[] = [];
          for (const row of rows) {
            const card = cards.get(String(row.cardId));
            const type = card && (await typeOf(card.typeKey));
            if (!card || !type || card.inTrash) {
              counts.kept += 1;
              continue;
            }
            if (row.outcome === 'created') {
              if (!actor.ability.can('delete', cardSubject(card))) {
                counts.kept += 1;
                continue;
              }
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
              counts.trashed += 1;
              continue;
            }
            const values = actor.ability.can('update', cardSubject(card)) ? restoredValues(card, row) : null;
            if (!values) {
              counts.kept += 1;
              continue;
            }
            const after = await Card.findOneAndUpdate(
              { _id: card._id, version: card.version },
              { $set: updatedCardFields(actor, type, card.values, values, now), $inc: { version: 1 } },
              { session, returnDocument: 'after', lean: true, timestamps: false },
            ).lean<CardDoc>();
            if (!after) throw new AppError('CONFLICT', t(actor, `Карточку «${card.title}» только что изменили`, `The card “${card.title}” was changed meanwhile`));
            writes.push({ type, action: 'update', before: card, after });
            counts.restored += 1;
          }
          await ImportRow.updateMany({ _id: { $in: rows.map((row) => row._id) } }, { $set: { undoneAt: now } }, { session });
          return writes;
        },
        { via: { kind: 'import-undo', id: ctx.params.importId } },
      );
      result.trashed += counts.trashed;
      result.restored += counts.restored;
      result.kept += counts.kept;
      done += rows.length;
      ctx.progress(done, total);
    }
    const job = await Job.findById(importId, { params: 1 }).lean<Pick<JobDoc, 'params'>>();
    const params = job?.params as unknown as ImportParams | undefined;
    await recordAudit(
      { userId: actor.userId, login: actor.login, ip: ctx.params.ip },
      {
        kind: 'import-undone',
        targetType: 'Folder',
        targetId: params?.folderId ?? '',
        summary: `${params?.fileName ?? ''}: ${t(actor, 'в корзину', 'to the trash')} ${result.trashed}, ${t(actor, 'восстановлено', 'restored')} ${result.restored}, ${t(actor, 'оставлено', 'kept')} ${result.kept}`,
        after: { importId: ctx.params.importId, ...result },
      },
    );
    return result;
  },
});

/** The undo of an import is one job per import: its key (`$type` in a query on it lets MongoDB use the partial index). */
export const undoKey = (importId: string) => `import-undo:${importId}`;

/**
 * Starts undoing an import of the actor's (administrators: anyone's) that wrote something; an undo
 * already asked for is returned instead of a second one.
 */
export async function requestUndo(actor: Actor, importId: string): Promise<JobView> {
  const job = Types.ObjectId.isValid(importId) ? await Job.findById(importId).lean<JobDoc>() : null;
  const params = job?.params as unknown as ImportParams | undefined;
  if (!job || job.type !== 'import' || params?.dryRun !== false || (String(job.ownerId) !== actor.userId && !actor.isAdmin)) throw notFound(actor, t(actor, 'Импорт', 'Import'));
  if (!['succeeded', 'cancelled', 'failed'].includes(job.state)) {
    throw new AppError('CONFLICT', t(actor, 'Импорт ещё идёт: отмените его или дождитесь конца', 'The import is still running: cancel it or wait for its end'));
  }
  const earlier = await Job.findOne({ uniqueKey: { $eq: undoKey(importId), $type: 'string' } }).lean<JobDoc>();
  if (earlier) return jobView(earlier);
  return undoImportJob.enqueue(actor.userId, { importId, ip: actor.ip }, { uniqueKey: undoKey(importId) });
}
