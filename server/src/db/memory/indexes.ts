/** Index definitions: key tuples of documents for B-tree indexes, stems for the text index. */
import { Query } from 'mingo/query';
import { badValue, CommandError } from './errors';
import { compareValues } from './bson-order';
import { cutLength, decimalAsDouble, decimalParts, encodeValue, KeyWriter, MAX_TUPLE_BYTES, u32 } from './keys';
import { documentStems, documentText, parseSearch, valuesAtPath } from './text';
import { MINGO_OPTIONS } from './operators';

export type Doc = Record<string, unknown>;
export type IndexSpec = Doc & { key: Doc; name: string };

function isPlainObject(value: unknown): value is Doc {
  return value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
}

/** MongoDB's default index name: `a_1_b_-1`, `title_text`. */
export function defaultIndexName(key: Doc): string {
  return Object.entries(key)
    .map(([field, dir]) => `${field}_${String(dir)}`)
    .join('_');
}

function shellValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  const bsonType = (value as { _bsontype?: string })._bsontype;
  if (bsonType === 'ObjectId') return `ObjectId('${(value as { toHexString(): string }).toHexString()}')`;
  if (Array.isArray(value)) return `[ ${value.map(shellValue).join(', ')} ]`;
  if (isPlainObject(value))
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${shellValue(v)}`)
      .join(', ')} }`;
  return String(value);
}

export function duplicateKeyError(ns: string, index: { name: string; spec: IndexSpec }, keyValue: Doc): CommandError {
  const keyPattern = index.spec.key;
  const dupKey = Object.entries(keyValue)
    .map(([k, v]) => `${k}: ${shellValue(v)}`)
    .join(', ');
  return new CommandError(11000, 'DuplicateKey', `E11000 duplicate key error collection: ${ns} index: ${index.name} dup key: { ${dupKey} }`, { keyPattern, keyValue });
}

const isDecimal = (value: unknown) => (value as { _bsontype?: string } | null)?._bsontype === 'Decimal128';

/**
 * Whether two values are one value for a unique index: as `compareValues` says, except that a
 * decimal equals another number only when exactly equal (Decimal128('0.1') is not the double 0.1).
 */
export function sameIndexValue(a: unknown, b: unknown): boolean {
  if (compareValues(a, b) !== 0) return false;
  if (!isDecimal(a) && !isDecimal(b)) return true;
  const exact = (value: unknown) => {
    if (!isDecimal(value)) return value;
    const parts = decimalParts(String(value));
    return decimalAsDouble(String(value)) ?? (parts ? `${parts.negative ? '-' : ''}${parts.digits}e${parts.exponent}` : String(value));
  };
  const x = exact(a);
  const y = exact(b);
  return typeof x === 'string' || typeof y === 'string' ? x === y : compareValues(x, y) === 0;
}

export interface IndexKey {
  /** Index id prefix + encoded key tuple (without the record id). */
  key: Buffer;
  tuple: unknown[];
  /** The key was shortened (a very long value): equal keys may hold different values. */
  inexact: boolean;
}

const keyWriter = new KeyWriter();
/** Marks a path that met an array on its way. */
const ARRAY = Symbol('array');

/** Appends an encoded key tuple, each component inverted for a descending field. */
export function encodeTuple(w: KeyWriter, tuple: readonly unknown[], directions: readonly number[]): void {
  for (let i = 0; i < tuple.length; i++) {
    const start = w.length;
    encodeValue(w, tuple[i]);
    if (directions[i] === -1) w.invert(start);
  }
}

/** A B-tree index: entries `id prefix | key tuple | record id` → record id in the index database. */
export class BTreeIndex {
  readonly fields: string[];
  readonly directions: number[];
  readonly unique: boolean;
  readonly sparse: boolean;
  readonly partial: Query | null;
  readonly prefix: Buffer;
  private readonly paths: string[][];

  constructor(
    readonly id: number,
    readonly spec: IndexSpec,
    public multikey: boolean,
    /** The multikey flag covers arrays met along a path (false: set by a version that saw only arrays at a path's end). */
    public pathsChecked = true,
  ) {
    this.fields = Object.keys(spec.key);
    this.paths = this.fields.map((field) => field.split('.'));
    this.directions = Object.values(spec.key).map((d) => (Number(d) < 0 ? -1 : 1));
    this.unique = spec.unique === true;
    this.sparse = spec.sparse === true;
    this.partial = isPlainObject(spec.partialFilterExpression) ? new Query(spec.partialFilterExpression, MINGO_OPTIONS) : null;
    this.prefix = u32(id);
  }

  get name(): string {
    return this.spec.name;
  }

