/**
 * Export of a folder's list as a person sees it (filters, sort, columns), of the cards of it a
 * person selected, or of a search's results, to `.xlsx` or `.csv`, for holders of the «Экспорт»
 * right only (a search's cards each checked on their own folder). Cards are read through a cursor in batches and written
 * as they come (exceljs's streaming writer, csv-stringify); the next batch is read only once the
 * download has taken the last one, so memory stays flat however many cards there are and however
 * slowly the file is fetched. Cells are typed by their field kind (dates as dates, sums as numbers
 * with a format, links clickable); references read as the titles of cards the user may read.
 */
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type ExcelJS from 'exceljs';
import mongoose, { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import { actorFollowingAccess, type Actor } from '../access/actor';
import { recordAudit } from '../audit/service';
import { kindOf, visibleFields, type CardTypeDefinition, type FieldDefinition, type StoredValue } from '../../../card-types';
import { findCardType, listCardTypes } from '../card-types/registry';
import { Card, WITHOUT_SEARCH_FIELDS, type CardDoc } from '../cards/model';
import { everySearchMatch, folderListQuery, searchHits, type CardFilter } from '../cards/queries';
import { inHitOrder, type RankedHit } from '../cards/search';
import { AppError, forbidden } from '../errors';
import { events } from '../events/bus';
import { FieldErrors, isDuplicateKeyError } from '../validation';
import { linkTexts } from './links';
import { ExportUsage } from './model';
import { FORMULA_GUARD } from './sheet';

export type ExportFormat = 'xlsx' | 'csv';

/** An export's progress goes out at most this often: a batch of 100 rows takes a few milliseconds. */
const EXPORT_PROGRESS_EVERY_MS = 250;

/**
 * What to export: a folder's list (`folderId`, with its filters and sort), the cards of it a
 * person selected (`folderId` and `ids`, in the list's sort), or a search's results (`search`,
 * within `libraryId` when given).
 */
export interface ExportRequest {
  folderId?: string | null;
  /** Ids of the folder's cards to export, instead of its whole list (at most MAX_EXPORT_SELECTION). */
  ids?: unknown[] | null;
  /** The text of the search whose results are exported, instead of a folder. */
  search?: string | null;
  libraryId?: string | null;
  format: ExportFormat;
  sortBy?: string | null;
  descending?: boolean | null;
  filters?: CardFilter[] | null;
  /** Field keys of the columns, in order; every visible field of the exported types when absent. */
  columns?: string[] | null;
  /** Set by a page that shows a progress bar: the export's progress goes to the user's live stream under it. */
  progressId?: string | null;
}

export interface PreparedExport {
  fileName: string;
  contentType: string;
  /** Writes the file into `out` and ends it; resolves to the number of cards written. */
  write(out: Writable): Promise<number>;
}

/**
 * What the configuration limits: rows one user may export per day (0: no limit); and where the
 * rows written go to count as cards read (the bulk-reading alarm), a batch at a time.
 */
export interface ExportLimits {
  dailyRows: number;
  countRead?: (actor: Actor, cards: number) => void;
}

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);
const BATCH = 100;
/** More columns than any list shows (a type has at most 200 fields), and far fewer than a sheet may hold (16,384). */
const MAX_EXPORT_COLUMNS = 1000;
const USAGE_KEPT_MS = 7 * 24 * 3600_000;

/**
 * Reserves an export's rows in the user's count for today (UTC), or refuses it — audited as
 * `export-limit-reached`, which administrators filter for in the audit log — when the count would
 * go over the limit. The check and the reservation are one write, so parallel exports cannot pass
 * the limit together. Resolves to how to settle the count to the rows the export then wrote.
 */
