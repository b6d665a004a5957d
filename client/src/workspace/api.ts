/** Shapes and operations of the card API (server/src/cards, unread, history) as the workspace uses them. */
import type { CardTypeDefinition, FieldDefinition, FilterOperator, LocalizedText, RelatedTab } from '../../../card-types';
import { CARD_TYPE_FIELDS, definitionFrom, type ApiCardType } from '../api/card-types';
import { graphql } from '../api/graphql';
import type { AccessLevel, Locale } from '../api/types';

export type Localized = LocalizedText;
/** A field as the kernel defines it (`card-types/kernel/definition.ts`). */
export type FieldDef = FieldDefinition;
export type RelatedTabDef = RelatedTab;

/** A card type as the workspace reads it. */
export type CardTypeDef = Omit<CardTypeDefinition, 'origin'> & { origin?: CardTypeDefinition['origin'] };

export type FieldValue = string | number | boolean | string[] | null;
export type CardValues = Record<string, FieldValue>;

export interface UnreadState {
  isNew: boolean;
  changedFields: string[];
}

export interface CardReference {
  fieldKey: string;
  id: string;
  title: string | null;
  accessible: boolean;
  /** The referenced card is in the trash. */
  inTrash: boolean;
}

/** A row of the card list. */
export interface CardRow {
  id: string;
  typeKey: string;
  title: string;
  values: CardValues;
  version: number;
  createdAt: string;
  updatedAt: string;
  unread: UnreadState | null;
  references: CardReference[];
}

export interface CardDetails extends CardRow {
  folderId: string;
  createdBy: { fullName: string } | null;
  updatedBy: { fullName: string } | null;
  inTrash: boolean;
}

export interface FolderInfo {
  id: string;
  libraryId: string;
  name: string;
  allowedCardTypes: string[];
  defaultCardType: string | null;
  myAccess: AccessLevel;
}

export type FilterOp = FilterOperator;
export interface CardFilter {
  field: string;
  op: FilterOp;
  value?: string;
  values?: string[];
  from?: string;
  to?: string;
}

export interface CardPage {
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: CardRow }[];
}

/** The readable card that already holds a value a unique field refused (BAD_USER_INPUT `extensions.sameValue`). */
export interface SameValueCard {
  id: string;
  title: string;
  folderId: string;
}

export interface ConflictState {
  version: number;
  values: CardValues;
  title: string;
  updatedAt: string;
  updatedBy: string | { fullName: string } | null;
}

const ROW_FIELDS = 'id typeKey title values version createdAt updatedAt unread { isNew changedFields } references { fieldKey id title accessible inTrash }';
const CARD_FIELDS = `${ROW_FIELDS} folderId createdAt inTrash createdBy { fullName } updatedBy { fullName }`;

export const localized = (text: Localized | undefined, locale: Locale | string): string => (text ? (locale === 'en' ? text.en : text.ru) : '');

export async function fetchCardTypes(): Promise<CardTypeDef[]> {
  const data = await graphql<{ cardTypes: ApiCardType[] }>(`query CardTypes { cardTypes { ${CARD_TYPE_FIELDS} } }`);
  return data.cardTypes.map(definitionFrom);
}

export async function fetchFolder(id: string): Promise<FolderInfo | null> {
  const data = await graphql<{ folder: FolderInfo | null }>(
    'query WorkspaceFolder($id: ID!) { folder(id: $id) { id libraryId name allowedCardTypes defaultCardType myAccess } }',
    { id },
  );
  return data.folder;
}

export async function fetchCardPage(
  folderId: string,
  options: { first: number; after: string | null; sortBy: string; descending: boolean; filters: CardFilter[] },
): Promise<CardPage> {
  const data = await graphql<{ cards: CardPage }>(
    `query CardPage($folderId: ID!, $first: Int, $after: String, $sortBy: String, $descending: Boolean, $filters: [CardFilterInput!]) {
      cards(folderId: $folderId, first: $first, after: $after, sortBy: $sortBy, descending: $descending, filters: $filters) {
        pageInfo { hasNextPage endCursor } edges { cursor node { ${ROW_FIELDS} } } } }`,
    { folderId, ...options },
  );
  return data.cards;
}

