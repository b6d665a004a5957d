/** Card type definitions as the API types them (CardType, Field …), read into the kernel's definitions. */
import type { CardTypeDefinition, FieldDefinition } from '../../../card-types';
import { graphql, type ResultOf } from './graphql';

/** Everything of a card type the kernel needs: the selection of `cardTypes`, `cardType` and the type mutations. */
export const CardTypeFields = graphql(`
  fragment CardTypeFields on CardType {
    key names { ru en } titleTemplate historyEnabled icon colour origin customized version
    fields {
      key kind label { ru en } required requiredFor unique help { ru en } section { ru en } order listed hidden origin customized
      default min max scale pattern patternMessage { ru en } options { value label { ru en } } multiple targets allowedTypes
    }
    relatedTabs { key label { ru en } cardType referenceField origin }
  }
`);

/** The API's shape of a card type: every property present, null where there is none. */
export type ApiCardType = ResultOf<typeof CardTypeFields>;

const withoutNulls = <T extends object>(record: T): T => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null)) as T;

/** A card type from the API as the kernel's definition: absent instead of null. */
export function definitionFrom(type: ApiCardType): CardTypeDefinition {
  return withoutNulls({
    ...type,
    fields: type.fields.map((field) => withoutNulls(field) as FieldDefinition),
    relatedTabs: (type.relatedTabs ?? []).map((tab) => withoutNulls(tab)),
  }) as unknown as CardTypeDefinition;
}
