/**
 * The query operators whose answer depends on comparing values — `$eq`, `$ne`, `$gt`, `$gte`,
 * `$lt`, `$lte`, `$in`, `$nin`, `$all`, `$elemMatch`, `$regex` and `$type` — with MongoDB's semantics, replacing
 * mingo's (which compares with JavaScript: strings by UTF-16 units, numbers as doubles, embedded
 * documents in any field order, and flattens nested arrays). Values compare by `compareValues`,
 * the order the index keys are encoded in, so a filter gives the same documents whether the
 * planner reads an index or scans the collection.
 *
 * A path is followed as MongoDB does: through arrays of embedded documents (an element without
 * the field counts as missing; other elements are skipped), an array at the end tested as a whole
 * and element by element (one level: an element that is itself an array only as a whole), and a
 * path that finds nothing tested as missing.
 */
import { Query } from 'mingo/query';
import type { Any, Options } from 'mingo/types';
import { compareValues, typeRank } from './bson-order';
import { CommandError } from './errors';
import { compileRegex, optionsOfDecoded } from './regex';
import { isNaNNumber, writesAsInt32 } from './numbers';

type Test = (value: unknown) => boolean;
type Predicate = (doc: unknown) => boolean;

const MATCH = 2;
const FOUND = 1;
const NONE = 0;

