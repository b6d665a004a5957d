/**
 * Reading documents. The planner turns a filter and sort into key ranges of one index: equality on
 * any prefix of a compound index (`$in` values expanded into point seeks), a range on the next
 * field (and a list of values on the field after it, read by a skip scan), the sort read from
 * index order in either direction (ranges concatenated, or merged when the sort follows `$in`
 * fields), skip and limit pushed into the scan, and counts taken from key
 * ranges without loading documents when the index answers the whole filter. `_id` equality is a
 * point lookup. Only candidates are loaded and checked against what the index did not answer
 * (with mingo), and a transaction's own writes are merged in key order.
 */
import type { Database } from 'lmdb';
import { Query } from 'mingo/query';
import { compareValues, keyString } from './bson-order';
import { asCommandError, badValue, CommandError } from './errors';
import { BTreeIndex, encodeTuple, type Doc, type TextIndex } from './indexes';
import { componentEnd, encodeValue, KeyWriter, MAX_TUPLE_BYTES, prefixEnd, storableIdKey, TYPE } from './keys';
import { decodeDocument } from './typed-numbers';
import type { Collection, Entry, Overlay, ReadView } from './store';
import { withServerRegexes } from './match';
import { MINGO_OPTIONS } from './operators';
import { direction, sortDocs, type SortSpec } from './sort';

export { sortDocs, type SortSpec };

export interface SelectOptions {
  sort?: SortSpec;
  skip?: number;
  limit?: number;
  /** The command's `hint`: an index name or key pattern, or `{ $natural: 1 | -1 }`. */
  hint?: unknown;
  /** Filled with what the execution read (explain's executionStats). */
  stats?: ExecutionStats;
  /** The plan, when the caller made it already (`findPlan`): a find tries its raw cursor and then its cursor on one plan. */
  plan?: Plan;
  /** A raw cursor's projection of stored BSON (`rawProjection`), given the stored bytes where they lie. */
  project?: (raw: Buffer) => Buffer;
  /** A find's cursor: its scan gives `PAUSE` when its turn is up (`inTurn`). */
  pausable?: boolean;
}

