/**
 * Changing a card type at scale: the dry run of a field change — the database counts and lists the
 * cards lacking a value, one cursor streams the field's values of the others (the field alone, in
 * large batches, each distinct value planned once, the first examples kept) — and the per-card work of a
 * saved change — converted and filled-in values, titles and search text — as a background job in
 * batches, each one transaction with its history entries, resumable from the last card it wrote.
 */
import type { AnyBulkWriteOperation } from 'mongodb';
import type { ClientSession } from 'mongoose';
import { Types } from 'mongoose';
import { formatValue, isEmptyValue, ownValue, type CardTypeDefinition, type FieldDefinition, type Locale, type StoredValue } from '../../../card-types';
import { fieldChangePlanner, valueChanges, type DuplicateGroup, type FieldChangePlanner, type ValueFailure, type ValueOutcome } from '../../../card-types/definitions';
import { actorOfUser, type Actor } from '../access/actor';
import { CardTypeRecord } from '../card-types/registry';
import { defineJob, type JobContext } from '../jobs/define';
import { Job, type JobDoc } from '../jobs/model';
import { Card, type CardDoc } from './model';
import { commitCardBatch, derived, type BatchedCardWrite } from './service';
import { cardRewriter, pendingTypeChange, TYPE_CHANGE_JOB, type CardRewriter, type FieldRewrite } from './type-rewrite';

export { pendingTypeChange, type FieldRewrite } from './type-rewrite';

/** What a field change would do to the stored cards: counts in full, lists a first page long. */
export interface FieldChangeReport {
  key: string;
  allowed: boolean;
  refusal?: string;
  /** Cards whose value would be rewritten into the new form or filled in. */
  updates: number;
  failures: ValueFailure[];
  failureCount: number;
  missing: string[];
  missingCount: number;
  missingAccepted: boolean;
  duplicates: DuplicateGroup[];
  duplicateCount: number;
  /** Values that convert into something that reads differently («007» → 7): the first page of them, distinct, as shown before and after. */
  altered: AlteredValue[];
  /** Cards holding such values. */
  alteredCount: number;
  /** The administrator accepted the altered values (`acceptAltered`). */
  alteredAccepted: boolean;
  safe: boolean;
}

/** A stored value a conversion would change in what a person reads, and how many cards hold it. */
export interface AlteredValue {
  value: unknown;
  /** The value as shown now (in the old field) and as it would be shown (in the changed one). */
  was: string;
  becomes: string;
  cards: number;
}

/** How many entries of each list a dry run carries (the API's `first` is at most this). */
export const REPORT_PAGE = 200;
/** Card ids listed for the duplicate groups of a page, in all. */
const DUPLICATE_IDS = 1000;

const liveCards = (typeKey: string) => ({ typeKey, inTrash: false });

/** What holds no value (absent, null, blank text, an empty list: `isEmptyValue`), as a filter. */
const emptyValue = (path: string) => [{ [path]: { $in: [null, []] } }, { [path]: { $regex: '^\\s*$' } }];

/** Cards of a type outside the trash that hold no value of `key`. */
export function lackingValue(typeKey: string, key: string) {
  return { ...liveCards(typeKey), $or: emptyValue(`values.${key}`) };
}

/** Cards of a type outside the trash that hold a value of `key`: every other one. */
function holdingValue(typeKey: string, key: string) {
  return { ...liveCards(typeKey), $nor: emptyValue(`values.${key}`) };
}

/** Cards per batch of the cursor over a field's values (each a few dozen bytes: the id and the value). */
const SCAN_BATCH = 10_000;
/** Distinct values whose outcome is remembered while scanning (planned once each); past that, forgotten and planned again. */
const REMEMBERED_OUTCOMES = 50_000;

/**
 * Whether a change keeps every stored value as it is and only asks for a value where there is none:
 * the same kind and rules but for `required`, `requiredFor` and `hidden`, and no uniqueness the
 * database did not keep already (a unique field's index is dropped while it is hidden).
 */