  /** The key tuples of a document (empty when a sparse or partial index leaves it out), and whether a path held an array. */
  tuplesOf(doc: Doc): { tuples: unknown[][]; arrays: boolean } {
    if (this.partial && !this.partial.test(doc)) return { tuples: [], arrays: false };
    // Most documents hold no array on an indexed path: one tuple, read by walking the paths.
    const simple: unknown[] = [];
    let present = false;
    for (const path of this.paths) {
      let value: unknown = doc;
      for (let i = 0; i < path.length && value !== undefined; i++) {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          value = Array.isArray(value) ? ARRAY : undefined;
          break;
        }
        value = (value as Doc)[path[i]!];
      }
      if (value === ARRAY || Array.isArray(value)) return this.arrayTuples(doc);
      if (value !== undefined) present = true;
      simple.push(value ?? null);
    }
    if (this.sparse && !present) return { tuples: [], arrays: false };
    return { tuples: [simple], arrays: false };
  }

  /**
   * Key tuples when a path holds arrays: one per combination of elements (multikey). Called only when
   * an array was met along a path — at its end or on the way (`contacts.age` through an array of
   * subdocuments) — and either makes the index multikey: one document may have several keys.
   */
  private arrayTuples(doc: Doc): { tuples: unknown[][]; arrays: true } {
    const perField = this.fields.map((field) => {
      const values = valuesAtPath(doc, field).flatMap((v) => (Array.isArray(v) ? (v.length ? v : [undefined]) : [v]));
      return values.length > 0 ? values : [undefined];
    });
    if (this.sparse && perField.every((values) => values.length === 1 && values[0] === undefined)) return { tuples: [], arrays: true };
    let tuples: unknown[][] = [[]];
    for (const values of perField) tuples = values.length === 1 ? tuples.map((t) => [...t, values[0] ?? null]) : tuples.flatMap((t) => values.map((v) => [...t, v ?? null]));
    return { tuples, arrays: true };
  }

  /** Encoded keys of a document, duplicates removed. */
  keysOf(doc: Doc): { keys: IndexKey[]; arrays: boolean } {
    const { tuples, arrays } = this.tuplesOf(doc);
    const keys: IndexKey[] = [];
    const seen = tuples.length > 1 ? new Set<string>() : null;
    for (const tuple of tuples) {
      const encoded = this.encode(tuple);
      if (seen) {
        const text = encoded.key.toString('latin1');
        if (seen.has(text)) continue;
        seen.add(text);
      }
      keys.push(encoded);
    }
    return { keys, arrays };
  }

  encode(tuple: readonly unknown[]): IndexKey {
    keyWriter.reset();
    keyWriter.bytes(this.prefix);
    encodeTuple(keyWriter, tuple, this.directions);
    if (keyWriter.length > 4 + MAX_TUPLE_BYTES) {
      keyWriter.length = 4 + MAX_TUPLE_BYTES;
      keyWriter.inexact = true;
    }
    return { key: keyWriter.take(), tuple: [...tuple], inexact: keyWriter.inexact };
  }

  /**
   * The LMDB key of a document's entry. A unique index keeps one entry per key, so its exact keys
   * stand alone (a point lookup finds them); other entries end with the record id.
   */
  entryKey(ikey: IndexKey, idKey: Buffer): Buffer {
    return this.unique && !ikey.inexact ? ikey.key : Buffer.concat([ikey.key, idKey]);
  }

  /**
   * Where an entry's key stops telling values apart (a string or binary over 1 KB, or a tuple over
   * the key limit, was cut there), or 0: entries sharing those bytes are in no particular order.
   */
  cutLength(key: Buffer, idKeyLength: number): number {
    return cutLength(key, this.prefix.length, this.directions, idKeyLength);
  }

  keyValue(tuple: readonly unknown[]): Doc {
    return Object.fromEntries(this.fields.map((field, i) => [field, tuple[i]]));
  }
}

/** A text index: postings `id prefix | stem | record id` → weighted term frequency. */
export class TextIndex {
  readonly weights = new Map<string, number>();
  readonly unique = false;
  readonly multikey = false;
  readonly prefix: Buffer;

  constructor(
    readonly id: number,
    readonly spec: IndexSpec,
  ) {
    const declaredWeights = isPlainObject(spec.weights) ? spec.weights : {};
    for (const field of textFields(spec.key)) this.weights.set(field, Number(declaredWeights[field] ?? 1));
    for (const [field, weight] of Object.entries(declaredWeights)) this.weights.set(field, Number(weight));
    this.prefix = u32(id);
  }

  get name(): string {
    return this.spec.name;
  }

  /**
   * The listIndexes form MongoDB reports for text indexes: the text fields become `_fts`/`_ftsx`
   * between the plain fields before and after them, and the weights name them.
   */
  describe(): IndexSpec {
    const key: Doc = {};
    for (const [field, kind] of Object.entries(this.spec.key)) {
      if (kind !== 'text') key[field] = kind;
      else if (!('_fts' in key)) Object.assign(key, { _fts: 'text', _ftsx: 1 });
    }
    const { key: _declared, weights: _weights, v: _v, textIndexVersion: _version, ...rest } = this.spec;
    return {
      v: 2,
      key,
      ...rest,
      weights: Object.fromEntries(this.weights),
      default_language: this.spec.default_language ?? 'english',
      language_override: this.spec.language_override ?? 'language',
      textIndexVersion: 3,
    } as IndexSpec;
  }

