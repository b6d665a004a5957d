import type Router from '@koa/router';
import type { Context } from 'koa';
import rangeParser from 'range-parser';
import { buildActor, type Actor } from '../access/actor';
import type { AuditKind } from '../audit/model';
import { AuditEntry } from '../audit/model';
import { recordAudit } from '../audit/service';
import { underMaintenance } from '../backup/maintenance';
import type { ErrorCode } from '../errors';
import { stopReading } from '../http/request-context';
import { message } from '../i18n';
import { findFileType } from '../../../card-types';
import { contentTypeOf, fileView, servedName } from './view';
import { findCard } from '../cards/service';
import { findFolder } from '../folders/service';
import { mayDownload, readableFile } from './service';
import { megabytes } from './quota';
import { fileStorage } from './storage';
import { safePdfView, type SafeView } from './safe-copy';
import { discardUpload, receiveUpload, UploadRefusal, UPLOAD_REQUEST_CEILING } from './upload';
import { htmlPreview, imageThumbnail, messagePage } from './preview';
import { DrawingCancelled, PAGE_IMAGE_LIMIT, PAGE_WIDTH_PX, PagesBusy, pdfPageCount, pdfPageImage, type DrawingRequest } from './pages';
import { unpackRefusalText } from './archive';
import type { CardDoc } from '../cards/model';
import type { PreviewRefusal, StoredFileDoc } from './model';

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

/** Where uploads go: beside /graphql. */
export const FILES_PATH = '/files';

/** The header a browser sends only from a page of an origin the API trusts (the API's CSRF rule). */
const CSRF_HEADER = 'x-graphql-yoga-csrf';

function refuse(ctx: Context, status: number, code: ErrorCode, text: string, fields?: Record<string, string>): void {
  ctx.status = status;
  ctx.body = { errors: [{ message: text, extensions: { code, ...(fields ? { fields } : {}) } }] };
}

/** The signed-in actor of a request, or a refusal sent (401, or 403 outside the user's allowed addresses). */
async function actorOf(ctx: Context): Promise<Actor | null> {
  const { user, addressRefused } = ctx.state.auth;
  if (!user) {
    refuse(ctx, 401, 'UNAUTHENTICATED', message('ru', 'unauthenticated'));
    return null;
  }
  if (addressRefused) {
    refuse(ctx, 403, 'FORBIDDEN', message(user.locale === 'en' ? 'en' : 'ru', 'ipRefused', { ip: ctx.ip }));
    return null;
  }
  return buildActor(user, ctx.ip);
}

/**
 * Responses carrying a file never run in Kartoteka's origin: nothing may load or execute, and the
 * document is sandboxed — a PDF opened inline too (Chromium's viewer still shows it under the
 * `sandbox` directive, while its document gets no origin; a `sandbox` attribute on the card's frame
 * would switch the viewer off, so the frame has none and the header is what sandboxes it).
 */
function fileSecurityHeaders(ctx: Context, pdfInline: boolean): void {
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set(
    'Content-Security-Policy',
    pdfInline ? "default-src 'none'; frame-ancestors 'self'; sandbox" : "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox",
  );
  ctx.set('Cache-Control', 'private, no-cache');
}

/** The signed-in actor of a request that changes stored files (the API's CSRF rule, not during maintenance), or a refusal sent. */
async function writingActor(ctx: Context): Promise<Actor | null> {
  const actor = await actorOf(ctx);
  if (!actor) return null;
  if (!ctx.get(CSRF_HEADER)) {
    refuse(ctx, 403, 'FORBIDDEN', `Required CSRF header(s) not present: ${CSRF_HEADER}`);
    return null;
  }
  if (await underMaintenance()) {
    refuse(ctx, 503, 'MAINTENANCE', message(actor.locale, 'maintenance'));
    return null;
  }
  return actor;
}

/** DELETE /files/:id: the actor's own upload not saved to a card yet, discarded (204; its quota freed); 404 for anything else. */
async function discard(ctx: Context): Promise<void> {
  const actor = await writingActor(ctx);
  if (!actor) return;
  if (!(await discardUpload(actor, ctx.params.id ?? ''))) {
    refuse(ctx, 404, 'NOT_FOUND', message(actor.locale, 'notFound', { what: actor.locale === 'ru' ? 'Файл' : 'File' }));
    return;
  }
  ctx.status = 204;
}