async function reserveDailyRows(
  actor: Actor,
  source: Pick<ExportSource, 'target' | 'what'>,
  rows: number,
  limit: number,
  details: Record<string, unknown>,
): Promise<(written: number) => Promise<void>> {
  const day = new Date().toISOString().slice(0, 10);
  const _id = `${actor.userId}:${day}`;
  const reserve = async () => {
    try {
      await ExportUsage.updateOne(
        { _id, rows: { $lte: limit - rows } },
        { $inc: { rows }, $setOnInsert: { userId: new Types.ObjectId(actor.userId), day, expiresAt: new Date(Date.now() + USAGE_KEPT_MS) } },
        { upsert: true },
      );
      return true;
    } catch (error) {
      // Today's count exists and is too high for this export: the upsert's insert clashes with it.
      if (!isDuplicateKeyError(error)) throw error;
      return false;
    }
  };
  // A second try: the clash may have been a parallel export making today's count first.
  const reserved = rows === 0 || (rows <= limit && ((await reserve()) || (await reserve())));
  if (!reserved) {
    const used = (await ExportUsage.findById(_id, { rows: 1 }).lean<{ rows: number }>())?.rows ?? 0;
    await recordAudit(
      { userId: actor.userId, login: actor.login, ip: actor.ip },
      {
        kind: 'export-limit-reached',
        targetType: source.target.type,
        targetId: source.target.id,
        summary: t(
          actor,
          `${source.what}: запрошено строк — ${rows}, дневной лимит — ${limit}, сегодня уже — ${used}`,
          `${source.what}: ${rows} rows asked, daily limit ${limit}, ${used} already today`,
        ),
        after: { limit, usedToday: used, requested: rows, ...details },
      },
    );
    const left = Math.max(0, limit - used);
    throw new AppError(
      'FORBIDDEN',
      t(
        actor,
        `Превышен дневной лимит экспорта (строк на пользователя): ${limit}. Сегодня выгружено: ${used}, в этом списке: ${rows}, можно ещё: ${left}. Сузьте список фильтрами или продолжите завтра; администраторы об этом узнают.`,
        `Over the daily export limit (rows per user): ${limit}. Exported today: ${used}, in this list: ${rows}, still allowed: ${left}. Narrow the list with filters or continue tomorrow; administrators are told about it.`,
      ),
      { limit, usedToday: used, requested: rows },
    );
  }
  return async (written) => {
    if (written !== rows) await ExportUsage.updateOne({ _id }, { $inc: { rows: written - rows } });
  };
}

/** A stream older than Node's own (readable-stream 2, which archiver uses) says it only in its state. */
type AnyWritable = Writable & { _writableState?: { needDrain?: boolean } };
const needsDrain = (stream: AnyWritable): boolean => stream.writableNeedDrain ?? stream._writableState?.needDrain ?? false;

/**
 * Resolves once `stream` takes writes again (at once when it does already); rejects when the
 * `download` (or the stream) closes first — the download broke off — so that the export stops
 * reading cards.
 */
function drained(stream: AnyWritable, download: Writable): Promise<void> {
  const closed = () => new Error('the export download closed');
  if (download.destroyed || stream.destroyed) return Promise.reject(closed());
  if (!needsDrain(stream)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      download.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onClose = () => settle(closed());
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    download.on('close', onClose);
  });
}

/**
 * The streams a worksheet's XML goes into on its way to the zip. exceljs 4.4 writes the sheet into
 * them without heeding `write()`'s answer, so that is where rows pile up while the download is
 * slower than the database; waiting for them to drain keeps the backlog to a batch.
 */
const sheetSinks = (sheet: ExcelJS.Worksheet): AnyWritable[] => (sheet as unknown as { stream?: { pipes?: AnyWritable[] } }).stream?.pipes ?? [];

/**
 * exceljs's streaming writer remembers every formula cell written (for shared formulas, which the
 * export does not write) until the sheet ends; forgetting them after each batch keeps the links'
 * formulas from adding up.
 */
const forgetFormulae = (sheet: ExcelJS.Worksheet): void => {
  (sheet as unknown as { _formulae: Record<string, unknown> })._formulae = {};
};

/** Excel's bound on a text argument of a formula. */
const FORMULA_TEXT_MAX = 255;
const quotedText = (text: string) => `"${text.replace(/"/g, '""')}"`;

/**
 * A clickable link as a `HYPERLINK` formula with its text as the cached result (what the sheet
 * shows and an import reads back). Not a sheet hyperlink: exceljs's streaming writer keeps every
 * one of those, and the relationship part the zip can only take after the sheet, in memory until
 * the end — 200,000 links for 100,000 cards with an e-mail and a site. A link longer than Excel
 * allows in a formula is written as plain text.
 */