  /** What makes two text indexes the same index, whichever form they were declared in (the name aside). */
  identity(): string {
    const { key, weights, default_language, language_override, partialFilterExpression, collation } = this.describe();
    const sorted = Object.entries(weights as Doc).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return JSON.stringify({ key, weights: sorted, default_language, language_override, partialFilterExpression, collation });
  }

  stemsOf(doc: Doc): Map<string, number> {
    return documentStems(doc, this.weights);
  }

  /** The posting-key prefix of one stem, or with `idKey` the key of one record's posting. */
  stemKey(stem: string, idKey?: Buffer): Buffer {
    keyWriter.reset();
    keyWriter.bytes(this.prefix);
    encodeValue(keyWriter, stem);
    if (idKey) keyWriter.bytes(idKey);
    return keyWriter.take();
  }

  /** Phrase and negation checks, and the score of a document not (yet) in the postings. */
  matcher(search: unknown): TextMatcher {
    const query = parseSearch(search);
    const accepts = (doc: Doc) => {
      if (query.phrases.length === 0 && query.negated.length === 0) return true;
      const text = documentText(doc, this.weights);
      if (!query.phrases.every((phrase) => text.includes(phrase))) return false;
      if (query.negated.length === 0) return true;
      const stems = documentStems(doc, this.weights);
      return !query.negated.some((stem) => stems.has(stem));
    };
    const scoreOf = (doc: Doc) => {
      const stems = documentStems(doc, this.weights);
      return query.terms.reduce((sum, term) => sum + (stems.get(term) ?? 0), 0);
    };
    return { terms: query.terms, empty: query.terms.length === 0 && query.phrases.length === 0, accepts, scoreOf };
  }
}

export interface TextMatcher {
  terms: string[];
  empty: boolean;
  accepts: (doc: Doc) => boolean;
  scoreOf: (doc: Doc) => number;
}

export type AnyIndex = BTreeIndex | TextIndex;

/** The fields a text index covers, from the key as declared (`{ title: 'text' }`) or as listIndexes reports it (`_fts`, fields in `weights`). */
function textFields(key: Doc): string[] {
  return Object.entries(key)
    .filter(([field, kind]) => kind === 'text' && field !== '_fts')
    .map(([field]) => field);
}

/**
 * A text index key in listIndexes' form, `{ a: 1, _fts: 'text', _ftsx: 1 }` with `weights`, as it is
 * declared: `{ a: 1, <each weighted field>: 'text' }` (how mongorestore and restores give it back).
 */
function declaredTextKey(key: Doc, weights: unknown): Doc {
  if (key._fts !== 'text') return key;
  const covered = isPlainObject(weights) ? Object.keys(weights) : [];
  if (covered.length === 0) throw new CommandError(67, 'CannotCreateIndex', 'a text index key given as { _fts: "text", _ftsx: 1 } needs weights naming its fields');
  const declared: Doc = {};
  for (const [field, kind] of Object.entries(key)) {
    if (field === '_fts') for (const name of covered) declared[name] = 'text';
    else if (field !== '_ftsx') declared[field] = kind;
  }
  return declared;
}

/** Validates a createIndexes spec and fills in MongoDB's defaults. */
export function normalizeIndexSpec(raw: unknown): IndexSpec {
  if (!isPlainObject(raw) || !isPlainObject(raw.key) || Object.keys(raw.key).length === 0) throw badValue('Index key pattern must be a non-empty object');
  for (const [field, kind] of Object.entries(raw.key)) {
    const ok = kind === 'text' || kind === '2dsphere' || kind === 'hashed' || (typeof kind === 'number' && kind !== 0);
    if (!ok)
      throw new CommandError(
        67,
        'CannotCreateIndex',
        `Error in specification { key: ${shellValue(raw.key)} } :: caused by :: Values in the index key pattern can only be positive numbers, negative numbers, or the strings 'text', '2dsphere' or 'hashed'; found ${field}: ${shellValue(kind)}`,
      );
  }
  const name = typeof raw.name === 'string' ? raw.name : defaultIndexName(raw.key);
  const { v: _v, textIndexVersion: _version, ...rest } = raw;
  return { v: 2, ...rest, key: declaredTextKey(raw.key, raw.weights), name } as IndexSpec;
}

export function createIndex(id: number, spec: IndexSpec, multikey: boolean, pathsChecked = true): AnyIndex {
  return Object.values(spec.key).includes('text') ? new TextIndex(id, spec) : new BTreeIndex(id, spec, multikey, pathsChecked);
}
