/**
 * MongoDB's sort order of documents, for the planner's sorts and for `$sort` stages anywhere in a
 * pipeline: by `compareValues` (the order index keys encode), an array by its smallest element
 * ascending or its largest descending, an empty array below null and missing fields.
 */
import { compareValues } from './bson-order';
import { asDouble } from './numbers';
import { valuesAtPath } from './text';

export type SortSpec = Record<string, unknown>;
/** A document (as `indexes.ts` names it; not imported: the operators that sort import this module). */
type Doc = Record<string, unknown>;

/** A sort direction: a positive or negative number of any BSON type; null for anything else. */
export function direction(value: unknown): 1 | -1 | null {
  if (value === 1 || value === -1) return value;
  const n = asDouble(value);
  return n !== undefined && n !== 0 && !Number.isNaN(n) ? (n > 0 ? 1 : -1) : null;
}

/** The sort key of an empty array: below every value, null and missing included (as MongoDB sorts). */
const EMPTY_ARRAY = Symbol('empty array');

function compareSortValues(a: unknown, b: unknown): number {
  if (a === EMPTY_ARRAY || b === EMPTY_ARRAY) return a === b ? 0 : a === EMPTY_ARRAY ? -1 : 1;
  return compareValues(a, b);
}

/** The sort key of a document for one field: arrays sort by their smallest (ascending) or largest element. */
function sortValue(doc: Doc, field: string, dir: number): unknown {
  const values = valuesAtPath(doc, field).flatMap((v) => (Array.isArray(v) ? (v.length ? v : [EMPTY_ARRAY]) : [v]));
  if (values.length === 0) return null;
  let chosen = values[0];
  for (const value of values) if (compareSortValues(value, chosen) * dir < 0) chosen = value;
  return chosen ?? null;
}

export function sortDocs(docs: Doc[], sort: SortSpec, scores: Map<Doc, number> | null): Doc[] {
  const keys = Object.entries(sort).map(([field, value]) => ({ field, meta: typeof value === 'object' && value !== null, dir: direction(value) ?? -1 }));
  const decorated = docs.map((doc, position) => ({
    doc,
    position,
    values: keys.map((key) => (key.meta ? (scores?.get(doc) ?? 0) : sortValue(doc, key.field, key.dir))),
  }));
  decorated.sort((a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const c = compareSortValues(a.values[i], b.values[i]) * keys[i]!.dir;
      if (c !== 0) return c;
    }
    return a.position - b.position;
  });
  return decorated.map((entry) => entry.doc);
}
