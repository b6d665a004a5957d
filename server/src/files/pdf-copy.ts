import { PDFArray, PDFDict, PDFDocument, PDFName, PDFStream, type PDFObject } from 'pdf-lib';

/** What makes a safe copy: its bytes, or why the document cannot have one. */
export type SafeCopy = { copy: Uint8Array } | { failed: 'encrypted' | 'damaged' };

/** Keys that start something in a viewer (actions, scripts, forms, annotations) or name what does: never in a copy. */
const ACTING_KEYS = ['AA', 'A', 'OpenAction', 'JS', 'JavaScript', 'AcroForm', 'XFA', 'Annots', 'Names', 'URI', 'Next'].map((key) => PDFName.of(key));
/** Action types (the /S of an action dictionary); a dictionary naming one is emptied. */
const ACTION_TYPES = new Set(
  [
    'JavaScript',
    'Launch',
    'SubmitForm',
    'ResetForm',
    'ImportData',
    'URI',
    'GoTo',
    'GoToR',
    'GoToE',
    'Thread',
    'Named',
    'Hide',
    'Sound',
    'Movie',
    'Rendition',
    'Trans',
    'SetOCGState',
    'GoTo3DView',
    'RichMediaExecute',
  ].map((type) => PDFName.of(type)),
);
const S = PDFName.of('S');
const TYPE = PDFName.of('Type');
const ACTION = PDFName.of('Action');

/** Removes from a dictionary (and the dictionaries and arrays directly inside it) everything that can act. */
function disarm(object: PDFObject): void {
  const dict = object instanceof PDFStream ? object.dict : object instanceof PDFDict ? object : null;
  if (dict) {
    if (ACTION_TYPES.has(dict.get(S) as PDFName) || dict.get(TYPE) === ACTION) for (const key of dict.keys()) dict.delete(key);
    for (const key of ACTING_KEYS) dict.delete(key);
    for (const [, value] of dict.entries()) disarm(value);
  } else if (object instanceof PDFArray) for (const value of object.asArray()) disarm(value);
}

/**
 * A PDF rebuilt from what pdf-lib reads of it, for the browser's viewer (content disarm and
 * reconstruction): a new document holding copies of its pages — their content, resources and sizes —
 * and nothing else: no catalog entries of the original (opening actions, scripts, forms, XFA), and on
 * the pages no annotations and no page actions; every copied object is cleared of action keys. Bytes
 * pdf-lib did not take as the document's pages (whatever another reader might find in them) are not in
 * the copy. An encrypted or unreadable document has no copy.
 */
export async function safePdfCopy(content: Uint8Array): Promise<SafeCopy> {
  let source: PDFDocument;
  try {
    // Loaded even when encrypted, to tell that apart (pdf-lib's own error cannot be told by its class).
    source = await PDFDocument.load(content, { updateMetadata: false, ignoreEncryption: true });
  } catch {
    return { failed: 'damaged' };
  }
  // pdf-lib does not decrypt: an encrypted document's pages would be copied as unreadable bytes.
  if (source.isEncrypted) return { failed: 'encrypted' };
  try {
    // Off the originals before copying, so that what they point to is not copied at all.
    for (const page of source.getPages()) for (const key of ACTING_KEYS) page.node.delete(key);
    const copy = await PDFDocument.create({ updateMetadata: false });
    for (const page of await copy.copyPages(source, source.getPageIndices())) copy.addPage(page);
    for (const [, object] of copy.context.enumerateIndirectObjects()) disarm(object);
    if (copy.getPageCount() === 0) return { failed: 'damaged' };
    return { copy: await copy.save({ useObjectStreams: false }) };
  } catch {
    return { failed: 'damaged' };
  }
}