/** POST /files: one file of a multipart form, stored as the actor's upload (201 with its description), within their quota. */
async function upload(ctx: Context, quotaBytes: number): Promise<void> {
  const actor = await writingActor(ctx);
  if (!actor) return;
  if (Number(ctx.get('content-length') || 0) > UPLOAD_REQUEST_CEILING) {
    refuse(ctx, 413, 'BAD_USER_INPUT', message(actor.locale, 'invalidInput'), { file: actor.locale === 'ru' ? 'Файл слишком большой' : 'The file is too large' });
    return;
  }
  try {
    const stored = await receiveUpload(actor, ctx.req, { quotaBytes });
    ctx.status = 201;
    // The link the form shows stays on the saved card: whether it may be followed is the right the
    // uploader will have there (saving a copy is export), not the upload's own (its uploader's).
    const folder = stored.folderId ? await findFolder(actor, String(stored.folderId)) : null;
    const place = stored.cardId ? await findCard(actor, String(stored.cardId)) : folder && { folderId: folder._id, libraryId: folder.libraryId };
    ctx.body = { file: { ...fileView(stored), canDownload: place ? mayDownload(actor, place) : false } };
  } catch (error) {
    // A cancelled upload: nobody is left to answer, and what it sent is already dropped.
    if (ctx.req.destroyed && !(error instanceof UploadRefusal)) return;
    if (!(error instanceof UploadRefusal)) throw error;
    refuse(ctx, error.status, error.code, error.message, error.code === 'BAD_USER_INPUT' ? error.fields : undefined);
  }
}

/** The file a download asks for, when the actor may read it; 404 otherwise (a hidden card's file is not there). */
async function requestedFile(ctx: Context): Promise<{ actor: Actor; file: StoredFileDoc; card: CardDoc | null } | null> {
  const actor = await actorOf(ctx);
  if (!actor) return null;
  const found = await readableFile(actor, ctx.params.id ?? '');
  if (!found) {
    refuse(ctx, 404, 'NOT_FOUND', message(actor.locale, 'notFound', { what: actor.locale === 'ru' ? 'Файл' : 'File' }));
    return null;
  }
  return { actor, ...found };
}

/** An audit entry about a file version: the card as the target (its title recorded, for when it is gone), the file in the details. */
async function auditFile(actor: Actor, file: StoredFileDoc, card: CardDoc | null, kind: AuditKind, summary: string, details: Record<string, unknown> = {}): Promise<void> {
  await recordAudit(
    { userId: actor.userId, login: actor.login, ip: actor.ip },
    {
      kind,
      targetType: 'Card',
      targetId: file.cardId ? String(file.cardId) : '',
      summary,
      after: { ...(card ? { name: card.title } : {}), fileId: String(file._id), file: servedName(file), version: file.version, sha256: file.sha256, ...details },
    },
  );
}

/** How long one read of a version by a user covers their further ranged reads of it (a viewer fetching a document in parts). */
const RANGED_READ_WINDOW_MS = 5 * 60_000;
/** The most of a user's recent reads of one version looked at to tell whether a range was recorded already. */
const RECENT_READS_LOOKED_AT = 500;

type Disposition = 'inline' | 'attachment';
/** Views of a version drawn on the server (its page images, an image's thumbnail): a reader's look at the document without its bytes. */
type DrawnView = 'pages' | 'thumbnail';

/** The actor's audit entries of one kind and disposition for this version within the window (their recent reads of it). */
const recentReads = (actor: Actor, file: StoredFileDoc, kind: 'file-downloaded' | 'file-previewed', disposition: Disposition | DrawnView) => ({
  actorId: actor.userId,
  at: { $gte: new Date(Date.now() - RANGED_READ_WINDOW_MS) },
  kind,
  'after.fileId': String(file._id),
  'after.disposition': disposition,
});

/**
 * Whether the bytes `range` of this version, served with this disposition, are recorded already in
 * the actor's reads of the last minutes: a whole read of it, or ranges that together hold this one.
 * Only reads with the same disposition count (an inline view does not cover a download, a 1-byte
 * range covers that byte only, and `/preview` — not the original — covers nothing). One lookup on
 * the actor's recent entries.
 */
