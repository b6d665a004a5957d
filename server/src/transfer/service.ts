/**
 * The steps of an import a person takes before the job runs: look at the uploaded file (its
 * sheets, dialect, header and a guessed mapping), then start a dry run or the import with the
 * mapping they settled on. Everything they send is checked here, with a message at the field.
 */
import { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { checkFieldValue, kindOf, visibleFields, type CardTypeDefinition, type CellValue, type FieldDefinition } from '../../../card-types';
import { findCardType, listCardTypes } from '../card-types/registry';
import { AppError, forbidden, notFound } from '../errors';
import { UnpackRefusal, unpackRefusalText } from '../files/archive';
import { findFolder } from '../folders/service';
import { Job, type JobDoc } from '../jobs/model';
import type { JobView } from '../jobs/view';
import { FieldErrors, isDuplicateKeyError } from '../validation';
import { findFile, sheetFile, type TransferFile } from './files';
import { importJob, type ImportParams } from './import';
import { bestFittingType, guessMapping, MATCH_POLICIES, rememberedMapping, rememberMapping, type MappingGuess, type MatchPolicy } from './mapping';
import { undoKey } from './model';
import {
  checkXlsxUnpacked,
  columnLetters,
  csvDialect,
  DELIMITERS,
  findHeader,
  formatOf,
  HEADER_SEARCH_ROWS,
  readRows,
  SheetRefusal,
  xlsxSheets,
  type Delimiter,
  type Header,
  type OpenFile,
  type SheetFile,
  type SheetFormat,
  type SheetRow,
  type TextEncoding,
} from './sheet';

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

export interface ImportSettings {
  uploadId: string;
  folderId: string;
  typeKey: string;
  sheet?: string | null;
  encoding?: string | null;
  delimiter?: string | null;
  headerRow?: number | null;
}

export interface MappingInput {
  columns: (string | null)[];
  constants?: { field: string; value: string }[] | null;
  matchField?: string | null;
  onMatch: string;
  matchOtherFolders?: boolean | null;
}

export interface ImportColumn {
  index: number;
  name: string;
  /** The first few values below the header, as text. */
  samples: string[];
  /** The targets of the samples' hyperlinks (an .xlsx cell linking elsewhere), null where a sample has none. */
  links: (string | null)[];
}

export interface ImportInspection {
  uploadId: string;
  fileName: string;
  format: SheetFormat;
  sheets: string[];
  sheet: string | null;
  encoding: TextEncoding | null;
  delimiter: Delimiter | null;
  headerRow: number;
  columns: ImportColumn[];
  fields: FieldDefinition[];
  mapping: MappingGuess;
  /** Of the types the folder takes, the one the file's headers fit best (the type asked for on a tie). */
  suggestedTypeKey: string;
}

const ENCODINGS: readonly TextEncoding[] = ['utf-8', 'windows-1251', 'utf-16le', 'utf-16be'];
const SAMPLE_ROWS = 5;
const MAX_COLUMNS = 500;
const MAX_CONSTANT_LENGTH = 1000;

/** The longest sample of a column kept: the mapping step shows a few short values, and a cell may hold up to a million characters. */
const MAX_SAMPLE_LENGTH = 100;

/** The first `max` characters of a text, not splitting a character outside the BMP. */
function startOf(text: string, max: number): string {
  if (text.length <= max) return text;
  const start = text.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(start) ? start.slice(0, -1) : start;
}

/** A cell as a sample of its column: its text, cut to MAX_SAMPLE_LENGTH with «…» where it goes on. */
function sampleText(cell: CellValue | null | undefined): string {
  const text = cell === null || cell === undefined ? '' : cell instanceof Date ? cell.toISOString().slice(0, 10) : String(cell);
  return text.length > MAX_SAMPLE_LENGTH ? `${startOf(text, MAX_SAMPLE_LENGTH)}…` : text;
}

/** The folder (where the actor may create cards), the type (allowed there) and the upload (their own), or a refusal. */
async function importTarget(actor: Actor, settings: ImportSettings): Promise<{ type: CardTypeDefinition; file: TransferFile; format: SheetFormat; allowedTypes: string[] }> {
  const folder = await findFolder(actor, settings.folderId);
  if (!folder) throw notFound(actor, t(actor, 'Папка', 'Folder'));
  if (!actor.ability.can('create', cardSubject({ folderId: folder._id, libraryId: folder.libraryId }))) {
    throw forbidden(actor, t(actor, 'создание карточек в этой папке', 'creating cards in this folder'));
  }
  const errors = new FieldErrors(actor.locale);
  const type = await findCardType(settings.typeKey);
  if (!type) errors.add('typeKey', 'unknownCardType', { key: settings.typeKey });
  else if (folder.allowedCardTypes.length > 0 && !folder.allowedCardTypes.includes(type.key)) {
    errors.addMessage('typeKey', t(actor, `В этой папке нельзя создавать карточки типа «${type.names.ru}»`, `Cards of type “${type.names.en}” cannot be created in this folder`));
  }
  const file = await findFile(settings.uploadId);
  if (!file || file.kind !== 'upload' || file.ownerId !== actor.userId)
    errors.addMessage('uploadId', t(actor, 'Файл не найден: загрузите его снова', 'File not found: upload it again'));
  if (settings.encoding != null && !ENCODINGS.includes(settings.encoding as TextEncoding))
    errors.addMessage('encoding', t(actor, 'Кодировка: UTF-8 или Windows-1251', 'Encoding: UTF-8 or Windows-1251'));
  if (settings.delimiter != null && !DELIMITERS.includes(settings.delimiter as Delimiter))
    errors.addMessage('delimiter', t(actor, 'Разделитель: «;», «,» или табуляция', 'Separator: “;”, “,” or tab'));
  if (settings.headerRow !== null && settings.headerRow !== undefined && (!Number.isInteger(settings.headerRow) || settings.headerRow < 1 || settings.headerRow > 20)) {
    errors.addMessage('headerRow', t(actor, 'Строка заголовка: от 1 до 20', 'Header row: 1 to 20'));
  }
  errors.throwIfAny();
  const format = formatOf(file!.name) ?? 'csv';
  return { type: type!, file: file!, format, allowedTypes: folder.allowedCardTypes };
}

/**
 * Rows the inspection reads at most, and cells' characters: the header is among the first 20, and
 * a column's samples are its first non-empty values below it — a column empty in its first rows
 * showed no example at all (s15 R1).
 */
const INSPECTED_ROWS = 200;
const INSPECTED_TEXT = 1_000_000;

/** Whether a cell says nothing (a sample is never taken from it). */
const blank = (cell: CellValue | null | undefined) => cell === null || cell === undefined || (typeof cell === 'string' && cell.trim() === '');

/**
 * The first rows of the file, read as a stream and left early: enough to find the header and for
 * every column to show SAMPLE_ROWS values, or INSPECTED_ROWS rows (INSPECTED_TEXT characters).
 */
async function firstRows(file: SheetFile, options: Parameters<typeof readRows>[1], headerRow: number | null | undefined): Promise<SheetRow[]> {
  const rows: SheetRow[] = [];
  let text = 0;
  let header: Header | null | undefined;
  const sampled = (): boolean => {
    if (rows.length < HEADER_SEARCH_ROWS + SAMPLE_ROWS) return false;
    header ??= findHeader(rows, headerRow);
    if (!header) return true;
    const below = rows.filter((row) => row.row > header!.row);
    return header.columns.every((_, index) => below.filter((row) => !blank(row.cells[index])).length >= SAMPLE_ROWS);
  };
  for await (const row of readRows(file, options)) {
    rows.push(row);
    for (const cell of row.cells) text += blank(cell) ? 0 : String(cell).length;
    if (rows.length >= INSPECTED_ROWS || text >= INSPECTED_TEXT || sampled()) break;
  }
  return rows;
}

/** An .xlsx that unpacks past its bounds (a "zip bomb"), or is no ZIP at all, is refused at the file before exceljs reads it. */
async function checkUnpacked(actor: Actor, open: OpenFile, size: number): Promise<void> {
  try {
    await checkXlsxUnpacked(open, size);
  } catch (error) {
    if (!(error instanceof UnpackRefusal)) throw error;
    const text = unpackRefusalText(error.problem, actor.locale, {
      ru: 'Файл повреждён или это не .xlsx: сохраните его в Excel заново',
      en: 'The file is damaged or not an .xlsx: save it again in Excel',
    });
    throw new AppError('BAD_USER_INPUT', text, { fields: { file: text } });
  }
}

/** A file that cannot be read (SheetRefusal) is refused at `file`, in the user's language. */
async function atFile<T>(actor: Actor, reading: Promise<T>): Promise<T> {
  try {
    return await reading;
  } catch (error) {
    if (!(error instanceof SheetRefusal)) throw error;
    throw new AppError('BAD_USER_INPUT', error.text[actor.locale], { fields: { file: error.text[actor.locale] } });
  }
}

/** Inspections one user may have under way at once (each reads the start of a file on the server's thread). */
export const INSPECTIONS_AT_ONCE = 2;
const inspecting = new Map<string, number>();

/**
 * What the file holds and how its columns would map, for the mapping step. A user's third
 * inspection while two are under way (on this instance) is refused, CONFLICT: asking again and
 * again cannot keep the server reading files for one person.
 */
export async function inspectUpload(actor: Actor, settings: ImportSettings): Promise<ImportInspection> {
  const running = inspecting.get(actor.userId) ?? 0;
  if (running >= INSPECTIONS_AT_ONCE) {
    throw new AppError(
      'CONFLICT',
      t(
        actor,
        `Ваши файлы уже проверяются (${INSPECTIONS_AT_ONCE} сразу): дождитесь ответа и повторите`,
        `Your files are being looked at already (${INSPECTIONS_AT_ONCE} at once): wait for the answer and try again`,
      ),
    );
  }
  inspecting.set(actor.userId, running + 1);
  try {
    return await inspectFile(actor, settings);
  } finally {
    const left = (inspecting.get(actor.userId) ?? 1) - 1;
    if (left > 0) inspecting.set(actor.userId, left);
    else inspecting.delete(actor.userId);
  }
}

/** The longest column name kept (a header cell may be far longer: the name is its start). */
const MAX_COLUMN_NAME = 200;

async function inspectFile(actor: Actor, settings: ImportSettings): Promise<ImportInspection> {
  const { type, file, format, allowedTypes } = await importTarget(actor, settings);
  // One reading of the file for all the steps below: a small file is fetched from the database once.
  const sheet = sheetFile(file);
  const { open } = sheet;
  if (format === 'xlsx') await checkUnpacked(actor, open, file.size);
  const sheets = format === 'xlsx' ? await atFile(actor, xlsxSheets(sheet)) : [];
  if (settings.sheet && format === 'xlsx' && !sheets.includes(settings.sheet)) {
    const errors = new FieldErrors(actor.locale);
    errors.addMessage('sheet', t(actor, `В файле нет листа «${settings.sheet}»`, `The file has no sheet “${settings.sheet}”`));
    errors.throwIfAny();
  }
  const dialect =
    format === 'csv' ? await atFile(actor, csvDialect(open, { encoding: settings.encoding as TextEncoding | null, delimiter: settings.delimiter as Delimiter | null })) : null;
  const options = { format, sheet: settings.sheet ?? null, encoding: dialect?.encoding ?? null, delimiter: dialect?.delimiter ?? null };
  const rows = await atFile(actor, firstRows(sheet, options, settings.headerRow));
  const header = findHeader(rows, settings.headerRow);
  if (!header) {
    const errors = new FieldErrors(actor.locale);
    errors.addMessage('uploadId', t(actor, 'В файле нет строки заголовка с названиями столбцов', 'The file has no header row with column names'));
    errors.throwIfAny();
  }
  const below = rows.filter((row) => row.row > header!.row);
  const columns = header!.columns.slice(0, MAX_COLUMNS).map((name, index) => {
    const sampledRows = below.filter((row) => !blank(row.cells[index])).slice(0, SAMPLE_ROWS);
    return {
      name: startOf(name, MAX_COLUMN_NAME),
      index,
      samples: sampledRows.map((row) => sampleText(row.cells[index])),
      links: sampledRows.map((row) => row.links?.get(index) ?? null),
    };
  });
  const headers = namedColumns(columns.map((column) => column.name));
  const mapping = guessMapping(headers, type, await rememberedMapping(actor.userId, type.key));
  const candidates = (await listCardTypes()).filter((candidate) => allowedTypes.length === 0 || allowedTypes.includes(candidate.key));
  return {
    uploadId: file.id,
    fileName: file.name,
    format,
    sheets,
    sheet: format === 'xlsx' ? (settings.sheet ?? sheets[0] ?? null) : null,
    encoding: options.encoding,
    delimiter: options.delimiter,
    headerRow: header!.row,
    columns,
    fields: visibleFields(type),
    mapping,
    suggestedTypeKey: await bestFittingType(actor.userId, headers, { key: type.key, guess: mapping }, candidates),
  };
}

/**
 * The columns' header texts, null for a column without one (named by its letters only): such a
 * column is neither guessed nor remembered — «C» of one file is not «C» of the next, nor the «c» of
 * «registration reason code» (s11 user U1).
 */
const namedColumns = (names: string[]): (string | null)[] => names.map((name, index) => (name === columnLetters(index) ? null : name));

/** The mapping as sent, checked against the type: known fields, each once, a unique match field, constants that parse. */
function checkedMapping(actor: Actor, type: CardTypeDefinition, columnCount: number, input: MappingInput): MappingGuess {
  const errors = new FieldErrors(actor.locale);
  const fields = new Map(visibleFields(type).map((field) => [field.key, field]));
  if (input.columns.length !== columnCount) errors.addMessage('mapping.columns', t(actor, `Ожидается ${columnCount} столбцов`, `${columnCount} columns are expected`));
  const taken = new Set<string>();
  input.columns.forEach((key, index) => {
    if (key === null || key === '') return;
    if (!fields.has(key)) errors.add(`mapping.columns.${index}`, 'noSuchField');
    else if (taken.has(key))
      errors.addMessage(
        `mapping.columns.${index}`,
        t(actor, `Поле «${fields.get(key)!.label.ru}» уже выбрано для другого столбца`, `The field “${fields.get(key)!.label.en}” is chosen for another column`),
      );
    taken.add(key);
  });
  const constants: Record<string, string> = {};
  for (const { field: key, value } of input.constants ?? []) {
    const field = fields.get(key);
    if (!field) errors.add(`mapping.constants.${key}`, 'noSuchField');
    else if (taken.has(key)) errors.addMessage(`mapping.constants.${key}`, t(actor, 'Поле уже заполняется из столбца', 'The field is filled from a column'));
    else if (value.length > MAX_CONSTANT_LENGTH) errors.add(`mapping.constants.${key}`, 'tooLong', { max: MAX_CONSTANT_LENGTH });
    else if (kindOf(field).link) errors.addMessage(`mapping.constants.${key}`, t(actor, 'Ссылку задайте столбцом файла', 'Give a link in a column of the file'));
    else {
      const checked = checkFieldValue(field, value);
      if ('error' in checked) errors.addMessage(`mapping.constants.${key}`, checked.error[actor.locale]);
      else constants[key] = value;
    }
  }
  const matchField = input.matchField ? fields.get(input.matchField) : undefined;
  if (input.matchField && (!matchField || !matchField.unique))
    errors.addMessage('mapping.matchField', t(actor, 'Сопоставлять можно только по уникальному полю', 'Only a unique field can match cards'));
  else if (input.matchField && !taken.has(input.matchField))
    errors.addMessage('mapping.matchField', t(actor, 'Поле для сопоставления должно быть выбрано для столбца', 'The matching field must be chosen for a column'));
  if (!MATCH_POLICIES.includes(input.onMatch as MatchPolicy))
    errors.addMessage('mapping.onMatch', t(actor, 'Выберите: пропустить, дополнить или перезаписать', 'Choose: skip, fill empty or overwrite'));
  const required = [...fields.values()].filter((field) => field.required && !taken.has(field.key) && constants[field.key] === undefined && !input.matchField);
  for (const field of required)
    errors.addMessage(
      `mapping.fields.${field.key}`,
      t(actor, `Обязательное поле «${field.label.ru}» не выбрано ни для одного столбца`, `The required field “${field.label.en}” is not chosen for any column`),
    );
  if (taken.size === 0) errors.addMessage('mapping.columns', t(actor, 'Выберите поле хотя бы для одного столбца', 'Choose a field for at least one column'));
  errors.throwIfAny();
  return {
    columns: input.columns.map((key) => (key ? key : null)),
    constants,
    matchField: input.matchField || null,
    onMatch: input.onMatch as MatchPolicy,
    matchOtherFolders: input.matchField ? input.matchOtherFolders === true : false,
  };
}

/**
 * Imports and dry runs one user may have queued or running at once: the job runner takes jobs in
 * turn, whoever owns them, so one person's queue of dry runs would hold everyone else's work back.
 */
export const IMPORTS_AT_ONCE = 2;

/** Starts a dry run or the import itself as a job of the actor's (at most IMPORTS_AT_ONCE unfinished); the mapping is remembered for the next file. */
export async function startImport(actor: Actor, settings: ImportSettings, mappingInput: MappingInput, dryRun: boolean): Promise<JobView> {
  const inspection = await inspectUpload(actor, settings);
  const type = (await findCardType(settings.typeKey))!;
  const mapping = checkedMapping(actor, type, inspection.columns.length, mappingInput);
  const headers = inspection.columns.map((column) => column.name);
  await rememberMapping(actor.userId, type.key, namedColumns(headers), mapping);
  const params: ImportParams = {
    uploadId: inspection.uploadId,
    fileName: inspection.fileName,
    folderId: settings.folderId,
    typeKey: type.key,
    format: inspection.format,
    sheet: inspection.sheet,
    encoding: inspection.encoding,
    delimiter: inspection.delimiter,
    headerRow: inspection.headerRow,
    headers,
    mapping,
    dryRun,
    ip: actor.ip,
  };
  // Each slot is an activeKey: at most one unfinished job holds it.
  for (let slot = 1; slot <= IMPORTS_AT_ONCE; slot += 1) {
    try {
      return await importJob.enqueue(actor.userId, params, { activeKey: `import:${actor.userId}:${slot}` });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }
  throw new AppError(
    'CONFLICT',
    t(
      actor,
      `У вас уже идут ${IMPORTS_AT_ONCE} импорта или проверки: дождитесь конца одной из них или отмените её`,
      `You already have ${IMPORTS_AT_ONCE} imports or checks running: wait for one to end or cancel it`,
    ),
  );
}

/** An import a user ran (not a dry run) and the undo asked for it, if any. */
export interface ImportRun {
  job: JobDoc;
  undo: JobDoc | null;
}

const MAX_RUNS = 50;

/**
 * The actor's own imports into a folder, newest first, dry runs left out: what the import page
 * shows, so an import can be looked at, its refused rows downloaded and undone after the page
 * that ran it is gone.
 */
export async function importRuns(actor: Actor, folderId: string, first: number): Promise<ImportRun[]> {
  if (!Types.ObjectId.isValid(folderId)) return [];
  const jobs = await Job.find({ ownerId: new Types.ObjectId(actor.userId), type: importJob.type, 'params.folderId': folderId, 'params.dryRun': false })
    .sort({ createdAt: -1 })
    .limit(Math.min(Math.max(first, 1), MAX_RUNS))
    .lean<JobDoc[]>();
  const undos = jobs.length > 0 ? await Job.find({ uniqueKey: { $in: jobs.map((job) => undoKey(String(job._id))), $type: 'string' } }).lean<JobDoc[]>() : [];
  const undoOf = new Map(undos.map((undo) => [undo.uniqueKey, undo]));
  return jobs.map((job) => ({ job, undo: undoOf.get(undoKey(String(job._id))) ?? null }));
}
