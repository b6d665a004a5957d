/**
 * Numbers as MongoDB compares them: int, long, double and decimal by their exact value
 * (Decimal128('0.1') is not the double 0.1, Decimal128('1') is the int 1 and the double 1.0,
 * the long 2^53+1 is above the double 2^53), NaN equal to NaN and below every other number.
 *
 * Doubles (JS numbers, Int32, Double, longs within ±2^53) compare as doubles, without allocating;
 * only longs beyond 2^53 and decimals are turned into exact fractions (`exactOf`). The index key
 * of a number (`keys.ts`) is written from the same decomposition (`floorParts`), so the key order
 * and this comparison agree.
 */

/** A finite number as the fraction num / den (den > 0), or a special value. */
export type Exact = { kind: 'finite'; num: bigint; den: bigint } | { kind: 'nan' } | { kind: 'inf'; negative: boolean };

const bits = new DataView(new ArrayBuffer(8));

function bsonType(value: unknown): string | undefined {
  return value !== null && typeof value === 'object' ? (value as { _bsontype?: string })._bsontype : undefined;
}

interface LongLike {
  high: number;
  low: number;
  toNumber(): number;
  toBigInt(): bigint;
}

/** The long's value as a double when the double holds it exactly (|v| ≤ 2^53), else NaN. */
function smallLong(value: LongLike): number {
  // Within ±2^53 when the high word is 0..0x1FFFFF or -0x200000..-1 (and exactly -2^53).
  const high = value.high;
  if ((high >= 0 && high < 0x200000) || (high < 0 && high >= -0x200000)) return value.toNumber();
  return NaN;
}

/**
 * The value as a double when that is exact (numbers, Int32, Double, small longs), else undefined
 * (longs beyond 2^53, decimals): those take the exact path.
 */
export function asDouble(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  switch (bsonType(value)) {
    case 'Int32':
    case 'Double':
      return (value as { valueOf(): number }).valueOf();
    case 'Long': {
      const small = smallLong(value as LongLike);
      return Number.isNaN(small) ? undefined : small;
    }
    default:
      return undefined;
  }
}

/** Whether the BSON serializer writes the JS number `x` as an int32 (whole, in int32 range, not -0) rather than a double. */
export function writesAsInt32(x: number): boolean {
  return Number.isInteger(x) && x >= -2147483648 && x <= 2147483647 && !Object.is(x, -0);
}

/** A number's BSON type: int32, long, double or decimal. */
export type Kind = 'i' | 'l' | 'd' | 'm';

/** The BSON number type of a value (a JS number is an int32 when the serializer writes it so), or null when it is not a number. */
export function kindOf(value: unknown): Kind | null {
  if (typeof value === 'number') return writesAsInt32(value) ? 'i' : 'd';
  if (typeof value === 'bigint') return 'l';
  switch (bsonType(value)) {
    case 'Int32':
      return 'i';
    case 'Double':
      return 'd';
    case 'Long':
      return 'l';
    case 'Decimal128':
      return 'm';
    default:
      return null;
  }
}

/** Whether a numeric value is NaN (a double's or a decimal's). */
export function isNaNNumber(value: unknown): boolean {
  if (typeof value === 'number') return Number.isNaN(value);
  const type = bsonType(value);
  if (type === 'Double') return Number.isNaN((value as { valueOf(): number }).valueOf());
  return type === 'Decimal128' && /NaN/i.test(String(value));
}

export const pow10 = (n: number): bigint => 10n ** BigInt(n);

/** A decimal's digits and exponent: value = coefficient × 10^exponent (text as Decimal128 prints it). */
export function parseDecimal(text: string): { kind: 'nan' } | { kind: 'inf'; negative: boolean } | { kind: 'decimal'; coefficient: bigint; exponent: number } {
  if (/nan/i.test(text)) return { kind: 'nan' };
  if (/inf/i.test(text)) return { kind: 'inf', negative: text.startsWith('-') };
  const match = /^([-+]?)(\d*)(?:\.(\d*))?(?:e([-+]?\d+))?$/i.exec(text);
  if (!match) return { kind: 'nan' };
  const [, sign, whole, fraction = '', exp = '0'] = match;
  const digits = BigInt(`${whole}${fraction}` || '0');
  return { kind: 'decimal', coefficient: sign === '-' ? -digits : digits, exponent: Number(exp) - fraction.length };
}

/** A finite double as mantissa × 2^exponent (integers). */
export function doubleParts(value: number): [bigint, number] {
  bits.setFloat64(0, value);
  const hi = bits.getUint32(0);
  const lo = bits.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) mantissa |= 1n << 52n;
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  return [hi >>> 31 ? -mantissa : mantissa, exponent];
}

function fractionOfDouble(value: number): Exact {
  if (Number.isNaN(value)) return { kind: 'nan' };
  if (!Number.isFinite(value)) return { kind: 'inf', negative: value < 0 };
  const [mantissa, exponent] = doubleParts(value);
  return exponent >= 0 ? { kind: 'finite', num: mantissa << BigInt(exponent), den: 1n } : { kind: 'finite', num: mantissa, den: 1n << BigInt(-exponent) };
}

/** The exact value of any numeric BSON value. */
export function exactOf(value: unknown): Exact {
  const double = asDouble(value);
  if (double !== undefined) return fractionOfDouble(double);
  if (typeof value === 'bigint') return { kind: 'finite', num: BigInt.asIntN(64, value), den: 1n };
  if (bsonType(value) === 'Long') return { kind: 'finite', num: (value as LongLike).toBigInt(), den: 1n };
  const parsed = parseDecimal(String(value));
  if (parsed.kind !== 'decimal') return parsed;
  const { coefficient, exponent } = parsed;
  return exponent >= 0 ? { kind: 'finite', num: coefficient * pow10(exponent), den: 1n } : { kind: 'finite', num: coefficient, den: pow10(-exponent) };
}

