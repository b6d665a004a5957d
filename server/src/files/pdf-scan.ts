import { constants, inflateSync } from 'node:zlib';

/**
 * A conservative reading of a PDF for active content, made to disagree with viewers only on the side
 * of caution: a document counts as plain only when every byte of it was looked at and nothing that
 * runs, acts on its own or plays was found. It does not parse the document the way one viewer does (a
 * parser's reading is what hostile files are built to differ from); it reads every byte:
 *
 * - every name outside stream data, escapes decoded as viewers do (`#4a` and `#4A` alike), is
 *   compared with the names of active content; a name that escapes a letter or a digit (which no
 *   producer needs to) or holds a broken escape is an anomaly, and anomalies count as active;
 * - stream data is where objects hide from a reader that skips it: raw stream bytes holding an object
 *   header (`6 0 obj`) count as active, and so do the long names of active content anywhere in them;
 * - every stream compressed with Flate is inflated (all of them within one budget) and read the same
 *   way; an object stream (a dictionary with /N and /First, or /Type /ObjStm, whatever else it says)
 *   has its every name compared, like the document's own objects; one that cannot be inflated, or is
 *   encoded in a way not read here, counts as active;
 * - encryption, more objects or more inflated bytes than the limits, or no end to a stream count as active.
 */

/** Names of keys and types that run scripts, act on their own, send data or play embedded content. */
const ACTIVE_NAMES = new Set([
  'JS',
  'JavaScript',
  'AA',
  'Launch',
  'SubmitForm',
  'ImportData',
  'RichMedia',
  'RichMediaExecute',
  'RichMediaContent',
  'XFA',
  'OnInstantiate',
  'Rendition',
  'Screen',
  'Movie',
  'Sound',
  '3D',
  '3DD',
  'GoToE',
  // Encrypted strings and streams cannot be read here.
  'Encrypt',
]);
/**
 * The active names long enough not to turn up by chance in binary data (images, fonts): looked for
 * in stream data too. Every script needs one (a script action is `/S /JavaScript`, a document's
 * scripts sit under `/JavaScript`).
 */
const LONG_ACTIVE_NAMES = new Set([...ACTIVE_NAMES].filter((name) => name.length >= 5));
/** Filters that only decode images: their data cannot be read as objects by a viewer's object-stream reader. */
const IMAGE_FILTERS = new Set(['DCTDecode', 'DCT', 'JPXDecode', 'CCITTFaxDecode', 'CCF', 'JBIG2Decode']);
const FLATE_FILTERS = new Set(['FlateDecode', 'Fl']);

export interface PdfScanLimits {
  /** Bytes all inflated streams may make together. */
  inflatedBytes: number;
  /** Objects (headers in the file, and the objects of object streams) the document may have. */
  objects: number;
}

export const PDF_SCAN_LIMITS: PdfScanLimits = { inflatedBytes: 128 * 1024 * 1024, objects: 200_000 };

/** Why a PDF counts as active, or null when it was read through and is plain. */
export type PdfScanVerdict = string | null;

/** A name token: `/` and the regular characters after it (PDF's whitespace and delimiters end it). */
// eslint-disable-next-line no-control-regex
const NAME = /\/([^\x00\t\n\f\r ()<>[\]{}/%]*)/g;
/** An object header: number, generation, `obj`. */
// eslint-disable-next-line no-control-regex
const OBJECT_HEADER = /(?<![0-9])[0-9]{1,10}[\x00\t\n\f\r ]+[0-9]{1,5}[\x00\t\n\f\r ]+obj(?![A-Za-z0-9])/;
/** The `stream` keyword (not `endstream`) after a dictionary, and the end of line or spaces after it. */
// eslint-disable-next-line no-control-regex
const STREAM = />>[\x00\t\n\f\r ]*stream(?:\r\n|\r|\n)?/g;
const END_STREAM = 'endstream';

/** A name with its escapes decoded; null when an escape is broken or stands for a letter or a digit (an anomaly). */
function decodeName(raw: string): string | null {
  if (!raw.includes('#')) return raw;
  let anomaly = false;
  const decoded = raw.replace(/#([0-9A-Fa-f]{2})?/g, (_, hex: string | undefined) => {
    if (!hex) {
      anomaly = true;
      return '#';
    }
    const char = String.fromCharCode(parseInt(hex, 16));
    if (/[A-Za-z0-9]/.test(char)) anomaly = true;
    return char;
  });
  return anomaly ? null : decoded;
}

/** The first name in `text` that is active (of `names`), or an escape anomaly when `strict`; null when there is none. */
function activeName(text: string, names: Set<string>, strict: boolean): PdfScanVerdict {
  for (const match of text.matchAll(NAME)) {
    const decoded = decodeName(match[1]);
    if (decoded === null) {
      if (strict) return `an escaped letter or a broken escape in the name /${match[1]}`;
      continue;
    }
    if (names.has(decoded)) return `/${decoded}`;
  }
  return null;
}

/** The names of a stream's /Filter (one name or an array of names), [] for none; null when it is given some other way (a reference). */
function filtersOf(dictionary: string): string[] | null {
  // eslint-disable-next-line no-control-regex
  const found = /\/Filter[\x00\t\n\f\r ]*(\[[^\]]*\]|\/[^\x00\t\n\f\r ()<>[\]{}/%]*|[^/[]?)/.exec(dictionary);
  if (!found) return [];
  if (!found[1].startsWith('/') && !found[1].startsWith('[')) return null;
  return [...found[1].matchAll(NAME)].map((match) => decodeName(match[1]) ?? '');
}

