/**
 * An import: the rows of an uploaded file become cards of one type in one folder, as a background
 * job. Each cell is read by its field's kind (the form's own rules), each row checked as the form
 * checks a card (plugins, references), rows matching an existing card by a unique field are
 * skipped, fill its empty fields or overwrite it. Rows are written in batches, each batch in one
 * transaction with its history and a record per row (`import_rows`): a resumed job continues after
 * the last recorded row, a cancelled one keeps what it wrote. A dry run does all of it but the
 * writing.
 */
import DataLoader from 'dataloader';
import mongoose, { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import { actorFollowingAccess, actorOfUser, type Actor } from '../access/actor';
import { accessSnapshot } from '../access/snapshot';
import { recordAudit } from '../audit/service';
import {
  checkFieldValue,
  kindOf,
  visibleFields,
  type CardTypeDefinition,
  type EnumOption,
  type CardValues,
  type CellValue,
  type FieldDefinition,
  type StoredValue,
} from '../../../card-types';
import { findCardType } from '../card-types/registry';
import { diffValues } from '../cards/lifecycle';
import { Card, type CardDoc } from '../cards/model';
import {
  commitCardBatch,
  lookUpReferences,
  newCardDocument,
  patchedValues,
  takenValueMessage,
  uniqueViolation,
  updatedCardFields,
  validated,
  type BatchedCardWrite,
} from '../cards/service';
import { AppError } from '../errors';
import { Folder } from '../access/structure';
import { findFolder, followLibrary, registerFolderUsageCheck } from '../folders/service';
import { breather } from '../jobs/breather';
import { defineJob, type JobContext } from '../jobs/define';
import { Job, type JobDoc } from '../jobs/model';
import { JobInterrupted, lostDatabase } from '../jobs/runner';
import type { Locale } from '../i18n';
import { readsAfterOwnBatch, recordOwnBatch, type KeptUnread } from '../unread/service';
import { findFile, releaseImportUpload, sheetFile, uploadKept } from './files';
import { linkTexts, resolveLinks, type Resolution } from './links';
import type { MappingGuess } from './mapping';
import { ImportRow, undoKey, type ImportOutcome, type ImportProblem } from './model';
import { countCardsReadByJob } from './read-alarm';
import { readRows, SheetRefusal, type Delimiter, type SheetFile, type SheetFormat, type SheetRow, type TextEncoding } from './sheet';

export interface ImportParams {
  uploadId: string;
  fileName: string;
  folderId: string;
  typeKey: string;
  format: SheetFormat;
  sheet: string | null;
  encoding: TextEncoding | null;
  delimiter: Delimiter | null;
  /** The header's row number; data starts below it. */
  headerRow: number;
  /** Column names as the header reads them (the error report repeats them). */
  headers: string[];
  mapping: MappingGuess;
  dryRun: boolean;
  /** Where the user asked from (history and audit record it). */
  ip: string;
}

export interface RefusedRow {
  row: number;
  problems: ImportProblem[];
}

/** An existing card a row matched by the unique field (or found holding its value), and its folder. */
export interface FoundCard {
  id: string;
  title: string;
  folderId: string;
  folderName: string;
}

export interface PreviewRow {
  row: number;
  outcome: ImportOutcome;
  /** Field key → the value as a person will read it on the card. */
  values: Record<string, string>;
  /** The existing card the row matched, if any. */
  found: FoundCard | null;
}

/** The rows that found an existing card in one folder, by what became of them. */
export interface MatchedFolder {
  folderId: string;
  name: string;
  updated: number;
  skipped: number;
  refused: number;
}

export interface ImportCounts {
  created: number;
  updated: number;
  skipped: number;
  refused: number;
}

export interface ImportResult extends ImportCounts {
  dryRun: boolean;
  /** Data rows in the file (empty rows not counted). */
  total: number;
  /** The first rows as they would be stored. */
  preview: PreviewRow[];
  /** The first refused rows with their reasons (all of them are in the error report). */
  refusedRows: RefusedRow[];
  /** Where the cards rows matched live: per folder, the target first, then by name. */
  matchedFolders: MatchedFolder[];
  cancelled: boolean;
}

interface Checkpoint {
  total: number;
}

const BATCH_ROWS = 500;
/**
 * The longest the checking of a batch's rows (cells parsed, values checked by the card form) holds
 * the server's thread: 500 rows in one go were a stretch of 25–45 ms every batch (more on a busy
 * machine) that a colleague's page waited behind.
 */
const CHECK_TURN_MS = 5;
/** Awaited between rows: gives the thread back once the turn is over. */
type Pause = () => Promise<void>;
const PREVIEW_ROWS = 20;
const LISTED_REFUSALS = 200;

const t = (to: Actor | Locale, ru: string, en: string) => ((typeof to === 'string' ? to : to.locale) === 'ru' ? ru : en);
const uploadGone = (to: Actor | Locale) => t(to, 'Файл импорта больше не хранится: загрузите его снова', 'The import’s file is no longer kept: upload it again');
const isEmptyRow = (row: SheetRow) => row.cells.every((cell) => cell === null);

/** The importing user as the job acts for them: their access as it is now, not when they asked. */
async function actorOf(ownerId: string | null, ip: string): Promise<Actor> {
  const actor = await actorOfUser(ownerId, ip, { activeOnly: true });
  if (!actor) throw new Error('the user who started the import is gone or deactivated');
  return actor;
}

/** One row on its way: the input built from its cells, what went wrong, and what it becomes. */
interface RowWork {
  row: number;
  cells: (CellValue | null)[];
  /** The targets of the row's hyperlinks by column index (see SheetRow). */
  links?: Map<number, string>;
  input: Record<string, unknown>;
  problems: ImportProblem[];
  /** The card it matches by the unique field, when there is one. */
  match: CardDoc | null;
  /** The readable card holding the row's match value — the match, or one in another folder the row may not match. */
  found: FoundCard | null;
  outcome?: ImportOutcome;
  values?: CardValues;
}

/** The importer lost the right to create cards in the folder (or was deactivated) while the import ran. */
/** Why an import stopped before its end, keeping the batches it wrote: the importer's right was withdrawn, or its folder deleted. */
class ImportStopped extends Error {
  constructor(readonly why: 'right-withdrawn' | 'folder-deleted') {
    super(why);
  }
}

/** What an import needs at hand while it reads: the actor, the type, the folder, the columns' fields. */
interface Plan {
  actor: Actor;
  type: CardTypeDefinition;
  folder: { _id: Types.ObjectId; libraryId: Types.ObjectId; name: string };
  params: ImportParams;
  /** The uploaded file. */
  file: SheetFile;
  /** Per column: its field, or null when skipped. */
  fields: (FieldDefinition | null)[];
  constants: Record<string, unknown>;
  matchField: FieldDefinition | null;
  /** Unique values the file used so far (field key → value → row), so a repeated one is refused. */
  seen: Map<string, Map<string, number>>;
  /** Rows refused because a card in a folder closed to the user holds their unique value. */
  hiddenMatches: number;
  /** Names of the folders found cards live in (id → name), looked up once each. */
  folderNames: Map<string, string>;
  /**
   * The after-commit work of the last batch written (the duplicates' refresh around its cards, its
   * card event): it runs while the next batch is read and checked, and ends before that one is written.
   */
  afterCommit: Promise<void>;
}

const problemAt = (plan: Plan, fieldKey: string): string | null => {
  const index = plan.fields.findIndex((field) => field?.key === fieldKey);
  return index >= 0 ? (plan.params.headers[index] ?? null) : null;
};

/**
 * A problem with a field's value, at the file's column that holds it: the refused table and the
 * report name that column beside the message, so the message names the field only when no column
 * does (a constant, a field the file does not map).
 */
function fieldProblem(plan: Plan, fieldKey: string, message: string): ImportProblem {
  const column = problemAt(plan, fieldKey);
  const field = plan.type.fields.find((candidate) => candidate.key === fieldKey);
  return { column, message: column || !field ? message : `${field.label[plan.actor.locale]}: ${message}` };
}

/** A refusal of the card form (`BAD_USER_INPUT` with its field messages) as problems at the file's columns. */
function problemsOf(plan: Plan, error: unknown): ImportProblem[] {
  if (!(error instanceof AppError)) throw error;
  const fields = (error.extensions.fields ?? {}) as Record<string, string>;
  const listed = Object.entries(fields).map(([key, message]) => fieldProblem(plan, key, message));
  return listed.length > 0 ? listed : [{ column: null, message: error.message }];
}

/** The import's own refusals (a file it cannot read, a stop it explains): their message is meant for the importer as it is. */
class ImportRefused extends Error {}

/** The plan of an import for the actor, or why it cannot run (folder gone, access lost, type gone). */
export async function importPlan(actor: Actor, params: ImportParams): Promise<Plan> {
  const folder = await findFolder(actor, params.folderId);
  if (!folder || !actor.ability.can('create', cardSubject({ folderId: folder._id, libraryId: folder.libraryId }))) {
    throw new ImportRefused(t(actor, 'Нет права создавать карточки в этой папке', 'You may not create cards in this folder'));
  }
  const type = await findCardType(params.typeKey);
  if (!type) throw new ImportRefused(t(actor, 'Тип карточки больше не существует', 'The card type no longer exists'));
  const file = await findFile(params.uploadId);
  if (!file) throw new ImportRefused(uploadGone(actor));
  const byKey = new Map(visibleFields(type).map((field) => [field.key, field]));
  const constants: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(params.mapping.constants)) {
    const field = byKey.get(key);
    if (field) constants[key] = text;
  }
  return {
    actor,
    type,
    folder,
    params,
    file: sheetFile(file),
    fields: params.mapping.columns.map((key) => (key ? (byKey.get(key) ?? null) : null)),
    constants,
    matchField: params.mapping.matchField ? (byKey.get(params.mapping.matchField) ?? null) : null,
    seen: new Map(),
    hiddenMatches: 0,
    folderNames: new Map([[String(folder._id), folder.name]]),
    afterCommit: Promise.resolve(),
  };
}

