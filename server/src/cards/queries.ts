import { accessibleBy } from '@casl/mongoose';
import DataLoader from 'dataloader';
import { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { exactKeysOfQuery, kindOf, ownValue, sortsLists, type CardTypeDefinition, type FieldDefinition } from '../../../card-types';
import { findFolder } from '../folders/service';
import { notFound } from '../errors';
import { DEFAULT_PAGE_SIZE, escapeRegExp, FieldErrors, MAX_RELATED_CARDS, objectIdArgument, pageSize, refuseField, searchText } from '../validation';
import { openCursor, sealCursor } from './cursor';
import { budgetSpent, rowsWithinBudget, withinBudget } from './budget';
import { findInOneReply } from './find-in-one-reply';
import { Card, reading, WITHOUT_SEARCH_FIELDS, type CardDoc } from './model';
import { permittedCards } from './permitted';
import { everyWordMatch, pageOfHits, queryPrefixes, rankedWordHits, searchByWords, wordCandidates, SEARCH_CANDIDATES, type RankedHit, type WordResultsPage } from './search';
import { listCardTypes } from '../card-types/registry';
import { cardTypeOrFail, findCard } from './service';

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

const FILTER_OPERATORS = ['contains', 'equals', 'range', 'in', 'empty', 'notEmpty', 'tags'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export interface CardFilter {
  field: string;
  op: FilterOperator;
  value?: string | null;
  values?: string[] | null;
  from?: string | null;
  to?: string | null;
}

export interface ListOptions {
  first: number;
  after?: string | null;
  /** title, createdAt, updatedAt, or a field key. */
  sortBy?: string | null;
  descending?: boolean | null;
  filters?: CardFilter[] | null;
}

export interface Connection<T> {
  edges: { node: T; cursor: string }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  /** Counted only when asked for (GraphQL calls it for the `totalCount` field): a count costs a scan of the folder's index range. */
  totalCount: () => Promise<number>;
}

/** A MongoDB filter on cards. */
type Filter = Record<string, unknown>;

const SYSTEM_SORTS = new Set(['title', 'createdAt', 'updatedAt']);
const MAX_PAGE = 200;

const MAX_FILTERS = 20;
const MAX_FILTER_VALUES = 100;
const MAX_FILTER_TEXT = 200;
const MAX_CURSOR_LENGTH = 100_000;

/** What a sort value is in the database: the cursor must carry exactly that, nothing else. */
type SortScalar = 'string' | 'number' | 'boolean' | 'date';
type SortValue = string | number | boolean | Date | null;

/** A cursor is `[sort value, card id]` sealed (./cursor: opaque to the client); dates travel as ISO strings. */
const encodeCursor = (value: SortValue, id: Types.ObjectId) => sealCursor([value instanceof Date ? value.toISOString() : value, String(id)]);

/**
 * An edge of a keyset page whose cursor is sealed when it is read: sealing costs an encryption,
 * and a list asks for the last row's alone (`pageInfo.endCursor`), not each row's.
 */
class KeysetEdge {
  #cursor: string | undefined;
  constructor(
    readonly node: CardDoc,
    private readonly sortValue: SortValue,
  ) {}

  get cursor(): string {
    this.#cursor ??= encodeCursor(this.sortValue, this.node._id);
    return this.#cursor;
  }
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Reads a cursor strictly (one this server sealed, then): a scalar of a type the sort field stores (or null) and an ObjectId.
 * Anything else — operators, objects, arrays, other types — is refused at `after`, so nothing a
 * client sends reaches the query as an object.
 */
function decodeCursor(actor: Actor, cursor: string, scalars: ReadonlySet<SortScalar>): [SortValue, Types.ObjectId] {
  const refuse = () => refuseField(actor.locale, 'after', 'badCursor');
  const decoded = openCursor(cursor, MAX_CURSOR_LENGTH);
  if (!Array.isArray(decoded) || decoded.length !== 2) return refuse();
  const [raw, id] = decoded as [unknown, unknown];
  if (typeof id !== 'string' || !/^[0-9a-f]{24}$/.test(id)) return refuse();
  if (raw === null) return [null, new Types.ObjectId(id)];
  if (scalars.has('date') && typeof raw === 'string' && ISO_INSTANT.test(raw) && !Number.isNaN(Date.parse(raw))) return [new Date(raw), new Types.ObjectId(id)];
  const fits =
    (scalars.has('string') && typeof raw === 'string') ||
    (scalars.has('number') && typeof raw === 'number' && Number.isFinite(raw)) ||
    (scalars.has('boolean') && typeof raw === 'boolean');
  return fits ? [raw as string | number | boolean, new Types.ObjectId(id)] : refuse();
}

/**
 * Keyset condition for "after this row" in (sort field, _id) order. Missing values sort first
 * (as null), which MongoDB's $gt/$lt would never match, so they get their own branch.
 */
function afterCondition(path: string, value: SortValue, id: Types.ObjectId, descending: boolean): Filter {
  const beyond = descending ? '$lt' : '$gt';
  if (value === null) {
    const sameNull = { [path]: null, _id: { [beyond]: id } };
    return descending ? sameNull : { $or: [sameNull, { [path]: { $exists: true, $ne: null } }] };
  }
  const branches: Filter[] = [{ [path]: { [beyond]: value } }, { [path]: value, _id: { [beyond]: id } }];
  if (descending) branches.push({ [path]: null });
  return { $or: branches };
}

/** A filter value typed by a person → the form the field stores (a number, a date, true/false …), as the field's kind reads it. */
function filterValue(field: FieldDefinition | undefined, text: string | null | undefined): string | number | boolean | undefined {
  if (text === null || text === undefined || text.length > MAX_FILTER_TEXT) return undefined;
  const value = field ? kindOf(field).filter.bound(text, field) : text;
  return Array.isArray(value) ? undefined : value;
}

const isText = (value: unknown): boolean => value === undefined || value === null || typeof value === 'string';
const FILTER_KEYS = new Set(['field', 'op', 'value', 'values', 'from', 'to']);

/**
 * Whether a filter has the shape of the GraphQL `CardFilter` input: texts where texts go, a known
 * operator, nothing else. GraphQL ensures it for `cards(filters:)`; a filter read from JSON (the
 * export's URL) may be anything, e.g. a query operator in place of a value.
 */
function wellFormed(filter: unknown): filter is CardFilter {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return false;
  const { field, op, value, values, from, to } = filter as Record<string, unknown>;
  return (
    Object.keys(filter).every((key) => FILTER_KEYS.has(key)) &&
    typeof field === 'string' &&
    (FILTER_OPERATORS as readonly unknown[]).includes(op) &&
    [value, from, to].every(isText) &&
    (values === undefined || values === null || (Array.isArray(values) && values.every((each) => typeof each === 'string')))
  );
}

/** The fields of a folder's types a reader sees: hidden (removed) fields keep their values out of lists, filters and sorts. */
const shownFields = (types: CardTypeDefinition[]): FieldDefinition[] => types.flatMap((type) => type.fields).filter((field) => field.hidden !== true);

/** The keys of the types among `types` that hide a field `key`. */
const typesHiding = (types: CardTypeDefinition[], key: string): string[] =>
  types.filter((type) => type.fields.some((field) => field.key === key && field.hidden === true)).map((type) => type.key);

function filterCondition(types: CardTypeDefinition[], filter: unknown, index: number, errors: FieldErrors): Filter | null {
  if (!wellFormed(filter)) {
    errors.add(`filters.${index}`, 'badFilter');
    return null;
  }
  const system = filter.field === 'title';
  const field = shownFields(types).find((f) => f.key === filter.field);
  // Known field keys name the message (the form shows it at the column); anything else by position.
  const at = system || field ? `filters.${filter.field}` : `filters.${index}`;
  if (!system && !field) {
    errors.add(at, 'noSuchField');
    return null;
  }
  const path = system ? 'title' : `values.${filter.field}`;
  const bad = () => {
    errors.add(at, 'badFilterValue');
    return null;
  };
  // Each kind names the operators that apply to it (a range of dates, a choice of options …).
  if (field && !kindOf(field).filter.operators.includes(filter.op)) return bad();
  if ((filter.values?.length ?? 0) > MAX_FILTER_VALUES) {
    errors.add(at, 'tooMany', { max: MAX_FILTER_VALUES });
    return null;
  }
  const condition = kindCondition(field, path, filter);
  if (condition === undefined) return bad();
  // Where the folder's other types hide a field of the same key, their cards keep it out of sight: a filter on it
  // never reads their values (they show it empty), or its counts would spell out what is hidden.
  const hiddenIn = system ? [] : typesHiding(types, filter.field);
  if (hiddenIn.length === 0) return condition;
  return filter.op === 'empty' ? { $or: [{ typeKey: { $in: hiddenIn } }, condition] } : { $and: [{ typeKey: { $nin: hiddenIn } }, condition] };
}

/** The condition of a well-formed filter on `path` by the field's kind; undefined when its value cannot be read. */
function kindCondition(field: FieldDefinition | undefined, path: string, filter: CardFilter): Filter | undefined {
  const one = (text: string | null | undefined) => filterValue(field, text);
  const many = (texts: readonly string[] | null | undefined) => {
    const parsed = (texts ?? []).map(one);
    return parsed.every((value) => value !== undefined) ? (parsed as (string | number | boolean)[]) : undefined;
  };
  switch (filter.op) {
    case 'contains': {
      // Text to look for is required: a filter without it (or with `values` instead) would list every card.
      const typed = filter.value?.trim() ?? '';
      if (typed === '' || typed.length > MAX_FILTER_TEXT) return undefined;
      const text = field ? kindOf(field).filter.contains(typed, field) : typed;
      // Е and ё match each other (people type «елка» for «Ёлка»), as the search reads them.
      return { [path]: { $regex: escapeRegExp(text).replace(/[её]/gi, '[её]'), $options: 'i' } };
    }
    case 'equals': {
      const value = one(filter.value);
      return value === undefined ? undefined : { [path]: value };
    }
    case 'in': {
      const values = many(filter.values);
      return values === undefined ? undefined : { [path]: { $in: values } };
    }
    case 'tags': {
      const values = many(filter.values);
      return values === undefined ? undefined : { [path]: { $all: values } };
    }
    case 'empty':
      return { [path]: { $exists: false } };
    case 'notEmpty':
      return { [path]: { $exists: true } };
    case 'range': {
      const from = filter.from ? one(filter.from) : null;
      const to = filter.to ? one(filter.to) : null;
      if (from === undefined || to === undefined) return undefined;
      // Decimal values are canonical strings: compare them numerically.
      if (field && kindOf(field).filter.decimal) {
        const bounds = [];
        if (from !== null) bounds.push({ $gte: [{ $toDecimal: `$${path}` }, { $toDecimal: from }] });
        if (to !== null) bounds.push({ $lte: [{ $toDecimal: `$${path}` }, { $toDecimal: to }] });
        return { [path]: { $exists: true }, $expr: { $and: bounds } };
      }
      const range: Record<string, unknown> = {};
      if (from !== null) range.$gte = from;
      if (to !== null) range.$lte = to;
      return { [path]: range };
    }
  }
}

/**
 * The query of a folder's list as a person set it up (filters per kind, sort): the folder (which the
 * actor must be able to read), its cards' condition and order. A page of it, or an export of all.
 */
export async function folderListQuery(actor: Actor, folderId: string, options: Omit<ListOptions, 'first' | 'after'>) {
  const folder = await findFolder(actor, folderId);
  if (!folder) throw notFound(actor, t(actor, 'Папка', 'Folder'));
  // A folder that takes any type lists, filters, sorts and exports by the fields of every type.
  const types = folder.allowedCardTypes.length > 0 ? await Promise.all(folder.allowedCardTypes.map((key) => cardTypeOrFail(actor, key).catch(() => null))) : await listCardTypes();
  const known = types.filter((type): type is CardTypeDefinition => type !== null);
  const errors = new FieldErrors(actor.locale);
  const sortBy = options.sortBy ?? 'updatedAt';
  const descending = options.descending ?? sortBy === 'updatedAt';
  const sortFields = shownFields(known).filter((f) => f.key === sortBy);
  // The order of cards whose type hides the field would spell out its hidden values: such a sort is refused.
  if (!SYSTEM_SORTS.has(sortBy) && (sortFields.length === 0 || typesHiding(known, sortBy).length > 0)) errors.add('sortBy', 'noSuchField');
  // A list of values has no one place in an order: its pages would come round again (s16 re-attack B1).
  else if (sortFields.some((field) => !sortsLists(field))) errors.addMessage('sortBy', t(actor, 'По этому полю список не сортируется', 'The list cannot be sorted by this field'));
  const filters = options.filters ?? [];
  if (filters.length > MAX_FILTERS) errors.add('filters', 'tooMany', { max: MAX_FILTERS });
  const conditions = filters.slice(0, MAX_FILTERS).map((f, index) => filterCondition(known, f, index, errors));
  errors.throwIfAny();
  const base: Filter = { folderId: folder._id, inTrash: false };
  const filtered: Filter = conditions.length > 0 ? { $and: [base, ...conditions.filter(Boolean)] } : base;
  const path = SYSTEM_SORTS.has(sortBy) ? sortBy : `values.${sortBy}`;
  return { folder, types: known, filtered, sortBy, sortFields, path, descending };
}

/** A card's place in a list sorted by `sortBy`, as its keyset cursor carries it. */
function sortValueOf(card: CardDoc, sortBy: string): SortValue {
  if (SYSTEM_SORTS.has(sortBy)) return card[sortBy as 'title' | 'createdAt' | 'updatedAt'];
  const value = ownValue(card.values, sortBy);
  return value === undefined || Array.isArray(value) ? null : value;
}

/**
 * One page of a folder's cards: keyset pagination on (sort field, _id), filters per kind; each card
 * without what `projection` leaves out (projectionForFields).
 */
export async function listFolderCards(
  actor: Actor,
  folderId: string,
  options: ListOptions,
  projection: Record<string, 0> = WITHOUT_SEARCH_FIELDS,
): Promise<Connection<CardDoc> & { types: CardTypeDefinition[] }> {
  const { filtered, sortBy, sortFields, path, descending, types } = await folderListQuery(actor, folderId, options);
  const scalars = new Set<SortScalar>(sortBy === 'title' ? ['string'] : SYSTEM_SORTS.has(sortBy) ? ['date'] : sortFields.map((field) => kindOf(field).stored));

  const cursor = options.after ? decodeCursor(actor, options.after, scalars) : null;
  const page = cursor ? { $and: [filtered, afterCondition(path, cursor[0], cursor[1], descending)] } : filtered;
  const limit = pageSize(options.first, MAX_PAGE);
  const direction = descending ? -1 : 1;
  // The search's words and keys are left out (WITHOUT_SEARCH_FIELDS), and what the query does not
  // show (projectionForFields). Read through the driver: the filter's values are typed already
  // (ObjectIds, dates, the kinds' stored forms under the untyped `values`), so mongoose would cast
  // nothing.
  // A page sorted by a field reads the values even when it shows none: its cursor carries the last card's.
  const read = reading(projection, SYSTEM_SORTS.has(sortBy) ? sortBy : 'values');
  const fetched = (await findInOneReply({ filter: page, projection: read, sort: { [path]: direction, _id: direction }, limit: limit + 1 }, budgetSpent)) as CardDoc[];
  // A page cut by its budget goes on after its last card: the next page brings the rest.
  const shown = Math.min(limit, rowsWithinBudget(fetched));
  const totalCount = () => Card.countDocuments(filtered);
  const edges = fetched.slice(0, shown).map((node) => new KeysetEdge(node, sortValueOf(node, sortBy)));
  return { edges, totalCount, pageInfo: { hasNextPage: fetched.length > shown, endCursor: edges.at(-1)?.cursor ?? null }, types };
}

/**
 * Cards of a related tab, a page at a time by title (keyset on title, _id; `first` at most
 * MAX_RELATED_CARDS): those of the tab's type whose reference field points to this card. A page
 * also ends once its cards pass a reply's budget of values (./budget) and goes on from there.
 */
export async function relatedCards(
  actor: Actor,
  cardId: string,
  tabKey: string,
  options: { first?: number | null; after?: string | null } = {},
  projection: Record<string, 0> = WITHOUT_SEARCH_FIELDS,
): Promise<Connection<CardDoc>> {
  const card = await findCard(actor, cardId);
  if (!card) throw notFound(actor, t(actor, 'Карточка', 'Card'));
  const type = await cardTypeOrFail(actor, card.typeKey);
  const tab = type.relatedTabs?.find((r) => r.key === tabKey);
  if (!tab) throw notFound(actor, t(actor, 'Вкладка', 'Tab'));
  const filter: Filter = { typeKey: tab.cardType, [`values.${tab.referenceField}`]: String(card._id), inTrash: false };
  const cursor = options.after ? decodeCursor(actor, options.after, new Set<SortScalar>(['string'])) : null;
  const page = cursor ? { ...filter, $and: [afterCondition('title', cursor[0], cursor[1], false)] } : filter;
  const limit = pageSize(options.first ?? DEFAULT_PAGE_SIZE, MAX_RELATED_CARDS);
  const rows = await permittedCards(actor, 'read', page, (scoped) => Card.find(scoped, projection).sort({ title: 1, _id: 1 }), limit + 1);
  const shown = Math.min(limit, rowsWithinBudget(rows));
  const edges = rows.slice(0, shown).map((node) => new KeysetEdge(node, node.title ?? null));
  const totalCount = async () => Card.countDocuments({ ...filter, ...accessibleBy(actor.ability, 'read').ofType('Card') });
  return { edges, totalCount, pageInfo: { hasNextPage: rows.length > shown, endCursor: edges.at(-1)?.cursor ?? null } };
}

/**
 * The trash page by page, the latest deleted first (keyset on trashedAt, _id): cards the actor may
 * restore, in one folder or all, those having every word of `search` among their words. The walk
 * follows the trash's own index, so a page costs the cards looked at until it is full, and the
 * count is made only when asked for.
 */
export async function trashPage(
  actor: Actor,
  options: { first?: number | null; after?: string | null; folderId?: string | null; search?: string | null },
  projection: Record<string, 0> = WITHOUT_SEARCH_FIELDS,
): Promise<Connection<CardDoc>> {
  const folderId = options.folderId ? objectIdArgument(actor.locale, 'folderId', options.folderId) : null;
  const search = options.search ? searchText(actor.locale, 'search', options.search) : '';
  const prefixes = search ? queryPrefixes(search) : [];
  const filter: Filter = { inTrash: true, ...(folderId ? { folderId } : {}), ...(prefixes.length > 0 ? { $and: prefixes.map((prefix) => wordCandidates({}, prefix)) } : {}) };
  const cursor = options.after ? decodeCursor(actor, options.after, new Set<SortScalar>(['date'])) : null;
  const page = cursor ? { ...filter, $and: [...((filter.$and as Filter[] | undefined) ?? []), afterCondition('trashedAt', cursor[0], cursor[1], true)] } : filter;
  const limit = pageSize(options.first ?? 50, MAX_PAGE);
  const rows = await permittedCards(
    actor,
    'delete',
    page,
    (scoped) => Card.find(scoped, reading(projection, 'trashedAt')).sort({ trashedAt: -1, _id: -1 }).hint({ inTrash: 1, trashedAt: -1 }),
    limit + 1,
  );
  const totalCount = async () => Card.countDocuments({ ...filter, ...accessibleBy(actor.ability, 'delete').ofType('Card') });
  // A page cut by its budget goes on after its last card, as a folder's page does.
  const shown = Math.min(limit, rowsWithinBudget(rows));
  const edges = rows.slice(0, shown).map((node) => new KeysetEdge(node, node.trashedAt ?? null));
  return { edges, totalCount, pageInfo: { hasNextPage: rows.length > shown, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** The trash: cards the actor may restore (full access to their folder), the latest deleted first, as far as a reply's budget goes (`trashPage` goes on). */
export async function trashedCards(actor: Actor, first: number): Promise<CardDoc[]> {
  return withinBudget(await permittedCards(actor, 'delete', { inTrash: true }, (scoped) => Card.find(scoped).sort({ trashedAt: -1 }), pageSize(first, MAX_PAGE)));
}

/**
 * An exact key is read through its own index: the cards holding it are what the search touches. A
 * key many cards share (an office's switchboard phone, a group's e-mail) holds more entries than a
 * planner's first look, and `inTrash: false` (nearly every card) must not be read instead.
 */
const BY_SEARCH_KEY = { searchKeys: 1 } as const;

/**
 * Library-wide search over what the actor may read: exact hits (INN, phone digits, e-mail) when
 * the query is shaped like one, else cards having every word of the query (search.ts).
 */
export async function searchCards(actor: Actor, query: string, options: { libraryId?: string | null; first: number }): Promise<{ card: CardDoc; exact: boolean }[]> {
  const text = searchText(actor.locale, 'query', query);
  const libraryId = options.libraryId ? objectIdArgument(actor.locale, 'libraryId', options.libraryId) : null;
  if (text.length < 2) return [];
  const limit = pageSize(options.first, 100);
  const keys = exactKeysOfQuery(text);
  // A query shaped like an exact key (INN, phone, e-mail) that hits cards by it is answered by
  // those cards alone: its words ("900", "7") would begin words of nearly every card.
  const scope: Filter = { inTrash: false, ...(libraryId ? { libraryId } : {}) };
  const exact =
    keys.length > 0 ? withinBudget(await permittedCards(actor, 'read', { ...scope, searchKeys: { $in: keys } }, (scoped) => Card.find(scoped).hint(BY_SEARCH_KEY), limit)) : [];
  if (exact.length > 0) return exact.map((card) => ({ card, exact: true }));
  return (await searchByWords(actor, text, { libraryId, limit })).map((card) => ({ card, exact: false }));
}

/**
 * «Все результаты»: the search's hits a page at a time (`first`, at most 100, after the cursor
 * `after`), with how many there are — exact when the search looked at every card with the rarest
 * word (at most SEARCH_CANDIDATES), else a lower bound. Exact hits (INN, phone, e-mail) answer alone
 * as in `searchCards`, by title.
 */
export async function searchCardPages(
  actor: Actor,
  query: string,
  options: { libraryId?: string | null; first: number; after?: string | null },
): Promise<WordResultsPage & { exact: boolean }> {
  const paging = { first: pageSize(options.first, 100), after: options.after ?? null };
  const { ranked, complete, exact } = await searchHits(actor, query, options);
  return { ...(await pageOfHits(actor, ranked, { ...paging, complete })), exact };
}

/**
 * All the hits of a search (`searchCardPages` reads its pages of them; an export of the search
 * writes them all): the cards the actor may read, at most SEARCH_CANDIDATES, with their scores.
 * `complete`: they are all the cards the search would find; `exact`: found by an exact key.
 */
export async function searchHits(
  actor: Actor,
  query: string,
  options: { libraryId?: string | null; field?: string },
): Promise<{ ranked: RankedHit[]; complete: boolean; exact: boolean }> {
  const text = searchText(actor.locale, options.field ?? 'query', query);
  const libraryId = options.libraryId ? objectIdArgument(actor.locale, 'libraryId', options.libraryId) : null;
  if (text.length < 2) return { ranked: [], complete: true, exact: false };
  const keys = exactKeysOfQuery(text);
  const scope: Filter = { inTrash: false, ...(libraryId ? { libraryId } : {}) };
  const exact =
    keys.length > 0
      ? await permittedCards(
          actor,
          'read',
          { ...scope, searchKeys: { $in: keys } },
          (scoped) => Card.find(scoped, { title: 1, folderId: 1, libraryId: 1 }).hint(BY_SEARCH_KEY),
          SEARCH_CANDIDATES,
        )
      : [];
  if (exact.length > 0) {
    return { ranked: exact.map((card) => ({ _id: card._id, title: card.title, score: 0 })), complete: exact.length < SEARCH_CANDIDATES, exact: true };
  }
  return { ...(await rankedWordHits(actor, text, libraryId)), exact: false };
}

/**
 * Every card a search matches, however many (an export of the search writes them all, s15 U6):
 * those holding an exact key of the query when its hits were found so, else those having every
 * word (`everyWordMatch`) — the filter and the index to read them by, the reader's rights for the
 * caller to check card by card. Null when the query holds nothing to search by, or the reader reads no folder to search.
 */
export async function everySearchMatch(
  actor: Actor,
  query: string,
  options: { libraryId?: string | null; field?: string; exact: boolean },
): Promise<{ filter: Filter; hint: Record<string, 1> } | null> {
  const text = searchText(actor.locale, options.field ?? 'query', query);
  const libraryId = options.libraryId ? objectIdArgument(actor.locale, 'libraryId', options.libraryId) : null;
  if (!options.exact) return everyWordMatch(actor, text, libraryId);
  return { filter: { inTrash: false, ...(libraryId ? { libraryId } : {}), searchKeys: { $in: exactKeysOfQuery(text) } }, hint: BY_SEARCH_KEY };
}

export interface ReferencedCard {
  id: string;
  typeKey: string | null;
  /** Null when the reader may not see the card (shown as «нет доступа»). */
  title: string | null;
  accessible: boolean;
  /** The referenced card is in the trash (it keeps its title for those who may read its folder). */
  inTrash: boolean;
  /** No card has the id any more: it was deleted for good (shown «карточка удалена», not «нет доступа»). */
  deleted: boolean;
}

/** Batches the titles of referenced cards of one request into one query (no N+1). */
export function referenceLoader(actor: Actor): DataLoader<string, ReferencedCard> {
  return new DataLoader(async (ids) => {
    const valid = ids.filter((id) => Types.ObjectId.isValid(id));
    const cards = await Card.find({ _id: { $in: valid } }, { title: 1, typeKey: 1, folderId: 1, libraryId: 1, inTrash: 1 }).lean<CardDoc[]>();
    const byId = new Map(cards.map((c) => [String(c._id), c]));
    return ids.map((id) => {
      const card = byId.get(id);
      if (!card || !actor.ability.can('read', cardSubject(card))) return { id, typeKey: null, title: null, accessible: false, inTrash: false, deleted: !card };
      return { id, typeKey: card.typeKey, title: card.title, accessible: true, inTrash: card.inTrash, deleted: false };
    });
  });
}
