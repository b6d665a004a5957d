/** The card type administration API (server/src/cards/graphql.ts, history/graphql.ts) as the designer uses it. */
import { CARD_TYPE_FIELDS, definitionFrom, type ApiCardType } from '../../api/card-types';
import { graphql } from '../../api/graphql';
import type { Localized } from '../../workspace/api';
import type { StoredDefinition } from './draft';

export interface CardTypeSummary {
  key: string;
  names: Localized;
  historyEnabled: boolean;
  definition: StoredDefinition;
  /** The background job applying the type's saved change to its cards: from a save, the one it started; otherwise one still running (null: none). */
  changeJobId: string | null;
}

/** One field's part of the server's dry run (cardTypeChangePreview / a refused updateCardType). */
export interface FieldChangeReport {
  key: string;
  allowed: boolean;
  refusal: string | null;
  safe: boolean;
  updates: number;
  /** The first 200 of each list, and how many there are in all. */
  failures: { cardId: string; value: unknown; reason: string }[];
  failureCount: number;
  missing: string[];
  missingCount: number;
  missingAccepted: boolean;
  duplicates: { value: unknown; cardIds: string[] }[];
  duplicateCount: number;
}

export interface SchemaChangeReport {
  safe: boolean;
  fields: FieldChangeReport[];
  /** Fields the change hides (their values stay on the cards), fields it shows again, related tabs it removes. */
  hiddenFields: string[];
  restoredFields: string[];
  removedTabs: { key: string; label: Localized }[];
}

type AdminCardType = ApiCardType & { changeJob: { id: string } | null };
const ADMIN_TYPE_FIELDS = `${CARD_TYPE_FIELDS} changeJob { id }`;

/** A type as the designer lists and edits it: its names and history switch, the kernel's definition, and the job applying its change. */
const summary = ({ changeJob, ...type }: AdminCardType): CardTypeSummary => ({
  key: type.key,
  names: type.names,
  historyEnabled: type.historyEnabled,
  definition: definitionFrom(type) as StoredDefinition,
  changeJobId: changeJob?.id ?? null,
});

export async function fetchCardTypes(): Promise<CardTypeSummary[]> {
  return (await graphql<{ cardTypes: AdminCardType[] }>(`query AdminCardTypes { cardTypes { ${ADMIN_TYPE_FIELDS} } }`)).cardTypes.map(summary);
}

/** The server's dry run of saving `definition` over the stored type. */
export async function previewCardTypeChange(definition: StoredDefinition): Promise<SchemaChangeReport> {
  const query = `query CardTypeChangePreview($definition: CardTypeInput!) {
    cardTypeChangePreview(definition: $definition) {
      safe hiddenFields restoredFields removedTabs { key label { ru en } }
      fields { key allowed refusal safe updates failures { cardId value reason } failureCount missing missingCount missingAccepted duplicates { value cardIds } duplicateCount }
    }
  }`;
  return (await graphql<{ cardTypeChangePreview: SchemaChangeReport }>(query, { definition })).cardTypeChangePreview;
}

export async function saveCardType(definition: StoredDefinition, isNew: boolean): Promise<CardTypeSummary> {
  const name = isNew ? 'createCardType' : 'updateCardType';
  const data = await graphql<Record<string, AdminCardType>>(`mutation SaveCardType($definition: CardTypeInput!) { ${name}(definition: $definition) { ${ADMIN_TYPE_FIELDS} } }`, { definition });
  return summary(data[name]);
}

export async function setCardTypeHistory(typeKey: string, enabled: boolean): Promise<CardTypeSummary> {
  const query = `mutation SetCardTypeHistory($typeKey: String!, $enabled: Boolean!) { setCardTypeHistory(typeKey: $typeKey, enabled: $enabled) { ${CARD_TYPE_FIELDS} } }`;
  return summary({ ...(await graphql<{ setCardTypeHistory: ApiCardType }>(query, { typeKey, enabled })).setCardTypeHistory, changeJob: null });
}
