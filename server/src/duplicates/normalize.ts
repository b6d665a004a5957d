import unhomoglyph from 'unhomoglyph';

/**
 * Names as duplicate detection compares them. Kartoteka's own rules for Russian organisation and
 * person names: legal forms («ООО», «АО», «ИП», «Общество с ограниченной ответственностью» …),
 * quotes, punctuation, case, «ё», accents, invisible characters and Latin letters standing in for
 * Cyrillic look-alikes («OOO «Poмaшкa»») do not tell two names apart; numbers do («СМУ-5» is not
 * «СМУ-7»). Similarity is pg_trgm's: the share of common trigrams (Jaccard) of the words padded
 * with two spaces before and one after; the trigram sets themselves drive blocking (see
 * `prefixTrigrams`), which a score-only similarity library could not give.
 */

/**
 * Abbreviated legal forms, removed wherever they stand as a word; with their Latin spellings
 * («ZAO»; «OOO», «OAO», «AO» are look-alikes and read as Cyrillic, and so is «PAO», as «РАО»).
 */
const LEGAL_FORMS = new Set([
  'ооо',
  'оао',
  'ао',
  'зао',
  'пао',
  'нао',
  'рао',
  'ип',
  'чп',
  'тоо',
  'нко',
  'ано',
  'гуп',
  'муп',
  'фгуп',
  'пбоюл',
  'zao',
  'nao',
  'llc',
  'ltd',
  'inc',
  'jsc',
]);

/** Legal forms written out, longest first (so «публичное акционерное общество» goes before «акционерное общество»). */
const LEGAL_FORM_PHRASES = [
  'общество с ограниченной ответственностью',
  'публичное акционерное общество',
  'непубличное акционерное общество',
  'закрытое акционерное общество',
  'открытое акционерное общество',
  'акционерное общество',
  'индивидуальный предприниматель',
  'некоммерческая организация',
  'автономная некоммерческая организация',
].sort((a, b) => b.length - a.length);

const RUSSIAN = 'абвгдеёжзийклмнопрстуфхцчшщъыьэюя';
const LATIN = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Latin letters that look like a Russian letter, by Unicode's confusables (UTS #39 skeletons, from
 * the unhomoglyph package): «P» → «Р», «a» → «а», «H» → «Н» (but not «h»), «y» → «у».
 */
const CYRILLIC_TWINS: ReadonlyMap<string, string> = (() => {
  const russian = [...RUSSIAN, ...RUSSIAN.toUpperCase()];
  const twins = new Map<string, string>();
  for (const latin of [...LATIN, ...LATIN.toUpperCase()]) {
    const twin = russian.find((letter) => unhomoglyph(letter) === unhomoglyph(latin));
    if (twin) twins.set(latin, twin);
  }
  return twins;
})();

// A letter's twin, or its lower case's: a word keeps its reading whether or not it was lower-cased.
const twinOf = (letter: string) => CYRILLIC_TWINS.get(letter) ?? CYRILLIC_TWINS.get(letter.toLowerCase());

/**
 * Latin letters that stand for a Russian letter without being its confusable: mirror images («N»
 * for «И», «R» for «Я») and letters of nearly the same shape («n» for «п», «u» for «и», «k» for
 * «к»). Read so only inside a word that holds Cyrillic letters («Nнжиниринг»): a Latin word keeps
 * them («Nord»).
 */
const MIXED_WORD_TWINS: ReadonlyMap<string, string> = new Map([
  ['N', 'И'],
  ['R', 'Я'],
  ['n', 'п'],
  ['u', 'и'],
  ['k', 'к'],
]);
// The letter as it is first («R» is «Я», though «r» is «г»), then its lower case.
const mixedTwinOf = (letter: string) => CYRILLIC_TWINS.get(letter) ?? MIXED_WORD_TWINS.get(letter) ?? twinOf(letter) ?? MIXED_WORD_TWINS.get(letter.toLowerCase());

/**
 * A word with its Latin look-alikes read as Cyrillic when it holds Cyrillic letters («Poмaшкa»,
 * «Nнжиниpинг»), or when it is made of look-alikes only («OOO», «KOMETA»); other Latin words stay
 * as they are.
 */
function asCyrillic(word: string): string {
  const latin = [...word].filter((letter) => /\p{Script=Latin}/u.test(letter));
  if (latin.length === 0) return word;
  const mixed = /\p{Script=Cyrillic}/u.test(word);
  if (!mixed && !latin.every(twinOf)) return word;
  return [...word].map((letter) => (mixed ? mixedTwinOf(letter) : twinOf(letter)) ?? letter).join('');
}

/** Two characters look alike: the same skeleton under Unicode's confusables, or a Latin letter read as a Russian one in a mixed word («N», «И»). */
const lookAlike = (x: string, y: string) =>
  unhomoglyph(x) === unhomoglyph(y) || [x, y].some((one, at) => MIXED_WORD_TWINS.get(one)?.toLowerCase() === [x, y][1 - at].toLowerCase());