/**
 * How many cards the folder holds under these filters. Asked separately from the rows: counting a
 * large folder takes longer than reading a page, and the rows should not wait for it.
 */
export async function fetchCardCount(folderId: string, filters: CardFilter[]): Promise<number> {
  const data = await graphql<{ cards: { totalCount: number } }>(
    'query CardCount($folderId: ID!, $filters: [CardFilterInput!]) { cards(folderId: $folderId, first: 1, filters: $filters) { totalCount } }',
    { folderId, filters },
  );
  return data.cards.totalCount;
}

/** Several cards in one request; a card the viewer may no longer read (or that is gone) comes back null. */
export async function fetchCards(ids: string[]): Promise<(CardDetails | null)[]> {
  if (ids.length === 0) return [];
  const data = await graphql<{ cards: { edges: { node: CardDetails }[] } }>(`query Cards($ids: [ID!]!) { cards(ids: $ids, first: ${ids.length}) { edges { node { ${CARD_FIELDS} } } } }`, { ids });
  const found = new Map(data.cards.edges.map(({ node }) => [node.id, node]));
  return ids.map((id) => found.get(id) ?? null);
}

/** Opens a card: its unread state as it was (for highlighting) and marks it read. */
export async function openCard(id: string): Promise<CardDetails | null> {
  const data = await graphql<{ openCard: CardDetails | null }>(`mutation OpenCard($id: ID!) { openCard(id: $id) { ${CARD_FIELDS} } }`, { id });
  return data.openCard;
}

export async function createCard(folderId: string, typeKey: string, values: CardValues): Promise<CardDetails> {
  const data = await graphql<{ createCard: CardDetails }>(
    `mutation CreateCard($folderId: ID!, $typeKey: String!, $values: JSON!) { createCard(folderId: $folderId, typeKey: $typeKey, values: $values) { ${CARD_FIELDS} } }`,
    { folderId, typeKey, values },
  );
  return data.createCard;
}

export async function updateCard(id: string, version: number, values: CardValues): Promise<CardDetails> {
  const data = await graphql<{ updateCard: CardDetails }>(
    `mutation UpdateCard($id: ID!, $version: Int!, $values: JSON!) { updateCard(id: $id, version: $version, values: $values) { ${CARD_FIELDS} } }`,
    { id, version, values },
  );
  return data.updateCard;
}

export async function moveCard(id: string, folderId: string, version: number): Promise<CardDetails> {
  const data = await graphql<{ moveCard: CardDetails }>(
    `mutation MoveCard($id: ID!, $folderId: ID!, $version: Int!) { moveCard(id: $id, folderId: $folderId, version: $version) { ${CARD_FIELDS} } }`,
    { id, folderId, version },
  );
  return data.moveCard;
}

export async function trashCard(id: string, restore = false): Promise<void> {
  await graphql(restore ? 'mutation Restore($id: ID!) { restoreCard(id: $id) { id } }' : 'mutation Trash($id: ID!) { deleteCard(id: $id) { id } }', { id });
}

/** Marks every card of the folder read; returns how many were unread. */
export async function markFolderRead(folderId: string): Promise<number> {
  const data = await graphql<{ markFolderRead: number }>('mutation MarkFolderRead($folderId: ID!) { markFolderRead(folderId: $folderId) }', { folderId });
  return data.markFolderRead;
}

export async function markUnread(id: string): Promise<void> {
  await graphql('mutation MarkUnread($id: ID!) { markCardUnread(id: $id) }', { id });
}

export async function fetchRelated(cardId: string, tab: string): Promise<CardRow[]> {
  const data = await graphql<{ relatedCards: CardRow[] }>(
    `query Related($cardId: ID!, $tab: String!) { relatedCards(cardId: $cardId, tab: $tab) { ${ROW_FIELDS} } }`,
    { cardId, tab },
  );
  return data.relatedCards;
}