function orderOf(x: Exact): number {
  return x.kind === 'nan' ? 0 : x.kind === 'inf' ? (x.negative ? 1 : 3) : 2;
}

function compareFractions(a: { num: bigint; den: bigint }, b: { num: bigint; den: bigint }): number {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

export function compareExact(a: Exact, b: Exact): number {
  const oa = orderOf(a);
  const ob = orderOf(b);
  if (oa !== ob) return oa < ob ? -1 : 1;
  return a.kind === 'finite' && b.kind === 'finite' ? compareFractions(a, b) : 0;
}

/** MongoDB's order of two numeric values: NaN first, then by exact value across int, long, double and decimal. */
export function compareNumbers(a: unknown, b: unknown): number {
  const x = asDouble(a);
  const y = asDouble(b);
  if (x !== undefined && y !== undefined) {
    if (x < y) return -1;
    if (x > y) return 1;
    if (x === y) return 0;
    return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : -1) : 1;
  }
  return compareExact(x !== undefined ? fractionOfDouble(x) : exactOf(a), y !== undefined ? fractionOfDouble(y) : exactOf(b));
}

/** A canonical text of a number, equal for equal values of any numeric type (for sets and maps). */
export function numberKey(value: unknown): string {
  const double = asDouble(value);
  if (double !== undefined) return 'n' + String(double);
  const exact = exactOf(value);
  if (exact.kind === 'nan') return 'nNaN';
  if (exact.kind === 'inf') return exact.negative ? 'n-Infinity' : 'nInfinity';
  const near = Number(exact.num) / Number(exact.den);
  if (Number.isFinite(near) && compareExact(fractionOfDouble(near), exact) === 0) return 'n' + String(near);
  // Not a double: the reduced fraction (a long beyond 2^53 as an integer; a decimal by its digits).
  let [num, den] = [exact.num, exact.den];
  const divisor = gcd(num < 0n ? -num : num, den);
  num /= divisor;
  den /= divisor;
  return 'N' + String(num) + (den === 1n ? '' : '/' + String(den));
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function nextDown(d: number): number {
  if (d === 0) return -Number.MIN_VALUE;
  bits.setFloat64(0, d);
  const big = bits.getBigUint64(0);
  bits.setBigUint64(0, d > 0 ? big - 1n : big + 1n);
  return bits.getFloat64(0);
}

function nextUp(d: number): number {
  return -nextDown(-d);
}

/** How many fraction bits of a value above its floor double an index key holds (15 + 14 bytes). */
export const FRACTION_BITS = 127;

/**
 * A number as its index key is written: the largest double not above it, and how far it lies
 * toward the next double, as a fraction of that gap in FRACTION_BITS bits (`exact` false when
 * more bits were dropped). Every double has fraction 0; a long beyond 2^53 one of at most 11 bits.
 */
export function floorParts(value: unknown): { floor: number; fraction: bigint; exact: boolean } {
  const double = asDouble(value);
  if (double !== undefined) return { floor: double, fraction: 0n, exact: true };
  const x = exactOf(value);
  if (x.kind === 'nan') return { floor: NaN, fraction: 0n, exact: true };
  if (x.kind === 'inf') return { floor: x.negative ? -Infinity : Infinity, fraction: 0n, exact: true };
  let floor = approximate(x);
  if (floor > Number.MAX_VALUE) floor = Number.MAX_VALUE;
  while (Number.isFinite(floor) && compareExact(fractionOfDouble(floor), x) > 0) floor = nextDown(floor);
  while (floor !== Number.MAX_VALUE && compareExact(fractionOfDouble(nextUp(floor)), x) <= 0) floor = nextUp(floor);
  // Beyond the doubles (a decimal below -Number.MAX_VALUE, or from Number.MAX_VALUE's gap on): just above / below the ends.
  if (floor === -Infinity) return { floor, fraction: 1n, exact: false };
  const base = fractionOfDouble(floor) as { num: bigint; den: bigint };
  const gap = fractionOfDouble(floor === Number.MAX_VALUE ? 2 ** 971 : nextUp(floor) - floor) as { num: bigint; den: bigint };
  const top = (1n << BigInt(FRACTION_BITS)) - 1n;
  if (floor === Number.MAX_VALUE && compareExact(x, { kind: 'finite', num: base.num * gap.den + gap.num * base.den, den: base.den * gap.den }) >= 0) {
    return { floor, fraction: top, exact: false };
  }
  // (x - floor) / gap, scaled by 2^FRACTION_BITS: ((x.num·base.den − base.num·x.den)·gap.den·2^B) / (x.den·base.den·gap.num).
  const numerator = ((x.num * base.den - base.num * x.den) * gap.den) << BigInt(FRACTION_BITS);
  const denominator = x.den * base.den * gap.num;
  const fraction = numerator / denominator;
  return { floor, fraction, exact: fraction * denominator === numerator };
}

/** A double within a few steps of a fraction (whose parts may be far beyond doubles: decimals with large exponents). */
function approximate(x: { num: bigint; den: bigint }): number {
  const bitLength = (n: bigint) => n.toString(2).length;
  const scale = Math.max(0, bitLength(x.num < 0n ? -x.num : x.num) - 60);
  const scaleDen = Math.max(0, bitLength(x.den) - 60);
  const value = Number(x.num >> BigInt(scale)) / Number(x.den >> BigInt(scaleDen));
  // The power in two halves: one of 2^±1100 alone would overflow or vanish.
  const power = scale - scaleDen;
  const half = Math.trunc(power / 2);
  return value * 2 ** half * 2 ** (power - half);
}
