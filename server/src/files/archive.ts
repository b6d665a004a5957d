/**
 * Bounds on what a ZIP-based document (.xlsx, .docx) may unpack to, checked before a reader that
 * holds parts of it in memory opens it: a few kilobytes can inflate to gigabytes (a "zip bomb").
 *
 * Two checks, because readers differ in what they look at. The central directory (what mammoth's
 * JSZip reads, and what an archive declares) is checked entry by entry without inflating anything;
 * optionally each entry is then inflated through yauzl, which fails an entry that yields more than
 * its declared size. A streaming reader (exceljs reads local headers in file order with unzipper)
 * is checked by the same parser, counting the bytes it inflates. Both refuse past the total, a
 * per-entry bound, an entry count, and a packing ratio no document reaches.
 */
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type unzipper from 'unzipper';
import yauzl from 'yauzl';
import { message, type Locale } from '../i18n';

export interface UnpackLimits {
  /** All entries together, unpacked (bytes). */
  totalBytes: number;
  /** How many entries the archive may hold. */
  entries: number;
  /** The most one entry may unpack to, by its path; the total when absent. */
  entryBytes?: (path: string) => number;
}

/** Unpacked bytes before the packing ratio is judged: small entries of repeated text pack well. */
const RATIO_GRACE_BYTES = 8 * 1024 * 1024;
/** Unpacked bytes per packed byte past which it is a bomb: spreadsheet and document XML packs 5–50 times. */
const MAX_RATIO = 200;

/** Why an archive was refused; `limitBytes` is the bound passed (none for a packing ratio no document has). */
export type UnpackProblem = { reason: 'tooLarge'; limitBytes?: number } | { reason: 'tooManyEntries'; limit: number } | { reason: 'damaged' };

/** An archive refused before it was read: too large unpacked, too many entries, or not a readable ZIP. */
export class UnpackRefusal extends Error {
  constructor(readonly problem: UnpackProblem) {
    super(`archive refused: ${problem.reason}`);
  }
}

/** A refusal as the user reads it; `damaged` says what an unreadable archive means where it was read. */
export function unpackRefusalText(problem: UnpackProblem, locale: Locale, damaged: Record<Locale, string>): string {
  if (problem.reason === 'tooLarge') {
    const text = message(locale, 'unpackedTooLarge');
    return problem.limitBytes ? `${text} (${locale === 'ru' ? 'больше' : 'over'} ${Math.round(problem.limitBytes / 1024 / 1024)} ${locale === 'ru' ? 'МБ' : 'MB'})` : text;
  }
  if (problem.reason === 'tooManyEntries') return message(locale, 'tooManyParts', { max: problem.limit });
  return damaged[locale];
}

/** Keeps the running totals of one check and refuses past the limits. */
class Tally {
  private entries = 0;
  private unpacked = 0;

  constructor(private readonly limits: UnpackLimits) {}

  entry(): void {
    this.entries += 1;
    if (this.entries > this.limits.entries) throw new UnpackRefusal({ reason: 'tooManyEntries', limit: this.limits.entries });
  }

  /** `bytes` more of the entry at `path`, which has unpacked `entryBytes` so far out of `packed` bytes (of it, or of the whole archive read). */
  add(path: string, bytes: number, entryBytes: number, packed: number): void {
    this.unpacked += bytes;
    const entryLimit = this.limits.entryBytes?.(path) ?? this.limits.totalBytes;
    if (this.unpacked > this.limits.totalBytes) throw new UnpackRefusal({ reason: 'tooLarge', limitBytes: this.limits.totalBytes });
    if (entryBytes > entryLimit) throw new UnpackRefusal({ reason: 'tooLarge', limitBytes: entryLimit });
    if (entryBytes > RATIO_GRACE_BYTES && entryBytes > MAX_RATIO * Math.max(packed, 1)) throw new UnpackRefusal({ reason: 'tooLarge' });
  }
}

const asRefusal = (error: unknown) => (error instanceof UnpackRefusal ? error : new UnpackRefusal({ reason: 'damaged' }));

/** Random access to stored bytes: what yauzl needs to read the central directory at the end. */
export type ReadRange = (range: { start: number; end: number }) => Readable;

export class RangeReader extends yauzl.RandomAccessReader {
  constructor(private readonly readRange: ReadRange) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return this.readRange({ start, end });
  }
}

const opened = (open: (callback: (error: Error | null, zip: yauzl.ZipFile) => void) => void) =>
  new Promise<yauzl.ZipFile>((resolve, reject) => open((error, zip) => (error ? reject(error) : resolve(zip))));

/** Each entry of the central directory in turn; `visit` may inflate it before the next is read. */
async function eachEntry(zip: yauzl.ZipFile, visit: (entry: yauzl.Entry) => Promise<void>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => visit(entry).then(() => zip.readEntry(), reject));
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
}

/**
 * Checks an archive's central directory: its entries' declared sizes and packing ratios; with
 * `inflate`, every entry is also unpacked (and thrown away), failing one that yields more than it
 * declares. Refuses with an UnpackRefusal.
 */
export async function checkCentralDirectory(
  source: { buffer: Buffer } | { size: number; readRange: ReadRange },
  limits: UnpackLimits,
  options: { inflate?: boolean } = {},
): Promise<void> {
  let zip: yauzl.ZipFile | undefined;
  try {
    const settings = { lazyEntries: true, autoClose: false, validateEntrySizes: true };
    zip = await opened((callback) =>
      'buffer' in source ? yauzl.fromBuffer(source.buffer, settings, callback) : yauzl.fromRandomAccessReader(new RangeReader(source.readRange), source.size, settings, callback),
    );
    const tally = new Tally(limits);
    const archive = zip;
    await eachEntry(archive, async (entry) => {
      tally.entry();
      tally.add(entry.fileName, entry.uncompressedSize, entry.uncompressedSize, entry.compressedSize);
      if (!options.inflate || entry.fileName.endsWith('/')) return;
      const content = await new Promise<Readable>((resolve, reject) => archive.openReadStream(entry, (error, stream) => (error ? reject(error) : resolve(stream))));
      // Drained; yauzl fails the stream past the declared size, which the tally has already accepted.
      for await (const chunk of content) void chunk;
    });
  } catch (error) {
    throw asRefusal(error);
  } finally {
    zip?.close();
  }
}

/**
 * Reads an archive as a streaming reader does (unzipper, local headers in file order), unpacking
 * every entry and counting: refuses once the limits or the packing ratio (of the bytes read so
 * far) are passed, without reading further.
 */
export async function checkStreamed(source: Readable, limits: UnpackLimits): Promise<void> {
  let packed = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      packed += chunk.length;
      callback(null, chunk);
    },
  });
  const { default: unzip } = await import('unzipper');
  const parser = unzip.Parse({ forceStream: true });
  const piped = pipeline(source, counter, parser).catch((error: unknown) => error);
  const tally = new Tally(limits);
  try {
    for await (const entry of parser as AsyncIterable<unzipper.Entry>) {
      tally.entry();
      let size = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        size += chunk.length;
        tally.add(entry.path, chunk.length, size, packed);
      }
    }
    const failed = await piped;
    if (failed) throw failed;
  } catch (error) {
    throw asRefusal(error);
  } finally {
    source.destroy();
    parser.destroy();
  }
}