function onlyAsksForValues(from: FieldDefinition, to: FieldDefinition): boolean {
  if (from.kind !== to.kind || (to.unique === true && (from.unique !== true || from.hidden === true))) return false;
  return fieldChangePlanner(from, { ...to, required: from.required, requiredFor: from.requiredFor, hidden: from.hidden }).noOp;
}

/**
 * Plans changing field `from` into `to` against the cards of a type. The database answers for the
 * cards lacking a value — counted (a new field's from the index), the first page of them listed —
 * when they get the fill-in value or must have one. The values of the others stream through one
 * cursor (`scanValues`), unless the change only asks for values: then the database's answer is
 * the whole plan. `planFieldChange` of the kernel gives the same answer card by card.
 */
export async function planFieldOverCards(
  typeKey: string,
  from: FieldDefinition | undefined,
  to: FieldDefinition,
  locale: Locale,
  fill: StoredValue | undefined,
  acceptAltered = false,
): Promise<FieldChangeReport | null> {
  const planner = fieldChangePlanner(from, to, { locale, fill });
  const report: FieldChangeReport = {
    key: to.key,
    allowed: planner.allowed,
    refusal: planner.refusal,
    updates: 0,
    failures: [],
    failureCount: 0,
    missing: [],
    missingCount: 0,
    missingAccepted: false,
    duplicates: [],
    duplicateCount: 0,
    altered: [],
    alteredCount: 0,
    alteredAccepted: false,
    safe: false,
  };
  if (!planner.allowed) return report;
  if (planner.noOp) return null;
  // (One value filled into every card lacking one would repeat it: a unique field's fill-in value is checked against the stored ones.)
  const asksOnly = from !== undefined && (fill === undefined || to.unique !== true) && onlyAsksForValues(from, to);
  const lacking = from ? lackingValue(typeKey, to.key) : liveCards(typeKey);
  // The cards lacking a value matter when they get the fill-in value or must have one: the database counts them.
  const lackingCount = fill !== undefined || planner.required ? await Card.countDocuments(lacking) : 0;
  const scan = from && !asksOnly ? await scanValues(typeKey, { from, to, locale }, planner, report) : { holders: new Map<string, Holder>(), missing: [] };
  if (fill !== undefined) {
    report.updates += lackingCount;
    if (planner.unique && lackingCount > 0) addHolders(scan.holders, fill, lackingCount);
  } else report.missingCount += lackingCount;
  const firstLacking = async (limit: number) =>
    lackingCount === 0 ? [] : (await Card.find(lacking, { _id: 1 }).sort({ _id: 1 }).limit(limit).lean<Pick<CardDoc, '_id'>[]>()).map((card) => String(card._id));
  if (report.missingCount > 0) report.missing = [...scan.missing, ...(await firstLacking(REPORT_PAGE))].sort(byId).slice(0, REPORT_PAGE);
  const repeated = [...scan.holders.values()].filter((holder) => holder.count > 1);
  report.duplicateCount = repeated.length;
  report.duplicates = await duplicateGroups(repeated.slice(0, REPORT_PAGE), firstLacking);
  report.missingAccepted = report.missingCount > 0 && planner.missingMayStay;
  report.alteredAccepted = report.alteredCount > 0 && acceptAltered;
  report.safe =
    report.failureCount === 0 && (report.missingCount === 0 || report.missingAccepted) && report.duplicateCount === 0 && (report.alteredCount === 0 || report.alteredAccepted);
  return report;
}

/** Card ids in the order of the cards' creation (an ObjectId's hex text sorts as the id does). */
const byId = (a: string, b: string) => a.localeCompare(b);

/** Cards that would hold one value of a unique field: how many, and the first of their ids (the cards lacking a value, when it is theirs, are listed separately). */
interface Holder {
  value: StoredValue;
  count: number;
  cardIds: string[];
  /** The fill-in value: the cards lacking a value would hold it too. */
  filled: boolean;
}

