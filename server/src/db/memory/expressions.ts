/**
 * Aggregation expressions and accumulators on BSON numbers as MongoDB computes them. mingo
 * computes with JS numbers only; the server's documents keep each number's BSON type (a whole
 * double as a `Double`, a long as a `Long`, decimals as `Decimal128`), so:
 *
 * - the arithmetic expressions (`$add`, `$subtract`, `$multiply`, `$divide`, `$mod`, `$abs`,
 *   `$ceil`, `$floor`, `$trunc`, `$round`, `$pow`) and the accumulators `$sum`, `$avg`, `$min`,
 *   `$max` (also their expression forms) are the server's own (`arithmetic.ts`): results
 *   are as wide as their widest operand, `$divide` and `$avg` give doubles (decimals with a
 *   decimal);
 * - conditions (`$and`, `$or`, `$not`, `$cond`, `$switch`) take a zero of any number type as false;
 * - `$type`, `$isNumber` and the conversions to numbers name and give the BSON types;
 * - values a stage only passes along (field paths, `$ifNull`, `$arrayElemAt`, `$mergeObjects`…)
 *   keep their types;
 * - every other mingo expression and accumulator gets its arguments with the numbers as JS
 *   numbers (`promoteNumbers`), as before; math functions that give doubles give `Double`s;
 * - `$group` groups by its key with numbers compared by value (5, 5.0 and a long 5 are one group).
 */
import { evalExpr } from 'mingo/core';
import * as accumulator from 'mingo/operators/accumulator';
import * as expression from 'mingo/operators/expression';
import { $group as mingoGroup } from 'mingo/operators/pipeline';
import type { Any, AnyObject, Options } from 'mingo/types';
import type { Iterator } from 'mingo/lazy';
import { Long } from 'bson';
import { add, asDoubleValue, average, convertNumber, divide, isZero, kindOf, multiply, remainder, subtract, sum, toDouble, typeName, wider, type Kind } from './arithmetic';
import { compareValues } from './bson-order';
import { CommandError } from './errors';
import { promoteNumbers } from './typed-numbers';

type Expression = (obj: AnyObject, expr: Any, options: Options) => Any;
type Accumulator = (collection: AnyObject[], expr: Any, options: Options) => Any;

const isNullish = (value: unknown) => value === null || value === undefined;

/** MongoDB's truth of a value: false, null, missing and a zero of any number type are false. */
export function truthy(value: unknown): boolean {
  if (value === false || isNullish(value)) return false;
  return kindOf(value) === null || !isZero(value);
}

function operands(obj: AnyObject, expr: Any, options: Options): unknown[] {
  return Array.isArray(expr) ? (expr.map((item) => evalExpr(obj, item, options)) as unknown[]) : [evalExpr(obj, expr, options)];
}

function exactly(name: string, count: number, obj: AnyObject, expr: Any, options: Options): unknown[] {
  const args = operands(obj, expr, options);
  if (args.length !== count) {
    throw new CommandError(16020, 'Location16020', `Expression ${name} takes exactly ${count} arguments. ${args.length} were passed in.`);
  }
  return args;
}

/** A sum or product past a long's range becomes a double, as in MongoDB's expressions. */
const orDouble = (result: unknown, double: () => number) => (result === null ? asDoubleValue(double()) : result);

function $add(obj: AnyObject, expr: Any, options: Options): Any {
  const args = operands(obj, expr, options);
  let total: unknown = 0;
  let date: Date | undefined;
  let nullish = false;
  for (const value of args) {
    if (isNullish(value)) {
      nullish = true;
      continue;
    }
    if (value instanceof Date) {
      if (date) throw new CommandError(16612, 'Location16612', 'only one date allowed in an $add expression');
      date = value;
      continue;
    }
    if (kindOf(value) === null) throw new CommandError(16554, 'TypeMismatch', `$add only supports numeric or date types, not ${typeName(value)}`);
    const before = total;
    total = orDouble(add(before, value), () => toDouble(before) + toDouble(value));
  }
  if (nullish) return null;
  return date ? new Date(date.getTime() + Math.round(toDouble(total))) : (total as Any);
}

function $subtract(obj: AnyObject, expr: Any, options: Options): Any {
  const [a, b] = exactly('$subtract', 2, obj, expr, options);
  if (isNullish(a) || isNullish(b)) return null;
  if (a instanceof Date) {
    if (b instanceof Date) return Long.fromNumber(a.getTime() - b.getTime());
    if (kindOf(b) !== null) return new Date(a.getTime() - Math.round(toDouble(b)));
  } else if (kindOf(a) !== null && kindOf(b) !== null) {
    return orDouble(subtract(a, b), () => toDouble(a) - toDouble(b)) as Any;
  }
  throw new CommandError(16556, 'TypeMismatch', `can't $subtract ${typeName(b)} from ${typeName(a)}`);
}

