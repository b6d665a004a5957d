/** Shapes and operations of the card API (server/src/cards, unread, history) as the workspace uses them. */
import type { FilterOperator } from '../../../card-types';
import { CardTypeFields, definitionFrom } from '../api/card-types';
import { everyRow, graphql, request, type ResultOf } from '../api/graphql';
import { registerServerKinds } from '../field-kinds/plugins';
import type { CardTypeDef, Locale, Localized } from '../api/types';

export type { CardTypeDef, FieldDef, Localized, RelatedTabDef } from '../api/types';

export type FieldValue = string | number | boolean | string[] | null;
/** Values as a form or a client holds them: the kernel's stored values, null for a field being cleared. */
export type CardValues = Record<string, FieldValue>;

/** What a card list row shows of a card. */
const CardRowFields = graphql(`
  fragment CardRowFields on Card {
    id typeKey title values version createdAt updatedAt
    unread { isNew changedFields }
    references { fieldKey id title accessible inTrash deleted }
  }
`);

/** What a card page shows of a card. */
const CardFields = graphql(
  `
    fragment CardFields on Card {
      ...CardRowFields
      folderId inTrash createdBy { fullName } updatedBy { fullName }
    }
  `,
  [CardRowFields],
);

/** A row of the card list. */
export type CardRow = ResultOf<typeof CardRowFields>;
export type CardDetails = ResultOf<typeof CardFields>;
export type UnreadState = NonNullable<CardRow['unread']>;
export type CardReference = CardRow['references'][number];

export type FolderInfo = NonNullable<ResultOf<typeof WorkspaceFolder>['folder']>;

export type FilterOp = FilterOperator;
export interface CardFilter {
  field: string;
  op: FilterOp;
  value?: string;
  values?: string[];
  from?: string;
  to?: string;
}

export type CardPage = ResultOf<typeof CardPageQuery>['cards'];

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

export const localized = (text: Localized | undefined, locale: Locale | string): string => (text ? (locale === 'en' ? text.en : text.ru) : '');

const CardTypes = graphql(`query CardTypes { cardTypes { ...CardTypeFields } fieldKinds { key } }`, [CardTypeFields]);

/** The card types, with the plugins' field kinds they may use registered first. */
export async function fetchCardTypes(): Promise<CardTypeDef[]> {
  const { cardTypes, fieldKinds } = await request(CardTypes);
  registerServerKinds(fieldKinds.map((kind) => kind.key));
  return cardTypes.map(definitionFrom);
}

const WorkspaceFolder = graphql(`query WorkspaceFolder($id: ID!) { folder(id: $id) { id libraryId parentId name allowedCardTypes defaultCardType myAccess } }`);

export async function fetchFolder(id: string): Promise<FolderInfo | null> {
  return (await request(WorkspaceFolder, { id })).folder;
}

const CardPageQuery = graphql(
  `
    query CardPage($folderId: ID!, $first: Int, $after: String, $sortBy: String, $descending: Boolean, $filters: [CardFilterInput!]) {
      cards(folderId: $folderId, first: $first, after: $after, sortBy: $sortBy, descending: $descending, filters: $filters) {
        pageInfo { hasNextPage endCursor }
        edges { node { ...CardRowFields } }
      }
    }
  `,
  [CardRowFields],
);

export async function fetchCardPage(
  folderId: string,
  options: { first: number; after: string | null; sortBy: string; descending: boolean; filters: CardFilter[] },
): Promise<CardPage> {
  return (await request(CardPageQuery, { folderId, ...options })).cards;
}

/**
 * How many cards the folder holds under these filters. Asked separately from the rows: counting a
 * large folder takes longer than reading a page, and the rows should not wait for it.
 */
const CardCount = graphql(`query CardCount($folderId: ID!, $filters: [CardFilterInput!]) { cards(folderId: $folderId, first: 1, filters: $filters) { totalCount } }`);

export async function fetchCardCount(folderId: string, filters: CardFilter[]): Promise<number> {
  return (await request(CardCount, { folderId, filters })).cards.totalCount;
}

/** Several cards in one request (more when they are large); a card the viewer may no longer read (or that is gone) comes back null. */
const Cards = graphql(`query Cards($ids: [ID!]!, $after: String) { cards(ids: $ids, after: $after) { edges { node { ...CardFields } } pageInfo { hasNextPage endCursor } } }`, [
  CardFields,
]);

export async function fetchCards(ids: string[]): Promise<(CardDetails | null)[]> {
  if (ids.length === 0) return [];
  const found = new Map((await everyRow(async (after) => (await request(Cards, { ids, after })).cards)).map((node) => [node.id, node]));
  return ids.map((id) => found.get(id) ?? null);
}