function addHolders(holders: Map<string, Holder>, value: StoredValue, count: number, cardId?: string, key = JSON.stringify(value)): void {
  const holder = holders.get(key) ?? { value, count: 0, cardIds: [], filled: false };
  holder.count += count;
  if (cardId === undefined) holder.filled = true;
  else if (holder.cardIds.length < DUPLICATE_IDS) holder.cardIds.push(cardId);
  holders.set(key, holder);
}

/**
 * One pass over the cards holding a value of the field, in id order, with the field alone: each
 * distinct value planned once; the counts in full, and the first failures, cards left without a
 * value and distinct values the conversion alters listed as they come (no second read for
 * examples); the holders of each value of a unique field.
 */
async function scanValues(
  typeKey: string,
  { from, to, locale }: { from: FieldDefinition; to: FieldDefinition; locale: Locale },
  planner: FieldChangePlanner,
  report: FieldChangeReport,
): Promise<{ holders: Map<string, Holder>; missing: string[] }> {
  const key = to.key;
  const shown = (field: FieldDefinition, value: unknown) => (isEmptyValue(value) ? '' : formatValue(field, value as StoredValue, { locale }));
  const altered = new Map<string, AlteredValue>();
  // Per distinct value: its outcome, whether it rewrites the value, and its key among a unique field's holders.
  const outcomes = new Map<string, { outcome: ValueOutcome; changes: boolean; holder: string }>();
  const holders = new Map<string, Holder>();
  const missing: string[] = [];
  const cursor = Card.find(holdingValue(typeKey, key), { [`values.${key}`]: 1 })
    .sort({ _id: 1 })
    .lean<Pick<CardDoc, '_id' | 'values'>>()
    .cursor({ batchSize: SCAN_BATCH });
  for await (const card of cursor) {
    const value = ownValue(card.values, key);
    const seen = typeof value === 'string' ? `s${value}` : `j${JSON.stringify(value ?? null)}`;
    let planned = outcomes.get(seen);
    if (!planned) {
      const outcome = planner.apply(value);
      planned =
        'error' in outcome ? { outcome, changes: false, holder: '' } : { outcome, changes: valueChanges(value, outcome.value), holder: JSON.stringify(outcome.value ?? null) };
      if (outcomes.size >= REMEMBERED_OUTCOMES) outcomes.clear();
      outcomes.set(seen, planned);
    }
    const { outcome } = planned;
    if ('error' in outcome) {
      report.failureCount += 1;
      if (report.failures.length < REPORT_PAGE) report.failures.push({ cardId: String(card._id), value, reason: outcome.error });
      continue;
    }
    if (planned.changes) report.updates += 1;
    if (outcome.altered) {
      report.alteredCount += 1;
      const example = altered.get(seen);
      if (example) example.cards += 1;
      else if (altered.size < REPORT_PAGE) altered.set(seen, { value, was: shown(from, value), becomes: shown(to, outcome.value), cards: 1 });
    }
    if (outcome.value === undefined) {
      if (!planner.required) continue;
      report.missingCount += 1;
      if (missing.length < REPORT_PAGE) missing.push(String(card._id));
    } else if (planner.unique) addHolders(holders, outcome.value, 1, String(card._id), planned.holder);
  }
  report.altered = [...altered.values()];
  return { holders, missing };
}

/** The duplicate groups of a page, with at most `DUPLICATE_IDS` card ids in all (a group the fill-in value joins lists the cards lacking a value among them). */
async function duplicateGroups(page: Holder[], firstLacking: (limit: number) => Promise<string[]>): Promise<DuplicateGroup[]> {
  let budget = DUPLICATE_IDS;
  const groups: DuplicateGroup[] = [];
  for (const holder of page) {
    const ids = holder.filled ? [...holder.cardIds, ...(await firstLacking(budget))].sort(byId) : holder.cardIds;
    const cardIds = ids.slice(0, Math.max(budget, 0));
    budget -= cardIds.length;
    groups.push({ value: holder.value, cardIds });
  }
  return groups;
}

