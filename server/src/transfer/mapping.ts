/** Which column of a file goes into which field: guessed from the headers, remembered per user and type. */
import { Types } from 'mongoose';
import { visibleFields, type CardTypeDefinition, type FieldDefinition } from '../../../card-types';
import { wordPrefix } from '../cards/search';
import { ImportMapping, type ImportMappingDoc } from './model';

export type MatchPolicy = 'skip' | 'fillEmpty' | 'overwrite';
export const MATCH_POLICIES: readonly MatchPolicy[] = ['skip', 'fillEmpty', 'overwrite'];

/** The ruble written out in a header («руб.», «в руб.», «рублей», «р.»): a label writes it «₽», a symbol dropped as the others are. */
const RUBLES = /(?<![\p{L}\p{N}])(?:в\s+)?(?:руб(?:лей|лях|ля|\.)?|р\.|rub\.?)(?![\p{L}\p{N}])/gu;

/** A header or label reduced for comparison: case, spaces, punctuation, symbols, «ё» and how rubles are written do not matter. */
export const headerKey = (text: string): string =>
  text
    .toLocaleLowerCase('ru')
    .replace(/ё/g, 'е')
    .replace(RUBLES, '')
    .replace(/[\s\p{P}\p{S}]+/gu, '');

/** Other names people give columns of a kind (reduced as `headerKey` does). */
const KIND_NAMES: Record<string, string[]> = {
  email: ['элпочта', 'электроннаяпочта', 'почта', 'email', 'эл адрес', 'mail'].map(headerKey),
  phone: ['тел', 'телефоны', 'мобильный', 'моб', 'телефонмоб', 'phone'].map(headerKey),
  url: ['сайт', 'вебсайт', 'website', 'web', 'url', 'адрессайта'].map(headerKey),
};

/** A header's or label's words, each without its Russian ending (Примечание and Примечания read alike). */
const stems = (text: string): string[] =>
  text
    .toLocaleLowerCase('ru')
    .replace(/ё/g, 'е')
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map(wordPrefix);

/** Every word of the header begins a word of the label, in order («Юр. адрес» — «Юридический адрес», «Ответственный» — «Ответственный менеджер»). */
function wordsBegin(header: string[], label: string[]): boolean {
  let at = 0;
  for (const word of header) {
    while (at < label.length && !label[at].startsWith(word)) at += 1;
    if (at === label.length) return false;
    at += 1;
  }
  return header.length > 0;
}

/** The names a header may give a field by: its key and its Russian and English labels. */
const fieldNames = (field: FieldDefinition): string[] => [field.key, field.label.ru, field.label.en];

/** Whose a value is, as headers add it to the name of a column («Сайт компании», «Телефон организации», «Company website»): it names no field. */
const OWNER_WORDS = /^(?:company|organi[sz]ation)\s+|\s+(?:компании|организации|фирмы|предприятия|клиента|контрагента)$/giu;

/**
 * The field a header names loosely, when exactly one does: without the words that say whose it is
 * («Сайт компании» is the site, s14 re-attack B3), by its label or key, by another name of its kind
 * («Эл. почта» for an e-mail field), or by the beginnings of its label's words.
 */
function looseField(header: string, fields: FieldDefinition[]): string | null {
  const column = header.trim().replace(OWNER_WORDS, '');
  const key = headerKey(column);
  const byName = fields.filter((field) => fieldNames(field).some((name) => headerKey(name) === key));
  if (byName.length === 1) return byName[0].key;
  const byKind = fields.filter((field) => KIND_NAMES[field.kind]?.includes(key));
  if (byKind.length === 1) return byKind[0].key;
  const words = stems(column);
  const byWords = fields.filter((field) => [field.label.ru, field.label.en].some((label) => wordsBegin(words, stems(label))));
  return byWords.length === 1 ? byWords[0].key : null;
}

export interface MappingGuess {
  /** For each column: the field it goes into, or null (skipped). */
  columns: (string | null)[];
  constants: Record<string, string>;
  matchField: string | null;
  onMatch: MatchPolicy;
  /**
   * Whether a card of another folder may match (and be updated) too. Off unless asked for each
   * import (never remembered): an import into a folder changes that folder's cards only.
   */
  matchOtherFolders: boolean;
}

/**
 * The user's last mapping for the type where a column of the same name was mapped; otherwise the
 * field whose Russian or English label or key reads like the header; otherwise the one field named
 * loosely (another name of its kind, the beginnings of its label's words). A field takes one column;
 * a column without a header (null) takes none.
 */