/** Characters nobody sees: zero-width spaces and joiners, soft hyphens, byte order marks … (`INVISIBLE` one, `INVISIBLES` all of a text). */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
const INVISIBLES = new RegExp(INVISIBLE.source, 'gu');

/**
 * Text read as shown (a run reversed by a bidi override), compatibility forms folded (full-width letters, ligatures), invisible characters (zero-width
 * spaces and joiners, soft hyphens) and combining marks (stress marks, accents) dropped — but the
 * breve of «й» —, look-alikes read as Cyrillic, lower case, «ё» as «е».
 */
/**
 * A run after RIGHT-TO-LEFT OVERRIDE (U+202E), up to POP DIRECTIONAL FORMATTING (U+202C) or the end,
 * is shown in reverse: «\u202EьлатсревеС» reads «Северсталь». Read as it is shown.
 */
const asShown = (text: string) => text.replace(/\u202E([^\u202C]*)\u202C?/gu, (_override, run: string) => [...run].reverse().join(''));

function foldedWords(text: string): string[] {
  const visible = asShown(text).normalize('NFKC').replace(INVISIBLES, '');
  const bare = visible
    .normalize('NFD')
    .replace(/\p{M}/gu, (mark, at: number, whole: string) => (mark === '\u0306' && /[иИ]/.test(whole[at - 1]) ? mark : ''))
    .normalize('NFC');
  return words(withoutZeroAsO(bare)).map((word) => asCyrillic(word).toLowerCase().replace(/ё/g, 'е'));
}

/**
 * A digit zero typed for the letter О in a word of О's only («0OO», «О0О» for «ООО»): read as the
 * letter, as otherwise the word splits into a number and «оо», and names with different numbers are
 * never alike.
 */
const withoutZeroAsO = (text: string) => text.replace(/(?<![\p{L}\p{N}])[0OoОо]*[OoОо][0OoОо]*(?![\p{L}\p{N}])/gu, (word) => word.replaceAll('0', 'О'));

/** Words of letters and runs of digits: quotes, hyphens and other punctuation separate them. */
function words(text: string): string[] {
  return text.match(/\p{L}+|\p{N}+/gu) ?? [];
}

/**
 * A name reduced to what tells it apart: «ООО "Ромашка"», «Ромашка ООО» and «ромашка» all become
 * «ромашка»; «ООО Ромашка-Плюс» becomes «ромашка плюс». A name that is nothing but a legal form
 * keeps it.
 */
export function normalizeName(text: string): string {
  let spaced = ` ${foldedWords(text).join(' ')} `;
  for (const phrase of LEGAL_FORM_PHRASES) spaced = spaced.replaceAll(` ${phrase} `, ' ');
  const all = spaced.trim().split(' ').filter(Boolean);
  const kept = all.filter((word) => !LEGAL_FORMS.has(word));
  return (kept.length > 0 ? kept : all).join(' ');
}

/** A normalised name split for comparison: its letter trigrams and its numbers. */
export interface NameShape {
  /** The normalised name. */
  text: string;
  /** The numbers in it, sorted and joined («12 5»); names with different numbers are never similar. */
  numbers: string;
  /** pg_trgm trigrams of its letter words. */
  trigrams: Set<string>;
}

export function nameShape(text: string): NameShape {
  return shapeOfNormalized(normalizeName(text));
}

/** The shape of a name already normalised (a stored one): its trigrams and numbers, without normalising again. */
export function shapeOfNormalized(normalized: string): NameShape {
  const parts = normalized.split(' ').filter(Boolean);
  const numbers = parts
    .filter((part) => /^\p{N}+$/u.test(part))
    .sort()
    .join(' ');
  const trigrams = new Set<string>();
  for (const word of parts) {
    if (/^\p{N}+$/u.test(word)) continue;
    const padded = [' ', ' ', ...word, ' '];
    for (let i = 0; i + 3 <= padded.length; i += 1) trigrams.add(padded.slice(i, i + 3).join(''));
  }
  return { text: normalized, numbers, trigrams };
}

/**
 * How alike two names are, from 0 to 1: 1 for names equal after normalisation, 0 when their
 * numbers differ, otherwise the Jaccard similarity of their trigram sets.
 */
export function nameSimilarity(a: NameShape, b: NameShape): number {
  if (a.numbers !== b.numbers) return 0;
  if (a.text === b.text) return 1;
  if (a.trigrams.size === 0 || b.trigrams.size === 0) return 0;
  let common = 0;
  for (const trigram of a.trigrams) if (b.trigrams.has(trigram)) common += 1;
  return common / (a.trigrams.size + b.trigrams.size - common);
}

