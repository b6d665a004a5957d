/** The duplicates API (server/src/duplicates) as the client uses it, typed from schema.graphql. */
import type { FolderPlace } from '../ability';
import { everyRow, graphql, request, type ResultOf, type VariablesOf } from '../api/graphql';

const RuleFields = graphql(`fragment RuleFields on DuplicateRule { id fields mode label }`);
const MergeFields = graphql(`fragment MergeFields on CardMerge { id canUndo undoObstacle undoneAt references survivor { id title folderId } merged { id title } }`);
const RuleSetFields = graphql(
  `fragment RuleSetFields on DuplicateRuleSet { typeKey threshold customized scannedAt groups moreGroups rules { ...RuleFields } commonValues { rule { ...RuleFields } value cards } }`,
  [RuleFields],
);

const SimilarCards = graphql(
  `query SimilarCards($t: String!, $v: JSON!, $x: ID) { similarCards(typeKey: $t, values: $v, excludeId: $x) { card { id title folderId folder { name } values references { fieldKey id title accessible inTrash deleted } } score refusedBy refusedFields rules { ...RuleFields } } }`,
  [RuleFields],
);
const DuplicateGroups = graphql(
  `query DuplicateGroups($after: String, $typeKey: String, $search: String, $cardId: ID) {
    duplicateGroups(first: 30, after: $after, typeKey: $typeKey, search: $search, cardId: $cardId) {
      edges { node { id typeKey score canMerge size cards(first: 8) { id title folderId version folder { name } values references { fieldKey id title accessible inTrash deleted } } rules { ...RuleFields } lookAlikeTitles { value parts { text hint invisible } } } }
      pageInfo { hasNextPage endCursor }
      searchLimit
    }
  }`,
  [RuleFields],
);
const DuplicateDismissals = graphql(`query DuplicateDismissals($after: String, $typeKey: String) {
  duplicateDismissals(first: 30, after: $after, typeKey: $typeKey) {
    edges { node { id typeKey byName at cards { id title folderId inTrash folder { name } values references { fieldKey id title accessible inTrash deleted } } } }
    pageInfo { hasNextPage endCursor }
  }
}`);
/** The cards a merge dialog offers of a group larger than the page lists: as many as one merge takes. */
const GroupCardIds = graphql(`query GroupCardIds($c: ID!) { duplicateGroups(cardId: $c, first: 1) { edges { node { id cards(first: 21) { id } } } } }`);
/** The merge dialog: the folder of each card (a card the viewer may not delete there is merged only as a probable duplicate). */
const CardFolders = graphql(
  `query CardFolders($ids: [ID!]!, $after: String) { cards(ids: $ids, after: $after) { edges { node { id folder { id libraryId name } } } pageInfo { hasNextPage endCursor } } }`,
);
const UndoNotDuplicates = graphql(`mutation UndoNotDuplicates($id: ID!) { undoNotDuplicates(id: $id) }`);
const CardDuplicateGroup = graphql(`query CardDuplicateGroup($id: ID!) { card(id: $id) { duplicateGroup { id size } } }`);
const DuplicateScan = graphql(`query DuplicateScan { duplicateScan { job { id state } commonValueLimit types { ...RuleSetFields } } }`, [RuleSetFields]);
const FindDuplicates = graphql(`mutation FindDuplicates { findDuplicates { id } }`);
const MarkNotDuplicates = graphql(`mutation MarkNotDuplicates($c: ID!, $o: [ID!]!) { markNotDuplicates(cardId: $c, otherIds: $o) }`);
const MergeCards = graphql(
  `mutation MergeCards($s: CardVersionInput!, $m: [CardVersionInput!]!, $c: [MergeChoiceInput!]!) { mergeCards(survivor: $s, merged: $m, choices: $c) { merge { ...MergeFields } job { id } } }`,
  [MergeFields],
);
const CardMergeQuery = graphql(`query CardMerge($id: ID!) { cardMerge(id: $id) { ...MergeFields } }`, [MergeFields]);
const UndoMerge = graphql(`mutation UndoMerge($id: ID!) { undoMerge(id: $id) { id undoJob { id } } }`);
const MergeOfCard = graphql(`query MergeOfCard($id: ID!) { card(id: $id) { mergedInto { id title folderId } mergedIntoTitle merge { ...MergeFields } } }`, [MergeFields]);
const LookAlikeValues = graphql(`query LookAlikeValues($v: [String!]!) { lookAlikeValues(values: $v) { value parts { text hint invisible } } }`);
const DuplicateRuleSets = graphql(`query DuplicateRuleSets { duplicateRuleSets { ...RuleSetFields } }`, [RuleSetFields]);
const SetDuplicateRules = graphql(
  `mutation SetDuplicateRules($t: String!, $th: Float!, $r: [DuplicateRuleInput!]!) { setDuplicateRules(typeKey: $t, threshold: $th, rules: $r) { ...RuleSetFields } }`,
  [RuleSetFields],
);
const ResetDuplicateRules = graphql(`mutation ResetDuplicateRules($t: String!) { resetDuplicateRules(typeKey: $t) { ...RuleSetFields } }`, [RuleSetFields]);

