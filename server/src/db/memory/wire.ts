/**
 * MongoDB wire protocol framing: OP_MSG (body and document-sequence sections, checksum,
 * moreToCome) and the legacy OP_QUERY/OP_REPLY pair that drivers use for the first handshake.
 */
import { serialize } from 'bson';
import type { Doc } from './indexes';
import { decodeReceived } from './typed-numbers';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;

const FLAG_CHECKSUM_PRESENT = 1 << 0;
const FLAG_MORE_TO_COME = 1 << 1;
const FLAG_EXHAUST_ALLOWED = 1 << 16;
const HEADER_SIZE = 16;
export const MAX_MESSAGE_SIZE = 48_000_000;

/** A command's session fields: longs in every command of a session, read as numbers. */
const ENVELOPE = ['txnNumber', '$clusterTime', 'lsid'].map((name) => Buffer.from(name, 'latin1'));

export interface IncomingMessage {
  requestId: number;
  opCode: number;
  /** The command document, with document-sequence sections merged in as arrays. */
  command: Doc;
  /** The client does not want a reply (OP_MSG moreToCome). */
  moreToCome: boolean;
  /** The client reads replies pushed with moreToCome without asking again (OP_MSG exhaustAllowed). */
  exhaustAllowed: boolean;
}

export class ProtocolError extends Error {}

/** Length of the first complete message in `buffer`, or 0 when more bytes are needed. */
export function completeMessageLength(buffer: Buffer): number {
  if (buffer.length < 4) return 0;
  const length = buffer.readInt32LE(0);
  if (length < HEADER_SIZE || length > MAX_MESSAGE_SIZE) throw new ProtocolError(`invalid message length ${length}`);
  return buffer.length >= length ? length : 0;
}

function readCString(buffer: Buffer, offset: number): [string, number] {
  const end = buffer.indexOf(0, offset);
  if (end < 0) throw new ProtocolError('unterminated cstring');
  return [buffer.toString('utf8', offset, end), end + 1];
}

/** The BSON each document of a document sequence (an insert's documents) arrived as. */
const received = new WeakMap<Doc, Buffer>();

/** The bytes `doc` arrived as, when it came in a document sequence: an insert stores them as they are. */
export function receivedBytes(doc: Doc): Buffer | undefined {
  return received.get(doc);
}

function documentBytes(buffer: Buffer, offset: number): Buffer {
  const size = buffer.readInt32LE(offset);
  if (size < 5 || offset + size > buffer.length) throw new ProtocolError('invalid BSON document size');
  return buffer.subarray(offset, offset + size);
}

function readDocument(buffer: Buffer, offset: number): [Doc, number] {
  const bytes = documentBytes(buffer, offset);
  // Numbers keep their BSON types (a long stays a long, 5.0 a double): they are stored as sent.
  return [decodeReceived(bytes, ENVELOPE), offset + bytes.length];
}

/** The document sequence whose documents are decoded only when their statements run. */
const DECODED_LATER = 'documents';

/**
 * A document of an insert's document sequence, decoded when its statement runs (and its bytes then
 * stored as they arrived): decoding all of them as the message arrived held the event loop for a
 * second and more for an insert of 20,000 cards, however the statements were then sliced.
 */
export class SequencedDocument {
  constructor(readonly bytes: Buffer) {}

  decode(): Doc {
    const doc = decodeReceived(this.bytes);
    received.set(doc, this.bytes);
    return doc;
  }
}

/** A statement of a write command as its handler reads it: decoded now when it came in a document sequence. */
export function decodedStatement(statement: unknown): unknown {
  return statement instanceof SequencedDocument ? statement.decode() : statement;
}

