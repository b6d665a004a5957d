import type { ClientSession, Types } from 'mongoose';
import type { CardTypeDefinition, CardValues } from '../../../card-types';
import { exactValuesOf, textOf } from './field-values';
import { DuplicateKey, DuplicateSettings, type DuplicateKeyDoc, type MatchRule } from './model';
import { nameShape, nameSimilarity, prefixTrigrams, shapeOfNormalized, type NameShape } from './normalize';
import type { TypeRules } from './rules';

/** At most this many combinations of values make exact keys of one rule (fields holding lists). */
const MAX_COMBINATIONS = 20;

function exactKeys(type: CardTypeDefinition, rule: MatchRule, values: CardValues): string[] {
  let combos: string[][] = [[]];
  for (const key of rule.fields) {
    const field = type.fields.find((f) => f.key === key);
    const items = field ? exactValuesOf(field, values[key]) : [];
    if (items.length === 0) return [];
    combos = combos.flatMap((combo) => items.map((item) => [...combo, item])).slice(0, MAX_COMBINATIONS);
  }
  return combos.map((combo) => `${rule.id}=${combo.join('|')}`);
}

/** The text a similar rule compares, as a shape; null when its fields are empty. */
function similarShape(rule: MatchRule, values: CardValues): NameShape | null {
  const text = rule.fields
    .map((key) => textOf(values[key]))
    .filter(Boolean)
    .join(' ');
  const shape = text ? nameShape(text) : null;
  return shape && shape.text !== '' ? shape : null;
}

export const nameKey = (rule: MatchRule, shape: NameShape) => `${rule.id}=${shape.numbers}~${shape.text}`;
const trigramKey = (rule: MatchRule, shape: NameShape, trigram: string) => `${rule.id}~${shape.numbers}~${trigram}`;

/** What the rules make of a card's values: the exact keys of exact rules, the name of each similar rule. */
function ruleParts(type: CardTypeDefinition, rules: TypeRules, values: CardValues): { exact: string[]; similar: { rule: MatchRule; shape: NameShape }[] } {
  const exact: string[] = [];
  const similar: { rule: MatchRule; shape: NameShape }[] = [];
  for (const rule of rules.rules) {
    if (rule.mode === 'exact') exact.push(...exactKeys(type, rule, values));
    else {
      const shape = similarShape(rule, values);
      if (shape) similar.push({ rule, shape });
    }
  }
  return { exact, similar };
}

/** A card's keys and the parts they are made of (see `cardKeys`). */
export type CardKeys = { keys: string[]; names: Record<string, string> } & ReturnType<typeof ruleParts>;

/**
 * The keys made of each values object, under which rules: a card's keys are computed once per
 * version of it (its values are a new object whenever they change), whether its save stores them,
 * the refresh after the commit claims and looks them up, or its candidates are compared with it.
 */
const computed = new WeakMap<CardValues, { fingerprint: string; keys: CardKeys }>();
let computations = 0;

/** How many times this process has made a card's keys from its values (each version of a card once: what benchmarks and tests count). */
export const keysComputed = (): number => computations;

/** What a card is stored under: every exact key, and for similar rules the name and all its trigrams (with the parts they are made of). */
export function cardKeys(type: CardTypeDefinition, rules: TypeRules, values: CardValues): CardKeys {
  const known = computed.get(values);
  if (known?.fingerprint === rules.fingerprint) return known.keys;
  computations += 1;
  const { exact, similar } = ruleParts(type, rules, values);
  const keys = new Set(exact);
  const names: Record<string, string> = {};
  for (const { rule, shape } of similar) {
    names[rule.id] = shape.text;
    keys.add(nameKey(rule, shape));
    for (const trigram of shape.trigrams) keys.add(trigramKey(rule, shape, trigram));
  }
  const made = { keys: [...keys], names, exact, similar };
  computed.set(values, { fingerprint: rules.fingerprint, keys: made });
  return made;
}

/**
 * `cards`: a value held by more cards than this (of one type, by an exact rule) is a common one — a
 * business centre's switchboard, a holding's shared number or mailbox —, not a sign of duplicates:
 * it joins no cards (a scan lists the type's common values instead).
 */
export const commonValueLimits = { cards: 20 };

/**
 * How many cards of the type hold each of these keys, counted up to `upTo` (`keyHolders`).
 */
export async function holderCounts(typeKey: string, keys: string[], upTo: number, session?: ClientSession): Promise<Map<string, number>> {
  return (await keyHolders(typeKey, keys, upTo, { keys: 1 }, session)).counts;
}

