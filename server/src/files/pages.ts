import type { Worker } from 'node:worker_threads';
import { wholeFile, WHOLE_FILE_LIMIT } from './content';
import { StoredFile, type PreviewRefusal, type StoredFileDoc } from './model';
import { NoPreview, rendition, type Preview } from './preview';
import { endThread, FairQueue, inTurn, slowUploaders, startThread, watchFirstTry, type FirstTry } from './workers';

/** How wide a page is drawn, in pixels (a page so tall that it would be over MAX_PAGE_HEIGHT_PX is drawn narrower). */
export const PAGE_WIDTH_PX = 1000;
const MAX_PAGE_HEIGHT_PX = 4000;
/** Pages drawn of one document: the first ones; the rest are in the original (a download, with «Экспорт»). */
export const PAGE_IMAGE_LIMIT = 50;
/** The most pixels an image inside a page may have to be drawn (pdf.js holds it decoded whole: 6,000 × 6,000 is 144 MB); larger ones are left out of the page. */
const MAX_IMAGE_PIXELS = 36_000_000;
/**
 * How long drawing one page may take before the drawing is stopped (in a reader's turn only its
 * first try, `firstTry`; the rest in the slow line); the page, and every page of its document not
 * drawn yet, are then kept as refused (the document's other pages would take as long), and the
 * uploader is slow. An object so that tests can lower it.
 */
export const drawingLimits = { timeMs: 30_000 };
/** A worker thread with nothing to draw for this long ends, giving back what pdf.js holds. */
const IDLE_MS = 30_000;
/** Requests waiting for the drawing thread beyond this are told to try again later. */
const MAX_WAITING = 20;
/** A user's own requests waiting for the drawing thread beyond this are told to try again later (a card's few scans open at once fit). */
const MAX_WAITING_PER_USER = 4;

/** What the drawing thread (pages-worker.mjs) is asked: a document's bytes and a page (0: only count the pages). */
interface PageJob {
  data: Uint8Array;
  page: number;
  widthPx: number;
  maxHeightPx: number;
  maxImagePixels: number;
  jpegQuality: number;
}

/** What it answers: the page count and, for a page, its JPEG; or that the document does not open or draw. */
type PageAnswer = { pages: number; image?: Uint8Array } | { failed: 'damaged' };

/** The drawing thread is busy with more requests than it should queue (for everyone, or for this user). */
export class PagesBusy extends Error {}

/**
 * A waiting drawing left the queue because its request went away. Whoever else was waiting for the
 * same page (a page is drawn once for all who ask at once) is told to try again, like PagesBusy.
 */
export class DrawingCancelled extends PagesBusy {}

/** Who asks for a drawing (their drawings are taken in turn with other users'), the signal that their request went away, and the preview cache's bound (bytes) drawn pages are kept in. */
export interface DrawingRequest {
  userId: string;
  gone?: AbortSignal;
  cacheBytes: number;
}

let worker: Promise<Worker> | null = null;
let idle: NodeJS.Timeout | null = null;
/**
 * One page is drawn at a time in the whole process (memory stays bounded by one document and one
 * page), taken in turn by user: one user's many slow pages delay another's by one page each.
 */
const drawings = new FairQueue(1);

function drawingThread(): Promise<Worker> {
  if (idle) clearTimeout(idle);
  if (worker) return worker;
  const starting = startThread('pages-worker.mjs', { maxOldGenerationSizeMb: 512 }).then((started) => {
    started.unref();
    started.on('exit', () => {
      if (worker === starting) worker = null;
    });
    return started;
  });
  // A thread that could not start is not kept: the next drawing tries again.
  starting.catch(() => {
    if (worker === starting) worker = null;
  });
  worker = starting;
  return starting;
}

function stopDrawingThread(): void {
  const running = worker;
  worker = null;
  void running?.then(endThread, () => undefined);
}