function linkCell(text: string, target: string): ExcelJS.CellValue {
  if (text.length > FORMULA_TEXT_MAX || target.length > FORMULA_TEXT_MAX) return text;
  return { formula: `HYPERLINK(${quotedText(target)},${quotedText(text)})`, result: text };
}
const LINK_FONT: Partial<ExcelJS.Font> = { color: { argb: 'FF0563C1' }, underline: true };

/** A phone number as stored: «+», groups of digits, an extension («+7 495 123 45 67 доб. 12»). */
const STORED_PHONE = /^\+\d+(?: \d+)+(?: доб\. \d+)?$/;
/** A text as an export writes it: one that starts as the formula guard does gets a guard of its own, which an import takes off (FORMULA_GUARD). */
const guardedText = (text: string): string => (FORMULA_GUARD.test(text) ? `'${text}` : text);

/** A phone number in a CSV cell, as `csvPhone` writes it (quoted). */
const PHONE_IN_CSV = /^ \+\d/;

/**
 * A phone number for the CSV, so that Excel shows it as the card and the .xlsx do («+7 495 123 45
 * 67», text): opened from a CSV, a cell starting with `+` is read as a formula (`=+7 495 …`,
 * #NULL!), and the formula guard's `'` is not hidden there as when typed (Excel showed «'+7 495 …»).
 * A leading space, in quotes, keeps the cell text without a mark to see; and a phone holds nothing
 * that could run even where a program trims the space (digits in groups: at worst #NULL!). An
 * import reads the number back as it was. Any other text passes as it is (to the guard).
 */
const csvPhone = (text: string): string => (STORED_PHONE.test(text) ? ` ${text}` : text);

/** The types of the cards a folder holds (outside the trash). */
async function typesInFolder(folderId: Types.ObjectId): Promise<CardTypeDefinition[]> {
  const keys = (await Card.distinct('typeKey', { folderId, inTrash: false })) as string[];
  const types = await Promise.all(keys.sort().map((key) => findCardType(key)));
  return types.filter((type): type is CardTypeDefinition => type !== null);
}

/** The visible fields of each card type met, by key; types not known at the start are loaded as their cards come. */
class OwnFields {
  private readonly byType = new Map<string, Map<string, FieldDefinition> | null>();

  constructor(types: CardTypeDefinition[]) {
    for (const type of types) this.add(type.key, type);
  }

  private add(key: string, type: CardTypeDefinition | null): void {
    this.byType.set(key, type && new Map(visibleFields(type).map((field) => [field.key, field])));
  }

  async load(cards: CardDoc[]): Promise<void> {
    for (const key of new Set(cards.map((card) => card.typeKey))) if (!this.byType.has(key)) this.add(key, await findCardType(key));
  }

  of(typeKey: string, fieldKey: string): FieldDefinition | undefined {
    return this.byType.get(typeKey)?.get(fieldKey);
  }
}

/**
 * What an export writes, and how the audit log names it: a folder's list as filtered, the cards
 * of it a person selected, or all the results of a search.
 */
interface ExportSource {
  /** The audit entries' target. */
  target: { type: 'Folder' | 'Search'; id: string };
  /** What was exported, in the actor's words: «Папка «Клиенты»», «Поиск «Вектор»». */
  what: string;
  /** The file's and the sheet's name. */
  name: string;
  /** The types whose visible fields make the columns. */
  types: CardTypeDefinition[];
  /** What was asked, as the audit entries record it: filters and sort, the search's text, the selected ids. */
  asked: Record<string, unknown>;
  /** Cards that will be written (reserved against the daily limit). */
  count(): Promise<number>;
  /** The cards in the file's order, each one the actor may read and export, as checked at the start. */
  cards(): AsyncIterable<CardDoc>;
}

/** Cards a selection holds at most. */
export const MAX_EXPORT_SELECTION = 5000;

/** Audits a refused export and answers FORBIDDEN. */
async function refuseExport(actor: Actor, target: ExportSource['target'], summary: string): Promise<never> {
  await recordAudit({ userId: actor.userId, login: actor.login, ip: actor.ip }, { kind: 'export-refused', targetType: target.type, targetId: target.id, summary });
  throw forbidden(actor, t(actor, 'экспорт (нужно право «Экспорт»: его выдаёт администратор)', 'export (the “Export” right is needed: an administrator grants it)'));
}