/** The names of folders (ids as strings), those not known yet looked up at once. */
async function folderNamesOf(plan: Plan, ids: string[]): Promise<Map<string, string>> {
  const missing = [...new Set(ids)].filter((id) => !plan.folderNames.has(id));
  if (missing.length > 0) {
    const folders = await Folder.find({ _id: { $in: missing.map((id) => new Types.ObjectId(id)) } }, { name: 1 }).lean<{ _id: Types.ObjectId; name: string }[]>();
    for (const folder of folders) plan.folderNames.set(String(folder._id), folder.name);
  }
  return plan.folderNames;
}

const cellText = (cell: CellValue): string => (cell instanceof Date ? cell.toISOString().slice(0, 10) : String(cell));

/** The batch's rows as input for the card form: cells through their kinds, link texts resolved to ids. */
async function buildInputs(plan: Plan, rows: SheetRow[], pause: Pause): Promise<RowWork[]> {
  const work: RowWork[] = rows.map((row) => ({ row: row.row, cells: row.cells, links: row.links, input: { ...plan.constants }, problems: [], match: null, found: null }));
  for (const [index, field] of plan.fields.entries()) {
    if (!field) continue;
    const kind = kindOf(field);
    if (kind.link) {
      const texts = work
        .map((item) => item.cells[index])
        .filter((cell): cell is CellValue => cell !== null && cell !== undefined)
        .map(cellText);
      const resolved: Map<string, Resolution> = texts.length > 0 ? await resolveLinks(plan.actor, field, texts) : new Map();
      for (const item of work) {
        const cell = item.cells[index];
        if (cell === null || cell === undefined) continue;
        const resolution = resolved.get(cellText(cell));
        if (!resolution || 'problem' in resolution) {
          item.problems.push({ column: plan.params.headers[index] ?? null, message: resolution && 'problem' in resolution ? resolution.problem : cellText(cell) });
          continue;
        }
        item.input[field.key] = kind.multiple(field) ? resolution.ids : resolution.ids[0];
      }
      continue;
    }
    for (const item of work) {
      await pause();
      const cell = item.cells[index];
      if (cell === null || cell === undefined) continue;
      const link = item.links?.get(index);
      item.input[field.key] = kind.fromCell(cell, field, link);
      const problem = unknownOption(plan.actor, field, item.input[field.key]) ?? (link ? linkProblem(plan.actor, field, cell, link, item.input[field.key]) : null);
      if (problem) item.problems.push({ column: plan.params.headers[index] ?? null, message: problem });
    }
  }
  return work;
}

