/**
 * Reading an imported file row by row, without holding it in memory: `.xlsx` through exceljs's
 * streaming reader, `.csv` through csv-parse (UTF-8 with or without BOM, or Windows-1251 decoded by
 * iconv-lite; `;`, `,` or tab). Cells come out as the kernel's CellValue (or null when empty).
 */
import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import type ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import type { CellValue } from '../../../card-types';
import { checkCentralDirectory, checkStreamed, type UnpackLimits } from '../files/archive';

export type SheetFormat = 'xlsx' | 'csv';
export type TextEncoding = 'utf-8' | 'windows-1251';
export const DELIMITERS = [';', ',', '\t'] as const;
export type Delimiter = (typeof DELIMITERS)[number];

export interface ReadOptions {
  format: SheetFormat;
  /** xlsx: the sheet's name; the first sheet when absent. */
  sheet?: string | null;
  /** csv: detected when absent. */
  encoding?: TextEncoding | null;
  /** csv: detected when absent. */
  delimiter?: Delimiter | null;
}

export interface SheetRow {
  /** The row's number as the file's program shows it (1 = the first row). */
  row: number;
  cells: (CellValue | null)[];
}

/** Opens the file for reading, whole or a byte range (`end` exclusive). */
export type OpenFile = (range?: { start: number; end: number }) => Readable;

/** A format from a file name: `.xlsx` or `.csv` (and `.txt`, which spreadsheets also save CSV as). */
export function formatOf(fileName: string): SheetFormat | null {
  const extension = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  if (extension === 'xlsx') return 'xlsx';
  return extension === 'csv' || extension === 'txt' ? 'csv' : null;
}

// ---------- xlsx ----------

/**
 * What an .xlsx may unpack to before exceljs reads it: its shared strings are held in memory whole,
 * worksheets that come before them are unpacked to temporary files. 100,000 rows of 20 columns
 * unpack to about 100 MB.
 */
export const XLSX_UNPACK_LIMITS: UnpackLimits = {
  totalBytes: 512 * 1024 * 1024,
  entries: 10_000,
  entryBytes: (path) => (path === 'xl/sharedStrings.xml' ? 128 * 1024 * 1024 : 512 * 1024 * 1024),
};

/**
 * Refuses (UnpackRefusal) an .xlsx that would unpack past XLSX_UNPACK_LIMITS: its central directory
 * first (nothing unpacked), then as exceljs will read it, counting what it unpacks.
 */
export async function checkXlsxUnpacked(open: OpenFile, size: number): Promise<void> {
  await checkCentralDirectory({ size, readRange: open }, XLSX_UNPACK_LIMITS);
  await checkStreamed(open(), XLSX_UNPACK_LIMITS);
}

type ExcelValue = ExcelJS.CellValue | undefined;

/** An exceljs cell value as the kernel's cell: rich text and links as their text, formulas as their result. */
export function cellOf(value: ExcelValue): CellValue | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean' || value instanceof Date) return value;
  if ('richText' in value) return cellOf(value.richText.map((part) => part.text).join(''));
  if ('hyperlink' in value) return cellOf(typeof value.text === 'string' ? value.text : value.hyperlink);
  if ('formula' in value || 'sharedFormula' in value) return cellOf((value as { result?: ExcelValue }).result as ExcelValue);
  if ('error' in value) return String(value.error);
  return null;
}

async function* xlsxRows(open: OpenFile, sheet: string | null | undefined): AsyncGenerator<SheetRow> {
  const { default: excel } = await import('exceljs');
  const reader = new excel.stream.xlsx.WorkbookReader(open(), { sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', worksheets: 'emit' });
  let index = 0;
  for await (const worksheet of reader) {
    index += 1;
    const name = (worksheet as unknown as { name?: string }).name ?? `${index}`;
    if (sheet ? name !== sheet : index > 1) continue;
    for await (const row of worksheet) {
      const values = (row.values as ExcelValue[]).slice(1);
      yield { row: row.number, cells: values.map(cellOf) };
    }
    return;
  }
}

/** The names of an xlsx file's sheets, in order. */
export async function xlsxSheets(open: OpenFile): Promise<string[]> {
  const { default: excel } = await import('exceljs');
  const reader = new excel.stream.xlsx.WorkbookReader(open(), { sharedStrings: 'ignore', styles: 'ignore', hyperlinks: 'ignore', worksheets: 'emit' });
  const names: string[] = [];
  for await (const worksheet of reader) names.push((worksheet as unknown as { name?: string }).name ?? `${names.length + 1}`);
  return names;
}

// ---------- csv ----------

/** How much of the start of a CSV tells its encoding and separator: several rows even when a cell is long. */
const SAMPLE_BYTES = 1024 * 1024;

async function firstBytes(open: OpenFile): Promise<Buffer> {
  const stream = open();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= SAMPLE_BYTES) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, SAMPLE_BYTES);
}

/** UTF-8 when the text has a BOM or is valid UTF-8; otherwise Windows-1251 (what Russian Excel saves CSV in). */
export function detectEncoding(sample: Buffer): TextEncoding {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return 'utf-8';
  try {
    // A sample may end inside a character: `stream` leaves an incomplete tail undecoded.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return 'utf-8';
  } catch {
    return 'windows-1251';
  }
}

