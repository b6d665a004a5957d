import { PDFArray, PDFDict, PDFDocument, PDFName, PDFStream, type PDFObject } from 'pdf-lib';
import { wholeFile } from './content';
import { StoredFile, type StoredFileDoc } from './model';

/** Keys of a PDF dictionary that carry scripts, automatic actions or embedded players. */
const ACTIVE_KEYS = ['JS', 'JavaScript', 'AA', 'Launch', 'SubmitForm', 'RichMedia', 'RichMediaContent'].map((key) => PDFName.of(key));
/** Action types (/S) and subtypes that run something, send the form or play embedded content. */
const ACTIVE_NAMES = new Set(['/JavaScript', '/Launch', '/SubmitForm', '/ImportData', '/RichMediaExecute', '/RichMedia']);

function activeObject(object: PDFObject | undefined, depth = 0): boolean {
  // Indirect objects are enumerated on their own; a direct structure is walked (bounded).
  if (depth > 32) return true;
  if (object instanceof PDFStream) return activeObject(object.dict, depth + 1);
  if (object instanceof PDFArray) return object.asArray().some((item) => activeObject(item, depth + 1));
  if (!(object instanceof PDFDict)) return false;
  if (ACTIVE_KEYS.some((key) => object.has(key))) return true;
  for (const key of ['S', 'Subtype']) {
    const value = object.get(PDFName.of(key));
    if (value instanceof PDFName && ACTIVE_NAMES.has(value.asString())) return true;
  }
  return object.values().some((value) => activeObject(value, depth + 1));
}

/**
 * Whether a PDF holds active content (scripts, automatic or open actions, launching programs,
 * submitting forms, embedded media), every object read (object streams included; pdf-lib). One that
 * cannot be checked — encrypted or not readable — counts as active.
 */
export async function pdfHasActiveContent(content: Buffer): Promise<boolean> {
  let document: PDFDocument;
  try {
    document = await PDFDocument.load(content, { ignoreEncryption: true, updateMetadata: false, throwOnInvalidObject: true });
  } catch {
    return true;
  }
  if (document.isEncrypted) return true;
  return document.context.enumerateIndirectObjects().some(([, object]) => activeObject(object));
}

/**
 * Whether the browser must not open this version itself: a PDF with active content (or one too large
 * to check). Worked out once and kept on the version; other types have none.
 */
export async function hasActiveContent(file: Pick<StoredFileDoc, '_id' | 'size' | 'fileType' | 'activeContent'>): Promise<boolean> {
  if (file.fileType !== 'pdf') return false;
  if (typeof file.activeContent === 'boolean') return file.activeContent;
  const content = await wholeFile(file);
  const active = content ? await pdfHasActiveContent(content) : true;
  await StoredFile.updateOne({ _id: file._id }, { $set: { activeContent: active } });
  return active;
}