/**
 * Sends one job to the drawing thread and waits for its answer, stopping the thread if it takes longer
 * than `limitMs` (`tooSlow`), or than its first try while others wait (`yielded`).
 */
async function draw(job: PageJob, limitMs: number, first?: FirstTry): Promise<PageAnswer | 'tooSlow' | 'yielded' | 'crashed'> {
  const thread = await drawingThread();
  return new Promise<PageAnswer | 'tooSlow' | 'yielded' | 'crashed'>((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      unwatch();
      thread.off('message', answered);
      thread.off('error', failed);
      thread.off('exit', exited);
      idle = setTimeout(stopDrawingThread, IDLE_MS);
      idle.unref();
    };
    const answered = (answer: PageAnswer) => {
      finish();
      resolve(answer);
    };
    // The thread failed on this document (out of its memory, say): the document's fault.
    const failed = () => {
      finish();
      stopDrawingThread();
      resolve('crashed');
    };
    const exited = () => {
      finish();
      reject(new Error('the PDF page worker stopped'));
    };
    const stopped = (why: 'tooSlow' | 'yielded') => {
      finish();
      stopDrawingThread();
      resolve(why);
    };
    const timer = setTimeout(() => stopped('tooSlow'), limitMs);
    const unwatch = watchFirstTry(first, () => stopped('yielded'));
    thread.on('message', answered);
    thread.on('error', failed);
    thread.on('exit', exited);
    thread.postMessage(job);
  });
}

/** A drawing stopped at its time limit (`limitMs`). */
type Stopped = { tooSlow: number };

/**
 * A PDF's bytes sent to the drawing thread for page `page` (0: only its page count); in turn by user,
 * one at a time, a slow uploader's documents after all others; a page not drawn within its first try
 * while others wait is stopped and drawn again with the full limit after all others (`inTurn`). A page whose turn comes after
 * another page of its document took too long is not drawn (NoPreview with that refusal). A drawing
 * that runs out of time or memory makes the uploader slow (the document is told as damaged then).
 */
async function drawPdf(file: StoredFileDoc, page: number, request: DrawingRequest): Promise<PageAnswer | Stopped> {
  if (drawings.waitingCount() >= MAX_WAITING || drawings.waitingCount(request.userId) >= MAX_WAITING_PER_USER) throw new PagesBusy();
  const uploader = String(file.uploadedBy);
  // The document is read only when its turn comes: requests waiting hold nothing.
  // Past its first try while others waited: `yielded`, to be drawn again after them.
  const attempt = async (limitMs: number, first?: FirstTry): Promise<PageAnswer | Stopped | { yielded: true }> => {
    if (page > 0) {
      const current = await StoredFile.findById(file._id, { 'previewRefusals.drawing': 1 }).lean<Pick<StoredFileDoc, 'previewRefusals'>>();
      if (current?.previewRefusals?.drawing) throw new NoPreview(current.previewRefusals.drawing);
    }
    const content = await wholeFile(file);
    if (!content) throw new NoPreview({ reason: 'fileTooLarge', limitBytes: WHOLE_FILE_LIMIT });
    const job = { data: content, page, widthPx: PAGE_WIDTH_PX, maxHeightPx: MAX_PAGE_HEIGHT_PX, maxImagePixels: MAX_IMAGE_PIXELS, jpegQuality: 82 };
    const answer = await draw(job, limitMs, first);
    if (answer === 'tooSlow' || answer === 'yielded' || answer === 'crashed') await slowUploaders.mark(uploader);
    if (answer === 'crashed') return { failed: 'damaged' };
    if (answer === 'yielded') return { yielded: true };
    return answer === 'tooSlow' ? { tooSlow: limitMs } : answer;
  };
  const slow = await slowUploaders.has(uploader);
  const answer = await inTurn(drawings, { owner: request.userId, slow, signal: request.gone }, drawingLimits.timeMs, attempt, (answer) => 'yielded' in answer);
  // Drawn again with its full limit, a page has no first try to yield at.
  return 'yielded' in answer ? { tooSlow: drawingLimits.timeMs } : answer;
}