export function guessMapping(columns: (string | null)[], type: CardTypeDefinition, remembered: ImportMappingDoc | null): MappingGuess {
  const fields = visibleFields(type);
  const byName = new Map<string, string>();
  for (const field of fields) for (const name of fieldNames(field)) if (!byName.has(headerKey(name))) byName.set(headerKey(name), field.key);
  const rememberedColumns = new Map((remembered?.columns ?? []).map(({ column, field }) => [headerKey(column), field]));
  const known = new Set(fields.map((field) => field.key));
  const taken = new Set<string>();
  const mapped = columns.map((column) => {
    if (column === null) return null;
    const key = headerKey(column);
    const choice = rememberedColumns.has(key) ? rememberedColumns.get(key) : byName.get(key);
    if (!choice || !known.has(choice) || taken.has(choice)) return null;
    taken.add(choice);
    return choice;
  });
  // Columns no field is named like exactly: a field named loosely, if only one is and no column took it.
  columns.forEach((column, index) => {
    if (column === null) return;
    const key = headerKey(column);
    if (mapped[index] !== null || rememberedColumns.has(key) || byName.has(key)) return;
    const choice = looseField(
      column,
      fields.filter((field) => !taken.has(field.key)),
    );
    if (!choice) return;
    mapped[index] = choice;
    taken.add(choice);
  });
  const uniqueMapped = fields.find((field) => field.unique && taken.has(field.key))?.key ?? null;
  const constants = Object.fromEntries((remembered?.constants ?? []).filter(({ field }) => known.has(field) && !taken.has(field)).map(({ field, value }) => [field, value]));
  const matchField = remembered?.matchField && taken.has(remembered.matchField) ? remembered.matchField : uniqueMapped;
  // What to do with existing cards is decided for one file (a correction sheet, not the next client list):
  // remembered only for a file with the same headers, else the safe «skip» (s13 re-test R2).
  const sameFile = remembered?.headers !== undefined && remembered.headers.join('\n') === namedHeaderKeys(columns).join('\n');
  const onMatch = sameFile && MATCH_POLICIES.includes(remembered.onMatch as MatchPolicy) ? (remembered.onMatch as MatchPolicy) : 'skip';
  return { columns: mapped, constants, matchField, onMatch, matchOtherFolders: false };
}

/** A file's named headers as mappings compare them. */
const namedHeaderKeys = (columns: (string | null)[]) => columns.filter((column): column is string => column !== null).map(headerKey);

export async function rememberedMapping(userId: string, typeKey: string): Promise<ImportMappingDoc | null> {
  return ImportMapping.findOne({ userId: new Types.ObjectId(userId), typeKey }).lean<ImportMappingDoc>();
}

/**
 * Of the types a folder takes, the one whose fields a file's headers fit best: the most columns
 * `guessMapping` maps for it, the user's remembered mapping of each type counting as it would map
 * (s12 user U3: the first type of the list, «Банковский счёт», took a client file's «ИНН» alone).
 * The type asked for wins a tie, so a type that fits no worse is kept; its guess is the one the
 * inspection made already.
 */
export async function bestFittingType(userId: string, columns: (string | null)[], asked: { key: string; guess: MappingGuess }, candidates: CardTypeDefinition[]): Promise<string> {
  const others = candidates.filter((type) => type.key !== asked.key);
  const remembered = await ImportMapping.find({ userId: new Types.ObjectId(userId), typeKey: { $in: others.map((type) => type.key) } }).lean<ImportMappingDoc[]>();
  const rememberedOf = new Map(remembered.map((mapping) => [mapping.typeKey, mapping]));
  const mapped = (guess: MappingGuess) => guess.columns.filter(Boolean).length;
  let best = { key: asked.key, columns: mapped(asked.guess) };
  for (const type of others) {
    const columnsMapped = mapped(guessMapping(columns, type, rememberedOf.get(type.key) ?? null));
    if (columnsMapped > best.columns) best = { key: type.key, columns: columnsMapped };
  }
  return best.key;
}

/**
 * Remembers a user's mapping for a type by column names, for the next file of the same shape, and the
 * policy for existing cards with the file's headers. A column without a header (null: named by its
 * letters only) is not remembered: «D» of one file is not «D» of the next (s11 user U1).
 */
export async function rememberMapping(userId: string, typeKey: string, headers: (string | null)[], mapping: MappingGuess): Promise<void> {
  const columns = headers.flatMap((column, index) => (column !== null && mapping.columns[index] ? [{ column, field: mapping.columns[index] }] : []));
  await ImportMapping.updateOne(
    { userId: new Types.ObjectId(userId), typeKey },
    {
      $set: {
        columns,
        constants: Object.entries(mapping.constants).map(([field, value]) => ({ field, value })),
        matchField: mapping.matchField,
        onMatch: mapping.onMatch,
        headers: namedHeaderKeys(headers),
      },
    },
    { upsert: true },
  );
}