function isDocument(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** An array index in a path (`a.0.b`). */
function indexOf(part: string): number {
  if (part.length === 0 || part.length > 9) return -1;
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(part);
}

/** Values at `parts[at…]` below `current`: MATCH when one passes `test`, FOUND when some were tested, NONE when none were. */
function visit(current: unknown, parts: readonly string[], at: number, test: Test, expand: boolean): number {
  if (at === parts.length) {
    if (test(current)) return MATCH;
    if (expand && Array.isArray(current)) for (let i = 0; i < current.length; i++) if (test(current[i])) return MATCH;
    return FOUND;
  }
  if (Array.isArray(current)) {
    let found = NONE;
    const index = indexOf(parts[at]!);
    if (index >= 0 && index < current.length) {
      const result = visit(current[index], parts, at + 1, test, expand);
      if (result === MATCH) return MATCH;
      found = result;
    }
    for (let i = 0; i < current.length; i++) {
      const item = current[i];
      if (!isDocument(item)) continue;
      const result = visit(item, parts, at, test, expand);
      if (result === MATCH) return MATCH;
      if (result === FOUND) found = FOUND;
    }
    return found;
  }
  if (!isDocument(current)) return NONE;
  const next = current[parts[at]!];
  if (next === undefined) return test(undefined) ? MATCH : FOUND;
  return visit(next, parts, at + 1, test, expand);
}

/** Whether any value at the path passes `test` (the whole doc's path as MongoDB's leaf operators see it). */
function atPath(selector: string, test: Test, expand = true): Predicate {
  const parts = selector.split('.');
  if (parts.length === 1) {
    // The common case, a top-level field, without the walk.
    return (doc) => {
      const value = isDocument(doc) ? doc[selector] : undefined;
      if (test(value)) return true;
      if (expand && Array.isArray(value)) for (let i = 0; i < value.length; i++) if (test(value[i])) return true;
      return false;
    };
  }
  return (doc) => {
    const result = visit(doc, parts, 0, test, expand);
    return result === MATCH || (result === NONE && test(undefined));
  };
}

// ---------- one value against an operand ----------

const isRegex = (value: unknown): value is RegExp => value instanceof RegExp;

function equalsTest(operand: unknown): Test {
  if (operand === null || operand === undefined) return (value) => value === null || value === undefined;
  return (value) => value !== undefined && compareValues(value, operand) === 0;
}

type RangeOp = '$gt' | '$gte' | '$lt' | '$lte';

/**
 * MongoDB's comparison operators: only values of the operand's type bracket compare (MinKey and
 * MaxKey against everything), a missing field as null, and NaN equal to NaN but outside every
 * other range.
 */
function rangeTest(op: RangeOp, operand: unknown): Test {
  const inclusive = op === '$gte' || op === '$lte';
  const above = op === '$gt' || op === '$gte';
  const rank = typeRank(operand);
  const operandNaN = rank === 3 && isNaNNumber(operand);
  return (value) => {
    const valueRank = typeRank(value);
    if (valueRank !== rank) return rank === 1 ? above : rank === 13 ? !above : false;
    if (rank === 3 && (operandNaN || isNaNNumber(value))) return inclusive && operandNaN && isNaNNumber(value);
    const c = compareValues(value, operand);
    return c === 0 ? inclusive : above === c > 0;
  };
}

/** `$in`: equal to one of the values, or a string a regex of the list matches. */
function inTest(list: unknown): Test {
  if (!Array.isArray(list)) throw new CommandError(2, 'BadValue', '$in needs an array');
  const patterns = list.filter(isRegex).map((regex) => ({ test: compileRegex(regex.source, optionsOfDecoded(regex)), text: String(regex) }));
  const values = list.filter((item) => !isRegex(item));
  const nullable = values.some((item) => item === null);
  const tests = values.map(equalsTest);
  return (value) => {
    if (value === undefined) return nullable;
    for (let i = 0; i < tests.length; i++) if (tests[i]!(value)) return true;
    if (typeof value === 'string') for (let i = 0; i < patterns.length; i++) if (patterns[i]!.test(value)) return true;
    if (isRegex(value)) for (let i = 0; i < patterns.length; i++) if (patterns[i]!.text === String(value)) return true;
    return false;
  };
}

/**
 * How a stored regex with this pattern and these options reads once decoded (the BSON decoder makes
 * a JavaScript RegExp of it, option `s` as the flag `g`); null when JavaScript cannot compile it.
 */
function storedRegexText(source: string, options: string): string | null {
  const flags = [...new Set(options.replace('s', 'g'))].filter((flag) => 'gim'.includes(flag)).join('');
  try {
    return String(new RegExp(source, flags));
  } catch {
    return null;
  }
}

/**
 * `$regex`: a string it matches (PCRE syntax, in linear time: `regex.ts`), or a stored regex with
 * the same pattern and options. `$options` adds to the options of a regex operand.
 */
function regexTest(operand: unknown, options?: unknown): Test {
  if (options !== undefined && typeof options !== 'string') throw new CommandError(2, 'BadValue', '$options has to be a string');
  const source = isRegex(operand) ? operand.source : String(operand);
  const letters = `${isRegex(operand) ? optionsOfDecoded(operand) : ''}${options ?? ''}`;
  const test = compileRegex(source, letters);
  const text = storedRegexText(source, letters);
  return (value) => (typeof value === 'string' ? test(value) : isRegex(value) && String(value) === text);
}

// ---------- $type ----------

const TYPE_ALIASES: Record<string, number> = {
  double: 1,
  string: 2,
  object: 3,
  array: 4,
  binData: 5,
  undefined: 6,
  objectId: 7,
  bool: 8,
  date: 9,
  null: 10,
  regex: 11,
  dbPointer: 12,
  javascript: 13,
  symbol: 14,
  javascriptWithScope: 15,
  int: 16,
  timestamp: 17,
  long: 18,
  decimal: 19,
  minKey: -1,
  maxKey: 127,
};
const NUMBER = 0;
const KNOWN_CODES = new Set(Object.values(TYPE_ALIASES));

/** A stored value's BSON type number (JS numbers as the serializer writes them: int32 when whole and in range). */
export function bsonTypeCode(value: unknown): number {
  switch (typeof value) {
    case 'number':
      return writesAsInt32(value) ? 16 : 1;
    case 'bigint':
      return 18;
    case 'string':
      return 2;
    case 'boolean':
      return 8;
    case 'undefined':
      return 6;
    case 'function':
      return 13;
    default:
      break;
  }
  if (value === null) return 10;
  if (Array.isArray(value)) return 4;
  if (value instanceof Date) return 9;
  if (value instanceof RegExp) return 11;
  switch ((value as { _bsontype?: string })._bsontype) {
    case 'Double':
      return 1;
    case 'Int32':
      return 16;
    case 'Long':
      return 18;
    case 'Decimal128':
      return 19;
    case 'ObjectId':
      return 7;
    case 'Binary':
      return 5;
    case 'Timestamp':
      return 17;
    case 'BSONRegExp':
      return 11;
    case 'BSONSymbol':
      return 14;
    case 'Code':
      return (value as { scope?: unknown }).scope ? 15 : 13;
    case 'MinKey':
      return -1;
    case 'MaxKey':
      return 127;
    default:
      return 3;
  }
}

function typeCodeOf(spec: unknown): number {
  if (spec === 'number') return NUMBER;
  if (typeof spec === 'string') {
    const code = TYPE_ALIASES[spec];
    if (code === undefined) throw new CommandError(2, 'BadValue', `Unknown type name alias: ${spec}`);
    return code;
  }
  const code = typeof spec === 'number' ? spec : Number((spec as { valueOf(): unknown } | null)?.valueOf());
  if (!Number.isInteger(code) || !KNOWN_CODES.has(code)) throw new CommandError(2, 'BadValue', `Invalid numerical type code: ${String(spec)}`);
  return code;
}

function typeTest(spec: unknown): Test {
  const codes = (Array.isArray(spec) ? spec : [spec]).map(typeCodeOf);
  return (value) => {
    if (value === undefined) return false;
    const code = bsonTypeCode(value);
    for (let i = 0; i < codes.length; i++) {
      const wanted = codes[i]!;
      if (wanted === code || (wanted === NUMBER && (code === 1 || code === 16 || code === 18 || code === 19))) return true;
    }
    return false;
  };
}

// ---------- $elemMatch ----------

/** A test of one value, without expanding arrays, for `$elemMatch`'s operator form; null when mingo must do it. */
function singleValueTest(op: string, operand: unknown): Test | null {
  switch (op) {
    case '$eq':
      return equalsTest(operand);
    case '$ne': {
      const equal = equalsTest(operand);
      return (value) => !equal(value);
    }
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      return rangeTest(op, operand);
    case '$in':
      return inTest(operand);
    case '$nin': {
      const inList = inTest(operand);
      return (value) => !inList(value);
    }
    case '$type':
      return typeTest(operand);
    default:
      return null;
  }
}

/**
 * `$elemMatch`: an array (at the end of the path, not its elements) with one element meeting every
 * condition — with operators only, each applied to the element itself (`{ $gte: 1 }` is not met by
 * an element `[1]`); with fields, an embedded document the query matches.
 */
function elemMatchTest(criteria: unknown, options: Options): Test {
  if (!isDocument(criteria)) throw new CommandError(2, 'BadValue', '$elemMatch needs an Object');
  const keys = Object.keys(criteria);
  const operatorForm = keys.length > 0 && keys.every((key) => key.startsWith('$') && key !== '$and' && key !== '$or' && key !== '$nor');
  let element: Test;
  if (operatorForm) {
    const tests = keys.flatMap((op) => {
      if (op === '$options') return [];
      const single = op === '$regex' ? regexTest(criteria.$regex, criteria.$options) : singleValueTest(op, criteria[op]);
      if (single) return single;
      const query = new Query({ value: { [op]: criteria[op] } }, options);
      return (value: unknown) => query.test({ value });
    });
    element = (value) => value !== undefined && tests.every((test) => test(value));
  } else {
    const query = new Query(criteria, options);
    element = (value) => value !== null && typeof value === 'object' && !(value instanceof Date) && query.test(value as Record<string, unknown>);
  }
  return (value) => Array.isArray(value) && value.some(element);
}

// ---------- $regex before mingo ----------

/**
 * The operator a condition's `$regex` (with its `$options`) becomes before mingo reads the filter:
 * mingo compiles `{$regex, $options}` as JavaScript's RegExp itself, which fails on PCRE syntax
 * and backtracks without bound; this one compiles it with `regex.ts`.
 */
const SERVER_REGEX = '$__kartotekaRegex';

function conditionWithServerRegex(condition: Record<string, unknown>): Record<string, unknown> {
  let result = condition;
  if ('$regex' in condition) {
    const { $regex, $options, ...rest } = condition;
    result = { ...rest, [SERVER_REGEX]: { $regex, $options } };
  }
  if (isDocument(result.$not)) result = { ...result, $not: conditionWithServerRegex(result.$not) };
  return result;
}

/** `filter` with every field's `$regex` condition (also under `$not`, `$and`, `$or`, `$nor`) as the server's own operator. */
export function withServerRegexes(filter: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(filter)) {
    if ((key === '$and' || key === '$or' || key === '$nor') && Array.isArray(value)) result[key] = value.map((branch) => (isDocument(branch) ? withServerRegexes(branch) : branch));
    else if (!key.startsWith('$') && isDocument(value)) result[key] = conditionWithServerRegex(value);
    else result[key] = value;
  }
  return result;
}

