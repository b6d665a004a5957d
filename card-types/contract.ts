import type { CardTypeDefinition } from '../server/src/card-types/definition';

const main = { ru: 'Основное', en: 'General' };
const term = { ru: 'Срок действия', en: 'Term' };

/** «Договор» with a counterparty. */
export const contract: CardTypeDefinition = {
  key: 'contract',
  names: { ru: 'Договор', en: 'Contract' },
  origin: 'code',
  icon: 'file-signature',
  colour: '#8250df',
  historyEnabled: false,
  titleTemplate: '{number} от {date}',
  fields: [
    { key: 'number', kind: 'string', label: { ru: 'Номер', en: 'Number' }, required: true, max: 50, listed: true, section: main },
    { key: 'date', kind: 'date', label: { ru: 'Дата', en: 'Date' }, required: true, default: 'today', listed: true, section: main },
    {
      key: 'counterparty',
      kind: 'reference',
      targets: ['counterparty'],
      label: { ru: 'Контрагент', en: 'Counterparty' },
      required: true,
      listed: true,
      section: main,
    },
    { key: 'subject', kind: 'text', label: { ru: 'Предмет договора', en: 'Subject' }, max: 2000, section: main },
    { key: 'amount', kind: 'money', label: { ru: 'Сумма, ₽', en: 'Amount, RUB' }, min: '0', listed: true, section: main },
    {
      key: 'status',
      kind: 'enum',
      label: { ru: 'Статус', en: 'Status' },
      required: true,
      default: 'draft',
      listed: true,
      section: main,
      options: [
        { value: 'draft', label: { ru: 'Черновик', en: 'Draft' } },
        { value: 'active', label: { ru: 'Действует', en: 'In force' } },
        { value: 'completed', label: { ru: 'Исполнен', en: 'Completed' } },
        { value: 'terminated', label: { ru: 'Расторгнут', en: 'Terminated' } },
      ],
    },
    { key: 'startDate', kind: 'date', label: { ru: 'Начало действия', en: 'Start date' }, listed: true, section: term },
    { key: 'endDate', kind: 'date', label: { ru: 'Окончание действия', en: 'End date' }, listed: true, section: term },
  ],
};
