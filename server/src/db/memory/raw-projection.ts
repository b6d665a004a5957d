/**
 * A find projection of top-level fields applied to a document's stored BSON: the elements kept are
 * copied as they are, nothing is decoded. It keeps `find` on the path that sends stored bytes
 * (`openRawCursor`) when a client leaves out large fields it does not need (a card's search words)
 * or asks for a few (a search's candidates): decoding, projecting and encoding the document again
 * would cost the database more than the fields left out save.
 */
import type { Doc } from './indexes';

const skipCString = (bytes: Buffer, at: number): number => bytes.indexOf(0, at) + 1;

/** The offset after the value of an element of `type` starting at `at` (a valid document's). */
function valueEnd(bytes: Buffer, type: number, at: number): number {
  switch (type) {
    case 0x01: // double
    case 0x09: // date
    case 0x11: // timestamp
    case 0x12: // long
      return at + 8;
    case 0x02: // string
    case 0x0d: // code
    case 0x0e: // symbol
      return at + 4 + bytes.readInt32LE(at);
    case 0x03: // document
    case 0x04: // array
    case 0x0f: // code with scope: each its total length
      return at + bytes.readInt32LE(at);
    case 0x05: // binary: length, subtype, bytes
      return at + 5 + bytes.readInt32LE(at);
    case 0x07: // ObjectId
      return at + 12;
    case 0x08: // boolean
      return at + 1;
    case 0x0b: // regex: pattern and flags
      return skipCString(bytes, skipCString(bytes, at));
    case 0x0c: // DBPointer: string and ObjectId
      return at + 4 + bytes.readInt32LE(at) + 12;
    case 0x10: // int32
      return at + 4;
    case 0x13: // decimal
      return at + 16;
    default: // undefined, null, MinKey, MaxKey: no value bytes
      return at;
  }
}

const flag = (value: unknown): boolean | null => (value === 1 || value === true ? true : value === 0 || value === false ? false : null);

/**
 * The projection as a function of stored BSON, when it names top-level fields only, all included
 * (`_id` kept unless `_id: 0`) or all left out; null for any other (the document is decoded and
 * projected instead). Fields keep the document's order, as MongoDB's projections do.
 */
export function rawProjection(projection: Doc | undefined): ((raw: Buffer) => Buffer) | null {
  if (!projection) return null;
  const fields = Object.entries(projection);
  if (fields.length === 0) return null;
  let id = true;
  const named = new Map<string, boolean>();
  for (const [field, value] of fields) {
    const included = flag(value);
    if (included === null || field.includes('.') || field.startsWith('$') || field.length === 0) return null;
    if (field === '_id') id = included;
    else named.set(field, included);
  }
  const modes = new Set(named.values());
  if (modes.size > 1) return null;
  // `{ _id: 0 }` alone leaves out `_id`; `{ _id: 1 }` alone keeps only `_id`.
  const inclusion = modes.size === 1 ? modes.has(true) : id;
  if (inclusion && !id && named.size === 0) return null;
  // Names are matched as the stored bytes (UTF-8), by length first: no string is made per element.
  const byLength: Buffer[][] = [];
  for (const name of named.keys()) {
    const bytes = Buffer.from(name, 'utf8');
    (byLength[bytes.length] ??= []).push(bytes);
  }
  const ID = Buffer.from('_id', 'latin1');
  const isName = (raw: Buffer, from: number, length: number, name: Buffer) => {
    for (let i = 0; i < length; i++) if (raw[from + i] !== name[i]) return false;
    return true;
  };
  const keeps = (raw: Buffer, from: number, to: number): boolean => {
    const length = to - from;
    if (length === 3 && isName(raw, from, 3, ID)) return id;
    const listed = byLength[length]?.some((name) => isName(raw, from, length, name)) ?? false;
    return inclusion ? listed : !listed;
  };
  return (raw) => {
    // The kept elements as runs of bytes [start, end, start, end, …]; neighbouring ones are one run.
    const runs: number[] = [];
    let size = 5;
    const end = raw.length - 1;
    for (let at = 4; at < end;) {
      const start = at;
      const type = raw[at]!;
      let nameEnd = at + 1;
      while (nameEnd < end && raw[nameEnd] !== 0) nameEnd++;
      at = valueEnd(raw, type, nameEnd + 1);
      if (!keeps(raw, start + 1, nameEnd)) continue;
      size += at - start;
      if (runs.length > 0 && runs[runs.length - 1] === start) runs[runs.length - 1] = at;
      else runs.push(start, at);
    }
    const projected = Buffer.allocUnsafe(size);
    projected.writeInt32LE(size, 0);
    let to = 4;
    for (let i = 0; i < runs.length; i += 2) to += raw.copy(projected, to, runs[i], runs[i + 1]);
    projected[to] = 0;
    return projected;
  };
}
