import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import type { Actor } from '../access/actor';
import {
  checkFieldValue,
  messages as kernelMessages,
  customizableFieldProperties,
  customizableTypeProperties,
  type CardTypeDefinition,
  type FieldDefinition,
  type RelatedTab,
  type StoredValue,
} from '../../../card-types';
import { lockedFieldChanges, validateCardTypeDefinition } from '../../../card-types/definitions';
import { recordAudit } from '../audit/service';
import { patternHazard } from '../card-types/pattern-safety';
import { forgetCardTypes, listCardTypes, findCardType, saveCardType, setHistoryEnabled } from '../card-types/registry';
import { AppError, notFound, UserInputError } from '../errors';
import { message } from '../i18n';
import { auditActorOf } from '../people/service';
import { announceJob } from '../jobs/define';
import { withLock } from '../jobs/lock';
import type { JobDoc } from '../jobs/model';
import { fillInReferenceProblems } from './fill-in-references';
import {
  CARD_INDEX_BUDGET,
  CARD_INDEX_BUDGET_LOCK,
  CARD_INDEX_LIMIT,
  CARD_INDEXES_RESERVED,
  cardIndexNames,
  dropIndexesNoTypeWants,
  ensureCardTypeIndexes,
  indexBudgetExcess,
  stopsWantingIndexes,
  uniqueNotEnforced,
  wantsNewIndexes,
  type UniqueIndexFailure,
} from './indexes';
import { checkBasis, rememberCheck, rememberedCheck } from './type-check';
import { pendingTypeChange, planFieldOverCards, rewritesSinceCheck, typeChangeJob, type FieldChangeReport, type FieldRewrite } from './type-change';

export type { FieldChangeReport };

export interface SchemaChangeReport {
  /** Every field change may take effect without losing or violating anything. */
  safe: boolean;
  fields: FieldChangeReport[];
  /** Fields this change hides: their values stay on the cards, out of reads and search. */
  hiddenFields: string[];
  /** Hidden fields this change shows again. */
  restoredFields: string[];
  /** Related tabs this change removes. */
  removedTabs: RelatedTab[];
  /** A safe dry run of an existing type, remembered for the save (null otherwise). */
  checkId: string | null;
}

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

function requireAdmin(actor: Actor): void {
  if (!actor.isAdmin) throw new AppError('FORBIDDEN', message(actor.locale, 'adminOnly'));
}

/** Marks what an administrator changed on code fields, so a newer code version keeps it. */
function recordCustomizations(previous: FieldDefinition | undefined, next: FieldDefinition): FieldDefinition {
  if (!previous || (previous.origin ?? 'code') !== 'code') return { ...next, origin: next.origin ?? previous?.origin ?? 'admin' };
  const changed = customizableFieldProperties.filter((property) => JSON.stringify(previous[property]) !== JSON.stringify(next[property]));
  const customized = [...new Set([...(previous.customized ?? []), ...changed])];
  return customized.length > 0 ? { ...next, origin: 'code', customized } : { ...next, origin: 'code' };
}

