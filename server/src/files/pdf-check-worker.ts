/**
 * The worker thread that reads a PDF for active content (`scanPdf`, then as pdf-lib reads it for the
 * safe copy: `activeAsCopied`), so that a hostile document — a
 * compression bomb, a million objects — costs this thread's time and bounded heap, never the
 * server's event loop. It answers the verdict (null: plain).
 */
import { activeAsCopied } from './pdf-copy';
import { scanPdf } from './pdf-scan';
import { receiveFile } from './worker-input';

// pdf-lib tells the console of every object of a damaged document it skips: an uploader could fill the server's log with it.
console.warn = () => undefined;
receiveFile(async (content) => ({ verdict: scanPdf(content) ?? (await activeAsCopied(content)) }), { verdict: 'the bytes do not match the stored size' });
