/**
 * Cells of reference and user fields name what they point to by text: a card by its title or by a
 * unique key of its type (an INN), a user by name (any order of its words, initials) or login. A batch's texts are looked up at once.
 */
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { accessSnapshot } from '../access/snapshot';
import { Types } from 'mongoose';
import { kindOf, type CardValues, type FieldDefinition } from '../../../card-types';
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

/** Cards a field may point to that texts name, readable by the actor, by text: in the trash or not, as asked. */
async function cardsNamedIn(actor: Actor, field: FieldDefinition, texts: string[], inTrash: boolean): Promise<Map<string, CardDoc[]>> {
  const found = new Map<string, CardDoc[]>();
  const targets = kindOf(field).link?.targets(field) ?? [];
  const add = (text: string, card: CardDoc) => {
    if (!actor.ability.can('read', cardSubject(card))) return;
    const cards = found.get(text) ?? [];
    if (!cards.some((known) => known._id.equals(card._id))) cards.push(card);
    found.set(text, cards);
  };
  const byTitle = await Card.find({ typeKey: { $in: targets }, title: { $in: texts }, inTrash }, { title: 1, folderId: 1, libraryId: 1 }).lean<CardDoc[]>();
  for (const card of byTitle) add(card.title, card);
  for (const typeKey of targets) {
    const type = await findCardType(typeKey);
    for (const unique of type?.fields.filter((candidate) => candidate.unique && !candidate.hidden) ?? []) {
      const path = `values.${unique.key}`;
      // Digits are read as the key's own field reads a number cell — an INN Excel keeps as a number
      // lost its leading zero (491000049 is 0491000049) — as a CSV's or a text cell's digits may have.
      const textsByKey = new Map<string, string[]>();
      for (const text of texts) {
        const key = /^\d{1,15}$/.test(text) ? String(kindOf(unique).fromCell(Number(text), unique)) : text;
        textsByKey.set(key, [...(textsByKey.get(key) ?? []), text]);
      }
      const cards = await Card.find({ typeKey, [path]: { $in: [...textsByKey.keys()] }, inTrash }, { title: 1, [path]: 1, folderId: 1, libraryId: 1 }).lean<CardDoc[]>();
      for (const card of cards) for (const text of textsByKey.get(String(card.values[unique.key])) ?? []) add(text, card);
    }
  }
  return found;
}

const words = (text: string) =>
  fold(text)
    .split(/[\s.]+/)
    .filter(Boolean);

/**
 * Whether a cell's words name a person: words of the full name in any order («Гончаренко Татьяна»),
 * some of them as initials («Гончаренко Т.», «Т. А. Гончаренко»); two words at least, one of them whole.
 */
export function namesPerson(cellWords: string[], nameWords: string[]): boolean {
  if (cellWords.length < 2 || cellWords.length > nameWords.length) return false;
  const whole = cellWords.filter((word) => word.length > 1);
  const initials = cellWords.filter((word) => word.length === 1);
  if (whole.length === 0) return false;
  const left = [...nameWords];
  for (const word of whole) {
    const at = left.indexOf(word);
    if (at < 0) return false;
    left.splice(at, 1);
  }
  for (const initial of initials) {
    const at = left.findIndex((word) => word.startsWith(initial));
    if (at < 0) return false;
    left.splice(at, 1);
  }
  return true;
}

/**
 * Users (active ones) by full name — as written, or its words in another order or with initials —
 * or by login: a login only for administrators and for the actor's own, as the user list shows
 * logins to no one else (so an import cannot tell which logins exist).
 */
