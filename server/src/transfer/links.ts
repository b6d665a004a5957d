/**
 * Cells of reference and user fields name what they point to by text: a card by its title or by a
 * unique key of its type (an INN), a user by name or login. A batch's texts are looked up at once.
 */
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { accessSnapshot } from '../access/snapshot';
import { kindOf, type FieldDefinition } from '../../../card-types';
import { findCardType } from '../card-types/registry';
import { Card, type CardDoc } from '../cards/model';

export type Resolution = { ids: string[] } | { problem: string };

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

/** Items of a multiple field's cell: the whole text when it names something, else its parts split by `;`, `,` or lines. */
export function linkItems(text: string, multiple: boolean): string[][] {
  const whole = [text.trim()];
  if (!multiple) return [whole];
  const parts = text
    .split(/[;\n,]/)
    .map((part) => part.trim())
    .filter(Boolean);
  return parts.length > 1 ? [whole, parts] : [whole];
}

const fold = (text: string) => text.trim().toLocaleLowerCase('ru').replace(/ё/g, 'е');

/** What each text names among the cards a field may point to, for this actor: ids by text (several when ambiguous). */
async function cardsNamed(actor: Actor, field: FieldDefinition, texts: string[]): Promise<Map<string, Set<string>>> {
  const found = new Map<string, Set<string>>();
  const targets = kindOf(field).link?.targets(field) ?? [];
  const add = (text: string, card: CardDoc) => {
    if (!actor.ability.can('read', cardSubject(card))) return;
    const ids = found.get(text) ?? new Set<string>();
    ids.add(String(card._id));
    found.set(text, ids);
  };
  const byTitle = await Card.find({ typeKey: { $in: targets }, title: { $in: texts }, inTrash: false }, { title: 1, folderId: 1, libraryId: 1 }).lean<CardDoc[]>();
  for (const card of byTitle) add(card.title, card);
  for (const typeKey of targets) {
    const type = await findCardType(typeKey);
    for (const unique of type?.fields.filter((candidate) => candidate.unique && !candidate.hidden) ?? []) {
      const path = `values.${unique.key}`;
      const cards = await Card.find({ typeKey, [path]: { $in: texts }, inTrash: false }, { [path]: 1, folderId: 1, libraryId: 1 }).lean<CardDoc[]>();
      for (const card of cards) add(String(card.values[unique.key]), card);
    }
  }
  return found;
}

/** Users by full name or login (any case), active ones. */
async function usersNamed(texts: string[]): Promise<Map<string, Set<string>>> {
  const wanted = new Set(texts.map(fold));
  const found = new Map<string, Set<string>>();
  for (const user of (await accessSnapshot()).users.values()) {
    if (!user.active) continue;
    for (const name of new Set([fold(user.fullName), fold(user.login)])) {
      if (!wanted.has(name)) continue;
      const ids = found.get(name) ?? new Set<string>();
      ids.add(String(user._id));
      found.set(name, ids);
    }
  }
  return new Map(texts.map((text) => [text, found.get(fold(text)) ?? new Set<string>()]));
}

/**
 * Resolves the texts of one link field's cells (as many as a batch holds): each to the ids it names,
 * or to why it names none or more than one.
 */
export async function resolveLinks(actor: Actor, field: FieldDefinition, cells: string[]): Promise<Map<string, Resolution>> {
  const link = kindOf(field).link;
  const multiple = kindOf(field).multiple(field);
  const texts = [...new Set(cells.flatMap((cell) => linkItems(cell, multiple).flat()))];
  const named = link?.to === 'user' ? await usersNamed(texts) : await cardsNamed(actor, field, texts);
  const what = link?.to === 'user' ? t(actor, 'Пользователь', 'User') : t(actor, 'Карточка', 'Card');
  const one = (text: string): Resolution => {
    const ids = [...(named.get(text) ?? [])];
    if (ids.length === 1) return { ids };
    if (ids.length === 0) return { problem: t(actor, `${what} «${text}» не найден${link?.to === 'user' ? '' : 'а'}`, `${what} “${text}” not found`) };
    return { problem: t(actor, `«${text}»: найдено несколько (${ids.length}); укажите однозначно, например ИНН`, `“${text}”: ${ids.length} found; name one, e.g. by INN`) };
  };
  const resolutions = new Map<string, Resolution>();
  for (const cell of new Set(cells)) {
    let outcome: Resolution | undefined;
    for (const items of linkItems(cell, multiple)) {
      const each = items.map(one);
      const problem = each.find((item): item is { problem: string } => 'problem' in item);
      outcome = problem ?? { ids: each.flatMap((item) => ('ids' in item ? item.ids : [])) };
      if (!problem) break;
    }
    resolutions.set(cell, outcome!);
  }
  return resolutions;
}