/** Key documents read: every holder of `keys`. */
export interface KnownHolders<T = DuplicateKeyDoc> {
  keys: ReadonlySet<string>;
  docs: T[];
}

/**
 * Per type, the keys this process last counted at the `upTo` asked or more (a business centre's
 * switchboard, a holding's mailbox): `keyHolders` counts them from the index, up to `upTo`, instead
 * of reading every card holding them — a phone 300 cards share was read whole for each batch of an
 * import that met it, and such rows cost 4.5× the others (s15 R3). Only where the counting goes
 * depends on it, never a count; a key counted below `upTo` again is dropped. At most
 * MANY_HELD_KEPT keys a type (then it starts over).
 */
const manyHeld = new Map<string, Set<string>>();
const MANY_HELD_KEPT = 100_000;

/**
 * How many cards of the type hold each of these keys, counted up to `upTo`, with the key documents
 * read (`projection` of them): one query for the keys not known to be held by many (it reads at
 * most `upTo` holders of each), and a count from the index for those that are and, when the query
 * met its bound, for the keys it left uncounted. `holders`: every holder of the keys it names, when
 * the query read them all, else null.
 */
export async function keyHolders<T extends Pick<DuplicateKeyDoc, 'keys'>>(
  typeKey: string,
  keys: string[],
  upTo: number,
  projection: Record<string, 1> | null,
  session?: ClientSession,
): Promise<{ counts: Map<string, number>; holders: KnownHolders<T> | null }> {
  const wanted = [...new Set(keys)];
  const counts = new Map<string, number>(wanted.map((key) => [key, 0]));
  const many = manyHeld.get(typeKey) ?? new Set<string>();
  const read = wanted.filter((key) => !many.has(key));
  const counted = (key: string) => DuplicateKey.countDocuments({ keys: key, typeKey }, { session }).limit(upTo);
  const docs =
    read.length === 0
      ? []
      : await DuplicateKey.find({ keys: { $in: read }, typeKey }, projection, { session })
          .limit(upTo * read.length)
          .lean<T[]>();
  const readKeys = new Set(read);
  for (const doc of docs) for (const key of doc.keys) if (readKeys.has(key)) counts.set(key, Math.min(upTo, counts.get(key)! + 1));
  const complete = read.length === 0 || docs.length < upTo * read.length;
  for (const key of wanted) if (many.has(key) || (!complete && counts.get(key)! < upTo)) counts.set(key, await counted(key));
  if (many.size > MANY_HELD_KEPT) many.clear();
  for (const [key, count] of counts) {
    if (count >= upTo) many.add(key);
    else many.delete(key);
  }
  if (many.size > 0) manyHeld.set(typeKey, many);
  return { counts, holders: complete ? { keys: readKeys, docs } : null };
}

/** Of these exact keys, those held by more than `commonValueLimits.cards` cards of the type: common values. */
export async function commonKeysAmong(typeKey: string, keys: string[], session?: ClientSession): Promise<Set<string>> {
  const counts = await holderCounts(typeKey, keys, commonValueLimits.cards + 1, session);
  return new Set([...counts].filter(([, count]) => count > commonValueLimits.cards).map(([key]) => key));
}

