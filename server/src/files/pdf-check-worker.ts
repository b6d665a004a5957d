/**
 * The worker thread that reads a PDF for active content (`scanPdf`), so that a hostile document — a
 * compression bomb, a million objects — costs this thread's time and bounded heap, never the
 * server's event loop. It answers the verdict (null: plain).
 */
import { scanPdf } from './pdf-scan';
import { receiveFile } from './worker-input';

receiveFile((content) => ({ verdict: scanPdf(content) }), { verdict: 'the bytes do not match the stored size' });
