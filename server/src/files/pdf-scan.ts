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
 *   header (`6 0 obj`, any number of digits, comments allowed between its parts as viewers allow them)
 *   count as active, and so do the long names of active content anywhere in them, escapes decoded
 *   (`/JavaScrip#74` too: an anomaly there is not an error, but the name is still compared);
 * - every stream compressed with Flate is inflated (all of them within one budget) and read the same
 *   way; an object stream (a dictionary with /N and /First, or /Type /ObjStm, whatever else it says)
 *   has its every name compared, like the document's own objects; one that cannot be inflated, or is
 *   encoded in a way not read here, counts as active;
 * - encryption, more objects or more inflated bytes than the limits, or no end to a stream count as active.
 */

/** Names of keys and types that run scripts, act on their own, send data or play embedded content. */
export const ACTIVE_NAMES = new Set([
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
/**
 * An object header: number, generation (any number of digits), `obj`, with whitespace between them.
 * A viewer also skips comments there (`6 0 %x` newline `obj`): headers are looked for in the text as
 * it is and in the text with every comment blanked out (`withoutComments`), each a linear search
 * (a comment inside a pattern would make it search to each line's end from every number).
 */
// eslint-disable-next-line no-control-regex
const OBJECT_HEADER = /(?<![0-9])[0-9]+[\x00\t\n\f\r ]+[0-9]+[\x00\t\n\f\r ]+obj(?![A-Za-z0-9])/;
/** The header before an `obj` at the end of a text. */
// eslint-disable-next-line no-control-regex
const HEADER_BEFORE_OBJ = /(?<![0-9])[0-9]+[\x00\t\n\f\r ]+[0-9]+[\x00\t\n\f\r ]+$/;
/** The text with every comment (from `%` to the end of its line, wherever it is) turned into spaces: positions are kept. */
function withoutComments(text: string): string {
  return text.replace(/%[^\r\n]*/g, (comment) => ' '.repeat(comment.length));
}
/** Whether an object header is in `text` or in `bare` (the same text without comments). */
function hasHeader(text: string, bare: string): boolean {
  return OBJECT_HEADER.test(text) || OBJECT_HEADER.test(bare);
}
/** The `stream` keyword (not `endstream`) after a dictionary, and the end of line or spaces after it. */
// eslint-disable-next-line no-control-regex
const STREAM = />>[\x00\t\n\f\r ]*stream(?:\r\n|\r|\n)?/g;
const END_STREAM = 'endstream';

/** A name with its escapes decoded (broken ones kept as they are), and whether an escape is broken or stands for a letter or a digit (an anomaly). */
function decodeEscapes(raw: string): { decoded: string; anomaly: boolean } {
  if (!raw.includes('#')) return { decoded: raw, anomaly: false };
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
  return { decoded, anomaly };
}

/** A name with its escapes decoded; null when an escape is broken or stands for a letter or a digit (an anomaly). */
function decodeName(raw: string): string | null {
  const { decoded, anomaly } = decodeEscapes(raw);
  return anomaly ? null : decoded;
}

/**
 * The first name in `text` that is active (of `names`), escapes decoded as a viewer does, or an
 * escape anomaly when `strict` (outside stream data); null when there is none. Not `strict`, a name
 * with an anomaly is still decoded and compared (`/JavaScrip#74` is /JavaScript to a viewer).
 */
function activeName(text: string, names: Set<string>, strict: boolean): PdfScanVerdict {
  for (const match of text.matchAll(NAME)) {
    const { decoded, anomaly } = decodeEscapes(match[1]);
    if (anomaly && strict) return `an escaped letter or a broken escape in the name /${match[1]}`;
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
 * The dictionary of the stream whose keyword ends `before` (the text since the previous stream): from
 * its object's header (`7 0 obj`) to the keyword. Not `exact` when no header is found, when a string
 * or a comment in between could hold a false header, or when what follows the header is not one
 * dictionary ending at the keyword (a header written inside the dictionary, `/Q 1 0 obj`): the whole
 * text since the previous stream is taken then (`bareBefore` is the same text without comments), and the stream is read as an object stream (it must
 * inflate and is read name by name). Only `before` is searched, so the whole scan stays linear.
 */
function dictionaryBefore(before: string, bareBefore: string): { dictionary: string; exact: boolean } {
  const at = before.lastIndexOf('obj');
  // Read without comments: a header inside a comment is none, one split by a comment is one.
  const header = at >= 0 && HEADER_BEFORE_OBJ.test(bareBefore.slice(Math.max(0, at - 4096), at));
  if (!header) return { dictionary: before, exact: false };
  const dictionary = before.slice(at);
  if (/[(%]|(?<!<)<(?!<)|(?<!>)>(?!>)/.test(dictionary)) return { dictionary: before, exact: false };
  // One dictionary right after `obj`, still open at the keyword (whose `>>` closes it).
  // eslint-disable-next-line no-control-regex
  if (!/^obj[\x00\t\n\f\r ]*<</.test(dictionary)) return { dictionary: before, exact: false };
  let depth = 0;
  for (const bracket of dictionary.matchAll(/<<|>>/g)) {
    depth += bracket[0] === '<<' ? 1 : -1;
    if (depth < 1) return { dictionary: before, exact: false };
  }
  return { dictionary, exact: depth === 1 };
}

/**
 * Reads a whole PDF (`content`) for active content within `limits`; null when it is plain, else why
 * it counts as active. Pure and synchronous: it is run off the main thread (`pdf-check-worker.ts`).
 * `stats.searched` counts the characters searched for streams' dictionaries (linear in the file's size).
 */
export function scanPdf(content: Uint8Array, limits: PdfScanLimits = PDF_SCAN_LIMITS, stats?: { searched: number }): PdfScanVerdict {
  const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  // One byte per character: positions in the text are positions in the file.
  const text = bytes.toString('latin1');
  const bare = withoutComments(text);
  let objects = 0;
  for (const version of [text, bare]) {
    let found = 0;
    for (const header = new RegExp(OBJECT_HEADER.source, 'g'); header.exec(version);) {
      found += 1;
      if (found > limits.objects) return `more than ${limits.objects} objects`;
    }
    objects = Math.max(objects, found);
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
    if (stats) stats.searched += before.length;
    const { dictionary, exact } = dictionaryBefore(before, bare.slice(outside, start));
    const dictionaryNames = new Set([...dictionary.matchAll(NAME)].map((match) => decodeName(match[1]) ?? ''));
    const objectStream = !exact || isObjectStream(dictionaryNames);
    const data = text.slice(dataStart, end);
    // Objects hidden in stream data, where a reader that skips it never looks, and scripts there.
    if (hasHeader(data, bare.slice(dataStart, end))) return 'an object inside stream data';
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