export type DuplicateRule = ResultOf<typeof RuleFields>;
export type SimilarCard = ResultOf<typeof SimilarCards>['similarCards'][number];
export type DuplicateGroup = ResultOf<typeof DuplicateGroups>['duplicateGroups']['edges'][number]['node'];
export type GroupCard = DuplicateGroup['cards'][number];
export type RuleSet = ResultOf<typeof RuleSetFields>;
export type CardMerge = ResultOf<typeof MergeFields>;
type CardVersion = { id: string; version: number };

export async function fetchSimilarCards(typeKey: string, values: Record<string, unknown>, excludeId: string | null): Promise<SimilarCard[]> {
  return (await request(SimilarCards, { t: typeKey, v: values, x: excludeId })).similarCards;
}

/** Which groups the page lists: of one card type, of cards whose title has the words of `search`, or one card's group. */
export interface GroupFilter {
  typeKey: string | null;
  search: string | null;
  cardId: string | null;
}

/**
 * A page of groups (as the filter narrows them); `searchLimit` when the search matched more cards
 * than it looks at (the groups are those of the first `searchLimit` of them).
 */
export async function fetchGroups(
  after: string | null,
  filter: GroupFilter,
): Promise<{ groups: DuplicateGroup[]; endCursor: string | null; hasNextPage: boolean; searchLimit: number | null }> {
  const { duplicateGroups } = await request(DuplicateGroups, { after, ...filter });
  return { groups: duplicateGroups.edges.map((edge) => edge.node), ...duplicateGroups.pageInfo, searchLimit: duplicateGroups.searchLimit ?? null };
}

export type Dismissal = ResultOf<typeof DuplicateDismissals>['duplicateDismissals']['edges'][number]['node'];

/** A page of «Не дубликат» marks the viewer may take back, the latest first. */
export async function fetchDismissals(after: string | null, typeKey: string | null): Promise<{ marks: Dismissal[]; endCursor: string | null; hasNextPage: boolean }> {
  const { duplicateDismissals } = await request(DuplicateDismissals, { after, typeKey });
  return { marks: duplicateDismissals.edges.map((edge) => edge.node), ...duplicateDismissals.pageInfo };
}

/** The ids of a group's cards for its merge dialog (the page lists the first few of a large group), found by one of its cards. */
export async function fetchGroupCardIds(group: { id: string; cards: { id: string }[] }): Promise<string[]> {
  const { duplicateGroups } = await request(GroupCardIds, { c: group.cards[0].id });
  const found = duplicateGroups.edges.find((edge) => edge.node.id === group.id)?.node.cards ?? group.cards;
  return found.map((card) => card.id);
}