/** Cards changed since a dry run that the save looks at, at most; with more, it checks everything again. */
const RECHECK_MAX = 1000;
/** How long before a dry run began a card's write may have been stamped and still be committing (transactions last up to a minute), with clock skew between instances. */
const IN_FLIGHT_MS = 120_000;

/**
 * Whether a safe dry run still holds at the save, looking only at the cards changed since it began
 * reading (index `{typeKey, updatedAt}`; every card write stamps `updatedAt`, a restore from the trash too): none of them would
 * fail to convert, lack a required value, or hold a value of a field that becomes unique (that
 * needs the whole check). Answers the fields to rewrite — the dry run's, and any a changed card now
 * needs — or null when the save must plan the change over every card again.
 */
export async function rewritesSinceCheck(
  typeKey: string,
  previous: CardTypeDefinition,
  definition: CardTypeDefinition,
  fills: Map<string, StoredValue>,
  check: { checkedAt: Date; rewriteKeys: string[] },
): Promise<FieldRewrite[] | null> {
  const changed = await Card.find({ typeKey, updatedAt: { $gte: new Date(check.checkedAt.getTime() - IN_FLIGHT_MS) } }, { values: 1, inTrash: 1 })
    .limit(RECHECK_MAX + 1)
    .lean<Pick<CardDoc, '_id' | 'values' | 'inTrash'>[]>();
  if (changed.length > RECHECK_MAX) return null;
  const live = changed.filter((card) => !card.inTrash);
  const previousFields = new Map(previous.fields.map((field) => [field.key, field]));
  const rewrites: FieldRewrite[] = [];
  for (const to of definition.fields) {
    const from = previousFields.get(to.key);
    const fill = fills.get(to.key);
    const planner = fieldChangePlanner(from, to, { fill });
    if (!planner.allowed) return null;
    if (planner.noOp) continue;
    const newlyUnique = planner.unique && (from?.unique !== true || from.hidden === true);
    let rewritten = check.rewriteKeys.includes(to.key);
    for (const card of live) {
      const value = card.values?.[to.key];
      const outcome = planner.apply(value);
      // (A value that would be altered needs the administrator's consent: the whole check says so.)
      if ('error' in outcome || outcome.altered) return null;
      if (outcome.value === undefined ? planner.required && !planner.missingMayStay : newlyUnique) return null;
      if (valueChanges(value, outcome.value)) rewritten = true;
    }
    if (rewritten) rewrites.push({ from: from ?? null, to, ...(fill !== undefined && { fill }) });
  }
  return rewrites;
}

// ---------- applying a saved change ----------

export interface TypeChangeParams {
  typeKey: string;
  fields: FieldRewrite[];
  /** The administrator's address, for the history entries. */
  ip: string;
}

export interface TypeChangeResult {
  /** Cards of the type looked at. */
  cards: number;
  /** Cards whose values changed (each with its history entry while history is on). */
  changed: number;
  /** Values that would not convert (cards in the trash, which the dry run does not check), left as they were. */
  kept: number;
}

interface Checkpoint extends TypeChangeResult {
  /** Cards outside the trash come first, then those in it. */
  trash: boolean;
  /** The id of the last card written in the current pass. */
  after: string;
}

const BATCH = 250;
const ATTEMPTS = 5;

const sameDerived = (card: CardDoc, next: ReturnType<typeof derived>) =>
  card.title === next.title && card.searchText === next.searchText && JSON.stringify(card.searchKeys ?? []) === JSON.stringify(next.searchKeys);

/** Someone changed a card of the batch after it was read: the batch is read and written again. */
class BatchConflict extends Error {}

const say = (locale: Locale, ru: string, en: string) => (locale === 'ru' ? ru : en);

/**
 * Whether a failed change may be applied again from where it stopped: only while it is the type's
 * latest change, nothing else is being applied, and each field it rewrites still stands as it left it.
 */
