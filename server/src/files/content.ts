import { buffer } from 'node:stream/consumers';
import type { StoredFileDoc } from './model';
import { fileStorage } from './storage';
import { heavyFileWork, runOnFile } from './workers';

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

/** How long reading a PDF's text may take before it is given up (an object so that tests can lower it), and the heap of the thread reading it. */
export const textLimits = { timeMs: 60_000 };
const TEXT_HEAP_MB = 384;

/**
 * The text layer of a stored PDF, page by page, read in a worker thread (`pdf-text-worker.ts`: a
 * bounded heap, 60 s, at most two million characters) in turn with other users' heavy work on files;
 * `tooLarge` for a file over WHOLE_FILE_LIMIT, `unreadable` when it does not open or its reading runs
 * out of time or memory. Never on the server's event loop: a few kilobytes can hold a million strings.
 * `background` (the search's text job) goes after work someone waits for.
 */
export async function storedPdfTexts(
  file: Pick<StoredFileDoc, '_id' | 'size' | 'uploadedBy'>,
  kind: 'waited' | 'background' = 'waited',
): Promise<string[] | 'tooLarge' | 'unreadable'> {
  if (file.size > WHOLE_FILE_LIMIT) return 'tooLarge';
  const answer = await heavyFileWork.run(
    String(file.uploadedBy),
    () => runOnFile<{ pages: string[] } | { failed: 'damaged' }>('pdf-text-worker.ts', file, { heapMb: TEXT_HEAP_MB, timeoutMs: textLimits.timeMs }),
    undefined,
    kind,
  );
  return answer && 'pages' in answer ? answer.pages : 'unreadable';
}