/**
 * A value taken from a cell's link (an e-mail's `mailto:`, a site's address) that the field refuses: the
 * refusal names the link, since the cell shows a text that looks right — «good@x.ru» linking to
 * «mailto:javascript:alert(1)@x.ru» was refused as «Введите корректный e-mail» (s14 re-attack B3).
 */
function linkProblem(actor: Actor, field: FieldDefinition, cell: CellValue, link: string, value: unknown): string | null {
  if (value === kindOf(field).fromCell(cell, field)) return null;
  const checked = checkFieldValue(field, value);
  if (!('error' in checked)) return null;
  const what = kindOf(field).labels[actor.locale].toLocaleLowerCase(actor.locale);
  return t(
    actor,
    `Ссылка ячейки ведёт на «${link}» — это не ${what}: импорт берёт адрес ссылки, а не текст ячейки «${cellText(cell)}»`,
    `The cell's link leads to “${link}”, which is not a valid ${what}: the import takes the link's address, not the cell's text “${cellText(cell)}”`,
  );
}

/** Options a refusal names at most. */
const NAMED_OPTIONS = 20;

/**
 * A choice cell that names none of the field's options: the refusal names them, since a
 * spreadsheet has no list to pick from (the form's «Выберите значение из списка» speaks of one).
 */
function unknownOption(actor: Actor, field: FieldDefinition, value: unknown): string | null {
  const options = Array.isArray(field.options) ? (field.options as EnumOption[]) : [];
  if (options.length === 0) return null;
  const unknown = [value].flat().find((item) => typeof item === 'string' && !options.some((option) => option.value === item));
  if (unknown === undefined) return null;
  const names = options.slice(0, NAMED_OPTIONS).map((option) => option.label[actor.locale]);
  const listed = `${names.join(', ')}${options.length > NAMED_OPTIONS ? '…' : ''}`;
  return t(actor, `Нет такого значения: «${String(unknown)}». Возможные: ${listed}`, `No such value: “${String(unknown)}”. The values: ${listed}`);
}

/**
 * The cards the batch's rows match by the chosen unique field (rows refused already are left out).
 * Unless the import may match in other folders, only a card of the target folder matches: a row
 * whose value a card elsewhere holds is refused (the field is unique), naming that card's folder.
 */
async function findMatches(plan: Plan, work: RowWork[]): Promise<void> {
  const field = plan.matchField;
  if (!field) return;
  const keyOf = new Map<RowWork, StoredValue>();
  for (const item of work) {
    if (item.problems.length > 0 || item.input[field.key] === undefined) continue;
    const checked = checkFieldValue(field, item.input[field.key]);
    if ('value' in checked && checked.value !== undefined) keyOf.set(item, checked.value);
  }
  if (keyOf.size === 0) return;
  const path = `values.${field.key}`;
  const cards = await Card.find({ typeKey: plan.type.key, [path]: { $in: [...new Set(keyOf.values())] }, inTrash: false }).lean<CardDoc[]>();
  // Only cards the user may read match: one in a folder closed to them is not there for the import
  // (a row with its unique value is then refused as taken, without naming it).
  const readable = cards.filter((card) => plan.actor.ability.can('read', cardSubject(card)));
  countCardsReadByJob(plan.actor, readable.length);
  const byKey = new Map(readable.map((card) => [JSON.stringify(card.values[field.key]), card]));
  const names = await folderNamesOf(
    plan,
    readable.map((card) => String(card.folderId)),
  );
  for (const [item, key] of keyOf) {
    const card = byKey.get(JSON.stringify(key));
    if (!card) continue;
    const folderName = names.get(String(card.folderId)) ?? '';
    item.found = { id: String(card._id), title: card.title, folderId: String(card.folderId), folderName };
    if (plan.params.mapping.matchOtherFolders || card.folderId.equals(plan.folder._id)) {
      item.match = card;
      continue;
    }
    item.problems.push(
      fieldProblem(
        plan,
        field.key,
        t(
          plan.actor,
          `Это значение уже у карточки «${card.title}» в другой папке — «${folderName}»; совпадения ищутся только в папке импорта`,
          `The card “${card.title}” in another folder, “${folderName}”, holds this value; matches are looked for in the import’s folder only`,
        ),
      ),
    );
  }
}

/**
 * Unique fields of rows that would create cards: a value another card holds, or an earlier row of
 * the file used, refuses the row (at that column) instead of failing its whole batch.
 */
