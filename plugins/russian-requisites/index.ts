/**
 * `russian-requisites`: the field kinds ИНН, КПП and ОГРН/ОГРНИП (formats and checksums), a
 * check that a card's INN, KPP and OGRN belong to the same kind of taxpayer, the card type
 * «Банковский счёт», the GraphQL query `requisitesCheck(inn:)` and, in the browser, an INN input
 * that formats as you type (client.ts). Enabled by `PLUGINS=russian-requisites` (the default).
 */
import type { CardTypeDefinition, FieldErrors, Locale, Plugin } from '../api';
import { innProblem, ogrnProblem } from './checksums';
import { bankAccount } from './card-types';
import { graphql } from './graphql';
import fieldKinds from './kinds';
import { text } from './messages';

/** The key of the type's one visible field of this kind; none when it has no such field or several (which to pair is then unclear). */
function onlyField(cardType: CardTypeDefinition, kind: string): string | undefined {
  const fields = cardType.fields.filter((field) => field.kind === kind && !field.hidden);
  return fields.length === 1 ? fields[0]?.key : undefined;
}

/** A valid INN, KPP and OGRN on one card must also belong to the same kind of taxpayer. */
function crossCheck(cardType: CardTypeDefinition, values: Readonly<Record<string, unknown>>, locale: Locale): FieldErrors | undefined {
  const [innKey, kppKey, ogrnKey] = [onlyField(cardType, 'inn'), onlyField(cardType, 'kpp'), onlyField(cardType, 'ogrn')];
  const read = (key: string | undefined) => (key === undefined || values[key] === undefined || values[key] === null ? '' : String(values[key]).replace(/[\s-]/g, ''));
  const [inn, kpp, ogrn] = [read(innKey), read(kppKey), read(ogrnKey)];
  if (!inn || innProblem(inn) !== undefined) return undefined;
  const errors: FieldErrors = {};
  if (kppKey && inn.length === 12 && kpp) errors[kppKey] = text.kppOfSoleTrader[locale];
  if (ogrnKey && ogrn && ogrnProblem(ogrn) === undefined) {
    if (inn.length === 12 && ogrn.length === 13) errors[ogrnKey] = text.ogrnOfSoleTrader[locale];
    if (inn.length === 10 && ogrn.length === 15) errors[ogrnKey] = text.ogrnipOfOrganisation[locale];
  }
  return errors;
}

const russianRequisites: Plugin = {
  name: 'russian-requisites',
  fieldKinds,
  hooks: { beforeValidate: ({ cardType, values, locale }) => crossCheck(cardType, values, locale) },
  cardTypes: [bankAccount],
  graphql,
};

export default russianRequisites;
