import { inflateSync } from 'node:zlib';
import { PDFArray, PDFDict, PDFDocument, PDFName, PDFStream, type PDFObject } from 'pdf-lib';

/** What may not be in a PDF the browser's viewer is given: names of scripts and actions, and `javascript:` links. */
const ACTIVE_NAMES = ['/JavaScript', '/JS', '/OpenAction', '/AA', '/Launch', '/SubmitForm', '/AcroForm', '/XFA', '/Annots', '/URI'];

/** `#xx` escapes in names written out, so that `/#4aS` reads `/JS`. */
const unescapeNames = (text: string) => text.replace(/#([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

/** Whether `name` occurs in `text` as a whole name (not the start of a longer one). */
const hasName = (text: string, name: string) => new RegExp(`${name.replace('/', '\\/')}(?![A-Za-z0-9])`).test(text);

/**
 * A raw read of a PDF's bytes, independent of any PDF library: the whole file and every stream's data
 * (Flate-inflated where it inflates, as far as it does), searched for the active names and for
 * `javascript:`. Returns what was found, with where (`file` or `stream N`).
 */
export function activeNamesInBytes(pdf: Buffer): string[] {
  const text = pdf.toString('latin1');
  const parts: [string, string][] = [['file', text]];
  const streams = /stream\r?\n/g;
  for (let match = streams.exec(text), index = 0; match; match = streams.exec(text), index += 1) {
    if (text.slice(match.index - 3, match.index) === 'end') continue;
    const end = text.indexOf('endstream', streams.lastIndex);
    const data = pdf.subarray(streams.lastIndex, end < 0 ? pdf.length : end);
    try {
      parts.push([`stream ${index}`, inflateSync(data, { finishFlush: 2 /* Z_SYNC_FLUSH */ }).toString('latin1')]);
    } catch {
      parts.push([`stream ${index}`, data.toString('latin1')]);
    }
  }
  const found: string[] = [];
  for (const [where, part] of parts) {
    const plain = unescapeNames(part);
    for (const name of ACTIVE_NAMES) if (hasName(plain, name)) found.push(`${name} in ${where}`);
    if (/javascript:/i.test(plain)) found.push(`javascript: in ${where}`);
  }
  return found;
}

/** Every key and name value anywhere in a PDF as pdf-lib reads it (all objects, direct ones inside them, streams' dictionaries). */
export async function namesReadByPdfLib(pdf: Buffer): Promise<Set<string>> {
  const document = await PDFDocument.load(pdf, { updateMetadata: false });
  const names = new Set<string>();
  const visit = (object: PDFObject) => {
    const dict = object instanceof PDFStream ? object.dict : object instanceof PDFDict ? object : null;
    if (object instanceof PDFName) names.add(object.asString());
    else if (dict)
      for (const [key, value] of dict.entries()) {
        names.add(key.asString());
        visit(value);
      }
    else if (object instanceof PDFArray) for (const value of object.asArray()) visit(value);
  };
  for (const [, object] of document.context.enumerateIndirectObjects()) visit(object);
  visit(document.catalog);
  return names;
}

/** The active names pdf-lib finds in a PDF (see ACTIVE_NAMES). */
export async function activeNamesReadByPdfLib(pdf: Buffer): Promise<string[]> {
  const names = await namesReadByPdfLib(pdf);
  return [...ACTIVE_NAMES, '/A', '/Names'].filter((name) => names.has(name));
}
