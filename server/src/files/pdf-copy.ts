import { AsyncLocalStorage } from 'node:async_hooks';
import { constants, inflateRawSync } from 'node:zlib';
import {
  decodePDFRawStream,
  PDFArray,
  PDFDict,
  type PDFContext,
  PDFDocument,
  PDFName,
  PDFObjectStreamParser,
  PDFInvalidObject,
  PDFRawStream,
  PDFRef,
  PDFStream,
  PDFXRefStreamParser,
  type PDFObject,
} from 'pdf-lib';
import type { PreviewRefusal } from './model';
import { ACTIVE_NAMES } from './pdf-scan';

/**
 * The most bytes a document's object and cross-reference streams — the only streams pdf-lib decodes
 * to read a document — may decode to, together. pdf-lib holds them in ArrayBuffers, outside the
 * worker's heap limit: without this bound a PDF of a hundred kilobytes made the server hold hundreds
 * of megabytes.
 */
export const DECODED_BYTES_LIMIT = 64 * 1024 * 1024;

/**
 * The largest copy of a document of `bytes`: twice its size and 64 KB. pdf-lib writes the objects of
 * object streams uncompressed, so a copy could be a thousand times the upload (a 99 KB PDF made a
 * 100 MB copy, kept beside it and read for every view); an ordinary document's copy is about its size.
 */
export const copyLimit = (bytes: number) => 2 * bytes + 64 * 1024;

/** What makes a safe copy: its bytes, or why the document cannot have one. */
export type SafeCopy = { copy: Uint8Array } | { refused: Extract<PreviewRefusal, { reason: 'encrypted' | 'damaged' | 'tooMuchCompressed' | 'copyTooLarge' }> };

class DecodingBudgetSpent extends Error {}

/** What is left of the decoding budget of the document pdf-lib is reading for `safePdfCopy`, and whether it was spent. */
const reading = new AsyncLocalStorage<{ left: number; spent: boolean }>();

const FILTER = PDFName.of('Filter');
const DECODE_PARMS = PDFName.of('DecodeParms');
const FLATE = PDFName.of('FlateDecode');
/** The other decoders (LZW, run length, ASCII) make at most a few megabytes per block they decode: read in parts, they stop near the budget. */
const PART = 1024 * 1024;

/**
 * One filter's output, within `left` bytes (else DecodingBudgetSpent). Flate is inflated by zlib, which
 * stops at the limit exactly (pdf-lib's inflater decodes a whole deflate block at a time, and one block
 * can make a hundred megabytes); like pdf-lib's, it checks the two-byte header and not the checksum.
 */
function decodeFilter(context: PDFContext, contents: Uint8Array, filter: PDFName, params: PDFObject | undefined, left: number): Uint8Array {
  if (filter === FLATE) {
    const [cmf, flg] = contents;
    if (contents.length < 2 || (cmf & 0x0f) !== 0x08 || ((cmf << 8) + flg) % 31 !== 0 || flg & 0x20) throw new Error('invalid header in a flate stream');
    if (left <= 0) throw new DecodingBudgetSpent();
    try {
      return inflateRawSync(contents.subarray(2), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: left });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new DecodingBudgetSpent();
      throw error;
    }
  }
  const dict = context.obj({});
  dict.set(FILTER, filter);
  if (params) dict.set(DECODE_PARMS, params);
  const decoder = decodePDFRawStream(PDFRawStream.of(dict, contents));
  for (let made = 0; ;) {
    const part = decoder.getBytes(PART);
    if (part.length === 0) return decoder.decode();
    made += part.length;
    if (made > left) throw new DecodingBudgetSpent();
  }
}

/**
 * An object or cross-reference stream as pdf-lib reads it (its filters applied, as pdf-lib's
 * decodePDFRawStream applies them), decoded here within what is left of its document's budget and
 * given to pdf-lib undecoded. Once the budget is spent, no stream of that document is decoded.
 */
