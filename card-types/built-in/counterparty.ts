import type { CardTypeDefinition } from '../kernel/definition';

const main = { ru: 'Основное', en: 'General' };
const requisites = { ru: 'Реквизиты', en: 'Legal details' };
const contacts = { ru: 'Контакты', en: 'Contacts' };

/** «Контрагент»: a client, supplier or partner organisation (or sole trader). */
export const counterparty: CardTypeDefinition = {
  key: 'counterparty',
  names: { ru: 'Контрагент', en: 'Counterparty' },
  origin: 'code',
  icon: 'building',
  colour: '#1f6feb',
  historyEnabled: false,
  titleTemplate: '{name}',
  fields: [
    { key: 'name', kind: 'string', label: { ru: 'Наименование', en: 'Name' }, required: true, max: 200, listed: true, section: main },
    {
      key: 'fullName',
      kind: 'string',
      label: { ru: 'Полное наименование', en: 'Full legal name' },
      help: { ru: 'Как в выписке ЕГРЮЛ, например ООО «Кассиопея»', en: 'As in the state register, e.g. Cassiopeia LLC' },
      section: main,
    },
    { key: 'tags', kind: 'tags', label: { ru: 'Метки', en: 'Tags' }, listed: true, section: main },
    { key: 'manager', kind: 'user', label: { ru: 'Ответственный менеджер', en: 'Account manager' }, listed: true, section: main },
    // Kinds of the russian-requisites plugin (checksums); with the plugin off, values are kept as they are.
    { key: 'inn', kind: 'inn', label: { ru: 'ИНН', en: 'INN (taxpayer number)' }, unique: true, listed: true, section: requisites },
    { key: 'kpp', kind: 'kpp', label: { ru: 'КПП', en: 'KPP (registration reason code)' }, section: requisites },
    { key: 'ogrn', kind: 'ogrn', label: { ru: 'ОГРН / ОГРНИП', en: 'OGRN / OGRNIP (state registration number)' }, section: requisites },
    { key: 'legalAddress', kind: 'text', label: { ru: 'Юридический адрес', en: 'Legal address' }, max: 1000, section: requisites },
    { key: 'phone', kind: 'phone', label: { ru: 'Телефон', en: 'Phone' }, listed: true, section: contacts },
    { key: 'email', kind: 'email', label: { ru: 'E-mail', en: 'E-mail' }, listed: true, section: contacts },
    { key: 'website', kind: 'url', label: { ru: 'Сайт', en: 'Website' }, section: contacts },
    { key: 'notes', kind: 'text', label: { ru: 'Примечания', en: 'Notes' }, section: main },
  ],
  relatedTabs: [
    { key: 'contacts', label: { ru: 'Контактные лица', en: 'Contact persons' }, cardType: 'contact-person', referenceField: 'counterparty' },
    { key: 'proposals', label: { ru: 'Коммерческие предложения', en: 'Commercial proposals' }, cardType: 'commercial-proposal', referenceField: 'counterparty' },
    { key: 'contracts', label: { ru: 'Договоры', en: 'Contracts' }, cardType: 'contract', referenceField: 'counterparty' },
  ],
};