/** Index keys and documents an execution read. */
export interface ExecutionStats {
  keys: number;
  docs: number;
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

/** A compiled filter: whether a document matches. */
export interface Matcher {
  test(doc: Doc): boolean;
}

export function compileFilter(filter: Doc): Matcher {
  try {
    return compileMatcher(filter);
  } catch (error) {
    throw asCommandError(error);
  }
}

// ---------- long lists of values in filters ----------
//
// mingo hashes a `$in` list for every document it tests, and tests `$or` branches one after the
// other: a filter naming a thousand folders costs a thousand steps per candidate. Long lists are
// compiled here once instead: a `$in` of plain values becomes a set, and the branches of a long
// `$or`/`$nor` are found through the value they pin one field to. Whatever these do not cover
// (dotted paths, other operators, values of other types) stays with mingo, with its semantics.

/** Below this many values or branches, mingo's own evaluation is as cheap. */
const LONG_LIST = 8;

/** A value's identity for equality: strings, numbers, booleans and ObjectIds; null for the rest. */
function equalityKey(value: unknown): string | null {
  switch (typeof value) {
    case 'string':
      return `s${value}`;
    case 'number':
      return Number.isNaN(value) ? null : `n${value}`;
    case 'boolean':
      return value ? 'b1' : 'b0';
    default:
      return bsonType(value) === 'ObjectId' ? `o${(value as { toHexString(): string }).toHexString()}` : null;
  }
}

/** A top-level field name (no path, no operator). */
const plainField = (key: string) => !key.startsWith('$') && !key.includes('.');

/** The value `{field: value}` or `{field: {$eq: value}}` pins the field to, when it has an equality key. */
function pinnedKey(condition: unknown): string | null {
  if (isPlainObject(condition)) {
    const keys = Object.keys(condition);
    return keys.length === 1 && keys[0] === '$eq' ? equalityKey(condition.$eq) : null;
  }
  return equalityKey(condition);
}

function mingoMatcher(filter: Doc): Matcher {
  return new Query(withServerRegexes(filter), MINGO_OPTIONS);
}

function compileMatcher(filter: Doc): Matcher {
  const tests: ((doc: Doc) => boolean)[] = [];
  const rest: Doc = {};
  for (const [key, condition] of Object.entries(filter)) {
    if ((key === '$or' || key === '$nor') && Array.isArray(condition) && condition.length >= LONG_LIST && condition.every(isPlainObject)) {
      const any = anyBranch(condition);
      tests.push(key === '$or' ? any : (doc) => !any(doc));
    } else if (plainField(key) && isPlainObject(condition) && Object.keys(condition).length === 1 && Array.isArray(condition.$in) && condition.$in.length >= LONG_LIST) {
      const keys = condition.$in.map(equalityKey);
      if (keys.includes(null)) rest[key] = condition;
      else tests.push(inSet(key, new Set(keys as string[]), mingoMatcher({ [key]: condition })));
    } else rest[key] = condition;
  }
  if (tests.length === 0) return mingoMatcher(filter);
  if (Object.keys(rest).length > 0) {
    const others = mingoMatcher(rest);
    tests.push((doc) => others.test(doc));
  }
  return { test: (doc) => tests.every((test) => test(doc)) };
}

/**
 * `{field: {$in: list}}` by a set, an array by its elements' keys (an element equal to a value of
 * the list matches); values without an equality key (embedded documents, decimals, nulls, nested
 * arrays…) go to mingo.
 */
function inSet(field: string, keys: Set<string>, exact: Matcher): (doc: Doc) => boolean {
  return (doc) => {
    const value = doc[field];
    if (value === undefined || value === null) return false;
    const key = equalityKey(value);
    if (key !== null) return keys.has(key);
    if (!Array.isArray(value)) return exact.test(doc);
    let keyed = true;
    for (const element of value) {
      const elementKey = equalityKey(element);
      if (elementKey === null) keyed = false;
      else if (keys.has(elementKey)) return true;
    }
    return keyed ? false : exact.test(doc);
  };
}

/**
 * Whether any branch matches, testing only the branches that pin the dispatch field (the field
 * most branches pin to one value) to the document's value, plus those that pin nothing.
 */
function anyBranch(branches: Doc[]): (doc: Doc) => boolean {
  const compiled = branches.map(compileMatcher);
  const anyOf = (matchers: Matcher[], doc: Doc) => matchers.some((matcher) => matcher.test(doc));
  const pins = new Map<string, number>();
  for (const branch of branches) {
    for (const [key, condition] of Object.entries(branch)) if (plainField(key) && pinnedKey(condition) !== null) pins.set(key, (pins.get(key) ?? 0) + 1);
  }
  const [field, pinned] = [...pins].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  if (pinned < LONG_LIST) return (doc) => anyOf(compiled, doc);
  const byValue = new Map<string, Matcher[]>();
  const unpinned: Matcher[] = [];
  branches.forEach((branch, i) => {
    const key = field in branch ? pinnedKey(branch[field]) : null;
    if (key === null) unpinned.push(compiled[i]);
    else {
      const group = byValue.get(key);
      if (group) group.push(compiled[i]);
      else byValue.set(key, [compiled[i]]);
    }
  });
  return (doc) => {
    const value = doc[field];
    const key = equalityKey(value);
    // Arrays match element by element and other types by their own rules: those test every branch.
    if (key === null && value !== undefined && value !== null) return anyOf(compiled, doc);
    return (key !== null && anyOf(byValue.get(key) ?? [], doc)) || anyOf(unpinned, doc);
  };
}

// ---------- what the filter says about each field ----------

interface Bound {
  value: unknown;
  inclusive: boolean;
}

/** A field narrowed to values, or to a range; `exact` when the index bounds say all the condition says. */
type Condition = { kind: 'values'; values: unknown[]; exact: boolean } | { kind: 'range'; lo?: Bound; hi?: Bound; exact: boolean; element?: boolean; prefix?: string };

function bsonType(value: unknown): string | undefined {
  return value !== null && typeof value === 'object' ? (value as { _bsontype?: string })._bsontype : undefined;
}

/** A value an index can seek to: not null, not an array, not a regex. */
function seekable(value: unknown): boolean {
  if (value === null || value === undefined || Array.isArray(value) || value instanceof RegExp || bsonType(value) === 'BSONRegExp') return false;
  if (typeof value === 'number' && Number.isNaN(value)) return false;
  return true;
}

/** A value whose index key says exactly what equality on it means (no object or null subtleties). */
function exactValue(value: unknown): boolean {
  if (!seekable(value) || isPlainObject(value)) return false;
  const type = bsonType(value);
  if (type === 'Decimal128' || type === 'Binary' || type === 'MinKey' || type === 'MaxKey' || type === 'Code' || type === 'DBRef') return false;
  if (typeof value === 'string') return Buffer.byteLength(value) <= 1000;
  return true;
}

const RANGE_OPS = new Set(['$gt', '$gte', '$lt', '$lte']);

/**
 * `{ $elemMatch: { $gte: a, $lt: b } }`: one array element within both bounds, so a multikey
 * index is read between both (a plain range on an array field may be met by two elements, one
 * bound each). Not exact: scalars and non-arrays are checked against the filter.
 */
function elementRangeOf(value: Doc): Condition | null {
  const inner = value.$elemMatch;
  if (Object.keys(value).length !== 1 || !isPlainObject(inner) || !Object.keys(inner).every((key) => RANGE_OPS.has(key))) return null;
  const range = conditionOf(inner);
  return range?.kind === 'range' ? { ...range, exact: false, element: true } : null;
}

/**
 * The literal a regex like `/^abc/` (no flags, nothing but literal characters after the anchor)
 * says a string begins with; undefined for any other value or pattern. As in MongoDB, such a regex
 * reads one key range — strings beginning with it — and on a multikey index too (an array matches
 * when one of its strings does), with nothing left for the documents to say.
 */
function regexPrefix(value: unknown): string | undefined {
  let pattern: string;
  let flags: string;
  if (value instanceof RegExp) [pattern, flags] = [value.source, value.flags];
  else if (bsonType(value) === 'BSONRegExp') [pattern, flags] = [String((value as { pattern: unknown }).pattern), String((value as { options: unknown }).options)];
  else return undefined;
  // Whitespace and '#' stay out: an `x` option a decoder may have dropped would make them mean nothing.
  const literal = /^\^((?:[^\\^$.|?*+()[\]{}\s#]|\\[^A-Za-z0-9\s])+)$/.exec(pattern);
  if (flags !== '' || !literal) return undefined;
  const prefix = literal[1]!.replace(/\\(.)/g, '$1');
  return Buffer.byteLength(prefix) <= 1000 ? prefix : undefined;
}

function conditionOf(value: unknown): Condition | null {
  const prefix = regexPrefix(value);
  if (prefix !== undefined) return { kind: 'range', lo: { value: prefix, inclusive: true }, exact: true, prefix };
  if (isPlainObject(value) && '$elemMatch' in value) return elementRangeOf(value);
  if (!isPlainObject(value) || Object.keys(value).length === 0 || !Object.keys(value).some((key) => key.startsWith('$'))) {
    return seekable(value) ? { kind: 'values', values: [value], exact: exactValue(value) } : null;
  }
  const keys = Object.keys(value);
  if (!keys.every((key) => key.startsWith('$'))) return null;
  const onlyKnown = keys.every((key) => key === '$eq' || key === '$in' || RANGE_OPS.has(key));
  // `$in: []` matches nothing, whatever else the condition says.
  if (Array.isArray(value.$in) && value.$in.length === 0) return { kind: 'values', values: [], exact: onlyKnown && keys.length === 1 };
  if ('$eq' in value && seekable(value.$eq)) return { kind: 'values', values: [value.$eq], exact: onlyKnown && keys.length === 1 && exactValue(value.$eq) };
  if ('$in' in value && Array.isArray(value.$in) && value.$in.length > 0 && value.$in.every(seekable)) {
    return { kind: 'values', values: value.$in, exact: onlyKnown && keys.length === 1 && value.$in.every(exactValue) };
  }
  let lo: Bound | undefined;
  let hi: Bound | undefined;
  if (seekable(value.$gt)) lo = { value: value.$gt, inclusive: false };
  if (seekable(value.$gte) && !lo) lo = { value: value.$gte, inclusive: true };
  if (seekable(value.$lt)) hi = { value: value.$lt, inclusive: false };
  if (seekable(value.$lte) && !hi) hi = { value: value.$lte, inclusive: true };
  if (!lo && !hi) return null;
  const rangeKeys = keys.filter((key) => RANGE_OPS.has(key)).length;
  // Above MinKey and below MaxKey is every other value: beside a bound of a type, implied by it.
  if (lo && hi && bsonType(lo.value) === 'MinKey' && bsonType(hi.value) !== 'MaxKey') lo = undefined;
  if (lo && hi && bsonType(hi.value) === 'MaxKey' && bsonType(lo.value) !== 'MinKey') hi = undefined;
  const sameBracket = !lo || !hi || bracketOf(lo.value) === bracketOf(hi.value) || spansBrackets(lo, hi);
  const exact =
    onlyKnown && keys.length === rangeKeys && rangeKeys === (lo ? 1 : 0) + (hi ? 1 : 0) && sameBracket && (!lo || exactValue(lo.value)) && (!hi || exactValue(hi.value));
  if (!sameBracket) hi = undefined;
  return { kind: 'range', lo, hi, exact };
}

/** A range from MinKey or up to MaxKey: over every type bracket, not only its bound's. */
function spansBrackets(lo: Bound | undefined, hi: Bound | undefined): boolean {
  return bsonType(lo?.value) === 'MinKey' || bsonType(hi?.value) === 'MaxKey';
}

function bracketOf(value: unknown): number {
  const w = new KeyWriter();
  encodeValue(w, value);
  return w.buffer[0]!;
}

interface FilterShape {
  conditions: Map<string, Condition>;
  /** Every clause of the filter is one of `conditions` (so exact conditions answer it whole). */
  simple: boolean;
  /** A keyset clause: only documents after (value, id) in the order `{ field: direction, _id: direction }`. */
  keyset?: Keyset;
}

interface Keyset {
  field: string;
  value: unknown;
  id: unknown;
  direction: 1 | -1;
}

/**
 * Recognises the keyset clause of a paged listing, `$or` of `{f: {$gt: v}}`, `{f: v, _id: {$gt: id}}`
 * (`$lt` when descending; `{f: null}` for missing values after the last, and for a null `v`
 * `{f: {$exists: true, $ne: null}}`): every branch lies after (v, id) in that order.
 */
function keysetOf(branches: unknown): Keyset | undefined {
  if (!Array.isArray(branches)) return undefined;
  const tie = branches.find(
    (b) => isPlainObject(b) && Object.keys(b).length === 2 && isPlainObject(b._id) && Object.keys(b._id).length === 1 && ('$gt' in b._id || '$lt' in b._id),
  );
  if (!tie) return undefined;
  const field = Object.keys(tie).find((key) => key !== '_id')!;
  const op = '$gt' in tie._id ? '$gt' : '$lt';
  const value = tie[field];
  // A regex or an operator is no value to start after (`{f: /x/}` matches many keys).
  if (field.startsWith('$') || isPlainObject(value) || (value !== null && value !== undefined && !seekable(value))) return undefined;
  const keyset: Keyset = { field, value: value ?? null, id: tie._id[op], direction: op === '$gt' ? 1 : -1 };
  const same = (a: unknown, b: unknown) => compareValues(a, b) === 0;
  for (const branch of branches) {
    if (branch === tie) continue;
    if (!isPlainObject(branch) || Object.keys(branch).length !== 1 || !(field in branch)) return undefined;
    const condition = branch[field];
    if (condition === null && keyset.direction === -1) continue;
    if (isPlainObject(condition) && Object.keys(condition).length === 1 && op in condition && value !== null && same(condition[op], value)) continue;
    if (isPlainObject(condition) && value === null && keyset.direction === 1 && condition.$exists === true && condition.$ne === null && Object.keys(condition).length === 2)
      continue;
    return undefined;
  }
  return keyset;
}

/** Top-level field conditions, including those inside a top-level `$and`. */
function shapeOf(filter: Doc): FilterShape {
  const conditions = new Map<string, Condition>();
  let simple = true;
  let keyset: Keyset | undefined;
  const visit = (clause: Doc) => {
    for (const [field, value] of Object.entries(clause)) {
      if (field === '$and' && Array.isArray(value)) {
        for (const part of value)
          if (isPlainObject(part)) visit(part);
          else simple = false;
        continue;
      }
      if (field.startsWith('$')) {
        if (field === '$or') keyset ??= keysetOf(value);
        simple = false;
        continue;
      }
      const condition = conditionOf(value);
      if (!condition) {
        simple = false;
        continue;
      }
      if (conditions.has(field)) {
        simple = false;
        continue;
      }
      conditions.set(field, condition);
    }
  };
  visit(filter);
  return { conditions, simple, keyset };
}

// ---------- plans ----------

interface KeyRange {
  start: Buffer;
  end: Buffer;
  /** An exact full key of a unique index: one point lookup. */
  point?: boolean;
  /**
   * The one LMDB key the range can hold, when its values pin every field of the index: a unique
   * index's exact key, or a key that ends with `_id`'s value (the entry's key is the tuple and the
   * record id). Counted and read by a lookup, not a cursor: lmdb-js opens a cursor per range, about
   * ten times a lookup's cost (1,000 read receipts of a reader's unread counts, one range each).
   */
  entry?: Buffer;
  /** The values every key of the range starts with (the equalities on the index's first fields). */
  tuple?: unknown[];
  /** A skip scan: only the keys whose value of the field after the range's is listed. */
  skip?: Skip;
}

/**
 * A range on one field followed by a list of values of the next (a word's prefix within a reader's
 * folders, index `{ words, folder }`): the keys read are those whose next component is one of `to`
 * (encoded, in key order). Past any other key the scan seeks — to the next listed value within the
 * same value of the range's field, or past that value — as MongoDB's index bounds do: a value of
 * the range's field costs at most one seek per listed value it has keys of, plus one, never a read
 * of its keys for other values.
 */
interface Skip {
  /** Where the range's field's component starts in every key of the range (after the equalities). */
  from: number;
  /** The range field's direction in the index (-1: its component is stored inverted). */
  direction: number;
  to: Buffer[];
}

export interface Plan {
  /** The index read (absent: a collection scan; `_id_` for the record keys themselves). */
  index?: BTreeIndex | 'primary';
  ranges: KeyRange[];
  /** Point lookups by `_id`. */
  ids?: Buffer[];
  reverse: boolean;
  /** How ranges combine into the requested order: concatenated in key order, or merged on the key after `mergeOffsets`. */
  merge: number[] | null;
  /** The output comes in the requested sort order. */
  sorted: boolean;
  /** The sort an index gives: entries whose keys were cut (long strings) are put in it by their values. */
  order?: SortSpec;
  /** Every candidate matches the filter: nothing is left to check. */
  exact: boolean;
  /** Candidates may repeat (multikey index). */
  dedupe: boolean;
  stage: string;
  /** A top-level `$or` read as one union of its branches' ranges: how many branches. */
  union?: number;
  /** The other plans the planner built key ranges for and compared, and did not choose (explain's rejectedPlans). */
  rejected?: Plan[];
}

const MAX_POINTS = 5000;
const BRACKETS = [
  TYPE.minKey,
  TYPE.null,
  TYPE.number,
  TYPE.string,
  TYPE.object,
  TYPE.array,
  TYPE.binary,
  TYPE.objectId,
  TYPE.boolean,
  TYPE.date,
  TYPE.timestamp,
  TYPE.regex,
  TYPE.code,
  TYPE.maxKey,
];

/**
 * Bytes that every key of a range component starts at or after / stays below, in key order: for a
 * descending field the stored component is the inverted encoding, so the upper value bound gives
 * the start and the lower one the end, with inclusive and exclusive swapped.
 */
function rangeComponent(condition: Extract<Condition, { kind: 'range' }>, multikey: boolean, descending = false): { lo: Buffer; hi: Buffer } {
  const encode = (value: unknown) => {
    const w = new KeyWriter();
    encodeValue(w, value);
    if (descending) w.invert(0);
    return w.take();
  };
  if (condition.prefix !== undefined) {
    // The string's key without its two-byte terminator: every string beginning so has a key beginning so.
    const w = new KeyWriter();
    encodeValue(w, condition.prefix);
    w.length -= 2;
    if (descending) w.invert(0);
    const start = w.take();
    return { lo: start, hi: prefixEnd(start) };
  }
  // A bound whose key was cut (a string over 1 KB) stands for every value sharing that key: the
  // range keeps them all, as if inclusive, and the filter decides.
  const whole = (bound: Bound) => {
    if (bound.inclusive) return true;
    const w = new KeyWriter();
    encodeValue(w, bound.value);
    return w.inexact;
  };
  // On a multikey index one element may meet the lower bound and another the upper: use one side
  // (both for `$elemMatch`, where one element meets both).
  const lo = condition.lo;
  const hi = condition.hi && (!multikey || !lo || condition.element) ? condition.hi : undefined;
  // From MinKey or up to MaxKey, the range runs over every bracket (a missing field, keyed as null, included).
  const span = spansBrackets(lo, hi);
  const bracket = span ? TYPE.minKey : bracketOf((lo ?? hi)!.value);
  const next = span ? TYPE.maxKey + 1 : (BRACKETS[BRACKETS.indexOf(bracket as (typeof BRACKETS)[number]) + 1] ?? 0xff);
  // Numbers run from -Infinity to Infinity (NaN, below them, matches no range); other brackets are one leading byte.
  const least = bracket === TYPE.number ? encode(-Infinity) : descending ? prefixEnd(Buffer.from([~bracket & 0xff])) : Buffer.from([bracket]);
  const most = bracket === TYPE.number ? encode(Infinity) : descending ? Buffer.from([~(span ? TYPE.maxKey : bracket) & 0xff]) : Buffer.from([next]);
  if (!descending) {
    const start = lo ? (whole(lo) ? encode(lo.value) : prefixEnd(encode(lo.value))) : least;
    const end = hi ? (whole(hi) ? prefixEnd(encode(hi.value)) : encode(hi.value)) : bracket === TYPE.number ? prefixEnd(most) : most;
    return { lo: start, hi: end };
  }
  const start = hi ? (whole(hi) ? encode(hi.value) : prefixEnd(encode(hi.value))) : most;
  const end = lo ? (whole(lo) ? prefixEnd(encode(lo.value)) : encode(lo.value)) : bracket === TYPE.number ? prefixEnd(least) : least;
  return { lo: start, hi: end };
}

/** Stored index keys (index id and key tuple) are cut at this length; so are the keys of ranges. */
const KEY_LIMIT = 4 + MAX_TUPLE_BYTES;

/** Writes the keys of ranges being planned (plans are made one at a time; each range takes a copy). */
const rangeWriter = new KeyWriter();

/**
 * A plan over one B-tree index, with its score (higher is better), the fields its key ranges
 * narrow and whether every candidate would match. Ranking needs only these; the key ranges are
 * built when the plan is first read (`plan`), so indexes that lose cost no key encoding (a filter
 * naming 20 folders beside 30 folder-first indexes would otherwise encode 600 keys per query).
 */
class Ranked {
  private built: Plan | undefined;

  constructor(
    readonly index: BTreeIndex,
    readonly score: number,
    readonly used: Set<string>,
    /** Before the ranges are built: a key cut for length may still make the plan inexact. */
    readonly exact: boolean,
    private readonly build: () => Plan,
    /** How many key ranges the plan reads at most (one per tuple of equality values). */
    readonly points = 1,
  ) {}

  get plan(): Plan {
    this.built ??= this.build();
    return this.built;
  }

  /** The plan if its key ranges were built (the planner compared it), else undefined. */
  get builtPlan(): Plan | undefined {
    return this.built;
  }
}

/**
 * Whether index order from field `start` on gives the sort `bySort`: 1 read forward, -1 backward,
 * null when it does not.
 */
function sortRelation(index: BTreeIndex, bySort: [string, 1 | -1][], start: number): 1 | -1 | null {
  if (bySort.length === 0 || start + bySort.length > index.fields.length) return null;
  let relation: 1 | -1 | null = null;
  for (let i = 0; i < bySort.length; i++) {
    const [field, dir] = bySort[i]!;
    if (index.fields[start + i] !== field) return null;
    const rel = dir === index.directions[start + i] ? 1 : -1;
    if (relation !== null && rel !== relation) return null;
    relation = rel;
  }
  return relation;
}

/**
 * A plan over one B-tree index, or null when it cannot help. `forced` (a hint): the index is read
 * even when it narrows nothing, as a whole, and a partial one whatever its filter.
 */
function indexPlan(index: BTreeIndex, shape: FilterShape, sortKeys: [string, 1 | -1][], filter: Doc, forced = false, inUnion = false): Ranked | null {
  const { conditions } = shape;
  // Neither narrowing its first field nor asked for an order: the index cannot help.
  if (!forced && sortKeys.length === 0 && !conditions.has(index.fields[0]!)) return null;
  if (!forced && index.partial && !impliesPartial(filter, index.spec.partialFilterExpression as Doc)) return null;
  const used = new Set<string>();
  // The values of each equality field, in index order: their product is the plan's points.
  const equal: unknown[][] = [];
  let points = 1;
  let singles = 0;
  let position = 0;
  let exact = true;
  for (; position < index.fields.length; position++) {
    const condition = conditions.get(index.fields[position]!);
    if (condition?.kind !== 'values') break;
    if (index.sparse && condition.values.some((v) => v === null)) break;
    // One field's list is seeked whole, a point per value: what the query names (a batch's
    // thousands of ids are thousands of seeks, a scan of the collection would be far more). The cap
    // bounds the product of several lists, which grows past what the query names.
    if (position > 0 && points * condition.values.length > MAX_POINTS) break;
    points *= condition.values.length;
    equal.push(condition.values);
    if (condition.values.length === 1 && singles === position) singles++;
    used.add(index.fields[position]!);
    exact &&= condition.exact;
  }
  const equalities = position;
  const rangeCondition = position < index.fields.length ? conditions.get(index.fields[position]!) : undefined;
  const range = rangeCondition?.kind === 'range' ? rangeCondition : undefined;
  if (range) {
    used.add(index.fields[position]!);
    exact &&= range.exact && (!index.multikey || !(range.lo && range.hi));
  }
  // A list of values on the field after the range: read by a skip scan (forward only, so not where
  // the index may give a sort; not in a union, whose merged ranges would lose it).
  const next = range && !inUnion && (sortKeys.length === 0 || index.multikey) ? conditions.get(index.fields[position + 1] ?? '') : undefined;
  const listed = next?.kind === 'values' && next.values.length > 0 && next.values.length <= MAX_POINTS && !(index.sparse && next.values.some((v) => v === null)) ? next : undefined;
  if (listed) {
    used.add(index.fields[position + 1]!);
    exact &&= listed.exact;
  }
  for (const field of conditions.keys()) if (!used.has(field)) exact = false;
  if (!shape.simple) exact = false;
  // Sort: read from index order when the sort fields follow the single-valued equalities (ranges in
  // key order), or follow all equalities with no range between (ranges merged).
  const bySort = sortKeys.filter(
    ([field]) => !(conditions.get(field)?.kind === 'values' && (conditions.get(field) as { values: unknown[] }).values.length === 1 && used.has(field)),
  );
  const relationAt = (start: number) => sortRelation(index, bySort, start);
  let relation: 1 | -1 | null = null;
  let merge = false;
  if (sortKeys.length > 0 && !index.multikey) {
    relation = bySort.length === 0 ? 1 : relationAt(singles);
    if (relation === null && !range && points > 1 && points <= 200) {
      relation = relationAt(equalities);
      merge = relation !== null;
    }
  }
  const sortCovered = sortKeys.length === 0 || relation !== null;
  if (!forced && equalities === 0 && !range && !(sortKeys.length > 0 && sortCovered)) return null;
  if (!forced && equalities === 0 && !range && (index.sparse || index.partial)) return null;
  // A unique index equal on all its fields reads one key per value at most: such point lookups (a
  // batch of INNs by `$in`) rank above an equality on a field many records share.
  const lookups = index.unique && equalities === index.fields.length && points > 0;
  const score =
    equalities * 10 +
    (range ? 5 : 0) +
    (listed ? 10 : 0) +
    (sortKeys.length > 0 && sortCovered ? 8 : 0) +
    (exact ? 2 : 0) +
    (index.unique ? (lookups ? 3 : 1) : 0) -
    (points > 1 ? 1 : 0);
  const build = (): Plan => {
    let tuples: unknown[][] = [[]];
    for (const values of equal) tuples = tuples.flatMap((tuple) => values.map((value) => [...tuple, value]));
    const { ranges, cut } = keyRanges(index, tuples, range, equalities, listed?.values);
    if (relation !== null && !range) keysetStart(index, ranges, shape.keyset, bySort, equalities, relation === -1);
    return {
      index,
      ranges,
      reverse: relation === -1,
      merge: merge ? ranges.map((r) => r.start.length) : null,
      sorted: sortCovered,
      order: sortKeys.length > 0 && sortCovered ? Object.fromEntries(sortKeys) : undefined,
      exact: exact && !cut,
      dedupe: index.multikey,
      stage: 'IXSCAN',
    };
  };
  return new Ranked(index, score, used, exact, build, points);
}

/** The key of the one entry a range of a non-unique index can hold when its tuple pins every field and the last is `_id`. */
function entryWithId(index: BTreeIndex, tuple: unknown[], prefix: Buffer, inexact: boolean): Buffer | undefined {
  if (index.unique || inexact || tuple.length !== index.fields.length || index.fields.at(-1) !== '_id') return undefined;
  const idKey = storableIdKey(tuple.at(-1));
  return idKey ? Buffer.concat([prefix, idKey]) : undefined;
}

/**
 * The key ranges of an index plan: one per tuple of equality values, narrowed by the range
 * condition on the next field, in key order, each read once (`$in` may repeat a value). `cut`: a
 * tuple was too long for a key, so its range holds keys of other values too.
 */
function keyRanges(
  index: BTreeIndex,
  tuples: unknown[][],
  range: Extract<Condition, { kind: 'range' }> | undefined,
  equalities: number,
  listed?: unknown[],
): { ranges: KeyRange[]; cut: boolean } {
  const ranges: KeyRange[] = [];
  let cut = false;
  const w = rangeWriter;
  const component = range ? rangeComponent(range, index.multikey, index.directions[equalities] === -1) : null;
  let to: Buffer[] | undefined;
  if (listed) {
    const encoded = listed.map((value) => {
      w.reset();
      encodeTuple(w, [value], [index.directions[equalities + 1]!]);
      // A value keyed by its first kilobyte stands for every value sharing it: the filter decides.
      cut ||= w.inexact;
      return w.take();
    });
    to = encoded.sort(Buffer.compare).filter((key, i) => i === 0 || !key.equals(encoded[i - 1]!));
  }
  for (const tuple of tuples) {
    w.reset();
    w.bytes(index.prefix);
    encodeTuple(w, tuple, index.directions);
    if (w.length > KEY_LIMIT) {
      // Stored keys this long are cut: the cut prefix finds them, and the filter decides.
      w.length = KEY_LIMIT;
      cut = true;
      const prefix = w.take();
      ranges.push({ start: prefix, end: prefixEnd(prefix) });
      continue;
    }
    const prefix = w.take();
    if (!component) {
      const point = index.unique && equalities === index.fields.length && !w.inexact;
      ranges.push({ start: prefix, end: prefixEnd(prefix), point, entry: point ? prefix : entryWithId(index, tuple, prefix, w.inexact), tuple });
      continue;
    }
    const start = Buffer.concat([prefix, component.lo]);
    const end = Buffer.concat([prefix, component.hi]);
    if (start.length > KEY_LIMIT || end.length > KEY_LIMIT) cut = true;
    ranges.push({
      start: start.length > KEY_LIMIT ? start.subarray(0, KEY_LIMIT) : start,
      end: end.length > KEY_LIMIT ? prefixEnd(end.subarray(0, KEY_LIMIT)) : end,
      tuple,
      skip: to && { from: prefix.length, direction: index.directions[equalities]!, to },
    });
  }
  ranges.sort((a, b) => Buffer.compare(a.start, b.start));
  for (let i = ranges.length - 1; i > 0; i--) if (ranges[i]!.start.equals(ranges[i - 1]!.start)) ranges.splice(i, 1);
  return { ranges, cut };
}

/** A keyset page ("after (v, id)" in the sort order) starts the scan of its one range right after that key. */
function keysetStart(index: BTreeIndex, ranges: KeyRange[], after: Keyset | undefined, bySort: [string, 1 | -1][], equalities: number, reverse: boolean): void {
  if (
    !after ||
    ranges.length !== 1 ||
    index.multikey ||
    bySort.length !== 2 ||
    index.fields[equalities] !== after.field ||
    index.fields[equalities + 1] !== '_id' ||
    bySort[0]![0] !== after.field ||
    bySort[1]![0] !== '_id' ||
    bySort[0]![1] !== after.direction ||
    bySort[1]![1] !== after.direction
  )
    return;
  const w = rangeWriter;
  w.reset();
  w.bytes(ranges[0]!.start);
  encodeTuple(w, [after.value], [index.directions[equalities]!]);
  // A value whose key was cut (a title over 1 KB) shares its key with others, before and after it in
  // the sort: the scan then starts at (or, backwards, ends after) all of them, and the filter decides.
  const shared = w.inexact || w.length > KEY_LIMIT;
  if (!shared) encodeTuple(w, [after.id], [index.directions[equalities + 1]!]);
  const boundary = w.length > KEY_LIMIT ? w.take().subarray(0, KEY_LIMIT) : w.take();
  if (shared || boundary.length === KEY_LIMIT) {
    if (reverse) ranges[0]!.end = prefixEnd(boundary);
    else ranges[0]!.start = boundary;
  } else if (reverse) ranges[0]!.end = boundary;
  else ranges[0]!.start = prefixEnd(boundary);
}

/** A partial index serves a filter that repeats each clause of its filter expression. */
function impliesPartial(filter: Doc, expression: Doc): boolean {
  const clauses = new Map<string, unknown>();
  const visit = (clause: Doc) => {
    for (const [field, value] of Object.entries(clause)) {
      if (field === '$and' && Array.isArray(value)) value.forEach((part) => isPlainObject(part) && visit(part));
      else clauses.set(field, value);
    }
  };
  visit(filter);
  return Object.entries(expression).every(([field, value]) => {
    if (!clauses.has(field)) return false;
    const clause = clauses.get(field);
    if (JSON.stringify(clause) === JSON.stringify(value)) return true;
    // `{ $exists: true }` is implied by a condition that no missing field meets (as MongoDB's planner reads it).
    return JSON.stringify(value) === '{"$exists":true}' && impliesExists(clause);
  });
}

/** Whether only a present field can meet the condition: a value, `$eq`, `$in` or a bound other than null. */
function impliesExists(condition: unknown): boolean {
  const notNull = (value: unknown) => value !== null && value !== undefined;
  if (!isPlainObject(condition) || !Object.keys(condition).some((key) => key.startsWith('$'))) return notNull(condition);
  return Object.entries(condition).some(([operator, operand]) => {
    if (operator === '$exists') return operand === true;
    if (operator === '$in') return Array.isArray(operand) && operand.every(notNull);
    return ['$eq', '$gt', '$gte', '$lt', '$lte'].includes(operator) && notNull(operand);
  });
}

/** Chooses how to find candidates; any plan yields a superset of the matches unless `exact`. */
/** Keys a trial counts in a plan's ranges before calling it large. */
const TRIAL_KEYS = 101;

/** Index keys in the plan's ranges, counted up to `cap`. */
function keysUpTo(plan: Plan, view: ReadView, cap: number): number {
  let total = 0;
  for (const range of plan.ranges) {
    if (range.entry) total += 1;
    else for (const _entry of rangeKeys(view.store.storage.index, range, view, cap - total)) total += 1;
    if (total >= cap) break;
  }
  return total;
}

/**
 * The scores say which index answers most of the filter, not which holds fewest candidates: a
 * search by INN among a reader's folders scores the folder index (two fields) above the search-key
 * index (one), though the folders hold thousands of cards and the key one. When the best-scored
 * plan is large, the others are tried by counting their keys, briefly (MongoDB's planner runs its
 * candidates for a while for the same reason); one with fewer keys than the cap wins, its few
 * documents sorted in memory if it does not give the order.
 *
 * Only candidates that narrow some field the best plan leaves open are tried: one whose ranges
 * narrow only fields the best plan's ranges narrow too holds at least its keys (a folder page's
 * other folder indexes, by date or by title). So a page of one folder, sorted or after a keyset,
 * reads no key beyond its own. And of plain indexes (one key per record: not multikey, sparse or
 * partial) narrowing the same fields only the best-ranked is tried: they hold the same keys (a
 * word search among 20 folders beside 22 folder-first indexes tries one of them, not 22).
 */
function triedPlan(ranked: Ranked[], view: ReadView): Ranked {
  const [best, ...rest] = ranked;
  const narrowsMore = (other: Ranked) => best!.index.multikey || other.index.partial !== null || [...other.used].some((field) => !best!.used.has(field));
  const plain = (candidate: Ranked) => !candidate.index.multikey && !candidate.index.sparse && candidate.index.partial === null;
  const narrowed = (candidate: Ranked) => [...candidate.used].sort().join('\0');
  const alike = new Set(plain(best!) ? [narrowed(best!)] : []);
  const others = rest.filter((other) => {
    if (!narrowsMore(other)) return false;
    if (!plain(other)) return true;
    const fields = narrowed(other);
    if (alike.has(fields)) return false;
    alike.add(fields);
    return true;
  });
  let chosen = best!;
  if (others.length === 0) return chosen;
  let fewest = keysUpTo(best!.plan, view, TRIAL_KEYS);
  if (fewest < TRIAL_KEYS) return chosen;
  for (const other of others) {
    const keys = keysUpTo(other.plan, view, fewest);
    if (keys < fewest) [chosen, fewest] = [other, keys];
  }
  return chosen;
}

/** A condition pinning its field to one value whose index key says exactly what equality means. */
function isPointValue(condition: Condition | undefined): boolean {
  return condition?.kind === 'values' && condition.values.length === 1 && condition.exact;
}

/** A field that must equal one of no values: nothing matches, nothing is read. */
function matchesNothing(shape: FilterShape): boolean {
  return [...shape.conditions.values()].some((condition) => condition.kind === 'values' && condition.values.length === 0);
}

/** Reads of the records themselves, by `_id`: point lookups, an `_id` range, or all of them in `_id` order. */
function primaryPlan(collection: Collection, shape: FilterShape, sortKeys: [string, 1 | -1][], filter: Doc): Plan {
  const idCondition = shape.conditions.get('_id');
  const byId = sortKeys.length === 1 && sortKeys[0]![0] === '_id';
  const reverse = byId && sortKeys[0]![1] === -1;
  const only = shape.simple && shape.conditions.size === 1;
  if (idCondition?.kind === 'values') {
    const seen = new Set<string>();
    const ids: Buffer[] = [];
    for (const value of idCondition.values) {
      // An `_id` no record can have (too long to be a record key) matches nothing.
      const key = storableIdKey(value);
      if (!key) continue;
      const text = key.toString('latin1');
      if (!seen.has(text)) {
        seen.add(text);
        ids.push(key);
      }
    }
    ids.sort(Buffer.compare);
    const sorted = sortKeys.length === 0 || byId || ids.length <= 1;
    return { index: 'primary', ranges: [], ids, reverse, merge: null, sorted, exact: only && idCondition.exact, dedupe: false, stage: 'IDHACK' };
  }
  const sorted = sortKeys.length === 0 || byId;
  if (idCondition?.kind === 'range') {
    const component = rangeComponent(idCondition, false);
    const range = { start: Buffer.concat([collection.prefix, component.lo]), end: Buffer.concat([collection.prefix, component.hi]) };
    return { index: 'primary', ranges: [range], reverse, merge: null, sorted, exact: only && idCondition.exact, dedupe: false, stage: 'IXSCAN' };
  }
  const whole = { start: collection.prefix, end: prefixEnd(collection.prefix) };
  return { index: 'primary', ranges: [whole], reverse, merge: null, sorted, exact: Object.keys(filter).length === 0, dedupe: false, stage: 'IXSCAN' };
}

/** A branch of a top-level `$or` with the filter's other clauses, and what it says about each field. */
interface Branch {
  filter: Doc;
  shape: FilterShape;
}

/** The branches of a top-level `$or`, each with the filter's other clauses: the filter is their union. */
function orBranches(filter: Doc): Branch[] | null {
  const { $or: branches, ...rest } = filter;
  if (!Array.isArray(branches) || branches.length === 0 || !branches.every(isPlainObject)) return null;
  return branches.map((branch) => {
    const whole = Object.keys(branch).some((key) => key in rest) ? { $and: [rest, branch] } : { ...rest, ...branch };
    return { filter: whole, shape: shapeOf(whole) };
  });
}

const sameTuple = (a: unknown[] | undefined, b: unknown[] | undefined) => a !== undefined && b !== undefined && keyString(a) === keyString(b);

/**
 * A top-level `$or` as one union of key ranges of one index: each branch planned on the index,
 * then overlapping ranges merged, so every key is read once (a count adds the ranges up) and the
 * ranges follow key order. Null when a branch is not narrowed by the index.
 *
 * The union comes in index order; it gives the sort when the sort follows the index fields after
 * those every branch pins to the same value.
 */
function unionPlan(index: BTreeIndex, branches: Branch[], sortKeys: [string, 1 | -1][], { forced = false, exactOnly = false } = {}): Ranked | null {
  const live = branches.filter((branch) => !matchesNothing(branch.shape));
  // Each branch is ranked (for `exactOnly`, only exact ones are taken: the only union preferred to
  // another plan); key ranges are built when the union is chosen, not for every index compared.
  const planned: Ranked[] = [];
  let points = 0;
  let exact = true;
  let score = Infinity;
  for (const branch of live) {
    // An index narrows no branch that leaves its first field open (a hinted one is read whole instead).
    if (!branch.shape.conditions.has(index.fields[0]!)) return null;
    const ranked = indexPlan(index, branch.shape, [], branch.filter, forced, true);
    if (!ranked || (forced && ranked.used.size === 0) || (exactOnly && !ranked.exact)) return null;
    points += ranked.points;
    if (ranked.points === 0 || points > MAX_POINTS) return null;
    planned.push(ranked);
    exact &&= ranked.exact;
    score = Math.min(score, ranked.score);
  }
  const pinned = (branch: Branch, field: string) => {
    const condition = branch.shape.conditions.get(field);
    return condition?.kind === 'values' && condition.values.length === 1 ? [condition.values[0]] : undefined;
  };
  // The fields every branch pins to one value (looked for only when an order is asked).
  let common = 0;
  const ordered = sortKeys.length > 0 && !index.multikey;
  while (
    ordered &&
    common < index.fields.length &&
    live.length > 0 &&
    live.every((branch) => sameTuple(pinned(branch, index.fields[common]!), pinned(live[0]!, index.fields[common]!)))
  )
    common++;
  const bySort = sortKeys.filter(([field]) => !index.fields.slice(0, common).includes(field));
  const relation = !ordered ? null : bySort.length === 0 ? 1 : sortRelation(index, bySort, common);
  const sorted = sortKeys.length === 0 || relation !== null;
  const build = (): Plan => {
    const ranges = planned.flatMap((ranked) => ranked.plan.ranges).sort((a, b) => Buffer.compare(a.start, b.start));
    const merged: KeyRange[] = [];
    for (const range of ranges) {
      if (Buffer.compare(range.start, range.end) >= 0) continue;
      const last = merged[merged.length - 1];
      if (!last || Buffer.compare(range.start, last.end) >= 0) merged.push(range);
      else
        merged[merged.length - 1] = {
          start: last.start,
          end: Buffer.compare(range.end, last.end) > 0 ? range.end : last.end,
          tuple: sameTuple(last.tuple, range.tuple) ? last.tuple : undefined,
        };
    }
    // A key cut for length leaves its branch, and so the union, inexact.
    const whole = planned.every((ranked) => ranked.plan.exact);
    const order = sortKeys.length > 0 && sorted ? Object.fromEntries(sortKeys) : undefined;
    return { index, ranges: merged, reverse: relation === -1, merge: null, sorted, order, exact: whole, dedupe: index.multikey, stage: 'IXSCAN', union: live.length };
  };
  return new Ranked(index, (live.length === 0 ? 0 : score) + (sortKeys.length > 0 && sorted ? 8 : 0), new Set(), exact, build, points);
}

/**
 * The best union plan of a top-level `$or` over one of the indexes: exact ones first (`exactOnly`:
 * only those), then by score. Unions are compared before their key ranges are built: a count of
 * 500 folder branches beside 30 indexes beginning with the folder encodes one index's ranges.
 */
function bestUnion(indexes: BTreeIndex[], branches: Branch[], sortKeys: [string, 1 | -1][], exactOnly: boolean, considered: Ranked[]): Ranked | null {
  let best: Ranked | null = null;
  for (const index of indexes) {
    const candidate = unionPlan(index, branches, sortKeys, { exactOnly });
    if (!candidate) continue;
    considered.push(candidate);
    const better = !best || (candidate.exact === best.exact ? candidate.score > best.score : candidate.exact);
    if (better) best = candidate;
  }
  return best;
}

/** What a `hint` names: an index, the records by `_id`, or the collection in natural order. */
type Hinted = BTreeIndex | 'primary' | { natural: 1 | -1 };

/** Resolves a `hint` as MongoDB does; one naming no index fails with BadValue (2). */
function resolveHint(collection: Collection, hint: unknown): Hinted | null {
  if (hint === undefined || hint === null || (isPlainObject(hint) && Object.keys(hint).length === 0)) return null;
  if (isPlainObject(hint) && '$natural' in hint) return { natural: direction(hint.$natural) === -1 ? -1 : 1 };
  const names = (spec: { name: string; key: Doc }) => (typeof hint === 'string' ? spec.name === hint : isPlainObject(hint) && keyString(spec.key) === keyString(hint));
  if (names({ name: '_id_', key: { _id: 1 } })) return 'primary';
  const index = collection.btreeIndexes.find((candidate) => names(candidate.spec));
  if (!index) throw badValue('hint provided does not correspond to an existing index');
  return index;
}

/**
 * The plan a hint forces: a collection scan for `$natural`; the hinted index's ranges when it
 * narrows the filter (a union for a top-level `$or`), else the whole index, as MongoDB reads it.
 */
function hintedPlan(collection: Collection, hinted: Hinted, shape: FilterShape, sortKeys: [string, 1 | -1][], filter: Doc): Plan {
  if (hinted === 'primary') return primaryPlan(collection, shape, sortKeys, filter);
  if ('natural' in hinted) {
    const whole = { start: collection.prefix, end: prefixEnd(collection.prefix) };
    return {
      ranges: [whole],
      reverse: hinted.natural === -1,
      merge: null,
      sorted: sortKeys.length === 0,
      exact: Object.keys(filter).length === 0,
      dedupe: false,
      stage: 'COLLSCAN',
    };
  }
  const branches = orBranches(filter);
  const union = branches && unionPlan(hinted, branches, sortKeys, { forced: true });
  return union ? union.plan : indexPlan(hinted, shape, sortKeys, filter, true)!.plan;
}

/**
 * How to find the candidates of `filter` in `sort` order: the `_id` fast path, a hinted index, the
 * best-ranked index plan (tried against the others on `view` when it is large), a union for a
 * top-level `$or`, or a collection scan. The plans built and compared but not chosen come with it
 * (`rejected`): key ranges are built only for those, not for every index.
 */
export function planQuery(collection: Collection, filter: Doc, sort: SortSpec | undefined, view?: ReadView, hint?: unknown): Plan {
  const considered: Ranked[] = [];
  const plan = choosePlan(collection, filter, sort, view, hint, considered);
  const rejected: Plan[] = [];
  for (const ranked of considered) {
    const built = ranked.builtPlan;
    if (built && built !== plan) rejected.push(built);
  }
  if (rejected.length > 0) plan.rejected = rejected;
  return plan;
}

function choosePlan(collection: Collection, filter: Doc, sort: SortSpec | undefined, view: ReadView | undefined, hint: unknown, considered: Ranked[]): Plan {
  const shape = shapeOf(filter);
  const sortKeys: [string, 1 | -1][] = [];
  let sortable = true;
  for (const [field, value] of Object.entries(sort ?? {})) {
    const dir = direction(value);
    if (dir === null) sortable = false;
    else sortKeys.push([field, dir]);
  }
  const keys = sortable ? sortKeys : [];
  const hinted = resolveHint(collection, hint);
  if (matchesNothing(shape)) return { ranges: [], reverse: false, merge: null, sorted: true, exact: shape.simple, dedupe: false, stage: 'EOF' };
  if (hinted) return hintedPlan(collection, hinted, shape, keys, filter);
  const idCondition = shape.conditions.get('_id');
  if (idCondition?.kind === 'values') return primaryPlan(collection, shape, keys, filter);
  // Equality on every field of a unique index (an upsert's filter, a read receipt): at most one
  // record, one point lookup; no other index needs planning.
  for (const index of collection.btreeIndexes) {
    if (!index.unique || !index.fields.every((field) => isPointValue(shape.conditions.get(field)))) continue;
    const point = indexPlan(index, shape, keys, filter);
    if (point?.plan.ranges.length === 1 && point.plan.ranges[0]!.point) return point.plan;
    if (point) considered.push(point);
  }
  const ranked: Ranked[] = [];
  for (const index of collection.btreeIndexes) {
    const candidate = indexPlan(index, shape, keys, filter);
    if (candidate) ranked.push(candidate);
  }
  considered.push(...ranked);
  ranked.sort((a, b) => b.score - a.score);
  const best = ranked.length > 1 && view ? triedPlan(ranked, view) : (ranked[0] ?? null);
  const byId = sortable && sortKeys.length === 1 && sortKeys[0]![0] === '_id';
  if (idCondition?.kind === 'range' && (!best || best.score < 5 + (byId ? 8 : 0))) return primaryPlan(collection, shape, keys, filter);
  // A top-level `$or` whose every branch an index narrows: the union of their ranges when it
  // answers the filter whole (it reads exactly the matches), unless the best plan gives a
  // requested order the union does not; or when no other plan narrows anything. Beside another
  // plan only an exact union can win, so only exact ones are planned then.
  const branches = orBranches(filter);
  const union = branches && bestUnion(collection.btreeIndexes, branches, keys, best !== null, considered);
  if (union && (!best || (union.plan.exact && !(keys.length > 0 && best.plan.sorted && !union.plan.sorted)))) return union.plan;
  if (best) return best.plan;
  if (byId) return primaryPlan(collection, shape, keys, filter);
  const whole = { start: collection.prefix, end: prefixEnd(collection.prefix) };
  const exact = shape.conditions.size === 0 && Object.keys(filter).length === 0;
  return { ranges: [whole], reverse: false, merge: null, sorted: sortKeys.length === 0, exact, dedupe: false, stage: 'COLLSCAN' };
}

// ---------- execution ----------

interface Candidate {
  idKey: Buffer;
  /** Present when the scan already has the document: the transaction's own writes. */
  doc?: Doc;
  /** Present when the scan already has the stored BSON: scans of the records themselves. */
  raw?: Buffer;
}

/** `from`: where the key's sorted part starts (after a merged range's own equality prefix). */
type Scanned = Entry & { doc?: Doc; raw?: Buffer; from?: number };

/** A merged range's entries, each marked with where its key's sorted part starts. */
function* sortedFrom(stream: Iterator<Scanned>, from: number): Generator<Scanned> {
  try {
    for (let next = stream.next(); !next.done; next = stream.next()) yield { ...next.value, from };
  } finally {
    stream.return?.();
  }
}

/**
 * Ends iterators a consumer stopped pulling from (a cursor closed early): an LMDB range iterator
 * left suspended keeps its read snapshot, and with it every page written since, from being reused.
 */
export function closeIterators(iterators: Iterator<unknown>[]): void {
  for (const iterator of iterators) iterator.return?.();
}

function* mergeSorted(streams: Iterator<Scanned>[], offsets: number[], reverse: boolean): Generator<Scanned> {
  try {
    const heads = streams.map((stream) => stream.next());
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i]!;
        if (head.done) continue;
        if (best < 0) {
          best = i;
          continue;
        }
        const c = Buffer.compare(head.value.key.subarray(offsets[i]!), (heads[best]!.value as Entry).key.subarray(offsets[best]!));
        if (reverse ? c > 0 : c < 0) best = i;
      }
      if (best < 0) return;
      yield heads[best]!.value as Entry;
      heads[best] = streams[best]!.next();
    }
  } finally {
    closeIterators(streams);
  }
}

/** Committed entries of one range (skipping records the transaction rewrote) merged with the transaction's own, in key order. */
function rangeEntries(collection: Collection, plan: Plan, range: KeyRange, view: ReadView, overlay: Overlay | undefined, offset: number): Iterator<Scanned> {
  const store = view.store;
  const primary = plan.index === 'primary' || plan.index === undefined;
  const committed = (function* () {
    if (primary) {
      for (const { key, value } of store.scanRange(store.storage.docs, range.start, range.end, plan.reverse, view, offset)) {
        const idKey = key.subarray(4);
        if (overlay?.records.has(idKey.toString('latin1'))) continue;
        yield { key: idKey, idKey, raw: value };
      }
      return;
    }
    if (range.entry) {
      const idKey = store.storage.bytes(store.storage.index, range.entry, view.snapshot);
      if (idKey && offset === 0 && !overlay?.records.has(idKey.toString('latin1'))) yield { key: range.entry, idKey: Buffer.from(idKey) };
      return;
    }
    const entries = range.skip
      ? (function* () {
          for (const { key, value } of rangeKeys(store.storage.index, range, view, Infinity, offset)) yield { key: Buffer.from(key), idKey: Buffer.from(value) };
        })()
      : store.scanCommitted(range.start, range.end, plan.reverse, view, offset);
    for (const entry of entries) {
      if (overlay?.records.has(entry.idKey.toString('latin1'))) continue;
      yield entry;
    }
  })();
  if (!overlay || overlay.records.size === 0) return committed;
  let own: Scanned[];
  if (primary) {
    own = [...overlay.records.values()]
      .filter((r) => r.doc !== null)
      .map((r) => ({ key: r.idKey, idKey: r.idKey, doc: r.doc! }))
      .filter((r) => plan.index === undefined || (Buffer.compare(collection.docKey(r.idKey), range.start) >= 0 && Buffer.compare(collection.docKey(r.idKey), range.end) < 0))
      .sort((a, b) => Buffer.compare(a.key, b.key));
  } else {
    const { skip } = range;
    own = overlay.entries(plan.index as BTreeIndex, range.start, range.end);
    if (skip) own = own.filter((entry) => skipPast(entry.key, entry.key.length - entry.idKey.length, skip) === null);
  }
  if (plan.reverse) own.reverse();
  return mergeSorted([committed, own[Symbol.iterator]()], [0, 0], plan.reverse);
}

/** Candidate records of a plan, in plan order, each at most once; `skipHint` of them skipped by the scan of a single range. */
function* candidates(collection: Collection, plan: Plan, view: ReadView, skipHint: number, stats?: ExecutionStats): Generator<Candidate> {
  const overlay = view.txn?.overlay(collection);
  if (plan.ids) {
    const ids = plan.reverse ? [...plan.ids].reverse() : plan.ids;
    for (const idKey of ids) {
      if (stats) stats.keys++;
      yield { idKey };
    }
    return;
  }
  const keyed = plan.index !== undefined;
  // An index giving the sort may hold cut keys (strings over 1 KB): those are ordered by value.
  const ordered = plan.order && plan.index instanceof BTreeIndex ? plan.index : null;
  let offset = plan.ranges.length === 1 ? skipHint : 0;
  let skip = 0;
  if (ordered && offset > 0) {
    // Skipped in the scan, a run of cut keys could be split; then the scan starts at the first key.
    const probe = rangeEntries(collection, plan, plan.ranges[0]!, view, overlay, offset);
    const first = probe.next();
    probe.return?.();
    if (!first.done && ordered.cutLength(first.value.key, first.value.idKey.length) > 0) [offset, skip] = [0, offset];
  }
  const streams = plan.ranges.map((range, i) => {
    const stream = rangeEntries(collection, plan, range, view, overlay, offset);
    return ordered && plan.merge ? sortedFrom(stream, plan.merge[i]!) : stream;
  });
  let entries: Iterable<Scanned>;
  if (plan.merge && streams.length > 1) entries = { [Symbol.iterator]: () => mergeSorted(streams, plan.merge!, plan.reverse) };
  else {
    const inOrder = plan.reverse ? [...streams].reverse() : streams;
    entries = (function* () {
      try {
        for (const stream of inOrder) for (let next = stream.next(); !next.done; next = stream.next()) yield next.value;
      } finally {
        closeIterators(inOrder);
      }
    })();
  }
  const seen = plan.dedupe ? new Set<string>() : null;
  // A run of entries whose keys were cut at the same bytes (titles sharing their first kilobyte):
  // loaded and sorted by their values before any of them is given out.
  let run: Scanned[] = [];
  let runKey: Buffer | null = null;
  const sortRun = (): Scanned[] => {
    const loaded = new Map<Doc, Scanned>();
    for (const entry of run) {
      const doc = load(collection, entry, view);
      if (doc) loaded.set(doc, { ...entry, doc });
    }
    run = [];
    runKey = null;
    return sortDocs([...loaded.keys()], plan.order!, null).map((doc) => loaded.get(doc)!);
  };
  for (const entry of entries) {
    if (stats && keyed) stats.keys++;
    if (seen) {
      const id = entry.idKey.toString('latin1');
      if (seen.has(id)) continue;
      seen.add(id);
    }
    if (ordered) {
      // Keys of a merged scan compare from the merged field on.
      const cut = ordered.cutLength(entry.key, entry.idKey.length);
      const key = cut > (entry.from ?? 0) ? entry.key.subarray(entry.from ?? 0, cut) : null;
      if (key && runKey?.equals(key)) {
        run.push(entry);
        continue;
      }
      if (run.length > 0) {
        for (const sorted of sortRun()) {
          if (skip > 0) skip--;
          else yield sorted;
        }
      }
      if (key) {
        run = [entry];
        runKey = key;
        continue;
      }
    }
    if (skip > 0) skip--;
    else yield { idKey: entry.idKey, doc: entry.doc, raw: entry.raw };
  }
  if (run.length > 0) {
    for (const sorted of sortRun()) {
      if (skip > 0) skip--;
      else yield sorted;
    }
  }
}

function load(collection: Collection, candidate: Candidate, view: ReadView): Doc | undefined {
  if (candidate.doc) return candidate.doc;
  if (candidate.raw) return decodeDocument(candidate.raw);
  return view.txn ? view.txn.get(collection, candidate.idKey) : view.store.getDoc(collection, candidate.idKey, view.snapshot);
}

/**
 * The stored BSON of a candidate (outside transactions), copied out of the map — or projected,
 * whose copy is the only one made: the map's bytes stay valid only until the next read.
 */
function loadRaw(collection: Collection, candidate: Candidate, view: ReadView, project: ((raw: Buffer) => Buffer) | undefined): Buffer | undefined {
  if (candidate.raw) return project ? project(candidate.raw) : candidate.raw;
  const bytes = view.store.storage.bytes(view.store.storage.docs, collection.docKey(candidate.idKey), view.snapshot);
  if (!bytes) return undefined;
  return project ? project(bytes) : Buffer.from(bytes);
}

/**
 * Matching documents as their stored BSON, when the index answers the whole filter and gives the
 * order (no document is decoded: the reply carries the bytes as stored); null when it cannot.
 */
export function openRawCursor(collection: Collection | undefined, view: ReadView, filter: Doc, options: SelectOptions = {}): Iterator<Buffer> | null {
  if (!collection || view.txn || extractText(filter).text) return null;
  const plan = options.plan ?? planQuery(collection, filter, options.sort, view, options.hint);
  if (!plan.exact || (options.sort && !plan.sorted)) return null;
  const skip = options.skip ?? 0;
  const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
  const pushSkip = !plan.dedupe && plan.ranges.length === 1 && !plan.ids ? skip : 0;
  return (function* () {
    let skipped = pushSkip;
    let taken = 0;
    for (const candidate of candidates(collection, plan, view, pushSkip)) {
      const raw = loadRaw(collection, candidate, view, options.project);
      if (!raw) continue;
      if (skipped < skip) {
        skipped++;
        continue;
      }
      taken++;
      yield raw;
      if (taken >= limit) return;
    }
  })();
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

export interface Cursor {
  /** Matching documents, sorted, skipped and limited, produced as they are pulled. */
  docs: Iterator<Doc>;
  /** Text scores, when the filter had `$text`. */
  scores: Map<Doc, number> | null;
  plan: Plan | null;
}

function textMatches(collection: Collection, index: TextIndex, search: unknown, view: ReadView): { docs: Doc[]; scores: Map<Doc, number> } {
  const matcher = index.matcher(search);
  const scores = new Map<Doc, number>();
  const docs: Doc[] = [];
  if (matcher.empty) return { docs, scores };
  const overlay = view.txn?.overlay(collection);
  const byRecord = new Map<string, { idKey: Buffer; score: number }>();
  for (const term of matcher.terms) {
    for (const [idKey, score] of view.store.postings(index, term, view)) {
      const id = idKey.toString('latin1');
      if (overlay?.records.has(id)) continue;
      const found = byRecord.get(id);
      if (found) found.score += score;
      else byRecord.set(id, { idKey, score });
    }
  }
  for (const { idKey, score } of byRecord.values()) {
    const doc = view.store.getDoc(collection, idKey, view.snapshot);
    if (doc && matcher.accepts(doc)) {
      docs.push(doc);
      scores.set(doc, score);
    }
  }
  for (const { doc } of overlay?.records.values() ?? []) {
    if (!doc) continue;
    const score = matcher.scoreOf(doc);
    if (score > 0 && matcher.accepts(doc)) {
      docs.push(doc);
      scores.set(doc, score);
    }
  }
  return { docs, scores };
}

/** The plan `openCursor` and `openRawCursor` would make for a find (none for `$text`, or without the collection). */
export function findPlan(collection: Collection | undefined, view: ReadView, filter: Doc, options: SelectOptions = {}): Plan | undefined {
  const { rest, text } = extractText(filter);
  return collection && !text ? planQuery(collection, rest, options.sort, view, options.hint) : undefined;
}

/** Documents matching `filter` as `view` sees them, sorted, skipped and limited, pulled lazily. */
export function openCursor(collection: Collection | undefined, view: ReadView, filter: Doc, options: SelectOptions = {}): Cursor {
  const { rest, text } = extractText(filter);
  const skip = options.skip ?? 0;
  const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
  if (!collection) {
    compileFilter(rest);
    return { docs: [][Symbol.iterator](), scores: null, plan: null };
  }
  if (text) {
    const index = collection.textIndex;
    if (!index) throw new CommandError(27, 'IndexNotFound', 'text index required for $text query');
    const query = compileFilter(rest);
    const found = textMatches(collection, index, text.$search, view);
    let docs = found.docs.filter((doc) => test(query, doc));
    if (options.sort) docs = sortDocs(docs, options.sort, found.scores);
    return { docs: docs.slice(skip, skip + limit)[Symbol.iterator](), scores: found.scores, plan: null };
  }
  const plan = options.plan ?? planQuery(collection, rest, options.sort, view, options.hint);
  const overlay = view.txn?.overlay(collection);
  const query = plan.exact ? null : compileFilter(rest);
  const pushSkip = plan.sorted && plan.exact && !plan.dedupe && !overlay && plan.ranges.length === 1 && !plan.ids ? skip : 0;
  const stats = options.stats;
  const pausable = options.pausable === true;
  const matches = (function* () {
    for (const candidate of candidates(collection, plan, view, pushSkip, stats)) {
      const doc = load(collection, candidate, view);
      if (doc && stats) stats.docs++;
      if (doc && (!query || test(query, doc))) yield doc;
      else if (pausable && turnEnd !== Infinity && (++passed & 63) === 0 && performance.now() >= turnEnd) yield PAUSE;
    }
  })();
  if (options.sort && !plan.sorted) {
    const sorted = sortDocs([...matches], options.sort, null);
    return { docs: sorted.slice(skip, skip + limit)[Symbol.iterator](), scores: null, plan };
  }
  const docs = (function* () {
    let skipped = pushSkip;
    let taken = 0;
    // The limit is checked after each document, so no document beyond it is read.
    for (const doc of matches) {
      if (doc === PAUSE) {
        yield doc;
        continue;
      }
      if (skipped < skip) {
        skipped++;
        continue;
      }
      taken++;
      yield doc;
      if (taken >= limit) return;
    }
  })();
  return { docs, scores: null, plan };
}

/** When the running command's `maxTimeMS` runs out (Infinity: no limit), and how many documents it has tested. */
let deadline = Infinity;
let tested = 0;

/**
 * What a cursor's scan gives when its turn is up before it found the next document (only inside
 * `inTurn`): the cursor answers other clients' commands and then asks on, in the same snapshot.
 */
export const PAUSE: Doc = Object.freeze({});
/** When the running cursor's turn ends (Infinity: outside `Cursors`' turns), and how many documents its scan passed over. */
let turnEnd = Infinity;
let passed = 0;

/** Runs `run` as a turn of a cursor's batch ending at `until` (`performance.now()` time): a scan past it gives `PAUSE`. */
export function inTurn<T>(until: number, run: () => T): T {
  const previous = turnEnd;
  turnEnd = until;
  try {
    return run();
  } finally {
    turnEnd = previous;
  }
}

const timeLimitExceeded = () => new CommandError(50, 'MaxTimeMSExpired', 'operation exceeded time limit');

/**
 * Runs a command under its `maxTimeMS`, counted from `arrivedAt` (when the server read the request):
 * a command that waited behind others on its connection past its limit fails at once, and testing
 * documents against a filter after that time fails, with MaxTimeMSExpired (50) as in MongoDB
 * (checked every 64 documents). The limit covers what the command does at once (a find's first
 * batch, an aggregation, a count, a write's scan). Counted from the start of the command, eight
 * «contains» filters of one reader sent at once were all answered, the last after 93 s (s15 A3).
 */
export function withTimeLimit<T>(maxTimeMS: unknown, run: () => T, arrivedAt = Date.now()): T {
  if (typeof maxTimeMS !== 'number' || !(maxTimeMS > 0)) return run();
  if (Date.now() > arrivedAt + maxTimeMS) throw timeLimitExceeded();
  const previous = deadline;
  deadline = arrivedAt + maxTimeMS;
  try {
    return run();
  } finally {
    deadline = previous;
  }
}

function test(query: Matcher, doc: Doc): boolean {
  if (deadline !== Infinity && (++tested & 63) === 0 && Date.now() > deadline) throw timeLimitExceeded();
  try {
    return query.test(doc);
  } catch (error) {
    throw asCommandError(error);
  }
}

/** All matching documents at once (writes, aggregation, distinct). */
export function selectDocs(collection: Collection | undefined, view: ReadView, filter: Doc, options: SelectOptions = {}): { docs: Doc[]; scores: Map<Doc, number> | null } {
  const cursor = openCursor(collection, view, filter, options);
  const docs: Doc[] = [];
  for (let next = cursor.docs.next(); !next.done; next = cursor.docs.next()) docs.push(next.value);
  return { docs, scores: cursor.scores };
}

/** Keys in a range as `view` sees committed state: a range that can hold one entry only is looked up. */
function keysIn(db: Database<Buffer, Buffer>, range: KeyRange, view: ReadView): number {
  if (range.entry) return view.store.storage.bytes(db, range.entry, view.snapshot) === undefined ? 0 : 1;
  if (!range.skip) return db.getKeysCount({ start: range.start, end: range.end, transaction: view.snapshot });
  let n = 0;
  for (const _entry of rangeKeys(db, range, view)) n++;
  return n;
}

/**
 * Where a key stands against a skip's listed values: null when its component after the range's
 * field is one of them; else where the range field's component ends (`end`) and the first listed
 * value above the key's (`next`, the list's length when none is). `tupleEnd`: where the key's
 * values end (its record id follows). Nothing is allocated: most keys of a scan are read past.
 */
function skipPast(key: Buffer, tupleEnd: number, skip: Skip): { end: number; next: number } | null {
  // A value cut for length ends at its cut marker; the next field's component follows it.
  const end = Math.abs(componentEnd(key, skip.from, skip.direction));
  const { to } = skip;
  const versus = (listed: Buffer) => listed.compare(key, end, Math.min(end + listed.length, tupleEnd));
  let lo = 0;
  let hi = to.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (versus(to[mid]!) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < to.length && versus(to[lo]!) === 0 ? null : { end, next: lo };
}

/** The key a skip scan seeks to from a key read past: the same value of the range's field with the next listed value, or past that value. */
function seekFrom(key: Buffer, { end, next }: { end: number; next: number }, skip: Skip): Buffer {
  const value = key.subarray(0, end);
  return next < skip.to.length ? Buffer.concat([value, skip.to[next]!]) : prefixEnd(value);
}

/**
 * Keys a skip scan reads past (unlisted) before it seeks: a seek opens a cursor, about ten times a
 * key's read, and a prefix's words are often many with few keys each (`/^200/`: 200, 2000–2009,
 * …, a handful of cards each), where reading on costs less than a seek per word.
 */
const READ_PAST = 16;

/**
 * The committed entries of a range (its record ids the values), as `view` sees them, after
 * `offset` of them, at most `limit`: a skip range's listed keys only, reading past up to READ_PAST
 * others in a row, then seeking.
 */
function* rangeKeys(db: Database<Buffer, Buffer>, range: KeyRange, view: ReadView, limit = Infinity, offset = 0): Generator<{ key: Buffer; value: Buffer }> {
  const { skip } = range;
  if (!skip) {
    yield* db.getRange({ start: range.start, end: range.end, offset, limit: Number.isFinite(limit) ? limit : undefined, transaction: view.snapshot });
    return;
  }
  let taken = 0;
  let skipped = 0;
  let start = range.start;
  for (;;) {
    let seek: Buffer | null = null;
    let passed = 0;
    for (const entry of db.getRange({ start, end: range.end, transaction: view.snapshot })) {
      const past = skipPast(entry.key, entry.key.length - entry.value.length, skip);
      if (past) {
        if (++passed < READ_PAST) continue;
        seek = seekFrom(entry.key, past, skip);
        break;
      }
      passed = 0;
      if (skipped < offset) skipped++;
      else {
        yield entry;
        if (++taken >= limit) return;
      }
    }
    if (!seek || Buffer.compare(seek, range.end) >= 0) return;
    start = seek;
  }
}

/** How many documents match; from key ranges alone when the index answers the whole filter. */
export function countDocs(collection: Collection | undefined, view: ReadView, filter: Doc, options: SelectOptions = {}): number {
  const skip = options.skip ?? 0;
  const limit = options.limit ?? 0;
  const clamp = (total: number) => {
    const after = Math.max(0, total - skip);
    return limit > 0 ? Math.min(limit, after) : after;
  };
  if (!collection) {
    compileFilter(filter);
    return 0;
  }
  const overlay = view.txn?.overlay(collection);
  const ownWrites = overlay !== undefined && overlay.records.size > 0;
  if (Object.keys(filter).length === 0 && options.hint === undefined && !ownWrites && !view.snapshot) return clamp(collection.count);
  if (!extractText(filter).text && !ownWrites) {
    const plan = planQuery(collection, filter, undefined, view, options.hint);
    // An exact plan recognised every clause of the filter: nothing is left to compile (or to refuse).
    if (plan.exact && !plan.dedupe && !plan.ids) {
      const db = plan.index === 'primary' || plan.index === undefined ? view.store.storage.docs : view.store.storage.index;
      let total = 0;
      for (const range of plan.ranges) total += keysIn(db, range, view);
      if (options.stats) options.stats.keys += total;
      return clamp(total);
    }
    // A multikey index may hold several keys of one document: its distinct records are counted, from the keys alone.
    if (plan.exact && plan.dedupe && !plan.ids && plan.index instanceof BTreeIndex) {
      const enough = limit > 0 ? skip + limit : Infinity;
      const seen = new Set<string>();
      let keys = 0;
      // The entries' values are their records' keys; nothing else is decoded or copied.
      for (const range of plan.ranges) {
        for (const { value } of rangeKeys(view.store.storage.index, range, view)) {
          keys++;
          seen.add(value.toString('latin1'));
          if (seen.size >= enough) break;
        }
        if (seen.size >= enough) break;
      }
      if (options.stats) options.stats.keys += keys;
      return clamp(seen.size);
    }
    // Else the documents are read, on the plan just made.
    options = { ...options, plan };
  }
  const cursor = openCursor(collection, view, filter, options);
  let n = 0;
  for (let next = cursor.docs.next(); !next.done; next = cursor.docs.next()) n++;
  return n;
}

/** A value whose index key gives it back as stored: equal keys, equal value of the same type (so not numbers, whose types an index key merges). */
function keyedAsStored(value: unknown): boolean {
  return typeof value !== 'number' && !['Int32', 'Long', 'Double'].includes(bsonType(value) ?? '') && exactValue(value);
}

/**
 * How many documents match per value of `field` (`$group` by `$field` summing 1), from key ranges
 * alone: when the index answers the whole filter and every range pins the field to one value (an
 * equality in each `$or` branch), no document is read. Null when the documents must be read.
 */
export function countGroups(collection: Collection | undefined, view: ReadView, filter: Doc, field: string, options: SelectOptions = {}): { value: unknown; n: number }[] | null {
  if (!collection) {
    compileFilter(filter);
    return [];
  }
  const overlay = view.txn?.overlay(collection);
  if ((overlay && overlay.records.size > 0) || extractText(filter).text) return null;
  const plan = planQuery(collection, filter, undefined, view, options.hint);
  const index = plan.index;
  if (!plan.exact || plan.dedupe || plan.ids || !(index instanceof BTreeIndex)) return null;
  const position = index.fields.indexOf(field);
  if (position < 0 || !plan.ranges.every((range) => range.tuple && position < range.tuple.length && keyedAsStored(range.tuple[position]))) return null;
  const groups = new Map<string, { value: unknown; n: number }>();
  for (const range of plan.ranges) {
    const n = keysIn(view.store.storage.index, range, view);
    if (options.stats) options.stats.keys += n;
    if (n === 0) continue;
    const value = range.tuple![position];
    const key = keyString(value);
    const group = groups.get(key);
    if (group) group.n += n;
    else groups.set(key, { value, n });
  }
  return [...groups.values()];
}

/**
 * The plan a find would use, for `explain`, and the plans the planner compared it with;
 * `counted` names the count or group stage a count answered from the index keys alone puts over
 * the scan (no FETCH).
 */
export function explainFind(
  collection: Collection | undefined,
  view: ReadView,
  filter: Doc,
  sort: SortSpec | undefined,
  hint?: unknown,
  counted?: 'COUNT' | 'GROUP',
): { winningPlan: Doc; rejectedPlans: Doc[] } {
  const { rest, text } = extractText(filter);
  if (text) return { winningPlan: { stage: 'TEXT_MATCH', inputStage: { stage: 'TEXT' } }, rejectedPlans: [] };
  if (!collection) return { winningPlan: { stage: 'EOF' }, rejectedPlans: [] };
  const plan = planQuery(collection, rest, sort, view, hint);
  return { winningPlan: describePlan(plan, rest, sort, counted), rejectedPlans: (plan.rejected ?? []).map((other) => describePlan(other, rest, sort, counted)) };
}

/** A plan as explain shows it: its stages, innermost the scan. */
function describePlan(plan: Plan, filter: Doc, sort: SortSpec | undefined, counted?: 'COUNT' | 'GROUP'): Doc {
  const indexName = plan.index === 'primary' ? '_id_' : plan.index?.name;
  const keyPattern = plan.index === 'primary' ? { _id: 1 } : plan.index?.spec.key;
  let scan: Doc;
  if (plan.stage === 'EOF') return { stage: 'EOF' };
  if (plan.stage === 'IDHACK') scan = { stage: 'IDHACK', indexName, keyPattern, points: plan.ids!.length };
  else if (plan.stage === 'COLLSCAN') scan = { stage: 'COLLSCAN', direction: plan.reverse ? 'backward' : 'forward' };
  else
    scan = {
      stage: 'IXSCAN',
      indexName,
      keyPattern,
      direction: plan.reverse ? 'backward' : 'forward',
      isMultiKey: plan.dedupe,
      keyRanges: plan.ranges.length,
      ...(plan.merge ? { merged: true } : {}),
    };
  if (plan.merge) scan = { stage: 'SORT_MERGE', inputStage: scan };
  if (plan.union) scan = { stage: 'OR', branches: plan.union, inputStage: scan };
  if (counted) return { stage: counted, inputStage: scan };
  const fetched: Doc = plan.stage === 'COLLSCAN' ? scan : { stage: 'FETCH', ...(plan.exact ? {} : { filter }), inputStage: scan };
  return plan.sorted || !sort ? fetched : { stage: 'SORT', sortPattern: sort, inputStage: fetched };
}

const included = (value: unknown) => value === 1 || value === true;

/**
 * The fields an inclusion projection of top-level fields keeps (`{ title: 1, folderId: 1 }`, with or
 * without `_id: 0`), `_id` first unless excluded; null for any other projection (mingo applies those).
 */
function topLevelInclusion(projection: Doc): { keep: Set<string>; id: boolean } | null {
  const keep = new Set<string>();
  let id = true;
  for (const [field, value] of Object.entries(projection)) {
    if (field === '_id') {
      if (value === 0 || value === false) id = false;
      else if (!included(value)) return null;
    } else if (included(value) && !field.includes('.') && !field.startsWith('$')) keep.add(field);
    else return null;
  }
  return keep.size > 0 ? { keep, id } : null;
}

/** A document with only the kept fields, in the document's order after `_id`. */
function pickFields(doc: Doc, { keep, id }: { keep: Set<string>; id: boolean }): Doc {
  const picked: Doc = {};
  if (id && doc._id !== undefined) picked._id = doc._id;
  for (const field of Object.keys(doc)) if (keep.has(field)) picked[field] = doc[field];
  return picked;
}

/** The filter's conditions on `path` or below it (top level and in `$and`), as one filter. */
function conditionsOn(filter: Doc, path: string): Doc {
  const found: Doc[] = [];
  const visit = (clause: Doc) => {
    for (const [field, condition] of Object.entries(clause)) {
      if (field === '$and' && Array.isArray(condition)) for (const part of condition) if (isPlainObject(part)) visit(part);
      if (field === path || field.startsWith(`${path}.`)) found.push({ [field]: condition });
    }
  };
  visit(filter);
  return found.length === 1 ? found[0]! : { $and: found };
}

/**
 * The positional projection `{'a.$': 1}`: the field keeps only the first element of its array
 * that the filter's conditions on it match (as MongoDB's find does); null when the projection has none.
 */
function positionalProjection(plain: Doc, filter: Doc | undefined): { path: string; select: (doc: Doc) => unknown[] | undefined } | null {
  const key = Object.keys(plain).find((field) => field.endsWith('.$'));
  if (!key) return null;
  const path = key.slice(0, -2);
  const conditions = conditionsOn(filter ?? {}, path);
  if (!Object.keys(conditions).length || (Array.isArray(conditions.$and) && conditions.$and.length === 0)) {
    throw new CommandError(2, 'BadValue', `Executor error during find command :: caused by :: positional operator '${key}' couldn't find a matching element in the array`);
  }
  const query = new Query(conditions, MINGO_OPTIONS);
  const parts = path.split('.');
  const holding = (element: unknown): Doc => parts.reduceRight<unknown>((inner, part) => ({ [part]: inner }), [element]) as Doc;
  return {
    path,
    select: (doc) => {
      const list = parts.reduce<unknown>((node, part) => (isPlainObject(node) ? node[part] : undefined), doc);
      if (!Array.isArray(list)) return undefined;
      const match = list.find((element) => query.test(holding(element)));
      return match === undefined ? undefined : [match];
    },
  };
}

/** Applies a find projection; `{ $meta: "textScore" }` fields are filled from the text scores, `'a.$'` from the filter's match. */
export function projectDocs(docs: Doc[], projection: Doc | undefined, scores: Map<Doc, number> | null, filter?: Doc): Doc[] {
  if (!projection || Object.keys(projection).length === 0) return docs;
  const metaFields: string[] = [];
  let plain: Doc = {};
  for (const [field, value] of Object.entries(projection)) {
    if (isPlainObject(value) && value.$meta === 'textScore') metaFields.push(field);
    else plain[field] = value;
  }
  const positional = positionalProjection(plain, filter);
  if (positional) plain = Object.fromEntries(Object.entries(plain).map(([field, value]) => (field === `${positional.path}.$` ? [positional.path, value] : [field, value])));
  let projected: Doc[];
  try {
    const fields = topLevelInclusion(plain);
    if (fields) projected = docs.map((doc) => pickFields(doc, fields));
    else projected = Object.keys(plain).length > 0 ? (new Query({}, MINGO_OPTIONS).find(docs, plain).all() as Doc[]) : docs.map((doc) => ({ ...doc }));
  } catch (error) {
    throw asCommandError(error);
  }
  if (positional) {
    projected.forEach((doc, i) => {
      const parts = positional.path.split('.');
      const parent = parts.slice(0, -1).reduce<unknown>((node, part) => (isPlainObject(node) ? node[part] : undefined), doc);
      if (!isPlainObject(parent)) return;
      const selected = positional.select(docs[i]!);
      if (selected) parent[parts[parts.length - 1]!] = selected;
      else delete parent[parts[parts.length - 1]!];
    });
  }
  if (metaFields.length > 0) {
    projected.forEach((doc, i) => {
      for (const field of metaFields) doc[field] = scores?.get(docs[i]!) ?? 0;
    });
  }
  return projected;
}