function decodedWithinBudget(raw: PDFRawStream): PDFRawStream {
  const budget = reading.getStore();
  const { dict } = raw;
  const filter = dict.lookup(FILTER);
  const params = dict.lookup(DECODE_PARMS);
  // Not read for a copy, not encoded, or given a /Filter pdf-lib refuses itself.
  if (!budget || !(filter instanceof PDFName || filter instanceof PDFArray)) return raw;
  const chain: [PDFName, PDFObject | undefined][] =
    filter instanceof PDFName
      ? [[filter, params]]
      : filter.asArray().map((_, index) => [filter.lookup(index, PDFName), params instanceof PDFArray ? params.lookupMaybe(index, PDFDict) : undefined]);
  let contents = raw.contents;
  try {
    if (budget.spent) throw new DecodingBudgetSpent();
    for (const [name, parms] of chain) contents = decodeFilter(dict.context, contents, name, parms, budget.left);
  } catch (error) {
    // pdf-lib takes a stream it cannot read for a damaged object and reads on: the budget remembers.
    if (error instanceof DecodingBudgetSpent) budget.spent = true;
    throw error;
  }
  budget.left -= contents.length;
  const decoded = dict.clone();
  decoded.delete(FILTER);
  decoded.delete(DECODE_PARMS);
  return PDFRawStream.of(decoded, contents);
}

// pdf-lib decodes a stream only to read an object stream or a cross-reference stream, through these two.
const readObjectStream = PDFObjectStreamParser.forStream;
PDFObjectStreamParser.forStream = (raw, shouldWaitForTick) => readObjectStream(decodedWithinBudget(raw), shouldWaitForTick);
const readXRefStream = PDFXRefStreamParser.forStream;
PDFXRefStreamParser.forStream = (raw) => readXRefStream(decodedWithinBudget(raw));

/** Keys that start something in a viewer (actions, scripts, forms, annotations) or name what does: never in a copy. */
const ACTING_KEYS = ['AA', 'A', 'OpenAction', 'JS', 'JavaScript', 'AcroForm', 'XFA', 'Annots', 'Names', 'URI', 'Next'].map((key) => PDFName.of(key));
/** Action types (the /S of an action dictionary); a dictionary naming one is emptied. */
const ACTION_TYPES = new Set(
  [
    'JavaScript',
    'Launch',
    'SubmitForm',
    'ResetForm',
    'ImportData',
    'URI',
    'GoTo',
    'GoToR',
    'GoToE',
    'Thread',
    'Named',
    'Hide',
    'Sound',
    'Movie',
    'Rendition',
    'Trans',
    'SetOCGState',
    'GoTo3DView',
    'RichMediaExecute',
  ].map((type) => PDFName.of(type)),
);
const S = PDFName.of('S');
const TYPE = PDFName.of('Type');
const ACTION = PDFName.of('Action');

/** Removes from a dictionary (and the dictionaries and arrays directly inside it) everything that can act. */
function disarm(object: PDFObject): void {
  const dict = object instanceof PDFStream ? object.dict : object instanceof PDFDict ? object : null;
  if (dict) {
    if (ACTION_TYPES.has(dict.get(S) as PDFName) || dict.get(TYPE) === ACTION) for (const key of dict.keys()) dict.delete(key);
    for (const key of ACTING_KEYS) dict.delete(key);
    for (const [, value] of dict.entries()) disarm(value);
  } else if (object instanceof PDFArray) for (const value of object.asArray()) disarm(value);
}

/** The byte scan's names of active content (pdf-scan.ts), as pdf-lib's names. */
const ACTIVE_PDF_NAMES = new Set([...ACTIVE_NAMES].map((name) => PDFName.of(name)));
/** Keys whose value a viewer starts or follows on its own or on a click: one pdf-lib cannot read is an action hidden from it. */
const STARTING_KEYS = ['OpenAction', 'A', 'AA', 'Next', 'JS'].map((key) => PDFName.of(key));

