/**
 * Reading a DOCX (mammoth) for its preview (sanitised HTML) or its text, done in a worker thread
 * (`docx-worker.ts`): a 23 KB upload can hold 7.8 MB of XML that keeps mammoth busy for half a
 * minute, which on the server's thread stalled every request. Bounded three ways: what the archive
 * may unpack to (checked, inflating every entry, before mammoth opens it), the characters answered,
 * and — by whoever runs the worker — its time and heap.
 */
import { createHash } from 'node:crypto';
import mammoth from 'mammoth';
import sanitizeHtml from 'sanitize-html';
import { checkCentralDirectory, UnpackRefusal, type UnpackLimits, type UnpackProblem } from './archive';

/** What a DOCX may unpack to before mammoth reads it (it holds the document's XML whole, several times over), for its preview and its text. */
export const DOCX_UNPACK_LIMITS: UnpackLimits = {
  totalBytes: 128 * 1024 * 1024,
  entries: 5000,
  entryBytes: (path) => (/\.(xml|rels)$/i.test(path) ? 16 * 1024 * 1024 : 128 * 1024 * 1024),
};

/** The most characters of text answered (the search keeps far fewer), and of HTML shown (a longer document shows its beginning, with a note). */
export const DOCX_TEXT_CHARS = 2_000_000;
export const DOCX_HTML_CHARS = 2_000_000;
/**
 * The pictures a preview shows: the first 100 places in the document that show one, of at most 50
 * different pictures (each made again once by sharp on the server's side, however often it is shown)
 * of 64 MB together. A 4 KB DOCX showing one picture 3,000 times made a 456 MB preview.
 */
export const MAX_PICTURE_PLACES = 100;
const MAX_PICTURES = 50;
const MAX_PICTURE_BYTES = 64 * 1024 * 1024;

/** Where the preview's picture `index` goes: replaced by the picture made again (or by a note) outside the worker (preview.ts). */
const picturePlaceholder = (index: number) => `data:,picture-${index}`;
/** A picture left out (past the bounds, or unreadable), as the preview says it. */
export const PICTURE_NOT_SHOWN = 'Изображение не показано / Picture not shown';

export type DocxTask = 'html' | 'text';
/** What the worker answers: the HTML (cut at DOCX_HTML_CHARS) with the pictures' bytes, the text, or why there is neither. */
export type DocxAnswer = { html: string; cut: boolean; pictures: Uint8Array[] } | { text: string } | { refused: UnpackProblem };

/** What a DOCX's HTML may keep: text structure, tables, links and the pictures' places; nothing that runs. */
const sanitizeOptions = (): sanitizeHtml.IOptions => ({
  allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img'],
  allowedAttributes: { a: ['href', 'title'], img: ['src', 'alt'], td: ['colspan', 'rowspan'], th: ['colspan', 'rowspan'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['data'] },
});

/** A DOCX read for `task`, within the unpack limits; throws when mammoth cannot read it. */
export async function readDocx(content: Uint8Array, task: DocxTask): Promise<DocxAnswer> {
  const buffer = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  try {
    await checkCentralDirectory({ buffer }, DOCX_UNPACK_LIMITS, { inflate: true });
  } catch (error) {
    if (error instanceof UnpackRefusal) return { refused: error.problem };
    throw error;
  }
  if (task === 'text') return { text: (await mammoth.extractRawText({ buffer })).value.slice(0, DOCX_TEXT_CHARS) };
  const pictures: Uint8Array[] = [];
  /** Each different picture's index, by its bytes' hash. */
  const indexes = new Map<string, number>();
  let places = 0;
  let pictureBytes = 0;
  const notShown = { src: '', alt: PICTURE_NOT_SHOWN };
  const converted = await mammoth.convertToHtml(
    { buffer },
    {
      convertImage: mammoth.images.imgElement(async (image) => {
        places += 1;
        if (places > MAX_PICTURE_PLACES) return notShown;
        const bytes = await image.read();
        const hash = createHash('sha256').update(bytes).digest('hex');
        let index = indexes.get(hash);
        if (index === undefined) {
          if (pictures.length >= MAX_PICTURES || pictureBytes + bytes.length > MAX_PICTURE_BYTES) return notShown;
          pictureBytes += bytes.length;
          index = pictures.push(new Uint8Array(bytes)) - 1;
          indexes.set(hash, index);
        }
        return { src: picturePlaceholder(index) };
      }),
    },
  );
  const cut = converted.value.length > DOCX_HTML_CHARS;
  // Cut HTML is closed by the sanitiser, which parses it.
  return { html: sanitizeHtml(cut ? converted.value.slice(0, DOCX_HTML_CHARS) : converted.value, sanitizeOptions()), cut, pictures };
}
