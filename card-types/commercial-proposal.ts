import type { CardTypeDefinition } from '../server/src/card-types/definition';

const main = { ru: 'Основное', en: 'General' };

/** «Коммерческое предложение» sent to a counterparty. */
export const commercialProposal: CardTypeDefinition = {
  key: 'commercial-proposal',
  names: { ru: 'Коммерческое предложение', en: 'Commercial proposal' },
  origin: 'code',
  icon: 'file-text',
  colour: '#bf8700',
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
        { value: 'sent', label: { ru: 'Отправлено', en: 'Sent' } },
        { value: 'accepted', label: { ru: 'Принято', en: 'Accepted' } },
        { value: 'rejected', label: { ru: 'Отклонено', en: 'Rejected' } },
      ],
    },
    { key: 'validUntil', kind: 'date', label: { ru: 'Действительно до', en: 'Valid until' }, section: main },
  ],
};
