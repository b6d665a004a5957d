/**
 * The HTTP side of transfers, where GraphQL does not fit files: uploading a file to import,
 * downloading an export, and downloading an import's refused rows as `.xlsx`. Errors answer as
 * JSON `{ code, error, fields }` with the status of their code, in the user's language.
 */
import { PassThrough, Transform } from 'node:stream';
import { json } from 'node:stream/consumers';
import type Router from '@koa/router';
import type ExcelJS from 'exceljs';
import type { Context } from 'koa';
import { Types } from 'mongoose';
import { buildActor, type Actor } from '../access/actor';
import { underMaintenance } from '../backup/maintenance';
import { AppError } from '../errors';
import { requestLocale } from '../graphql/context';
import { safeFileName } from '../files/names';
import { message } from '../i18n';
import { findJob } from '../jobs/service';
import { deleteFile, storedUploadBytes, storeFile } from './files';
import { prepareExport, type ExportFormat, type ExportLimits, type ExportRequest } from './export';
import type { ImportParams } from './import';
import { ImportRow, type ImportRowDoc } from './model';
import { formatOf } from './sheet';
import type { CardFilter } from '../cards/queries';

/** The largest file an import takes. */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

const STATUS: Record<string, number> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, BAD_USER_INPUT: 400, CONFLICT: 409, MAINTENANCE: 503 };

const t = (actor: Pick<Actor, 'locale'>, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

function refuse(ctx: Context, code: string, error: string, fields?: Record<string, string>): void {
  ctx.status = STATUS[code] ?? 400;
  ctx.body = { code, error, ...(fields && { fields }) };
}

/** The signed-in actor of a request, or a 401 answer and null. */
async function actorOf(ctx: Context): Promise<Actor | null> {
  const { user, addressRefused } = ctx.state.auth;
  if (!user || addressRefused) {
    refuse(ctx, 'UNAUTHENTICATED', message(requestLocale(ctx), 'unauthenticated'));
    return null;
  }
  return buildActor(user, ctx.ip);
}

/** Runs a handler; a domain error becomes its JSON answer. */
async function answering(ctx: Context, handler: (actor: Actor) => Promise<void>): Promise<void> {
  const actor = await actorOf(ctx);
  if (!actor) return;
  try {
    await handler(actor);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    refuse(ctx, String(error.extensions.code), error.message, error.extensions.fields as Record<string, string> | undefined);
  }
}

const megabytes = (actor: Actor, bytes: number) => (bytes / 1024 / 1024).toLocaleString(actor.locale, { maximumFractionDigits: 1 });

/** An upload refused by the quota (IMPORT_UPLOAD_QUOTA_MB), with the numbers and what frees it. */
function uploadQuotaRefusal(actor: Actor, quota: number, used: number): AppError {
  return new AppError(
    'BAD_USER_INPUT',
    t(
      actor,
      `Файл не помещается в квоту загрузок для импорта: ${megabytes(actor, quota)} МБ на пользователя, ваши загруженные файлы уже занимают ${megabytes(actor, used)} МБ. Место освобождается, когда импорт из файла завершён, и через сутки после загрузки.`,
      `The file does not fit in the import upload quota: ${megabytes(actor, quota)} MB per user, and your uploaded files already take ${megabytes(actor, used)} MB. Space is freed when an import from a file ends, and a day after the upload.`,
    ),
    {
      fields: { file: t(actor, `Превышена квота загрузок для импорта (${megabytes(actor, quota)} МБ)`, `Over the import upload quota (${megabytes(actor, quota)} MB)`) },
      quotaBytes: quota,
      usedBytes: used,
    },
  );
}

/** Counts bytes through and fails past the limit (the upload is then dropped). */
function limited(max: number, tooLarge: () => Error): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      callback(seen > max ? tooLarge() : null, chunk);
    },
  });
}

/** A JSON body's limit for an export's request: a selection of MAX_EXPORT_SELECTION ids with room to spare. */
const EXPORT_REQUEST_BYTES = 512 * 1024;

const invalid = (actor: Actor, fields: Record<string, string>) => new AppError('BAD_USER_INPUT', message(actor.locale, 'invalidInput'), { fields });

/**
 * An export's request from the query (`GET`: `filters` as JSON, `columns` comma-separated) or from
 * a JSON body (`POST`, which a selection's ids need), each part checked for its shape by name.
 */
