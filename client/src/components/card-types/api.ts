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

/** A type as the designer lists and edits it: its names and history switch, and the kernel's definition. */
const summary = (type: ApiCardType): CardTypeSummary => ({ key: type.key, names: type.names, historyEnabled: type.historyEnabled, definition: definitionFrom(type) as StoredDefinition });

export async function fetchCardTypes(): Promise<CardTypeSummary[]> {
  return (await graphql<{ cardTypes: ApiCardType[] }>(`query AdminCardTypes { cardTypes { ${CARD_TYPE_FIELDS} } }`)).cardTypes.map(summary);
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
  const data = await graphql<Record<string, ApiCardType>>(`mutation SaveCardType($definition: CardTypeInput!) { ${name}(definition: $definition) { ${CARD_TYPE_FIELDS} } }`, { definition });
  return summary(data[name]);
}

export async function setCardTypeHistory(typeKey: string, enabled: boolean): Promise<CardTypeSummary> {
  const query = `mutation SetCardTypeHistory($typeKey: String!, $enabled: Boolean!) { setCardTypeHistory(typeKey: $typeKey, enabled: $enabled) { ${CARD_TYPE_FIELDS} } }`;
  return summary((await graphql<{ setCardTypeHistory: ApiCardType }>(query, { typeKey, enabled })).setCardTypeHistory);
}
