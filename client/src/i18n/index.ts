import { createI18n } from 'vue-i18n';
import en from './en';
import ru from './ru';

export type Locale = 'ru' | 'en';
export const LOCALES: Locale[] = ['ru', 'en'];
const STORAGE_KEY = 'kartoteka.locale';

function initialLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY);
  return saved === 'en' || saved === 'ru' ? saved : 'ru';
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'ru',
  messages: { ru, en },
});

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  localStorage.setItem(STORAGE_KEY, locale);
  document.documentElement.lang = locale;
}
