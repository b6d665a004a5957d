import { buffer } from 'node:stream/consumers';
import type { StoredFileDoc } from './model';
import { fileStorage } from './storage';
import type { DocxAnswer, DocxTask } from './docx-read';
import { heavyRun, type WorkerStopped } from './workers';

/**
 * The largest file read whole into memory to make a preview of it or extract its text: PDF and
 * DOCX readers need the whole document. Larger ones are shown by name only and are not searched inside.
 */
export const WHOLE_FILE_LIMIT = 64 * 1024 * 1024;

/** A file's bytes in one buffer, or null when it is too large to hold. */
export async function wholeFile(file: Pick<StoredFileDoc, '_id' | 'size'>): Promise<Buffer | null> {
  if (file.size > WHOLE_FILE_LIMIT) return null;
  return buffer(fileStorage.read(String(file._id)));
}

/** How long reading a PDF's text, or a DOCX, may take before it is given up (objects so that tests can change them), and the heap of the thread reading it. */
export const textLimits = { timeMs: 60_000 };
export const docxLimits = { timeMs: 30_000 };
export const TEXT_HEAP_MB = 384;

/**
 * The text layer of a stored PDF, page by page, read in a worker thread (`pdf-text-worker.ts`: a
 * bounded heap, 60 s, at most two million characters) in turn with other users' heavy work on files;
 * `tooLarge` for a file over WHOLE_FILE_LIMIT, or why it was not read: it ran out of time or memory, or it
 * does not open (`failed`). Never on the server's event loop: a few
 * kilobytes can hold a million strings. `background` (the search's text job) goes after work someone waits for.
 */
export async function storedPdfTexts(
  file: Pick<StoredFileDoc, '_id' | 'size' | 'uploadedBy'>,
  kind: 'waited' | 'background' = 'waited',
): Promise<string[] | 'tooLarge' | WorkerStopped> {
  if (file.size > WHOLE_FILE_LIMIT) return 'tooLarge';
  const answer = await heavyRun<{ pages: string[] } | { failed: 'damaged' }>('pdf-text-worker.ts', file, { heapMb: TEXT_HEAP_MB, timeoutMs: textLimits.timeMs }, kind);
  return 'pages' in answer ? answer.pages : 'stopped' in answer ? answer : { stopped: 'failed', limitMs: textLimits.timeMs };
}

/**
 * A stored DOCX read for its preview's HTML or its text in a worker thread (`docx-worker.ts`: a
 * bounded heap, 30 s, the unpack limits and a cap on what it answers), in turn with other users'
 * heavy work on files; `tooLarge` for a file over WHOLE_FILE_LIMIT. Never on the server's event loop.
 */
export async function storedDocx(
  file: Pick<StoredFileDoc, '_id' | 'size' | 'uploadedBy'>,
  task: DocxTask,
  kind: 'waited' | 'background' = 'waited',
): Promise<DocxAnswer | WorkerStopped | 'tooLarge'> {
  if (file.size > WHOLE_FILE_LIMIT) return 'tooLarge';
  return heavyRun<DocxAnswer>('docx-worker.ts', file, { heapMb: TEXT_HEAP_MB, timeoutMs: docxLimits.timeMs, task }, kind);
}