function $multiply(obj: AnyObject, expr: Any, options: Options): Any {
  const args = operands(obj, expr, options);
  let product: unknown = 1;
  let nullish = false;
  for (const value of args) {
    if (isNullish(value)) {
      nullish = true;
      continue;
    }
    if (kindOf(value) === null) throw new CommandError(16555, 'TypeMismatch', `$multiply only supports numeric types, not ${typeName(value)}`);
    const before = product;
    product = orDouble(multiply(before, value), () => toDouble(before) * toDouble(value));
  }
  return nullish ? null : (product as Any);
}

/** The two numeric operands of `$divide`/`$mod` (null when either is null or missing). */
function numericPair(name: string, code: number, obj: AnyObject, expr: Any, options: Options): [unknown, unknown] | null {
  const [a, b] = exactly(name, 2, obj, expr, options);
  if (isNullish(a) || isNullish(b)) return null;
  if (kindOf(a) === null || kindOf(b) === null) {
    throw new CommandError(code, 'TypeMismatch', `${name} only supports numeric types, not ${typeName(a)} and ${typeName(b)}`);
  }
  return [a, b];
}

function $divide(obj: AnyObject, expr: Any, options: Options): Any {
  const pair = numericPair('$divide', 16609, obj, expr, options);
  if (!pair) return null;
  if (isZero(pair[1])) throw new CommandError(2, 'BadValue', "can't $divide by zero");
  return divide(pair[0], pair[1]) as Any;
}

function $mod(obj: AnyObject, expr: Any, options: Options): Any {
  const pair = numericPair('$mod', 16611, obj, expr, options);
  if (!pair) return null;
  if (isZero(pair[1])) throw new CommandError(16610, 'Location16610', "can't $mod by zero");
  return remainder(pair[0], pair[1]) as Any;
}

/** The one numeric operand of `$abs`, `$ceil`, …: null when null or missing. */
function numericOperand(name: string, code: number, obj: AnyObject, expr: Any, options: Options): unknown {
  const [value] = exactly(name, 1, obj, expr, options);
  if (isNullish(value)) return null;
  if (kindOf(value) === null) throw new CommandError(code, 'Location' + code, `${name} only supports numeric types, not ${typeName(value)}`);
  return value;
}

function $abs(obj: AnyObject, expr: Any, options: Options): Any {
  const value = numericOperand('$abs', 28765, obj, expr, options);
  if (value === null) return null;
  const negative = kindOf(value) === 'm' ? String(value).startsWith('-') : toDouble(value) < 0;
  if (!negative) return value as Any;
  const result = multiply(value, -1);
  if (result === null) throw new CommandError(28680, 'Location28680', "can't take $abs of long long min");
  return result as Any;
}

/** A JS number computed from promoted operands, given back the BSON type `kind`. */
function ofKind(kind: Kind, value: unknown): Any {
  if (typeof value !== 'number' || kind === 'm') return value as Any;
  if (kind === 'd') return asDoubleValue(value);
  if (kind === 'l' && Number.isInteger(value)) return Long.fromNumber(value);
  return value;
}

/** `$ceil`/`$floor`/`$trunc`/`$round`: mingo's rounding, the operand's type kept (a decimal stays with mingo). */
function rounding(mingo: Expression): Expression {
  return (obj, expr, options) => {
    const args = operands(obj, expr, options);
    const kind = kindOf(args[0]);
    if (kind === null || kind === 'm') return mingo(obj, literal(obj, expr, options), options);
    if ((kind === 'i' || kind === 'l') && (args.length < 2 || toDouble(args[1]) >= 0)) return args[0] as Any;
    return ofKind(kind, mingo(obj, literal(obj, expr, options), options));
  };
}

/** `$pow`: an int32 or long when both operands are and the power is whole and in range, else a double. */
function $pow(obj: AnyObject, expr: Any, options: Options): Any {
  const [base, exponent] = exactly('$pow', 2, obj, expr, options);
  const kind = kindOf(base) !== null && kindOf(exponent) !== null ? wider(kindOf(base)!, kindOf(exponent)!) : null;
  const result = expression.$pow(obj, literal(obj, expr, options), options);
  if (kind === null || kind === 'm' || typeof result !== 'number') return result;
  if (kind === 'd' || !Number.isSafeInteger(result)) return asDoubleValue(result);
  if (kind === 'i' && result >= -2147483648 && result <= 2147483647) return result;
  return Long.fromNumber(result);
}

