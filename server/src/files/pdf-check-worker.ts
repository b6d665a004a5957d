/**
 * The worker thread that reads a PDF for active content (`scanPdf`), so that a hostile document — a
 * compression bomb, a million objects — costs this thread's time and bounded heap, never the
 * server's event loop. It is told the size, receives the bytes in chunks, and answers the verdict.
 */
import { parentPort } from 'node:worker_threads';
import { scanPdf } from './pdf-scan';

type Message = { size: number } | { chunk: Uint8Array } | { end: true };

let content = new Uint8Array(0);
let filled = 0;
parentPort!.on('message', (message: Message) => {
  if ('size' in message) content = new Uint8Array(message.size);
  else if ('chunk' in message) {
    // More bytes than announced cannot be checked: the verdict is then "active" (an overflow throws).
    content.set(message.chunk, filled);
    filled += message.chunk.length;
  } else parentPort!.postMessage({ verdict: filled === content.length ? scanPdf(content) : 'the bytes do not match the stored size' });
});
