/** Secondary indexes: B+ trees of BSON-ordered key tuples, plus the text index. */
import SortedBTree from 'sorted-btree';
import { Query } from 'mingo';
import { compareTuples, compareValues, HIGH, keyString, LOW } from './bson-order';
import { badValue, CommandError } from './errors';
import { documentStems, documentText, parseSearch, valuesAtPath } from './text';

// sorted-btree is CommonJS with `exports.default`; Node's ESM loader hands over the exports object.
const BTree: typeof SortedBTree = (SortedBTree as unknown as { default?: typeof SortedBTree }).default ?? SortedBTree;

export type Doc = Record<string, unknown>;
export type IndexSpec = Doc & { key: Doc; name: string };

/** One scan bound on an index's leading field; LOW/HIGH for open ends. */
export interface Bounds {
  lo: unknown;
  hi: unknown;
}

function isPlainObject(value: unknown): value is Doc {
  return value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
}

/** MongoDB's default index name: `a_1_b_-1`, `title_text`. */
export function defaultIndexName(key: Doc): string {
  return Object.entries(key).map(([field, dir]) => `${field}_${String(dir)}`).join('_');
}

function shellValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  const bsonType = (value as { _bsontype?: string })._bsontype;
  if (bsonType === 'ObjectId') return `ObjectId('${(value as { toHexString(): string }).toHexString()}')`;
  if (Array.isArray(value)) return `[ ${value.map(shellValue).join(', ')} ]`;
  if (isPlainObject(value)) return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${shellValue(v)}`).join(', ')} }`;
  return String(value);
}

export function duplicateKeyError(ns: string, index: { name: string; spec: IndexSpec }, keyValue: Doc): CommandError {
  const keyPattern = index.spec.key;
  const dupKey = Object.entries(keyValue).map(([k, v]) => `${k}: ${shellValue(v)}`).join(', ');
  return new CommandError(11000, 'DuplicateKey', `E11000 duplicate key error collection: ${ns} index: ${index.name} dup key: { ${dupKey} }`, { keyPattern, keyValue });
}

