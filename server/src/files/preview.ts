import { Readable } from 'node:stream';
import { Types } from 'mongoose';
import type { Sharp } from 'sharp';
import { findFileType } from '../../../card-types';
import { storedDocx, storedPdfTexts, TEXT_HEAP_MB, WHOLE_FILE_LIMIT } from './content';
import { DOCX_HTML_CHARS, PICTURE_NOT_SHOWN } from './docx-read';
import { StoredFile, type PreviewRefusal, type StoredFileDoc } from './model';
import { previewCache } from './preview-cache';
import { countUpload, uncountFile } from './quota';
import { fileStorage } from './storage';
import { FairQueue, type WorkerStopped } from './workers';

/**
 * Where a derived copy of a file is kept on its version, and where the reason it cannot be made:
 * an image's thumbnail, a document's HTML, or one page of a PDF drawn as an image.
 */
export interface RenditionSlot {
  /** Tells apart the work of making it in this process. */
  key: string;
  kept: Types.ObjectId | null | undefined;
  refused: PreviewRefusal | null | undefined;
  /** The paths of the version's description that keep the copy's id and the refusal. */
  keptPath: string;
  refusedPath: string;
  /** Set when the copy counts against its uploader's quota of this many bytes (0: no quota); a copy that does not fit is not kept. */
  quotaBytes?: number;
  /** Set when the copy is kept in the preview cache of this many bytes (preview-cache.ts); a copy that does not fit is served, not kept. */
  cacheBytes?: number;
}

const slotOf = (file: StoredFileDoc, which: 'thumbnail' | 'html', cacheBytes: number): RenditionSlot => ({
  key: which,
  kept: file.renditions?.[which],
  refused: file.previewRefusals?.[which],
  keptPath: `renditions.${which}`,
  refusedPath: `previewRefusals.${which}`,
  cacheBytes,
});

/** The most pixels an image may have to be shown as a thumbnail (sharp's own default bound, 0x3FFF²). */
export const MAX_IMAGE_PIXELS = 0x3fff * 0x3fff;

/** Why a copy cannot be made; kept on the version (`keep`) unless it may change (the uploader's quota). */
export class NoPreview extends Error {
  constructor(
    readonly refusal: PreviewRefusal,
    readonly keep = true,
  ) {
    super(`no preview: ${refusal.reason}`);
  }
}

/** A preview's bytes, or why there is none. */
export type Preview = { content: Readable } | { refused: PreviewRefusal };

/** Previews being made in this process, so that requests arriving meanwhile wait for the same work. */
const making = new Map<string, Promise<{ made: Buffer } | { refused: PreviewRefusal }>>();

/**
 * A derived copy of a file, made on first request, then kept in the storage beside the file and
 * removed with it; or, for a file that cannot have one, the refusal, kept on the file's version so
 * that it is not worked out again. Two instances making it at once both succeed; the copy recorded first is kept.
 */
export async function rendition(file: StoredFileDoc, slot: RenditionSlot, name: string, make: () => Promise<Buffer>): Promise<Preview> {
  if (slot.kept) {
    if (slot.cacheBytes !== undefined) await previewCache.used(slot.kept, file._id, slot.keptPath);
    return { content: fileStorage.read(String(slot.kept)) };
  }
  if (slot.refused) return { refused: slot.refused };
  const key = `${String(file._id)}:${slot.key}`;
  let outcome = making.get(key);
  if (!outcome) {
    outcome = makeAndKeep(file, slot, name, make).finally(() => making.delete(key));
    making.set(key, outcome);
  }
  const done = await outcome;
  return 'made' in done ? { content: Readable.from([done.made]) } : done;
}

async function makeAndKeep(file: StoredFileDoc, slot: RenditionSlot, name: string, make: () => Promise<Buffer>): Promise<{ made: Buffer } | { refused: PreviewRefusal }> {
  let made: Buffer;
  try {
    made = await make();
  } catch (error) {
    if (!(error instanceof NoPreview)) throw error;
    if (error.keep) await StoredFile.updateOne({ _id: file._id }, { $set: { [slot.refusedPath]: error.refusal } });
    return { refused: error.refusal };
  }
  const counted = slot.quotaBytes !== undefined;
  if (slot.quotaBytes !== undefined) {
    const fits = await countUpload(file.uploadedBy, made.length, slot.quotaBytes);
    if (!fits.counted) return { refused: copyOverQuota(fits.used, slot.quotaBytes) };
  }
  const cached = slot.cacheBytes !== undefined;
  // No room in the preview cache (every copy in it used in the last minutes): served this time, not kept.
  if (slot.cacheBytes !== undefined && !(await previewCache.reserve(made.length, slot.cacheBytes))) return { made };
  const id = new Types.ObjectId();
  let recorded = false;
  try {
    await fileStorage.write(String(id), name, Readable.from([made]));
    // Kept only on a version still there: one being removed meanwhile (its copies listed already) must not be left holding it.
    const written = await StoredFile.updateOne(
      { _id: file._id, state: { $in: ['pending', 'attached'] }, [slot.keptPath]: null },
      { $set: { [slot.keptPath]: id }, ...(counted ? { $inc: { copyBytes: made.length } } : {}) },
    );
    recorded = written.modifiedCount === 1;
  } finally {
    if (!recorded) {
      await fileStorage.remove(String(id));
      if (counted) await uncountFile(file.uploadedBy, made.length);
      if (cached) await previewCache.unreserve(made.length);
    }
  }
  if (cached) await previewCache.add(id, file._id, slot.keptPath, made.length);
  return { made };
}

