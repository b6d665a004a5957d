import type { CardTypeDefinition } from '../api';

/** «Банковский счёт»: a counterparty's bank account, with the bank's BIK and INN. */
export const bankAccount: CardTypeDefinition = {
  key: 'bank-account',
  names: { ru: 'Банковский счёт', en: 'Bank account' },
  origin: 'code',
  icon: 'bank',
  colour: '#2da44e',
  historyEnabled: true,
  titleTemplate: '{bankName} {account}',
  fields: [
    { key: 'counterparty', kind: 'reference', targets: ['counterparty'], label: { ru: 'Контрагент', en: 'Counterparty' }, listed: true },
    { key: 'bankName', kind: 'string', label: { ru: 'Банк', en: 'Bank' }, required: true, max: 200, listed: true },
    {
      key: 'bik',
      kind: 'string',
      label: { ru: 'БИК', en: 'BIK (bank identifier)' },
      required: true,
      pattern: '[0-9]{9}',
      patternMessage: { ru: 'БИК — 9 цифр', en: 'A BIK has 9 digits' },
      listed: true,
    },
    {
      key: 'account',
      kind: 'string',
      label: { ru: 'Расчётный счёт', en: 'Account number' },
      required: true,
      unique: true,
      pattern: '[0-9]{20}',
      patternMessage: { ru: 'Номер счёта — 20 цифр', en: 'An account number has 20 digits' },
      listed: true,
    },
    { key: 'bankInn', kind: 'inn', label: { ru: 'ИНН банка', en: "Bank's INN" } },
  ],
};