/** Marks which of a code type's own properties (names, title, icon, colour) an administrator changed, so a newer code version keeps them. */
function typeCustomizations(previous: CardTypeDefinition | null, next: CardTypeDefinition): Pick<CardTypeDefinition, 'customized'> {
  if (previous?.origin !== 'code') return {};
  const changed = customizableTypeProperties.filter((property) => JSON.stringify(previous[property]) !== JSON.stringify(next[property]));
  const customized = [...new Set([...(previous.customized ?? []), ...changed])];
  return customized.length > 0 ? { customized } : {};
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The definition as sent, with what is not part of it taken out (each field's `fillMissing`), and —
 * for a type that exists — completed from the stored one: fields left out stay as they are stored,
 * and related tabs left out (null) stay too. Hiding a field or removing a tab is said explicitly.
 */
function completed(input: unknown, previous: CardTypeDefinition | null): { input: unknown; fills: Map<number, unknown> } {
  const fills = new Map<number, unknown>();
  if (!isObject(input) || !Array.isArray(input.fields)) return { input, fills };
  const fields = input.fields.map((field: unknown, index) => {
    if (!isObject(field) || !('fillMissing' in field)) return field;
    const { fillMissing, ...rest } = field;
    fills.set(index, fillMissing);
    return rest;
  });
  if (!previous) return { input: { ...input, fields }, fills };
  const sent = new Set(fields.map((field) => (isObject(field) ? field.key : undefined)));
  const left = previous.fields.filter((field) => !sent.has(field.key));
  return { input: { ...input, fields: [...fields, ...left], relatedTabs: input.relatedTabs ?? previous.relatedTabs ?? [] }, fills };
}

/** Each fill-in value in its stored form, checked against its field; a refusal at `fields.N.fillMissing`. */
function fillValues(actor: Actor, definition: CardTypeDefinition, fills: Map<number, unknown>): Map<string, StoredValue> {
  const values = new Map<string, StoredValue>();
  const errors: Record<string, string> = {};
  for (const [index, raw] of fills) {
    const field = definition.fields[index];
    const outcome = checkFieldValue({ ...field, required: false }, raw);
    if ('error' in outcome) errors[`fields.${index}.fillMissing`] = outcome.error[actor.locale];
    else if (outcome.value !== undefined) values.set(field.key, outcome.value);
  }
  if (Object.keys(errors).length > 0) throw new UserInputError(message(actor.locale, 'invalidInput'), errors);
  return values;
}

/** Patterns that could stall matching (catastrophic backtracking) are refused at their field. */
async function checkPatterns(actor: Actor, definition: CardTypeDefinition): Promise<void> {
  const errors: Record<string, string> = {};
  await Promise.all(
    definition.fields.map(async (field, index) => {
      if (typeof field.pattern !== 'string') return;
      const hazard = await patternHazard(field.pattern);
      if (hazard) errors[`fields.${index}.pattern`] = hazard[actor.locale];
    }),
  );
  if (Object.keys(errors).length > 0) throw new UserInputError(message(actor.locale, 'invalidInput'), errors);
}

/** Fill-in values of reference and user fields must name cards of the field's target types and users that exist. */
async function checkFillInReferences(actor: Actor, definition: CardTypeDefinition, fillIns: Map<string, StoredValue>): Promise<void> {
  const errors = await fillInReferenceProblems(definition, fillIns, actor.locale);
  if (Object.keys(errors).length > 0) throw new UserInputError(message(actor.locale, 'invalidInput'), errors);
}

/**
 * The indexes a change would add must leave the cards collection within its budget
 * (`CARD_INDEX_BUDGET`): past MongoDB's 64 a unique index is refused, and uniqueness would go
 * unenforced. Refused at each field asking for a new index, saying how many are in use.
 */
async function checkIndexBudget(actor: Actor, definition: CardTypeDefinition, previous: CardTypeDefinition | null): Promise<void> {
  const excess = await indexBudgetExcess(definition, previous);
  if (!excess) return;
  const text = t(
    actor,
    `Не хватает индексов: у коллекции карточек их ${excess.inUse}, а типам карточек доступно не больше ${CARD_INDEX_BUDGET} (MongoDB допускает ${CARD_INDEX_LIMIT} на коллекцию, ${CARD_INDEXES_RESERVED} оставлены самой Картотеке); это изменение добавило бы ещё ${excess.adding}. Снимите «Уникальное» или «Колонка в списке карточек» с полей, где они не нужны`,
    `Out of indexes: the cards collection has ${excess.inUse}, and card types may take it up to ${CARD_INDEX_BUDGET} (MongoDB allows ${CARD_INDEX_LIMIT} per collection; ${CARD_INDEXES_RESERVED} are kept for Kartoteka itself); this change would add ${excess.adding} more. Untick “Unique” or “Column in card lists” on fields that do not need it`,
  );
  throw new UserInputError(message(actor.locale, 'invalidInput'), Object.fromEntries(excess.fields.map((field) => [`fields.${field.fieldIndex}.${field.property}`, text])));
}

/** A definition an administrator sent, checked and completed: as it would be saved, over the stored one. */
interface Defined {
  definition: CardTypeDefinition;
  previous: CardTypeDefinition | null;
  /** Fill-in values by field key, in their stored form. */
  fillIns: Map<string, StoredValue>;
}

interface Prepared extends Defined {
  report: SchemaChangeReport;
  /** The fields whose stored values the change rewrites (converted, filled in). */
  rewrites: FieldRewrite[];
}

/** Checks a definition an administrator sent (shape, patterns, fill-in values) and completes it from the stored type. */
async function define(actor: Actor, input: unknown): Promise<Defined> {
  requireAdmin(actor);
  const key = isObject(input) && typeof input.key === 'string' ? input.key : '';
  const previous = key ? await findCardType(key) : null;
  const { input: whole, fills } = completed(input, previous);
  const check = validateCardTypeDefinition(whole, { locale: actor.locale, knownTypes: await listCardTypes() });
  if (!check.ok) throw new UserInputError(message(actor.locale, 'invalidInput'), check.errors);
  const locked = previous ? lockedFieldChanges(previous, check.definition) : [];
  if (locked.length > 0)
    throw new UserInputError(
      message(actor.locale, 'invalidInput'),
      Object.fromEntries(locked.map((refusal) => [`fields.${refusal.index}.${refusal.property}`, refusal.message[actor.locale]])),
    );
  await checkPatterns(actor, check.definition);
  const fillIns = fillValues(actor, check.definition, fills);
  await checkFillInReferences(actor, check.definition, fillIns);
  await checkIndexBudget(actor, check.definition, previous);
  const previousFields = new Map((previous?.fields ?? []).map((field) => [field.key, field]));
  const definition: CardTypeDefinition = {
    ...check.definition,
    origin: previous?.origin ?? 'admin',
    ...(previous?.plugin ? { plugin: previous.plugin } : {}),
    ...typeCustomizations(previous, check.definition),
    fields: check.definition.fields.map((field) => recordCustomizations(previousFields.get(field.key), field)),
  };
  return { definition, previous, fillIns };
}

/** Which fields a change hides, shows again, and which related tabs it removes. */
function presentationChanges({ definition, previous }: Defined): Pick<SchemaChangeReport, 'hiddenFields' | 'restoredFields' | 'removedTabs'> {
  const wasHidden = (key: string) => previous?.fields.find((field) => field.key === key)?.hidden === true;
  const tabs = new Set((definition.relatedTabs ?? []).map((tab) => tab.key));
  return {
    hiddenFields: definition.fields.filter((field) => field.hidden && !wasHidden(field.key)).map((field) => field.key),
    restoredFields: definition.fields.filter((field) => !field.hidden && wasHidden(field.key)).map((field) => field.key),
    removedTabs: (previous?.relatedTabs ?? []).filter((tab) => !tabs.has(tab.key)),
  };
}

/**
 * The dry run: checks a definition and, for an existing type, plans every field change against the
 * stored cards — values that would not convert, cards that would lack a value of a field that
 * becomes required (a new required field, a required field shown again) unless a fill-in value is
 * given or the field is required for new and edited cards only, duplicates of a now unique one —
 * and which fields it hides, shows again, and which related tabs it removes.
 */
async function prepare(actor: Actor, input: unknown, acceptAltered: boolean): Promise<Prepared> {
  const defined = await define(actor, input);
  const { definition, previous, fillIns } = defined;
  const previousFields = new Map((previous?.fields ?? []).map((field) => [field.key, field]));
  const fields: FieldChangeReport[] = [];
  const rewrites: FieldRewrite[] = [];
  if (previous) {
    // A unique field whose index is missing is checked as one becoming unique: the dry run lists the values cards share.
    const unenforced = new Set(previous.fields.some((field) => field.unique) ? uniqueNotEnforced(previous, await cardIndexNames()) : []);
    for (const field of definition.fields) {
      const old = previousFields.get(field.key);
      const fill = fillIns.get(field.key);
      const planned = old && unenforced.has(old.key) ? { ...old, unique: false } : old;
      const report = await planFieldOverCards(previous.key, planned, field, actor.locale, fill, acceptAltered);
      if (!report) continue;
      fields.push(report);
      if (report.allowed && report.updates > 0) rewrites.push({ from: old ?? null, to: field, ...(fill !== undefined && { fill }) });
    }
  }
  const report: SchemaChangeReport = { safe: fields.every((field) => field.allowed && field.safe), fields, ...presentationChanges(defined), checkId: null };
  return { ...defined, report, rewrites };
}

/** Where in the submitted definition the form shows a refused field change: `fields.2.required` …. */
function refusedPath(definition: CardTypeDefinition, report: FieldChangeReport): string {
  const index = definition.fields.findIndex((field) => field.key === report.key);
  const property =
    !report.allowed || report.failureCount > 0 ? 'kind' : report.missingCount > 0 && !report.missingAccepted ? 'required' : report.duplicateCount > 0 ? 'unique' : 'kind';
  return `fields.${index}.${property}`;
}

/** Counts with the language's digit grouping («51 975», “51,975”). */
const ru = (count: number) => count.toLocaleString('ru-RU');
const en = (count: number) => count.toLocaleString('en-US');

function refusalMessage(actor: Actor, report: FieldChangeReport): string {
  if (report.refusal) return report.refusal;
  if (report.failureCount > 0) return t(actor, `Не преобразуются значения в карточках: ${ru(report.failureCount)}`, `Values that would not convert: ${en(report.failureCount)}`);
  if (report.missingCount > 0 && !report.missingAccepted) {
    return t(
      actor,
      `Карточек без значения: ${ru(report.missingCount)}. Укажите значение для них или примите «обязательно для новых и изменяемых карточек»`,
      `Cards without a value: ${en(report.missingCount)}. Give a value to fill in, or accept “required for new and edited cards only”`,
    );
  }
  if (report.duplicateCount > 0) return t(actor, `Повторяющихся значений: ${ru(report.duplicateCount)}`, `Repeated values: ${en(report.duplicateCount)}`);
  const example = report.altered[0];
  return kernelMessages.valuesAltered(report.alteredCount, example && { from: example.was, to: example.becomes })[actor.locale];
}

/**
 * The dry run alone: what saving this definition would do to the stored cards. A safe one is
 * remembered (`checkId`): the save given it checks again only the cards changed since.
 */
export async function previewCardTypeChange(actor: Actor, input: unknown, { acceptAltered = false }: { acceptAltered?: boolean } = {}): Promise<SchemaChangeReport> {
  const checkedAt = new Date();
  const { definition, previous, fillIns, report, rewrites } = await prepare(actor, input, acceptAltered);
  // (Values accepted as altered are not remembered: the save given such a change checks every card again.)
  if (!previous || !report.safe || report.fields.some((field) => field.alteredAccepted)) return report;
  const checkId = await rememberCheck(
    definition.key,
    checkBasis(previous, definition, fillIns),
    checkedAt,
    rewrites.map((rewrite) => rewrite.to.key),
  );
  return { ...report, checkId };
}

/**
 * The change planned for a save: from the remembered dry run `checkId` when it was run on exactly
 * this definition over the type as it is stored now, and the cards changed since do not alter its
 * answer; else over every card again.
 */
async function planForSave(actor: Actor, input: unknown, checkId: string | null, acceptAltered: boolean): Promise<Prepared> {
  if (checkId) {
    const defined = await define(actor, input);
    const { definition, previous, fillIns } = defined;
    const check = previous ? await rememberedCheck(checkId, definition.key, checkBasis(previous, definition, fillIns)) : null;
    const rewrites = previous && check ? await rewritesSinceCheck(definition.key, previous, definition, fillIns, check) : null;
    if (rewrites) return { ...defined, rewrites, report: { safe: true, fields: [], ...presentationChanges(defined), checkId } };
  }
  return prepare(actor, input, acceptAltered);
}

/** Field properties that neither a title nor the search text depends on. */
const notDerived = ['label', 'help', 'section', 'order', 'listed', 'origin', 'customized', 'default', 'patternMessage', 'required', 'requiredFor', 'unique'];

/** What cards' titles and search text are derived from: when it changes, every card of the type is derived anew. */
function derivationShape(definition: CardTypeDefinition): string {
  const fields = [...definition.fields]
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((field) =>
      Object.fromEntries(
        Object.entries(field)
          .filter(([property]) => !notDerived.includes(property))
          .sort(([a], [b]) => a.localeCompare(b)),
      ),
    );
  return JSON.stringify({ name: definition.names.ru, titleTemplate: definition.titleTemplate, fields });
}

/** A type as a save leaves it: with the job applying the change to its cards (null when it touched none). */
export type SavedCardType = CardTypeDefinition & { changeJob?: JobDoc | null };

const stillApplying = (actor: Actor) =>
  new AppError(
    'CONFLICT',
    t(
      actor,
      'Предыдущее изменение этого типа ещё применяется к карточкам. Дождитесь его окончания и сохраните снова',
      'An earlier change of this type is still being applied to its cards. Wait until it finishes, then save again',
    ),
  );

/** Another save of the type came first: saving this form would undo it. */
const staleType = (actor: Actor) =>
  new AppError(
    'CONFLICT',
    t(
      actor,
      'Тип карточки уже изменил другой администратор, пока вы его редактировали. Откройте тип заново, чтобы увидеть его изменения, и внесите свои ещё раз',
      'Another administrator changed this card type while you were editing it. Open the type again to see their change, then make yours again',
    ),
  );

/**
 * Defines a new type or changes one. A change names the revision (`version`) it was made from; one
 * made from an older revision is refused (CONFLICT): another save came first. A change that would lose or violate values is refused with
 * its report, and so is one that would change how values read («007» becoming 7) unless `acceptAltered`. Otherwise the definition is saved with its audit entry (before and after) in one
 * transaction, together with the background job that applies it to the stored cards when it
 * touches them (converted and filled-in values, titles, search text: `typeChangeJob`); a change
 * that touches no card is complete at once. The indexes follow. While a type's job runs, another
 * change of that type is refused (CONFLICT).
 */
export async function saveCardTypeDefinition(
  actor: Actor,
  input: unknown,
  { isNew, checkId = null, acceptAltered = false }: { isNew: boolean; checkId?: string | null; acceptAltered?: boolean },
): Promise<SavedCardType> {
  requireAdmin(actor);
  const key = isObject(input) && typeof input.key === 'string' ? input.key : '';
  const existing = key ? await findCardType(key) : null;
  if (isNew && existing) throw new UserInputError(message(actor.locale, 'invalidInput'), { key: t(actor, 'Тип с таким ключом уже есть', 'A type with this key exists') });
  if (!isNew && !existing) throw notFound(actor, t(actor, 'Тип карточки', 'Card type'));
  const sentVersion = isObject(input) ? input.version : undefined;
  if (existing && typeof sentVersion !== 'number') throw new UserInputError(message(actor.locale, 'invalidInput'), { version: message(actor.locale, 'required') });
  if (existing && sentVersion !== (existing.version ?? 0)) throw staleType(actor);
  if (existing && (await pendingTypeChange(key))) throw stillApplying(actor);
  const { definition, previous, report, rewrites } = await planForSave(actor, input, checkId, acceptAltered);
  if (!report.safe) {
    throw new AppError('BAD_USER_INPUT', t(actor, 'Изменение потеряло, нарушило или изменило бы значения карточек', 'The change would lose, violate or alter card values'), {
      fields: Object.fromEntries(report.fields.filter((f) => !f.safe).map((f) => [refusedPath(definition, f), refusalMessage(actor, f)])),
      report,
    });
  }
  const touchesCards = previous !== null && (rewrites.length > 0 || derivationShape(previous) !== derivationShape(definition));
  let job: JobDoc | null = null;
  let stored: CardTypeDefinition | null = null;
  const storeChange = () =>
    mongoose.connection.transaction(async (session) => {
      // Read in the transaction: two administrators saving at once write the same type record, so one of them retries and sees the other's job.
      if (touchesCards && (await pendingTypeChange(definition.key, session))) throw stillApplying(actor);
      stored = await saveCardType(definition, session, existing ? (sentVersion as number) : undefined);
      if (!stored) throw staleType(actor);
      await recordAudit(
        auditActorOf(actor),
        {
          kind: previous ? 'card-type-updated' : 'card-type-created',
          targetType: 'CardType',
          targetId: definition.key,
          summary: definition.names.ru,
          before: previous,
          after: stored,
        },
        session,
      );
      if (touchesCards) job = await typeChangeJob.enqueueIn(session, actor.userId, { typeKey: definition.key, fields: rewrites, ip: actor.ip });
    });
  const addsIndexes = wantsNewIndexes(definition, previous);
  const store = async () => {
    // Checked again where no other change that adds indexes can come between the check and the indexes it makes.
    if (addsIndexes) await checkIndexBudget(actor, definition, previous);
    // The indexes before the save (s16 A2): a field made unique whose index cannot be made — cards
    // written since the check share a value, e.g. an import running — refuses the save at the field,
    // rather than a type that says «unique» while nothing enforces it. A save that is not stored puts
    // the indexes back as the stored types want them: the type's unique ones it dropped are made
    // again, and the ones it made that no stored type wants are dropped (s17 attack M1).
    const repeated = (await ensureCardTypeIndexes(definition)).filter((failure) => failure.reason === 'duplicates' && !uniqueIn(previous, failure.fieldKey));
    try {
      if (repeated.length > 0) throw repeatsArrived(actor, definition, repeated);
      await storeChange();
    } catch (error) {
      forgetCardTypes();
      const current = await findCardType(definition.key);
      if (current) await ensureCardTypeIndexes(current);
      throw error;
    } finally {
      // Stored or not, holding the lock: the indexes it made that no stored type wants go, and those a type stopped wanting meanwhile.
      if (addsIndexes) await dropIndexesNoTypeWants();
    }
    // Forgotten again once committed: a request in between would have cached the definition before the change.
    forgetCardTypes();
  };
  // Changes that add indexes to the cards collection pass its budget one at a time, across every instance.
  if (addsIndexes) await withLock(CARD_INDEX_BUDGET_LOCK, randomUUID(), store, { wait: true });
  else {
    await store();
    // A save that stops asking for an index drops it now unless a save that adds indexes holds the lock: that one drops it when it ends.
    if (stopsWantingIndexes(definition, previous)) await withLock(CARD_INDEX_BUDGET_LOCK, randomUUID(), dropIndexesNoTypeWants);
  }
  if (job) announceJob(job);
  const saved = stored as CardTypeDefinition | null;
  if (!saved) throw staleType(actor);
  return { ...saved, changeJob: job };
}

const uniqueIn = (type: CardTypeDefinition | null, fieldKey: string) => type?.fields.some((field) => field.key === fieldKey && field.unique && !field.hidden) ?? false;

/** The refusal of a save whose newly unique fields got repeated values after the check. */
function repeatsArrived(actor: Actor, definition: CardTypeDefinition, failures: readonly UniqueIndexFailure[]): AppError {
  const text = t(
    actor,
    'Пока тип сохранялся, в карточках появились повторяющиеся значения этого поля (например, идёт импорт): уникальность не включена. Дождитесь окончания записи и сохраните снова — проверка покажет повторы',
    'While the type was being saved, cards got repeated values of this field (an import running, say): uniqueness is not switched on. Wait until the writing ends and save again — the check will show the repeats',
  );
  const fields = Object.fromEntries(failures.map((failure) => [`fields.${definition.fields.findIndex((field) => field.key === failure.fieldKey)}.unique`, text]));
  return new AppError('BAD_USER_INPUT', t(actor, 'Изменение нарушило бы значения карточек', 'The change would violate card values'), { fields });
}

/** Switches change history for a type (administrators), recorded in the audit log with before and after. */
export async function switchCardTypeHistory(actor: Actor, key: string, enabled: boolean): Promise<CardTypeDefinition> {
  requireAdmin(actor);
  const before = await setHistoryEnabled(key, enabled);
  if (!before) throw notFound(actor, t(actor, 'Тип карточки', 'Card type'));
  if (before.historyEnabled !== enabled) {
    await recordAudit(auditActorOf(actor), {
      kind: 'card-type-history-switched',
      targetType: 'CardType',
      targetId: key,
      summary: `${before.names.ru}: ${enabled ? 'история изменений включена' : 'история изменений выключена'}`,
      before: { historyEnabled: before.historyEnabled },
      after: { historyEnabled: enabled },
    });
  }
  return { ...before, historyEnabled: enabled, version: (before.version ?? 0) + 1 };
}