/** FNV-1a of a text: a fixed, evenly spread order of trigrams and buckets of keys (no security meaning). */
export function spread(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/**
 * The keys a refresh of a card claims: its exact keys, and per similar rule its name and the first
 * trigrams in a fixed order (not the trigram counts, which may differ between instances and
 * scans). Two cards alike by a rule always share one of them: exact keys are equal, and names of
 * similarity ≥ t share a trigram among both their prefixes (prefix filtering).
 */
export function claimKeys(type: CardTypeDefinition, rules: TypeRules, values: CardValues): string[] {
  const { exact, similar } = cardKeys(type, rules, values);
  const keys = new Set(exact);
  for (const { rule, shape } of similar) {
    keys.add(nameKey(rule, shape));
    for (const trigram of prefixTrigrams(shape, rules.threshold, spread)) keys.add(trigramKey(rule, shape, trigram));
  }
  return [...keys];
}

export interface KeyedCard {
  _id: Types.ObjectId;
  typeKey: string;
  folderId: Types.ObjectId;
  libraryId: Types.ObjectId;
  inTrash: boolean;
  values: CardValues;
  version?: number;
}

/** The write that keeps a card's keys current: stored while it is outside the trash and its type has rules, else removed. */
function keyWrite(type: CardTypeDefinition, rules: TypeRules | null, card: KeyedCard) {
  const { keys, names } = rules && !card.inTrash ? cardKeys(type, rules, card.values) : { keys: [], names: {} };
  if (keys.length === 0) return { deleteOne: { filter: { _id: card._id } } };
  const replacement = { _id: card._id, typeKey: card.typeKey, folderId: card.folderId, libraryId: card.libraryId, keys, names };
  return { replaceOne: { filter: { _id: card._id }, replacement, upsert: true } };
}

/** Keeps a card's keys current (inside its transaction). */
export async function storeCardKeys(type: CardTypeDefinition, rules: TypeRules | null, card: KeyedCard, session?: ClientSession): Promise<void> {
  await storeKeysOfCards([{ type, rules, card }], session);
}

/** Keeps the keys of many cards current in one write (a batch of an import, inside its transaction). */
export async function storeKeysOfCards(cards: { type: CardTypeDefinition; rules: TypeRules | null; card: KeyedCard }[], session?: ClientSession): Promise<void> {
  if (cards.length === 0) return;
  // The driver's own bulk write: the documents are complete as built here (no casting per card).
  await DuplicateKey.collection.bulkWrite(
    cards.map(({ type, rules, card }) => keyWrite(type, rules, card)),
    { session, ordered: false },
  );
}

// ---------- trigram frequencies (the order blocking takes trigrams in) ----------

const FREQUENCY_CACHE_MS = 60_000;
const frequencies = new Map<string, { at: number; counts: Promise<Map<string, number>> }>();

/**
 * How often each trigram of a rule occurred at the last scan. Only the speed of a look-up depends
 * on it: any order finds every match, since cards are stored under all their trigrams.
 */
function trigramCounts(typeKey: string, ruleId: string): Promise<Map<string, number>> {
  const id = `${typeKey}/${ruleId}`;
  const known = frequencies.get(id);
  if (known && Date.now() - known.at < FREQUENCY_CACHE_MS) return known.counts;
  const counts = DuplicateSettings.findById(typeKey, { [`trigramCounts.${ruleId}`]: 1 })
    .lean<{ trigramCounts?: Record<string, [string, number][]> }>()
    .then((doc) => new Map(doc?.trigramCounts?.[ruleId] ?? []));
  frequencies.set(id, { at: Date.now(), counts });
  counts.catch(() => frequencies.delete(id));
  return counts;
}

export function forgetTrigramCounts(): void {
  frequencies.clear();
}

/**
 * Keys to look a card with these values up by: its exact keys (but the `common` ones, which join no
 * cards), and per similar rule its name and rarest trigrams.
 */
export async function lookupKeys(type: CardTypeDefinition, rules: TypeRules, values: CardValues, common: ReadonlySet<string> = new Set()): Promise<string[]> {
  const { exact, similar } = cardKeys(type, rules, values);
  const keys = new Set(exact.filter((key) => !common.has(key)));
  for (const { rule, shape } of similar) {
    keys.add(nameKey(rule, shape));
    const counts = await trigramCounts(rules.typeKey, rule.id);
    for (const trigram of prefixTrigrams(shape, rules.threshold, (x) => counts.get(x) ?? 0)) keys.add(trigramKey(rule, shape, trigram));
  }
  return [...keys];
}

/** A card found alike: the best score and every rule that matched (with its score). */
export interface Likeness {
  score: number;
  rules: { id: string; score: number }[];
}

/**
 * How a stored candidate compares with these values under the rules: null when no rule reaches
 * its bar (exact: same key, not a `common` one; similar: similarity at least the threshold).
 */
export function likeness(
  type: CardTypeDefinition,
  rules: TypeRules,
  values: CardValues,
  candidate: Pick<DuplicateKeyDoc, 'keys' | 'names'>,
  common: ReadonlySet<string> = new Set(),
): Likeness | null {
  const stored = new Set(candidate.keys);
  const { exact, similar } = cardKeys(type, rules, values);
  const matched: { id: string; score: number }[] = [];
  for (const rule of rules.rules) {
    if (rule.mode === 'exact') {
      if (exact.some((key) => key.startsWith(`${rule.id}=`) && stored.has(key) && !common.has(key))) matched.push({ id: rule.id, score: 1 });
      continue;
    }
    const shape = similar.find((part) => part.rule.id === rule.id)?.shape;
    const other = candidate.names[rule.id];
    if (!shape || other === undefined) continue;
    const score = nameSimilarity(shape, shapeOfNormalized(other));
    if (score >= rules.threshold) matched.push({ id: rule.id, score });
  }
  if (matched.length === 0) return null;
  return { score: Math.max(...matched.map((m) => m.score)), rules: matched };
}