/** The least number of common trigrams a set of `size` needs with another for a similarity of `threshold`. */
export function requiredOverlap(size: number, threshold: number): number {
  // A small tolerance: 0.7 × 10 is 7.000000000000001 in floating point, and must stay 7.
  return Math.max(1, Math.ceil(threshold * size - 1e-9));
}

/**
 * Prefix filtering: a name whose similarity to another reaches `threshold` shares at least one of
 * its `size − requiredOverlap + 1` first trigrams in any fixed order with the other's trigrams;
 * taking the rarest first keeps the candidate blocks small. `frequency` ranks a trigram (lower
 * first; ties by the trigram itself, so every caller sees the same order).
 */
export function prefixTrigrams(shape: NameShape, threshold: number, frequency: (trigram: string) => number): string[] {
  const ordered = [...shape.trigrams].sort((x, y) => frequency(x) - frequency(y) || (x < y ? -1 : x > y ? 1 : 0));
  return ordered.slice(0, ordered.length - requiredOverlap(ordered.length, threshold) + 1);
}

/** A part of a value as the merge dialog shows it: plain text, or one character telling it apart from a look-alike value. */
export interface LookAlikePart {
  text: string;
  /** What the character is («латинская a», «невидимый символ U+200B»); null for plain text. */
  hint: string | null;
  /** An invisible character or a space other than the ordinary one: shown as a mark of its own («◌»). */
  invisible: boolean;
}

const codePoint = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** A character named for the person choosing between look-alike values: its script (or kind) and itself. */
function characterName(char: string, locale: 'ru' | 'en'): string {
  const ru = locale === 'ru';
  if (INVISIBLE.test(char)) return ru ? `невидимый символ ${codePoint(char)}` : `invisible character ${codePoint(char)}`;
  if (/\p{White_Space}/u.test(char)) return ru ? `особый пробел ${codePoint(char)}` : `special space ${codePoint(char)}`;
  if (/\p{Script=Latin}/u.test(char)) return ru ? `латинская ${char}` : `Latin ${char}`;
  if (/\p{Script=Cyrillic}/u.test(char)) return ru ? `кириллическая ${char}` : `Cyrillic ${char}`;
  if (/\p{Script=Greek}/u.test(char)) return ru ? `греческая ${char}` : `Greek ${char}`;
  if (/\p{N}/u.test(char)) return ru ? `цифра ${char}` : `digit ${char}`;
  return ru ? `символ ${char} (${codePoint(char)})` : `character ${char} (${codePoint(char)})`;
}

/**
 * The positions (code points) of `a` that tell it apart from `b` when the two differ only by
 * look-alike characters (the same skeleton under Unicode's confusables, through unhomoglyph) and
 * invisible characters (none when only `b` has those); null when they differ otherwise.
 */
function lookAlikeDifferences(a: string[], b: string[]): Set<number> | null {
  const seen = (chars: string[]) => chars.flatMap((char, at) => (INVISIBLE.test(char) ? [] : [at]));
  const [ia, ib] = [seen(a), seen(b)];
  if (ia.length !== ib.length) return null;
  const telling = new Set(a.flatMap((char, at) => (INVISIBLE.test(char) ? [at] : [])));
  for (const [k, at] of ia.entries()) {
    const [x, y] = [a[at], b[ib[k]]];
    if (x === y) continue;
    if (!lookAlike(x, y)) return null;
    telling.add(at);
  }
  return telling;
}

/**
 * Of these values (those of one field on the cards being merged), the ones that differ from
 * another only by look-alike letters (Latin «a» for Cyrillic «а», a digit 0 for О) or invisible
 * characters, split into parts with the telling characters named in `locale`: the person choosing
 * which value stays can see which is which. Values without such a twin are left out.
 */
export function lookAlikeValues(values: string[], locale: 'ru' | 'en'): { value: string; parts: LookAlikePart[] }[] {
  const distinct = [...new Set(values)];
  const chars = distinct.map((value) => [...value]);
  const found: { value: string; parts: LookAlikePart[] }[] = [];
  for (const [i, value] of distinct.entries()) {
    const telling = new Set<number>();
    for (const [j, other] of chars.entries()) {
      if (i !== j) for (const at of lookAlikeDifferences(chars[i], other) ?? []) telling.add(at);
    }
    if (telling.size === 0) continue;
    const parts: LookAlikePart[] = [];
    for (const [at, char] of chars[i].entries()) {
      if (telling.has(at)) parts.push({ text: char, hint: characterName(char, locale), invisible: INVISIBLE.test(char) || /\p{White_Space}/u.test(char) });
      else if (parts.length > 0 && parts[parts.length - 1].hint === null) parts[parts.length - 1].text += char;
      else parts.push({ text: char, hint: null, invisible: false });
    }
    found.push({ value, parts });
  }
  return found;
}
