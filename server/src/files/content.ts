import { buffer } from 'node:stream/consumers';
import { extractText, getDocumentProxy } from 'unpdf';
import type { StoredFileDoc } from './model';
import { fileStorage } from './storage';

/**
 * The largest file read whole into memory to make a preview of it or extract its text: PDF and
 * DOCX readers need the whole document. Larger ones are shown by name only and are not searched inside.
 */
export const WHOLE_FILE_LIMIT = 64 * 1024 * 1024;

/** A file's bytes in one buffer, or null when it is too large to hold. */
export async function wholeFile(file: Pick<StoredFileDoc, '_id' | 'size'>): Promise<Buffer | null> {
  if (file.size > WHOLE_FILE_LIMIT) return null;
  return buffer(fileStorage.read(String(file._id)));
}

/** The text layer of a PDF, page by page (unpdf's pdf.js); pages without text are empty strings. */
export async function pdfPageTexts(content: Buffer): Promise<string[]> {
  const pdf = await getDocumentProxy(new Uint8Array(content.buffer, content.byteOffset, content.byteLength));
  try {
    return (await extractText(pdf, { mergePages: false })).text;
  } finally {
    await pdf.destroy();
  }
}