/** The ids of a selection: well-formed, not repeated, at most MAX_EXPORT_SELECTION — each refused at `ids.N`. */
function selectedIds(actor: Actor, ids: readonly unknown[], errors: FieldErrors): Types.ObjectId[] {
  if (ids.length === 0) errors.addMessage('ids', t(actor, 'Не выбрано ни одной карточки', 'No card is selected'));
  if (ids.length > MAX_EXPORT_SELECTION) errors.add('ids', 'tooMany', { max: MAX_EXPORT_SELECTION });
  const seen = new Set<string>();
  return ids.slice(0, MAX_EXPORT_SELECTION).flatMap((id, index) => {
    if (typeof id !== 'string' || !/^[0-9a-f]{24}$/.test(id)) {
      errors.add(`ids.${index}`, 'badId');
      return [];
    }
    if (seen.has(id)) return [];
    seen.add(id);
    return [new Types.ObjectId(id)];
  });
}

/** A folder's list as filtered and sorted, or (`ids`) the cards of it a person selected, in the list's order. */
async function folderSource(actor: Actor, request: ExportRequest, errors: FieldErrors): Promise<ExportSource> {
  const ids = request.ids ? selectedIds(actor, request.ids, errors) : null;
  const query = await folderListQuery(actor, request.folderId ?? '', request);
  const { folder } = query;
  const target = { type: 'Folder', id: String(folder._id) } as const;
  if (!actor.ability.can('export', cardSubject({ folderId: folder._id, libraryId: folder.libraryId }))) {
    await refuseExport(actor, target, t(actor, `Экспорт папки «${folder.name}» без права «Экспорт»`, `Export of folder “${folder.name}” without the Export right`));
  }
  const base = { folderId: folder._id, inTrash: false };
  // A selection is the cards ticked, whatever the filters: each must be in the folder (moved or trashed since: said so).
  if (ids && ids.length > 0) {
    const present = new Set((await Card.find({ ...base, _id: { $in: ids } }, { _id: 1 }).lean<{ _id: Types.ObjectId }[]>()).map((card) => String(card._id)));
    request.ids!.forEach((id, index) => {
      if (typeof id === 'string' && !present.has(id))
        errors.addMessage(`ids.${index}`, t(actor, 'Этой карточки нет в папке: её перенесли или удалили', 'This card is not in the folder: it was moved or deleted'));
    });
  }
  const filtered = ids ? { $and: [base, { _id: { $in: ids } }] } : query.filtered;
  const sort = { [query.path]: query.descending ? -1 : 1, _id: query.descending ? -1 : 1 } as const;
  const folderWords = t(actor, `Папка «${folder.name}»`, `Folder “${folder.name}”`);
  return {
    target,
    what: ids ? t(actor, `${folderWords}, выбранные карточки`, `${folderWords}, selected cards`) : folderWords,
    name: folder.name,
    // A folder that allows every type exports the types of the cards it holds (its list offers every type's fields).
    types: folder.allowedCardTypes.length > 0 ? query.types : await typesInFolder(folder._id),
    asked: ids
      ? { selected: ids.map(String), sortBy: query.sortBy, descending: query.descending }
      : { filters: request.filters ?? [], sortBy: query.sortBy, descending: query.descending },
    count: () => Card.countDocuments(filtered),
    // One cursor reading one snapshot (a snapshot session): the file is one view of the list however long the download
    // takes — cards edited or added meanwhile neither come twice, nor go missing, nor pass the rows reserved against the
    // daily limit (s16 re-attack B3, B4). A plain cursor would not do: MongoDB's (and the built-in database's) cursors
    // read each batch in the latest state, and an edit moves a card in a list sorted by its change time.
    cards: async function* () {
      const session = await mongoose.startSession({ snapshot: true });
      try {
        yield* Card.find(filtered, WITHOUT_SEARCH_FIELDS).sort(sort).lean<CardDoc[]>().batchSize(BATCH).session(session).cursor() as AsyncIterable<CardDoc>;
      } finally {
        await session.endSession();
      }
    },
  };
}

