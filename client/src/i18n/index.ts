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

/**
 * Russian plural forms, for messages written «один | несколько | много» («1 непрочитанная |
 * 3 непрочитанных | 5 непрочитанных»); a message with fewer forms uses the last it has.
 */
function russianPlural(choice: number, choicesLength: number): number {
  const n = Math.abs(choice) % 100;
  const form = n % 10 === 1 && n !== 11 ? 0 : n % 10 >= 2 && n % 10 <= 4 && (n < 12 || n > 14) ? 1 : 2;
  return Math.min(form, choicesLength - 1);
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'ru',
  messages: { ru, en },
  pluralRules: { ru: russianPlural },
});

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  localStorage.setItem(STORAGE_KEY, locale);
  document.documentElement.lang = locale;
}