/** Of these cards, those in folders where the viewer may not delete cards (by the session's rules), with their folder's name (by card id). */
export async function fetchUndeletable(ids: string[], mayDelete: (folder: FolderPlace) => boolean): Promise<Map<string, string>> {
  const cards = await everyRow(async (after) => (await request(CardFolders, { ids, after })).cards);
  return new Map(cards.flatMap((node) => (node.folder && !mayDelete(node.folder) ? [[node.id, node.folder.name] as const] : [])));
}

export async function undoNotDuplicates(id: string): Promise<void> {
  await request(UndoNotDuplicates, { id });
}

/** «Возможные дубликаты»: the group a card is in as the viewer sees it (its id and how many cards), or null. */
export async function fetchCardDuplicateGroup(cardId: string): Promise<{ id: string; size: number } | null> {
  return (await request(CardDuplicateGroup, { id: cardId })).card?.duplicateGroup ?? null;
}

export async function fetchScanStatus(): Promise<ResultOf<typeof DuplicateScan>['duplicateScan']> {
  return (await request(DuplicateScan)).duplicateScan;
}

export async function startScan(): Promise<string> {
  return (await request(FindDuplicates)).findDuplicates.id;
}

export async function markNotDuplicates(cardId: string, otherIds: string[]): Promise<void> {
  await request(MarkNotDuplicates, { c: cardId, o: otherIds });
}

/** A merge as done within the request, or with the job still re-pointing its references (a large one). */
export interface MergeStarted {
  merge: CardMerge;
  jobId: string | null;
}

export async function mergeCards(survivor: CardVersion, merged: CardVersion[], choices: VariablesOf<typeof MergeCards>['c']): Promise<MergeStarted> {
  const version = ({ id, version }: CardVersion) => ({ id, version });
  const { merge, job } = (await request(MergeCards, { s: version(survivor), m: merged.map(version), c: choices })).mergeCards;
  return { merge, jobId: job?.id ?? null };
}

export async function fetchMerge(id: string): Promise<CardMerge | null> {
  return (await request(CardMergeQuery, { id })).cardMerge;
}

/** Undoes a merge; for a large one, the id of the job still pointing its references back (else null). */
export async function undoMerge(id: string): Promise<string | null> {
  return (await request(UndoMerge, { id })).undoMerge.undoJob?.id ?? null;
}

/** Where a card in the trash went, when it was merged. */
export async function fetchMergeOfCard(cardId: string): Promise<ResultOf<typeof MergeOfCard>['card']> {
  return (await request(MergeOfCard, { id: cardId })).card;
}

export type LookAlikePart = ResultOf<typeof LookAlikeValues>['lookAlikeValues'][number]['parts'][number];

/** The longest value the server compares for look-alikes. */
const LOOK_ALIKE_MAX_LENGTH = 2_000;

/**
 * Of these values, those that differ from another only by look-alike letters (Latin «a» for
 * Cyrillic «а») or invisible characters, by value: their parts, the telling characters named.
 */
export async function fetchLookAlikes(values: string[]): Promise<Map<string, LookAlikePart[]>> {
  const compared = [...new Set(values)].filter((value) => value.length <= LOOK_ALIKE_MAX_LENGTH);
  if (compared.length < 2) return new Map();
  return new Map((await request(LookAlikeValues, { v: compared })).lookAlikeValues.map((found) => [found.value, found.parts]));
}

export async function fetchRuleSets(): Promise<RuleSet[]> {
  return (await request(DuplicateRuleSets)).duplicateRuleSets;
}

export async function saveRuleSet(typeKey: string, threshold: number, rules: VariablesOf<typeof SetDuplicateRules>['r']): Promise<RuleSet> {
  return (await request(SetDuplicateRules, { t: typeKey, th: threshold, r: rules })).setDuplicateRules;
}

export async function resetRuleSet(typeKey: string): Promise<RuleSet> {
  return (await request(ResetDuplicateRules, { t: typeKey })).resetDuplicateRules;
}
