import { extensionOf, fileTypeByName, type FileType } from '../../../card-types';

/**
 * Characters a file name may not carry: C0 and C1 controls and DEL (a newline would break a header
 * or a log line), and the bidirectional marks, embeddings, overrides and isolates (U+061C,
 * U+200E–U+200F, U+202A–U+202E, U+2066–U+2069), with which «отчёт<U+202E>fdp.exe» shows as «отчётexe.pdf».
 * The line and paragraph separators go too, and the invisible zero-width ones (U+200B, U+2060–U+2064,
 * U+FEFF) that make two names look alike.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b\u2060-\u2064\ufeff]/g;
/** Half of a surrogate pair without the other half (no header can be written with it). */
const BROKEN_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A file name as it may be stored and served: without a path, the characters above, broken
 * surrogates (a header could not be written with them) or more than 255 characters; a name that is
 * only an extension («.pdf», a hidden file once saved) gets the stem «файл»; `fallback` when nothing is left.
 */
export function safeFileName(name: string | undefined, fallback = 'file'): string {
  const base = (name ?? '').split(/[\\/]/).pop()!.replace(BROKEN_SURROGATE, '').replace(UNSAFE, '').trim();
  const extension = /^\.+([^.]+)$/.exec(base)?.[1].trim();
  // Cut at a code point, never inside a surrogate pair.
  return (
    Array.from(extension ? `файл.${extension}` : base)
      .slice(0, 255)
      .join('')
      .trim() || fallback
  );
}

/**
 * A stored file's name with the extension of what its content is: «scan.docx» holding a PDF is
 * «scan.pdf» (a known type's extension is replaced), «scan» or «отчёт.exe» holding one gets «.pdf»
 * added, and content of no known type named as a known type («счёт.pdf» of other bytes) gets «.bin»,
 * so that nobody opens it believing the name. Names that already match stay as they are.
 */
export function nameForContent(name: string, type: FileType | undefined): string {
  const extension = extensionOf(name);
  const claimed = fileTypeByName(name);
  let stem = name;
  let suffix: string;
  if (type) {
    if (type.extensions.includes(extension)) return name;
    if (claimed) stem = name.slice(0, -(extension.length + 1));
    suffix = `.${type.extensions[0]}`;
  } else {
    if (!claimed) return name;
    suffix = '.bin';
  }
  // Within the 255 characters a name may have, cut at a code point.
  const kept = Array.from(stem)
    .slice(0, 255 - suffix.length)
    .join('')
    .trim();
  return `${kept || 'file'}${suffix}`;
}
