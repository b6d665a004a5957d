/**
 * MongoDB 7's conversions to and from ObjectIds, which mingo (knowing no BSON types) lacks:
 * `$toString` and `$convert` of an ObjectId give its hex string, `$toObjectId` and `$convert` to
 * `objectId` parse one. Every mingo query and aggregation of the server runs with them.
 */
import { ObjectId } from 'bson';
import { Context, evalExpr } from 'mingo/core';
import * as accumulator from 'mingo/operators/accumulator';
import * as expression from 'mingo/operators/expression';
import { $convert as mingoConvert, $toString as mingoToString } from 'mingo/operators/expression/type';
import * as pipeline from 'mingo/operators/pipeline';
import * as projection from 'mingo/operators/projection';
import * as query from 'mingo/operators/query';
import * as window from 'mingo/operators/window';
import type { Any, AnyObject, Options } from 'mingo/types';
import { CommandError } from './errors';
import { MATCH_OPERATORS } from './match';

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
  return isObjectId(value) ? value.toHexString() : mingoToString(obj, { $literal: value }, options);
}

function $toObjectId(obj: AnyObject, expr: Any, options: Options): Any {
  return parseObjectId(evalExpr(obj, expr, options));
}

function $convert(obj: AnyObject, expr: Any, options: Options): Any {
  const spec = (expr ?? {}) as { input?: Any; to?: Any; onError?: Any; onNull?: Any };
  const to = evalExpr(obj, spec.to, options);
  const input = evalExpr(obj, spec.input, options);
  const converted = to === 'objectId' || to === 7 ? () => parseObjectId(input) : (to === 'string' || to === 2) && isObjectId(input) ? () => input.toHexString() : null;
  if (!converted) return mingoConvert(obj, expr as Parameters<typeof mingoConvert>[1], options);
  if (input === null || input === undefined) return spec.onNull === undefined ? null : evalExpr(obj, spec.onNull, options);
  try {
    return converted();
  } catch (error) {
    if (spec.onError === undefined) throw error;
    return evalExpr(obj, spec.onError, options);
  }
}

/**
 * Options for every mingo Query and Aggregator of the server (built from mingo's base classes:
 * its default ones put their own operators first), with the comparing query operators of `match.ts`.
 */
export const MINGO_OPTIONS = {
  context: Context.init({ accumulator, expression: { ...expression, $toString, $toObjectId, $convert }, pipeline, projection, query: { ...query, ...MATCH_OPERATORS }, window }),
};
