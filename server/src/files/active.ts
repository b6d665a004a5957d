import type { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';
import { WHOLE_FILE_LIMIT } from './content';
import { StoredFile, type StoredFileDoc } from './model';
import { fileStorage } from './storage';
import { filesWorker } from './workers';

/**
 * The version of the active-content check. A verdict kept on a file version by an older check is
 * worked out again before it is relied on (the first time the version is listed or opened inline):
 * versions judged plain by a check that could be fooled do not stay plain.
 */
export const ACTIVE_CHECK_VERSION = 2;

/** How long one check may take; a check that takes longer counts as active. */
const CHECK_TIMEOUT_MS = 60_000;
/** The heap of a check's worker (the document's text and one inflated stream at a time live there; bytes are capped by the scan's own limits). */
const CHECK_HEAP_MB = 384;
/** Checks at a time: each holds a whole document in its worker. */
const checks = pLimit(2);
/** Checks under way, by version: requests asking about the same version wait for the same check. */
const underWay = new Map<string, Promise<boolean>>();

/**
 * Reads a stored PDF for active content in a worker thread (`pdf-check-worker.ts`, `scanPdf`) with a
 * bounded heap and a time limit, its bytes streamed to it from the storage. True when it is active
 * or could not be checked: too large, out of time or memory, or failed.
 */
function checkInWorker(file: Pick<StoredFileDoc, '_id' | 'size'>): Promise<boolean> {
  if (file.size > WHOLE_FILE_LIMIT) return Promise.resolve(true);
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = filesWorker('pdf-check-worker.ts', { maxOldGenerationSizeMb: CHECK_HEAP_MB, maxYoungGenerationSizeMb: 32 });
    } catch {
      // No worker to check with (a broken installation): the document cannot be shown as plain.
      resolve(true);
      return;
    }
    const source = fileStorage.read(String(file._id));
    let settled = false;
    const settle = (active: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      source.destroy();
      void worker.terminate();
      resolve(active);
    };
    const timer = setTimeout(() => settle(true), CHECK_TIMEOUT_MS);
    worker.on('message', (message: { verdict: string | null }) => settle(message.verdict !== null));
    worker.on('error', () => settle(true));
    worker.on('exit', () => settle(true));
    source.on('error', () => settle(true));
    worker.postMessage({ size: file.size });
    source.on('data', (chunk: Buffer) => {
      const copy = new Uint8Array(chunk);
      worker.postMessage({ chunk: copy }, [copy.buffer]);
    });
    source.on('end', () => worker.postMessage({ end: true }));
  });
}

/**
 * Whether the browser must not open this version itself: a PDF with active content, or one that
 * could not be checked (see `scanPdf`). Worked out once per check version, off the main thread,
 * and kept on the version; other types have none.
 */
export async function hasActiveContent(file: Pick<StoredFileDoc, '_id' | 'size' | 'fileType' | 'activeContent' | 'activeCheck'>): Promise<boolean> {
  if (file.fileType !== 'pdf') return false;
  if (typeof file.activeContent === 'boolean' && file.activeCheck === ACTIVE_CHECK_VERSION) return file.activeContent;
  const key = String(file._id);
  let check = underWay.get(key);
  if (!check) {
    check = checks(async () => {
      const active = await checkInWorker(file);
      await StoredFile.updateOne({ _id: file._id }, { $set: { activeContent: active, activeCheck: ACTIVE_CHECK_VERSION } });
      return active;
    }).finally(() => underWay.delete(key));
    underWay.set(key, check);
  }
  return check;
}
