import { useI18n } from 'vue-i18n';

/** A text of both languages in the interface language (empty when there is none). */
export function useLabel() {
  const { locale } = useI18n();
  return (text: { ru: string; en: string } | undefined): string => (text ? (locale.value === 'en' ? text.en : text.ru) : '');
}