const tooSlow = (limitMs: number): PreviewRefusal => ({ reason: 'tooSlow', limitSeconds: limitMs / 1000 });

/**
 * How many pages a PDF has, for paging through its images (worked out once and kept on the version),
 * or why its pages cannot be shown (it does not open, it is too large to read whole); null for files that are not PDFs.
 */
export async function pdfPageCount(file: StoredFileDoc, request: DrawingRequest): Promise<{ pages: number } | { refused: PreviewRefusal } | null> {
  if (file.fileType !== 'pdf') return null;
  if (typeof file.pageCount === 'number') return { pages: file.pageCount };
  if (file.previewRefusals?.pageCount) return { refused: file.previewRefusals.pageCount };
  let refusal: PreviewRefusal;
  try {
    // Counted as page 1 is drawn (the reader asks for it next): one turn of the drawing thread, not two.
    if (!file.renditions?.pages?.[1]) {
      const first = await pdfPageImage(file, 1, request);
      if ('refused' in first) throw new NoPreview(first.refused);
      first.content.destroy();
      const counted = await StoredFile.findById(file._id, { pageCount: 1 }).lean<Pick<StoredFileDoc, 'pageCount'>>();
      if (typeof counted?.pageCount === 'number') return { pages: counted.pageCount };
    }
    // Page 1 kept before counts were taken with it: counted alone.
    const answer = await drawPdf(file, 0, request);
    if ('pages' in answer) {
      await StoredFile.updateOne({ _id: file._id }, { $set: { pageCount: answer.pages } });
      return { pages: answer.pages };
    }
    refusal = 'tooSlow' in answer ? tooSlow(answer.tooSlow) : { reason: 'damaged' };
  } catch (error) {
    if (!(error instanceof NoPreview)) throw error;
    refusal = error.refusal;
  }
  await StoredFile.updateOne({ _id: file._id }, { $set: { 'previewRefusals.pageCount': refusal } });
  return { refused: refusal };
}

/**
 * Page `page` of a PDF (one it has: see pdfPageCount) drawn as a JPEG PAGE_WIDTH_PX wide, made once
 * and then kept beside the file like a thumbnail (the document's page count, which the drawing tells,
 * is kept too); or why it cannot be. Once a page of the version took
 * longer than the time limit, its pages not drawn yet answer that refusal at once.
 */
export async function pdfPageImage(given: StoredFileDoc, page: number, request: DrawingRequest): Promise<Preview> {
  // A version counted in this request had page 1 drawn and kept, and its count recorded: what is kept now counts.
  const file = typeof given.pageCount === 'number' ? given : ((await StoredFile.findById(given._id).lean<StoredFileDoc>()) ?? given);
  const slot = {
    key: `page-${page}`,
    kept: file.renditions?.pages?.[page],
    refused: file.previewRefusals?.pages?.[page] ?? file.previewRefusals?.drawing,
    keptPath: `renditions.pages.${page}`,
    refusedPath: `previewRefusals.pages.${page}`,
    cacheBytes: request.cacheBytes,
  };
  return rendition(file, slot, `${file.name}.page-${page}.jpg`, async () => {
    const answer = await drawPdf(file, page, request);
    if ('tooSlow' in answer) {
      const refusal = tooSlow(answer.tooSlow);
      await StoredFile.updateOne({ _id: file._id }, { $set: { 'previewRefusals.drawing': refusal } });
      throw new NoPreview(refusal);
    }
    if ('failed' in answer || !answer.image) throw new NoPreview({ reason: 'damaged' });
    await StoredFile.updateOne({ _id: file._id, pageCount: null }, { $set: { pageCount: answer.pages } });
    return Buffer.from(answer.image.buffer, answer.image.byteOffset, answer.image.byteLength);
  });
}