export function parseMessage(message: Buffer): IncomingMessage {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_MSG) {
    const flags = message.readUInt32LE(HEADER_SIZE);
    const end = message.length - (flags & FLAG_CHECKSUM_PRESENT ? 4 : 0);
    let offset = HEADER_SIZE + 4;
    let command: Doc | undefined;
    const sequences: [string, (Doc | SequencedDocument)[]][] = [];
    while (offset < end) {
      const kind = message.readUInt8(offset++);
      if (kind === 0) {
        [command, offset] = readDocument(message, offset);
      } else if (kind === 1) {
        if (offset + 4 > end) throw new ProtocolError('truncated OP_MSG document sequence');
        const length = message.readInt32LE(offset);
        // A length shorter than its own header (or negative) would step back and re-read the section forever.
        if (length < 5 || offset + length > end) throw new ProtocolError(`invalid OP_MSG document sequence length ${length}`);
        const sectionEnd = offset + length;
        const [identifier, start] = readCString(message, offset + 4);
        if (start > sectionEnd) throw new ProtocolError('OP_MSG document sequence identifier overruns its section');
        let position = start;
        const docs: (Doc | SequencedDocument)[] = [];
        while (position < sectionEnd) {
          const bytes = documentBytes(message, position);
          position += bytes.length;
          if (position > sectionEnd) throw new ProtocolError('document overruns its OP_MSG document sequence');
          docs.push(identifier === DECODED_LATER ? new SequencedDocument(bytes) : decodeReceived(bytes));
        }
        sequences.push([identifier, docs]);
        offset = sectionEnd;
      } else {
        throw new ProtocolError(`unknown OP_MSG section kind ${kind}`);
      }
    }
    if (!command) throw new ProtocolError('OP_MSG without a body section');
    for (const [identifier, docs] of sequences) command[identifier] = docs;
    return { requestId, opCode, command, moreToCome: (flags & FLAG_MORE_TO_COME) !== 0, exhaustAllowed: (flags & FLAG_EXHAUST_ALLOWED) !== 0 };
  }
  if (opCode === OP_QUERY) {
    let offset = HEADER_SIZE + 4;
    let collection: string;
    [collection, offset] = readCString(message, offset);
    offset += 8; // numberToSkip, numberToReturn
    let [query] = readDocument(message, offset);
    if (query.$query && typeof query.$query === 'object') query = query.$query as Doc;
    const db = collection.slice(0, collection.indexOf('.'));
    return { requestId, opCode, command: { ...query, $db: db }, moreToCome: false, exhaustAllowed: false };
  }
  throw new ProtocolError(`unsupported opCode ${opCode}`);
}

let nextRequestId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const buffer = Buffer.alloc(HEADER_SIZE);
  buffer.writeInt32LE(length, 0);
  buffer.writeInt32LE(nextRequestId++ & 0x7fffffff, 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
  return buffer;
}

/** The reply to a request, in the request's own protocol. */
const EMPTY_ARRAY = Buffer.from([5, 0, 0, 0, 0]);

/**
 * The reply's BSON. A cursor batch of stored BSON documents (Buffers) is spliced in as it is: the
 * reply is serialized with an empty batch, whose five bytes are replaced by the batch array, and
 * the sizes of the cursor document and the reply grow by the difference.
 */
function serializeReply(reply: Doc): Buffer {
  const cursor = reply.cursor as Doc | undefined;
  const field = cursor && (Array.isArray(cursor.firstBatch) ? 'firstBatch' : Array.isArray(cursor.nextBatch) ? 'nextBatch' : null);
  const batch = field ? (cursor![field] as unknown[]) : null;
  if (!field || !batch?.some((item) => Buffer.isBuffer(item))) return Buffer.from(serialize(reply));
  const parts: Buffer[] = [Buffer.alloc(4)];
  batch.forEach((item, i) => parts.push(Buffer.from([3]), Buffer.from(`${i}\0`), Buffer.isBuffer(item) ? item : Buffer.from(serialize(item as Doc))));
  parts.push(Buffer.from([0]));
  const array = Buffer.concat(parts);
  array.writeInt32LE(array.length, 0);
  cursor![field] = [];
  const body = Buffer.from(serialize(reply));
  cursor![field] = batch;
  const cursorAt = body.indexOf(Buffer.from('\x03cursor\x00', 'latin1'));
  const placeholder = body.indexOf(Buffer.concat([Buffer.from(`\x04${field}\x00`, 'latin1'), EMPTY_ARRAY]), cursorAt);
  const arrayAt = placeholder + 2 + field.length;
  const out = Buffer.concat([body.subarray(0, arrayAt), array, body.subarray(arrayAt + EMPTY_ARRAY.length)]);
  const delta = array.length - EMPTY_ARRAY.length;
  out.writeInt32LE(body.readInt32LE(0) + delta, 0);
  const cursorSize = cursorAt + 8;
  out.writeInt32LE(body.readInt32LE(cursorSize) + delta, cursorSize);
  return out;
}

/** The reply to `request`; `moreToCome` (OP_MSG only) tells the client another reply follows unasked. */
export function encodeReply(request: Pick<IncomingMessage, 'requestId' | 'opCode'>, reply: Doc, moreToCome = false): Buffer {
  const body = serializeReply(reply);
  if (request.opCode === OP_QUERY) {
    const prefix = Buffer.alloc(20);
    prefix.writeInt32LE(0, 0); // responseFlags
    prefix.writeBigInt64LE(0n, 4); // cursorID
    prefix.writeInt32LE(0, 12); // startingFrom
    prefix.writeInt32LE(1, 16); // numberReturned
    return Buffer.concat([header(HEADER_SIZE + prefix.length + body.length, request.requestId, OP_REPLY), prefix, body]);
  }
  const flagsAndKind = Buffer.alloc(5);
  flagsAndKind.writeUInt32LE(moreToCome ? FLAG_MORE_TO_COME : 0, 0);
  return Buffer.concat([header(HEADER_SIZE + flagsAndKind.length + body.length, request.requestId, OP_MSG), flagsAndKind, body]);
}