/** A function of numbers giving a double (`$sqrt`, `$ln`, `$sin`, …): its result is a double even when whole. */
function doubleResult(mingo: Expression): Expression {
  return (obj, expr, options) => {
    const result = mingo(obj, literal(obj, expr, options), options);
    return typeof result === 'number' ? asDoubleValue(result) : result;
  };
}

function extreme(values: unknown[], sign: number): Any {
  let best: unknown = null;
  for (const value of values) {
    if (isNullish(value)) continue;
    if (best === null || Math.sign(compareValues(value, best)) === sign) best = value;
  }
  return best as Any;
}

const TO_KIND: Record<string, Kind> = { int: 'i', long: 'l', double: 'd', decimal: 'm', '16': 'i', '18': 'l', '1': 'd', '19': 'm' };

/** `$toInt`, `$toLong`, `$toDouble`, `$toDecimal`: a number converted as MongoDB does; other values as mingo converts them. */
function toNumber(kind: Kind, mingo: Expression): Expression {
  return (obj, expr, options) => {
    const [value] = operands(obj, expr, options);
    if (kindOf(value) === null) return ofKind(kind, mingo(obj, literal(obj, expr, options), options));
    return convertNumber(value, kind) as Any;
  };
}

/** `$convert` to a number type: as `toNumber`; anything else as `convert` (the server's ObjectId-aware one). */
export function numberConvert(convert: Expression): Expression {
  return (obj, expr, options) => {
    const spec = (expr ?? {}) as { input?: Any; to?: Any };
    const kind = TO_KIND[String(evalExpr(obj, spec.to, options))];
    const input = kind ? evalExpr(obj, spec.input, options) : undefined;
    if (kind && kindOf(input) !== null) return convertNumber(input, kind) as Any;
    return ofKind(kind ?? 'i', convert(obj, expr, options));
  };
}

function $and(obj: AnyObject, expr: Any, options: Options): boolean {
  const parts = Array.isArray(expr) ? expr : [expr];
  return parts.every((part) => truthy(evalExpr(obj, part, options)));
}

function $or(obj: AnyObject, expr: Any, options: Options): boolean {
  const parts = Array.isArray(expr) ? expr : [expr];
  return parts.some((part) => truthy(evalExpr(obj, part, options)));
}

function $not(obj: AnyObject, expr: Any, options: Options): boolean {
  return !truthy(exactly('$not', 1, obj, expr, options)[0]);
}

function $cond(obj: AnyObject, expr: Any, options: Options): Any {
  const spec = Array.isArray(expr) ? { if: expr[0], then: expr[1], else: expr[2] } : ((expr ?? {}) as { if?: Any; then?: Any; else?: Any });
  if (Array.isArray(expr) ? expr.length !== 3 : !('if' in spec && 'then' in spec && 'else' in spec)) {
    throw new CommandError(17080, 'Location17080', "$cond needs 'if', 'then' and 'else'");
  }
  return evalExpr(obj, truthy(evalExpr(obj, spec.if, options)) ? spec.then : spec.else, options);
}

function $switch(obj: AnyObject, expr: Any, options: Options): Any {
  const spec = (expr ?? {}) as { branches?: { case: Any; then: Any }[]; default?: Any };
  for (const branch of spec.branches ?? []) if (truthy(evalExpr(obj, branch.case, options))) return evalExpr(obj, branch.then, options);
  if (!('default' in spec)) throw new CommandError(40066, 'Location40066', '$switch could not find a matching branch for an input, and no default was specified.');
  return evalExpr(obj, spec.default, options);
}

/** An operator's arguments evaluated, with their numbers as JS numbers, in the shape the operator reads them. */
function literal(obj: AnyObject, expr: Any, options: Options): Any {
  const value = (item: Any) => ({ $literal: promoteNumbers(evalExpr(obj, item, options)) });
  if (Array.isArray(expr)) return expr.map(value);
  if (expr !== null && typeof expr === 'object' && Object.getPrototypeOf(expr) === Object.prototype && !Object.keys(expr).some((key) => key.startsWith('$'))) {
    return Object.fromEntries(Object.entries(expr).map(([key, item]) => [key, value(item as Any)]));
  }
  return value(expr);
}