// ---------- the operators, as mingo calls them ----------

type QueryOperator = (selector: string, value: Any, options: Options) => (doc: Any) => boolean;

const leaf =
  (make: (operand: unknown, options: Options) => Test, negate = false, expand = true): QueryOperator =>
  (selector, value, options) => {
    const test = atPath(selector, make(value, options), expand);
    return negate ? (doc) => !test(doc) : test;
  };

/**
 * `$all`: every item met — a value by equality (a nested array as a whole, `[[1, 2]]` meaning the
 * array `[1, 2]`), a regex by `$regex`, `{ $elemMatch: … }` as that operator; an empty list by nothing.
 */
const $all: QueryOperator = (selector, value, options) => {
  if (!Array.isArray(value)) throw new CommandError(2, 'BadValue', '$all needs an array');
  if (value.length === 0) return () => false;
  const tests = value.map((item) => {
    if (isDocument(item) && '$elemMatch' in item) return atPath(selector, elemMatchTest(item.$elemMatch, options), false);
    return atPath(selector, isRegex(item) ? regexTest(item) : equalsTest(item));
  });
  return (doc) => tests.every((test) => test(doc));
};

export const MATCH_OPERATORS: Record<string, QueryOperator> = {
  $eq: leaf(equalsTest),
  $ne: leaf(equalsTest, true),
  $gt: leaf((operand) => rangeTest('$gt', operand)),
  $gte: leaf((operand) => rangeTest('$gte', operand)),
  $lt: leaf((operand) => rangeTest('$lt', operand)),
  $lte: leaf((operand) => rangeTest('$lte', operand)),
  $in: leaf(inTest),
  $nin: leaf(inTest, true),
  $type: leaf(typeTest),
  $elemMatch: leaf(elemMatchTest, false, false),
  $all,
  $regex: leaf((operand) => regexTest(operand)),
  [SERVER_REGEX]: leaf((operand) => regexTest((operand as { $regex: unknown }).$regex, (operand as { $options?: unknown }).$options)),
};
