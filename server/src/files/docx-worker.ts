/**
 * The worker thread that reads a DOCX for its preview or its text (`readDocx`, mammoth), so that a
 * hostile document — a few kilobytes of ZIP holding megabytes of XML — costs this thread's time and
 * bounded heap, never the server's event loop.
 */
import { readDocx, type DocxAnswer, type DocxTask } from './docx-read';
import { receiveFile } from './worker-input';

const damaged = { refused: { reason: 'damaged' } } as const satisfies DocxAnswer;

receiveFile(async (content, task): Promise<DocxAnswer> => {
  try {
    return await readDocx(content, task === 'text' ? 'text' : ('html' satisfies DocxTask));
  } catch {
    return damaged;
  }
}, damaged);