/** Opens a card: its unread state as it was (for highlighting) and marks it read. */
const OpenCard = graphql(`mutation OpenCard($id: ID!) { openCard(id: $id) { ...CardFields } }`, [CardFields]);

export async function openCard(id: string): Promise<CardDetails | null> {
  return (await request(OpenCard, { id })).openCard;
}

const CreateCard = graphql(
  `mutation CreateCard($folderId: ID!, $typeKey: String!, $values: JSON!) { createCard(folderId: $folderId, typeKey: $typeKey, values: $values) { ...CardFields } }`,
  [CardFields],
);

export async function createCard(folderId: string, typeKey: string, values: CardValues): Promise<CardDetails> {
  return (await request(CreateCard, { folderId, typeKey, values })).createCard;
}

const UpdateCard = graphql(`mutation UpdateCard($id: ID!, $version: Int!, $values: JSON!) { updateCard(id: $id, version: $version, values: $values) { ...CardFields } }`, [
  CardFields,
]);

export async function updateCard(id: string, version: number, values: CardValues): Promise<CardDetails> {
  return (await request(UpdateCard, { id, version, values })).updateCard;
}

const MoveCard = graphql(`mutation MoveCard($id: ID!, $folderId: ID!, $version: Int!) { moveCard(id: $id, folderId: $folderId, version: $version) { ...CardFields } }`, [
  CardFields,
]);

export async function moveCard(id: string, folderId: string, version: number): Promise<CardDetails> {
  return (await request(MoveCard, { id, folderId, version })).moveCard;
}

const RestoreCard = graphql(`mutation RestoreCard($id: ID!) { restoreCard(id: $id) { id } }`);
const TrashCard = graphql(`mutation TrashCard($id: ID!) { deleteCard(id: $id) { id } }`);

export async function trashCard(id: string, restore = false): Promise<void> {
  await request(restore ? RestoreCard : TrashCard, { id });
}

const MarkFolderRead = graphql(`mutation MarkFolderRead($folderId: ID!) { markFolderRead(folderId: $folderId) }`);

/** Marks every card of the folder read; returns how many were unread. */
export async function markFolderRead(folderId: string): Promise<number> {
  return (await request(MarkFolderRead, { folderId })).markFolderRead;
}

const MarkUnread = graphql(`mutation MarkUnread($id: ID!) { markCardUnread(id: $id) }`);

export async function markUnread(id: string): Promise<void> {
  await request(MarkUnread, { id });
}

const Related = graphql(
  `query Related($cardId: ID!, $tab: String!, $after: String) {
    relatedCards(cardId: $cardId, tab: $tab, first: 100, after: $after) { edges { node { ...CardRowFields } } pageInfo { hasNextPage endCursor } }
  }`,
  [CardRowFields],
);
// No values asked: the server's budget of values does not cut the reply (its first 500 in one).
const RelatedTitles = graphql(`
  query RelatedTitles($cardId: ID!, $tab: String!, $after: String) {
    relatedCards(cardId: $cardId, tab: $tab, first: 500, after: $after) { edges { node { id title } } pageInfo { hasNextPage endCursor } }
  }
`);
export type RelatedRow = Pick<CardRow, 'id' | 'title' | 'values' | 'references'>;

/**
 * A related tab's cards by title: its first 500, as many pages as they take; their values only when
 * the tab shows columns besides the title (s17 guard H1: 250 cards of 157,000 characters were 19
 * replies of 2.8 MB for a tab of titles). A read made `stale` (another took its place) stops asking.
 */
export async function fetchRelated(cardId: string, tab: string, withValues: boolean, stale?: () => boolean): Promise<RelatedRow[]> {
  if (!withValues) {
    const rows = await everyRow(async (after) => (await request(RelatedTitles, { cardId, tab, after })).relatedCards, 500, stale);
    return rows.map((row) => ({ ...row, values: {}, references: [] }));
  }
  return everyRow(async (after) => (await request(Related, { cardId, tab, after })).relatedCards, 500, stale);
}

const TrashPage = graphql(`
  query TrashPage($after: String, $folderId: ID, $search: String) {
    trashPage(first: 50, after: $after, folderId: $folderId, search: $search) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id title typeKey trashedAt folder { id name } mergedInto { id title folderId } mergedIntoTitle } }
    }
  }
`);
export type TrashedCard = ResultOf<typeof TrashPage>['trashPage']['edges'][number]['node'];

/** A page of the trash (50, the latest deleted first), in one folder or all, with the words searched for. */
export async function fetchTrashPage(options: { after: string | null; folderId: string | null; search: string }) {
  const page = (await request(TrashPage, { after: options.after, folderId: options.folderId, search: options.search || null })).trashPage;
  return { cards: page.edges.map((edge) => edge.node), totalCount: page.totalCount, endCursor: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null };
}