async function rangeRecorded(actor: Actor, file: StoredFileDoc, disposition: Disposition, range: { start: number; end: number }, size: number): Promise<boolean> {
  const reads = await AuditEntry.find(recentReads(actor, file, disposition === 'inline' ? 'file-previewed' : 'file-downloaded', disposition), { 'after.range': 1 })
    .sort({ at: -1 })
    .limit(RECENT_READS_LOOKED_AT)
    .lean<{ after: { range?: string } }[]>();
  const recorded = reads.map(({ after }) => (after.range ? after.range.split('-').map(Number) : [0, size - 1])).sort((a, b) => a[0] - b[0]);
  // Walk the recorded ranges in order, extending what is covered from the range's start.
  let covered = range.start - 1;
  for (const [start, end] of recorded) {
    if (start > covered + 1) break;
    covered = Math.max(covered, end);
    if (covered >= range.end) return true;
  }
  return false;
}

/**
 * Audits a drawn view of a version as «Просмотр файла» unless the actor's same view of it is in the
 * log within the window: paging through a document, or a list of thumbnails shown again, is one view
 * (one lookup on the actor's recent entries). Whether this view was recorded (a new one).
 */
async function auditDrawnView(actor: Actor, file: StoredFileDoc, card: CardDoc | null, view: DrawnView, details: Record<string, unknown> = {}): Promise<boolean> {
  if ((await AuditEntry.exists(recentReads(actor, file, 'file-previewed', view))) !== null) return false;
  await auditFile(actor, file, card, 'file-previewed', servedName(file), { disposition: view, ...details });
  return true;
}

/**
 * GET /files/:id: the bytes of a version, as an attachment (a download) or inline (`?inline=1`: a
 * PDF in the browser's viewer, an image), with an ETag and byte ranges (206). A download gives the
 * original bytes; inline, an image is given as it is and a PDF as its safe copy (`safePdfView`:
 * rebuilt from its pages without scripts, actions, forms or annotations — never the uploaded bytes,
 * whatever a check of them said), or 422 with why it has none. The browser lets one save either:
 * both need the «Экспорт» right (a reader without it sees a PDF's pages drawn on the server or its text). Downloads are audited as «Скачан файл»,
 * inline views as «Просмотр файла», refusals as `export-refused`. A ranged read is audited unless the
 * same user's reads of that version with the same disposition in the last minutes already hold its
 * bytes (a viewer's parts); what is served is recorded.
 */
async function download(ctx: Context, { quotaBytes, countRead }: FileRouteOptions): Promise<void> {
  const found = await requestedFile(ctx);
  if (!found) return;
  const { actor, file, card } = found;
  const preview = findFileType(file.fileType)?.preview;
  const inline = ctx.query.inline === '1' && (preview === 'pdf' || preview === 'image');
  const name = servedName(file);
  if (!mayDownload(actor, card)) {
    await auditFile(
      actor,
      file,
      card,
      'export-refused',
      inline
        ? t(actor, `Просмотр оригинала файла «${name}» без права «Экспорт»`, `Viewing the original of “${name}” without the Export right`)
        : t(actor, `Скачивание файла «${name}» без права «Экспорт»`, `Download of “${name}” without the Export right`),
    );
    refuse(
      ctx,
      403,
      'FORBIDDEN',
      inline
        ? t(
            actor,
            'Недостаточно прав: оригинал файла открывается только с правом «Экспорт» (его выдаёт администратор); текст документа доступен в просмотре',
            'Not allowed: the original file opens only with the “Export” right (an administrator grants it); the document’s text is in the preview',
          )
        : t(
            actor,
            'Недостаточно прав: скачивание файла — это экспорт (нужно право «Экспорт»: его выдаёт администратор)',
            'Not allowed: downloading a file is export (the “Export” right is needed: an administrator grants it)',
          ),
    );
    return;
  }
  // The browser's viewer would run a PDF's scripts, and no check of the uploaded bytes reads them as
  // the viewer does: the viewer is only ever given the rebuilt copy.
  let copy: SafeView | null = null;
  if (inline && preview === 'pdf') {
    copy = await safePdfView(file, quotaBytes);
    if ('refused' in copy) {
      previewUnavailable(ctx, actor, copy.refused);
      return;
    }
  }
  const size = copy ? copy.size : file.size;
  const etag = copy ? `${file.sha256}-safe` : file.sha256;
  fileSecurityHeaders(ctx, copy !== null);
  ctx.attachment(name, { type: inline ? 'inline' : 'attachment' });
  ctx.type = contentTypeOf(file);
  ctx.set('Accept-Ranges', 'bytes');
  ctx.etag = etag;
  // Koa tells freshness of a 2xx answer only (the status is still the default 404 here).
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  const ifRange = ctx.get('if-range');
  const ranges = ctx.get('range') && (!ifRange || ifRange === `"${etag}"`) ? rangeParser(size, ctx.get('range'), { combine: true }) : -2;
  if (ranges === -1) {
    ctx.status = 416;
    ctx.set('Content-Range', `bytes */${size}`);
    return;
  }
  // One range is served as asked; a malformed header or several ranges get the whole file.
  const range = Array.isArray(ranges) && ranges.length === 1 ? ranges[0] : undefined;
  if (range) {
    ctx.status = 206;
    ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
  }
  ctx.length = range ? range.end - range.start + 1 : size;
  if (ctx.method === 'HEAD') return;
  // A viewer reading a document in parts is one view; a range whose bytes are not on record yet (for
  // this disposition) is recorded as served (parts must not take a file unrecorded).
  const disposition: Disposition = inline ? 'inline' : 'attachment';
  if (!range || range.start === 0 || !(await rangeRecorded(actor, file, disposition, range, size))) {
    await auditFile(actor, file, card, inline ? 'file-previewed' : 'file-downloaded', name, {
      disposition,
      ...(copy ? { safeCopy: true } : {}),
      ...(range ? { range: `${range.start}-${range.end}` } : {}),
    });
    countRead(actor, 1);
  }
  ctx.body = copy ? copy.read(range) : fileStorage.read(String(file._id), range);
}

