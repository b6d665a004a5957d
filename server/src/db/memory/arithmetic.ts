/**
 * Arithmetic on BSON numbers with MongoDB's result types, for the update operators (`$inc`,
 * `$mul`, `$bit`) and the aggregation expressions (`$add`, `$multiply`, `$sum`, …). A result is
 * as wide as its widest operand — int32, then long, then double, then decimal — and an int32
 * result past int32's range is a long. Values are the engine's in-memory numbers: a JS number is
 * an int32 when the BSON serializer writes it so and a double otherwise; longs are `Long`, doubles
 * with whole int32 values are `Double` (so they stay doubles), decimals `Decimal128`.
 *
 * Decimals are computed exactly as coefficient × 10^exponent and rounded (half to even) to 34
 * digits; a double turned into a decimal takes 15 significant digits, as MongoDB converts it.
 */
import { Decimal128, Double, Long } from 'bson';
import { kindOf, parseDecimal, pow10, writesAsInt32, type Kind } from './numbers';

export { kindOf, type Kind };

const RANK: Record<Kind, number> = { i: 0, l: 1, d: 2, m: 3 };

function bsonType(value: unknown): string | undefined {
  return value !== null && typeof value === 'object' ? (value as { _bsontype?: string })._bsontype : undefined;
}

/** The wider of two kinds. */
export function wider(a: Kind, b: Kind): Kind {
  return RANK[a] >= RANK[b] ? a : b;
}

/** MongoDB's name of a value's type in error messages (`typeName`). */
export function typeName(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (kindOf(value)) {
    case 'i':
      return 'int';
    case 'l':
      return 'long';
    case 'd':
      return 'double';
    case 'm':
      return 'decimal';
  }
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'string';
  if (value instanceof Date) return 'date';
  if (value instanceof RegExp) return 'regex';
  const type = bsonType(value);
  if (type === 'ObjectId') return 'objectId';
  if (type === 'BSONRegExp') return 'regex';
  if (type === 'Timestamp') return 'timestamp';
  if (type === 'Binary') return 'binData';
  if (type === 'MinKey') return 'minKey';
  if (type === 'MaxKey') return 'maxKey';
  return 'object';
}

// ---------- conversions ----------

/** A number as a JS double. */
export function toDouble(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  const type = bsonType(value);
  if (type === 'Long') return (value as Long).toNumber();
  if (type === 'Decimal128') return Number(String(value));
  return Number((value as { valueOf(): unknown }).valueOf());
}

/** An integral number (int32 or long) as a bigint. */
function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (bsonType(value) === 'Long') return (value as Long).toBigInt();
  return BigInt(toDouble(value));
}

/** A double result as the engine holds it: a `Double` when a JS number would be written as an int32. */
export function asDoubleValue(x: number): number | Double {
  return writesAsInt32(x) ? new Double(x) : x;
}

const INT32_MIN = -2147483648n;
const INT32_MAX = 2147483647n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Two int32s' exact sum or product when a double holds it (always for a sum), as an int32 or a long; undefined otherwise. */
function smallIntegral(result: number): number | Long | undefined {
  if (!Number.isSafeInteger(result)) return undefined;
  if (result === 0) return 0; // never -0 (an int32 times 0 is the int32 0)
  return writesAsInt32(result) ? result : Long.fromNumber(result);
}

/** An integer result: an int32 when it fits, else a long, else (null) an overflow. */
function integral(value: bigint, kind: 'i' | 'l'): number | Long | null {
  if (kind === 'i' && value >= INT32_MIN && value <= INT32_MAX) return Number(value);
  if (value < INT64_MIN || value > INT64_MAX) return null;
  return Long.fromBigInt(value);
}

// ---------- decimals ----------

type Dec = { kind: 'finite'; coef: bigint; exp: number } | { kind: 'nan' } | { kind: 'inf'; negative: boolean };

const DIGITS = 34;
const digitsOf = (n: bigint): number => (n < 0n ? -n : n).toString().length;

function parseDecimalText(text: string): Dec {
  const parsed = parseDecimal(text);
  return parsed.kind === 'decimal' ? { kind: 'finite', coef: parsed.coefficient, exp: parsed.exponent } : parsed;
}