const promoting =
  (mingo: Expression): Expression =>
  (obj, expr, options) =>
    mingo(obj, literal(obj, expr, options), options);

/** mingo's expressions that pass values along, evaluate lazily or bind variables: given their expressions as they are. */
const AS_GIVEN = new Set([
  '$literal',
  '$let',
  '$map',
  '$filter',
  '$reduce',
  '$function',
  '$ifNull',
  '$getField',
  '$setField',
  '$unsetField',
  '$mergeObjects',
  '$arrayToObject',
  '$objectToArray',
  '$concatArrays',
  '$arrayElemAt',
  '$first',
  '$last',
  '$firstN',
  '$lastN',
  '$slice',
  '$reverseArray',
  '$size',
  '$isArray',
  '$zip',
]);

const DOUBLE_RESULTS = [
  '$sqrt',
  '$exp',
  '$ln',
  '$log',
  '$log10',
  '$sigmoid',
  '$sin',
  '$cos',
  '$tan',
  '$asin',
  '$acos',
  '$atan',
  '$atan2',
  '$sinh',
  '$cosh',
  '$tanh',
  '$asinh',
  '$acosh',
  '$atanh',
  '$degreesToRadians',
  '$radiansToDegrees',
];

/** The expression operators of every mingo query and aggregation of the server, `own` (the server's others) put over them. */
export function expressionOperators(own: Record<string, Expression>): Record<string, Expression> {
  const mingo = expression as unknown as Record<string, Expression>;
  const result: Record<string, Expression> = {};
  for (const [name, operator] of Object.entries(mingo)) result[name] = AS_GIVEN.has(name) ? operator : promoting(operator);
  for (const name of DOUBLE_RESULTS) if (mingo[name]) result[name] = doubleResult(mingo[name]);
  return {
    ...result,
    $add,
    $subtract,
    $multiply,
    $divide,
    $mod,
    $abs,
    $pow,
    $ceil: rounding(mingo.$ceil!),
    $floor: rounding(mingo.$floor!),
    $trunc: rounding(mingo.$trunc!),
    $round: rounding(mingo.$round!),
    $toInt: toNumber('i', mingo.$toInt!),
    $toLong: toNumber('l', mingo.$toLong!),
    $toDouble: toNumber('d', mingo.$toDouble!),
    $toDecimal: toNumber('m', mingo.$toDecimal!),
    $type: (obj, expr, options) => typeName(exactly('$type', 1, obj, expr, options)[0]),
    $isNumber: (obj, expr, options) => kindOf(exactly('$isNumber', 1, obj, expr, options)[0]) !== null,
    $and,
    $or,
    $not,
    $cond,
    $switch,
    $groupKey: (obj, expr, options) => promoteNumbers(evalExpr(obj, expr, options)),
    ...own,
  };
}

/** mingo's accumulators that pass values along: given the documents as they are. */
const ACCUMULATED_AS_GIVEN = new Set(['$push', '$first', '$last', '$firstN', '$lastN', '$top', '$bottom', '$topN', '$bottomN', '$mergeObjects', '$count']);

/** The accumulators of the server's `$group` stages (mingo also runs them for `{$sum: [...]}` as an expression, over the evaluated list). */
export function accumulatorOperators(): Record<string, Accumulator> {
  const mingo = accumulator as unknown as Record<string, Accumulator>;
  const result: Record<string, Accumulator> = {};
  for (const [name, operator] of Object.entries(mingo)) {
    result[name] = ACCUMULATED_AS_GIVEN.has(name) ? operator : (collection, expr, options) => operator(collection.map(promoteNumbers), expr, options);
  }
  const values = (collection: AnyObject[], expr: Any, options: Options) => accumulator.$push(collection, expr, options) as unknown[];
  return {
    ...result,
    $sum: (collection, expr, options) => sum(values(collection, expr, options)) as Any,
    $avg: (collection, expr, options) => average(values(collection, expr, options)) as Any,
    $min: (collection, expr, options) => extreme(values(collection, expr, options), -1),
    $max: (collection, expr, options) => extreme(values(collection, expr, options), 1),
  };
}

/** `$group` with its key's numbers compared by value (mingo would tell a `Double` 5 from the number 5). */
export function $group(collection: Iterator, expr: Any, options: Options): Iterator {
  const spec = (expr ?? {}) as Record<string, Any>;
  return mingoGroup(collection, ('_id' in spec ? { ...spec, _id: { $groupKey: spec._id } } : spec) as Parameters<typeof mingoGroup>[1], options);
}