async function usersNamed(actor: Actor, texts: string[]): Promise<Map<string, Set<string>>> {
  const users = [...(await accessSnapshot()).users.values()].filter((user) => user.active);
  const found = new Map<string, Set<string>>();
  const add = (text: string, id: string) => found.set(text, (found.get(text) ?? new Set<string>()).add(id));
  const userWords = users.map((user) => [String(user._id), words(user.fullName)] as const);
  const exact = new Map<string, string[]>();
  for (const user of users) {
    const names = [fold(user.fullName), ...(actor.isAdmin || String(user._id) === actor.userId ? [fold(user.login)] : [])];
    for (const name of new Set(names)) exact.set(name, [...(exact.get(name) ?? []), String(user._id)]);
  }
  for (const text of texts) {
    for (const id of exact.get(fold(text)) ?? []) add(text, id);
    if (found.has(text)) continue;
    const cellWords = words(text);
    for (const [id, nameWords] of userWords) if (namesPerson(cellWords, nameWords)) add(text, id);
  }
  return new Map(texts.map((text) => [text, found.get(text) ?? new Set<string>()]));
}

/**
 * Resolves the texts of one link field's cells (as many as a batch holds): each to the ids it names,
 * or to why it names none or more than one.
 */
export async function resolveLinks(actor: Actor, field: FieldDefinition, cells: string[]): Promise<Map<string, Resolution>> {
  const link = kindOf(field).link;
  const multiple = kindOf(field).multiple(field);
  const texts = [...new Set(cells.flatMap((cell) => linkItems(cell, multiple).flat()))];
  const toCards = link?.to !== 'user';
  const named = toCards
    ? new Map([...(await cardsNamedIn(actor, field, texts, false))].map(([text, cards]) => [text, new Set(cards.map((card) => String(card._id)))]))
    : await usersNamed(actor, texts);
  // A text naming no card but one in the trash is told so: the user would create the card anew, and the
  // one in the trash could then no longer be put back beside it (s14 user U2: «Карточка «498029921» не найдена»).
  const unnamed = texts.filter((text) => (named.get(text)?.size ?? 0) === 0);
  const trashed = toCards && unnamed.length > 0 ? await cardsNamedIn(actor, field, unnamed, true) : new Map<string, CardDoc[]>();
  const what = toCards ? t(actor, 'Карточка', 'Card') : t(actor, 'Пользователь', 'User');
  const one = (text: string): Resolution => {
    const ids = [...(named.get(text) ?? [])];
    if (ids.length === 1) return { ids };
    const [inTrash] = trashed.get(text) ?? [];
    if (ids.length === 0 && inTrash) {
      return {
        problem: t(
          actor,
          `Карточка «${inTrash.title}» в корзине — восстановите её и загрузите строку снова`,
          `The card “${inTrash.title}” is in the trash: restore it and import the row again`,
        ),
      };
    }
    if (ids.length === 0) return { problem: t(actor, `${what} «${text}» не найден${toCards ? 'а' : ''}`, `${what} “${text}” not found`) };
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

/**
 * Titles of the referenced cards in these values, and names of users, as a person reads them: a
 * card the actor cannot read is written as nothing. For an export (`right`: `export`) a title is
 * the client base as much as a value: a card the actor reads in a folder without «Экспорт» is
 * written as «(нет права «Экспорт»)».
 */
export async function linkTexts(actor: Actor, fields: FieldDefinition[], valuesList: CardValues[], right: 'read' | 'export'): Promise<(id: string) => string> {
  const cardIds = new Set<string>();
  for (const field of fields) {
    if (kindOf(field).link?.to !== 'card') continue;
    for (const values of valuesList) for (const id of [values[field.key] ?? []].flat()) if (Types.ObjectId.isValid(String(id))) cardIds.add(String(id));
  }
  const titles = new Map<string, string>();
  if (cardIds.size > 0) {
    const found = await Card.find({ _id: { $in: [...cardIds] } }, { title: 1, folderId: 1, libraryId: 1 }).lean<CardDoc[]>();
    const withheld = t(actor, '(нет права «Экспорт»)', '(no “Export” right)');
    for (const card of found) {
      const subject = cardSubject(card);
      if (actor.ability.can(right, subject)) titles.set(String(card._id), card.title);
      else if (actor.ability.can('read', subject)) titles.set(String(card._id), withheld);
    }
  }
  const { users } = await accessSnapshot();
  return (id) => titles.get(id) ?? users.get(id)?.fullName ?? '';
}
