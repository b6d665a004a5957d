import type { Locale } from '../i18n';
import type { FieldDefinition, StoredValue } from './definition';
import { messages } from './messages';

/** How stored values read to a person: in titles, in messages, and when a field becomes text. */
export interface FormatOptions {
  locale: Locale;
  /** IANA zone for date-times; UTC unless told. */
  timeZone?: string;
}

/** 'YYYY-MM-DD' → «31.12.2024» in Russian, 2024-12-31 in English. */
export function formatDate(isoDate: string, locale: Locale): string {
  if (locale === 'en') return isoDate;
  const [year, month, day] = isoDate.split('-');
  return `${day}.${month}.${year}`;
}

/** An ISO instant → «31.12.2024 23:59» (ru) or 2024-12-31 23:59 (en) in the given zone. */
export function formatDateTime(iso: string, locale: Locale, timeZone = 'UTC'): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${formatDate(`${part('year')}-${part('month')}-${part('day')}`, locale)} ${part('hour')}:${part('minute')}`;
}

/** A canonical decimal string → «1 234 567,50» (ru, no-break spaces) or 1,234,567.50 (en). */
export function formatDecimal(canonical: string, locale: Locale): string {
  const [whole = '', fraction] = canonical.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, locale === 'ru' ? '\u00a0' : ',');
  if (fraction === undefined) return grouped;
  return `${grouped}${locale === 'ru' ? ',' : '.'}${fraction}`;
}

/** A stored value as a person reads it: option labels, «Да»/«Нет», formatted dates and numbers, tags joined. */
export function formatValue(field: FieldDefinition, value: StoredValue, { locale, timeZone }: FormatOptions): string {
  const list = Array.isArray(value) ? value : [String(value)];
  switch (field.kind) {
    case 'boolean':
      return messages[value === true ? 'yes' : 'no'][locale];
    case 'enum':
      return list.map((v) => field.options.find((option) => option.value === v)?.label[locale] ?? v).join(', ');
    case 'integer':
    case 'decimal':
    case 'money':
      return formatDecimal(String(value), locale);
    case 'date':
      return formatDate(String(value), locale);
    case 'datetime':
      return formatDateTime(String(value), locale, timeZone);
    default:
      return list.join(', ');
  }
}
