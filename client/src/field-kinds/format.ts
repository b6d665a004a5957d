import { useI18n } from 'vue-i18n';
import { formatValue, type FieldDefinition, type FormatOptions, type Locale, type StoredValue } from '../../../card-types';

/** The browser's time zone: date-times read in local time. */
export const localTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Stored values as the kernel formats them, in the interface language and the browser's time zone. */
export function useFormat() {
  const { locale } = useI18n();
  return (field: FieldDefinition, value: StoredValue | null | undefined, linkText?: FormatOptions['linkText']): string => {
    if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) return '';
    return formatValue(field, value, { locale: (locale.value === 'en' ? 'en' : 'ru') as Locale, timeZone: localTimeZone(), linkText });
  };
}

/**
 * A number typed in English: a comma groups digits («150,000» is 150000, «1,234.50» 1234.50) and is
 * taken out, so the kernel — which reads a comma as the decimal point, as Russian writes it — reads
 * what was meant. Anything else is left as typed.
 */
export function useEnglishDigitGroups(): (text: string) => string {
  const { locale } = useI18n();
  return (text) => (locale.value === 'en' && /^\s*[+-]?\d{1,3}(,\d{3})+(\.\d*)?\s*$/.test(text) ? text.replace(/,/g, '') : text);
}
