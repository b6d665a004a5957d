import type { EnumOption, FieldDefinition } from '../kernel/definition';
import type { LocalizedText } from '../kernel/locale';

/** The «Основное» section of the documents issued to counterparties (proposals, contracts). */
export const documentMainSection: LocalizedText = { ru: 'Основное', en: 'General' };

/** Number, date, counterparty and amount: the fields every such document has, in this order. */
export function documentFields(): { head: FieldDefinition[]; amount: FieldDefinition } {
  const section = documentMainSection;
  return {
    head: [
      { key: 'number', kind: 'string', label: { ru: 'Номер', en: 'Number' }, required: true, max: 50, listed: true, section },
      { key: 'date', kind: 'date', label: { ru: 'Дата', en: 'Date' }, required: true, default: 'today', listed: true, section },
      { key: 'counterparty', kind: 'reference', targets: ['counterparty'], label: { ru: 'Контрагент', en: 'Counterparty' }, required: true, listed: true, section },
    ],
    amount: { key: 'amount', kind: 'money', label: { ru: 'Сумма, ₽', en: 'Amount, RUB' }, min: '0', listed: true, section },
  };
}

/** The «Файлы» section: the documents themselves. */
export const documentFilesSection: LocalizedText = { ru: 'Файлы', en: 'Files' };

/** The required «Статус» of a document, starting as a draft, with the document's own stages. */
export function documentStatus(options: EnumOption[]): FieldDefinition {
  return { key: 'status', kind: 'enum', label: { ru: 'Статус', en: 'Status' }, required: true, default: 'draft', listed: true, section: documentMainSection, options };
}
