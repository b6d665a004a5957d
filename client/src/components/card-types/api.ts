/** The card type administration API (server/src/cards/graphql.ts, history/graphql.ts) as the designer uses it. */
import { CardTypeFields, definitionFrom } from '../../api/card-types';
import { graphql, request, type ResultOf, type VariablesOf } from '../../api/graphql';
import { registerServerKinds } from '../../field-kinds/plugins';
import type { Localized } from '../../workspace/api';
import type { StoredDefinition } from './draft';

export interface CardTypeSummary {
  key: string;
  names: Localized;
  historyEnabled: boolean;
  definition: StoredDefinition;
  /** The background job applying the type's saved change to its cards: from a save, the one it started; otherwise one still running (null: none). */
  changeJobId: string | null;
  /** Unique fields whose values the database does not keep unique, and why (null: every one is kept unique). */
  uniqueNotEnforced: { fields: string[]; reason: 'DUPLICATES' | 'INDEX_LIMIT' } | null;
}

/** A type as the designer reads it: the kernel's definition and the job applying its last change. */
const AdminCardTypeFields = graphql(`fragment AdminCardTypeFields on CardType { ...CardTypeFields changeJob { id } uniqueNotEnforced uniqueNotEnforcedReason }`, [CardTypeFields]);
const AdminCardTypes = graphql(`query AdminCardTypes { cardTypes { ...AdminCardTypeFields } fieldKinds { key } }`, [AdminCardTypeFields]);
const CardTypeChangePreview = graphql(`
  query CardTypeChangePreview($definition: CardTypeInput!, $acceptAltered: Boolean) {
    cardTypeChangePreview(definition: $definition, acceptAlteredValues: $acceptAltered) {
      safe checkId hiddenFields restoredFields removedTabs { key label { ru en } }
      fields {
        key allowed refusal safe updates failures { cardId value reason } failureCount missing missingCount missingAccepted duplicates { value cardIds } duplicateCount
        altered { was becomes cards } alteredCount alteredAccepted
      }
    }
  }
`);
const CreateCardType = graphql(`mutation CreateCardType($definition: CardTypeInput!) { createCardType(definition: $definition) { ...AdminCardTypeFields } }`, [
  AdminCardTypeFields,
]);
const UpdateCardType = graphql(
  `mutation UpdateCardType($definition: CardTypeInput!, $checkId: ID, $acceptAltered: Boolean) {
    updateCardType(definition: $definition, checkId: $checkId, acceptAlteredValues: $acceptAltered) { ...AdminCardTypeFields }
  }`,
  [AdminCardTypeFields],
);
const SetCardTypeHistory = graphql(
  `mutation SetCardTypeHistory($typeKey: String!, $enabled: Boolean!) { setCardTypeHistory(typeKey: $typeKey, enabled: $enabled) { ...CardTypeFields } }`,
  [CardTypeFields],
);

/** The server's dry run (cardTypeChangePreview / a refused updateCardType): per field, and the fields it hides, shows again and the tabs it removes. */
export type SchemaChangeReport = ResultOf<typeof CardTypeChangePreview>['cardTypeChangePreview'];
/** One field's part of the dry run. */
export type FieldChangeReport = SchemaChangeReport['fields'][number];

/** The definition as the API's input type (the kernel's definition is that input, with its settings optional). */
const input = (definition: StoredDefinition) => definition as VariablesOf<typeof CreateCardType>['definition'];

type AdminCardType = ResultOf<typeof AdminCardTypeFields>;

/** A type as the designer lists and edits it: its names and history switch, the kernel's definition, and the job applying its change. */
const summary = ({ changeJob, uniqueNotEnforced, uniqueNotEnforcedReason, ...type }: AdminCardType): CardTypeSummary => ({
  key: type.key,
  names: type.names,
  historyEnabled: type.historyEnabled,
  definition: definitionFrom(type) as StoredDefinition,
  changeJobId: changeJob?.id ?? null,
  uniqueNotEnforced: uniqueNotEnforced?.length && uniqueNotEnforcedReason ? { fields: uniqueNotEnforced, reason: uniqueNotEnforcedReason } : null,
});

/** The card types, with the plugins' field kinds the designer may offer registered first. */
export async function fetchCardTypes(): Promise<CardTypeSummary[]> {
  const { cardTypes, fieldKinds } = await request(AdminCardTypes);
  registerServerKinds(fieldKinds.map((kind) => kind.key));
  return cardTypes.map(summary);
}

const CardIndexUse = graphql(`query CardIndexUse { cardIndexUse { inUse budget } }`);

/** How many of the cards collection's indexes are taken, of those card types may take (null: not an administrator). */
export async function fetchCardIndexUse(): Promise<{ inUse: number; budget: number } | null> {
  return (await request(CardIndexUse)).cardIndexUse;
}

/** The server's dry run of saving `definition` over the stored type; `acceptAltered`: the administrator accepts values the conversion changes. */
export async function previewCardTypeChange(definition: StoredDefinition, acceptAltered = false): Promise<SchemaChangeReport> {
  return (await request(CardTypeChangePreview, { definition: input(definition), acceptAltered })).cardTypeChangePreview;
}

/** Saves a type; `checkId`: the dry run just made of this definition, so the server checks again only the cards changed since. */
export async function saveCardType(definition: StoredDefinition, isNew: boolean, checkId: string | null = null, acceptAltered = false): Promise<CardTypeSummary> {
  const variables = { definition: input(definition) };
  return summary(isNew ? (await request(CreateCardType, variables)).createCardType : (await request(UpdateCardType, { ...variables, checkId, acceptAltered })).updateCardType);
}

/** A field the dry run found unsafe only because the conversion would change how values read: saving it needs the administrator's consent. */
export const onlyAltered = (field: FieldChangeReport): boolean =>
  field.allowed && field.failureCount === 0 && (field.missingCount === 0 || field.missingAccepted) && field.duplicateCount === 0 && field.alteredCount > 0;

export async function setCardTypeHistory(typeKey: string, enabled: boolean): Promise<CardTypeSummary> {
  return summary({ ...(await request(SetCardTypeHistory, { typeKey, enabled })).setCardTypeHistory, changeJob: null, uniqueNotEnforced: null, uniqueNotEnforcedReason: null });
}