async function refuseTakenUniques(plan: Plan, work: RowWork[]): Promise<void> {
  const creating = work.filter((item) => item.outcome === 'created' && item.values);
  for (const field of plan.type.fields.filter((candidate) => candidate.unique && !candidate.hidden)) {
    const values = creating.map((item) => item.values![field.key]).filter((value) => value !== undefined && !Array.isArray(value));
    if (values.length === 0) continue;
    const holders = await Card.find(
      { typeKey: plan.type.key, [`values.${field.key}`]: { $in: values }, inTrash: false },
      { title: 1, folderId: 1, libraryId: 1, [`values.${field.key}`]: 1 },
    ).lean<CardDoc[]>();
    // Each value looked up is an answer about the cards of every folder — a card holds it (named if
    // the user may read it, as the card form does, else only there) or none does — so it counts as
    // a card read for the bulk-reading alarm: a file of every INN of a region run as a dry run would
    // otherwise map the cards of folders closed to the user unseen, however few of them it hits.
    countCardsReadByJob(plan.actor, values.length);
    const hidden = new Set(holders.filter((card) => !plan.actor.ability.can('read', cardSubject(card))).map((card) => JSON.stringify(card.values[field.key])));
    const taken = new Map(
      holders.map((card) => [JSON.stringify(card.values[field.key]), takenValueMessage(plan.actor, hidden.has(JSON.stringify(card.values[field.key])) ? null : card)]),
    );
    const seen = plan.seen.get(field.key) ?? new Map<string, number>();
    plan.seen.set(field.key, seen);
    for (const item of creating) {
      const value = item.values![field.key];
      if (value === undefined || Array.isArray(value) || item.outcome !== 'created') continue;
      const key = JSON.stringify(value);
      const holder = taken.get(key);
      const earlier = seen.get(key);
      if (holder !== undefined) {
        item.problems.push(fieldProblem(plan, field.key, holder));
        if (hidden.has(key)) plan.hiddenMatches += 1;
      } else if (earlier !== undefined) {
        item.problems.push(fieldProblem(plan, field.key, t(plan.actor, `То же значение, что в строке ${earlier}`, `The same value as in row ${earlier}`)));
      } else {
        seen.set(key, item.row);
        continue;
      }
      item.outcome = 'refused';
    }
  }
}

/** Decides each row: its values checked by the card form, and what it does (create, update, skip) or why it is refused. */
async function decide(plan: Plan, work: RowWork[], pause: Pause): Promise<void> {
  const { actor, type, params } = plan;
  await findMatches(plan, work);
  // The batch's references are looked up at once: checking each row then asks nothing more.
  const references = await lookUpReferences(
    type,
    work.map((item) => item.input),
  );
  for (const item of work) {
    await pause();
    try {
      if (item.problems.length > 0) {
        // A cell that named nothing refuses the row; the form's check still tells what else is wrong in it.
        await validated(actor, type, item.input, item.match ? 'update' : 'create', item.match ?? undefined, undefined, undefined, references);
        item.outcome = 'refused';
        continue;
      }
      if (!item.match) {
        item.values = await validated(actor, type, item.input, 'create', undefined, undefined, undefined, references);
        item.outcome = 'created';
        continue;
      }
      const card = item.match;
      if (params.mapping.onMatch === 'skip') {
        item.outcome = 'skipped';
        continue;
      }
      if (!actor.ability.can('update', cardSubject(card))) {
        item.problems.push({
          column: null,
          message: t(actor, `Карточка «${card.title}» уже есть, но у вас нет права её изменять`, `The card “${card.title}” exists, but you may not change it`),
        });
        item.outcome = 'refused';
        continue;
      }
      const patch = params.mapping.onMatch === 'overwrite' ? item.input : Object.fromEntries(Object.entries(item.input).filter(([key]) => card.values[key] === undefined));
      item.values = await patchedValues(actor, type, card, patch, 'update', references);
      item.outcome = diffValues(card.values, item.values).length > 0 ? 'updated' : 'skipped';
    } catch (error) {
      const columns = new Set(item.problems.map((problem) => problem.column));
      item.problems.push(...problemsOf(plan, error).filter((problem) => problem.column === null || !columns.has(problem.column)));
      item.outcome = 'refused';
    }
  }
  await refuseTakenUniques(plan, work);
}

/** Characters of a refused row kept for the report: its record stays far below MongoDB's 16 MB a document. */
const REPORT_ROW_CHARS = 2_000_000;
/** Excel's bound on a cell's text. */
const CELL_CHARS = 32_767;

/** A cell of a refused row as its record keeps it: a linked cell as exceljs writes a hyperlink, its text and target. */
type ReportCell = CellValue | string | null | { text: string; hyperlink: string };

/**
 * A refused row's cells as the report repeats them: the columns of the header only, each at most what a
 * cell of Excel (and the row's share) holds; a linked cell keeps its link, so the row can be fixed in the
 * report rather than in the original file (s13 user U1).
 */
function reportCells(cells: (CellValue | null)[], links: Map<number, string> | undefined, headers: number): ReportCell[] {
  const kept = cells.slice(0, headers);
  const most = Math.min(CELL_CHARS, Math.floor(REPORT_ROW_CHARS / Math.max(kept.length, 1)));
  return kept.map((cell, index) => {
    // A date cell stays a date (the report writes it as one): as text «2017-06-18T00:00:00.000Z» the fixed report was refused again (s16 user U3).
    const value = typeof cell === 'string' && cell.length > most ? cell.slice(0, most) : cell;
    const link = links?.get(index);
    return link && value !== null ? { text: String(value), hyperlink: link } : value;
  });
}

/** A row's record, complete as stored (inserted as it is, without a model instance per row). */
const rowRecord = (importId: Types.ObjectId, item: RowWork, card: { before: CardDoc | null; after: CardDoc } | null, headers: number) => ({
  _id: new Types.ObjectId(),
  importId,
  row: item.row,
  outcome: item.outcome!,
  cardId: card?.after._id ?? null,
  matchFolderId: item.found ? new Types.ObjectId(item.found.folderId) : null,
  before:
    card?.before && item.outcome === 'updated' ? Object.fromEntries(diffValues(card.before.values, card.after.values).map((change) => [change.key, change.before ?? null])) : null,
  after: item.outcome === 'updated' && card ? Object.fromEntries(diffValues(card.before!.values, card.after.values).map((change) => [change.key, change.after ?? null])) : null,
  ...(item.outcome === 'refused' && { cells: reportCells(item.cells, item.links, headers), problems: item.problems }),
  undoneAt: null,
});

/** What writing a batch needs of the job's run: its log, its claim on the job inside each transaction, and its signal (a cancel rolls the batch back). */
type BatchRun = Pick<JobContext<ImportParams, Checkpoint>, 'logger' | 'holdJob' | 'signal'>;

