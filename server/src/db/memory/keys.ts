/**
 * Order-preserving binary encoding of BSON values for LMDB keys: comparing two encodings byte by
 * byte gives MongoDB's comparison order. Type brackets come first (MinKey < null < numbers <
 * strings < objects < arrays < BinData < ObjectId < booleans < dates < timestamps < regexes <
 * MaxKey); numbers compare across int, long, double and decimal; strings by their UTF-8 bytes.
 * Every encoding is self-delimiting, so tuples concatenate, and inverting a component's bytes
 * reverses its order (descending index fields).
 */
import { asDouble, floorParts, FRACTION_BITS } from './numbers';

/**
 * The version of these encodings that stored keys are written in (saved per collection): 2 keys a
 * decimal between doubles and a long beyond ±2^53 by their exact value (1 keyed them by a nearby
 * double). A collection saved in an older format is brought up to date at start-up (`Store.upgradeKeyFormat`).
 */
export const KEY_FORMAT = 2;

export const TYPE = {
  minKey: 0x01,
  null: 0x05,
  number: 0x10,
  string: 0x14,
  object: 0x18,
  array: 0x1c,
  binary: 0x20,
  objectId: 0x24,
  boolean: 0x28,
  date: 0x2c,
  timestamp: 0x30,
  regex: 0x34,
  code: 0x38,
  maxKey: 0x3c,
} as const;

/** Strings longer than this many UTF-8 bytes are cut in keys (and the key marked inexact). */
const MAX_STRING_BYTES = 1024;
/** Whole index tuples are cut here, leaving room for the record id under LMDB's 1978-byte limit. */
export const MAX_TUPLE_BYTES = 1400;
/** An `_id` whose encoding is longer cannot be stored (it is the record's key). */
export const MAX_ID_BYTES = 512;

const encoder = new TextEncoder();

/** A growable byte buffer that encodings are written into. */
export class KeyWriter {
  buffer = Buffer.allocUnsafe(256);
  length = 0;
  /** Set when a value had to be shortened: equal keys may then hold different values. */
  inexact = false;

