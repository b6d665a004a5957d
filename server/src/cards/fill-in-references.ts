import { Types } from 'mongoose';
import { kindOf, type CardTypeDefinition, type Locale, type StoredValue } from '../../../card-types';
import { listCardTypes } from '../card-types/registry';
import { User } from '../people/models';
import { Card } from './model';

const say = (locale: Locale, ru: string, en: string) => (locale === 'ru' ? ru : en);

/**
 * A fill-in value of a reference or user field names what every card lacking a value will point
 * to: each id must be a card of one of the field's target types, outside the trash, or a user that
 * exists. A file field takes no fill-in at all: a file belongs to one card, so one value cannot be
 * given to many. Answers a message per refused fill-in, at `fields.N.fillMissing` (one query per kind of link).
 */
export async function fillInReferenceProblems(definition: CardTypeDefinition, fills: ReadonlyMap<string, StoredValue>, locale: Locale): Promise<Record<string, string>> {
  const asked = definition.fields.flatMap((field, index) => {
    const link = kindOf(field).link;
    const fill = fills.get(field.key);
    if (!link || fill === undefined) return [];
    const ids = [fill].flat().map(String);
    return [{ index, ids, to: link.to, targets: link.to === 'card' ? link.targets(field) : [] }];
  });
  if (asked.length === 0) return {};
  const ids = (to: 'card' | 'user') => asked.filter((entry) => entry.to === to).flatMap((entry) => entry.ids.map((id) => new Types.ObjectId(id)));
  const [cards, users, types] = await Promise.all([
    Card.find({ _id: { $in: ids('card') } }, { typeKey: 1, inTrash: 1 }).lean<{ _id: Types.ObjectId; typeKey: string; inTrash: boolean }[]>(),
    User.find({ _id: { $in: ids('user') } }, { _id: 1 }).lean<{ _id: Types.ObjectId }[]>(),
    listCardTypes(),
  ]);
  const cardById = new Map(cards.map((card) => [String(card._id), card]));
  const userIds = new Set(users.map((user) => String(user._id)));
  const typeName = (key: string) => {
    const type = key === definition.key ? definition : types.find((candidate) => candidate.key === key);
    return `«${type ? type.names[locale] || type.names.ru : key}»`;
  };
  const problems: Record<string, string> = {};
  for (const { index, ids: named, to, targets } of asked) {
    const problem = named
      .map((id) => {
        if (to === 'file')
          return say(
            locale,
            'У каждой карточки свои файлы: поле с файлами не заполняется одним значением. Отметьте «Обязательно только для новых и изменяемых карточек»',
            'Each card holds its own files: a file field cannot be filled in with one value. Tick “Required for new and edited cards only”',
          );
        if (to === 'user') return userIds.has(id) ? null : say(locale, `Нет пользователя с идентификатором ${id}`, `There is no user with id ${id}`);
        const card = cardById.get(id);
        if (!card || card.inTrash) return say(locale, `Нет карточки с идентификатором ${id} (или она в корзине)`, `There is no card with id ${id} (or it is in the trash)`);
        if (!targets.includes(card.typeKey)) {
          const wanted = targets.map(typeName).join(', ');
          return say(
            locale,
            `Карточка ${id} — типа ${typeName(card.typeKey)}, а поле ссылается на карточки типа ${wanted}`,
            `Card ${id} is of type ${typeName(card.typeKey)}, and the field refers to cards of type ${wanted}`,
          );
        }
        return null;
      })
      .find((message) => message !== null);
    if (problem) problems[`fields.${index}.fillMissing`] = problem;
  }
  return problems;
}
