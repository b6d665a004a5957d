/** The card type administration API (server/src/cards/graphql.ts, history/graphql.ts) as the designer uses it. */
import { graphql } from '../../api/graphql';
import type { Localized } from '../../workspace/api';
import type { FieldChangeReport } from './ChangeReport.vue';
import type { StoredDefinition } from './draft';

export interface CardTypeSummary {
  key: string;
  names: Localized;
  historyEnabled: boolean;
  definition: StoredDefinition;
}

export interface SchemaChangeReport {
  safe: boolean;
  fields: FieldChangeReport[];
}

const TYPE_FIELDS = 'key names { ru en } historyEnabled definition';

export async function fetchCardTypes(): Promise<CardTypeSummary[]> {
  return (await graphql<{ cardTypes: CardTypeSummary[] }>(`query AdminCardTypes { cardTypes { ${TYPE_FIELDS} } }`)).cardTypes;
}

/** The server's dry run of saving `definition` over the stored type. */
export async function previewCardTypeChange(definition: StoredDefinition): Promise<SchemaChangeReport> {
  const query = `query CardTypeChangePreview($definition: JSON!) {
    cardTypeChangePreview(definition: $definition) { safe fields { key allowed refusal safe updates failures missing duplicates } }
  }`;
  return (await graphql<{ cardTypeChangePreview: SchemaChangeReport }>(query, { definition })).cardTypeChangePreview;
}

export async function saveCardType(definition: StoredDefinition, isNew: boolean): Promise<CardTypeSummary> {
  const name = isNew ? 'createCardType' : 'updateCardType';
  const data = await graphql<Record<string, CardTypeSummary>>(`mutation SaveCardType($definition: JSON!) { ${name}(definition: $definition) { ${TYPE_FIELDS} } }`, { definition });
  return data[name];
}

export async function setCardTypeHistory(typeKey: string, enabled: boolean): Promise<CardTypeSummary> {
  const query = `mutation SetCardTypeHistory($typeKey: String!, $enabled: Boolean!) { setCardTypeHistory(typeKey: $typeKey, enabled: $enabled) { ${TYPE_FIELDS} } }`;
  return (await graphql<{ setCardTypeHistory: CardTypeSummary }>(query, { typeKey, enabled })).setCardTypeHistory;
}
