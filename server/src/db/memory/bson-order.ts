/**
 * MongoDB's BSON comparison order, used for sorting and for index keys:
 * MinKey < null < numbers < strings < objects < arrays < BinData < ObjectId < booleans < dates < timestamps < regexes < MaxKey.
 */
import type { Binary, ObjectId, Timestamp } from 'bson';
import { compareNumbers, kindOf, numberKey } from './numbers';

function bsonType(value: unknown): string | undefined {
  return value !== null && typeof value === 'object' ? (value as { _bsontype?: string })._bsontype : undefined;
}

export function typeRank(value: unknown): number {
  if (value === undefined || value === null) return 2;
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return 3;
    case 'string':
      return 4;
    case 'boolean':
      return 9;
    case 'object':
      break;
    default:
      return 5;
  }
  if (Array.isArray(value)) return 6;
  if (value instanceof Date) return 10;
  if (value instanceof RegExp) return 12;
  switch (bsonType(value)) {
    case 'MinKey':
      return 1;
    case 'MaxKey':
      return 13;
    case 'Long':
    case 'Int32':
    case 'Double':
    case 'Decimal128':
      return 3;
    case 'BSONSymbol':
      return 4;
    case 'Binary':
      return 7;
    case 'ObjectId':
      return 8;
    case 'Timestamp':
      return 11;
    case 'BSONRegExp':
      return 12;
    default:
      return 5;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 1:
    case 2:
    case 13:
      return 0;
    case 3:
      return compareNumbers(a, b);
    case 4:
      return compareStrings(String(a), String(b));
    case 5:
      return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>);
    case 6: {
      const x = a as unknown[];
      const y = b as unknown[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case 7: {
      const x = a as Binary;
      const y = b as Binary;
      if (x.position !== y.position) return x.position - y.position;
      if (x.sub_type !== y.sub_type) return x.sub_type - y.sub_type;
      return sign(compareBytes(x.buffer.subarray(0, x.position), y.buffer.subarray(0, y.position)));
    }
    case 8:
      return sign(compareBytes((a as ObjectId).id, (b as ObjectId).id));
    case 9:
      return (a ? 1 : 0) - (b ? 1 : 0);
    case 10:
      return sign((a as Date).getTime() - (b as Date).getTime());
    case 11: {
      const x = a as Timestamp;
      const y = b as Timestamp;
      return sign(x.t - y.t) || sign(x.i - y.i);
    }
    default: {
      const x = String(a);
      const y = String(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
  }
}

/** Strings by code point (their UTF-8 byte order, as MongoDB and the index keys compare them). */
export function compareStrings(x: string, y: string): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    let a = x.charCodeAt(i);
    let b = y.charCodeAt(i);
    if (a === b) continue;
    // Surrogates (U+D800–DFFF) stand for code points above U+FFFF: lift them above U+E000–FFFF.
    if (a >= 0xd800) a += a <= 0xdfff ? 0x2000 : -0x800;
    if (b >= 0xd800) b += b <= 0xdfff ? 0x2000 : -0x800;
    return a - b;
  }
  return x.length - y.length;
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const x = a[ka[i]!];
    const y = b[kb[i]!];
    const byType = typeRank(x) - typeRank(y);
    if (byType !== 0) return byType;
    if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    const c = compareValues(x, y);
    if (c !== 0) return c;
  }
  return ka.length - kb.length;
}

/**
 * A canonical string for a value, equal for values MongoDB treats as equal (used for _id and
 * dup-key maps); with `typed`, numbers of different BSON types differ (5 and 5.0 and 5 as a long:
 * an update that changes only the type still changes the document).
 */
export function keyString(value: unknown, typed = false): string {
  const rank = typeRank(value);
  switch (rank) {
    case 2:
      return 'N';
    case 3:
      return typed ? kindOf(value)! + numberKey(value) : numberKey(value);
    case 4:
      return 's' + String(value);
    case 8:
      return 'o' + (value as ObjectId).toHexString();
    case 9:
      return value ? 'T' : 'F';
    case 10:
      return 'd' + (value as Date).getTime();
    case 6:
      return '[' + (value as unknown[]).map((item) => keyString(item, typed)).join(',') + ']';
    case 5:
      return (
        '{' +
        Object.entries(value as Record<string, unknown>)
          .map(([k, v]) => JSON.stringify(k) + ':' + keyString(v, typed))
          .join(',') +
        '}'
      );
    case 7: {
      const bin = value as Binary;
      return 'b' + bin.sub_type + ':' + Buffer.from(bin.buffer.subarray(0, bin.position)).toString('base64');
    }
    default:
      return 'x' + rank + ':' + String(value);
  }
}
