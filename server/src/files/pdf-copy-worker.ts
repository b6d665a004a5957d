/**
 * The worker thread that rebuilds a PDF as a safe copy for the browser's viewer (`safePdfCopy`), so
 * that a hostile document costs this thread's time and bounded heap, never the server's event loop.
 */
import { safePdfCopy } from './pdf-copy';
import { receiveFile } from './worker-input';

// pdf-lib tells the console of every object of a damaged document it skips: an uploader could fill the server's log with it.
console.warn = () => undefined;
receiveFile(safePdfCopy, { refused: { reason: 'damaged' } });
