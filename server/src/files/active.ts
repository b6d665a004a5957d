import { WHOLE_FILE_LIMIT } from './content';
import { StoredFile, type StoredFileDoc } from './model';
import { heavyRun } from './workers';

/**
 * The version of the active-content check. A verdict kept on a file version by an older check is
 * worked out again before it is relied on (the first time the version is listed): the download's
 * warning follows the current check.
 */
export const ACTIVE_CHECK_VERSION = 3;

/** How long one check may take; a check that takes longer counts as active. */
const CHECK_TIMEOUT_MS = 60_000;
/** The heap of a check's worker (the document's text and one inflated stream at a time live there; bytes are capped by the scan's own limits). */
const CHECK_HEAP_MB = 384;
/** Checks under way, by version: requests asking about the same version wait for the same check. */
const underWay = new Map<string, Promise<boolean>>();

/**
 * Whether a PDF holds scripts or other active content, or could not be checked (see `scanPdf`):
 * what the download warns about. The browser's viewer never gets the original (it is shown a safe
 * copy, safe-copy.ts), so nothing opens on this verdict. Worked out once per check version, in a
 * worker thread (`pdf-check-worker.ts`) with a bounded heap and a time limit, in turn with other
 * users' heavy work (`heavyFileWork`), and kept on the version; other types have none.
 */
/**
 * The verdict as far as it is known now: the kept one of the current check, else null («проверяется»)
 * with the check started (or left running) in the background. What the API lists: a card's query never
 * waits for a check, which may queue behind other users' heavy work for minutes.
 */
export function knownActiveContent(file: Pick<StoredFileDoc, '_id' | 'size' | 'fileType' | 'activeContent' | 'activeCheck' | 'uploadedBy'>): boolean | null {
  if (file.fileType !== 'pdf') return false;
  if (typeof file.activeContent === 'boolean' && file.activeCheck === ACTIVE_CHECK_VERSION) return file.activeContent;
  hasActiveContent(file).catch(() => undefined);
  return null;
}

export async function hasActiveContent(file: Pick<StoredFileDoc, '_id' | 'size' | 'fileType' | 'activeContent' | 'activeCheck' | 'uploadedBy'>): Promise<boolean> {
  if (file.fileType !== 'pdf') return false;
  if (typeof file.activeContent === 'boolean' && file.activeCheck === ACTIVE_CHECK_VERSION) return file.activeContent;
  const key = String(file._id);
  let check = underWay.get(key);
  if (!check) {
    // Nobody waits for a verdict (the lists do not): it goes after the views someone is opening.
    check = (async () => {
      const answer =
        file.size > WHOLE_FILE_LIMIT
          ? null
          : await heavyRun<{ verdict: string | null }>('pdf-check-worker.ts', file, { heapMb: CHECK_HEAP_MB, timeoutMs: CHECK_TIMEOUT_MS }, 'background');
      const active = answer === null || 'stopped' in answer || answer.verdict !== null;
      await StoredFile.updateOne({ _id: file._id }, { $set: { activeContent: active, activeCheck: ACTIVE_CHECK_VERSION } });
      return active;
    })().finally(() => underWay.delete(key));
    underWay.set(key, check);
  }
  return check;
}
