import type { CardTypeDefinition } from '../kernel/definition';
import { documentFields, documentFilesSection, documentMainSection, documentStatus } from './document-fields';

const main = documentMainSection;
const document = documentFields();
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
    ...document.head,
    { key: 'subject', kind: 'text', label: { ru: 'Предмет договора', en: 'Subject' }, max: 2000, section: main },
    document.amount,
    documentStatus([
      { value: 'draft', label: { ru: 'Черновик', en: 'Draft' } },
      { value: 'active', label: { ru: 'Действует', en: 'In force' } },
      { value: 'completed', label: { ru: 'Исполнен', en: 'Completed' } },
      { value: 'terminated', label: { ru: 'Расторгнут', en: 'Terminated' } },
    ]),
    { key: 'startDate', kind: 'date', label: { ru: 'Начало действия', en: 'Start date' }, listed: true, section: term },
    { key: 'endDate', kind: 'date', label: { ru: 'Окончание действия', en: 'End date' }, listed: true, section: term },
    {
      key: 'scan',
      kind: 'file',
      multiple: true,
      allowedTypes: ['pdf', 'jpg', 'png', 'tiff'],
      label: { ru: 'Скан договора', en: 'Contract scan' },
      help: { ru: 'Подписанный договор: PDF или изображения страниц', en: 'The signed contract: a PDF or images of its pages' },
      section: documentFilesSection,
    },
  ],
};