export class BTreeIndex {
  readonly fields: string[];
  readonly directions: number[];
  readonly unique: boolean;
  readonly sparse: boolean;
  readonly partial: Query | null;
  multikey = false;
  private readonly tree: SortedBTree<unknown[], true>;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    this.directions = Object.values(spec.key).map((d) => (Number(d) < 0 ? -1 : 1));
    this.unique = spec.unique === true;
    this.sparse = spec.sparse === true;
    this.partial = isPlainObject(spec.partialFilterExpression) ? new Query(spec.partialFilterExpression, {}) : null;
    const directions = [...this.directions, 1];
    this.tree = new BTree<unknown[], true>(undefined, (a, b) => compareTuples(a, b, directions), 64);
  }

  get name(): string {
    return this.spec.name;
  }

  get size(): number {
    return this.tree.size;
  }

  /** The key tuples of a document; empty when a sparse or partial index leaves it out. */
  keysOf(doc: Doc): unknown[][] {
    if (this.partial && !this.partial.test(doc)) return [];
    const perField = this.fields.map((field) => {
      const values = valuesAtPath(doc, field).flatMap((v) => (Array.isArray(v) ? (v.length ? v : [undefined]) : [v]));
      return values.length > 0 ? values : [undefined];
    });
    if (this.sparse && perField.every((values) => values.length === 1 && values[0] === undefined)) return [];
    let tuples: unknown[][] = [[]];
    for (const values of perField) tuples = tuples.flatMap((t) => values.map((v) => [...t, v === undefined ? null : v]));
    if (tuples.length > 1) {
      const seen = new Set<string>();
      tuples = tuples.filter((t) => {
        const k = keyString(t);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    }
    return tuples;
  }

  add(doc: Doc, rid: string): void {
    const keys = this.keysOf(doc);
    if (keys.length > 1) this.multikey = true;
    for (const key of keys) this.tree.set([...key, rid], true);
  }

  remove(doc: Doc, rid: string): void {
    for (const key of this.keysOf(doc)) this.tree.delete([...key, rid]);
  }

  clear(): void {
    this.tree.clear();
  }

  /** Record ids whose key equals `key` exactly (for unique checks). */
  ridsWithKey(key: unknown[]): string[] {
    const rids: string[] = [];
    for (const [entry] of this.tree.entries([...key, LOW])) {
      if (compareTuples(entry.slice(0, key.length), key, this.directions) !== 0) break;
      rids.push(entry[key.length] as string);
    }
    return rids;
  }

  keyValue(key: unknown[]): Doc {
    return Object.fromEntries(this.fields.map((field, i) => [field, key[i]]));
  }

  /** Record ids whose leading value lies in [lo, hi], in ascending (or descending) value order. */
  *scan(bounds: Bounds, descending: boolean): Generator<string> {
    const forward = descending === (this.directions[0] === -1);
    const ascendingTree = this.directions[0] === 1;
    const startValue = forward === ascendingTree ? bounds.lo : bounds.hi;
    const entries = forward ? this.tree.entries([startValue, LOW]) : this.tree.entriesReversed([startValue, HIGH]);
    const seen = this.multikey ? new Set<string>() : null;
    for (const [entry] of entries) {
      const value = entry[0];
      if (bounds.lo !== LOW && compareValues(value, bounds.lo) < 0) break;
      if (bounds.hi !== HIGH && compareValues(value, bounds.hi) > 0) break;
      const rid = entry[entry.length - 1] as string;
      if (seen) {
        if (seen.has(rid)) continue;
        seen.add(rid);
      }
      yield rid;
    }
  }

  /**
   * Record ids whose first fields equal `prefix`, in key order of the remaining fields (or
   * reversed): an equality prefix followed by a sort on the next fields, read straight off the tree.
   */
  *prefixScan(prefix: readonly unknown[], reversed: boolean): Generator<string> {
    const entries = reversed ? this.tree.entriesReversed([...prefix, HIGH]) : this.tree.entries([...prefix, LOW]);
    const seen = this.multikey ? new Set<string>() : null;
    for (const [entry] of entries) {
      if (compareTuples(entry.slice(0, prefix.length), prefix, this.directions) !== 0) break;
      const rid = entry[entry.length - 1] as string;
      if (seen) {
        if (seen.has(rid)) continue;
        seen.add(rid);
      }
      yield rid;
    }
  }

  /** All record ids in key order (ascending by the index's own directions, or reversed). */
  *all(reversed: boolean): Generator<string> {
    const seen = this.multikey ? new Set<string>() : null;
    for (const [entry] of reversed ? this.tree.entriesReversed() : this.tree.entries()) {
      const rid = entry[entry.length - 1] as string;
      if (seen) {
        if (seen.has(rid)) continue;
        seen.add(rid);
      }
      yield rid;
    }
  }
}

/** A text index: stem → (record id → weighted term frequency). */
export class TextIndex {
  readonly weights = new Map<string, number>();
  private readonly postings = new Map<string, Map<string, number>>();
  readonly unique = false;

  constructor(readonly spec: IndexSpec) {
    const declaredWeights = isPlainObject(spec.weights) ? spec.weights : {};
    for (const [field, kind] of Object.entries(spec.key)) {
      if (kind === 'text') this.weights.set(field, Number(declaredWeights[field] ?? 1));
    }
    for (const [field, weight] of Object.entries(declaredWeights)) this.weights.set(field, Number(weight));
  }

  get name(): string {
    return this.spec.name;
  }

  /** The listIndexes form MongoDB reports for text indexes. */
  describe(): IndexSpec {
    const key: Doc = {};
    for (const [field, kind] of Object.entries(this.spec.key)) if (kind !== 'text') key[field] = kind;
    const { key: _declared, weights: _weights, ...rest } = this.spec;
    return {
      v: 2,
      key: { _fts: 'text', _ftsx: 1, ...key },
      ...rest,
      weights: Object.fromEntries(this.weights),
      default_language: this.spec.default_language ?? 'english',
      language_override: this.spec.language_override ?? 'language',
      textIndexVersion: 3,
    } as IndexSpec;
  }

  add(doc: Doc, rid: string): void {
    for (const [stem, score] of documentStems(doc, this.weights)) {
      let posting = this.postings.get(stem);
      if (!posting) this.postings.set(stem, (posting = new Map()));
      posting.set(rid, score);
    }
  }

  remove(doc: Doc, rid: string): void {
    for (const stem of documentStems(doc, this.weights).keys()) {
      const posting = this.postings.get(stem);
      posting?.delete(rid);
      if (posting?.size === 0) this.postings.delete(stem);
    }
  }

  clear(): void {
    this.postings.clear();
  }

  /** Scores of the indexed records matching `$search` (before phrase/negation checks). */
  search(search: unknown): { scores: Map<string, number>; accepts: (doc: Doc) => boolean; scoreOf: (doc: Doc) => number } {
    const query = parseSearch(search);
    if (query.terms.length === 0 && query.phrases.length === 0) return { scores: new Map(), accepts: () => false, scoreOf: () => 0 };
    const scores = new Map<string, number>();
    for (const term of query.terms) {
      for (const [rid, score] of this.postings.get(term) ?? []) scores.set(rid, (scores.get(rid) ?? 0) + score);
    }
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
    return { scores, accepts, scoreOf };
  }
}

export type AnyIndex = BTreeIndex | TextIndex;

/** Validates a createIndexes spec and fills in MongoDB's defaults. */
export function normalizeIndexSpec(raw: unknown): IndexSpec {
  if (!isPlainObject(raw) || !isPlainObject(raw.key) || Object.keys(raw.key).length === 0) throw badValue('Index key pattern must be a non-empty object');
  for (const [field, kind] of Object.entries(raw.key)) {
    const ok = kind === 'text' || kind === '2dsphere' || kind === 'hashed' || (typeof kind === 'number' && kind !== 0);
    if (!ok) throw new CommandError(67, 'CannotCreateIndex', `Error in specification { key: ${shellValue(raw.key)} } :: caused by :: Values in the index key pattern can only be positive numbers, negative numbers, or the strings 'text', '2dsphere' or 'hashed'; found ${field}: ${shellValue(kind)}`);
  }
  const name = typeof raw.name === 'string' ? raw.name : defaultIndexName(raw.key);
  const { v: _v, ...rest } = raw;
  return { v: 2, ...rest, key: raw.key, name } as IndexSpec;
}

export function createIndex(spec: IndexSpec): AnyIndex {
  return Object.values(spec.key).includes('text') ? new TextIndex(spec) : new BTreeIndex(spec);
}
