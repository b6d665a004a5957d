import { useI18n } from 'vue-i18n';

/**
 * Dates and times in the interface's language, in one form everywhere: English as in Britain
 * («27/11/2026, 13:52»), not the US form («11/27/26, 1:52 PM») that vue-i18n's `d` gives for «en».
 */
export function useDateTime(): (value: string | number | Date, options?: Intl.DateTimeFormatOptions) => string {
  const { locale } = useI18n();
  return (value, options) => new Date(value).toLocaleString(locale.value === 'en' ? 'en-GB' : 'ru-RU', options);
}