/** Writes decided rows in one transaction: new cards, updates (on the version read), history, row records. */
async function writeRows(plan: Plan, importId: Types.ObjectId, work: RowWork[], run: BatchRun): Promise<void> {
  const now = new Date();
  const written = new Map<RowWork, { before: CardDoc | null; after: CardDoc }>();
  let keptUnread: KeptUnread[] = [];
  let hooks = Promise.resolve();
  await plan.afterCommit;
  const changes = await commitCardBatch(
    { actor: plan.actor, logger: run.logger },
    async (session) => {
      const writes: BatchedCardWrite[] = [];
      const creating = work.filter((item) => item.outcome === 'created');
      if (creating.length > 0) {
        // Complete documents, inserted as they are (no model instance per row).
        const docs = creating.map((item) => newCardDocument(plan.actor, plan.type, plan.folder, item.values!, now));
        await Card.insertMany(docs, { session, lean: true });
        docs.forEach((doc, index) => {
          const after = doc as unknown as CardDoc;
          written.set(creating[index], { before: null, after });
          writes.push({ type: plan.type, action: 'create', before: null, after });
        });
      }
      for (const item of work.filter((candidate) => candidate.outcome === 'updated')) {
        const before = item.match!;
        const updated = await Card.findOneAndUpdate(
          { _id: before._id, version: before.version, inTrash: false },
          { $set: updatedCardFields(plan.actor, plan.type, before.values, item.values!, now), $inc: { version: 1 } },
          { session, returnDocument: 'after', lean: true, timestamps: false },
        ).lean<CardDoc>();
        if (!updated) throw new AppError('CONFLICT', t(plan.actor, `Карточку «${before.title}» только что изменили`, `The card “${before.title}” was changed meanwhile`));
        written.set(item, { before, after: updated });
        writes.push({ type: plan.type, action: 'update', before, after: updated });
      }
      return writes;
    },
    {
      via: { kind: 'import', id: String(importId) },
      heldJob: run.holdJob,
      signal: run.signal,
      alsoInside: async (batch, session) => {
        await ImportRow.insertMany(
          work.map((item) => rowRecord(importId, item, written.get(item) ?? null, plan.params.headers.length)),
          { session, lean: true },
        );
        // The importer's own cards are not new to him (his colleagues find them unread).
        keptUnread = await recordOwnBatch(batch, session);
      },
      afterCommit: (done) => {
        hooks = done;
      },
    },
  );
  // The importer's receipts follow the batch's card event, as they do after a save.
  plan.afterCommit = hooks.then(() => readsAfterOwnBatch(changes, keptUnread));
}

/**
 * Writes a batch; when its transaction fails (a unique value taken or a card changed meanwhile),
 * each row is written alone so that one bad row refuses only itself.
 */
async function commitRows(plan: Plan, importId: Types.ObjectId, work: RowWork[], run: BatchRun): Promise<void> {
  try {
    await writeRows(plan, importId, work, run);
    return;
  } catch (error) {
    if (work.length === 1 || error instanceof JobInterrupted) throw error;
    run.logger.debug({ err: error }, 'import batch refused as a whole; its rows are written one by one');
  }
  for (const item of work) {
    try {
      await writeRows(plan, importId, [item], run);
    } catch (error) {
      const unique = uniqueViolation(plan.actor, plan.type, error);
      const problems = unique ? problemsOf(plan, unique) : error instanceof AppError ? [{ column: null, message: error.message }] : null;
      if (!problems) throw error;
      item.outcome = 'refused';
      item.problems = problems;
      await mongoose.connection.transaction(async (session) => {
        await run.holdJob?.(session);
        await ImportRow.create([rowRecord(importId, item, null, plan.params.headers.length)], { session });
      });
    }
  }
}

/**
 * Decided rows as the preview shows them: each field's value as a person reads it on the card — a
 * reference as the title of the card it found (not the INN typed in the file), a user by full name,
 * a matched card's stored reference by its title too (not its id); a refused row, its cells.
 */
async function previewRows(plan: Plan, items: RowWork[]): Promise<PreviewRow[]> {
  const fields = visibleFields(plan.type);
  const linkText = await linkTexts(
    plan.actor,
    fields,
    items.map((item) => item.values ?? {}),
    'read',
  );
  return items.map((item) => {
    const values: Record<string, string> = {};
    for (const field of fields) {
      const value = item.values?.[field.key];
      if (value !== undefined) values[field.key] = kindOf(field).format(value, field, { locale: plan.actor.locale, linkText });
    }
    // A refused row stores nothing: it shows its cells as the file holds them, so the user sees which row it is (s13 user U6).
    if (!item.values) {
      for (const [index, field] of plan.fields.entries()) {
        const cell = item.cells[index];
        if (field && cell !== null && cell !== undefined) values[field.key] = cellText(cell);
      }
    }
    return { row: item.row, outcome: item.outcome!, values, found: item.found };
  });
}

/**
 * Whether the import's folder is still there; moved to another library meanwhile, the next batches
 * write its new library (and the right to create cards is asked of it), and what a batch wrote with
 * the old one around the move follows it through the move's own steps (`followLibrary`). Each card
 * took the library of the folder as the job began: 17,000 cards written after a move stayed readable
 * to the old library's readers and unopenable to the new one's (s15 attack A2).
 */
async function followFolder(plan: Plan): Promise<boolean> {
  const folder = await Folder.findById(plan.folder._id, { libraryId: 1 }).lean<{ libraryId: Types.ObjectId }>();
  if (!folder) return false;
  if (!folder.libraryId.equals(plan.folder.libraryId)) {
    plan.folder = { ...plan.folder, libraryId: folder.libraryId };
    await mongoose.connection.transaction((session) => followLibrary([plan.folder._id], folder.libraryId, session));
  }
  return true;
}

async function countDataRows(plan: Plan, signal: AbortSignal): Promise<number> {
  let total = 0;
  for await (const row of readRows(plan.file, plan.params)) {
    signal.throwIfAborted();
    if (row.row > plan.params.headerRow && !isEmptyRow(row)) total += 1;
  }
  return total;
}

/** Rows that found an existing card, per folder (id) and outcome. */
type MatchTally = Map<string, Omit<MatchedFolder, 'folderId' | 'name'>>;