/** A copy that does not fit its uploader's quota (`used` of `limit` bytes). */
export const copyOverQuota = (used: number, limit: number): PreviewRefusal => ({ reason: 'copyOverQuota', usedBytes: used, limitBytes: limit });

/**
 * Image work (sharp: thumbnails, a DOCX preview's pictures), two at a time for the whole process and
 * taken in turn by uploader: each holds one of libuv's four threads while it decodes, and sign-in
 * (argon2), files and zlib need the others (twelve thumbnails at once made a sign-in wait 41 s).
 */
export const imageWork = new FairQueue(2);

/** The longest side of a thumbnail, in pixels. */
const THUMBNAIL_PX = 480;

/** An image's thumbnail (JPEG, at most 480 px a side; kept in the preview cache of `cacheBytes`) or why there is none; null for files that are not images. */
export async function imageThumbnail(file: StoredFileDoc, cacheBytes: number): Promise<Preview | null> {
  if (findFileType(file.fileType)?.preview !== 'image') return null;
  return rendition(file, slotOf(file, 'thumbnail', cacheBytes), `${file.name}.thumbnail.jpg`, () => imageWork.run(String(file.uploadedBy), () => thumbnailOf(file)));
}

/** An image's thumbnail made by sharp from the stored bytes (NoPreview when it does not decode or has too many pixels). */
async function thumbnailOf(file: StoredFileDoc): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const input = sharp({ failOn: 'none', limitInputPixels: MAX_IMAGE_PIXELS });
  const source = fileStorage.read(String(file._id));
  let unread: Error | undefined;
  source.once('error', (error) => {
    unread = error;
    input.destroy(error);
  });
  source.pipe(input);
  try {
    await refuseProgressiveGiant(input);
    return await input.rotate().resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: 'inside', withoutEnlargement: true }).flatten({ background: '#ffffff' }).jpeg({ quality: 80 }).toBuffer();
  } catch (error) {
    if (error instanceof NoPreview) throw error;
    // The storage failing is the server's trouble; the image failing to decode is the file's.
    if (unread) throw unread;
    throw new NoPreview(/pixel limit/i.test((error as Error).message) ? { reason: 'tooManyPixels', limit: MAX_IMAGE_PIXELS } : { reason: 'damaged' });
  }
}

/**
 * The most pixels a progressive JPEG or an interlaced PNG may have to be made smaller: its decoder
 * holds the whole image's data at once, outside the heap (a 1.5 MB progressive JPEG of 16,000 ×
 * 16,000 pixels took 750 MB per thumbnail).
 */
const MAX_PROGRESSIVE_PIXELS = 50_000_000;

/** NoPreview for a progressive image over MAX_PROGRESSIVE_PIXELS, judged by its header before anything is decoded. */
async function refuseProgressiveGiant(image: Sharp): Promise<void> {
  const { isProgressive, width = 0, height = 0 } = await image.metadata();
  if (isProgressive && width * height > MAX_PROGRESSIVE_PIXELS) throw new NoPreview({ reason: 'tooManyPixels', limit: MAX_PROGRESSIVE_PIXELS });
}

