/**
 * Reading documents: picks an index for the filter or sort (equality, `$in` or range on an index's
 * leading field; a sort on it), merges a transaction's own writes, matches with mingo, sorts in
 * BSON order and applies find projections.
 */
import { Query } from 'mingo';
import { compareValues, HIGH, keyString, LOW } from './bson-order';
import { asCommandError, badValue, CommandError } from './errors';
import { BTreeIndex, type Bounds, type Doc } from './indexes';
import type { Collection, Transaction } from './store';
import { valuesAtPath } from './text';

export type SortSpec = Record<string, unknown>;

export interface SelectOptions {
  sort?: SortSpec;
  skip?: number;
  limit?: number;
}

export interface Selection {
  docs: Doc[];
  /** Text scores, when the filter had `$text`. */
  scores: Map<Doc, number> | null;
}

export function isPlainObject(value: unknown): value is Doc {
  return value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
}

/** Copies plain objects, arrays and dates; BSON value classes are immutable and shared. */
export function deepClone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(deepClone) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (isPlainObject(value)) {
    const copy: Doc = {};
    for (const key of Object.keys(value)) copy[key] = deepClone(value[key]);
    return copy as T;
  }
  return value;
}

export function compileFilter(filter: Doc): Query {
  try {
    return new Query(filter, {});
  } catch (error) {
    throw asCommandError(error);
  }
}

function isIndexableScalar(value: unknown): boolean {
  if (value === null || value === undefined || Array.isArray(value) || value instanceof RegExp || isPlainObject(value)) return false;
  if (typeof value === 'number' && Number.isNaN(value)) return false;
  return true;
}

/** What the filter says about one top-level field, if it narrows the field to values or a range. */
type Condition = { kind: 'values'; values: unknown[] } | { kind: 'range'; bounds: Bounds };

function typeFloor(value: unknown): unknown {
  if (typeof value === 'number') return -Infinity;
  if (typeof value === 'string') return '';
  if (value instanceof Date) return new Date(-8.64e15);
  return LOW;
}

function typeCeiling(value: unknown): unknown {
  if (typeof value === 'number') return Infinity;
  if (typeof value === 'string') return '\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}';
  if (value instanceof Date) return new Date(8.64e15);
  return HIGH;
}

function conditionOf(value: unknown): Condition | null {
  if (!isPlainObject(value)) return isIndexableScalar(value) ? { kind: 'values', values: [value] } : null;
  const keys = Object.keys(value);
  if (keys.length === 0 || !keys.every((key) => key.startsWith('$'))) return null;
  if ('$eq' in value && isIndexableScalar(value.$eq)) return { kind: 'values', values: [value.$eq] };
  if ('$in' in value && Array.isArray(value.$in) && value.$in.every(isIndexableScalar)) return { kind: 'values', values: value.$in };
  let lo: unknown = LOW;
  let hi: unknown = HIGH;
  for (const op of ['$gt', '$gte'] as const) if (op in value && isIndexableScalar(value[op])) lo = value[op];
  for (const op of ['$lt', '$lte'] as const) if (op in value && isIndexableScalar(value[op])) hi = value[op];
  if (lo === LOW && hi === HIGH) return null;
  if (lo === LOW) lo = typeFloor(hi);
  if (hi === HIGH) hi = typeCeiling(lo);
  return { kind: 'range', bounds: { lo, hi } };
}

/** Top-level field conditions, including those inside a top-level `$and`. */
function fieldConditions(filter: Doc): Map<string, Condition> {
  const result = new Map<string, Condition>();
  const visit = (clause: Doc) => {
    for (const [field, value] of Object.entries(clause)) {
      if (field === '$and' && Array.isArray(value)) {
        for (const part of value) if (isPlainObject(part)) visit(part);
        continue;
      }
      if (field.startsWith('$')) continue;
      const condition = conditionOf(value);
      if (condition && !result.has(field)) result.set(field, condition);
    }
  };
  visit(filter);
  return result;
}