/** Why there is no preview, as the user reads it. */
function refusalText(actor: Actor, refusal: PreviewRefusal): string {
  const mb = (bytes: number) => megabytes(bytes, actor.locale);
  const why = (() => {
    switch (refusal.reason) {
      case 'tooManyPixels':
        return t(actor, `изображение больше ${Math.round(refusal.limit / 1e6)} млн пикселей`, `the image has over ${Math.round(refusal.limit / 1e6)} million pixels`);
      case 'fileTooLarge':
        return t(actor, `файл больше ${refusal.limitBytes / 1024 / 1024} МБ`, `the file is over ${refusal.limitBytes / 1024 / 1024} MB`);
      case 'damaged':
        return t(actor, 'файл повреждён или не читается', 'the file is damaged or unreadable');
      case 'noText':
        return t(actor, 'в документе нет текстового слоя (страницы — изображения)', 'the document has no text layer (its pages are images)');
      case 'encrypted':
        return t(actor, 'документ зашифрован: откройте его после скачивания', 'the document is encrypted: open it after downloading');
      case 'tooMuchCompressed':
        return t(
          actor,
          `в документе слишком много сжатых данных (больше ${refusal.limitBytes / 1024 / 1024} МБ после распаковки): откройте его после скачивания`,
          `the document holds too much compressed data (over ${refusal.limitBytes / 1024 / 1024} MB once unpacked): open it after downloading`,
        );
      case 'copyTooLarge':
        return t(
          actor,
          'безопасная копия документа вышла бы намного больше самого файла: откройте его после скачивания',
          'the document’s safe copy would be far larger than the file itself: open it after downloading',
        );
      case 'tooSlow':
        return t(actor, `страница не отрисовалась за ${refusal.limitSeconds} с`, `the page was not drawn within ${refusal.limitSeconds} s`);
      case 'copyOverQuota':
        return t(
          actor,
          `безопасная копия документа для просмотра не помещается в квоту загрузившего его (занято ${mb(refusal.usedBytes)} МБ из ${mb(refusal.limitBytes)} МБ): откройте его после скачивания или освободите место`,
          `the document’s safe copy for viewing does not fit its uploader’s quota (${mb(refusal.usedBytes)} MB of ${mb(refusal.limitBytes)} MB used): open it after downloading, or free some room`,
        );
      case 'tooComplex':
        return t(
          actor,
          `документ слишком сложен, чтобы прочитать его на сервере (дольше ${refusal.limitSeconds} с или больше ${refusal.heapMb} МБ памяти): откройте его после скачивания`,
          `the document is too complex to read on the server (over ${refusal.limitSeconds} s or ${refusal.heapMb} MB of memory): open it after downloading`,
        );
      default: {
        const text = unpackRefusalText(refusal, actor.locale, { ru: '', en: '' });
        return text.charAt(0).toLowerCase() + text.slice(1);
      }
    }
  })();
  return `${t(actor, 'Превью недоступно', 'Preview unavailable')}: ${why}`;
}

