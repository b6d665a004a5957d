import type { CardTypeDefinition } from '../kernel/definition';

const main = { ru: 'Основное', en: 'General' };
const contacts = { ru: 'Контакты', en: 'Contacts' };

/** «Контактное лицо»: a person at a counterparty (director, accountant, manager …). */
export const contactPerson: CardTypeDefinition = {
  key: 'contact-person',
  names: { ru: 'Контактное лицо', en: 'Contact person' },
  origin: 'code',
  icon: 'user',
  colour: '#2da44e',
  historyEnabled: false,
  titleTemplate: '{fullName}',
  fields: [
    { key: 'fullName', kind: 'string', label: { ru: 'ФИО', en: 'Full name' }, required: true, max: 200, listed: true, section: main },
    { key: 'position', kind: 'string', label: { ru: 'Должность', en: 'Position' }, max: 200, listed: true, section: main },
    {
      key: 'counterparty',
      kind: 'reference',
      targets: ['counterparty'],
      label: { ru: 'Контрагент', en: 'Counterparty' },
      listed: true,
      section: main,
    },
    { key: 'phone', kind: 'phone', label: { ru: 'Телефон', en: 'Phone' }, listed: true, section: contacts },
    { key: 'email', kind: 'email', label: { ru: 'E-mail', en: 'E-mail' }, listed: true, section: contacts },
  ],
};
