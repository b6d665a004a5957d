import { findFieldKind } from '../card-types';
import { buildActor } from '../server/src/access/actor';
import { findCardType } from '../server/src/card-types/registry';
import { createCard } from '../server/src/cards/service';
import type { Logger } from '../server/src/logger';
import { Folder } from '../server/src/folders/models';
import { User, type UserDoc } from '../server/src/people/models';

const COMPANIES = [
  ['Кассиопея', 'Москва, ул. Звёздная, д. 1'],
  ['Андромеда', 'Санкт-Петербург, Невский пр., д. 24'],
  ['Орион', 'Казань, ул. Баумана, д. 7'],
  ['Пегас', 'Екатеринбург, ул. Ленина, д. 50'],
  ['Лира', 'Новосибирск, Красный пр., д. 15'],
  ['Вега', 'Нижний Новгород, ул. Большая Покровская, д. 3'],
  ['Персей', 'Самара, ул. Куйбышева, д. 90'],
  ['Сириус', 'Ростов-на-Дону, ул. Пушкинская, д. 12'],
  ['Альтаир', 'Краснодар, ул. Красная, д. 44'],
  ['Денеб', 'Воронеж, пр. Революции, д. 5'],
  ['Капелла', 'Пермь, ул. Ленина, д. 60'],
  ['Ригель', 'Уфа, ул. Ленина, д. 28'],
  ['Полярис', 'Мурманск, пр. Ленина, д. 82'],
  ['Арктур', 'Тюмень, ул. Республики, д. 14'],
  ['Бетельгейзе', 'Томск, пр. Ленина, д. 36'],
  ['Процион', 'Ярославль, ул. Свободы, д. 9'],
  ['Альдебаран', 'Калининград, Ленинский пр., д. 30'],
  ['Спика', 'Сочи, Курортный пр., д. 18'],
  ['Антарес', 'Иркутск, ул. Карла Маркса, д. 21'],
  ['Фомальгаут', 'Владивосток, Океанский пр., д. 17'],
];
const PEOPLE = [
  ['Иван Петров', 'Генеральный директор'],
  ['Мария Смирнова', 'Главный бухгалтер'],
  ['Алексей Кузнецов', 'Менеджер по закупкам'],
];
const SURNAMES = ['Соколов', 'Попова', 'Лебедев', 'Козлова', 'Новиков', 'Морозова', 'Волков', 'Алексеева', 'Зайцев', 'Павлова'];

/** Valid INN of a legal entity from a 9-digit stem (checksum by the tax service's weights). */
export function innFromStem(stem: string): string {
  const weights = [2, 4, 10, 3, 5, 9, 4, 6, 8];
  const sum = weights.reduce((acc, weight, i) => acc + weight * Number(stem[i]), 0);
  return `${stem}${(sum % 11) % 10}`;
}

/**
 * A living library for a newcomer's first start: counterparties with their contact persons,
 * proposals and contracts, created by Татьяна through the card service (so colleagues see them
 * unread, as in the scenario).
 */
export async function seedDemoCards(logger: Logger): Promise<void> {
  const tatiana = await User.findOne({ loginKey: 'tgoncharenko' }).lean<UserDoc>();
  const [correspondents, contracts, proposals] = await Promise.all(['Корреспонденты', 'Договоры 2026', 'Коммерческие предложения'].map((name) => Folder.findOne({ name }).lean()));
  if (!tatiana || !correspondents || !contracts || !proposals) return;
  const context = { actor: await buildActor(tatiana, '127.0.0.1'), logger };
  /** A demo card; values of fields whose kind a switched-off plugin provides (the INN without russian-requisites) are left out. */
  const create = async (card: { folderId: string; typeKey: string; values: Record<string, unknown> }) => {
    const type = await findCardType(card.typeKey);
    const unavailable = new Set(type?.fields.filter((field) => !findFieldKind(field.kind)).map((field) => field.key));
    return createCard(context, { ...card, values: Object.fromEntries(Object.entries(card.values).filter(([key]) => !unavailable.has(key))) });
  };
  let created = 0;
  for (const [index, [name, address]] of COMPANIES.entries()) {
    const counterparty = await create({
      folderId: String(correspondents._id),
      typeKey: 'counterparty',
      values: {
        name: `ООО «${name}»`,
        fullName: `Общество с ограниченной ответственностью «${name}»`,
        inn: innFromStem(String(770100000 + index * 7919).padStart(9, '0')),
        legalAddress: address,
        phone: `+7 495 ${String(200 + index).padStart(3, '0')}-${String(10 + index).padStart(2, '0')}-${String(30 + index).padStart(2, '0')}`,
        email: `info@${index}-demo.example.ru`,
        tags: index % 3 === 0 ? ['ключевой клиент'] : index % 3 === 1 ? ['поставщик'] : ['партнёр'],
        manager: String(tatiana._id),
      },
    });
    created += 1;
    const people = index < 3 ? PEOPLE : [[`${SURNAMES[index % SURNAMES.length]} ${PEOPLE[index % 3][0].split(' ')[0]}`, PEOPLE[index % 3][1]]];
    for (const [fullName, position] of people) {
      await create({
        folderId: String(correspondents._id),
        typeKey: 'contact-person',
        values: {
          fullName,
          position,
          phone: `+7 916 ${String(100 + index).padStart(3, '0')}-00-${String(10 + (created % 90)).padStart(2, '0')}`,
          counterparty: String(counterparty._id),
        },
      });
      created += 1;
    }
    if (index % 2 === 0) {
      await create({
        folderId: String(proposals._id),
        typeKey: 'commercial-proposal',
        values: {
          number: `КП-${100 + index}`,
          date: `2026-0${(index % 9) + 1}-15`,
          counterparty: String(counterparty._id),
          amount: `${(index + 1) * 125000}.00`,
          status: ['draft', 'sent', 'accepted', 'rejected'][index % 4],
        },
      });
      created += 1;
    }
    if (index % 3 === 0) {
      await create({
        folderId: String(contracts._id),
        typeKey: 'contract',
        values: {
          number: `Д-${2026}-${index + 1}`,
          date: `2026-0${(index % 9) + 1}-20`,
          counterparty: String(counterparty._id),
          subject: 'Поставка оборудования',
          amount: `${(index + 2) * 310000}.50`,
          status: index % 2 ? 'active' : 'draft',
        },
      });
      created += 1;
    }
  }
  logger.info({ cards: created }, 'demo cards created');
}