/**
 * A preview the file cannot have: 422 with the reason, as a page for a frame (which shows it in
 * place of the preview) or as the API's error for anyone else. Never a server error.
 */
function previewUnavailable(ctx: Context, actor: Actor, refusal: PreviewRefusal): void {
  refuseInline(ctx, refusalText(actor, refusal));
}

/** 422 with a reason, as a page for a frame (shown in place of the file) or as the API's error for anyone else. */
function refuseInline(ctx: Context, text: string): void {
  if (ctx.accepts('json', 'html') !== 'html') {
    refuse(ctx, 422, 'UNPROCESSABLE', text);
    return;
  }
  fileSecurityHeaders(ctx, false);
  ctx.status = 422;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = messagePage(text);
}

/**
 * GET /files/:id/thumbnail: an image's small copy (JPEG), made once and kept; or why there is none
 * (422). For a scan it is the reader's view of the document: audited as «Просмотр файла» like page
 * views (once per user and version within the window).
 */
async function thumbnail(ctx: Context, { previewCacheBytes, countRead }: FileRouteOptions): Promise<void> {
  const found = await requestedFile(ctx);
  if (!found) return;
  const made = await imageThumbnail(found.file, previewCacheBytes);
  if (!made) {
    refuse(ctx, 404, 'NOT_FOUND', message(found.actor.locale, 'notFound', { what: found.actor.locale === 'ru' ? 'Эскиз' : 'Thumbnail' }));
    return;
  }
  if ('refused' in made) {
    previewUnavailable(ctx, found.actor, made.refused);
    return;
  }
  if (await auditDrawnView(found.actor, found.file, found.card, 'thumbnail')) countRead(found.actor, 1);
  fileSecurityHeaders(ctx, false);
  ctx.type = 'image/jpeg';
  ctx.body = made.content;
}

/** GET /files/:id/preview: a DOCX as sanitised HTML or a PDF as its text, read-only, for a sandboxed frame in the card (audited as «Просмотр файла»); or why there is none (422). */
async function preview(ctx: Context, { previewCacheBytes, countRead }: FileRouteOptions): Promise<void> {
  const found = await requestedFile(ctx);
  if (!found) return;
  const made = await htmlPreview(found.file, previewCacheBytes);
  if (made === null) {
    refuse(ctx, 404, 'NOT_FOUND', message(found.actor.locale, 'notFound', { what: found.actor.locale === 'ru' ? 'Предпросмотр' : 'Preview' }));
    return;
  }
  if ('refused' in made) {
    previewUnavailable(ctx, found.actor, made.refused);
    return;
  }
  await auditFile(found.actor, found.file, found.card, 'file-previewed', servedName(found.file), { disposition: 'preview' });
  countRead(found.actor, 1);
  fileSecurityHeaders(ctx, false);
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = made.content;
}

/** Refuses a request for page images while the drawing thread has too many waiting (503, try again). */
function pagesBusy(ctx: Context, actor: Actor): void {
  ctx.set('Retry-After', '30');
  refuse(
    ctx,
    503,
    'TOO_MANY_REQUESTS',
    t(actor, 'Сервер сейчас отрисовывает много страниц: попробуйте через полминуты', 'The server is drawing many pages now: try again in half a minute'),
  );
}

/** The actor's request for page drawings: taken in turn with other users', and leaving the queue if the client goes away before its answer. */
function drawingRequest(ctx: Context, actor: Actor, cacheBytes: number): DrawingRequest {
  const gone = new AbortController();
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) gone.abort(new DrawingCancelled());
  });
  return { userId: actor.userId, gone: gone.signal, cacheBytes };
}

/**
 * GET /files/:id/pages: how a PDF's pages can be paged through as images — how many it has, how many
 * of the first are drawn (`shown`), how wide — or why they cannot be (422); 404 for other files.
 */