function exportRequest(actor: Actor, input: Record<string, unknown>, fromQuery: boolean): ExportRequest {
  const fields: Record<string, string> = {};
  const text = (key: string): string | null => {
    const value = input[key];
    if (value === undefined || value === null || value === '') return null;
    if (typeof value === 'string') return value;
    fields[key] = t(actor, 'Ожидается текст', 'Text is expected');
    return null;
  };
  const list = (key: string, parse: (value: string) => unknown, wrong = t(actor, 'Ожидается список', 'A list is expected')): unknown[] | null => {
    let value = input[key];
    if (value === undefined || value === null || value === '') return null;
    if (fromQuery && typeof value === 'string') {
      try {
        value = parse(value);
      } catch {
        value = null;
      }
    }
    if (Array.isArray(value)) return value as unknown[];
    fields[key] = wrong;
    return null;
  };
  const descending = input.descending;
  const request: ExportRequest = {
    folderId: text('folderId'),
    search: text('search'),
    libraryId: text('libraryId'),
    format: (text('format') ?? 'xlsx') as ExportFormat,
    sortBy: text('sortBy'),
    descending: descending === undefined || descending === null ? null : descending === true || descending === 'true',
    filters: list('filters', (value) => JSON.parse(value), t(actor, 'Неверные фильтры', 'Invalid filters')) as CardFilter[] | null,
    columns: list('columns', (value) => value.split(',').filter(Boolean)) as string[] | null,
    ids: list('ids', (value) => value.split(',').filter(Boolean)),
    progressId: text('progressId'),
  };
  // The page's own name for its progress bar (a random UUID in the client): short, and nothing to escape.
  if (request.progressId && !/^[\w-]{1,64}$/.test(request.progressId)) fields.progressId = t(actor, 'Неверный идентификатор', 'Invalid identifier');
  if (request.columns?.some((column) => typeof column !== 'string')) fields.columns = t(actor, 'Ожидается список ключей полей', 'A list of field keys is expected');
  if (Object.keys(fields).length > 0) throw invalid(actor, fields);
  return request;
}

/** Streams the export asked for: the file with its name, or the refusal as JSON. */
async function exportTo(ctx: Context, actor: Actor, request: ExportRequest, limits: ExportLimits): Promise<void> {
  const prepared = await prepareExport(actor, request, limits);
  const body = new PassThrough();
  ctx.type = prepared.contentType;
  ctx.attachment(prepared.fileName);
  ctx.body = body;
  prepared.write(body).catch((error: unknown) => {
    ctx.state.logger.error({ err: error }, 'export failed mid-way');
    body.destroy(error as Error);
  });
}

/** The limits of the transfer routes: the exports', and the bytes of import uploads one user may hold (0: no quota). */
export interface TransferLimits extends ExportLimits {
  uploadQuotaBytes: number;
}

