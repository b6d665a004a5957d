import { extensionOf, fileTypeByName, fileTypes, type FileType } from '../../../card-types';

/**
 * Characters a file name may not carry: C0 and C1 controls and DEL (a newline would break a header
 * or a log line), and the bidirectional marks, embeddings, overrides and isolates (U+061C,
 * U+200E–U+200F, U+202A–U+202E, U+2066–U+2069), with which «отчёт<U+202E>fdp.exe» shows as «отчётexe.pdf».
 * The line and paragraph separators go too, and every invisible character that makes two names look
 * alike: Unicode's default-ignorable code points (zero-width spaces and joiners, the soft hyphen,
 * Hangul fillers, variation selectors, tags …) and the blank Braille pattern (U+2800).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\u2800\p{Default_Ignorable_Code_Point}]/gu;
/** Runs of spaces (any Unicode space), which can push a name's real extension out of sight. */
const SPACES = /\s+/gu;
/** Half of a surrogate pair without the other half (no header can be written with it). */
const BROKEN_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A file name as it may be stored and served: without a path, the characters above, runs of spaces
 * (one is kept), broken surrogates (a header could not be written with them) or more than 255 characters; a name that is
 * only an extension («.pdf», a hidden file once saved) gets the stem «файл»; `fallback` when nothing is left.
 */
export function safeFileName(name: string | undefined, fallback = 'file'): string {
  const base = (name ?? '').split(/[\\/]/).pop()!.replace(BROKEN_SURROGATE, '').replace(UNSAFE, '').replace(SPACES, ' ').trim();
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
 * Extensions that run or render when the file is opened on a desktop (programs, scripts, shortcuts,
 * web pages, disk images): content of no known type named so is not passed on under that name.
 */
const RISKY_EXTENSIONS = new Set(
  'exe com bat cmd scr pif msi msp cpl hta js jse mjs vbs vbe wsf wsh ps1 psm1 lnk url jar reg dll sys sh command app html htm xhtml shtml svg mht mhtml iso img vhd vhdx'.split(
    ' ',
  ),
);
const KNOWN_EXTENSIONS = new Set(fileTypes.flatMap((type) => type.extensions));

/**
 * Whether a name passes content of no known type off as something else: after folding lookalike
 * forms (NFKC: «．ｐｄｆ» is «.pdf») any of its extensions — not only the last («invoice.pdf .exe»)
 * — is a known type's or one that runs when opened.
 */
function misleadingName(name: string): boolean {
  const extensions = name.normalize('NFKC').toLowerCase().split('.').slice(1);
  return extensions.some((extension) => KNOWN_EXTENSIONS.has(extension.trim()) || RISKY_EXTENSIONS.has(extension.trim()));
}

/**
 * A stored file's name with the extension of what its content is: «scan.docx» holding a PDF is
 * «scan.pdf» (a known type's extension is replaced), «scan» or «отчёт.exe» holding one gets «.pdf»
 * added, and content of no known type named as a known type or a program, anywhere in the name and
 * in lookalike forms («счёт.pdf», «invoice.pdf .exe», «report．ｐｄｆ» of other bytes), gets «.bin»,
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
    if (!misleadingName(name) || extension === 'bin') return name;
    suffix = '.bin';
  }
  // Within the 255 characters a name may have, cut at a code point.
  const kept = Array.from(stem)
    .slice(0, 255 - suffix.length)
    .join('')
    .trim();
  return `${kept || 'file'}${suffix}`;
}