async function pages(ctx: Context, cacheBytes: number): Promise<void> {
  const found = await requestedFile(ctx);
  if (!found) return;
  let counted;
  try {
    counted = await pdfPageCount(found.file, drawingRequest(ctx, found.actor, cacheBytes));
  } catch (error) {
    if (!(error instanceof PagesBusy)) throw error;
    pagesBusy(ctx, found.actor);
    return;
  }
  if (!counted) {
    refuse(ctx, 404, 'NOT_FOUND', message(found.actor.locale, 'notFound', { what: t(found.actor, 'Страницы', 'Pages') }));
    return;
  }
  if ('refused' in counted) {
    refuse(ctx, 422, 'UNPROCESSABLE', refusalText(found.actor, counted.refused));
    return;
  }
  ctx.set('Cache-Control', 'private, no-cache');
  ctx.body = { pages: counted.pages, shown: Math.min(counted.pages, PAGE_IMAGE_LIMIT), widthPx: PAGE_WIDTH_PX };
}

/**
 * GET /files/:id/pages/:page: one page of a PDF drawn on the server as a JPEG (1,000 px wide; the
 * first PAGE_IMAGE_LIMIT pages) — what a reader without «Экспорт» sees of a scan, never the original
 * bytes. Audited as «Просмотр файла» once per view (a page within minutes of the same user's page view of the version is the same view).
 */
async function pageImage(ctx: Context, { previewCacheBytes: cacheBytes, countRead }: FileRouteOptions): Promise<void> {
  const found = await requestedFile(ctx);
  if (!found) return;
  const { actor, file, card } = found;
  const page = /^[1-9]\d{0,5}$/.test(ctx.params.page ?? '') ? Number(ctx.params.page) : 0;
  const request = drawingRequest(ctx, actor, cacheBytes);
  try {
    const counted = await pdfPageCount(file, request);
    if (counted && 'refused' in counted) {
      previewUnavailable(ctx, actor, counted.refused);
      return;
    }
    if (!counted || page < 1 || page > counted.pages) {
      refuse(ctx, 404, 'NOT_FOUND', message(actor.locale, 'notFound', { what: t(actor, 'Страница', 'Page') }));
      return;
    }
    if (page > PAGE_IMAGE_LIMIT) {
      refuseInline(
        ctx,
        t(
          actor,
          `Показываются только первые ${PAGE_IMAGE_LIMIT} страниц из ${counted.pages}: остальные — в оригинале (скачивание с правом «Экспорт»)`,
          `Only the first ${PAGE_IMAGE_LIMIT} of ${counted.pages} pages are shown: the rest are in the original (a download, with the “Export” right)`,
        ),
      );
      return;
    }
    const made = await pdfPageImage(file, page, request);
    if ('refused' in made) {
      previewUnavailable(ctx, actor, made.refused);
      return;
    }
    if (await auditDrawnView(actor, file, card, 'pages', { page })) countRead(actor, 1);
    fileSecurityHeaders(ctx, false);
    ctx.type = 'image/jpeg';
    ctx.body = made.content;
  } catch (error) {
    if (!(error instanceof PagesBusy)) throw error;
    pagesBusy(ctx, actor);
  }
}

interface FileRouteOptions {
  quotaBytes: number;
  previewCacheBytes: number;
  /**
   * Tells the bulk-reading alarm of a card whose document was served — its bytes, its text, a page
   * or a thumbnail: for a contract or a scan the file is the card's data, read without GraphQL.
   */
  countRead: (actor: Actor, cards: number) => void;
}

/**
 * Upload (within the per-user quota, bytes; 0 = none), discarding one's unsaved upload, download and previews of files
 * (their copies kept in the preview cache of `previewCacheBytes`), beside /graphql, with the API's session and CSRF rules.
 */
export function fileRoutes(router: Router, options: FileRouteOptions): void {
  router.post(FILES_PATH, async (ctx) => {
    await upload(ctx, options.quotaBytes);
    if (ctx.status !== 201) stopReading(ctx);
  });
  router.get(`${FILES_PATH}/:id`, (ctx) => download(ctx, options));
  router.delete(`${FILES_PATH}/:id`, discard);
  router.get(`${FILES_PATH}/:id/thumbnail`, (ctx) => thumbnail(ctx, options));
  router.get(`${FILES_PATH}/:id/preview`, (ctx) => preview(ctx, options));
  router.get(`${FILES_PATH}/:id/pages`, (ctx) => pages(ctx, options.previewCacheBytes));
  router.get(`${FILES_PATH}/:id/pages/:page`, (ctx) => pageImage(ctx, options));
}