/** What in one object (and the dictionaries and arrays directly inside it) is active as pdf-lib reads it, or null. */
function activeIn(context: PDFContext, object: PDFObject | undefined): string | null {
  const dict = object instanceof PDFStream ? object.dict : object instanceof PDFDict ? object : null;
  if (dict) {
    for (const [key, value] of dict.entries()) {
      if (ACTIVE_PDF_NAMES.has(key)) return key.asString();
      if (value instanceof PDFName && ACTIVE_PDF_NAMES.has(value)) return value.asString();
      if (STARTING_KEYS.includes(key) && value instanceof PDFRef) {
        const target = context.lookup(value);
        if (target === undefined || target instanceof PDFInvalidObject) return `${key.asString()} pointing at an object pdf-lib cannot read`;
      }
      const inside = activeIn(context, value);
      if (inside) return inside;
    }
  } else if (object instanceof PDFArray) {
    for (const value of object.asArray()) {
      const inside = activeIn(context, value);
      if (inside) return inside;
    }
  }
  return null;
}

/**
 * Whether what the safe copy leaves out acts: the document as pdf-lib reads it to copy it (within the
 * same decoding budget) holds a script, an automatic action, a form submission or media in any
 * object, or an opening action, link or annotation action pointing at an object pdf-lib cannot read
 * (what another reader takes there, pdf-lib does not see). Null when nothing is found or pdf-lib
 * cannot read the document at all (it then has no copy); the budget spent counts as active. Beside
 * the byte scan (`scanPdf`), it makes the download's warning cover documents that scan misreads.
 */
export async function activeAsCopied(content: Uint8Array): Promise<string | null> {
  const budget = { left: DECODED_BYTES_LIMIT, spent: false };
  let source: PDFDocument;
  try {
    source = await reading.run(budget, () => PDFDocument.load(content, { updateMetadata: false, ignoreEncryption: true }));
  } catch {
    return budget.spent ? 'too much compressed data' : null;
  }
  if (budget.spent) return 'too much compressed data';
  const { context } = source;
  // The catalog and everything else the trailer names are indirect objects.
  for (const [, object] of context.enumerateIndirectObjects()) {
    const found = activeIn(context, object);
    if (found) return found;
  }
  return null;
}

/**
 * A PDF rebuilt from what pdf-lib reads of it, for the browser's viewer (content disarm and
 * reconstruction): a new document holding copies of its pages — their content, resources and sizes —
 * and nothing else: no catalog entries of the original (opening actions, scripts, forms, XFA), and on
 * the pages no annotations and no page actions; every copied object is cleared of action keys. Bytes
 * pdf-lib did not take as the document's pages (whatever another reader might find in them) are not in
 * the copy. An encrypted or unreadable document has no copy, nor one whose object and cross-reference
 * streams decode to more than DECODED_BYTES_LIMIT (a compression bomb), nor one whose copy would be
 * larger than `copyLimit`.
 */
export async function safePdfCopy(content: Uint8Array): Promise<SafeCopy> {
  const budget = { left: DECODED_BYTES_LIMIT, spent: false };
  const tooMuchCompressed: SafeCopy = { refused: { reason: 'tooMuchCompressed', limitBytes: DECODED_BYTES_LIMIT } };
  const damaged: SafeCopy = { refused: { reason: 'damaged' } };
  let source: PDFDocument;
  try {
    // Loaded even when encrypted, to tell that apart (pdf-lib's own error cannot be told by its class).
    source = await reading.run(budget, () => PDFDocument.load(content, { updateMetadata: false, ignoreEncryption: true }));
  } catch {
    return budget.spent ? tooMuchCompressed : damaged;
  }
  if (budget.spent) return tooMuchCompressed;
  // pdf-lib does not decrypt: an encrypted document's pages would be copied as unreadable bytes.
  if (source.isEncrypted) return { refused: { reason: 'encrypted' } };
  try {
    // Off the originals before copying, so that what they point to is not copied at all.
    for (const page of source.getPages()) for (const key of ACTING_KEYS) page.node.delete(key);
    const copy = await PDFDocument.create({ updateMetadata: false });
    for (const page of await copy.copyPages(source, source.getPageIndices())) copy.addPage(page);
    for (const [, object] of copy.context.enumerateIndirectObjects()) disarm(object);
    if (copy.getPageCount() === 0) return damaged;
    const saved = await copy.save({ useObjectStreams: false });
    if (saved.length > copyLimit(content.length)) return { refused: { reason: 'copyTooLarge', limitBytes: copyLimit(content.length) } };
    return { copy: saved };
  } catch {
    return damaged;
  }
}
