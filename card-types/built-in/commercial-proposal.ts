import type { CardTypeDefinition } from '../kernel/definition';
import { documentFields, documentFilesSection, documentMainSection, documentStatus } from './document-fields';

const main = documentMainSection;
const document = documentFields();

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
    ...document.head,
    document.amount,
    documentStatus([
      { value: 'draft', label: { ru: 'Черновик', en: 'Draft' } },
      { value: 'sent', label: { ru: 'Отправлено', en: 'Sent' } },
      { value: 'accepted', label: { ru: 'Принято', en: 'Accepted' } },
      { value: 'rejected', label: { ru: 'Отклонено', en: 'Rejected' } },
    ]),
    { key: 'validUntil', kind: 'date', label: { ru: 'Действительно до', en: 'Valid until' }, section: main },
    {
      key: 'proposalFile',
      kind: 'file',
      allowedTypes: ['pdf', 'docx', 'xlsx'],
      label: { ru: 'Файл предложения', en: 'Proposal file' },
      help: { ru: 'Предложение, как оно отправлено: PDF, DOCX или XLSX', en: 'The proposal as it was sent: PDF, DOCX or XLSX' },
      section: documentFilesSection,
    },
  ],
};
