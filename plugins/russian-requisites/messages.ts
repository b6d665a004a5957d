import type { LocalizedText } from '../api';

/** What the plugin says, in Russian and English. */
export const text = {
  innFormat: { ru: 'ИНН должен содержать 10 или 12 цифр', en: 'An INN has 10 or 12 digits' },
  innChecksum: { ru: 'Неверная контрольная сумма ИНН', en: 'Wrong INN check digits' },
  kppFormat: {
    ru: 'КПП — 9 символов: 4 цифры, 2 цифры или заглавные латинские буквы, 3 цифры',
    en: 'A KPP has 9 characters: 4 digits, 2 digits or capital latin letters, 3 digits',
  },
  ogrnFormat: { ru: 'ОГРН должен содержать 13 цифр, ОГРНИП — 15', en: 'An OGRN has 13 digits, an OGRNIP 15' },
  ogrnChecksum: { ru: 'Неверная контрольная сумма ОГРН', en: 'Wrong OGRN check digit' },
  ogrnipChecksum: { ru: 'Неверная контрольная сумма ОГРНИП', en: 'Wrong OGRNIP check digit' },
  kppOfSoleTrader: {
    ru: 'КПП бывает только у организаций (ИНН из 10 цифр)',
    en: 'Only organisations (10-digit INN) have a KPP',
  },
  ogrnOfSoleTrader: {
    ru: 'ИНН из 12 цифр — у предпринимателя: укажите ОГРНИП (15 цифр)',
    en: 'A 12-digit INN belongs to a sole trader: enter the OGRNIP (15 digits)',
  },
  ogrnipOfOrganisation: {
    ru: 'ИНН из 10 цифр — у организации: укажите ОГРН (13 цифр)',
    en: 'A 10-digit INN belongs to an organisation: enter the OGRN (13 digits)',
  },
} satisfies Record<string, LocalizedText>;