/** Splits `$text` out of the filter (MongoDB allows it at the top level or in a top-level `$and`). */
function extractText(filter: Doc): { rest: Doc; text: Doc | null } {
  if (isPlainObject(filter.$text)) {
    const { $text, ...rest } = filter;
    return { rest, text: $text as Doc };
  }
  if (Array.isArray(filter.$and)) {
    const at = filter.$and.findIndex((part) => isPlainObject(part) && isPlainObject(part.$text));
    if (at >= 0) {
      const textPart = filter.$and[at] as Doc;
      const and = filter.$and.filter((_, i) => i !== at);
      const { $text, ...partRest } = textPart;
      const rest: Doc = { ...filter, $and: [...and, partRest] };
      return { rest, text: $text as Doc };
    }
  }
  return { rest: filter, text: null };
}

interface Plan {
  rids: Iterable<string>;
  /** True when `rids` already come in the requested sort order. */
  sorted: boolean;
  /** The index the candidates come from; absent for a collection scan. */
  index?: string;
}

function sortEntries(sort: SortSpec | undefined): [string, unknown][] {
  return sort ? Object.entries(sort) : [];
}

function direction(value: unknown): 1 | -1 | null {
  if (value === 1 || value === -1) return value;
  if (typeof value === 'number' && value !== 0) return value > 0 ? 1 : -1;
  return null;
}

/**
 * Equality on an index's first fields and a sort on the fields that follow (e.g. a folder's cards,
 * `{folderId, inTrash}` equal, sorted by `values.name, _id`): the index yields the candidates
 * already in order, so a page stops after its limit instead of sorting the whole folder.
 */
function prefixSortPlan(collection: Collection, conditions: Map<string, Condition>, sortKeys: [string, unknown][]): Plan | null {
  if (sortKeys.length === 0) return null;
  let best: { index: BTreeIndex; prefix: unknown[]; reversed: boolean } | null = null;
  for (const index of collection.indexes) {
    if (!(index instanceof BTreeIndex) || index.partial || index.sparse || index.multikey) continue;
    const prefix: unknown[] = [];
    for (const field of index.fields) {
      const condition = conditions.get(field);
      if (condition?.kind !== 'values' || condition.values.length !== 1) break;
      prefix.push(condition.values[0]);
    }
    if (prefix.length === 0 || prefix.length + sortKeys.length > index.fields.length) continue;
    let relation: 1 | -1 | null = null;
    const matches = sortKeys.every(([field, value], i) => {
      const dir = direction(value);
      if (field !== index.fields[prefix.length + i] || dir === null) return false;
      const rel = dir === index.directions[prefix.length + i] ? 1 : -1;
      relation ??= rel;
      return relation === rel;
    });
    if (matches && relation !== null && (!best || prefix.length > best.prefix.length)) best = { index, prefix, reversed: relation === -1 };
  }
  return best ? { rids: best.index.prefixScan(best.prefix, best.reversed), sorted: true, index: best.index.name } : null;
}

