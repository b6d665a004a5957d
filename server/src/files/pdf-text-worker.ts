/**
 * The worker thread that reads a PDF's text layer (`pdfPageTexts`, pdf.js), so that a hostile
 * document — a few kilobytes of content stream drawing a million strings — costs this thread's time
 * and bounded heap, never the server's event loop.
 */
import { pdfPageTexts } from './pdf-text';
import { receiveFile } from './worker-input';

/** The most characters answered (all pages together); the search keeps far fewer. */
const MAX_CHARS = 2_000_000;

receiveFile(
  async (content): Promise<{ pages: string[] } | { failed: 'damaged' }> => {
    let pages: string[];
    try {
      pages = await pdfPageTexts(content);
    } catch {
      return { failed: 'damaged' };
    }
    let left = MAX_CHARS;
    return {
      pages: pages.map((text) => {
        const kept = text.slice(0, Math.max(0, left));
        left -= kept.length;
        return kept;
      }),
    };
  },
  { failed: 'damaged' },
);
