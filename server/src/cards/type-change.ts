/**
 * Changing a card type at scale: the dry run of a field change counted over the field's distinct
 * values (one aggregation, never every card in the server's memory), and the per-card work of a
 * saved change — converted and filled-in values, titles and search text — as a background job in
 * batches, each one transaction with its history entries, resumable from the last card it wrote.
 */
import type { ClientSession } from 'mongoose';
import { Types } from 'mongoose';
import { isEmptyValue, ownValue, type CardTypeDefinition, type FieldDefinition, type Locale, type StoredValue } from '../../../card-types';
import { fieldChangePlanner, valueChanges, type DuplicateGroup, type FieldChangePlanner, type ValueFailure } from '../../../card-types/definitions';
import { buildActor } from '../access/actor';
import { CardTypeRecord } from '../card-types/registry';
import { defineJob } from '../jobs/define';
import { Job, type JobDoc } from '../jobs/model';
import { User } from '../people/models';
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
  safe: boolean;
}

/** How many entries of each list a dry run carries (the API's `first` is at most this). */
export const REPORT_PAGE = 200;
/** Card ids listed for the duplicate groups of a page, in all. */
const DUPLICATE_IDS = 1000;

const liveCards = (typeKey: string) => ({ typeKey, inTrash: false });

/** Cards of a type outside the trash whose stored value of `key` is one of `values` (null: none stored). */
function holding(typeKey: string, key: string, values: unknown[]) {
  const path = `values.${key}`;
  const stored = values.filter((value) => !isEmptyValue(value));
  const alternatives: Record<string, unknown>[] = [];
  if (stored.length < values.length) alternatives.push({ [path]: { $exists: false } });
  if (stored.length > 0) alternatives.push({ [path]: { $in: stored } });
  return { ...liveCards(typeKey), ...(alternatives.length === 1 ? alternatives[0] : { $or: alternatives }) };
}

interface ValueGroup {
  /** The stored value (null: none). */
  value: unknown;
  count: number;
}

/**
 * The distinct stored values of a field among a type's cards outside the trash, with how many
 * cards hold each: the field's values alone stream through a cursor, and only the distinct ones
 * are kept (a million cards of a dozen segments hold a dozen entries).
 */
async function valueGroups(typeKey: string, key: string): Promise<ValueGroup[]> {
  const groups = new Map<string, ValueGroup>();
  const cursor = Card.find(liveCards(typeKey), { [`values.${key}`]: 1, _id: 0 })
    .lean<Pick<CardDoc, 'values'>>()
    .cursor({ batchSize: 2000 });
  for await (const card of cursor) {
    const value = ownValue(card.values, key) ?? null;
    const id = JSON.stringify(value);
    const group = groups.get(id);
    if (group) group.count += 1;
    else groups.set(id, { value, count: 1 });
  }
  return [...groups.values()];
}

/** Cards of a type outside the trash that hold no value of `key` (absent, null, blank text, an empty list: `isEmptyValue`). */
export function lackingValue(typeKey: string, key: string) {
  const path = `values.${key}`;
  return { ...liveCards(typeKey), $or: [{ [path]: { $in: [null, []] } }, { [path]: { $regex: '^\\s*$' } }] };
}

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
 * A change that only asks for values, planned by the database: the cards lacking one are counted
 * and the first page of them listed by a query, instead of every stored value passing through
 * here. They get the fill-in value, or are missing unless accepted.
 */
async function planLackingValues(typeKey: string, key: string, planner: FieldChangePlanner, report: FieldChangeReport): Promise<FieldChangeReport> {
  const lacking = lackingValue(typeKey, key);
  const count = await Card.countDocuments(lacking);
  const filled = planner.apply(null);
  if ('value' in filled && filled.value !== undefined) report.updates = count;
  else if (planner.required && count > 0) {
    report.missingCount = count;
    report.missingAccepted = planner.missingMayStay;
    const first = await Card.find(lacking, { _id: 1 }).sort({ _id: 1 }).limit(REPORT_PAGE).lean<Pick<CardDoc, '_id'>[]>();
    report.missing = first.map((card) => String(card._id));
  }
  report.safe = report.missingCount === 0 || report.missingAccepted;
  return report;
}