/** Chooses how to find candidate records; any plan returns a superset that the filter then narrows. */
function plan(collection: Collection, filter: Doc, sort: SortSpec | undefined): Plan {
  const conditions = fieldConditions(filter);
  const sortKeys = sortEntries(sort);
  const idCondition = conditions.get('_id');
  if (idCondition?.kind === 'values') {
    const rids = [...new Set(idCondition.values.map(keyString))].filter((rid) => collection.records.has(rid));
    return { rids, sorted: false, index: '_id_' };
  }
  const prefixed = prefixSortPlan(collection, conditions, sortKeys);
  if (prefixed) return prefixed;
  const singleSort = sortKeys.length === 1 ? { field: sortKeys[0]![0], dir: direction(sortKeys[0]![1]) } : null;
  let best: { index: BTreeIndex; condition: Condition; score: number } | null = null;
  for (const index of collection.indexes) {
    if (!(index instanceof BTreeIndex) || index.partial) continue;
    const condition = conditions.get(index.fields[0]!);
    if (!condition) continue;
    const score = (condition.kind === 'values' ? 4 : 2) + (index.unique ? 1 : 0) + (singleSort?.field === index.fields[0] ? 1 : 0);
    if (!best || score > best.score) best = { index, condition, score };
  }
  if (best) {
    const { index, condition } = best;
    const ordered = singleSort?.field === index.fields[0] && singleSort.dir !== null;
    const descending = ordered && singleSort!.dir === -1;
    if (condition.kind === 'values') {
      const values = [...condition.values].sort((a, b) => compareValues(a, b) * (descending ? -1 : 1));
      const rids = (function* () {
        const seen = new Set<string>();
        for (const value of values) {
          for (const rid of index.scan({ lo: value, hi: value }, descending)) {
            if (seen.has(rid)) continue;
            seen.add(rid);
            yield rid;
          }
        }
      })();
      return { rids, sorted: ordered && !index.multikey, index: index.name };
    }
    return { rids: index.scan(condition.bounds, descending), sorted: ordered && !index.multikey, index: index.name };
  }
  if (sortKeys.length > 0) {
    for (const index of collection.indexes) {
      if (!(index instanceof BTreeIndex) || index.partial || index.sparse) continue;
      if (sortKeys.length > index.fields.length || (sortKeys.length > 1 && index.multikey)) continue;
      let relation: 1 | -1 | null = null;
      const matches = sortKeys.every(([field, value], i) => {
        const dir = direction(value);
        if (field !== index.fields[i] || dir === null) return false;
        const rel = dir === index.directions[i] ? 1 : -1;
        relation ??= rel;
        return relation === rel;
      });
      if (matches && relation !== null) return { rids: index.all(relation === -1), sorted: true, index: index.name };
    }
  }
  return { rids: collection.records.keys(), sorted: false };
}

/** The sort key of a document for one field: arrays sort by their smallest (ascending) or largest element. */
function sortValue(doc: Doc, field: string, dir: number): unknown {
  const values = valuesAtPath(doc, field).flatMap((v) => (Array.isArray(v) ? (v.length ? v : [undefined]) : [v]));
  if (values.length === 0) return null;
  let chosen = values[0];
  for (const value of values) if (compareValues(value, chosen) * dir < 0) chosen = value;
  return chosen ?? null;
}

export function validateSort(sort: unknown): SortSpec | undefined {
  if (sort === undefined || sort === null) return undefined;
  if (!isPlainObject(sort)) throw badValue('sort must be an object');
  for (const [field, value] of Object.entries(sort)) {
    const ok = direction(value) !== null || (isPlainObject(value) && value.$meta === 'textScore');
    if (!ok) throw badValue(`$sort key ordering must be 1 (for ascending) or -1 (for descending) or { $meta: "textScore" }; found ${field}: ${JSON.stringify(value)}`);
  }
  return Object.keys(sort).length > 0 ? sort : undefined;
}

export function sortDocs(docs: Doc[], sort: SortSpec, scores: Map<Doc, number> | null): Doc[] {
  const keys = Object.entries(sort).map(([field, value]) => ({ field, meta: isPlainObject(value), dir: direction(value) ?? -1 }));
  const decorated = docs.map((doc, position) => ({
    doc,
    position,
    values: keys.map((key) => (key.meta ? (scores?.get(doc) ?? 0) : sortValue(doc, key.field, key.dir))),
  }));
  decorated.sort((a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const c = compareValues(a.values[i], b.values[i]) * keys[i]!.dir;
      if (c !== 0) return c;
    }
    return a.position - b.position;
  });
  return decorated.map((entry) => entry.doc);
}