export interface TrashedCard {
  id: string;
  title: string;
  typeKey: string;
  trashedAt: string | null;
  folder: { id: string; name: string } | null;
  /** Merged into this card (null also when the viewer may not read it). */
  mergedInto: { id: string; title: string; folderId: string } | null;
}

export async function fetchTrash(): Promise<TrashedCard[]> {
  const data = await graphql<{ trash: TrashedCard[] }>('query Trash { trash { id title typeKey trashedAt folder { id name } mergedInto { id title folderId } } }');
  return data.trash;
}

export interface SearchHit {
  exact: boolean;
  card: { id: string; title: string; typeKey: string; folderId: string; values: CardValues };
}

export async function searchCards(query: string, libraryId: string | null, first = 30): Promise<SearchHit[]> {
  const data = await graphql<{ search: SearchHit[] }>(
    'query Search($query: String!, $libraryId: ID, $first: Int) { search(query: $query, libraryId: $libraryId, first: $first) { exact card { id title typeKey folderId values } } }',
    { query, libraryId, first },
  );
  return data.search;
}

export interface HistoryChange {
  key: string;
  label: Localized;
  before: FieldValue;
  after: FieldValue;
  /** Titles of referenced cards (for a move, folder names) by id; null for «нет доступа». */
  beforeTitles: Record<string, string | null> | null;
  afterTitles: Record<string, string | null> | null;
  /** The value names a folder the reader may not see. */
  beforeHidden: boolean;
  afterHidden: boolean;
}

export interface HistoryEntry {
  seq: number;
  at: string;
  actorName: string;
  action: string;
  changes: HistoryChange[];
}

export async function fetchHistory(cardId: string, field: string | null, after: string | null): Promise<{ totalCount: number; entries: HistoryEntry[]; endCursor: string | null; hasNextPage: boolean }> {
  const data = await graphql<{ cardHistory: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: HistoryEntry }[] } }>(
    `query History($cardId: ID!, $field: String, $after: String) { cardHistory(cardId: $cardId, field: $field, first: 50, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { seq at actorName action changes { key label { ru en } before after beforeTitles afterTitles beforeHidden afterHidden } } } } }`,
    { cardId, field, after },
  );
  return { totalCount: data.cardHistory.totalCount, entries: data.cardHistory.edges.map((e) => e.node), ...data.cardHistory.pageInfo };
}

export async function fetchAsOf(cardId: string, at: string): Promise<{ values: CardValues; existed: boolean }> {
  const data = await graphql<{ cardAsOf: { values: CardValues; existed: boolean } }>('query AsOf($cardId: ID!, $at: DateTime!) { cardAsOf(cardId: $cardId, at: $at) { values existed } }', { cardId, at });
  return data.cardAsOf;
}

/** Reverts `fields` (all when null) to their values at `at`. */
export async function revertCard(cardId: string, at: string, fields: string[] | null, version: number): Promise<void> {
  await graphql('mutation Revert($cardId: ID!, $at: DateTime!, $fields: [String!], $version: Int!) { revertCard(cardId: $cardId, at: $at, fields: $fields, version: $version) { id } }', {
    cardId,
    at,
    fields: fields ?? undefined,
    version,
  });
}

export interface UserName {
  id: string;
  fullName: string;
}

/** Users by id in one request (deactivated ones too: their names stay on cards); null for an id that names nobody. */
export async function fetchUsers(ids: string[]): Promise<(UserName | null)[]> {
  if (ids.length === 0) return [];
  const data = await graphql<{ users: UserName[] }>('query Users($ids: [ID!]!) { users(ids: $ids) { id fullName } }', { ids });
  const found = new Map(data.users.map((user) => [user.id, user]));
  return ids.map((id) => found.get(id) ?? null);
}

export async function findUsers(search: string): Promise<UserName[]> {
  const data = await graphql<{ users: UserName[] }>('query FindUsers($search: String) { users(search: $search) { id fullName } }', { search });
  return data.users.slice(0, 20);
}
