/** Insert, update, delete and findAndModify on committed state or inside a transaction. */
import { update as applyModifier } from 'mingo/updater';
import { Aggregator } from 'mingo/aggregator';
import { calculateObjectSize } from 'bson';
import { keyString } from './bson-order';
import { asCommandError, CommandError, documentTooLarge, failedToParse, nestingTooDeep } from './errors';
import type { Doc } from './indexes';
import { describeValue } from './arithmetic';
import { applyArithmetic, applySimpleModifier, ARITHMETIC_OPERATORS, checkOperand, type ArithmeticOperator } from './modifiers';
import { deepClone, isPlainObject, selectDocs, type SortSpec } from './query';
import { recordKey, withId, type Collection, type ReadView, type Store, type Transaction } from './store';
import { receivedBytes } from './wire';
import { MINGO_OPTIONS } from './operators';

export const MAX_BSON_SIZE = 16 * 1024 * 1024;
const MAX_DEPTH = 100;

/** Where a write goes: a transaction's write set, or (outside one) the current LMDB write transaction. */
export interface WriteContext {
  store: Store;
  txn?: Transaction;
}

function viewOf(ctx: WriteContext): ReadView {
  return ctx.txn ? ctx.txn.view : { store: ctx.store };
}

const UPDATE_OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$rename',
  '$min',
  '$max',
  '$currentDate',
  '$push',
  '$addToSet',
  '$pop',
  '$pull',
  '$pullAll',
  '$bit',
  '$setOnInsert',
]);

function depthOf(value: unknown, depth: number): number {
  if (depth > MAX_DEPTH) return depth;
  if (Array.isArray(value)) return value.reduce<number>((max, item) => Math.max(max, depthOf(item, depth + 1)), depth);
  if (isPlainObject(value)) return Object.values(value).reduce<number>((max, item) => Math.max(max, depthOf(item, depth + 1)), depth);
  return depth - 1;
}

/** Rejects documents MongoDB would not store: over 16 MiB or nested deeper than 100 levels. */
export function checkStorable(doc: Doc, afterUpdate: boolean, size = calculateObjectSize(doc)): void {
  if (size > MAX_BSON_SIZE) {
    if (afterUpdate) throw new CommandError(17419, 'Location17419', `Resulting document after update is larger than ${MAX_BSON_SIZE}`);
    throw documentTooLarge(size);
  }
  if (depthOf(doc, 1) > MAX_DEPTH) throw nestingTooDeep();
}

function current(ctx: WriteContext, collection: Collection, idKey: Buffer): Doc | undefined {
  return ctx.txn ? ctx.txn.get(collection, idKey) : ctx.store.getDoc(collection, idKey);
}

/** Stores a new version of a record, enforcing unique indexes and transaction ownership. */
function writeRecord(ctx: WriteContext, collection: Collection, idKey: Buffer, doc: Doc, old: Doc | undefined, bytes?: Buffer): void {
  if (ctx.txn) return ctx.txn.write(collection, idKey, doc, old, bytes);
  ctx.store.checkUnlocked(collection, idKey, doc, old);
  ctx.store.putRecord(collection, idKey, doc, old, undefined, bytes);
}

function removeRecord(ctx: WriteContext, collection: Collection, idKey: Buffer, old: Doc): void {
  if (ctx.txn) return ctx.txn.write(collection, idKey, null, old);
  ctx.store.checkUnlocked(collection, idKey, null, old);
  ctx.store.deleteRecord(collection, idKey, old);
}

export function insertDocument(ctx: WriteContext, collection: Collection, input: Doc): Doc {
  // The input is the command's own freshly decoded document: stored as it is, not copied. When
  // it came with its `_id` first, its bytes are stored as they arrived (no encoding again).
  const doc = withId(input);
  const bytes = doc === input ? receivedBytes(input) : undefined;
  checkStorable(doc, false, bytes?.length);
  if (Array.isArray(doc._id) || doc._id instanceof RegExp || (doc._id as { _bsontype?: string } | null)?._bsontype === 'BSONRegExp')
    throw new CommandError(2, 'BadValue', `can't use an array for _id`);
  if (doc._id === undefined) throw new CommandError(2, 'BadValue', "can't use undefined for _id");
  const idKey = recordKey(doc);
  if (current(ctx, collection, idKey)) {
    throw new CommandError(11000, 'DuplicateKey', `E11000 duplicate key error collection: ${collection.ns} index: _id_ dup key: { _id: ${describeId(doc._id)} }`, {
      keyPattern: { _id: 1 },
      keyValue: { _id: doc._id },
    });
  }
  writeRecord(ctx, collection, idKey, doc, undefined, bytes);
  return doc;
}

