/**
 * MongoDB 7's conversions to and from ObjectIds (and of decimals to strings), which mingo (knowing no BSON types) lacks:
 * `$toString` and `$convert` of an ObjectId give its hex string, `$toObjectId` and `$convert` to
 * `objectId` parse one; comparing expressions, `$sort` and `$bucket` stages in the server's order of
 * values (mingo's own compares with JavaScript; its `$bucket` put a value equal to a boundary in the
 * bucket below). Every mingo query and aggregation of the server runs with them.
 */
import { ObjectId } from 'bson';
import { Context, evalExpr } from 'mingo/core';
import { Lazy, type Iterator } from 'mingo/lazy';
import { $convert as mingoConvert, $toString as mingoToString } from 'mingo/operators/expression/type';
import * as pipeline from 'mingo/operators/pipeline';
import * as projection from 'mingo/operators/projection';
import * as query from 'mingo/operators/query';
import * as window from 'mingo/operators/window';
import type { Any, AnyObject, Options } from 'mingo/types';
import { CommandError } from './errors';
import { compareValues } from './bson-order';
import { MATCH_OPERATORS } from './match';
import { promoteNumbers } from './typed-numbers';
import { accumulatorOperators, expressionOperators, $group, numberConvert } from './expressions';
import { direction, sortDocs, type SortSpec } from './sort';

const isObjectId = (value: unknown): value is ObjectId => (value as { _bsontype?: string } | null)?._bsontype === 'ObjectId';

function conversionFailure(value: unknown, detail: string): CommandError {
  return new CommandError(241, 'ConversionFailure', `Failed to parse objectId '${String(value)}' in $convert with no onError value: ${detail}`);
}

function parseObjectId(value: unknown): ObjectId | null {
  if (value === null || value === undefined) return null;
  if (isObjectId(value)) return value;
  if (typeof value !== 'string') throw new CommandError(241, 'ConversionFailure', `Unsupported conversion from ${typeof value} to objectId in $convert with no onError value`);
  if (value.length !== 24) throw conversionFailure(value, `Invalid string length for parsing to OID, expected 24 but found ${value.length}`);
  if (!/^[0-9a-fA-F]{24}$/.test(value)) throw conversionFailure(value, 'Invalid character found in hex string');
  return new ObjectId(value);
}

function $toString(obj: AnyObject, expr: Any, options: Options): Any {
  const value = evalExpr(obj, expr, options);
  if (isObjectId(value)) return value.toHexString();
  if ((value as { _bsontype?: string } | null)?._bsontype === 'Decimal128') return String(value);
  return mingoToString(obj, { $literal: promoteNumbers(value) }, options);
}

function $toObjectId(obj: AnyObject, expr: Any, options: Options): Any {
  return parseObjectId(evalExpr(obj, expr, options));
}

function $convert(obj: AnyObject, expr: Any, options: Options): Any {
  const spec = (expr ?? {}) as { input?: Any; to?: Any; onError?: Any; onNull?: Any };
  const to = evalExpr(obj, spec.to, options);
  const input = evalExpr(obj, spec.input, options);
  const converted = to === 'objectId' || to === 7 ? () => parseObjectId(input) : (to === 'string' || to === 2) && isObjectId(input) ? () => input.toHexString() : null;
  if (!converted) return mingoConvert(obj, { ...spec, input: { $literal: promoteNumbers(input) } } as Parameters<typeof mingoConvert>[1], options);
  if (input === null || input === undefined) return spec.onNull === undefined ? null : evalExpr(obj, spec.onNull, options);
  try {
    return converted();
  } catch (error) {
    if (spec.onError === undefined) throw error;
    return evalExpr(obj, spec.onError, options);
  }
}

/**
 * Aggregation's order of two values: `compareValues` (the order of index keys and query
 * operators), with a missing field below null and above MinKey (not equal to null, as in a filter).
 */
function compareExpressionValues(a: unknown, b: unknown): number {
  if (a !== undefined && b !== undefined) return compareValues(a, b);
  if (a === b) return 0;
  const other = a === undefined ? b : a;
  const missingAbove = (other as { _bsontype?: string } | null)?._bsontype === 'MinKey';
  return (a === undefined) === missingAbove ? 1 : -1;
}