/**
 * Plans changing field `from` into `to` against the cards of a type: the stored values are
 * grouped (a new field has none, so the cards are only counted, from an index), each distinct
 * value is planned once, and the first page of each list is read by value. `planFieldChange` of the kernel gives the same answer card by card.
 */
export async function planFieldOverCards(
  typeKey: string,
  from: FieldDefinition | undefined,
  to: FieldDefinition,
  locale: Locale,
  fill: StoredValue | undefined,
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
    safe: false,
  };
  if (!planner.allowed) return report;
  if (planner.noOp) return null;
  // (One value filled into every card lacking one would repeat it: a unique field's fill-in value is planned by value.)
  if (from && (fill === undefined || to.unique !== true) && onlyAsksForValues(from, to)) return planLackingValues(typeKey, to.key, planner, report);
  const groups: ValueGroup[] = from
    ? await valueGroups(typeKey, to.key)
    : [{ value: null, count: await Card.countDocuments(liveCards(typeKey)) }].filter((group) => group.count > 0);

  const failing: { value: unknown; reason: string }[] = [];
  const empty: unknown[] = [];
  const holders = new Map<string, { value: StoredValue; count: number; raw: unknown[] }>();
  for (const group of groups) {
    const outcome = planner.apply(group.value);
    if ('error' in outcome) {
      report.failureCount += group.count;
      failing.push({ value: group.value, reason: outcome.error });
      continue;
    }
    if (valueChanges(group.value, outcome.value)) report.updates += group.count;
    if (outcome.value === undefined) {
      if (planner.required) {
        report.missingCount += group.count;
        empty.push(group.value);
      }
    } else if (planner.unique) {
      const key = JSON.stringify(outcome.value);
      const holder = holders.get(key) ?? { value: outcome.value, count: 0, raw: [] };
      holder.count += group.count;
      holder.raw.push(group.value);
      holders.set(key, holder);
    }
  }
  const repeated = [...holders.values()].filter((holder) => holder.count > 1);
  report.duplicateCount = repeated.length;
  report.missingAccepted = report.missingCount > 0 && planner.missingMayStay;
  report.safe = report.failureCount === 0 && (report.missingCount === 0 || report.missingAccepted) && report.duplicateCount === 0;
  await listFirstPages(typeKey, to.key, planner, report, { failing, empty, repeated });
  return report;
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
      if ('error' in outcome) return null;
      if (outcome.value === undefined ? planner.required && !planner.missingMayStay : newlyUnique) return null;
      if (valueChanges(value, outcome.value)) rewritten = true;
    }
    if (rewritten) rewrites.push({ from: from ?? null, to, ...(fill !== undefined && { fill }) });
  }
  return rewrites;
}