function toDec(value: unknown): Dec {
  switch (kindOf(value)) {
    case 'i':
    case 'l':
      return { kind: 'finite', coef: toBigInt(value), exp: 0 };
    case 'd': {
      const x = toDouble(value);
      if (Number.isNaN(x)) return { kind: 'nan' };
      if (!Number.isFinite(x)) return { kind: 'inf', negative: x < 0 };
      // 15 significant digits, as MongoDB turns a double into a decimal.
      const [mantissa, exponent] = x.toExponential(14).split('e') as [string, string];
      return { kind: 'finite', coef: BigInt(mantissa.replace('.', '')), exp: Number(exponent) - 14 };
    }
    default:
      return parseDecimalText(String(value));
  }
}

/** Rounds a coefficient to at most 34 digits, half to even. */
function rounded(coef: bigint, exp: number): Dec {
  const excess = digitsOf(coef) - DIGITS;
  if (excess <= 0) return { kind: 'finite', coef, exp };
  const divisor = pow10(excess);
  const negative = coef < 0n;
  const magnitude = negative ? -coef : coef;
  let quotient = magnitude / divisor;
  const twice = (magnitude % divisor) * 2n;
  if (twice > divisor || (twice === divisor && quotient % 2n === 1n)) quotient += 1n;
  return rounded(negative ? -quotient : quotient, exp + excess);
}

function fromDec(value: Dec): Decimal128 {
  if (value.kind === 'nan') return Decimal128.fromString('NaN');
  if (value.kind === 'inf') return Decimal128.fromString(value.negative ? '-Infinity' : 'Infinity');
  return Decimal128.fromString(`${value.coef}E${value.exp}`);
}

function decAdd(a: Dec, b: Dec): Dec {
  if (a.kind === 'nan' || b.kind === 'nan') return { kind: 'nan' };
  if (a.kind === 'inf' || b.kind === 'inf') {
    if (a.kind === 'inf' && b.kind === 'inf' && a.negative !== b.negative) return { kind: 'nan' };
    return a.kind === 'inf' ? a : b;
  }
  const exp = Math.min(a.exp, b.exp);
  return rounded(a.coef * pow10(a.exp - exp) + b.coef * pow10(b.exp - exp), exp);
}

function decNegate(a: Dec): Dec {
  if (a.kind === 'nan') return a;
  if (a.kind === 'inf') return { kind: 'inf', negative: !a.negative };
  return { kind: 'finite', coef: -a.coef, exp: a.exp };
}

const isZeroDec = (a: Dec) => a.kind === 'finite' && a.coef === 0n;

function decMultiply(a: Dec, b: Dec): Dec {
  if (a.kind === 'nan' || b.kind === 'nan') return { kind: 'nan' };
  if (a.kind === 'inf' || b.kind === 'inf') {
    if (isZeroDec(a) || isZeroDec(b)) return { kind: 'nan' };
    const negative = (a.kind === 'inf' ? a.negative : a.coef < 0n) !== (b.kind === 'inf' ? b.negative : b.coef < 0n);
    return { kind: 'inf', negative };
  }
  return rounded(a.coef * b.coef, a.exp + b.exp);
}

/** a / b (b not zero): exact when 34 digits hold it (at the exponent nearest a.exp − b.exp), else rounded. */
function decDivide(a: Dec, b: Dec): Dec {
  if (a.kind === 'nan' || b.kind === 'nan') return { kind: 'nan' };
  if (a.kind === 'inf') return b.kind === 'inf' ? { kind: 'nan' } : { kind: 'inf', negative: a.negative !== b.coef < 0n };
  if (b.kind === 'inf') return { kind: 'finite', coef: 0n, exp: 0 };
  const preferred = a.exp - b.exp;
  const shift = Math.max(0, DIGITS + 1 + digitsOf(b.coef) - digitsOf(a.coef));
  const scaled = a.coef * pow10(shift);
  let quotient = scaled / b.coef;
  let exp = preferred - shift;
  // Inexact: one more digit past the remainder (a sticky 1) makes a rounding tie impossible.
  if (scaled % b.coef !== 0n) return rounded(quotient * 10n + (a.coef < 0n !== b.coef < 0n ? -1n : 1n), exp - 1);
  while (exp < preferred && quotient % 10n === 0n) {
    quotient /= 10n;
    exp++;
  }
  return rounded(quotient, exp);
}