function describeId(id: unknown): string {
  if (typeof id === 'string') return JSON.stringify(id);
  if ((id as { _bsontype?: string })?._bsontype === 'ObjectId') return `ObjectId('${String(id)}')`;
  return String(id);
}

export type UpdateSpec = Doc | Doc[];

function isOperatorUpdate(update: Doc): boolean {
  const keys = Object.keys(update);
  const operators = keys.filter((key) => key.startsWith('$'));
  if (operators.length > 0 && operators.length !== keys.length) {
    throw failedToParse(`Unknown modifier: ${keys.find((key) => !key.startsWith('$'))}. Expected a valid update modifier or pipeline-style update specified as an array`);
  }
  for (const op of operators) {
    if (!UPDATE_OPERATORS.has(op)) throw failedToParse(`Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
    if (!isPlainObject(update[op]))
      throw failedToParse(
        `Modifiers operate on fields but we found type ${Array.isArray(update[op]) ? 'array' : typeof update[op]} instead. For example: {$mod: {<field>: ...}} not {$set: ...}`,
      );
  }
  return operators.length > 0;
}

/** The new version of `doc` under `update`; `inserting` applies `$setOnInsert`. */
export function applyUpdate(doc: Doc, update: UpdateSpec, filter: Doc, arrayFilters: Doc[] | undefined, inserting: boolean): Doc {
  let next: Doc;
  try {
    if (Array.isArray(update)) {
      next = runPipelineUpdate(doc, update);
    } else if (!isOperatorUpdate(update)) {
      // A replacement's `_id` must equal the document's (a number of another type is equal, and is stored as given).
      const { _id: _ignored, ...replacement } = deepClone(update);
      const id = update._id !== undefined ? update._id : doc._id;
      next = id === undefined ? { ...replacement } : { _id: id, ...replacement };
    } else {
      next = deepClone(doc);
      const { $setOnInsert, ...modifier } = update;
      if (inserting && isPlainObject($setOnInsert)) modifier.$set = { ...(modifier.$set as Doc | undefined), ...$setOnInsert };
      guardId(doc, modifier);
      for (const key of Object.keys(modifier)) if (isPlainObject(modifier[key]) && Object.keys(modifier[key]).length === 0) delete modifier[key];
      if (inserting) refusePositional(modifier);
      refuseUnviablePaths(next, modifier);
      // mingo applies an update only to a document matching its condition: an upsert's new
      // document need not match the filter it came from (a `$or` of several branches, say).
      if (Object.keys(modifier).length > 0 && (arrayFilters?.length || !applySimpleModifier(next, modifier)))
        next = applyMingoModifier(next, modifier, arrayFilters, inserting ? undefined : filter);
    }
  } catch (error) {
    throw asCommandError(error);
  }
  if (doc._id !== undefined && next._id === undefined)
    throw new CommandError(66, 'ImmutableField', "After applying the update, the '_id' (required and immutable) field was found to have been removed");
  if (doc._id !== undefined && keyString(next._id) !== keyString(doc._id)) {
    throw new CommandError(66, 'ImmutableField', `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${describeValue(next._id)}`);
  }
  return next;
}

/** Marks, in a `$set` given to mingo, a place where an arithmetic operator's result goes. */
const SLOT = '\u0000arithmetic-slot';

/**
 * mingo applies what the direct path cannot (positions, array filters, other operators). It
 * does no arithmetic here: each field an arithmetic operator names is given to mingo as a `$set`
 * of a marker, so mingo's walk (positional `$`, `$[]`, `$[id]` with array filters) puts markers
 * where the operator applies; each marker is then replaced by the operator's result on the value
 * the document held there (`applyArithmetic`, with MongoDB's types and errors).
 */
function applyMingoModifier(doc: Doc, modifier: Doc, arrayFilters: Doc[] | undefined, condition: Doc | undefined): Doc {
  const slots: { op: ArithmeticOperator; operand: unknown }[] = [];
  const given: Doc = {};
  for (const [op, fields] of Object.entries(modifier)) {
    if (!(ARITHMETIC_OPERATORS as readonly string[]).includes(op) || !isPlainObject(fields)) {
      given[op] = op === '$set' && isPlainObject(fields) ? { ...fields, ...(given.$set as Doc | undefined) } : fields;
      continue;
    }
    for (const [field, operand] of Object.entries(fields)) {
      checkOperand(op as ArithmeticOperator, field, operand);
      const set = (given.$set ??= {}) as Doc;
      if (field in set || (isPlainObject(modifier.$set) && field in modifier.$set)) throw conflictingPaths(field, field);
      set[field] = { [SLOT]: slots.length };
      slots.push({ op: op as ArithmeticOperator, operand });
    }
  }
  const original = slots.length > 0 ? deepClone(doc) : doc;
  // With the server's query operators: array filters and `$pull` conditions compare as MongoDB does (a `Double` 4 is 4).
  applyModifier(doc, given, arrayFilters, condition, { queryOptions: MINGO_OPTIONS });
  if (slots.length > 0) fillSlots(doc, original, doc, slots);
  return doc;
}

/** Replaces each marker below `node` (whose counterpart in the document before the update is `before`) by its operator's result. */
function fillSlots(node: Doc | unknown[], before: unknown, doc: Doc, slots: { op: ArithmeticOperator; operand: unknown }[]): void {
  const keys = Array.isArray(node) ? node.keys() : Object.keys(node);
  for (const key of keys) {
    const value = (node as Doc)[key];
    const previous = before !== null && typeof before === 'object' ? (before as Doc)[key] : undefined;
    if (isPlainObject(value) && typeof value[SLOT] === 'number') {
      const { op, operand } = slots[value[SLOT]]!;
      (node as Doc)[key] = applyArithmetic(op, previous, operand, doc, String(key));
    } else if (Array.isArray(value) || isPlainObject(value)) fillSlots(value, previous, doc, slots);
  }
}

function conflictingPaths(path: string, conflict: string): CommandError {
  return new CommandError(40, 'ConflictingUpdateOperators', `Updating the path '${path}' would create a conflict at '${conflict}'`);
}

const PIPELINE_UPDATE_STAGES = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);

/** A pipeline-style update: its stages run on the document; `_id`, if a stage dropped it, is kept. */
function runPipelineUpdate(doc: Doc, pipeline: Doc[]): Doc {
  for (const stage of pipeline) {
    const name = isPlainObject(stage) ? Object.keys(stage)[0] : undefined;
    if (!name || Object.keys(stage).length !== 1 || !PIPELINE_UPDATE_STAGES.has(name)) {
      throw new CommandError(72, 'InvalidOptions', `${name ?? 'A stage'} is not allowed to be used within an update`);
    }
  }
  // The stages compute with the server's typed arithmetic (operators.ts): fields they keep keep their stored types.
  const result = new Aggregator(pipeline, MINGO_OPTIONS).run([deepClone(doc)])[0] as Doc | undefined;
  if (!result) return doc;
  if (result._id === undefined && doc._id !== undefined) return { _id: doc._id, ...result };
  if (Object.keys(result)[0] !== '_id' && result._id !== undefined) {
    const { _id, ...rest } = result;
    return { _id, ...rest };
  }
  return result;
}

/** The operators that leave a document as it is when their path cannot be followed. */
const ONLY_EXISTING = new Set(['$unset', '$pull', '$pullAll', '$pop', '$rename']);

/**
 * A field cannot be created inside a value that is not a document (`{x: 5}` and `$set: {'x.b': 1}`,
 * or a named field of an array): refused with PathNotViable (28), as MongoDB does, instead of the
 * write being dropped. Paths with positional parts are left to mingo's walk.
 */
function refuseUnviablePaths(doc: Doc, modifier: Doc): void {
  for (const [op, fields] of Object.entries(modifier)) {
    if (ONLY_EXISTING.has(op) || !isPlainObject(fields)) continue;
    for (const field of Object.keys(fields)) {
      if (!field.includes('.')) continue; // a top-level field can always be created
      const parts = field.split('.');
      if (parts.some((part) => part.startsWith('$'))) continue;
      let node: unknown = doc;
      for (let i = 0; i < parts.length - 1; i++) {
        const value: unknown = Array.isArray(node) ? (/^\d+$/.test(parts[i]!) ? node[Number(parts[i])] : null) : (node as Doc)[parts[i]!];
        if (value === undefined) break;
        if (isPlainObject(value) || (Array.isArray(value) && /^\d+$/.test(parts[i + 1]!))) {
          node = value;
          continue;
        }
        throw new CommandError(28, 'PathNotViable', `Cannot create field '${parts[i + 1]}' in element {${parts[i]}: ${describeValue(value)}}`);
      }
    }
  }
}

/** An upsert's new document has no array element the query matched for `$` to name. */
function refusePositional(modifier: Doc): void {
  for (const fields of Object.values(modifier)) {
    if (!isPlainObject(fields)) continue;
    if (Object.keys(fields).some((field) => field.split('.').includes('$')))
      throw new CommandError(2, 'BadValue', 'The positional operator did not find the match needed from the query.');
  }
}

/**
 * An update operator may leave `_id` only as it is: `$set` to the very same value (of the same
 * BSON type: MongoDB compares the bytes, so 1 → 1.0 is refused); any other operator on `_id`
 * is refused. mingo would happily change it.
 */
function guardId(doc: Doc, modifier: Doc): void {
  if (doc._id === undefined) return;
  for (const [op, fields] of Object.entries(modifier)) {
    if (!isPlainObject(fields)) continue;
    for (const field of Object.keys(fields)) {
      if (field !== '_id' && !field.startsWith('_id.')) continue;
      if (op !== '$set') throw new CommandError(66, 'ImmutableField', `Performing an update on the path '${field}' would modify the immutable field '_id'`);
      const path = field.split('.');
      let current: unknown = doc;
      for (const part of path) current = isPlainObject(current) ? current[part] : undefined;
      if (keyString(fields[field], true) !== keyString(current, true)) {
        throw new CommandError(
          66,
          'ImmutableField',
          `Updating the path '${field}' to ${path[path.length - 1]}: ${describeValue(fields[field])} would modify the immutable field '_id'`,
        );
      }
      delete fields[field];
    }
  }
}

/**
 * The document an upsert starts from: the filter's equality conditions (top level, in `$and`, and
 * in a `$or` of one branch, which MongoDB reads as that branch; a one-value `$in` is an equality).
 */
function upsertSeed(filter: Doc): Doc {
  const seed: Doc = {};
  const visit = (clause: Doc) => {
    for (const [field, value] of Object.entries(clause)) {
      if ((field === '$and' || field === '$or') && Array.isArray(value)) {
        if (field === '$and' || value.length === 1) for (const part of value) if (isPlainObject(part)) visit(part);
        continue;
      }
      if (field.startsWith('$')) continue;
      let literal: unknown;
      if (isPlainObject(value)) {
        const keys = Object.keys(value);
        if (keys.some((key) => key.startsWith('$'))) {
          if (keys.length === 1 && '$eq' in value) literal = value.$eq;
          else if (keys.length === 1 && Array.isArray(value.$in) && value.$in.length === 1 && !(value.$in[0] instanceof RegExp)) literal = value.$in[0];
          else continue;
        } else literal = value;
      } else literal = value;
      setPath(seed, field, deepClone(literal));
    }
  };
  visit(filter);
  return seed;
}

function setPath(target: Doc, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Doc;
  }
  node[parts[parts.length - 1]!] = value;
}

export interface UpdateOutcome {
  matched: number;
  modified: number;
  upsertedId?: unknown;
  /** Documents before and after, for findAndModify. */
  before?: Doc;
  after?: Doc;
}

export interface UpdateRequest {
  filter: Doc;
  update: UpdateSpec;
  multi: boolean;
  upsert: boolean;
  arrayFilters?: Doc[];
  sort?: SortSpec;
  /** The statement's `hint`: the index to find the documents by (query.ts, `resolveHint`). */
  hint?: unknown;
}

export function updateDocuments(ctx: WriteContext, collection: Collection, request: UpdateRequest): UpdateOutcome {
  if (request.multi && !Array.isArray(request.update) && !isOperatorUpdate(request.update)) {
    throw failedToParse('multi update is not supported for replacement-style update');
  }
  const { docs } = selectDocs(collection, viewOf(ctx), request.filter, { sort: request.sort, limit: request.multi ? 0 : 1, hint: request.hint });
  if (docs.length === 0) {
    if (!request.upsert) return { matched: 0, modified: 0 };
    const seed = upsertSeed(request.filter);
    const created = withId(applyUpdate(seed, request.update, request.filter, request.arrayFilters, true));
    const inserted = insertDocument(ctx, collection, created);
    return { matched: 0, modified: 0, upsertedId: inserted._id, after: inserted };
  }
  let modified = 0;
  let before: Doc | undefined;
  let after: Doc | undefined;
  for (const doc of docs) {
    const next = applyUpdate(doc, request.update, request.filter, request.arrayFilters, false);
    before ??= doc;
    after ??= next;
    if (keyString(next, true) === keyString(doc, true)) continue;
    checkStorable(next, true);
    writeRecord(ctx, collection, recordKey(doc), next, doc);
    modified++;
  }
  return { matched: docs.length, modified, before, after };
}

/** Removes the documents matching `filter` (at most `limit`, 0 for all), found in `sort` order by the `hint`ed index if any. */
export function deleteDocuments(ctx: WriteContext, collection: Collection, filter: Doc, options: { limit: number; sort?: SortSpec; hint?: unknown }): Doc[] {
  const { docs } = selectDocs(collection, viewOf(ctx), filter, options);
  for (const doc of docs) removeRecord(ctx, collection, recordKey(doc), doc);
  return docs;
}
