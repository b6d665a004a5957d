/** The interface languages, Russian first. */
export type Locale = 'ru' | 'en';

/** A text in both languages. */
export interface LocalizedText {
  ru: string;
  en: string;
}