const Search = graphql(`
  query Search($query: String!, $libraryId: ID, $first: Int) {
    search(query: $query, libraryId: $libraryId, first: $first) { exact card { id title typeKey folderId values } foundInFiles { id name } }
    searchIndexing { percent }
  }
`);
export type SearchHit = ResultOf<typeof Search>['search'][number];
/** Non-null while cards stored before word search are still being given their words: the hits may be incomplete. */
export type SearchIndexing = ResultOf<typeof Search>['searchIndexing'];

export async function searchCards(query: string, libraryId: string | null, first = 30): Promise<{ hits: SearchHit[]; indexing: SearchIndexing }> {
  const found = await request(Search, { query, libraryId, first });
  return { hits: found.search, indexing: found.searchIndexing };
}

const SearchResultsPage = graphql(`
  query SearchResultsPage($query: String!, $first: Int, $after: String) {
    searchResults(query: $query, first: $first, after: $after) {
      edges { node { exact card { id title typeKey folderId values } foundInFiles { id name } } }
      pageInfo { hasNextPage endCursor }
      totalCount
      totalExact
    }
    searchIndexing { percent }
  }
`);
export type SearchResultsPage = ResultOf<typeof SearchResultsPage>['searchResults'];

/** A page of all the results of a search («Все результаты»), with how many there are, and how far the search's indexing is. */
export async function searchResultsPage(query: string, after: string | null, first = 50): Promise<{ page: SearchResultsPage; indexing: SearchIndexing }> {
  const found = await request(SearchResultsPage, { query, first, after });
  return { page: found.searchResults, indexing: found.searchIndexing };
}

type HistoryNode = ResultOf<typeof History>['cardHistory']['edges'][number]['node'];

/** A field's change; the schema passes its values and titles as JSON, read here as the server writes them. */
export type HistoryChange = Omit<HistoryNode['changes'][number], 'before' | 'after' | 'beforeTitles' | 'afterTitles'> & {
  before: FieldValue;
  after: FieldValue;
  /** Titles of referenced cards (for a move, folder names) by id; null for «нет доступа». */
  beforeTitles: Record<string, string | null> | null;
  afterTitles: Record<string, string | null> | null;
};

export type HistoryEntry = Omit<HistoryNode, 'changes'> & { changes: HistoryChange[] };

const History = graphql(`
  query History($cardId: ID!, $field: String, $after: String) {
    cardHistory(cardId: $cardId, field: $field, first: 50, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { seq at actorName action via changes { key label { ru en } before after beforeTitles afterTitles beforeHidden afterHidden files } } }
    }
  }
`);

export async function fetchHistory(
  cardId: string,
  field: string | null,
  after: string | null,
): Promise<{ totalCount: number; entries: HistoryEntry[]; endCursor: string | null; hasNextPage: boolean }> {
  const { cardHistory } = await request(History, { cardId, field, after });
  return { totalCount: cardHistory.totalCount, entries: cardHistory.edges.map((e) => e.node as HistoryEntry), ...cardHistory.pageInfo };
}

const AsOf = graphql(`query AsOf($cardId: ID!, $at: DateTime!) { cardAsOf(cardId: $cardId, at: $at) { values existed } }`);

export async function fetchAsOf(cardId: string, at: string): Promise<{ values: CardValues; existed: boolean }> {
  return (await request(AsOf, { cardId, at })).cardAsOf;
}

const Revert = graphql(`
  mutation Revert($cardId: ID!, $at: DateTime!, $fields: [String!], $version: Int!) { revertCard(cardId: $cardId, at: $at, fields: $fields, version: $version) { id } }
`);

/** Reverts `fields` (all when null) to their values at `at`. */
export async function revertCard(cardId: string, at: string, fields: string[] | null, version: number): Promise<void> {
  await request(Revert, { cardId, at, fields, version });
}

const UsersById = graphql(`query UsersById($ids: [ID!]!) { users(ids: $ids) { id fullName } }`);
export type UserName = ResultOf<typeof UsersById>['users'][number];

/** Users by id in one request (deactivated ones too: their names stay on cards); null for an id that names nobody. */
export async function fetchUsers(ids: string[]): Promise<(UserName | null)[]> {
  if (ids.length === 0) return [];
  const data = await request(UsersById, { ids });
  const found = new Map(data.users.map((user) => [user.id, user]));
  return ids.map((id) => found.get(id) ?? null);
}

const FindUsers = graphql(`query FindUsers($search: String) { users(search: $search) { id fullName } }`);

export async function findUsers(search: string): Promise<UserName[]> {
  return (await request(FindUsers, { search })).users.slice(0, 20);
}