/** The plan a find would use, for `explain`: an index scan (with its name) or a collection scan. */
export function explainFind(collection: Collection | undefined, filter: Doc, sort: SortSpec | undefined): Doc {
  const { rest, text } = extractText(filter);
  if (text) return { stage: 'TEXT_MATCH', inputStage: { stage: 'TEXT' } };
  const chosen = collection ? plan(collection, rest, sort) : { index: undefined, sorted: false };
  const scan = chosen.index ? { stage: 'IXSCAN', indexName: chosen.index } : { stage: 'COLLSCAN' };
  return chosen.sorted || !sort ? { stage: 'FETCH', inputStage: scan } : { stage: 'SORT', inputStage: { stage: 'FETCH', inputStage: scan } };
}

/** Documents matching `filter` as seen by `txn` (or committed state), sorted, skipped and limited. */
export function selectDocs(collection: Collection | undefined, txn: Transaction | undefined, filter: Doc, options: SelectOptions = {}): Selection {
  const { rest, text } = extractText(filter);
  const query = compileFilter(rest);
  if (!collection) return { docs: [], scores: null };
  const skip = options.skip ?? 0;
  const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
  const overlay = txn?.overlay(collection);
  let scores: Map<Doc, number> | null = null;
  let candidates: Iterable<Doc>;
  let sorted = false;

  if (text) {
    const index = collection.textIndex;
    if (!index) throw new CommandError(27, 'IndexNotFound', 'text index required for $text query');
    const search = index.search(text.$search);
    scores = new Map();
    const found: Doc[] = [];
    for (const [rid, score] of search.scores) {
      if (overlay?.has(rid)) continue;
      const doc = collection.records.get(rid);
      if (doc && search.accepts(doc)) {
        found.push(doc);
        scores.set(doc, score);
      }
    }
    for (const doc of overlay?.values() ?? []) {
      if (!doc) continue;
      const score = search.scoreOf(doc);
      if (score > 0 && search.accepts(doc)) {
        found.push(doc);
        scores.set(doc, score);
      }
    }
    candidates = found;
  } else {
    const chosen = plan(collection, rest, options.sort);
    sorted = chosen.sorted && !(overlay && overlay.size > 0);
    const base = (function* () {
      for (const rid of chosen.rids) {
        if (overlay?.has(rid)) continue;
        const doc = collection.records.get(rid);
        if (doc) yield doc;
      }
    })();
    candidates = overlay && overlay.size > 0 ? [...base, ...[...overlay.values()].filter((doc): doc is Doc => doc !== null)] : base;
  }

  const needsSort = options.sort !== undefined && !sorted;
  const wanted = needsSort ? Infinity : skip + limit;
  const matched: Doc[] = [];
  try {
    for (const doc of candidates) {
      if (!query.test(doc)) continue;
      matched.push(doc);
      if (matched.length >= wanted) break;
    }
  } catch (error) {
    throw asCommandError(error);
  }
  const ordered = needsSort ? sortDocs(matched, options.sort!, scores) : matched;
  const docs = skip > 0 || limit !== Infinity ? ordered.slice(skip, skip + limit) : ordered;
  return { docs, scores };
}

/** Applies a find projection; `{ $meta: "textScore" }` fields are filled from the text scores. */
export function projectDocs(docs: Doc[], projection: Doc | undefined, scores: Map<Doc, number> | null): Doc[] {
  if (!projection || Object.keys(projection).length === 0) return docs;
  const metaFields: string[] = [];
  const plain: Doc = {};
  for (const [field, value] of Object.entries(projection)) {
    if (isPlainObject(value) && value.$meta === 'textScore') metaFields.push(field);
    else plain[field] = value;
  }
  let projected: Doc[];
  try {
    projected = Object.keys(plain).length > 0 ? (new Query({}, {}).find(docs, plain).all() as Doc[]) : docs.map((doc) => ({ ...doc }));
  } catch (error) {
    throw asCommandError(error);
  }
  if (metaFields.length > 0) {
    projected.forEach((doc, i) => {
      for (const field of metaFields) doc[field] = scores?.get(docs[i]!) ?? 0;
    });
  }
  return projected;
}
