import type { Readable } from 'node:stream';
import { WHOLE_FILE_LIMIT } from './content';
import { StoredFile, type PreviewRefusal, type StoredFileDoc } from './model';
import { copyOverQuota, NoPreview, rendition } from './preview';
import { fileUsage } from './quota';
import type { SafeCopy } from './pdf-copy';
import { fileStorage, type ByteRange } from './storage';
import { heavyRun } from './workers';

/** How long rebuilding one PDF may take before it is given up (the document then has no inline view). */
const COPY_TIMEOUT_MS = 60_000;
/** The heap of the rebuilding worker (pdf-lib holds the parsed document and its copy). */
const COPY_HEAP_MB = 384;

/** A kept safe copy: its size, and its bytes (or those of a range) streamed from the storage. */
export type SafeView = { size: number; read(range?: ByteRange): Readable } | { refused: PreviewRefusal };

/**
 * What the browser's viewer is given of a PDF (`?inline=1`): never the uploaded bytes, but a copy
 * rebuilt from its pages by pdf-lib without scripts, actions, forms or annotations (`safePdfCopy`,
 * in a worker thread with a bounded heap and a time limit, in turn with other users' heavy work),
 * made once per version and kept beside it like a thumbnail, read from the storage as any file is (a
 * range only reads the range), its bytes counted against the uploader's quota (`quotaBytes`, 0: none);
 * or why there is none (encrypted, damaged, too large, too much compressed data, a copy far larger
 * than the file, too slow to rebuild, no room in the uploader's quota — the one reason not kept).
 */
export async function safePdfView(file: StoredFileDoc, quotaBytes: number): Promise<SafeView> {
  let kept = file.renditions?.safePdf;
  if (!kept) {
    const slot = { key: 'safe-pdf', kept, refused: file.previewRefusals?.safePdf, keptPath: 'renditions.safePdf', refusedPath: 'previewRefusals.safePdf', quotaBytes };
    const made = await rendition(file, slot, `${file.name}.safe.pdf`, async () => {
      if (file.size > WHOLE_FILE_LIMIT) throw new NoPreview({ reason: 'fileTooLarge', limitBytes: WHOLE_FILE_LIMIT });
      // An uploader with no room left: the copy is not made (it is once room is freed).
      const used = quotaBytes > 0 ? await fileUsage(file.uploadedBy) : 0;
      if (quotaBytes > 0 && used >= quotaBytes) throw new NoPreview(copyOverQuota(used, quotaBytes), false);
      const answer = await heavyRun<SafeCopy>('pdf-copy-worker.ts', file, { heapMb: COPY_HEAP_MB, timeoutMs: COPY_TIMEOUT_MS });
      if ('stopped' in answer) throw new NoPreview({ reason: 'damaged' });
      if ('refused' in answer) throw new NoPreview(answer.refused);
      return Buffer.from(answer.copy.buffer, answer.copy.byteOffset, answer.copy.byteLength);
    });
    if ('refused' in made) return made;
    made.content.destroy();
    // Made and kept now: served from the storage like a kept one.
    kept = (await StoredFile.findById(file._id, { 'renditions.safePdf': 1 }).lean<Pick<StoredFileDoc, 'renditions'>>())?.renditions?.safePdf;
  }
  const id = kept ? String(kept) : null;
  const size = id ? await fileStorage.size(id) : null;
  // A version removed meanwhile has no copy kept.
  if (!id || size === null) return { refused: { reason: 'damaged' } };
  return { size, read: (range) => fileStorage.read(id, range) };
}