/** The cards of a search an export writes: how many the actor may read and how many export, their types, and the cards exported. */
interface SearchMatches {
  found: number;
  exportable: number;
  typeKeys: string[];
  cards(): AsyncIterable<CardDoc>;
}

/** Whether the actor may read and export a card (a card of the trash never). */
const exportableBy =
  (actor: Actor) =>
  (card: CardDoc | undefined): card is CardDoc =>
    card !== undefined && !card.inTrash && actor.ability.can('read', cardSubject(card)) && actor.ability.can('export', cardSubject(card));

/** The cards of `ids` still out of the trash, read a batch at a time, in the order of `ids`. */
async function* cardsById(ids: Types.ObjectId[]): AsyncIterable<CardDoc> {
  for (let from = 0; from < ids.length; from += BATCH) {
    const chunk = ids.slice(from, from + BATCH);
    const read = new Map((await Card.find({ _id: { $in: chunk }, inTrash: false }, { searchText: 0, searchKeys: 0 }).lean<CardDoc[]>()).map((card) => [String(card._id), card]));
    for (const id of chunk) {
      const card = read.get(String(id));
      if (card) yield card;
    }
  }
}

/** A search that looked at every card it could match: its hits, in the order of the results page. */
async function rankedMatches(actor: Actor, ranked: RankedHit[]): Promise<SearchMatches> {
  const hits = inHitOrder(ranked);
  const located = await Card.find({ _id: { $in: hits.map((hit) => hit._id) } }, { folderId: 1, libraryId: 1, typeKey: 1, inTrash: 1 }).lean<CardDoc[]>();
  const byId = new Map(located.map((card) => [String(card._id), card]));
  const allowed = hits.map((hit) => byId.get(hit.id)).filter(exportableBy(actor));
  return {
    found: hits.length,
    exportable: allowed.length,
    typeKeys: [...new Set(allowed.map((card) => card.typeKey))],
    cards: () => cardsById(allowed.map((card) => card._id)),
  };
}

/**
 * A search with more matches than it looks at («Найдено не менее 418»): every card matching it,
 * read twice by `query` — once to count those the actor may read and export (the count the daily
 * limit and the progress bar take, and the audit records), then to write them — in the index's
 * order, a batch at a time, as a folder's cards are.
 */
async function everyMatch(actor: Actor, query: { filter: Record<string, unknown>; hint: Record<string, 1> }): Promise<SearchMatches> {
  const exportable = exportableBy(actor);
  let found = 0;
  let allowed = 0;
  const typeKeys = new Set<string>();
  const located = Card.find(query.filter, { folderId: 1, libraryId: 1, typeKey: 1, inTrash: 1 })
    .hint(query.hint)
    .lean<CardDoc[]>()
    .batchSize(BATCH * 10)
    .cursor();
  for await (const card of located as AsyncIterable<CardDoc>) {
    if (!actor.ability.can('read', cardSubject(card))) continue;
    found += 1;
    if (!exportable(card)) continue;
    allowed += 1;
    typeKeys.add(card.typeKey);
  }
  return {
    found,
    exportable: allowed,
    typeKeys: [...typeKeys],
    async *cards() {
      const cursor = Card.find(query.filter, { searchText: 0, searchKeys: 0 }).hint(query.hint).lean<CardDoc[]>().batchSize(BATCH).cursor();
      for await (const card of cursor as AsyncIterable<CardDoc>) if (exportable(card)) yield card;
    },
  };
}

/**
 * All the results of a search (its text, and its library when one was chosen) — every match,
 * also beyond the cards a search looks at (`everyMatch`) — each card checked for reading and for
 * «Экспорт» on its own folder; those in folders without «Экспорт» are left out (counted in the
 * audit), and when every one is, the export is refused as a folder's is.
 */