  reset(): this {
    this.length = 0;
    this.inexact = false;
    return this;
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  byte(value: number): void {
    this.ensure(1);
    this.buffer[this.length++] = value;
  }

  bytes(source: Uint8Array): void {
    this.ensure(source.length);
    this.buffer.set(source, this.length);
    this.length += source.length;
  }

  /** Bytes with 0x00 escaped as 0x00 0xFF, terminated by 0x00 0x00 (or 0x00 0x01 when cut). */
  escaped(source: Uint8Array, limit = Infinity): void {
    const end = Math.min(source.length, limit);
    this.ensure(end * 2 + 2);
    for (let i = 0; i < end; i++) {
      const b = source[i]!;
      this.buffer[this.length++] = b;
      if (b === 0) this.buffer[this.length++] = 0xff;
    }
    this.buffer[this.length++] = 0;
    this.buffer[this.length++] = end < source.length ? 1 : 0;
    if (end < source.length) this.inexact = true;
  }

  /**
   * A string as `escaped` writes its UTF-8 bytes, without an intermediate copy when it cannot be
   * cut (at most 3 bytes per UTF-16 unit) and holds no NUL: most keys' strings, e.g. a card's words.
   */
  escapedString(value: string, limit: number): void {
    if (value.length * 3 <= limit) {
      this.ensure(value.length * 3 + 2);
      const start = this.length;
      const end = start + this.buffer.write(value, start, 'utf8');
      let clean = true;
      for (let i = start; i < end && clean; i++) clean = this.buffer[i] !== 0;
      if (clean) {
        this.length = end;
        this.buffer[this.length++] = 0;
        this.buffer[this.length++] = 0;
        return;
      }
    }
    this.escaped(encoder.encode(value), limit);
  }

  invert(from: number): void {
    for (let i = from; i < this.length; i++) this.buffer[i] = ~this.buffer[i]! & 0xff;
  }

  /** A copy of what was written. */
  take(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

function bsonType(value: object): string | undefined {
  return (value as { _bsontype?: string })._bsontype;
}

const scratch = Buffer.allocUnsafe(8);

/** The bits of a number's fraction (see `floorParts`) below the 15 its tail's first two bytes hold. */
const LOW_BITS = BigInt(FRACTION_BITS - 15);
const LOW_BYTES = Number(LOW_BITS) / 8;

/**
 * A number: its floor double (8 bytes, ordered), then a 16-bit tail: the top 15 bits of how far the
 * value lies toward the next double, and a last bit set when more follows (LOW_BYTES bytes). A
 * double's tail is 0; a long beyond 2^53 needs at most 11 bits; only decimals between doubles
 * write more (and mark the key inexact when even that was cut).
 */
function writeDouble(w: KeyWriter, value: number, tail: number): void {
  w.byte(TYPE.number);
  if (Number.isNaN(value)) {
    w.bytes(new Uint8Array(10));
    return;
  }
  scratch.writeDoubleBE(value === 0 ? 0 : value, 0);
  if (scratch[0]! & 0x80) for (let i = 0; i < 8; i++) scratch[i] = ~scratch[i]! & 0xff;
  else scratch[0] = scratch[0]! | 0x80;
  w.bytes(scratch);
  w.byte((tail >> 8) & 0xff);
  w.byte(tail & 0xff);
}

function writeNumberLike(w: KeyWriter, value: unknown): void {
  const double = asDouble(value);
  if (double !== undefined) return writeDouble(w, double, 0);
  const { floor, fraction, exact } = floorParts(value);
  if (!exact) w.inexact = true;
  const low = fraction & ((1n << LOW_BITS) - 1n);
  const more = low !== 0n || !exact;
  writeDouble(w, floor, Number(fraction >> LOW_BITS) * 2 + (more ? 1 : 0));
  if (!more) return;
  for (let i = LOW_BYTES - 1; i >= 0; i--) w.byte(Number((low >> BigInt(i * 8)) & 0xffn));
}

/** A finite decimal's digits without leading or trailing zeros and the power of ten they are scaled by; null for others. */
export function decimalParts(text: string): { negative: boolean; digits: string; exponent: number } | null {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:E([-+]?\d+))?$/i.exec(text);
  if (!match) return null;
  const all = `${match[2]}${match[3] ?? ''}`.replace(/^0+/, '');
  const digits = all.replace(/0+$/, '');
  const exponent = digits === '' ? 0 : Number(match[4] ?? 0) - (match[3]?.length ?? 0) + (all.length - digits.length);
  return { negative: match[1] === '-' && digits !== '', digits, exponent };
}

/** The double a Decimal128 (as text) equals exactly, or null when no double does (0.1, most 16+ digit values). */
export function decimalAsDouble(text: string): number | null {
  const parts = decimalParts(text);
  if (!parts) return null;
  if (parts.digits === '') return 0;
  const x = Number(text);
  if (!Number.isFinite(x) || x === 0) return null;
  // x = mantissa · 2^power exactly; the decimal is digits · 10^exponent: compare as integers.
  scratch.writeDoubleBE(Math.abs(x), 0);
  const bits = scratch.readBigUInt64BE(0);
  const biased = Number(bits >> 52n);
  const mantissa = (bits & ((1n << 52n) - 1n)) | (biased === 0 ? 0n : 1n << 52n);
  const power = (biased === 0 ? 1 : biased) - 1075;
  const ten = (n: number) => 10n ** BigInt(n);
  const two = (n: number) => 1n << BigInt(n);
  const left = BigInt(parts.digits) * (parts.exponent > 0 ? ten(parts.exponent) : 1n) * (power < 0 ? two(-power) : 1n);
  const right = mantissa * (power > 0 ? two(power) : 1n) * (parts.exponent < 0 ? ten(-parts.exponent) : 1n);
  return left === right ? x : null;
}

/** Appends the encoding of one value (missing and undefined encode as null, as in indexes). */
export function encodeValue(w: KeyWriter, value: unknown): void {
  if (value === null || value === undefined) return w.byte(TYPE.null);
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return writeNumberLike(w, value);
    case 'string':
      w.byte(TYPE.string);
      return w.escapedString(value, MAX_STRING_BYTES);
    case 'boolean':
      w.byte(TYPE.boolean);
      return w.byte(value ? 1 : 0);
    case 'object':
      break;
    default:
      w.byte(TYPE.code);
      return w.escaped(encoder.encode(String(value)), MAX_STRING_BYTES);
  }
  if (Array.isArray(value)) {
    w.byte(TYPE.array);
    for (const item of value) encodeValue(w, item);
    return w.byte(0);
  }
  if (value instanceof Date) {
    w.byte(TYPE.date);
    const time = value.getTime();
    scratch.writeBigInt64BE(BigInt(Number.isNaN(time) ? 0 : time), 0);
    scratch[0] = scratch[0]! ^ 0x80;
    return w.bytes(scratch);
  }
  if (value instanceof RegExp) {
    w.byte(TYPE.regex);
    w.escaped(encoder.encode(value.source));
    return w.escaped(encoder.encode(value.flags));
  }
  switch (bsonType(value)) {
    case 'ObjectId':
      w.byte(TYPE.objectId);
      return w.bytes((value as { id: Uint8Array }).id);
    case 'Long':
    case 'Int32':
    case 'Double':
    case 'Decimal128':
      return writeNumberLike(w, value);
    case 'Binary': {
      const bin = value as { buffer: Uint8Array; position: number; sub_type: number };
      const data = bin.buffer.subarray(0, bin.position);
      w.byte(TYPE.binary);
      scratch.writeUInt32BE(data.length, 0);
      w.bytes(scratch.subarray(0, 4));
      w.byte(bin.sub_type);
      if (data.length > MAX_STRING_BYTES) {
        w.bytes(data.subarray(0, MAX_STRING_BYTES));
        w.inexact = true;
      } else w.bytes(data);
      return;
    }
    case 'Timestamp': {
      const ts = value as { t: number; i: number };
      w.byte(TYPE.timestamp);
      scratch.writeUInt32BE(ts.t >>> 0, 0);
      scratch.writeUInt32BE(ts.i >>> 0, 4);
      return w.bytes(scratch);
    }
    case 'BSONRegExp': {
      const re = value as { pattern: string; options: string };
      w.byte(TYPE.regex);
      w.escaped(encoder.encode(re.pattern));
      return w.escaped(encoder.encode(re.options));
    }
    case 'BSONSymbol':
      w.byte(TYPE.string);
      return w.escaped(encoder.encode(String((value as { value: string }).value)), MAX_STRING_BYTES);
    case 'MinKey':
      return w.byte(TYPE.minKey);
    case 'MaxKey':
      return w.byte(TYPE.maxKey);
    case 'Code':
      w.byte(TYPE.code);
      return w.escaped(encoder.encode(String((value as { code: string }).code)), MAX_STRING_BYTES);
    default:
      break;
  }
  w.byte(TYPE.object);
  for (const [field, item] of Object.entries(value as Record<string, unknown>)) {
    if (item === undefined) continue;
    const start = w.length;
    encodeValue(w, item);
    const itemType = w.buffer[start]!;
    w.length = start;
    w.byte(itemType);
    w.escaped(encoder.encode(field));
    encodeValue(w, item);
  }
  w.byte(0);
}

/** A cut string or binary component is at least this long: its type byte, 1,024 bytes and a two-byte terminator. */
const SHORTEST_CUT = 1 + MAX_STRING_BYTES + 2;

/**
 * Where the first shortened component of an index key ends (the key then stands for every value
 * sharing its bytes up to there: such keys' order among themselves says nothing), or 0 when the
 * key holds every value whole. `directions` are the tuple's (inverted components read back
 * inverted); `tail` is the length of what follows the tuple (a record id). Keys shorter than the
 * shortest cut component are answered at once. Reads the encoding `encodeValue` writes: keep the
 * two in step.
 */
export function cutLength(key: Buffer, from: number, directions: readonly number[], tail: number): number {
  const tupleEnd = key.length - tail;
  if (tupleEnd - from < SHORTEST_CUT) return 0;
  if (tupleEnd >= from + MAX_TUPLE_BYTES) return from + MAX_TUPLE_BYTES;
  let pos = from;
  for (const direction of directions) {
    pos = componentEnd(key, pos, direction);
    if (pos < 0) return Math.min(-pos, key.length);
    if (pos >= tupleEnd) return 0;
  }
  return 0;
}

/**
 * Where the key component (one value of the tuple) starting at `from` ends, read as `encodeValue`
 * writes it (`direction` -1: inverted); negative (minus the position after it) when the value was
 * cut for length. Keep the two in step.
 */
export function componentEnd(key: Buffer, from: number, direction: number): number {
  const mask = direction === -1 ? 0xff : 0;
  const at = (i: number) => (i < key.length ? key[i]! ^ mask : 0);
  // Past the end of an escaped run: the position after its terminator, negative when it was cut.
  const escaped = (i: number): number => {
    for (; i < key.length; i++) {
      if (at(i) !== 0) continue;
      const next = at(++i);
      if (next === 0) return i + 1;
      if (next === 1) return -(i + 1);
    }
    return -key.length;
  };
  const value = (i: number): number => {
    const type = at(i++);
    switch (type) {
      case TYPE.minKey:
      case TYPE.null:
      case TYPE.maxKey:
        return i;
      case TYPE.number:
        // The floor double and its 2-byte tail; a tail ending in 1 is followed by the fraction's low bytes (writeNumberLike).
        return at(i + 9) & 1 ? i + 10 + LOW_BYTES : i + 10;
      case TYPE.string:
      case TYPE.code:
        return escaped(i);
      case TYPE.regex: {
        const end = escaped(i);
        return end < 0 ? end : escaped(end);
      }
      case TYPE.object:
      case TYPE.array:
        while (i < key.length && at(i) !== 0) {
          if (type === TYPE.object) {
            i = escaped(i + 1);
            if (i < 0) return i;
          }
          i = value(i);
          if (i < 0) return i;
        }
        return i + 1;
      case TYPE.binary: {
        const length = ((at(i) << 24) | (at(i + 1) << 16) | (at(i + 2) << 8) | at(i + 3)) >>> 0;
        const end = i + 5 + Math.min(length, MAX_STRING_BYTES);
        return length > MAX_STRING_BYTES ? -end : end;
      }
      case TYPE.objectId:
        return i + 12;
      case TYPE.boolean:
        return i + 1;
      case TYPE.date:
      case TYPE.timestamp:
        return i + 8;
      default:
        return -i;
    }
  };
  return value(from);
}

const idWriter = new KeyWriter();

/** The record key of an `_id` value, or null when no record can have that `_id` (its key would be too long, or shared). */
export function storableIdKey(id: unknown): Buffer | null {
  idWriter.reset();
  encodeValue(idWriter, id);
  // A decimal no double equals (0.1, 17 digits) is told apart from its neighbours by its digits.
  const parts = idWriter.inexact && typeof id === 'object' && bsonType(id as object) === 'Decimal128' ? decimalParts(String(id)) : null;
  if (parts) {
    idWriter.inexact = false;
    idWriter.escaped(encoder.encode(`${parts.negative ? '-' : ''}${parts.digits}e${parts.exponent}`));
  }
  return idWriter.length > MAX_ID_BYTES || idWriter.inexact ? null : idWriter.take();
}

/** The record key of an `_id` value; throws when it cannot be stored. */
export function idKeyOf(id: unknown): Buffer {
  const key = storableIdKey(id);
  if (key) return key;
  if (idWriter.length > MAX_ID_BYTES) throw new Error(`_id is too long to store (${idWriter.length} bytes encoded; at most ${MAX_ID_BYTES})`);
  throw new Error('_id cannot be stored by the built-in database: strings and binaries in it must stay under 512 bytes, and decimals in an embedded _id must equal a double');
}

/** The smallest key greater than every key starting with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]);
}

export function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}
