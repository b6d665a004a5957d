/**
 * Numbers keep the BSON type they were written with. A JS number already says int32 (whole, in
 * int32 range, not -0) or double (anything else) the way the BSON serializer writes it back; the
 * values a JS number would misstate stay wrapped: every long as a `Long`, and a double a JS number
 * would write as int32 (5.0) as a `Double`. Documents from the wire and from storage are decoded
 * so; most hold none of those, and a scan of their bytes (no allocation) lets them take the fast
 * promoted decoding.
 *
 * mingo computes only with JS numbers: the server computes with these values itself (the update
 * operators in `modifiers.ts`, aggregation arithmetic in `expressions.ts`), and gives mingo's other
 * operators their arguments promoted (`promoteNumbers`).
 */
import { deserialize, Double, Long } from 'bson';
import { writesAsInt32 } from './numbers';

/** A decoded document (as `indexes.ts` names it; not imported from there, which needs the query operators built from this module). */
type Doc = Record<string, unknown>;

export const PROMOTED_READ = { promoteLongs: true, promoteValues: true, promoteBuffers: false, bsonRegExp: false } as const;
const TYPED_READ = { ...PROMOTED_READ, promoteValues: false } as const;

function skipCString(bytes: Uint8Array, at: number): number {
  while (bytes[at] !== 0) at++;
  return at + 1;
}

/** Whether the field name at bytes[start, end) is one of `names` (compared as bytes: no string is made). */
function named(bytes: Buffer, start: number, end: number, names: readonly Buffer[]): boolean {
  for (const name of names) {
    if (name.length !== end - start) continue;
    let i = 0;
    while (i < name.length && name[i] === bytes[start + i]) i++;
    if (i === name.length) return true;
  }
  return false;
}

/** Called with a number element's type (0x01 double, 0x12 long, 0x13 decimal) and its value's offset; true stops the walk. */
type NumberTest = (type: number, bytes: Buffer, at: number) => boolean;

/**
 * Whether a (valid) BSON document holds a number `test` accepts, anywhere (embedded documents and
 * arrays are walked in place: their elements follow their size), except in the top-level fields
 * named in `skip`. Reads the bytes only, allocating nothing.
 */
function holdsNumber(bytes: Buffer, test: NumberTest, skip?: readonly Buffer[]): boolean {
  const end = bytes.length - 1;
  let at = 4;
  let depth = 0;
  while (at < end) {
    const type = bytes[at++]!;
    if (type === 0) {
      depth--; // the end of an embedded document or array
      continue;
    }
    const name = at;
    at = skipCString(bytes, at);
    if (depth === 0 && skip && named(bytes, name, at - 1, skip)) {
      if (type === 0x03 || type === 0x04) {
        at += bytes.readInt32LE(at);
        continue;
      }
      if (type === 0x12) {
        at += 8;
        continue;
      }
    }
    switch (type) {
      case 0x01: // double
      case 0x12: // long
        if (test(type, bytes, at)) return true;
        at += 8;
        break;
      case 0x13: // decimal
        if (test(type, bytes, at)) return true;
        at += 16;
        break;
      case 0x02: // string
      case 0x0d: // code
      case 0x0e: // symbol
        at += 4 + bytes.readInt32LE(at);
        break;
      case 0x03: // document
      case 0x04: // array: their elements are walked next
        at += 4;
        depth++;
        break;
      case 0x05: // binary: length, subtype, bytes
        at += 5 + bytes.readInt32LE(at);
        break;
      case 0x07: // ObjectId
        at += 12;
        break;
      case 0x08: // boolean
        at += 1;
        break;
      case 0x09: // date
      case 0x11: // timestamp
        at += 8;
        break;
      case 0x0b: // regex: pattern and flags
        at = skipCString(bytes, skipCString(bytes, at));
        break;
      case 0x0c: // DBPointer: string and ObjectId
        at += 4 + bytes.readInt32LE(at) + 12;
        break;
      case 0x0f: // code with scope: its total length
        at += bytes.readInt32LE(at);
        break;
      case 0x10: // int32
        at += 4;
        break;
      default: // undefined, null, MinKey, MaxKey: no value bytes
        break;
    }
  }
  return false;
}