// ---------- the operations ----------

/** a + b with MongoDB's result type; null when a long overflows (aggregation then gives a double, `$inc` fails). */
export function add(a: unknown, b: unknown): unknown {
  const kind = wider(kindOf(a)!, kindOf(b)!);
  if (kind === 'm') return fromDec(decAdd(toDec(a), toDec(b)));
  if (kind === 'd') return asDoubleValue(toDouble(a) + toDouble(b));
  if (kind === 'i') return smallIntegral(toDouble(a) + toDouble(b)) ?? integral(toBigInt(a) + toBigInt(b), kind);
  return integral(toBigInt(a) + toBigInt(b), kind);
}

/** a − b with MongoDB's result type; null when a long overflows. */
export function subtract(a: unknown, b: unknown): unknown {
  const kind = wider(kindOf(a)!, kindOf(b)!);
  if (kind === 'm') return fromDec(decAdd(toDec(a), decNegate(toDec(b))));
  if (kind === 'd') return asDoubleValue(toDouble(a) - toDouble(b));
  return integral(toBigInt(a) - toBigInt(b), kind);
}

/** a × b with MongoDB's result type; null when a long overflows. */
export function multiply(a: unknown, b: unknown): unknown {
  const kind = wider(kindOf(a)!, kindOf(b)!);
  if (kind === 'm') return fromDec(decMultiply(toDec(a), toDec(b)));
  if (kind === 'd') return asDoubleValue(toDouble(a) * toDouble(b));
  if (kind === 'i') return smallIntegral(toDouble(a) * toDouble(b)) ?? integral(toBigInt(a) * toBigInt(b), kind);
  return integral(toBigInt(a) * toBigInt(b), kind);
}

/** a / b: a double, or a decimal when either is one (b is not zero). */
export function divide(a: unknown, b: unknown): unknown {
  if (kindOf(a) === 'm' || kindOf(b) === 'm') return fromDec(decDivide(toDec(a), toDec(b)));
  return asDoubleValue(toDouble(a) / toDouble(b));
}

/** The remainder of a / b, signed as a (b is not zero), as wide as the wider operand. */
export function remainder(a: unknown, b: unknown): unknown {
  const kind = wider(kindOf(a)!, kindOf(b)!);
  if (kind === 'm') {
    const x = toDec(a);
    const y = toDec(b);
    if (x.kind !== 'finite' || y.kind !== 'finite') return fromDec(x.kind === 'finite' && y.kind === 'inf' ? x : { kind: 'nan' });
    const exp = Math.min(x.exp, y.exp);
    return fromDec(rounded((x.coef * pow10(x.exp - exp)) % (y.coef * pow10(y.exp - exp)), exp));
  }
  if (kind === 'd') return asDoubleValue(toDouble(a) % toDouble(b));
  return integral(toBigInt(a) % toBigInt(b), kind);
}

/** Whether a number is zero (of any type). */
export function isZero(value: unknown): boolean {
  const kind = kindOf(value);
  if (kind === 'm') return isZeroDec(toDec(value));
  return kind !== null && toDouble(value) === 0;
}

/** A number of the given kind from an integer (0 as an int32, a long, a double or a decimal). */
export function zeroOf(kind: Kind): unknown {
  return kind === 'i' ? 0 : kind === 'l' ? Long.fromNumber(0) : kind === 'd' ? new Double(0) : Decimal128.fromString('0');
}

