/**
 * Reading an imported file row by row, without holding it in memory: `.xlsx` through exceljs's
 * streaming reader, `.csv` through csv-parse (UTF-8 with or without BOM, or Windows-1251 decoded by
 * iconv-lite; `;`, `,` or tab). Cells come out as the kernel's CellValue (or null when empty).
 */
import { isUtf8 } from 'node:buffer';
import { Readable, type Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { setImmediate as yieldThread } from 'node:timers/promises';
import { CsvError, parse as parseCsv } from 'csv-parse';
import type ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { SaxesParser } from 'saxes';
import yauzl from 'yauzl';
import type { CellValue } from '../../../card-types';
import { checkCentralDirectory, checkStreamed, RangeReader, type UnpackLimits } from '../files/archive';

export type SheetFormat = 'xlsx' | 'csv';
export type TextEncoding = 'utf-8' | 'windows-1251' | 'utf-16le' | 'utf-16be';
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
  /** An .xlsx row's hyperlinks: a column's index → the target of its cell's link (what the user clicks in Excel). */
  links?: Map<number, string>;
}

/** A file that cannot be read as it is, and why in the user's words (the import shows it at the file). */
export class SheetRefusal extends Error {
  constructor(
    readonly text: Record<'ru' | 'en', string>,
    options?: { cause?: unknown },
  ) {
    super(text.en, options);
  }
}

const XLSX_UNREADABLE = { ru: 'Файл повреждён или это не .xlsx: сохраните его в Excel заново', en: 'The file is damaged or not an .xlsx: save it again in Excel' };

/** Cells read of a row: the mapping takes at most 500 columns; a row of millions of cells is cut here. */
export const MAX_ROW_CELLS = 1000;

/** Opens the file for reading, whole or a byte range (`end` exclusive). */
export type OpenFile = (range?: { start: number; end: number }) => Readable;

/** A stored file to read: its size (an .xlsx is read partly by its zip's central directory, at the end) and its bytes. */
export interface SheetFile {
  size: number;
  open: OpenFile;
}

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

/**
 * The formula guard an export puts before a text a spreadsheet would run (`'` before = + - @, their
 * full-width forms, a tab or CR: csv-stringify's `escape_formulas`, OWASP's advice). Opened from the CSV,
 * Excel shows it as part of the text and saves it so; an import takes it off, once, so a folder exported
 * and imported back keeps «- позвонить…» as it was, not «'- позвонить…» (s14 attack A1). A text that
 * itself starts so — apostrophes, then one of those — is exported with one more `'` (`guardedText` in export.ts).
 */
export const FORMULA_GUARD = /^'(?='*[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20])/;

const withoutFormulaGuard = (text: string) => text.replace(FORMULA_GUARD, '');

const joinedRuns = (value: ExcelJS.CellRichTextValue) => value.richText.map((part) => part.text).join('');

/** An exceljs cell value as the kernel's cell: rich text and links as their text (without a formula guard), formulas as their result. */
export function cellOf(value: ExcelValue): CellValue | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value.trim() === '' ? null : withoutFormulaGuard(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value instanceof Date) return value;
  if ('richText' in value) return cellOf(joinedRuns(value));
  if ('hyperlink' in value) return cellOf(typeof value.text === 'string' ? value.text : value.hyperlink);
  if ('formula' in value || 'sharedFormula' in value) return cellOf((value as { result?: ExcelValue }).result as ExcelValue);
  if ('error' in value) return String(value.error);
  return null;
}

/**
 * Distinct texts an .xlsx may hold (its shared strings, all held in memory while it is read): a
 * sheet of 100,000 rows and 20 columns has at most 2,000,000 cells.
 */
export const MAX_SHARED_STRINGS = 2_000_000;

/**
 * Shared strings (bytes of their XML) all reads of .xlsx files in this process hold at once: a read
 * whose strings do not fit waits until others end. Tiny strings take about twice their XML in
 * memory, so several inspections of a file with 100 MB of them at once would otherwise exhaust
 * the heap; ordinary files hold a few megabytes and never wait.
 */
export const SHARED_STRINGS_IN_MEMORY = 192 * 1024 * 1024;

/** A budget of bytes shared by reads: taken before, given back after; who does not fit waits in turn. */
export class MemoryBudget {
  private used = 0;
  private readonly waiting: { bytes: number; admit: () => void }[] = [];

  constructor(private readonly limit: number) {}

  /** Waits until `bytes` fit (more than the whole budget fits when nothing else holds any) → gives them back. */
  async take(bytes: number): Promise<() => void> {
    if (this.waiting.length === 0 && this.fits(bytes)) this.used += bytes;
    else await new Promise<void>((admit) => this.waiting.push({ bytes, admit }));
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.used -= bytes;
      while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
        const next = this.waiting.shift()!;
        this.used += next.bytes;
        next.admit();
      }
    };
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit;
  }
}

const sharedStringsBudget = new MemoryBudget(SHARED_STRINGS_IN_MEMORY);

/** The workbook's own parts, which exceljs's reader needs before it can read a worksheet as it streams by. */
const BOOK_PARTS = ['xl/_rels/workbook.xml.rels', 'xl/workbook.xml', 'xl/sharedStrings.xml', 'xl/styles.xml'];

/**
 * exceljs's streaming WorkbookReader, with the steps it takes for each of those parts (exceljs 4.4;
 * not in its typings).
 */
