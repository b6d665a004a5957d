import mongoose from 'mongoose';
import type { Actor } from '../access/actor';
import {
  customizableFieldProperties,
  planFieldChange,
  renderTitle,
  searchIndexOf,
  validateCardTypeDefinition,
  type CardTypeDefinition,
  type FieldChangePlan,
  type FieldDefinition,
} from '../../../card-types';
import { listCardTypes, findCardType, saveCardType } from '../card-types/registry';
import { AppError, UserInputError } from '../errors';
import { message } from '../i18n';
import { ensureCardTypeIndexes } from './indexes';
import { Card, type CardDoc } from './model';

export interface FieldChangeReport extends FieldChangePlan {
  key: string;
}

export interface SchemaChangeReport {
  /** Every field change may take effect without losing or violating anything. */
  safe: boolean;
  fields: FieldChangeReport[];
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

/**
 * Checks a definition an administrator sent, and for an existing type plans every field change
 * against the stored cards (the dry run): values that would not convert, cards missing a now
 * required value, duplicates of a now unique one. Fields left out are kept, hidden: never dropped.
 */
async function prepare(actor: Actor, input: unknown): Promise<{ definition: CardTypeDefinition; previous: CardTypeDefinition | null; report: SchemaChangeReport }> {
  requireAdmin(actor);
  const check = validateCardTypeDefinition(input, { locale: actor.locale, knownTypes: await listCardTypes() });
  if (!check.ok) throw new UserInputError(message(actor.locale, 'invalidInput'), check.errors);
  const previous = await findCardType(check.definition.key);
  const previousFields = new Map((previous?.fields ?? []).map((field) => [field.key, field]));
  const fields = check.definition.fields.map((field) => recordCustomizations(previousFields.get(field.key), field));
  const kept = [...previousFields.values()].filter((old) => !fields.some((field) => field.key === old.key)).map((old) => ({ ...old, hidden: true }));
  const definition: CardTypeDefinition = {
    ...check.definition,
    origin: previous?.origin ?? 'admin',
    fields: [...fields, ...kept],
  };

  const reports: FieldChangeReport[] = [];
  if (previous) {
    for (const field of fields) {
      const old = previousFields.get(field.key);
      if (!old) continue;
      const path = `values.${field.key}`;
      const cards = await Card.find({ typeKey: previous.key, inTrash: false }, { [path]: 1 }).lean<CardDoc[]>();
      const plan = planFieldChange(old, field, cards.map((card) => ({ cardId: String(card._id), value: card.values?.[field.key] })), { locale: actor.locale });
      if (!plan.noOp) reports.push({ key: field.key, ...plan });
    }
  }
  return { definition, previous, report: { safe: reports.every((r) => r.allowed && r.safe), fields: reports } };
}

/** Where in the submitted definition the form shows a refused field change: `fields.2.required` …. */
function refusedPath(definition: CardTypeDefinition, report: FieldChangeReport): string {
  const index = definition.fields.findIndex((field) => field.key === report.key);
  const property = !report.allowed || report.failures.length > 0 ? 'kind' : report.missing.length > 0 ? 'required' : 'unique';
  return `fields.${index}.${property}`;
}

function refusalMessage(actor: Actor, report: FieldChangeReport): string {
  if (report.refusal) return report.refusal;
  if (report.failures.length > 0) return t(actor, `Не преобразуются значения в карточках: ${report.failures.length}`, `Values that would not convert: ${report.failures.length}`);
  if (report.missing.length > 0) return t(actor, `Карточек без значения: ${report.missing.length}`, `Cards without a value: ${report.missing.length}`);
  return t(actor, `Повторяющихся значений: ${report.duplicates.length}`, `Repeated values: ${report.duplicates.length}`);
}

/** The dry run alone: what saving this definition would do to the stored cards. */
export async function previewCardTypeChange(actor: Actor, input: unknown): Promise<SchemaChangeReport> {
  return (await prepare(actor, input)).report;
}

/**
 * Defines a new type or changes one. A change that would lose or violate values is refused with
 * its report; otherwise converted values, titles and search text are rewritten with the
 * definition in one transaction, then the indexes follow.
 */
export async function saveCardTypeDefinition(actor: Actor, input: unknown, { isNew }: { isNew: boolean }): Promise<CardTypeDefinition> {
  const { definition, previous, report } = await prepare(actor, input);
  if (isNew && previous) throw new UserInputError(message(actor.locale, 'invalidInput'), { key: t(actor, 'Тип с таким ключом уже есть', 'A type with this key exists') });
  if (!isNew && !previous) throw new AppError('NOT_FOUND', message(actor.locale, 'notFound', { what: t(actor, 'Тип карточки', 'Card type') }));
  if (!report.safe) {
    throw new AppError('BAD_USER_INPUT', t(actor, 'Изменение потеряло бы или нарушило значения карточек', 'The change would lose or violate card values'), {
      fields: Object.fromEntries(report.fields.filter((f) => !f.safe).map((f) => [refusedPath(definition, f), refusalMessage(actor, f)])),
      report,
    });
  }
  await mongoose.connection.transaction(async (session) => {
    for (const field of report.fields) {
      for (const update of field.updates) {
        const path = `values.${field.key}`;
        await Card.updateOne({ _id: update.cardId }, update.value === undefined ? { $unset: { [path]: 1 } } : { $set: { [path]: update.value } }, { session });
      }
    }
    if (previous) {
      // Titles and search text follow the new template, labels and values.
      const cards = await Card.find({ typeKey: definition.key }, { values: 1 }).session(session).lean<CardDoc[]>();
      if (cards.length > 0) {
        await Card.bulkWrite(
          cards.map((card) => {
            const title = renderTitle(definition, card.values, 'ru');
            return { updateOne: { filter: { _id: card._id }, update: { $set: { title, ...searchIndexOf(definition, title, card.values) } } } };
          }),
          { session },
        );
      }
    }
    await saveCardType(definition, session);
  });
  await ensureCardTypeIndexes(definition);
  return definition;
}