/** An expression comparing its two arguments (`$eq`, `$gt`, … inside `$expr`, `$project`, …) in MongoDB's order. */
function comparison(name: string, test: (order: number) => boolean) {
  return (obj: AnyObject, expr: Any, options: Options): boolean => {
    const args = evalExpr(obj, expr, options);
    if (!Array.isArray(args) || args.length !== 2)
      throw new CommandError(16020, 'Location16020', `Expression ${name} takes exactly 2 arguments. ${Array.isArray(args) ? args.length : 1} were passed in.`);
    return test(compareExpressionValues(args[0], args[1]));
  };
}

function $cmp(obj: AnyObject, expr: Any, options: Options): number {
  const args = evalExpr(obj, expr, options);
  if (!Array.isArray(args) || args.length !== 2)
    throw new CommandError(16020, 'Location16020', `Expression $cmp takes exactly 2 arguments. ${Array.isArray(args) ? args.length : 1} were passed in.`);
  return Math.sign(compareExpressionValues(args[0], args[1]));
}

const COMPARISON_EXPRESSIONS = {
  $eq: comparison('$eq', (order) => order === 0),
  $ne: comparison('$ne', (order) => order !== 0),
  $gt: comparison('$gt', (order) => order > 0),
  $gte: comparison('$gte', (order) => order >= 0),
  $lt: comparison('$lt', (order) => order < 0),
  $lte: comparison('$lte', (order) => order <= 0),
  $cmp,
};

/** `$sort` anywhere in a pipeline, in MongoDB's order (`sort.ts`: the planner's own). */
function $sort(collection: Iterator, spec: Any, _options: Options): Iterator {
  const sort = spec as SortSpec;
  if (typeof sort !== 'object' || sort === null || Object.keys(sort).length === 0 || !Object.values(sort).every((value) => direction(value) !== null)) {
    throw new CommandError(15976, 'Location15976', '$sort stage must have at least one sort key, each 1 (for ascending) or -1 (for descending)');
  }
  return collection.transform((docs) => Lazy(sortDocs(docs as AnyObject[], sort, null)));
}

/** `$where`, `$function`, `$accumulator`: the server runs no JavaScript from requests (a clear refusal, not mingo's error). */
function refuseJavaScript(name: string) {
  return (): never => {
    throw new CommandError(2, 'BadValue', `${name} is not supported: Kartoteka's built-in database runs no JavaScript from requests`);
  };
}

/**
 * `$bucket` as MongoDB defines it: a `$group` by a `$switch` of the boundaries (lower bound
 * inclusive, upper exclusive, compared in the server's order) and a `$sort` by `_id`.
 */
function $bucket(collection: Iterator, spec: Any, options: Options): Iterator {
  const { groupBy, boundaries, default: other, output } = (spec ?? {}) as { groupBy?: Any; boundaries?: unknown[]; default?: unknown; output?: AnyObject };
  if (!Array.isArray(boundaries) || boundaries.length < 2) {
    throw new CommandError(40192, 'Location40192', "The $bucket 'boundaries' field must have at least 2 values");
  }
  for (let i = 1; i < boundaries.length; i++) {
    if (compareValues(boundaries[i - 1], boundaries[i]) >= 0)
      throw new CommandError(40194, 'Location40194', "The 'boundaries' option to $bucket must be sorted in ascending order");
  }
  const branches = boundaries.slice(0, -1).map((low, i) => ({
    case: { $and: [{ $gte: [groupBy, { $literal: low }] }, { $lt: [groupBy, { $literal: boundaries[i + 1] }] }] },
    then: { $literal: low },
  }));
  const id = { $switch: other === undefined ? { branches } : { branches, default: { $literal: other } } };
  return $sort($group(collection, { _id: id, ...(output ?? { count: { $sum: 1 } }) }, options), { _id: 1 }, options);
}

/**
 * Options for every mingo Query and Aggregator of the server (built from mingo's base classes:
 * its default ones put their own operators first), with the comparing query operators of `match.ts`.
 */
export const MINGO_OPTIONS = {
  context: Context.init({
    accumulator: accumulatorOperators(),
    expression: expressionOperators({
      ...COMPARISON_EXPRESSIONS,
      $toString,
      $toObjectId,
      $convert: numberConvert($convert),
      $function: refuseJavaScript('$function'),
      $accumulator: refuseJavaScript('$accumulator'),
    }),
    pipeline: { ...pipeline, $sort, $group, $bucket },
    projection,
    query: { ...query, ...MATCH_OPERATORS, $where: refuseJavaScript('$where') },
    window,
  }),
};
