import type { LocalizedText } from '../../card-types';
import type { Locale } from '../../server/src/i18n';
import type { FieldErrors, FieldValidator, Plugin } from '../api';
import { innProblem, kppProblem, ogrnProblem, type RequisiteProblem } from './checksums';

const text = {
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

const cardType = 'counterparty';

const asText = (value: unknown): string => String(value).trim();

function validator(field: string, check: (value: string) => LocalizedText | undefined): FieldValidator {
  return { cardType, field, validate: (value: unknown, locale: Locale) => check(asText(value))?.[locale] };
}

function messageFor(problem: RequisiteProblem | undefined, format: LocalizedText, checksum: LocalizedText): LocalizedText | undefined {
  if (problem === 'format') return format;
  return problem === 'checksum' ? checksum : undefined;
}

/** A valid INN, OGRN and KPP must also belong to the same kind of taxpayer. */
function crossCheck(values: Readonly<Record<string, unknown>>, locale: Locale): FieldErrors {
  const read = (key: string) => (values[key] === undefined || values[key] === null ? '' : asText(values[key]));
  const [inn, kpp, ogrn] = [read('inn'), read('kpp'), read('ogrn')];
  const errors: FieldErrors = {};
  if (innProblem(inn) !== undefined) return errors;
  if (inn.length === 12 && kpp) errors.kpp = text.kppOfSoleTrader[locale];
  if (ogrn && ogrnProblem(ogrn) === undefined) {
    if (inn.length === 12 && ogrn.length === 13) errors.ogrn = text.ogrnOfSoleTrader[locale];
    if (inn.length === 10 && ogrn.length === 15) errors.ogrn = text.ogrnipOfOrganisation[locale];
  }
  return errors;
}

/** Checksums and formats of a counterparty's ИНН, КПП and ОГРН/ОГРНИП. */
export const russianRequisites: Plugin = {
  name: 'russian-requisites',
  fieldValidators: [
    validator('inn', (inn) => messageFor(innProblem(inn), text.innFormat, text.innChecksum)),
    validator('kpp', (kpp) => (kppProblem(kpp) ? text.kppFormat : undefined)),
    validator('ogrn', (ogrn) => messageFor(ogrnProblem(ogrn), text.ogrnFormat, ogrn.length === 15 ? text.ogrnipChecksum : text.ogrnChecksum)),
  ],
  hooks: {
    beforeValidate: ({ cardType: type, values, locale }) => (type.key === cardType ? crossCheck(values, locale) : undefined),
  },
};