async function resumeRefusal(job: JobDoc, locale: Locale): Promise<string | null> {
  const { typeKey, fields } = job.params as unknown as TypeChangeParams;
  const changedSince = () =>
    say(
      locale,
      'После этого изменения тип изменили снова, поэтому продолжить его нельзя. Откройте тип и сохраните его в нужном виде.',
      'The type was changed again after this change, so it cannot be continued. Open the type and save it as it should be.',
    );
  if (await Job.exists({ type: TYPE_CHANGE_JOB, 'params.typeKey': typeKey, _id: { $gt: job._id } })) return changedSince();
  const record = await CardTypeRecord.findOne({ key: typeKey }).lean();
  if (!record) return say(locale, 'Этого типа карточек больше нет.', 'This card type no longer exists.');
  const current = new Map((record.definition as CardTypeDefinition).fields.map((field) => [field.key, field]));
  const standing = fields.every(({ to }) => {
    const now = current.get(to.key);
    return now !== undefined && fieldChangePlanner(to, now).noOp;
  });
  return standing ? null : changedSince();
}

/**
 * Whose name the job writes the cards in (their history entries): the administrator who saved the
 * change, from the address they saved it from — or, once it was continued after a failure
 * (`retryJob`), the administrator who continued it, from theirs: the cards written after that are
 * their doing. So a change whose author was deactivated or deleted since is continued by another
 * administrator, and the history says by whom.
 */
async function actingAdministrator(ctx: JobContext<TypeChangeParams, Checkpoint>): Promise<Actor> {
  const by = ctx.continuedBy ?? { userId: ctx.ownerId, ip: ctx.params.ip };
  const actor = await actorOfUser(by.userId, by.ip);
  if (!actor) throw new Error('the administrator who saved the change is gone: another administrator can continue it');
  return actor;
}

export const typeChangeJob = defineJob<TypeChangeParams, TypeChangeResult, Checkpoint>({
  type: TYPE_CHANGE_JOB,
  cancelRefusal: {
    ru: 'Изменение типа нельзя отменить: определение типа уже сохранено, и остановка оставила бы часть карточек в новом виде, а часть — в прежнем. Дождитесь окончания; после него тип можно изменить снова.',
    en: 'A card type change cannot be cancelled: the type’s definition is already saved, and stopping would leave some cards in the new form and some in the old. Wait until it finishes; then the type can be changed again.',
  },
  failureMessage: (job, locale) =>
    say(
      locale,
      `Изменение типа применено не ко всем карточкам: ${job.progress.done.toLocaleString('ru')} из ${(job.progress.total ?? job.progress.done).toLocaleString('ru')}. Тип сохранён; изменённые карточки сохранены, остальные пока в прежнем виде и доступны. Нажмите «Продолжить с места остановки»: уже изменённые карточки повторно не затрагиваются. Если сбой повторится, сообщите администратору сервера номер задания ${job.id}: подробности записаны в журнал сервера.`,
      `The type change reached only some of the cards: ${job.progress.done.toLocaleString('en')} of ${(job.progress.total ?? job.progress.done).toLocaleString('en')}. The type is saved; the changed cards are kept, the others are still in their previous form and can be used. Press “Continue from where it stopped”: cards already changed are not touched again. If it fails again, give the server administrator the job number ${job.id}: the details are in the server log.`,
    ),
  retryRefusal: async (job, locale) =>
    (await pendingTypeChange((job.params as unknown as TypeChangeParams).typeKey))
      ? say(locale, 'Изменение этого типа уже применяется.', 'A change of this type is already being applied.')
      : resumeRefusal(job, locale),
  async run(ctx) {
    const actor = await actingAdministrator(ctx);
    // Read afresh, not from the registry's cache (another instance may have saved it a moment ago).
    const record = await CardTypeRecord.findOne({ key: ctx.params.typeKey }).lean();
    if (!record) throw new Error(`card type ${ctx.params.typeKey} is gone`);
    const type = record.definition as CardTypeDefinition;
    const rewrite = cardRewriter(ctx.params.fields);
    const result: Checkpoint = ctx.resumeFrom ?? { trash: false, after: '', cards: 0, changed: 0, kept: 0 };
    const total = await Card.countDocuments({ typeKey: type.key });
    ctx.progress(result.cards, total);
    const via = { kind: 'type-change' as const, id: ctx.jobId };
    const plan = (cards: CardDoc[]) => planBatch(type, rewrite, cards);
    for (const inTrash of [false, true]) {
      if (result.trash && !inTrash) continue;
      const read = (after: string) => {
        const planned = Card.find({ typeKey: type.key, inTrash, ...(after && { _id: { $gt: new Types.ObjectId(after) } }) })
          .sort({ _id: 1 })
          .limit(BATCH)
          .lean<CardDoc[]>()
          .then(plan);
        // Awaited by the next round, unless the job stops before it (then nobody waits for it).
        planned.catch(() => {});
        return planned;
      };
      let next = read(result.after);
      for (;;) {
        ctx.signal.throwIfAborted();
        let batch = await next;
        if (batch.cards.length === 0) break;
        const size = batch.cards.length;
        const last = String(batch.cards[size - 1]._id);
        // The next batch is read and planned while this one is written.
        next = read(last);
        for (let attempt = 1; ; attempt += 1) {
          try {
            const changes = await commitCardBatch({ actor, logger: ctx.logger }, (session) => writeBatch(batch, session), { via, heldJob: ctx.holdJob });
            result.changed += changes.length;
            result.kept += batch.kept;
            break;
          } catch (error) {
            if (!(error instanceof BatchConflict) || attempt === ATTEMPTS) throw error;
            batch = plan(
              await Card.find({ _id: { $in: batch.cards.map((card) => card._id) }, typeKey: type.key })
                .sort({ _id: 1 })
                .lean<CardDoc[]>(),
            );
          }
        }
        result.cards += size;
        result.after = last;
        await ctx.checkpoint({ ...result }, Math.min(result.cards, total));
      }
      result.trash = true;
      result.after = '';
    }
    return { cards: result.cards, changed: result.changed, kept: result.kept };
  },
});