export function transferRoutes(router: Router, limits: TransferLimits): void {
  /** POST /transfer/uploads?name=<file name>, the file as the body (application/octet-stream) → { id, name, size }. */
  router.post('/transfer/uploads', (ctx) =>
    answering(ctx, async (actor) => {
      if (await underMaintenance()) throw new AppError('MAINTENANCE', message(actor.locale, 'maintenance'));
      const name = safeFileName(String(ctx.query.name ?? ''), '');
      // A body type a form cannot send: a page of another site cannot upload in the user's name.
      if (!ctx.is('application/octet-stream'))
        throw new AppError('BAD_USER_INPUT', t(actor, 'Ожидается файл (application/octet-stream)', 'A file is expected (application/octet-stream)'), {
          fields: { file: t(actor, 'Ожидается файл', 'A file is expected') },
        });
      if (!formatOf(name)) {
        throw new AppError('BAD_USER_INPUT', t(actor, 'Загрузите файл .xlsx или .csv', 'Upload an .xlsx or .csv file'), {
          fields: { file: t(actor, 'Нужен файл .xlsx или .csv', 'An .xlsx or .csv file is needed') },
        });
      }
      const tooLarge = () =>
        new AppError('BAD_USER_INPUT', t(actor, `Файл больше ${MAX_UPLOAD_BYTES / 1024 / 1024} МБ`, `The file is over ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`), {
          fields: { file: t(actor, 'Слишком большой файл', 'The file is too large') },
        });
      const declared = Number(ctx.get('content-length') || 0);
      if (declared > MAX_UPLOAD_BYTES) throw tooLarge();
      // The quota: what the user's stored uploads leave (checked again once this one is stored, so
      // that parallel uploads cannot pass it together).
      const quota = limits.uploadQuotaBytes;
      const room = quota > 0 ? quota - (await storedUploadBytes(actor.userId)) : Infinity;
      const overQuota = async () => uploadQuotaRefusal(actor, quota, await storedUploadBytes(actor.userId));
      if (declared > room || room <= 0) throw await overQuota();
      let quotaPassed = false;
      const bounded = limited(Math.min(MAX_UPLOAD_BYTES, room), () => {
        if (room >= MAX_UPLOAD_BYTES) return tooLarge();
        quotaPassed = true;
        return new AppError('BAD_USER_INPUT', 'over the upload quota');
      });
      let id: string;
      try {
        id = await storeFile(ctx.req.pipe(bounded), { kind: 'upload', ownerId: actor.userId, name });
      } catch (error) {
        if (quotaPassed) throw await overQuota();
        throw error;
      }
      if (quota > 0 && (await storedUploadBytes(actor.userId)) > quota) {
        await deleteFile(id);
        throw await overQuota();
      }
      ctx.status = 201;
      ctx.body = { id, name };
    }),
  );

  /**
   * GET /transfer/export?folderId=…&format=xlsx|csv&sortBy=…&descending=…&filters=<JSON>&columns=a,b
   * (a folder's list) or ?search=<text>&libraryId=… (a search's results) — the file, for holders of «Экспорт».
   */
  router.get('/transfer/export', (ctx) => answering(ctx, (actor) => exportTo(ctx, actor, exportRequest(actor, ctx.query as Record<string, unknown>, true), limits)));

  /** POST /transfer/export with the same request as JSON, `ids` (a selection of the folder's cards) included. */
  router.post('/transfer/export', (ctx) =>
    answering(ctx, async (actor) => {
      // A body type a form cannot send: a page of another site cannot start an export in the user's name.
      if (!ctx.is('application/json')) throw invalid(actor, { body: t(actor, 'Ожидается JSON (application/json)', 'JSON (application/json) is expected') });
      const tooLarge = () => invalid(actor, { ids: t(actor, 'Слишком большой запрос', 'The request is too large') });
      if (Number(ctx.get('content-length') || 0) > EXPORT_REQUEST_BYTES) throw tooLarge();
      let input: unknown;
      try {
        input = await json(ctx.req.pipe(limited(EXPORT_REQUEST_BYTES, tooLarge)));
      } catch (error) {
        if (error instanceof AppError) throw error;
        throw invalid(actor, { body: t(actor, 'Неверный JSON', 'Invalid JSON') });
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid(actor, { body: t(actor, 'Ожидается объект JSON', 'A JSON object is expected') });
      await exportTo(ctx, actor, exportRequest(actor, input as Record<string, unknown>, false), limits);
    }),
  );

  /** GET /transfer/imports/:jobId/refused.xlsx — the refused rows of an import with a column of reasons, to fix and import again. */
  router.get('/transfer/imports/:jobId/refused.xlsx', (ctx) =>
    answering(ctx, async (actor) => {
      const job = await findJob(ctx.params.jobId);
      if (!job || job.type !== 'import' || (String(job.ownerId) !== actor.userId && !actor.isAdmin)) {
        throw new AppError('NOT_FOUND', message(actor.locale, 'notFound', { what: t(actor, 'Импорт', 'Import') }));
      }
      const params = job.params as unknown as ImportParams;
      const body = new PassThrough();
      ctx.type = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
      ctx.attachment(`${safeFileName(params.fileName).replace(/\.(xlsx|csv|txt)$/i, '')} — ${t(actor, 'отклонённые строки', 'refused rows')}.xlsx`);
      ctx.body = body;
      const write = async () => {
        const { default: excel } = await import('exceljs');
        const workbook = new excel.stream.xlsx.WorkbookWriter({ stream: body, useStyles: true });
        const sheet = workbook.addWorksheet(t(actor, 'Отклонённые', 'Refused'));
        sheet.addRow([...params.headers, t(actor, 'Строка файла', 'File row'), t(actor, 'Причина', 'Reason')]).commit();
        const rows = ImportRow.find({ importId: new Types.ObjectId(String(job._id)), outcome: 'refused' })
          .sort({ row: 1 })
          .lean<ImportRowDoc[]>()
          .cursor();
        for await (const row of rows as AsyncIterable<ImportRowDoc>) {
          const cells = params.headers.map((_header, index) => (row.cells?.[index] ?? null) as ExcelJS.CellValue);
          const reason = (row.problems ?? []).map((problem) => (problem.column ? `${problem.column}: ${problem.message}` : problem.message)).join('; ');
          const added = sheet.addRow([...cells, row.row, reason]);
          // A date cell of the user's file is written back as a date cell, shown as Excel shows a date.
          cells.forEach((cell, index) => {
            if (cell instanceof Date) added.getCell(index + 1).numFmt = cell.getUTCHours() + cell.getUTCMinutes() + cell.getUTCSeconds() > 0 ? 'dd.mm.yyyy hh:mm' : 'dd.mm.yyyy';
          });
          added.commit();
        }
        sheet.commit();
        await workbook.commit();
      };
      write().catch((error: unknown) => {
        ctx.state.logger.error({ err: error }, 'error report failed mid-way');
        body.destroy(error as Error);
      });
    }),
  );
}
