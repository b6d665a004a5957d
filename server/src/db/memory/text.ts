/**
 * Text search: case- and diacritic-insensitive tokens (ё folds to е), light suffix stemming for
 * Russian and English chosen per word by its script, stop words dropped, MongoDB-like $search syntax.
 */
import { badValue } from './errors';

const EN_STOP = new Set('a an and are as at be but by for from has have in is it its of on or that the to was were will with'.split(' '));
const RU_STOP = new Set(
  'и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от меня еще нет о из ему ли если или ни быть был него до вас нибудь уже вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее были куда зачем всех никогда можно при наконец два об другой хоть после над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между'
    .replace(/ё/g, 'е')
    .split(' '),
);

const RU_ENDINGS = [
  'иями',
  'ями',
  'ами',
  'его',
  'ого',
  'ему',
  'ому',
  'ыми',
  'ими',
  'ией',
  'ий',
  'ый',
  'ой',
  'ей',
  'ая',
  'яя',
  'ое',
  'ее',
  'ые',
  'ие',
  'ов',
  'ев',
  'ах',
  'ях',
  'ам',
  'ям',
  'ом',
  'ем',
  'ую',
  'юю',
  'ия',
  'ью',
  'а',
  'я',
  'о',
  'е',
  'ы',
  'и',
  'у',
  'ю',
  'ь',
  'й',
];
const EN_ENDINGS: [string, string][] = [
  ['ies', 'y'],
  ['ing', ''],
  ['ed', ''],
  ['es', ''],
  ['ly', ''],
  ['s', ''],
];

/** Lower-cases, folds ё to е and strips diacritics. */
export function foldText(text: string): string {
  return text.toLowerCase().replace(/ё/g, 'е').normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC');
}

function stem(word: string): string {
  if (/[а-я]/.test(word)) {
    for (const ending of RU_ENDINGS) {
      if (word.length - ending.length >= 3 && word.endsWith(ending)) return word.slice(0, -ending.length);
    }
    return word;
  }
  for (const [ending, replacement] of EN_ENDINGS) {
    if (word.length - ending.length >= 3 && word.endsWith(ending) && !word.endsWith('ss')) return word.slice(0, -ending.length) + replacement;
  }
  return word;
}

/** Stems of the words in `text`, stop words removed. */
export function textStems(text: string): string[] {
  const words = foldText(text).match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.filter((word) => !EN_STOP.has(word) && !RU_STOP.has(word)).map(stem);
}

export interface TextQuery {
  terms: string[];
  negated: string[];
  phrases: string[];
}

export function parseSearch(search: unknown): TextQuery {
  if (typeof search !== 'string') throw badValue('$search needs a String');
  const phrases: string[] = [];
  const rest = search.replace(/"([^"]*)"/g, (_, phrase: string) => {
    if (phrase.trim()) phrases.push(foldText(phrase.trim()));
    return ' ';
  });
  const terms: string[] = [];
  const negated: string[] = [];
  for (const word of rest.split(/\s+/)) {
    if (!word) continue;
    if (word.startsWith('-')) negated.push(...textStems(word.slice(1)));
    else terms.push(...textStems(word));
  }
  for (const phrase of phrases) terms.push(...textStems(phrase));
  return { terms: [...new Set(terms)], negated: [...new Set(negated)], phrases };
}

/** The (weighted) stems of one document, as the text index stores them. */
export function documentStems(doc: Record<string, unknown>, weights: Map<string, number>): Map<string, number> {
  const result = new Map<string, number>();
  const add = (text: string, weight: number) => {
    const stems = textStems(text);
    const coefficient = weight / Math.max(1, stems.length / 4);
    for (const s of stems) result.set(s, (result.get(s) ?? 0) + coefficient);
  };
  if (weights.has('$**')) {
    collectStrings(doc, (text) => add(text, weights.get('$**')!));
  }
  for (const [path, weight] of weights) {
    if (path === '$**') continue;
    for (const value of valuesAtPath(doc, path)) collectStrings(value, (text) => add(text, weight));
  }
  return result;
}

/** All text of the indexed fields, folded, for phrase checks. */
export function documentText(doc: Record<string, unknown>, weights: Map<string, number>): string {
  const parts: string[] = [];
  if (weights.has('$**')) collectStrings(doc, (text) => parts.push(text));
  else for (const path of weights.keys()) for (const value of valuesAtPath(doc, path)) collectStrings(value, (text) => parts.push(text));
  return foldText(parts.join('\n'));
}

function collectStrings(value: unknown, visit: (text: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, visit);
  else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collectStrings(item, visit);
  }
}

/** Values at a dotted path, descending through arrays (multikey semantics). */
export function valuesAtPath(value: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  const walk = (current: unknown, parts: string[], index: number) => {
    if (index === parts.length) {
      out.push(current);
      return;
    }
    if (Array.isArray(current)) {
      const part = parts[index]!;
      if (/^\d+$/.test(part) && Number(part) < current.length) walk(current[Number(part)], parts, index + 1);
      for (const item of current) if (item !== null && typeof item === 'object' && !Array.isArray(item)) walk(item, parts, index);
      return;
    }
    if (current === null || typeof current !== 'object') return;
    const next = (current as Record<string, unknown>)[parts[index]!];
    if (next === undefined) return;
    walk(next, parts, index + 1);
  };
  walk(value, path.split('.'), 0);
  return out;
}