interface BookReader extends AsyncIterable<ExcelJS.stream.xlsx.WorksheetReader> {
  options: Record<string, unknown>;
  workbookRels?: { Id: string; Target: string }[];
  sharedStrings?: unknown[];
  model?: { sheets?: { name?: string; rId?: string }[] };
  _parseRels(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
  _parseSharedStrings(entry: Readable): AsyncIterable<unknown>;
  _parseStyles(entry: Readable): Promise<void>;
  _parseWorksheet(iterator: AsyncIterable<Buffer | string>, sheetNo: string): Generator<unknown>;
}

/**
 * A part's bytes as text, a letter split between two chunks joined again. exceljs decodes each
 * chunk it is given on its own, so a Cyrillic letter (two bytes in UTF-8) cut at a chunk's edge
 * became two «�» — about one row in a few thousand, depending on where the inflated chunks end.
 * Given text, it takes it as it is.
 */
async function* utf8Text(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (text) yield text;
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

/**
 * The most characters an .xlsx part may hold between two `<` — one text (a cell's, a shared
 * string's) or one tag. Excel keeps a cell to 32,767 characters (written escaped: a few times that);
 * exceljs holds a text whole while it reads it, and an inline string of hundreds of millions of
 * letters (a file of 3 MB) would fill the heap before anything could look at it.
 */
export const MAX_XML_RUN = 1_000_000;

const XML_RUN_REFUSAL = {
  ru: `В файле есть текст длиннее ${MAX_XML_RUN.toLocaleString('ru-RU')} знаков — больше, чем вмещает ячейка Excel (32 767): файл повреждён или собран не в Excel`,
  en: `The file holds a text longer than ${MAX_XML_RUN.toLocaleString('en-GB')} characters — more than an Excel cell holds (32,767): the file is damaged or was not made by Excel`,
};

/**
 * The deepest an .xlsx part's elements may nest. Excel's own parts nest a few levels (worksheet,
 * sheetData, row, c, is, r, t); the XML reader keeps every open element, so a cell of millions of
 * elements nested in each other (a file inside every unpack bound) filled the heap of the server.
 */
export const MAX_XML_DEPTH = 100;

const XML_DEPTH_REFUSAL = {
  ru: `В файле элементы вложены глубже ${MAX_XML_DEPTH} уровней: файл повреждён или собран не в Excel`,
  en: `The file nests its elements deeper than ${MAX_XML_DEPTH} levels: the file is damaged or was not made by Excel`,
};

/**
 * The most elements a part may hold outside a worksheet's rows and the shared strings,
 * which are read as they stream by and bounded on their own. exceljs keeps the rest of a part whole —
 * a worksheet's `<cols>` (before its rows: even the first rows wait for all of it), the styles
 * (`styles: 'cache'`), the workbook, the relationships — and Excel writes at most 16,384 columns and
 * 64,000 cell formats: a 75 MB file of 15 million `<col/>` took 1.3 GB per inspection and two killed
 * the server (s11 attack A1).
 */
export const MAX_PART_ELEMENTS = 200_000;

const PART_ELEMENTS_REFUSAL = {
  ru: `В файле больше ${MAX_PART_ELEMENTS.toLocaleString('ru-RU')} служебных элементов (столбцов, стилей, объединений) в одной части: файл повреждён или собран не в Excel`,
  en: `A part of the file holds more than ${MAX_PART_ELEMENTS.toLocaleString('en-GB')} elements besides its rows (columns, styles, merges): the file is damaged or was not made by Excel`,
};

/** The most links Excel writes in a sheet. */
const EXCEL_SHEET_LINKS = 65_530;

/** The same bound met by a sheet's links (`<hyperlink>`, kept whole too), in the words of what the user put there (s14 re-attack B3). */
const LINKS_REFUSAL = {
  ru: `В листе больше ${MAX_PART_ELEMENTS.toLocaleString('ru-RU')} ссылок (Excel пишет не больше ${EXCEL_SHEET_LINKS.toLocaleString('ru-RU')} на лист): файл повреждён или собран не в Excel — разделите его на несколько`,
  en: `The sheet holds more than ${MAX_PART_ELEMENTS.toLocaleString('en-GB')} links (Excel writes at most ${EXCEL_SHEET_LINKS.toLocaleString('en-GB')} a sheet): the file is damaged or was not made by Excel — split it into several`,
};

/**
 * The most characters (attribute values and texts) a part may hold outside its rows and shared
 * strings: exceljs keeps them whole, and few elements can carry much — 251 sheet names of 990,000
 * letters each (a 3.4 MB file) took 1.4 GB per inspection and two killed the server (s11 re-attack of
 * A1). Excel's own parts hold far less: its 64,000 cell formats are about 4 million characters.
 */
export const MAX_PART_KEPT_CHARACTERS = 10_000_000;

const PART_CHARACTERS_REFUSAL = {
  ru: `В файле больше ${MAX_PART_KEPT_CHARACTERS.toLocaleString('ru-RU')} знаков служебных данных (имён листов, стилей, столбцов) в одной части: файл повреждён или собран не в Excel`,
  en: `A part of the file holds more than ${MAX_PART_KEPT_CHARACTERS.toLocaleString('en-GB')} characters besides its rows (sheet names, styles, columns): the file is damaged or was not made by Excel`,
};

/**
 * The longest number format code a file may hold: Excel's own limit. exceljs checks every number's
 * format with a regular expression quadratic in a code of `[` without `]` — one numeric cell with a
 * format of 400,000 characters held the server's only thread for 127 s (s12 attack A7).
 */
export const MAX_FORMAT_CODE = 255;

const FORMAT_CODE_REFUSAL = {
  ru: `В файле есть формат чисел длиннее ${MAX_FORMAT_CODE} знаков — больше, чем допускает Excel: файл повреждён или собран не в Excel`,
  en: `The file holds a number format longer than ${MAX_FORMAT_CODE} characters — more than Excel allows: the file is damaged or was not made by Excel`,
};

/**
 * The longest attribute value in a worksheet's rows or a shared string: Excel's are addresses,
 * style numbers, types and font names. exceljs keeps every decoded cell address of row and column
 * up to 100 for the life of the process, keyed by its text — `r="A000…01"` with 990,000 zeros is
 * cell A1: a 1.6 MB file leaked 570 MB, three killed the server (s12 re-attack B4).
 */
export const MAX_ROW_ATTRIBUTE = 255;

const ROW_ATTRIBUTE_REFUSAL = {
  ru: `В строках файла есть атрибут длиннее ${MAX_ROW_ATTRIBUTE} знаков (адрес ячейки, стиль): файл повреждён или собран не в Excel`,
  en: `A row of the file holds an attribute longer than ${MAX_ROW_ATTRIBUTE} characters (a cell address, a style): the file is damaged or was not made by Excel`,
};

/**
 * The longest attribute value of a worksheet's relationship — a hyperlink's target, kept in memory for
 * each linked cell while the sheet is read. A site's address is at most 2,000 characters (the url kind),
 * an e-mail's 254; Excel writes the same addresses.
 */
export const MAX_LINK_TARGET = 2_083;

const LINK_TARGET_REFUSAL = {
  ru: `В файле есть ссылка длиннее ${MAX_LINK_TARGET.toLocaleString('ru-RU')} знаков: файл повреждён или собран не в Excel`,
  en: `The file holds a link longer than ${MAX_LINK_TARGET.toLocaleString('en-GB')} characters: the file is damaged or was not made by Excel`,
};

const XML_SECTION_REFUSAL = {
  ru: 'В файле есть комментарии, разделы CDATA или объявления XML, которых Excel не пишет: файл повреждён или собран не в Excel',
  en: 'The file holds comments, CDATA sections or XML declarations, which Excel does not write: the file is damaged or was not made by Excel',
};

/**
 * What a part is to its reader: a worksheet (its rows stream), the shared strings (each string streams), a
 * worksheet's relationships (each, a link's target, streams: read for the sheet's hyperlinks) or a part
 * exceljs keeps whole.
 */
type PartKind = 'worksheet' | 'sharedStrings' | 'relationships' | 'kept';

/**
 * Whether an element's content streams by and is bounded elsewhere: a worksheet's row (`row` in
 * `sheetData` right inside `worksheet`) and a shared string (`si` in the root `sst` of the shared
 * strings) — by part and place, not by name alone: a `<sheetData>` inside `<cols>`, an `<sst>` inside
 * `<cellXfs>` or a styles part whose root is `<worksheet>` hid the elements exceljs keeps from the
 * count (s11 re-attacks of A1).
 */
function streams(part: PartKind, name: string, open: readonly string[]): boolean {
  if (part === 'worksheet') return name === 'row' && open.length === 2 && open[0] === 'worksheet' && open[1] === 'sheetData';
  if (part === 'relationships') return name === 'Relationship' && open.length === 1 && open[0] === 'Relationships';
  return part === 'sharedStrings' && name === 'si' && open.length === 1 && open[0] === 'sst';
}

/** Elements exceljs keeps wherever they stand in a worksheet, rows included: its columns (`<cols>` in a row is still read as columns). */
const KEPT_IN_WORKSHEETS = new Set(['cols', 'col']);

/**
 * The bounds of an .xlsx part: its longest run between two `<`, how deep its elements nest, and how
 * many it holds outside its rows and shared strings, followed as the text passes in chunks by an XML parser of its own (saxes, the reader
 * exceljs uses): a tag is what the reader takes for one, so `/>` inside an attribute value or
 * closing tags inside a comment or CDATA cannot hide the nesting (s10 re-attack of A8: a hand-made
 * tag scanner was fooled by both and the server ran out of heap again). Text the parser cannot read
 * is the damaged file the reader would refuse.
 */
class XmlBounds {
  /** The local names of the open elements, and which of them stream (rows, shared strings). */
  private readonly open: string[] = [];
  private readonly streaming: boolean[] = [];
  private streamed = 0;
  private kept = 0;
  private keptCharacters = 0;
  /** Characters since the last `<`: one text or one tag. */
  private run = 0;
  /** How many `<` the part held so far, and whether the last chunk ended with one (its next character is in the next chunk). */
  private tagStarts = 0;
  private lastCharacterWasLt = false;
  /**
   * Characters of the value exceljs is reading — a worksheet cell's, a shared string's: it adds every
   * text to the last value begun until another begins, even texts split by other elements or standing
   * outside any cell, so runs under MAX_XML_RUN each added up to one of 530 million letters that ran a
   * single inspection out of heap (s11 final re-attack of A1; s12 A1 and A2).
   */
  private valueCharacters = 0;
  /** Where exceljs's worksheet reader stands, by the raw names it compares: a value begins only in a cell of a row of the sheet's data. */
  private readonly worksheetReader = { inRows: false, inRow: false, inCell: false };
  private readonly parser = new SaxesParser();

  constructor(part: PartKind) {
    this.parser.on('opentag', (tag) => {
      if (this.open.length >= MAX_XML_DEPTH) throw new SheetRefusal(XML_DEPTH_REFUSAL);
      const name = tag.name.slice(tag.name.indexOf(':') + 1);
      const streaming = this.streamed === 0 && streams(part, name, this.open);
      // A row or a shared string streams by itself: counting each as kept refused every sheet of over
      // 200,000 rows, and every file of as many distinct texts.
      if ((this.streamed === 0 && !streaming) || (part === 'worksheet' && KEPT_IN_WORKSHEETS.has(name))) {
        if (++this.kept > MAX_PART_ELEMENTS) throw new SheetRefusal(name === 'hyperlink' ? LINKS_REFUSAL : PART_ELEMENTS_REFUSAL);
        for (const value of Object.values(tag.attributes)) this.keep(value.length);
      }
      if (part === 'worksheet') this.followWorksheetReader(tag.name, true);
      else if (part === 'sharedStrings' && tag.name === 'si') this.valueCharacters = 0;
      if ((tag.attributes.formatCode?.length ?? 0) > MAX_FORMAT_CODE) throw new SheetRefusal(FORMAT_CODE_REFUSAL);
      if (this.streamed > 0 || streaming) {
        const [bound, refusal] = part === 'relationships' ? [MAX_LINK_TARGET, LINK_TARGET_REFUSAL] : [MAX_ROW_ATTRIBUTE, ROW_ATTRIBUTE_REFUSAL];
        for (const value of Object.values(tag.attributes)) if (value.length > bound) throw new SheetRefusal(refusal);
      }
      this.open.push(name);
      this.streaming.push(streaming);
      if (streaming) this.streamed += 1;
    });
    this.parser.on('closetag', (tag) => {
      if (part === 'worksheet') this.followWorksheetReader(tag.name, false);
      this.open.pop();
      if (this.streaming.pop()) this.streamed -= 1;
    });
    this.parser.on('text', (text) => {
      if (this.streamed === 0) this.keep(text.length);
      if ((part === 'worksheet' || part === 'sharedStrings') && (this.valueCharacters += text.length) > MAX_XML_RUN) throw new SheetRefusal(XML_RUN_REFUSAL);
    });
    this.parser.on('error', (error) => {
      throw new SheetRefusal(XLSX_UNREADABLE, { cause: error });
    });
  }

  /** Follows exceljs's WorksheetReader as it sees a tag open or close (its `inRows`, `row` and `c`), starting a value where it does: at `<f>`, `<v>`, `<is>` or `<t>` in a cell. */
  private followWorksheetReader(name: string, opens: boolean): void {
    const reader = this.worksheetReader;
    if (name === 'sheetData') reader.inRows = opens;
    else if (name === 'row') reader.inRow = opens ? reader.inRow || reader.inRows : false;
    else if (name === 'c') {
      if (opens && reader.inRow) reader.inCell = true;
      else if (!opens && reader.inRow) reader.inCell = false;
    } else if (opens && reader.inCell && (name === 'f' || name === 'v' || name === 'is' || name === 't')) this.valueCharacters = 0;
  }

  private keep(characters: number): void {
    this.keptCharacters += characters;
    if (this.keptCharacters > MAX_PART_KEPT_CHARACTERS) throw new SheetRefusal(PART_CHARACTERS_REFUSAL);
  }

  /**
   * What follows a `<`: a comment, a CDATA section, a DTD (`<!`) or a processing instruction other than the
   * declaration that opens the part (`<?`) is refused — Excel writes none, and a `<` inside one is
   * text, so the run bound never saw the 20 million carriage returns of a 481 KB file's CDATA, which
   * each XML parser gathered one concatenation at a time (two inspections filled the heap: s12
   * re-attack B1).
   */
  private checkTagStart(next: string): void {
    if (next === '!' || (next === '?' && this.tagStarts > 1)) throw new SheetRefusal(XML_SECTION_REFUSAL);
  }

  /**
   * The next chunk of the part. The characters since the last `<` are counted here, before the
   * parser: it holds a text (or a tag) whole until it ends, so a run of hundreds of millions of
   * letters would fill the heap before a `text` event could tell it.
   */
  feed(chunk: string): void {
    if (chunk === '') return;
    let from = 0;
    if (this.lastCharacterWasLt) this.checkTagStart(chunk[0]);
    for (let at = chunk.indexOf('<'); at >= 0; at = chunk.indexOf('<', from)) {
      if (this.run + at - from > MAX_XML_RUN) throw new SheetRefusal(XML_RUN_REFUSAL);
      this.run = 0;
      from = at + 1;
      this.tagStarts += 1;
      if (at + 1 < chunk.length) this.checkTagStart(chunk[at + 1]);
    }
    this.lastCharacterWasLt = chunk.endsWith('<');
    this.run += chunk.length - from;
    if (this.run > MAX_XML_RUN) throw new SheetRefusal(XML_RUN_REFUSAL);
    this.parser.write(chunk);
  }
}

/**
 * An .xlsx part's text as it passes, refused (SheetRefusal) at the first run of MAX_XML_RUN
 * characters without a `<`, at elements nested deeper than MAX_XML_DEPTH, or past MAX_PART_ELEMENTS
 * elements or MAX_PART_KEPT_CHARACTERS characters outside its rows and shared strings.
 */
async function* boundedXml(chunks: AsyncIterable<string>, part: PartKind): AsyncGenerator<string> {
  const bounds = new XmlBounds(part);
  for await (const chunk of chunks) {
    bounds.feed(chunk);
    yield chunk;
  }
}

/**
 * A worksheet's `<hyperlinks>` element alone, cut from the part's text as it passes: it comes after the
 * rows, which are not parsed here. A `<` inside a text or an attribute value is escaped, and comments
 * and CDATA are refused by the bounds, so the element's tags cannot be met anywhere else.
 */
async function* hyperlinksElement(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  const kept = 32;
  let text = '';
  let inside = false;
  for await (const chunk of chunks) {
    text += chunk;
    if (!inside) {
      const start = text.search(/<hyperlinks[\s/>]/);
      if (start < 0) {
        text = text.slice(-kept);
        continue;
      }
      [inside, text] = [true, text.slice(start)];
    }
    const end = /^<hyperlinks[^>]*\/>|<\/hyperlinks\s*>/.exec(text);
    if (end) {
      yield text.slice(0, end.index + end[0].length);
      return;
    }
    yield text.slice(0, -kept);
    text = text.slice(-kept);
  }
}

/** How a part is bounded as it is read; a worksheet is read here only for its hyperlinks. */
function boundedPart(name: string, text: AsyncIterable<string>): AsyncIterable<string> {
  if (name === 'xl/sharedStrings.xml') return boundedXml(text, 'sharedStrings');
  if (name.startsWith('xl/worksheets/_rels/')) return boundedXml(text, 'relationships');
  if (name.startsWith('xl/worksheets/')) return boundedXml(hyperlinksElement(text), 'kept');
  return boundedXml(text, 'kept');
}

/** Reads the parts of `names` the file has, each by its place in the zip's central directory, in the order given, each bounded as `boundedPart` bounds it. */
async function readParts(file: SheetFile, names: readonly string[], read: (name: string, content: Readable, size: number) => Promise<void>): Promise<void> {
  const zip = await yauzl.fromRandomAccessReaderPromise(new RangeReader(file.open), file.size, { lazyEntries: true, autoClose: false });
  try {
    const entries = new Map<string, yauzl.Entry>();
    for await (const entry of zip.eachEntry()) if (names.includes(entry.fileName)) entries.set(entry.fileName, entry);
    for (const name of names) {
      const entry = entries.get(name);
      if (entry) await read(name, Readable.from(boundedPart(name, (await zip.openReadStreamPromise(entry)).setEncoding('utf8'))), entry.uncompressedSize);
    }
  } finally {
    zip.close();
  }
}

/** Each element a part's text holds, as it passes: its name and attributes. */
async function eachElement(content: Readable, visit: (name: string, attributes: Record<string, string>) => void): Promise<void> {
  const parser = new SaxesParser();
  parser.on('opentag', (tag) => visit(tag.name, tag.attributes as Record<string, string>));
  let read = false;
  for await (const chunk of content) {
    parser.write(chunk as string);
    read = true;
  }
  if (read) parser.close();
}

/**
 * Targets of a sheet's links by cell, `linkKey(row, column index)`: one map of small integers, not a map
 * per row (100,000 linked rows took 43 MB more of the heap with one). Links past the columns read are left out.
 */
type SheetLinks = Map<number, string>;
const linkKey = (row: number, column: number) => row * MAX_ROW_CELLS + column;

/** A row's links by column index, taken out of the sheet's; undefined when it has none. */
function takeRowLinks(links: SheetLinks, row: number, width: number): Map<number, string> | undefined {
  let taken: Map<number, string> | undefined;
  for (let column = 0; column < width && links.size > 0; column += 1) {
    const target = links.get(linkKey(row, column));
    if (target === undefined) continue;
    (taken ??= new Map()).set(column, target);
    links.delete(linkKey(row, column));
  }
  return taken;
}

/**
 * Characters of link targets one sheet's relationships may hold: 100,000 links of 160 characters
 * (Excel writes at most 65,530 a sheet). A relationships part naming more is refused as it is read —
 * 520 MB of targets for a single link took 1.2 GB of the heap per read, and held the whole budget
 * of the shared strings while other users' files waited (s14 re-attack B2).
 */
export const MAX_LINK_TARGETS_TEXT = 16_000_000;

const LINK_TARGETS_REFUSAL = {
  ru: `Адреса ссылок листа длиннее ${MAX_LINK_TARGETS_TEXT.toLocaleString('ru-RU')} знаков в сумме: файл повреждён или собран не в Excel — разделите его на несколько`,
  en: `The sheet's link addresses add up to more than ${MAX_LINK_TARGETS_TEXT.toLocaleString('en-GB')} characters: the file is damaged or was not made by Excel — split it into several`,
};

/** The cells of a reference, `B27` or `B27:B32` (either corner first), by row numbers and column indexes; null when it is not one. */
function cellRange(ref: string): { top: number; bottom: number; left: number; right: number } | null {
  const cells = /^\$?([A-Z]{1,3})\$?(\d{1,7})(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?\b/.exec(ref);
  if (!cells) return null;
  const [rows, columns] = [
    [Number(cells[2]), Number(cells[4] ?? cells[2])],
    [columnIndex(cells[1]), columnIndex(cells[3] ?? cells[1])],
  ];
  return { top: Math.min(...rows), bottom: Math.max(...rows), left: Math.min(...columns), right: Math.max(...columns) };
}

/**
 * Cells a sheet's links may cover, a link over a range counting each of its cells (as many as links
 * a sheet may hold): a few bytes of `ref="A1:ALL1048576"` would otherwise be a billion cells to note.
 */
export const MAX_LINKED_CELLS = MAX_PART_ELEMENTS;

const LINKED_CELLS_REFUSAL = {
  ru: `Ссылки листа охватывают больше ${MAX_LINKED_CELLS.toLocaleString('ru-RU')} ячеек: файл повреждён или собран не в Excel — разделите его на несколько`,
  en: `The sheet's links cover more than ${MAX_LINKED_CELLS.toLocaleString('en-GB')} cells: the file is damaged or was not made by Excel — split it into several`,
};

/**
 * The targets of a worksheet's hyperlinks. Its `<hyperlinks>` (cell → relationship) come after its rows
 * and the targets are in its relationships part, so both are read by their places in the zip before
 * the rows stream: the relationships first (a sheet without links has none, and its rows are not read
 * twice), then the worksheet's text passes by unparsed up to its `<hyperlinks>`. The relationships'
 * size is held in the budget of the shared strings: a link's target is held in memory until its row
 * is read. A link over a range (B27:B32) is every cell's of the range, as Excel opens it (s14 re-attack B3).
 */
async function sheetLinks(file: SheetFile, sheetPath: string, holdMemory: (bytes: number) => Promise<void>): Promise<SheetLinks> {
  const targets = new Map<string, string>();
  let kept = 0;
  await readParts(file, [sheetPath.replace(/([^/]+)$/, '_rels/$1.rels')], async (_name, content, size) => {
    // What is kept is bounded (two bytes a character at most), whatever the part's size.
    await holdMemory(Math.min(size, 2 * MAX_LINK_TARGETS_TEXT));
    await eachElement(content, (name, attributes) => {
      if (name !== 'Relationship' || !attributes.Type?.endsWith('/hyperlink') || !attributes.Id || !attributes.Target) return;
      kept += attributes.Target.length;
      if (kept > MAX_LINK_TARGETS_TEXT) throw new SheetRefusal(LINK_TARGETS_REFUSAL);
      targets.set(attributes.Id, attributes.Target);
    });
  });
  const links: SheetLinks = new Map();
  if (targets.size === 0) return links;
  let linkedCells = 0;
  await readParts(file, [sheetPath], async (_name, content) => {
    await eachElement(content, (name, attributes) => {
      const target = name === 'hyperlink' ? targets.get(attributes['r:id'] ?? '') : undefined;
      const range = target ? cellRange(attributes.ref ?? '') : null;
      if (!target || !range) return;
      const right = Math.min(range.right, MAX_ROW_CELLS - 1);
      linkedCells += Math.max(0, right - range.left + 1) * (range.bottom - range.top + 1);
      if (linkedCells > MAX_LINKED_CELLS) throw new SheetRefusal(LINKED_CELLS_REFUSAL);
      for (let row = range.top; row <= range.bottom; row += 1) for (let column = range.left; column <= right; column += 1) links.set(linkKey(row, column), target);
    });
  });
  return links;
}

/**
 * exceljs's streaming reader over `source`, with the workbook's parts already read from their places
 * in the file. Left to itself, the reader copies every worksheet it meets before the shared strings
 * (Excel and exceljs write them first) to a temporary file and reads it back later; the copy of a
 * worksheet the caller passes over is deleted while the stream reading it back is still opening
 * (an uncaught ENOENT, or a descriptor held open on the deleted file), and a caller that stops
 * early leaves the copies behind until the process exits. With the parts known, each worksheet is
 * read straight from the zip as it passes, and one passed over is skipped. Every part reaches
 * exceljs as text (see utf8Text).
 */
async function bookReader(file: SheetFile, source: Readable, holdMemory: (bytes: number) => Promise<void>): Promise<BookReader> {
  const { default: excel } = await import('exceljs');
  const reader = new excel.stream.xlsx.WorkbookReader(source, { sharedStrings: 'emit', styles: 'cache', hyperlinks: 'ignore', worksheets: 'emit' }) as unknown as BookReader;
  const strings: unknown[] = [];
  await readParts(file, BOOK_PARTS, async (name, content, size) => {
    if (name === 'xl/_rels/workbook.xml.rels') await reader._parseRels(content);
    else if (name === 'xl/workbook.xml') await reader._parseWorkbook(content);
    else if (name === 'xl/styles.xml') await reader._parseStyles(content);
    else {
      await holdMemory(size);
      for await (const { text } of reader._parseSharedStrings(content) as AsyncIterable<{ text: string | ExcelJS.CellRichTextValue | null }>) {
        // Rich text joined once here, not again for every cell pointing at it: 26 cells of one string of
        // 120 million letters were 3 GB while their row was read (s12 A1).
        if (strings.push(text !== null && typeof text === 'object' ? joinedRuns(text) : text) > MAX_SHARED_STRINGS) {
          throw new SheetRefusal({
            ru: `В файле больше ${MAX_SHARED_STRINGS.toLocaleString('ru-RU')} разных текстов: разделите его на несколько файлов`,
            en: `The file holds more than ${MAX_SHARED_STRINGS.toLocaleString('en-GB')} distinct texts: split it into several files`,
          });
        }
      }
    }
  });
  // A worksheet names its sheet through the workbook's relationships, which some programs write as absolute paths.
  reader.workbookRels = (reader.workbookRels ?? []).map((rel) => ({ ...rel, Target: rel.Target.replace(/^\/?xl\//, '') }));
  reader.sharedStrings = strings;
  // The same parts met again in the stream are passed over — also the workbook and its relationships,
  // which exceljs would otherwise read a second time, unbounded, from whatever entry of the stream
  // names itself so (a local name need not match the central directory's: s11 re-attack of A1).
  reader.options = { ...reader.options, sharedStrings: 'ignore', styles: 'ignore' };
  reader._parseRels = async () => {};
  reader._parseWorkbook = async () => {};
  const parseWorksheet = reader._parseWorksheet.bind(reader);
  reader._parseWorksheet = (iterator, sheetNo) => parseWorksheet(boundedXml(utf8Text(iterator), 'worksheet'), sheetNo);
  return reader;
}

async function* xlsxRows(file: SheetFile, sheet: string | null | undefined): AsyncGenerator<SheetRow> {
  const source = file.open();
  let sourceFailed = false;
  source.once('error', () => (sourceFailed = true));
  const releases: (() => void)[] = [];
  const holdMemory = async (bytes: number) => void releases.push(await sharedStringsBudget.take(bytes));
  try {
    const reader = await bookReader(file, source, holdMemory);
    const wanted = sheet ?? reader.model?.sheets?.[0]?.name ?? null;
    const wantedRel = reader.model?.sheets?.find((entry) => entry.name === wanted)?.rId;
    const wantedTarget = reader.workbookRels?.find((rel) => rel.Id === wantedRel)?.Target;
    const links: SheetLinks = wantedTarget ? await sheetLinks(file, `xl/${wantedTarget}`, holdMemory) : new Map();
    let index = 0;
    for await (const worksheet of reader) {
      index += 1;
      const name = (worksheet as unknown as { name?: string }).name ?? `${index}`;
      if (wanted === null ? index > 1 : name !== wanted) continue;
      for await (const row of worksheet) {
        const values = (row.values as ExcelValue[]).slice(1, MAX_ROW_CELLS + 1);
        const rowLinks = takeRowLinks(links, row.number, values.length);
        yield { row: row.number, cells: values.map(cellOf), ...(rowLinks && { links: rowLinks }) };
      }
      return;
    }
  } catch (error) {
    // What the parts or sheets say cannot be read (broken XML, a DTD, a damaged zip) is the file's fault; the store's failing is not.
    if (error instanceof SheetRefusal || sourceFailed) throw error;
    throw new SheetRefusal(XLSX_UNREADABLE, { cause: error });
  } finally {
    for (const release of releases) release();
    source.destroy();
  }
}

/** The names of an xlsx file's sheets, in the workbook's order (read from the workbook's part alone). */
export async function xlsxSheets(file: SheetFile): Promise<string[]> {
  const { default: excel } = await import('exceljs');
  const reader = new excel.stream.xlsx.WorkbookReader(Readable.from([]), {}) as unknown as BookReader;
  await readParts(file, ['xl/workbook.xml'], (_name, content) => reader._parseWorkbook(content)).catch((error: unknown) => {
    throw error instanceof SheetRefusal ? error : new SheetRefusal(XLSX_UNREADABLE, { cause: error });
  });
  return (reader.model?.sheets ?? []).map((sheet, index) => sheet.name ?? `${index + 1}`);
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

/**
 * The encoding a BOM names (UTF-8, or UTF-16 as Excel's «Текст Юникод» saves it); without one,
 * UTF-8 when the text is valid UTF-8, otherwise Windows-1251 (what Russian Excel saves CSV in).
 */
export function detectEncoding(sample: Buffer): TextEncoding {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return 'utf-8';
  if (sample[0] === 0xff && sample[1] === 0xfe) return 'utf-16le';
  if (sample[0] === 0xfe && sample[1] === 0xff) return 'utf-16be';
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

/**
 * The separator of the header — the first record holding any — or, when it holds several kinds, the
 * one of those whose count per record (outside quotes) is highest and steadiest over the first records
 * that hold any. Records of one cell say nothing of the separator: a file whose first megabyte was
 * mostly such lines was read as one column although its header had «;» (s14 re-attack A4).
 */
export function detectDelimiter(text: string, cutOff = false): Delimiter {
  const records = separatorCounts(text, cutOff).filter((record) => DELIMITERS.some((delimiter) => record[delimiter] > 0));
  const header = records[0];
  if (!header) return ';';
  let best: Delimiter = ';';
  let bestScore = -1;
  for (const delimiter of DELIMITERS.filter((candidate) => header[candidate] > 0)) {
    const counts = records.map((record) => record[delimiter]);
    const score = Math.min(...counts) * 2 + (counts.every((count) => count === counts[0]) ? 1 : 0);
    if (score > bestScore) [best, bestScore] = [delimiter, score];
  }
  return best;
}

/** The signatures of files people save with a wrong extension, and what to say of them. */
const NOT_CSV: { signature: Buffer; text: Record<'ru' | 'en', string> }[] = [
  {
    signature: Buffer.from('PK\x03\x04', 'latin1'),
    text: {
      ru: 'Это файл Excel (.xlsx) или архив, а не CSV: загрузите его с расширением .xlsx',
      en: 'This is an Excel file (.xlsx) or an archive, not a CSV: upload it with the .xlsx extension',
    },
  },
  {
    signature: Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
    text: {
      ru: 'Это файл старого формата Excel (.xls), а не CSV: сохраните его в Excel как .xlsx или CSV',
      en: 'This is an old-format Excel file (.xls), not a CSV: save it in Excel as .xlsx or CSV',
    },
  },
];
/** How many control characters a text file may hold whatever its length (a line break some programs write inside a cell). */
const STRAY_CONTROLS = 10;
/** How many control characters the text holds that text does not hold (tab, line feed and carriage return aside). */
function controlCharacters(text: string): number {
  let count = 0;
  for (let at = 0; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0x7f) count += 1;
  }
  return count;
}

/**
 * Refuses a file that is not text: one of the known signatures, a NUL, or more than a few control
 * characters making over 1 % of the text (a stray one, as some programs write for a line break in
 * a cell, passes).
 * Windows-1251 decodes any byte, so without this a binary file named `.csv` became cards of
 * archive garbage.
 */
function refuseBinary(sample: Buffer, text: string): void {
  const known = NOT_CSV.find(({ signature }) => sample.subarray(0, signature.length).equals(signature));
  if (known) throw new SheetRefusal(known.text);
  const controls = controlCharacters(text);
  if (text.includes('\u0000') || (controls > STRAY_CONTROLS && controls > text.length / 100)) {
    throw new SheetRefusal({
      ru: 'Файл не похож на текст CSV: в нём двоичные данные. Сохраните таблицу в Excel как «CSV (разделители — запятые)» или загрузите .xlsx',
      en: 'The file does not look like CSV text: it holds binary data. Save the table in Excel as “CSV (Comma delimited)” or upload the .xlsx',
    });
  }
}

/**
 * The encoding and separator of a CSV file: those given, else detected from its first megabyte —
 * which is also where a file that is not text is refused.
 */
export async function csvDialect(open: OpenFile, options: Pick<ReadOptions, 'encoding' | 'delimiter'>): Promise<{ encoding: TextEncoding; delimiter: Delimiter }> {
  const sample = await firstBytes(open);
  const encoding = options.encoding ?? detectEncoding(sample);
  const text = iconv.decode(sample, encoding);
  refuseBinary(sample, text);
  const delimiter = options.delimiter ?? detectDelimiter(text, sample.length >= SAMPLE_BYTES);
  return { encoding, delimiter };
}

/**
 * The longest row of a CSV (its characters): a quote never closed would otherwise make the rest of
 * the file one cell. csv-parse spends about 0.3 ms of the one thread per KB of a row, so a bound of
 * megabytes let one inspection hold every other request for seconds; 256 KB is eight full Excel
 * cells and costs under a tenth of a second.
 */
export const MAX_CSV_RECORD = 256 * 1024;

/**
 * Whether a cell read in `encoding` was written in UTF-8 (a file saved in two encodings, two exports
 * pasted together), which would otherwise become cards of mojibake with no row refused:
 * - Windows-1251 decodes nearly every byte, so UTF-8 rows after Windows-1251 ones became «РћРћРћ
 *   В«Р РѕРјР°С€РєР°В»» (s11 re-attack of A5). Russian words in Windows-1251 put letters (C0–FF) side by
 *   side, which is never valid UTF-8: bytes that are valid UTF-8 beyond ASCII were written in UTF-8.
 * - UTF-16 pairs any two bytes into a character, so UTF-8 rows after UTF-16 ones became one cell of
 *   CJK characters, their separators and line breaks paired away with them. Latin or Cyrillic text in
 *   UTF-16 holds a zero or a control byte in every character; bytes that read as UTF-8 with no control
 *   character and a run of letters beyond ASCII were UTF-8 rows. CJK text in UTF-16 reads as valid UTF-8
 *   only by the chance of a few characters, and with such a run hardly ever (a cell of «上海», «三上» or
 *   «过上» is read as it is).
 */
function savedInUtf8(cell: string, encoding: TextEncoding): boolean {
  if (encoding === 'utf-8' || !/[\u0080-\uffff]/.test(cell)) return false;
  const bytes = iconv.encode(cell, encoding);
  if (!isUtf8(bytes)) return false;
  if (encoding === 'windows-1251') return true;
  const asUtf8 = bytes.toString('utf8');
  return /[\u0080-\uffff]{3}/.test(asUtf8) && !asUtf8.includes('\u0000') && controlCharacters(asUtf8) === 0;
}

/**
 * Refuses a record of a CSV that is not text — a NUL, a character its encoding could not decode, or
 * more than a few control characters (binary data) — or whose cells were saved in UTF-8 while the
 * file reads in another encoding. The first megabyte is judged whole before anything is read
 * (`refuseBinary`); this judges every record, so binary bytes or rows of another encoding appended
 * to good rows (a file concatenated or damaged at its end) refuse the file, naming the row, instead
 * of becoming cards of garbage.
 */
function refuseBinaryRecord(record: string[], row: number, encoding: TextEncoding): void {
  const text = record.join('');
  const binary = text.includes('\u0000') || controlCharacters(text) > STRAY_CONTROLS;
  const name = encoding === 'windows-1251' ? 'Windows-1251' : encoding.toUpperCase();
  if (!binary && !text.includes('\uFFFD')) {
    if (record.some((cell) => savedInUtf8(cell, encoding))) {
      throw new SheetRefusal({
        ru: `Строка ${row} сохранена в кодировке UTF-8, а файл читается в ${name}: файл сохранён в двух кодировках? Сохраните файл заново целиком`,
        en: `Row ${row} was saved in UTF-8 while the file reads as ${name}: was the file saved in two encodings? Save the whole file again`,
      });
    }
    return;
  }
  // Text its encoding cannot decode, and nothing binary: a file saved in two encodings (two exports
  // pasted together) — its tail became «�» in place of every Russian letter (s11 attack A5).
  throw new SheetRefusal(
    binary
      ? {
          ru: `Файл не похож на текст CSV: в строке ${row} двоичные данные. Сохраните таблицу в Excel как «CSV (разделители — запятые)» или загрузите .xlsx`,
          en: `The file does not look like CSV text: row ${row} holds binary data. Save the table in Excel as “CSV (Comma delimited)” or upload the .xlsx`,
        }
      : {
          ru: `Строка ${row} не в кодировке ${name}: файл сохранён в двух кодировках? Выберите другую кодировку или сохраните файл заново целиком`,
          en: `Row ${row} is not in the ${name} encoding: was the file saved in two encodings? Choose another encoding or save the whole file again`,
        },
  );
}

/** Characters of a CSV's text csv-parse is given at once (see `inSlices`). */
const CSV_SLICE = 4096;

/**
 * A CSV's text in slices, the thread given back between them. csv-parse reads what it is given in one
 * go, and builds an error object (a stack trace, copies of the record and the options) for every row
 * with another number of cells than the first: a 64 KB chunk of such rows held the only thread for
 * seconds, a 1 MB file for minutes (s14 attack A4). A slice never ends inside a surrogate pair.
 */
async function* inSlices(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const chunk of chunks) {
    for (let at = 0; at < chunk.length;) {
      let end = Math.min(chunk.length, at + CSV_SLICE);
      if (end < chunk.length && /[\uD800-\uDBFF]/.test(chunk[end - 1])) end -= 1;
      yield chunk.slice(at, end);
      at = end;
      await yieldThread();
    }
  }
}

/**
 * A CSV's text with the lines that hold nothing but spaces, tabs and separators emptied, their line
 * breaks kept: csv-parse skips an empty line at no cost and counts it, so the rows keep their numbers,
 * while a line of ` ;` was a record of empty cells — and, with another number of cells than the first,
 * one of csv-parse's costly error objects (1 MB of such lines took 42 s to check, blank lines 1.3 s:
 * s14 re-attack A4). Quotes are followed as csv-parse reads them with `relax_quotes` (a quote opens a
 * cell only at its start, `""` inside one is a quote), so a line inside a quoted cell is never touched;
 * and its record delimiter as csv-parse finds it (the first line break: `\r\n`, `\n` or `\r`).
 */
export async function* blankSeparatorLines(chunks: AsyncIterable<string>, delimiter: Delimiter): AsyncGenerator<string> {
  const [QUOTE, SPACE, TAB, CR, LF, SEPARATOR] = ['"', ' ', '\t', '\r', '\n', delimiter].map((char) => char.charCodeAt(0));
  const QUOTE_OR_BREAK = /["\r\n]/g;
  let recordDelimiter: string | null = null;
  let quoting = false;
  let cellStart = true;
  let lineBlank = true;
  /** The start of a blank line begun in an earlier chunk, not given on yet (at most a record's length). */
  let held = '';
  let carried = '';
  /** The text of a chunk (after what was carried from the last) as it is given on. */
  const scan = (text: string, last: boolean): string => {
    // A quote or a carriage return at the end is read with the character after it, in the next chunk.
    const end = !last && /["\r]$/.test(text) ? text.length - 1 : text.length;
    const given: string[] = [];
    let givenTo = 0;
    let lineStart = 0;
    for (let at = 0; at < end; at += 1) {
      if (!quoting && !lineBlank) {
        // The rest of a line with a value matters only at quotes and line breaks: skipped to the next one.
        QUOTE_OR_BREAK.lastIndex = at;
        const next = Math.min(QUOTE_OR_BREAK.exec(text)?.index ?? end, end);
        if (next > at) cellStart = text.charCodeAt(next - 1) === SEPARATOR;
        if ((at = next) === end) break;
      }
      const code = text.charCodeAt(at);
      if (quoting) {
        if (code !== QUOTE) continue;
        if (text.charCodeAt(at + 1) === QUOTE) at += 1;
        else quoting = cellStart = false;
        continue;
      }
      if (code === CR || code === LF) {
        recordDelimiter ??= code === LF ? '\n' : text.charCodeAt(at + 1) === LF ? '\r\n' : '\r';
        if (text.startsWith(recordDelimiter, at)) {
          if (lineBlank && (held !== '' || at > lineStart)) {
            given.push(text.slice(givenTo, lineStart));
            givenTo = at;
          }
          held = '';
          lineBlank = cellStart = true;
          lineStart = at + recordDelimiter.length;
          at = lineStart - 1;
          continue;
        }
      }
      if (code === SEPARATOR) cellStart = true;
      else if (code === SPACE || code === TAB) cellStart = false;
      else {
        quoting = code === QUOTE && cellStart;
        cellStart = false;
        if (lineBlank) given.push(held);
        lineBlank = false;
        held = '';
      }
    }
    carried = text.slice(end);
    if (!lineBlank) return [...given, text.slice(givenTo, end)].join('');
    given.push(text.slice(givenTo, lineStart));
    held += text.slice(lineStart, end);
    // A line longer than a record is given on as it is: csv-parse refuses it (MAX_CSV_RECORD).
    if (held.length > MAX_CSV_RECORD) {
      given.push(held);
      lineBlank = false;
      held = '';
    }
    return given.join('');
  };
  for await (const chunk of chunks) yield scan(carried + chunk, false);
  yield scan(carried, true);
}

/** What `evenRecords` reaches of csv-parse's parser: its record being read, and the width it expects. */
type RecordState = { record: unknown[]; expectedRecordLength: number };
type ParserApi = { __onRecord(this: ParserApi, push: unknown): unknown; state: RecordState; info: { records: number } };

/**
 * Rows with another number of cells than the first are evened out before csv-parse checks them:
 * csv-parse 7 builds an error object for each (a stack, and JSON copies of the record and of its
 * options) even with `relax_column_count`, which then only keeps the record — 14 s of the thread for
 * 1 MB of rows shorter than the header (`x;`), all real rows. A shorter record is padded with empty
 * cells, a longer one widens what the next are padded to. This reaches into csv-parse's own record
 * step (`api.__onRecord`, `state`; the version is locked): should it change, the parser is left as
 * it is, correct and slower (`npm run bench:csv-lines` shows it).
 */
function evenRecords(parser: Transform): void {
  const api = (parser as unknown as { api?: Partial<ParserApi> }).api;
  const onRecord = api?.__onRecord;
  if (!api || typeof onRecord !== 'function' || !Array.isArray(api.state?.record) || typeof api.info?.records !== 'number') return;
  api.__onRecord = function (this: ParserApi, push: unknown) {
    const { state } = this;
    if (this.info.records > 0) {
      if (state.record.length > state.expectedRecordLength) state.expectedRecordLength = state.record.length;
      while (state.record.length < state.expectedRecordLength) state.record.push('');
    }
    return onRecord.call(this, push);
  };
}

async function* csvRows(open: OpenFile, options: ReadOptions): AsyncGenerator<SheetRow> {
  const { encoding, delimiter } = await csvDialect(open, options);
  const source = open();
  // iconv-lite's stream is a Transform (its typings say only a ReadWriteStream, which has no destroy).
  const decoded = source.pipe(iconv.decodeStream(encoding) as Transform);
  const sliced = Readable.from(inSlices(blankSeparatorLines(decoded, delimiter)));
  // Blank lines are skipped by csv-parse at no cost (as records, each was one of the error objects above) and
  // counted in `info`: a row's number is the records and blank lines up to it, as a spreadsheet numbers it.
  const parser = parseCsv({ delimiter, bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, info: true, max_record_size: MAX_CSV_RECORD });
  evenRecords(parser);
  sliced.pipe(parser);
  let row = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { records: number; empty_lines: number } }>) {
      row = info.records + info.empty_lines;
      refuseBinaryRecord(record, row, encoding);
      yield { row, cells: record.slice(0, MAX_ROW_CELLS).map((text) => (text.trim() === '' ? null : withoutFormulaGuard(text))) };
    }
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const at = { ru: ` (строка ${row + 1})`, en: ` (row ${row + 1})` };
    throw new SheetRefusal(
      error.code === 'CSV_MAX_RECORD_SIZE'
        ? {
            ru: `Строка файла длиннее ${MAX_CSV_RECORD / 1024} КБ${at.ru}: не закрыта кавычка?`,
            en: `A row of the file is longer than ${MAX_CSV_RECORD / 1024} KB${at.en}: an unclosed quote?`,
          }
        : { ru: `Файл не читается как CSV${at.ru}: проверьте кавычки и сохраните его заново`, en: `The file does not read as CSV${at.en}: check its quotes and save it again` },
      { cause: error },
    );
  } finally {
    // Left early (a preview, a cancel): the file's stream is closed too, not only the parser.
    for (const stream of [parser, sliced, decoded, source]) stream.destroy();
  }
}

/** Every row of the file (of its chosen sheet, else the first), in order, as they are read. */
export function readRows(file: SheetFile, options: ReadOptions): AsyncGenerator<SheetRow> {
  return options.format === 'xlsx' ? xlsxRows(file, options.sheet) : csvRows(file.open, options);
}

// ---------- the header ----------

export const HEADER_SEARCH_ROWS = 20;

const filled = (row: SheetRow) => row.cells.filter((cell) => cell !== null).length;

/** A column's index from its letters: `A` → 0, `AA` → 26. */
export function columnIndex(letters: string): number {
  let number = 0;
  for (const letter of letters) number = number * 26 + letter.charCodeAt(0) - 64;
  return number - 1;
}

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