async function searchSource(actor: Actor, request: ExportRequest, errors: FieldErrors): Promise<ExportSource> {
  const text = (request.search ?? '').trim();
  if (text.length < 2) errors.addMessage('search', t(actor, 'Введите не меньше 2 символов', 'Type at least 2 characters'));
  errors.throwIfAny();
  const target = { type: 'Search', id: '' } as const;
  const withoutRight = (found: string, foundEn: string) =>
    refuseExport(
      actor,
      target,
      t(actor, `Экспорт результатов поиска «${text}» без права «Экспорт»${found}`, `Export of the results of search “${text}” without the Export right${foundEn}`),
    );
  // Someone holding «Экспорт» on no folder is refused before the search, whatever it would find:
  // not a file of nothing when nothing matches and a refusal when something does (s17 check).
  if (!actor.ability.can('export', 'Card')) await withoutRight('', '');
  const options = { libraryId: request.libraryId, field: 'search' };
  const { ranked, complete, exact } = await searchHits(actor, text, options);
  const every = complete ? null : await everySearchMatch(actor, text, { ...options, exact });
  const matches = every ? await everyMatch(actor, every) : await rankedMatches(actor, ranked);
  const what = t(actor, `Поиск «${text}»`, `Search “${text}”`);
  if (matches.exportable === 0 && matches.found > 0) await withoutRight(` (найдено: ${matches.found})`, ` (${matches.found} found)`);
  const typeKeys = matches.typeKeys.sort();
  const types = (await Promise.all(typeKeys.map((key) => findCardType(key)))).filter((type): type is CardTypeDefinition => type !== null);
  return {
    target,
    what,
    name: t(actor, `Поиск ${text}`, `Search ${text}`),
    types,
    asked: { search: text, ...(request.libraryId ? { libraryId: request.libraryId } : {}), found: matches.found, leftOutWithoutRight: matches.found - matches.exportable },
    count: async () => matches.exportable,
    cards: () => matches.cards(),
  };
}

/**
 * Checks the right and the request, then returns how to write the file: a folder's list
 * (`folderId`), the cards of it selected (`folderId` and `ids`) or a search's results (`search`).
 * Without «Экспорт» the refusal is audited and FORBIDDEN.
 */
