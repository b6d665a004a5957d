/** The duplicates API (server/src/duplicates) as the client uses it. */
import { graphql } from '../api/graphql';
import type { CardDetails } from '../workspace/api';

export interface DuplicateRule {
  id: string;
  fields: string[];
  mode: 'exact' | 'similar';
  label: string;
}

export interface SimilarCard {
  card: { id: string; title: string; folderId: string; folder: { name: string } | null };
  score: number;
  rules: DuplicateRule[];
}

export interface GroupCard {
  id: string;
  title: string;
  folderId: string;
  version: number;
  folder: { name: string } | null;
}

export interface DuplicateGroup {
  id: string;
  typeKey: string;
  score: number;
  canMerge: boolean;
  cards: GroupCard[];
  pairs: { a: string; b: string; score: number; rule: DuplicateRule }[];
}

export interface RuleSet {
  typeKey: string;
  threshold: number;
  customized: boolean;
  scannedAt: string | null;
  groups: number;
  rules: DuplicateRule[];
}

export interface CardMerge {
  id: string;
  canUndo: boolean;
  undoneAt: string | null;
  references: number;
  survivor: { id: string; title: string; folderId: string } | null;
  merged: { id: string; title: string }[];
}

const RULE = 'id fields mode label';
const MERGE = 'id canUndo undoneAt references survivor { id title folderId } merged { id title }';
const RULE_SET = `typeKey threshold customized scannedAt groups rules { ${RULE} }`;

export async function fetchSimilarCards(typeKey: string, values: Record<string, unknown>, excludeId: string | null): Promise<SimilarCard[]> {
  const data = await graphql<{ similarCards: SimilarCard[] }>(
    `query SimilarCards($t: String!, $v: JSON!, $x: ID) { similarCards(typeKey: $t, values: $v, excludeId: $x) { card { id title folderId folder { name } } score rules { ${RULE} } } }`,
    { t: typeKey, v: values, x: excludeId },
  );
  return data.similarCards;
}

export async function fetchGroups(after: string | null): Promise<{ groups: DuplicateGroup[]; endCursor: string | null; hasNextPage: boolean }> {
  const data = await graphql<{ duplicateGroups: { edges: { node: DuplicateGroup }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(
    `query DuplicateGroups($after: String) { duplicateGroups(first: 30, after: $after) {
      edges { node { id typeKey score canMerge cards { id title folderId version folder { name } } pairs { a b score rule { ${RULE} } } } }
      pageInfo { hasNextPage endCursor } } }`,
    { after },
  );
  return { groups: data.duplicateGroups.edges.map((edge) => edge.node), ...data.duplicateGroups.pageInfo };
}

export async function fetchScanStatus(): Promise<{ job: { id: string; state: string } | null; types: RuleSet[] }> {
  const data = await graphql<{ duplicateScan: { job: { id: string; state: string } | null; types: RuleSet[] } }>(
    `query DuplicateScan { duplicateScan { job { id state } types { ${RULE_SET} } } }`,
  );
  return data.duplicateScan;
}

export async function startScan(): Promise<string> {
  return (await graphql<{ findDuplicates: { id: string } }>('mutation FindDuplicates { findDuplicates { id } }')).findDuplicates.id;
}

export async function markNotDuplicates(cardId: string, otherIds: string[]): Promise<void> {
  await graphql('mutation MarkNotDuplicates($c: ID!, $o: [ID!]!) { markNotDuplicates(cardId: $c, otherIds: $o) }', { c: cardId, o: otherIds });
}

export async function mergeCards(survivor: GroupCard | CardDetails, merged: (GroupCard | CardDetails)[], choices: { field: string; cardId: string }[]): Promise<CardMerge> {
  const data = await graphql<{ mergeCards: { merge: CardMerge } }>(
    `mutation MergeCards($s: CardVersionInput!, $m: [CardVersionInput!]!, $c: [MergeChoiceInput!]!) { mergeCards(survivor: $s, merged: $m, choices: $c) { merge { ${MERGE} } } }`,
    { s: { id: survivor.id, version: survivor.version }, m: merged.map((card) => ({ id: card.id, version: card.version })), c: choices },
  );
  return data.mergeCards.merge;
}

export async function undoMerge(id: string): Promise<void> {
  await graphql('mutation UndoMerge($id: ID!) { undoMerge(id: $id) { id } }', { id });
}

/** Where a card in the trash went, when it was merged. */
export async function fetchMergeOfCard(cardId: string): Promise<{ mergedInto: { id: string; title: string; folderId: string } | null; merge: CardMerge | null } | null> {
  const data = await graphql<{ card: { mergedInto: { id: string; title: string; folderId: string } | null; merge: CardMerge | null } | null }>(
    `query MergeOfCard($id: ID!) { card(id: $id) { mergedInto { id title folderId } merge { ${MERGE} } } }`,
    { id: cardId },
  );
  return data.card;
}

export async function fetchRuleSets(): Promise<RuleSet[]> {
  return (await graphql<{ duplicateRuleSets: RuleSet[] }>(`query DuplicateRuleSets { duplicateRuleSets { ${RULE_SET} } }`)).duplicateRuleSets;
}

export async function saveRuleSet(typeKey: string, threshold: number, rules: { id: string; fields: string[]; mode: string }[]): Promise<RuleSet> {
  const data = await graphql<{ setDuplicateRules: RuleSet }>(
    `mutation SetDuplicateRules($t: String!, $th: Float!, $r: [DuplicateRuleInput!]!) { setDuplicateRules(typeKey: $t, threshold: $th, rules: $r) { ${RULE_SET} } }`,
    { t: typeKey, th: threshold, r: rules },
  );
  return data.setDuplicateRules;
}

export async function resetRuleSet(typeKey: string): Promise<RuleSet> {
  return (await graphql<{ resetDuplicateRules: RuleSet }>(`mutation ResetDuplicateRules($t: String!) { resetDuplicateRules(typeKey: $t) { ${RULE_SET} } }`, { t: typeKey }))
    .resetDuplicateRules;
}
