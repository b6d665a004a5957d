import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import mammoth from 'mammoth';
import { Types } from 'mongoose';
import sanitizeHtml from 'sanitize-html';
import sharp from 'sharp';
import { findFileType } from '../../../card-types';
import { wholeFile } from './content';
import { StoredFile, type StoredFileDoc } from './model';
import { fileStorage } from './storage';

type Rendition = 'thumbnail' | 'html';

/**
 * A derived copy of a file (made on first request, then kept in the storage beside the file and
 * removed with it). Two requests making it at once both succeed; the copy recorded first is kept.
 */
async function rendition(file: StoredFileDoc, which: Rendition, name: string, make: () => Promise<Buffer | null>): Promise<Readable | null> {
  const kept = file.renditions?.[which];
  if (kept) return fileStorage.read(String(kept));
  const made = await make();
  if (!made) return null;
  const id = new Types.ObjectId();
  await fileStorage.write(String(id), name, Readable.from([made]));
  const recorded = await StoredFile.updateOne({ _id: file._id, [`renditions.${which}`]: null }, { $set: { [`renditions.${which}`]: id } });
  if (recorded.modifiedCount !== 1) await fileStorage.remove(String(id));
  return Readable.from([made]);
}

/** The longest side of a thumbnail, in pixels. */
const THUMBNAIL_PX = 480;

/** An image's thumbnail (JPEG, at most 480 px a side); null for files that are not images. */
export function imageThumbnail(file: StoredFileDoc): Promise<Readable | null> {
  if (findFileType(file.fileType)?.preview !== 'image') return Promise.resolve(null);
  return rendition(file, 'thumbnail', `${file.name}.thumbnail.jpg`, async () => {
    const resize = sharp({ failOn: 'none' })
      .rotate()
      .resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 80 });
    fileStorage.read(String(file._id)).pipe(resize);
    return resize.toBuffer();
  });
}

/** What a DOCX's HTML may keep: text structure, tables, links and embedded pictures; nothing that runs. */
const sanitizeOptions: sanitizeHtml.IOptions = {
  allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img'],
  allowedAttributes: { a: ['href', 'title'], img: ['src', 'alt'], td: ['colspan', 'rowspan'], th: ['colspan', 'rowspan'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['data'] },
};

const page = (body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><style>body{font:15px/1.5 system-ui,sans-serif;margin:16px;color:#1f2328}` +
  `table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px}img{max-width:100%}</style></head><body>${body}</body></html>`;

/** A DOCX as sanitised, read-only HTML (mammoth); null for other files and for those too large to read. */
export async function docxPreview(file: StoredFileDoc): Promise<string | null> {
  if (file.fileType !== 'docx') return null;
  const made = await rendition(file, 'html', `${file.name}.html`, async () => {
    const content = await wholeFile(file);
    if (!content) return null;
    const { value } = await mammoth.convertToHtml({ buffer: content });
    return Buffer.from(page(sanitizeHtml(value, sanitizeOptions)));
  });
  return made && text(made);
}