export async function prepareExport(actor: Actor, request: ExportRequest, limits: ExportLimits): Promise<PreparedExport> {
  const errors = new FieldErrors(actor.locale);
  if (request.format !== 'xlsx' && request.format !== 'csv') errors.addMessage('format', t(actor, 'Формат: xlsx или csv', 'Format: xlsx or csv'));
  if (request.search != null && (request.folderId || request.ids))
    errors.addMessage('search', t(actor, 'Выгружается либо поиск, либо папка, не оба сразу', 'Export either a search or a folder, not both'));
  if (request.search == null && !request.folderId) errors.addMessage('folderId', t(actor, 'Укажите папку или поиск', 'Give a folder or a search'));
  errors.throwIfAny();
  const source = request.search != null ? await searchSource(actor, request, errors) : await folderSource(actor, request, errors);
  const available = new Map<string, FieldDefinition>();
  for (const type of source.types) for (const field of visibleFields(type)) if (!available.has(field.key)) available.set(field.key, field);
  const ownFields = new OwnFields(source.types);
  const requested = request.columns?.length ? request.columns : [...available.keys()];
  // A folder's list shows the columns of every type the folder may hold, also of types none of its
  // cards has yet (a folder without a type restriction: all of them): such a column is exported
  // empty, not refused (s12 user U6: every export of a new folder filled by an import failed).
  if (requested.some((key) => !available.has(key))) {
    for (const type of await listCardTypes()) for (const field of visibleFields(type)) if (!available.has(field.key)) available.set(field.key, field);
  }
  if (requested.length > MAX_EXPORT_COLUMNS) {
    errors.addMessage('columns', t(actor, `Не больше ${MAX_EXPORT_COLUMNS} столбцов`, `At most ${MAX_EXPORT_COLUMNS} columns`));
    errors.throwIfAny();
  }
  // Each field once: a row is never wider than the fields it shows (s16 attack A3: one name asked 20,000 times).
  const chosen = new Set<string>();
  const columns = requested.flatMap((key, index) => {
    const field = available.get(key);
    if (!field) errors.add(`columns.${index}`, 'noSuchField');
    else if (chosen.has(key)) errors.addMessage(`columns.${index}`, t(actor, `Столбец «${field.label.ru}» уже выбран`, `Column “${field.label.en}” is chosen already`));
    chosen.add(key);
    return field ? [field] : [];
  });
  errors.throwIfAny();
  const stamp = new Date().toISOString().slice(0, 10);
  const fileName = `${
    source.name
      .replace(/[\\/:*?"<>|«»“”]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim() || 'export'
  } ${stamp}.${request.format}`;
  const options = { locale: actor.locale } as const;
  const asked = { ...source.asked, columns: columns.map((field) => field.key) };
  // With a daily limit the rows are counted first, and reserved; a page showing a progress bar needs them too.
  const total = limits.dailyRows > 0 || request.progressId ? await source.count() : 0;
  const settle = limits.dailyRows > 0 ? await reserveDailyRows(actor, source, total, limits.dailyRows, { format: request.format, ...asked }) : null;

  /** Set when «Экспорт» (or the account) was taken away while the file was being written. */
  let withdrawn = false;
  /** The actor as of the last change of the access structure: the right is asked of it before each batch. */
  const actorNow = await actorFollowingAccess(actor, actor.userId, actor.ip);
  let current: Actor | null = actor;
  async function stillAllowed(cards: CardDoc[]): Promise<boolean> {
    const now = (current = await actorNow());
    return now !== null && cards.every((card) => now.ability.can('export', cardSubject(card)));
  }

  async function* batches(): AsyncGenerator<{ cards: CardDoc[]; linkText: (id: string) => string }> {
    let cards: CardDoc[] = [];
    const batch = async () => {
      if (!(await stillAllowed(cards))) {
        withdrawn = true;
        throw forbidden(actor, t(actor, 'экспорт прерван: право «Экспорт» снято', 'export stopped: the “Export” right was withdrawn'));
      }
      await ownFields.load(cards);
      return {
        cards,
        linkText: await linkTexts(
          actor,
          columns,
          cards.map((card) => card.values),
          'export',
        ),
      };
    };
    for await (const card of source.cards()) {
      // Each card is checked again, as every path that returns data is.
      if (!current?.ability.can('read', cardSubject(card))) continue;
      cards.push(card);
      if (cards.length < BATCH) continue;
      yield await batch();
      limits.countRead?.(actor, cards.length);
      reportProgress();
      cards = [];
    }
    if (cards.length > 0) {
      yield await batch();
      limits.countRead?.(actor, cards.length);
    }
  }

  /** Rows written so far (what the daily count settles to, also when the download breaks off). */
  let rowsWritten = 0;
  let progressSentAt = 0;
  /** Tells the page the rows written (paced; `last` goes out whatever the pace). */
  const reportProgress = (last = false) => {
    if (!request.progressId || (!last && Date.now() - progressSentAt < EXPORT_PROGRESS_EVERY_MS)) return;
    progressSentAt = Date.now();
    events.publish('export-progress', { userId: actor.userId, progressId: request.progressId, rows: rowsWritten, total });
  };
  /** A card's value in a column, with its own type's field: only a field its type shows (another type's key may be hidden in this one). */
  const value = (card: CardDoc, column: FieldDefinition): { field: FieldDefinition; stored: StoredValue } | undefined => {
    const field = ownFields.of(card.typeKey, column.key);
    const stored = field && card.values[field.key];
    return field && stored !== undefined ? { field, stored } : undefined;
  };

  /** Audits the export with the rows it wrote; one that broke off (`complete` false) is audited too, as such. */
  async function audited(rows: number, complete: boolean): Promise<number> {
    await recordAudit(
      { userId: actor.userId, login: actor.login, ip: actor.ip },
      {
        kind: 'cards-exported',
        targetType: source.target.type,
        targetId: source.target.id,
        summary:
          t(actor, `${source.what}: ${rows} карточек в ${request.format}`, `${source.what}: ${rows} cards to ${request.format}`) +
          (complete
            ? ''
            : withdrawn
              ? t(actor, ' (прервана: право «Экспорт» снято)', ' (stopped: the Export right was withdrawn)')
              : t(actor, ' (загрузка прервана)', ' (download broken off)')),
        after: { format: request.format, rows, complete, ...(withdrawn ? { rightWithdrawn: true } : {}), ...asked },
      },
    );
    return rows;
  }

  async function writeXlsx(out: Writable): Promise<number> {
    const { default: excel } = await import('exceljs');
    const workbook = new excel.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
    const sheet = workbook.addWorksheet(source.name.slice(0, 31).replace(/[\\/:*?[\]]/g, ' ') || 'Export');
    sheet.columns = columns.map((field) => ({ header: field.label[actor.locale], key: field.key, width: Math.min(50, Math.max(12, field.label[actor.locale].length + 2)) }));
    sheet.getRow(1).font = { bold: true };
    for await (const { cards, linkText } of batches()) {
      for (const card of cards) {
        const row = sheet.addRow([]);
        columns.forEach((column, index) => {
          const own = value(card, column);
          if (!own) return;
          const { field, stored } = own;
          const cell = row.getCell(index + 1);
          const typed = kindOf(field).toCell(stored, field, { ...options, linkText });
          cell.value = typed.hyperlink ? linkCell(String(typed.value), typed.hyperlink) : typeof typed.value === 'string' ? guardedText(typed.value) : typed.value;
          if (typed.hyperlink && typeof cell.value === 'object') cell.font = LINK_FONT;
          if (typed.numberFormat) cell.numFmt = typed.numberFormat;
        });
        row.commit();
        rowsWritten += 1;
      }
      forgetFormulae(sheet);
      for (const sink of [...sheetSinks(sheet), out]) await drained(sink, out);
    }
    sheet.commit();
    // The download going away now would leave the zip waiting for it for ever.
    await Promise.all([workbook.commit(), finished(out, { readable: false })]);
    return rowsWritten;
  }

  async function writeCsv(out: Writable): Promise<number> {
    // UTF-8 with a BOM and `;`: what Russian Excel opens right with a double click. Text that a
    // spreadsheet would run as a formula (starting with = + - @, a tab or CR) gets a leading `'`
    // (OWASP's CSV injection advice) — except a phone number, written as `csvPhone` says; numbers
    // stay numbers, a negative one included, written as Excel of the user's language reads them
    // (a decimal comma in Russian, no grouping).
    const csv = stringify({
      delimiter: ';',
      bom: true,
      record_delimiter: 'windows',
      escape_formulas: true,
      // A line break inside a value is quoted too: csv-stringify quotes only the record delimiter (\r\n),
      // and a spreadsheet ends a row at a bare \n — a note's second line would become a row of its own.
      quoted_match: [PHONE_IN_CSV, /[\r\n]/],
      cast: { number: (number) => (actor.locale === 'ru' ? String(number).replace('.', ',') : String(number)) },
    });
    csv.pipe(out);
    // The download closing stops the export; csv-stringify itself would only stop taking lines.
    const written = async (line: (string | number)[]) => {
      if (!csv.write(line)) await drained(csv, out);
    };
    await written(columns.map((field) => field.label[actor.locale]));
    for await (const { cards, linkText } of batches()) {
      for (const card of cards) {
        await written(
          columns.map((column) => {
            const own = value(card, column);
            if (!own) return '';
            const { field, stored } = own;
            const typed = kindOf(field).toCell(stored, field, { ...options, linkText });
            if (typeof typed.value === 'number') return typed.value;
            return csvPhone(guardedText(kindOf(field).format(stored, field, { ...options, linkText })));
          }),
        );
        rowsWritten += 1;
      }
    }
    csv.end();
    await finished(out, { readable: false });
    return rowsWritten;
  }

  return {
    fileName,
    contentType: request.format === 'xlsx' ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv; charset=utf-8',
    write: async (out) => {
      // Recorded before the first row: an export cut off by a server stop (a crash, a deploy) is still on record.
      await recordAudit(
        { userId: actor.userId, login: actor.login, ip: actor.ip },
        {
          kind: 'export-started',
          targetType: source.target.type,
          targetId: source.target.id,
          summary: t(actor, `${source.what}: выгрузка в ${request.format} начата`, `${source.what}: export to ${request.format} started`),
          after: { format: request.format, ...asked },
        },
      );
      reportProgress(true);
      try {
        return await audited(request.format === 'xlsx' ? await writeXlsx(out) : await writeCsv(out), true);
      } catch (error) {
        await audited(rowsWritten, false);
        throw error;
      } finally {
        reportProgress(true);
        await settle?.(rowsWritten);
      }
    },
  };
}