/** The sum of numbers as `$sum` gives it: int32, long past int32, double past long, decimal when one is. */
export function sum(values: Iterable<unknown>): unknown {
  let kind: Kind = 'i';
  let integer = 0n;
  let double = 0;
  let decimal: Dec = { kind: 'finite', coef: 0n, exp: 0 };
  for (const value of values) {
    const k = kindOf(value);
    if (k === null) continue;
    if (k === 'm') {
      if (kind !== 'm') decimal = kind === 'd' ? decAdd(toDec(double), toDec(Number(integer))) : { kind: 'finite', coef: integer, exp: 0 };
      kind = 'm';
      decimal = decAdd(decimal, toDec(value));
    } else if (kind === 'm') decimal = decAdd(decimal, toDec(value));
    else if (k === 'd' || kind === 'd') {
      if (kind !== 'd') double = Number(integer);
      kind = 'd';
      double += toDouble(value);
    } else {
      integer += toBigInt(value);
      if (k === 'l') kind = 'l';
      if (integer < INT64_MIN || integer > INT64_MAX) {
        kind = 'd';
        double = Number(integer);
      }
    }
  }
  if (kind === 'm') return fromDec(decimal);
  if (kind === 'd') return asDoubleValue(double);
  return integral(integer, kind === 'l' ? 'l' : 'i');
}

/** The mean of the numbers among `values` as `$avg` gives it (a double, a decimal when one is), or null when there are none. */
export function average(values: Iterable<unknown>): unknown {
  const numbers = [...values].filter((value) => kindOf(value) !== null);
  if (numbers.length === 0) return null;
  const total = sum(numbers);
  return kindOf(total) === 'm' ? fromDec(decDivide(toDec(total), toDec(numbers.length))) : asDoubleValue(toDouble(total) / numbers.length);
}

/** A number converted to a kind, as `$toInt`/`$toLong`/`$toDouble`/`$toDecimal` do for numbers (truncating toward zero). */
export function convertNumber(value: unknown, to: Kind): unknown {
  if (to === 'm') return kindOf(value) === 'm' ? value : fromDec(toDec(value));
  if (to === 'd') return asDoubleValue(toDouble(value));
  const x = kindOf(value) === 'l' ? Number(toBigInt(value)) : Math.trunc(toDouble(value));
  return to === 'i' ? x : kindOf(value) === 'l' ? value : Long.fromNumber(x);
}

/** `$bit`'s and/or/xor of two integers: an int32 when both are, else a long. */
export function bitwise(a: unknown, b: unknown, op: 'and' | 'or' | 'xor'): number | Long {
  const x = toBigInt(a);
  const y = toBigInt(b);
  const result = op === 'and' ? x & y : op === 'or' ? x | y : x ^ y;
  return kindOf(a) === 'i' && kindOf(b) === 'i' ? Number(BigInt.asIntN(32, result)) : Long.fromBigInt(BigInt.asIntN(64, result));
}

/** Whether two numbers are the same value of the same type (an update that gives this back changes nothing). */
export function identical(a: unknown, b: unknown): boolean {
  const kind = kindOf(a);
  if (kind === null || kind !== kindOf(b)) return false;
  if (kind === 'm') return String(a) === String(b);
  if (kind === 'l') return toBigInt(a) === toBigInt(b);
  return Object.is(toDouble(a), toDouble(b));
}

/** How MongoDB prints a number in a message: a double with a fraction part (`5.0`), a long as `5`. */
export function describeNumber(value: unknown): string {
  const kind = kindOf(value);
  if (kind === 'd') {
    const x = toDouble(value);
    return Number.isInteger(x) ? x.toFixed(1) : String(x);
  }
  if (kind === 'm') return `NumberDecimal("${String(value)}")`;
  return String(kind === 'l' ? toBigInt(value) : value);
}

/** A value as MongoDB prints it in an error message (`"text"`, `5.0`, `ObjectId('…')`, `{a: 1}`). */
export function describeValue(value: unknown): string {
  if (kindOf(value) !== null) return describeNumber(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[ ${value.map(describeValue).join(', ')} ]`;
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  const type = bsonType(value);
  if (type === 'ObjectId') return `ObjectId('${String(value)}')`;
  if (type === undefined && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length === 0 ? '{}' : `{ ${entries.map(([key, item]) => `${key}: ${describeValue(item)}`).join(', ')} }`;
  }
  return String(value);
}
