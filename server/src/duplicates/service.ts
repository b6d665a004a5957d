import { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { LEVEL_RANK } from '../access/effective-access';
import { recordAudit } from '../audit/service';
import { validateCardValues, type CardTypeDefinition, type CardValues } from '../../../card-types';
import { findCardType } from '../card-types/registry';
import { Card, type CardDoc } from '../cards/model';
import { permittedCards } from '../cards/permitted';
import { findCard } from '../cards/service';
import { forbidden, notFound } from '../errors';
import { auditActorOf } from '../people/service';
import { FieldErrors, isObjectIdText, refuseField } from '../validation';
import { alikeCards, listLimit, refreshGroupsAround } from './groups';
import { DuplicateDismissal, DuplicateKey, pairKey, type DuplicateKeyDoc } from './model';
import { rulesOf } from './rules';

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
  /** Labels of the unique fields whose typed value this card already holds: the save will be refused. */
  refusedBy: string[];
}

/** The unique fields (their labels) whose typed value the card holds: a save with these values is refused. */
function uniqueClashes(actor: Actor, type: CardTypeDefinition, values: CardValues, card: CardDoc): string[] {
  return type.fields
    .filter((field) => field.unique && !field.hidden && values[field.key] !== undefined && JSON.stringify(values[field.key]) === JSON.stringify(card.values[field.key]))
    .map((field) => field.label[actor.locale]);
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
    return card ? [{ card, score: match.score, rules: match.rules, refusedBy: uniqueClashes(actor, type, values, card) }] : [];
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
      updateOne: { filter: { _id: pairKey(card._id, other._id) }, update: { $setOnInsert: { typeKey: card.typeKey, by: new Types.ObjectId(actor.userId), at } }, upsert: true },
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
  const type = await findCardType(card.typeKey);
  if (type)
    await refreshGroupsAround(
      type,
      await rulesOf(type.key),
      cards.map((c) => c._id),
    );
  return true;
}
