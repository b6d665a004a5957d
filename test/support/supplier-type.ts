import type { CardTypeDefinition } from '../../card-types';

/** An administrator's own card type whose requisites (kinds of the russian-requisites plugin) have keys of their own choosing. */
export const supplierType: CardTypeDefinition = {
  key: 'supplier',
  names: { ru: 'Поставщик', en: 'Supplier' },
  titleTemplate: '{title}',
  historyEnabled: false,
  origin: 'admin',
  fields: [
    { key: 'title', kind: 'string', label: { ru: 'Название', en: 'Name' }, required: true, listed: true },
    { key: 'taxNumber', kind: 'inn', label: { ru: 'ИНН поставщика', en: 'Supplier INN' }, unique: true, listed: true },
    { key: 'branch', kind: 'kpp', label: { ru: 'КПП филиала', en: 'Branch KPP' } },
    { key: 'registration', kind: 'ogrn', label: { ru: 'Регистрационный номер', en: 'Registration number' } },
  ],
};