/** Whether a stream's dictionary makes it an object stream for some viewer: /N and /First (pdf.js needs no /Type), or /Type /ObjStm. */
function isObjectStream(names: Set<string>): boolean {
  return (names.has('N') && names.has('First')) || names.has('ObjStm');
}

/**
 * The dictionary of the stream whose keyword is at `start`: from its object's header (`7 0 obj`) to
 * the keyword. Not `exact` when no header is found after the previous stream, or when a string or a
 * comment in between could hold a false header: the whole text since the previous stream is taken
 * then, and the stream is read as an object stream (it must inflate and is read name by name).
 */
function dictionaryBefore(text: string, outside: number, start: number): { dictionary: string; exact: boolean } {
  const at = text.lastIndexOf('obj', start);
  // eslint-disable-next-line no-control-regex
  const header = at > outside && /(?<![0-9])[0-9]{1,10}[\x00\t\n\f\r ]+[0-9]{1,5}[\x00\t\n\f\r ]+$/.test(text.slice(Math.max(outside, at - 24), at));
  const dictionary = header ? text.slice(at, start) : text.slice(outside, start);
  return { dictionary, exact: header && !/[(%]|(?<!<)<(?!<)|(?<!>)>(?!>)/.test(dictionary) };
}

/**
 * Reads a whole PDF (`content`) for active content within `limits`; null when it is plain, else why
 * it counts as active. Pure and synchronous: it is run off the main thread (`pdf-check-worker.ts`).
 */
export function scanPdf(content: Uint8Array, limits: PdfScanLimits = PDF_SCAN_LIMITS): PdfScanVerdict {
  const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  // One byte per character: positions in the text are positions in the file.
  const text = bytes.toString('latin1');
  let objects = 0;
  for (const header = new RegExp(OBJECT_HEADER.source, 'g'); header.exec(text);) {
    objects += 1;
    if (objects > limits.objects) return `more than ${limits.objects} objects`;
  }
  let inflatedLeft = limits.inflatedBytes;
  let outside = 0;
  for (const stream of text.matchAll(STREAM)) {
    const start = stream.index;
    if (start < outside) continue;
    // The text before this stream's data (the objects before it and its own dictionary) is read name by name.
    const before = text.slice(outside, start);
    const found = activeName(before, ACTIVE_NAMES, true);
    if (found) return found;
    const dataStart = start + stream[0].length;
    const end = text.indexOf(END_STREAM, dataStart);
    if (end < 0) return 'a stream without an end';
    const { dictionary, exact } = dictionaryBefore(text, outside, start);
    const dictionaryNames = new Set([...dictionary.matchAll(NAME)].map((match) => decodeName(match[1]) ?? ''));
    const objectStream = !exact || isObjectStream(dictionaryNames);
    const data = text.slice(dataStart, end);
    // Objects hidden in stream data, where a reader that skips it never looks, and scripts there.
    if (new RegExp(OBJECT_HEADER.source).test(data)) return 'an object inside stream data';
    const inData = activeName(data, LONG_ACTIVE_NAMES, false);
    if (inData) return `${inData} in stream data`;
    const filters = filtersOf(dictionary);
    // eslint-disable-next-line no-control-regex
    const predicted = /\/Predictor[\x00\t\n\f\r ]+(?!1(?![0-9]))/.test(dictionary);
    const flate = filters !== null && filters.length === 1 && FLATE_FILTERS.has(filters[0]) && !predicted;
    if (flate && (objectStream || !dictionaryNames.has('Image'))) {
      let inflated: Buffer;
      try {
        // eslint-disable-next-line no-control-regex
        const skipped = /^[\x00\t\n\f\r ]*/.exec(data)![0].length;
        inflated = inflateSync(bytes.subarray(dataStart + skipped, end), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: Math.max(1, inflatedLeft) });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return `more than ${limits.inflatedBytes} bytes inflated`;
        return 'a compressed stream that does not inflate';
      }
      inflatedLeft -= inflated.length;
      const decoded = inflated.toString('latin1');
      if (objectStream) {
        // eslint-disable-next-line no-control-regex
        objects += Number(/\/N[\x00\t\n\f\r ]+([0-9]+)/.exec(dictionary)?.[1] ?? 0);
        if (objects > limits.objects) return `more than ${limits.objects} objects`;
        const inside = activeName(decoded, ACTIVE_NAMES, true);
        if (inside) return `${inside} in an object stream`;
      } else {
        const inside = activeName(decoded, LONG_ACTIVE_NAMES, false);
        if (inside) return `${inside} in a compressed stream`;
      }
    } else if (objectStream) {
      return 'an object stream encoded in a way not read here';
    } else if (filters === null || !filters.every((filter) => IMAGE_FILTERS.has(filter) || FLATE_FILTERS.has(filter))) {
      // Data no viewer shows as an image and that is not read here (text encodings, LZW, chains,
      // predictors), except the cross-reference streams every modern PDF has and images.
      if (!dictionaryNames.has('XRef') && !dictionaryNames.has('Image')) return 'a stream encoded in a way not read here';
    }
    outside = end + END_STREAM.length;
  }
  return activeName(text.slice(outside), ACTIVE_NAMES, true);
}
