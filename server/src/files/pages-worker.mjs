// @ts-check
/**
 * The worker thread that draws PDF pages (pdf.js, @napi-rs/canvas), so that a heavy or hostile
 * document never holds up the server's requests and can be stopped when it takes too long
 * (server/src/files/pages.ts runs it, one page at a time). It is given a document's bytes and a
 * page number (a PageJob) and answers its page count and, for a page, a JPEG of it (a PageAnswer);
 * it reads nothing else. Plain JavaScript: a worker thread starts from a file Node runs as it is
 * (Node 20 does not apply the TypeScript loader to a worker's own module); the types are in pages.ts.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { createCanvas } from '@napi-rs/canvas';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

/** pdf.js's own fonts, character maps and image decoders, read from its package (never fetched). */
const assets = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
/** @param {string} name */
const folder = (name) => `${path.join(assets, name)}${path.sep}`;

/**
 * @param {{ data: Uint8Array; page: number; widthPx: number; maxHeightPx: number; maxImagePixels: number; jpegQuality: number }} job
 * @returns {Promise<{ pages: number; image?: Uint8Array } | { failed: 'damaged' }>}
 */
async function draw(job) {
  let document;
  try {
    document = await getDocument({
      data: job.data,
      isEvalSupported: false,
      enableXfa: false,
      // pdf.js leaves out images with more pixels than this (a decoded image is held whole).
      maxImageSize: job.maxImagePixels,
      standardFontDataUrl: folder('standard_fonts'),
      cMapUrl: folder('cmaps'),
      cMapPacked: true,
      wasmUrl: folder('wasm'),
      iccUrl: folder('iccs'),
      verbosity: 0,
    }).promise;
  } catch {
    return { failed: 'damaged' };
  }
  try {
    const pages = document.numPages;
    if (job.page === 0) return { pages };
    const page = await document.getPage(job.page);
    const natural = page.getViewport({ scale: 1 });
    // As wide as asked, unless the page is so tall that its height is the bound.
    const viewport = page.getViewport({ scale: Math.min(job.widthPx / natural.width, job.maxHeightPx / natural.height) });
    const canvas = createCanvas(Math.max(1, Math.ceil(viewport.width)), Math.max(1, Math.ceil(viewport.height)));
    const context = canvas.getContext('2d');
    // A page with no background of its own is white, as on paper.
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, canvas.width, canvas.height);
    await page.render({ canvas: /** @type {any} */ (canvas), canvasContext: /** @type {any} */ (context), viewport }).promise;
    page.cleanup();
    return { pages, image: await canvas.encode('jpeg', job.jpegQuality) };
  } catch {
    return { failed: 'damaged' };
  } finally {
    await document.destroy();
  }
}

parentPort?.on('message', (job) => {
  void draw(job).then((answer) => parentPort?.postMessage(answer));
});