function tallyMatch(tally: MatchTally, folderId: string, outcome: ImportOutcome, rows = 1): void {
  if (outcome === 'created') return;
  const counts = tally.get(folderId) ?? { updated: 0, skipped: 0, refused: 0 };
  counts[outcome] += rows;
  tally.set(folderId, counts);
}

/** The tally with the folders' names: the import's own folder first, then by name. */
async function matchedFolders(plan: Plan, tally: MatchTally): Promise<MatchedFolder[]> {
  const names = await folderNamesOf(plan, [...tally.keys()]);
  const own = String(plan.folder._id);
  return [...tally]
    .map(([folderId, counts]) => ({ folderId, name: names.get(folderId) ?? '', ...counts }))
    .sort((a, b) => Number(b.folderId === own) - Number(a.folderId === own) || a.name.localeCompare(b.name, 'ru'));
}

/** What an earlier run of this import recorded: its last row, its counts and where its matches were. */
async function recordedSoFar(importId: Types.ObjectId): Promise<{ lastRow: number; counts: ImportCounts; tally: MatchTally }> {
  const counts: ImportCounts = { created: 0, updated: 0, skipped: 0, refused: 0 };
  const tally: MatchTally = new Map();
  const grouped = await ImportRow.aggregate<{ _id: { outcome: ImportOutcome; folder: Types.ObjectId | null }; count: number; last: number }>([
    { $match: { importId } },
    { $group: { _id: { outcome: '$outcome', folder: '$matchFolderId' }, count: { $sum: 1 }, last: { $max: '$row' } } },
  ]);
  let lastRow = 0;
  for (const group of grouped) {
    counts[group._id.outcome] += group.count;
    if (group._id.folder) tallyMatch(tally, String(group._id.folder), group._id.outcome, group.count);
    lastRow = Math.max(lastRow, group.last);
  }
  return { lastRow, counts, tally };
}

/**
 * A dry run keeps its refused rows (only those) for its error report, so the file can be fixed
 * before anything is imported. Started over (after a restart) it writes them again, and the
 * owner's earlier dry runs of the same file give theirs up: one report per file is kept.
 */
async function forgetEarlierDryRuns(importId: Types.ObjectId, ownerId: string | null, uploadId: string): Promise<void> {
  const earlier = await Job.find({ ownerId: ownerId && new Types.ObjectId(ownerId), type: 'import', 'params.uploadId': uploadId, 'params.dryRun': true }, { _id: 1 }).lean<
    { _id: Types.ObjectId }[]
  >();
  await ImportRow.deleteMany({ importId: { $in: [importId, ...earlier.map((job) => job._id)] } });
}

async function keepRefused(importId: Types.ObjectId, work: RowWork[], headers: number): Promise<void> {
  const refused = work.filter((item) => item.outcome === 'refused');
  if (refused.length > 0)
    await ImportRow.insertMany(
      refused.map((item) => rowRecord(importId, item, null, headers)),
      { lean: true },
    );
}

/** How far an import got: its rows decided and written so far, of the file's (null before they are counted). */
interface Reached {
  done: number;
  total: number | null;
}

/**
 * Why an import failed on the way, in its owner's words, with how far it got and what they can do
 * — not the driver's English text («connection <monitor> to … timed out», s12 re-test R3). The
 * technical error stays in the log (as the cause).
 */
export function importFailureText(locale: Locale, error: unknown, reached: Reached, dryRun: boolean, jobId: string): string {
  const database = lostDatabase(error);
  const why = database
    ? t(locale, 'пропала связь с базой данных, и она не вернулась за несколько попыток', 'the database could not be reached, and it did not come back over several tries')
    : t(
        locale,
        `сбой на сервере (номер задания для администратора: ${jobId}; подробности — в журнале сервера)`,
        `a fault on the server (the job number for the administrator: ${jobId}; the details are in the server log)`,
      );
  if (dryRun)
    return t(locale, `Проверка прервалась: ${why}. Ничего не записано — запустите проверку снова.`, `The check broke off: ${why}. Nothing was written: run the check again.`);
  const of = (n: number) => n.toLocaleString(locale);
  const howFar =
    reached.total === null
      ? t(locale, 'до первой записанной строки', 'before its first row was written')
      : t(locale, `на строке ${of(reached.done)} из ${of(reached.total)}`, `at row ${of(reached.done)} of ${of(reached.total)}`);
  return t(
    locale,
    `Импорт остановился ${howFar}: ${why}. Записанное целыми пачками сохранено. Нажмите «Продолжить с места остановки» — импорт пойдёт со следующей строки, уже записанные строки не повторятся; или отмените записанное.`,
    `The import stopped ${howFar}: ${why}. What it wrote in whole batches is kept. Press “Continue from where it stopped”: the import goes on from the next row, and rows already written are not repeated; or undo what was written.`,
  );
}

async function runImport(ctx: JobContext<ImportParams, Checkpoint>): Promise<ImportResult> {
  const actor = await actorOf(ctx.ownerId, ctx.params.ip);
  const reached: Reached = { done: 0, total: null };
  let release = !ctx.params.dryRun;
  try {
    return await importRows(ctx, actor, reached);
  } catch (error) {
    // A server stopping hands the job back to go on later; a cancel keeps what was written.
    if (error instanceof JobInterrupted) release = false;
    else if (error instanceof SheetRefusal) throw new ImportRefused(error.text[actor.locale], { cause: error });
    else if (!(error instanceof ImportRefused)) {
      // Failed on the way: the upload stays, so the import can go on from its checkpoint.
      release = false;
      throw new Error(importFailureText(actor.locale, error, reached, ctx.params.dryRun, ctx.jobId), { cause: error });
    }
    throw error;
  } finally {
    if (release) await releaseImportUpload(ctx.jobId, ctx.params.uploadId).catch((error: unknown) => ctx.logger.warn({ err: error }, 'the import’s upload could not be removed'));
  }
}

/** The note of an import whose rows are all written while the work they bring about ends. */
export const FINISHING = {
  ru: 'Завершение: поиск дубликатов и отметки «новое» для коллег по последним строкам, запись в журнал',
  en: 'Finishing: duplicates and colleagues’ unread marks for the last rows, the audit entry',
};

