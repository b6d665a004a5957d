import { buffer } from 'node:stream/consumers';
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