/** The first page of each list of a report, read by the values found (in the order of card ids). */
async function listFirstPages(
  typeKey: string,
  key: string,
  planner: FieldChangePlanner,
  report: FieldChangeReport,
  found: { failing: { value: unknown; reason: string }[]; empty: unknown[]; repeated: { value: StoredValue; raw: unknown[] }[] },
): Promise<void> {
  const path = `values.${key}`;
  const read = (values: unknown[], limit: number) =>
    Card.find(holding(typeKey, key, values), { [path]: 1 })
      .sort({ _id: 1 })
      .limit(limit)
      .lean<Pick<CardDoc, '_id' | 'values'>[]>();
  if (found.failing.length > 0) {
    const reasons = new Map(found.failing.map((failure) => [JSON.stringify(failure.value), failure.reason]));
    const cards = await read(
      found.failing.slice(0, REPORT_PAGE).map((failure) => failure.value),
      REPORT_PAGE,
    );
    report.failures = cards.map((card) => {
      const value = ownValue(card.values, key);
      return { cardId: String(card._id), value, reason: reasons.get(JSON.stringify(value ?? null)) ?? (planner.apply(value) as { error: string }).error };
    });
  }
  if (found.empty.length > 0) report.missing = (await read(found.empty, REPORT_PAGE)).map((card) => String(card._id));
  if (found.repeated.length > 0) {
    const page = found.repeated.slice(0, REPORT_PAGE);
    const groupOf = new Map(page.flatMap((holder, index) => holder.raw.map((raw) => [JSON.stringify(raw ?? null), index] as const)));
    const groups: DuplicateGroup[] = page.map((holder) => ({ value: holder.value, cardIds: [] }));
    for (const card of await read(
      page.flatMap((holder) => holder.raw),
      DUPLICATE_IDS,
    )) {
      const index = groupOf.get(JSON.stringify(ownValue(card.values, key) ?? null));
      if (index !== undefined) groups[index].cardIds.push(String(card._id));
    }
    report.duplicates = groups;
  }
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
    const owner = ctx.ownerId ? await User.findById(ctx.ownerId, { login: 1, fullName: 1, locale: 1 }).lean() : null;
    if (!owner) throw new Error('the administrator who saved the change is gone');
    const actor = await buildActor(owner, ctx.params.ip);
    // Read afresh, not from the registry's cache (another instance may have saved it a moment ago).
    const record = await CardTypeRecord.findOne({ key: ctx.params.typeKey }).lean();
    if (!record) throw new Error(`card type ${ctx.params.typeKey} is gone`);
    const type = record.definition as CardTypeDefinition;
    const rewrite = cardRewriter(ctx.params.fields);
    const result: Checkpoint = ctx.resumeFrom ?? { trash: false, after: '', cards: 0, changed: 0, kept: 0 };
    const total = await Card.countDocuments({ typeKey: type.key });
    ctx.progress(result.cards, total);
    const via = { kind: 'type-change' as const, id: ctx.jobId };
    for (const inTrash of [false, true]) {
      if (result.trash && !inTrash) continue;
      for (;;) {
        ctx.signal.throwIfAborted();
        const page = await Card.find({ typeKey: type.key, inTrash, ...(result.after && { _id: { $gt: new Types.ObjectId(result.after) } }) }, { _id: 1 })
          .sort({ _id: 1 })
          .limit(BATCH)
          .lean<Pick<CardDoc, '_id'>[]>();
        if (page.length === 0) break;
        const ids = page.map((card) => card._id);
        for (let attempt = 1; ; attempt += 1) {
          const counted = { kept: 0 };
          try {
            const changes = await commitCardBatch({ actor, logger: ctx.logger }, (session) => writeBatch(type, rewrite, ids, counted, session), { via });
            result.changed += changes.length;
            result.kept += counted.kept;
            break;
          } catch (error) {
            if (!(error instanceof BatchConflict) || attempt === ATTEMPTS) throw error;
          }
        }
        result.cards += page.length;
        result.after = String(ids[ids.length - 1]);
        await ctx.checkpoint({ ...result }, Math.min(result.cards, total));
      }
      result.trash = true;
      result.after = '';
    }
    return { cards: result.cards, changed: result.changed, kept: result.kept };
  },
});

/**
 * One batch inside its transaction: the cards as they are now, their values rewritten, titles and
 * search text derived anew, each write conditional on the version read (a card someone saved
 * meanwhile is never overwritten: the batch is read again). A card whose values change gets a new
 * version and a history entry; one whose title or search text only follows the type keeps its version.
 */
async function writeBatch(type: CardTypeDefinition, rewrite: CardRewriter, ids: Types.ObjectId[], counted: { kept: number }, session: ClientSession): Promise<BatchedCardWrite[]> {
  const cards = await Card.find({ _id: { $in: ids }, typeKey: type.key })
    .session(session)
    .lean<CardDoc[]>();
  const writes: BatchedCardWrite[] = [];
  const operations = [];
  for (const card of cards) {
    const { values, kept } = rewrite(card.values ?? {});
    counted.kept += kept;
    const next = derived(type, values, 'ru');
    const valuesChange = JSON.stringify(values) !== JSON.stringify(card.values ?? {});
    if (!valuesChange && sameDerived(card, next)) continue;
    const set = valuesChange ? { ...next, values } : next;
    operations.push({ updateOne: { filter: { _id: card._id, version: card.version }, update: { $set: set, ...(valuesChange && { $inc: { version: 1 } }) } } });
    if (valuesChange) writes.push({ type, action: 'update', before: card, after: { ...card, ...set, version: card.version + 1 } });
  }
  if (operations.length === 0) return [];
  const written = await Card.bulkWrite(operations, { session, timestamps: false, ordered: false });
  if (written.matchedCount !== operations.length) throw new BatchConflict();
  return writes;
}