const page = (body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><style>body{font:15px/1.5 system-ui,sans-serif;margin:16px;color:#1f2328}` +
  `table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px}img{max-width:100%}h2.page{font-size:13px;color:#656d76;text-align:center}</style></head><body>${body}</body></html>`;

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A message as a page of its own, for the frame that would have shown the preview. */
export const messagePage = (text: string) => page(`<p>${escapeHtml(text)}</p>`);

/** The longest side of a picture in a DOCX's preview, in pixels. */
const PREVIEW_PICTURE_PX = 800;

/**
 * A DOCX's embedded picture as its preview shows it (made in turn with other image work of its uploader's): a JPEG at most 800 px a side made by sharp, never
 * the original bytes (the preview is for readers without «Экспорт» too); null for a picture that does not decode.
 */
async function previewPicture(bytes: Uint8Array, owner: string): Promise<string | null> {
  try {
    const { default: sharp } = await import('sharp');
    const picture = await imageWork.run(owner, async () => {
      const image = sharp(bytes, { failOn: 'none', limitInputPixels: MAX_IMAGE_PIXELS });
      await refuseProgressiveGiant(image);
      return image
        .rotate()
        .resize(PREVIEW_PICTURE_PX, PREVIEW_PICTURE_PX, { fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: 70 })
        .toBuffer();
    });
    return `data:image/jpeg;base64,${picture.toString('base64')}`;
  } catch {
    return null;
  }
}

/** A document whose reading ran out of its time or memory. */
const tooComplex = (stopped: WorkerStopped): PreviewRefusal => ({ reason: 'tooComplex', limitSeconds: stopped.limitMs / 1000, heapMb: TEXT_HEAP_MB });

/** The most characters of pictures (their JPEGs as data) one preview holds, however often they are shown: past it, a note. */
const PREVIEW_PICTURES_CHARS = 16 * 1024 * 1024;

/** A picture's place in the worker's HTML (only pictures may have a `data:` source there). */
const PICTURE = /src="data:,picture-(\d+)"/g;

/**
 * A DOCX as sanitised HTML, read in a worker thread (`storedDocx`: mammoth and sanitize-html never run on the
 * server's thread), its pictures made again here; a document longer than the HTML cap shows its
 * beginning with a note. NoPreview when it unpacks past the limits, does not read, or takes longer than its time.
 */
async function docxHtml(file: StoredFileDoc): Promise<string> {
  const answer = await storedDocx(file, 'html');
  if (answer === 'tooLarge') throw new NoPreview({ reason: 'fileTooLarge', limitBytes: WHOLE_FILE_LIMIT });
  if ('stopped' in answer) throw new NoPreview(answer.stopped === 'failed' ? { reason: 'damaged' } : tooComplex(answer));
  if ('refused' in answer) throw new NoPreview(answer.refused);
  if (!('html' in answer)) throw new NoPreview({ reason: 'damaged' });
  const owner = String(file.uploadedBy);
  const pictures = await Promise.all(answer.pictures.map((bytes) => previewPicture(bytes, owner)));
  let left = PREVIEW_PICTURES_CHARS;
  const html = answer.html.replace(PICTURE, (_placeholder, index: string) => {
    const made = pictures[Number(index)];
    if (!made || made.length > left) return `src="" alt="${PICTURE_NOT_SHOWN}"`;
    left -= made.length;
    return `src="${made}"`;
  });
  const note = answer.cut
    ? `<p><em>${escapeHtml(`Показано начало документа: первые ${DOCX_HTML_CHARS.toLocaleString('ru-RU')} символов; весь документ — в оригинале / Only the beginning of the document is shown: the rest is in the original`)}</em></p>`
    : '';
  return html + note;
}

/** A PDF's text layer page by page (read in a worker thread), as text only (what a reader without «Экспорт» sees instead of the original). */
async function pdfHtml(file: StoredFileDoc): Promise<string> {
  const pages = await storedPdfTexts(file);
  if (pages === 'tooLarge') throw new NoPreview({ reason: 'fileTooLarge', limitBytes: WHOLE_FILE_LIMIT });
  if (!Array.isArray(pages)) throw new NoPreview(pages.stopped === 'failed' ? { reason: 'damaged' } : tooComplex(pages));
  if (pages.every((text) => text.trim() === '')) throw new NoPreview({ reason: 'noText' });
  return pages
    .map(
      (text, index) =>
        `<section><h2 class="page">— ${index + 1} —</h2>${text
          .split(/\n+/)
          .map((line) => `<p>${escapeHtml(line)}</p>`)
          .join('')}</section>`,
    )
    .join('');
}

/**
 * A document as read-only HTML (kept in the preview cache of `cacheBytes`), or why there is none; null for files that have no such preview:
 * a DOCX as sanitised HTML (mammoth), a PDF as the text of its pages (never its original bytes).
 */
export async function htmlPreview(file: StoredFileDoc, cacheBytes: number): Promise<Preview | null> {
  if (file.fileType !== 'docx' && file.fileType !== 'pdf') return null;
  return rendition(file, slotOf(file, 'html', cacheBytes), `${file.name}.html`, async () =>
    Buffer.from(page(file.fileType === 'pdf' ? await pdfHtml(file) : await docxHtml(file))),
  );
}