async function importRows(ctx: JobContext<ImportParams, Checkpoint>, actor: Actor, reached: Reached): Promise<ImportResult> {
  const { params } = ctx;
  const importId = new Types.ObjectId(ctx.jobId);
  const plan = await importPlan(actor, params);
  ctx.progress(0, null, t(actor, 'Подсчёт строк', 'Counting rows'));
  const total = ctx.resumeFrom?.total ?? (await countDataRows(plan, ctx.signal));
  const resumed = params.dryRun ? { lastRow: 0, counts: { created: 0, updated: 0, skipped: 0, refused: 0 }, tally: new Map() } : await recordedSoFar(importId);
  const { counts, tally } = resumed;
  const done = () => counts.created + counts.updated + counts.skipped + counts.refused;
  Object.assign(reached, { done: done(), total });
  ctx.progress(done(), total, '');
  // Stored (and published) at once: the count of rows is not made twice, and the user sees the total.
  if (!params.dryRun) await ctx.checkpoint({ total }, done());
  if (params.dryRun) await forgetEarlierDryRuns(importId, ctx.ownerId, params.uploadId);
  const preview: PreviewRow[] = [];
  const refusedRows: RefusedRow[] = [];

  // The right is asked again before each batch whenever the access structure changed since (one
  // comparison otherwise): an importer who can no longer create cards here (or was deactivated)
  // stops before the next batch, whose rows are then all left unwritten.
  const actorNow = await actorFollowingAccess(plan.actor, ctx.ownerId, params.ip);
  const stillAllowed = async () => {
    const now = await actorNow();
    if (!now || !now.ability.can('create', cardSubject({ folderId: plan.folder._id, libraryId: plan.folder.libraryId }))) throw new ImportStopped('right-withdrawn');
    plan.actor = now;
  };

  const pause = breather(ctx.signal, CHECK_TURN_MS);
  const handle = async (rows: SheetRow[]) => {
    // A folder deleted meanwhile (one lookup a batch): the rows would become cards in no folder, found only by search (s12 attack A4).
    // Asked first: with the folder gone, the right to create cards in it is gone too, and that would be the wrong reason to give.
    if (!(await followFolder(plan))) throw new ImportStopped('folder-deleted');
    await stillAllowed();
    const work = await buildInputs(plan, rows, pause);
    await decide(plan, work, pause);
    // A cancel (or a stop) asked while the batch was read and checked writes none of it (s14 user U3).
    ctx.signal.throwIfAborted();
    if (!params.dryRun) await commitRows(plan, importId, work, ctx);
    else await keepRefused(importId, work, params.headers.length);
    const previewed = work.slice(0, Math.max(0, PREVIEW_ROWS - preview.length));
    if (previewed.length > 0) preview.push(...(await previewRows(plan, previewed)));
    for (const item of work) {
      counts[item.outcome!] += 1;
      if (item.found) tallyMatch(tally, item.found.folderId, item.outcome!);
      if (item.outcome === 'refused' && refusedRows.length < LISTED_REFUSALS) refusedRows.push({ row: item.row, problems: item.problems });
    }
    reached.done = done();
    ctx.progress(done(), total);
    // Stored after each batch: the progress a restart or a stop leaves is the rows written.
    if (!params.dryRun) await ctx.checkpoint({ total }, done());
  };

  let batch: SheetRow[] = [];
  let cancelled = false;
  let stopped: ImportStopped['why'] | null = null;
  try {
    for await (const row of readRows(plan.file, params)) {
      if (row.row <= params.headerRow || row.row <= resumed.lastRow || isEmptyRow(row)) continue;
      batch.push(row);
      if (batch.length < BATCH_ROWS) continue;
      ctx.signal.throwIfAborted();
      await handle(batch);
      batch = [];
    }
    ctx.signal.throwIfAborted();
    if (batch.length > 0) await handle(batch);
  } catch (error) {
    // A cancelled import keeps what it wrote and reports it; a stopping server hands the job back.
    if (error instanceof ImportStopped) stopped = error.why;
    else if (error instanceof JobInterrupted && error.why === 'cancel') cancelled = true;
    else throw error;
  }
  // Every row is counted; what the last batch's cards bring about for others (their duplicates
  // groups, colleagues' unread marks), the folder's move and the audit still run: said as such,
  // not «100 % · осталось около 0 с» for a batch's time (s15 U7).
  if (!params.dryRun && !cancelled && !stopped) ctx.progress(done(), total, t(actor, FINISHING.ru, FINISHING.en));
  await plan.afterCommit;
  // The last batch too may have been written while the folder moved.
  if (!params.dryRun) await followFolder(plan);
  const result: ImportResult = { dryRun: params.dryRun, total, ...counts, preview, refusedRows, matchedFolders: await matchedFolders(plan, tally), cancelled };
  const countsText = `${t(actor, 'создано', 'created')} ${counts.created}, ${t(actor, 'обновлено', 'updated')} ${counts.updated}, ${t(actor, 'пропущено', 'skipped')} ${counts.skipped}, ${t(actor, 'отклонено', 'refused')} ${counts.refused}`;
  // A dry run is audited as an import is: it answers, for every unique value of the file, whether
  // a card holds it anywhere — in folders closed to the user too (`hiddenMatches`).
  const hiddenText =
    plan.hiddenMatches > 0
      ? t(
          actor,
          `; значение занято карточкой в закрытой для пользователя папке — ${plan.hiddenMatches}`,
          `; a value held by a card in a folder closed to the user — ${plan.hiddenMatches}`,
        )
      : '';
  await recordAudit(
    { userId: actor.userId, login: actor.login, ip: params.ip },
    {
      kind: params.dryRun ? 'import-checked' : 'cards-imported',
      targetType: 'Folder',
      targetId: params.folderId,
      summary: `${params.dryRun ? `${t(actor, 'Проверка (ничего не записано)', 'Check (nothing written)')} ${params.fileName}: ${t(actor, 'строк', 'rows')} ${total}, ` : `${params.fileName}: `}${countsText}${hiddenText}${cancelled ? t(actor, ' (отменено)', ' (cancelled)') : ''}${stopped === 'right-withdrawn' ? t(actor, ' (остановлен: право создавать карточки в папке снято)', ' (stopped: the right to create cards in the folder was withdrawn)') : ''}${stopped === 'folder-deleted' ? t(actor, ' (остановлен: папку удалили)', ' (stopped: the folder was deleted)') : ''}`,
      after: {
        jobId: ctx.jobId,
        typeKey: params.typeKey,
        fileName: params.fileName,
        total,
        ...counts,
        matchedFolders: result.matchedFolders,
        hiddenMatches: plan.hiddenMatches,
        cancelled,
        ...(stopped === 'right-withdrawn' ? { rightWithdrawn: true } : {}),
        ...(stopped === 'folder-deleted' ? { folderDeleted: true } : {}),
      },
    },
  );
  ctx.progress(done(), total, '');
  if (stopped === 'folder-deleted') {
    throw new ImportRefused(
      params.dryRun
        ? t(actor, `Проверка остановлена: папку «${plan.folder.name}» удалили.`, `The check stopped: the folder “${plan.folder.name}” was deleted.`)
        : t(
            actor,
            `Импорт остановлен: папку «${plan.folder.name}» удалили. До остановки записано целыми пачками — ${countsText}; остальные строки не загружены. Записанное можно отменить.`,
            `The import stopped: the folder “${plan.folder.name}” was deleted. Written before it stopped, in whole batches: ${countsText}; the other rows were not imported. What was written can be undone.`,
          ),
    );
  }
  if (stopped === 'right-withdrawn') {
    // The job ends failed, with what happened in the importer's words as its message.
    throw new ImportRefused(
      params.dryRun
        ? t(
            actor,
            'Проверка остановлена: у вас больше нет права создавать карточки в этой папке (или ваша учётная запись отключена).',
            'The check stopped: you may no longer create cards in this folder (or your account was deactivated).',
          )
        : t(
            actor,
            `Импорт остановлен: у вас больше нет права создавать карточки в этой папке (или ваша учётная запись отключена). До остановки записано целыми пачками — ${countsText}; остальные строки не загружены. Записанное можно отменить.`,
            `The import stopped: you may no longer create cards in this folder (or your account was deactivated). Written before it stopped, in whole batches: ${countsText}; the other rows were not imported. What was written can be undone.`,
          ),
    );
  }
  return result;
}

