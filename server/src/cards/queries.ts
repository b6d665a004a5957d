import { accessibleBy } from '@casl/mongoose';
import DataLoader from 'dataloader';
import { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import type { CardTypeDefinition } from '../card-types/definition';
import { findFolder } from '../folders/service';
import { notFound } from '../graphql/guards';
import { FieldErrors } from '../validation';
import { Card, type CardDoc } from './model';
import { exactKeysOfQuery, normaliseForSearch } from './search-text';
import { cardTypeOrFail, findCard } from './service';

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

export type FilterOperator = 'contains' | 'equals' | 'range' | 'in' | 'empty' | 'notEmpty' | 'tags';

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
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

type SortValue = string | number | boolean | Date | null;
const encodeCursor = (value: SortValue, id: Types.ObjectId) =>
  Buffer.from(JSON.stringify([value instanceof Date ? { $date: value.toISOString() } : value, String(id)])).toString('base64url');

function decodeCursor(cursor: string): [SortValue, Types.ObjectId] | null {
  try {
    const [raw, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, string];
    const value = raw && typeof raw === 'object' && '$date' in raw ? new Date(String((raw as { $date: string }).$date)) : (raw as SortValue);
    return Types.ObjectId.isValid(id) ? [value, new Types.ObjectId(id)] : null;
  } catch {
    return null;
  }
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

function filterCondition(actor: Actor, types: CardTypeDefinition[], filter: CardFilter, errors: FieldErrors): Filter | null {
  const system = filter.field === 'title';
  const field = types.flatMap((type) => type.fields).find((f) => f.key === filter.field);
  if (!system && !field) {
    errors.addMessage(`filters.${filter.field}`, t(actor, 'Нет такого поля', 'No such field'));
    return null;
  }
  const path = system ? 'title' : `values.${filter.field}`;
  const numeric = field && (field.kind === 'integer');
  const asValue = (text: string | null | undefined) => (numeric ? Number(text) : text);
  switch (filter.op) {
    case 'contains':
      return { [path]: { $regex: escapeRegExp(filter.value ?? ''), $options: 'i' } };
    case 'equals':
      return { [path]: field?.kind === 'boolean' ? filter.value === 'true' : asValue(filter.value) };
    case 'in':
      return { [path]: { $in: (filter.values ?? []).map((v) => asValue(v)) } };
    case 'tags':
      return { [path]: { $all: filter.values ?? [] } };
    case 'empty':
      return { [path]: { $exists: false } };
    case 'notEmpty':
      return { [path]: { $exists: true } };
    case 'range': {
      // Decimal values are canonical strings: compare them numerically.
      if (field && (field.kind === 'decimal' || field.kind === 'money')) {
        const bounds = [];
        if (filter.from) bounds.push({ $gte: [{ $toDecimal: `$${path}` }, { $toDecimal: filter.from }] });
        if (filter.to) bounds.push({ $lte: [{ $toDecimal: `$${path}` }, { $toDecimal: filter.to }] });
        return { [path]: { $exists: true }, $expr: { $and: bounds } };
      }
      const range: Record<string, unknown> = {};
      if (filter.from) range.$gte = asValue(filter.from);
      if (filter.to) range.$lte = asValue(filter.to);
      return { [path]: range };
    }
  }
}

/** One page of a folder's cards: keyset pagination on (sort field, _id), filters per kind. */
export async function listFolderCards(actor: Actor, folderId: string, options: ListOptions): Promise<Connection<CardDoc>> {
  const folder = await findFolder(actor, folderId);
  if (!folder) throw notFound(actor, t(actor, 'Папка', 'Folder'));
  const types = await Promise.all((folder.allowedCardTypes.length > 0 ? folder.allowedCardTypes : []).map((key) => cardTypeOrFail(actor, key).catch(() => null)));
  const known = types.filter((type): type is CardTypeDefinition => type !== null);
  const errors = new FieldErrors(actor.locale);
  const sortBy = options.sortBy ?? 'updatedAt';
  const descending = options.descending ?? sortBy === 'updatedAt';
  if (!SYSTEM_SORTS.has(sortBy) && !known.some((type) => type.fields.some((f) => f.key === sortBy))) {
    errors.addMessage('sortBy', t(actor, 'Нет такого поля', 'No such field'));
  }
  const conditions = (options.filters ?? []).map((f) => filterCondition(actor, known, f, errors));
  errors.throwIfAny();

  const base: Filter = { folderId: folder._id, inTrash: false };
  const filtered: Filter = conditions.length > 0 ? { $and: [base, ...conditions.filter(Boolean)] } : base;
  const path = SYSTEM_SORTS.has(sortBy) ? sortBy : `values.${sortBy}`;
  const cursor = options.after ? decodeCursor(options.after) : null;
  const page = cursor ? { $and: [filtered, afterCondition(path, cursor[0], cursor[1], descending)] } : filtered;
  const limit = Math.min(Math.max(options.first, 1), MAX_PAGE);
  const direction = descending ? -1 : 1;
  const rows = await Card.find(page).sort({ [path]: direction, _id: direction }).limit(limit + 1).lean<CardDoc[]>();
  const totalCount = () => Card.countDocuments(filtered);
  const sortValue = (card: CardDoc): SortValue => {
    if (SYSTEM_SORTS.has(sortBy)) return card[sortBy as 'title' | 'createdAt' | 'updatedAt'];
    const value = card.values[sortBy];
    return value === undefined || Array.isArray(value) ? null : value;
  };
  const edges = rows.slice(0, limit).map((node) => ({ node, cursor: encodeCursor(sortValue(node), node._id) }));
  return { edges, totalCount, pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** Cards of a related tab: those of the tab's type whose reference field points to this card. */
export async function relatedCards(actor: Actor, cardId: string, tabKey: string): Promise<CardDoc[]> {
  const card = await findCard(actor, cardId);
  if (!card) throw notFound(actor, t(actor, 'Карточка', 'Card'));
  const type = await cardTypeOrFail(actor, card.typeKey);
  const tab = type.relatedTabs?.find((r) => r.key === tabKey);
  if (!tab) throw notFound(actor, t(actor, 'Вкладка', 'Tab'));
  return Card.find({
    typeKey: tab.cardType,
    [`values.${tab.referenceField}`]: String(card._id),
    inTrash: false,
    ...accessibleBy(actor.ability, 'read').ofType('Card'),
  })
    .sort({ title: 1 })
    .limit(500)
    .lean<CardDoc[]>();
}

/** The trash: cards the actor may restore (full access to their folder). */
export async function trashedCards(actor: Actor, first: number): Promise<CardDoc[]> {
  return Card.find({ inTrash: true, ...accessibleBy(actor.ability, 'delete').ofType('Card') })
    .sort({ trashedAt: -1 })
    .limit(Math.min(first, MAX_PAGE))
    .lean<CardDoc[]>();
}

/**
 * Library-wide search over what the actor may read: exact hits (INN, phone digits, e-mail)
 * first, then full-text matches by relevance.
 */
export async function searchCards(actor: Actor, query: string, options: { libraryId?: string | null; first: number }): Promise<{ card: CardDoc; exact: boolean }[]> {
  const text = query.trim();
  if (text.length < 2) return [];
  const scope: Filter = { inTrash: false, ...accessibleBy(actor.ability, 'read').ofType('Card') };
  if (options.libraryId && Types.ObjectId.isValid(options.libraryId)) scope.libraryId = new Types.ObjectId(options.libraryId);
  const limit = Math.min(Math.max(options.first, 1), 100);
  const keys = exactKeysOfQuery(text);
  const [exact, ranked] = await Promise.all([
    keys.length > 0 ? Card.find({ ...scope, searchKeys: { $in: keys } }).limit(limit).lean<CardDoc[]>() : Promise.resolve([]),
    Card.find({ ...scope, $text: { $search: normaliseForSearch(text) } }, { score: { $meta: 'textScore' } })
      .sort({ score: { $meta: 'textScore' } })
      .limit(limit)
      .lean<CardDoc[]>(),
  ]);
  const seen = new Set(exact.map((c) => String(c._id)));
  return [...exact.map((card) => ({ card, exact: true })), ...ranked.filter((c) => !seen.has(String(c._id))).map((card) => ({ card, exact: false }))].slice(0, limit);
}

export interface ReferencedCard {
  id: string;
  typeKey: string | null;
  /** Null when the reader may not see the card (shown as «нет доступа»). */
  title: string | null;
  accessible: boolean;
}

/** Batches the titles of referenced cards of one request into one query (no N+1). */
export function referenceLoader(actor: Actor): DataLoader<string, ReferencedCard> {
  return new DataLoader(async (ids) => {
    const valid = ids.filter((id) => Types.ObjectId.isValid(id));
    const cards = await Card.find({ _id: { $in: valid } }, { title: 1, typeKey: 1, folderId: 1, inTrash: 1 }).lean<CardDoc[]>();
    const byId = new Map(cards.map((c) => [String(c._id), c]));
    return ids.map((id) => {
      const card = byId.get(id);
      const accessible = Boolean(card && !card.inTrash && actor.ability.can('read', cardSubject(String(card.folderId))));
      return { id, typeKey: accessible ? card!.typeKey : null, title: accessible ? card!.title : null, accessible };
    });
  });
}