/** A batch of cards as read, with the writes the change makes of them. */
interface PlannedBatch {
  cards: CardDoc[];
  /** One per card to write: its new values (when they change), title and search text, over the version read. */
  operations: AnyBulkWriteOperation[];
  /** The cards whose values change: a new version and a history entry each. */
  writes: BatchedCardWrite[];
  /** Values that would not convert, kept as they were. */
  kept: number;
}

/**
 * What the change makes of a batch of cards as read: values rewritten, titles and search text
 * derived anew. A card whose values change gets a new version and a history entry; one whose title
 * or search text only follows the type keeps its version; one the change leaves as it is is not written.
 */
function planBatch(type: CardTypeDefinition, rewrite: CardRewriter, cards: CardDoc[]): PlannedBatch {
  const planned: PlannedBatch = { cards, operations: [], writes: [], kept: 0 };
  for (const card of cards) {
    const { values, kept } = rewrite(card.values ?? {});
    planned.kept += kept;
    const next = derived(type, values, 'ru');
    const valuesChange = JSON.stringify(values) !== JSON.stringify(card.values ?? {});
    if (!valuesChange && sameDerived(card, next)) continue;
    const set = valuesChange ? { ...next, values } : next;
    planned.operations.push({ updateOne: { filter: { _id: card._id, version: card.version }, update: { $set: set, ...(valuesChange && { $inc: { version: 1 } }) } } });
    if (valuesChange) planned.writes.push({ type, action: 'update', before: card, after: { ...card, ...set, version: card.version + 1 } });
  }
  return planned;
}

/**
 * One batch inside its transaction, in one bulk write (the values are in their stored form: no
 * schema step), each write conditional on the version read: a card someone saved since is never
 * overwritten — the batch is read and planned again.
 */
async function writeBatch(batch: PlannedBatch, session: ClientSession): Promise<BatchedCardWrite[]> {
  if (batch.operations.length === 0) return [];
  const written = await Card.collection.bulkWrite(batch.operations, { session, ordered: false });
  if (written.matchedCount !== batch.operations.length) throw new BatchConflict();
  return batch.writes;
}