/**
 * Whether imports were undone, and whether folders exist, asked for a page of failed imports at once
 * (a job list asks each failed import's `retryable`): the questions of one tick go to the database
 * together, each answered as of now (no cache).
 */
const importUndone = new DataLoader<string, boolean>(
  async (importIds) => {
    const undos = await Job.find({ uniqueKey: { $in: importIds.map(undoKey), $type: 'string' } }, { uniqueKey: 1 }).lean<Pick<JobDoc, 'uniqueKey'>[]>();
    const undoKeys = new Set(undos.map((undo) => undo.uniqueKey));
    return importIds.map((id) => undoKeys.has(undoKey(id)));
  },
  { cache: false },
);
const folderExists = new DataLoader<string, boolean>(
  async (folderIds) => {
    const asked = [...new Set(folderIds)].map((id) => new Types.ObjectId(id));
    const found = await Folder.find({ _id: { $in: asked } }, { _id: 1 }).lean<{ _id: Types.ObjectId }[]>();
    const foundIds = new Set(found.map((folder) => String(folder._id)));
    return folderIds.map((id) => foundIds.has(id));
  },
  { cache: false },
);

/**
 * Whether a failed import can go on from its checkpoint: not a dry run (it writes nothing to go on
 * from), not one undone, and only while its upload is kept and its folder is there.
 */
async function continueRefusal(job: JobDoc, locale: Locale): Promise<string | null> {
  const params = job.params as unknown as ImportParams;
  if (params.dryRun) return t(locale, 'Проверку нельзя продолжить: запустите её снова.', 'A check cannot be continued: run it again.');
  const [undone, folderKept, uploadIsKept] = await Promise.all([importUndone.load(String(job._id)), folderExists.load(params.folderId), uploadKept.load(params.uploadId)]);
  if (undone) return t(locale, 'Записанное этим импортом отменено: продолжить его нельзя.', 'What this import wrote has been undone: it cannot be continued.');
  if (!folderKept) return t(locale, 'Папку импорта удалили.', 'The import’s folder was deleted.');
  if (!uploadIsKept) return uploadGone(locale);
  return null;
}

export const importJob = defineJob<ImportParams, ImportResult, Checkpoint>({ type: 'import', run: runImport, retryRefusal: continueRefusal });

// A folder an import is queued or running into is in use, as one holding cards is: deleted, the
// import's rows would become cards in no folder (s12 attack A4; the job stops too, should it pass).
// The refusal names the import and who runs it, so whoever deletes knows whom to ask or what to cancel.
registerFolderUsageCheck(async (folderId, locale) => {
  const job = await Job.findOne({ type: 'import', state: { $in: ['queued', 'running'] }, 'params.folderId': String(folderId) }, { params: 1, ownerId: 1 }).lean<
    Pick<JobDoc, 'params' | 'ownerId'>
  >();
  if (!job) return false;
  const { fileName, dryRun } = job.params as unknown as ImportParams;
  const owner = job.ownerId ? (await accessSnapshot()).users.get(String(job.ownerId)) : undefined;
  const by = owner ? ` (${owner.fullName})` : '';
  return dryRun
    ? t(
        locale,
        `Файл «${fileName}»${by} проверяется для импорта в эту папку — дождитесь конца проверки или отмените её`,
        `The file “${fileName}”${by} is being checked for an import into this folder: wait for the check to end or cancel it`,
      )
    : t(
        locale,
        `В папку идёт импорт «${fileName}»${by} — дождитесь его конца или отмените его`,
        `An import of “${fileName}”${by} into this folder is under way: wait for its end or cancel it`,
      );
});
