import { WHOLE_FILE_LIMIT } from './content';
import type { StoredFileDoc } from './model';
import { NoPreview, rendition, type Preview } from './preview';
import type { SafeCopy } from './pdf-copy';
import { heavyFileWork, runOnFile } from './workers';

/** How long rebuilding one PDF may take before it is given up (the document then has no inline view). */
const COPY_TIMEOUT_MS = 60_000;
/** The heap of the rebuilding worker (pdf-lib holds the parsed document and its copy). */
const COPY_HEAP_MB = 384;

/**
 * What the browser's viewer is given of a PDF (`?inline=1`): never the uploaded bytes, but a copy
 * rebuilt from its pages by pdf-lib without scripts, actions, forms or annotations (`safePdfCopy`,
 * in a worker thread with a bounded heap and a time limit, in turn with other users' heavy work),
 * made once per version and kept beside it like a thumbnail; or why there is none (encrypted,
 * damaged, too large, too much compressed data, too slow to rebuild).
 */
export function safePdfView(file: StoredFileDoc): Promise<Preview> {
  const slot = { key: 'safe-pdf', kept: file.renditions?.safePdf, refused: file.previewRefusals?.safePdf, keptPath: 'renditions.safePdf', refusedPath: 'previewRefusals.safePdf' };
  return rendition(file, slot, `${file.name}.safe.pdf`, () =>
    heavyFileWork.run(String(file.uploadedBy), async () => {
      if (file.size > WHOLE_FILE_LIMIT) throw new NoPreview({ reason: 'fileTooLarge', limitBytes: WHOLE_FILE_LIMIT });
      const answer = await runOnFile<SafeCopy>('pdf-copy-worker.ts', file, { heapMb: COPY_HEAP_MB, timeoutMs: COPY_TIMEOUT_MS });
      if (answer === null) throw new NoPreview({ reason: 'damaged' });
      if ('failed' in answer)
        throw new NoPreview(answer.failed === 'tooMuchCompressed' ? { reason: 'tooMuchCompressed', limitBytes: answer.limitBytes } : { reason: answer.failed });
      return Buffer.from(answer.copy.buffer, answer.copy.byteOffset, answer.copy.byteLength);
    }),
  );
}