const DETECTION_RECORDS = 20;

/**
 * How many of each separator the first records hold outside quotes. Records end at line breaks
 * outside quotes (a quoted cell may hold line breaks, or be longer than a line); blank lines are
 * left out, and so is a record the sample cut off, unless it is the only one.
 */
function separatorCounts(text: string, cutOff: boolean): Record<Delimiter, number>[] {
  const fresh = (): Record<Delimiter, number> => ({ ';': 0, ',': 0, '\t': 0 });
  const records: Record<Delimiter, number>[] = [];
  let counts = fresh();
  let filled = false;
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) {
      if (filled) records.push(counts);
      if (records.length >= DETECTION_RECORDS) return records;
      [counts, filled] = [fresh(), false];
      continue;
    } else if (!quoted && char in counts) counts[char as Delimiter] += 1;
    if (char.trim() !== '') filled = true;
  }
  if (filled && (!cutOff || records.length === 0)) records.push(counts);
  return records;
}

/** The separator whose count per record (outside quotes) is highest and steadiest over the first records. */
export function detectDelimiter(text: string, cutOff = false): Delimiter {
  const records = separatorCounts(text, cutOff);
  let best: Delimiter = ';';
  let bestScore = -1;
  for (const delimiter of DELIMITERS) {
    const counts = records.map((record) => record[delimiter]);
    if (counts.length === 0) continue;
    const score = Math.min(...counts) * 2 + (counts.every((count) => count === counts[0]) ? 1 : 0);
    if (score > bestScore) [best, bestScore] = [delimiter, score];
  }
  return best;
}

/** The encoding and separator of a CSV file: those given, else detected from its first megabyte. */
export async function csvDialect(open: OpenFile, options: Pick<ReadOptions, 'encoding' | 'delimiter'>): Promise<{ encoding: TextEncoding; delimiter: Delimiter }> {
  if (options.encoding && options.delimiter) return { encoding: options.encoding, delimiter: options.delimiter };
  const sample = await firstBytes(open);
  const encoding = options.encoding ?? detectEncoding(sample);
  const delimiter = options.delimiter ?? detectDelimiter(iconv.decode(sample, encoding), sample.length >= SAMPLE_BYTES);
  return { encoding, delimiter };
}

async function* csvRows(open: OpenFile, options: ReadOptions): AsyncGenerator<SheetRow> {
  const { encoding, delimiter } = await csvDialect(open, options);
  const parser = open()
    .pipe(iconv.decodeStream(encoding))
    .pipe(parseCsv({ delimiter, bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: false }));
  let row = 0;
  for await (const record of parser as AsyncIterable<string[]>) {
    row += 1;
    yield { row, cells: record.map((text) => (text.trim() === '' ? null : text)) };
  }
}

/** Every row of the file (of its chosen sheet), in order, as they are read. */
export function readRows(open: OpenFile, options: ReadOptions): AsyncGenerator<SheetRow> {
  return options.format === 'xlsx' ? xlsxRows(open, options.sheet) : csvRows(open, options);
}

// ---------- the header ----------

const HEADER_SEARCH_ROWS = 20;

const filled = (row: SheetRow) => row.cells.filter((cell) => cell !== null).length;

/** `A`, `B` … `AA`: a column's letters as spreadsheets name it. */
export function columnLetters(index: number): string {
  let letters = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  return letters;
}

export interface Header {
  /** The header row's number; data starts below it. */
  row: number;
  /** Column names, one per column. */
  columns: string[];
}

/**
 * The header among the first rows: the first row of text only that fills at least half as many
 * cells as the fullest row (a title merged over the table, or notes above it, fill fewer; data rows
 * below hold numbers and dates). A header cell left empty by a cell merged down from above takes
 * that cell's text; a column without any is named by its letters.
 */
export function findHeader(rows: SheetRow[], headerRow?: number | null): Header | null {
  const candidates = rows.slice(0, HEADER_SEARCH_ROWS);
  const fullest = Math.max(0, ...candidates.map(filled));
  const textOnly = (row: SheetRow) => row.cells.every((cell) => cell === null || typeof cell === 'string');
  const chosen = headerRow
    ? candidates.find((row) => row.row === headerRow)
    : (candidates.find((row) => filled(row) > 0 && filled(row) * 2 >= fullest && textOnly(row)) ?? candidates.find((row) => filled(row) > 0));
  if (!chosen || filled(chosen) === 0) return null;
  const above = candidates.filter((row) => row.row < chosen.row);
  const width = Math.max(...candidates.map((row) => row.cells.length));
  const columns = Array.from({ length: width }, (_, index) => {
    const own = chosen.cells[index];
    const merged = [...above].reverse().find((row) => row.cells[index] !== null && row.cells[index] !== undefined)?.cells[index];
    const text = own ?? merged;
    return text === null || text === undefined ? columnLetters(index) : String(text instanceof Date ? text.toISOString().slice(0, 10) : text).trim();
  });
  return { row: chosen.row, columns };
}