/** A long, or a double a JS number would write as an int32: the values decoding keeps wrapped. */
const typedNumber: NumberTest = (type, bytes, at) => type === 0x12 || (type === 0x01 && writesAsInt32(bytes.readDoubleLE(at)));

/** Whether a (valid) BSON document holds a long or a double with a whole int32 value (outside the top-level fields in `skip`). */
export function holdsTypedNumbers(bytes: Buffer, skip?: readonly Buffer[]): boolean {
  return holdsNumber(bytes, typedNumber, skip);
}

const TWO_53 = 2n ** 53n;

/** A decimal, or a long beyond ±2^53: the numbers whose index keys changed with key format 2 (`keys.ts`). */
const exactKeyedNumber: NumberTest = (type, bytes, at) => {
  if (type === 0x13) return true;
  if (type !== 0x12) return false;
  const value = bytes.readBigInt64LE(at);
  return value > TWO_53 || value < -TWO_53;
};

/** Whether a (valid) BSON document holds a decimal or a long beyond ±2^53. */
export function holdsExactKeyedNumbers(bytes: Buffer): boolean {
  return holdsNumber(bytes, exactKeyedNumber);
}

/** Int32 → number, Double → number unless whole in int32 range; Long stays (in place). */
function normalize(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = normalize(value[i]);
    return value;
  }
  switch ((value as { _bsontype?: string })._bsontype) {
    case undefined:
      if (value instanceof Date || value instanceof RegExp) return value;
      for (const key of Object.keys(value)) (value as Doc)[key] = normalize((value as Doc)[key]);
      return value;
    case 'Int32':
      return (value as { value: number }).value;
    case 'Double': {
      const x = (value as Double).value;
      return writesAsInt32(x) ? value : x;
    }
    default:
      return value;
  }
}

/** A stored document's values with their number types kept (see the module's comment). */
export function decodeDocument(bytes: Buffer): Doc {
  return holdsTypedNumbers(bytes) ? (normalize(deserialize(bytes, TYPED_READ)) as Doc) : deserialize(bytes, PROMOTED_READ);
}

/**
 * A received document (not yet known to be valid BSON: decoded promoted first, which checks it)
 * with its number types kept, except in the top-level fields named in `envelope` (a command's
 * session fields: its txnNumber and $clusterTime are longs in every write of a session, and are
 * read as numbers alike).
 */
export function decodeReceived(bytes: Buffer, envelope?: readonly Buffer[]): Doc {
  const promoted = deserialize(bytes, PROMOTED_READ);
  return holdsTypedNumbers(bytes, envelope) ? (normalize(deserialize(bytes, TYPED_READ)) as Doc) : promoted;
}

/** Whether a value is a number kept wrapped for its type. */
function isWrapped(value: unknown): value is Double | Long {
  const type = value !== null && typeof value === 'object' ? (value as { _bsontype?: string })._bsontype : undefined;
  return type === 'Double' || type === 'Long';
}

function isPlain(value: unknown): value is Doc {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A copy of `value` whose Doubles and longs within ±2^53 are JS numbers, for mingo's arithmetic; `value` itself when it holds none. */
export function promoteNumbers<T>(value: T): T {
  if (isWrapped(value)) {
    if (value._bsontype === 'Double') return value.value as T;
    const long = value as Long;
    return (Number.isSafeInteger(long.toNumber()) ? long.toNumber() : long) as T;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = promoteNumbers(value[i]);
      if (item !== value[i]) (copy ??= [...value])[i] = item;
    }
    return (copy ?? value) as T;
  }
  if (isPlain(value)) {
    let copy: Doc | undefined;
    for (const key of Object.keys(value)) {
      const item = promoteNumbers(value[key]);
      if (item !== value[key]) (copy ??= { ...value })[key] = item;
    }
    return (copy ?? value) as T;
  }
  return value;
}
