/** Insert, update, delete and findAndModify on committed state or inside a transaction. */
import { update as applyModifier } from 'mingo';
import { Aggregator } from 'mingo/aggregator';
import { calculateObjectSize } from 'bson';
import { keyString } from './bson-order';
import { asCommandError, CommandError, documentTooLarge, failedToParse, nestingTooDeep } from './errors';
import type { Doc } from './indexes';
import { applySimpleModifier } from './modifiers';
import { deepClone, isPlainObject, selectDocs, type SortSpec } from './query';
import { recordKey, withId, type Collection, type ReadView, type Store, type Transaction } from './store';
import { receivedBytes } from './wire';
import { MINGO_OPTIONS } from './operators';
import { promoteNumbers, restoreNumbers } from './typed-numbers';

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
  if (ctx.txn) return ctx.txn.write(collection, idKey, doc);
  ctx.store.checkUnlocked(collection, idKey);
  ctx.store.putRecord(collection, idKey, doc, old, undefined, bytes);
}

function removeRecord(ctx: WriteContext, collection: Collection, idKey: Buffer, old: Doc): void {
  if (ctx.txn) return ctx.txn.write(collection, idKey, null);
  ctx.store.checkUnlocked(collection, idKey);
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
      const { _id: _ignored, ...replacement } = deepClone(update);
      next = doc._id === undefined ? { ...replacement } : { _id: doc._id, ...replacement };
      if (update._id !== undefined && doc._id !== undefined && keyString(update._id) !== keyString(doc._id)) throw immutableId();
      if (update._id !== undefined && doc._id === undefined) next = { _id: update._id, ...replacement };
    } else {
      next = deepClone(doc);
      const { $setOnInsert, ...modifier } = update;
      if (inserting && isPlainObject($setOnInsert)) modifier.$set = { ...(modifier.$set as Doc | undefined), ...$setOnInsert };
      guardId(doc, modifier);
      for (const key of Object.keys(modifier)) if (isPlainObject(modifier[key]) && Object.keys(modifier[key]).length === 0) delete modifier[key];
      if (inserting) refusePositional(modifier);
      // mingo applies an update only to a document matching its condition: an upsert's new
      // document need not match the filter it came from (a `$or` of several branches, say).
      if (Object.keys(modifier).length > 0 && (arrayFilters?.length || !applySimpleModifier(next, modifier)))
        next = applyMingoModifier(next, modifier, arrayFilters, inserting ? undefined : filter);
    }
  } catch (error) {
    throw asCommandError(error);
  }
  if (doc._id !== undefined && (next._id === undefined || keyString(next._id) !== keyString(doc._id))) throw immutableId();
  return next;
}

/** Operators mingo computes with, on JS numbers only. */
const ARITHMETIC_OPERATORS = ['$inc', '$mul', '$min', '$max', '$bit'];

/**
 * mingo applies what the direct path cannot (positions, array filters, other operators). When it
 * computes, it gets numbers promoted, and the fields the modifier does not name get their stored
 * number types back.
 */
function applyMingoModifier(doc: Doc, modifier: Doc, arrayFilters: Doc[] | undefined, condition: Doc | undefined): Doc {
  if (!ARITHMETIC_OPERATORS.some((op) => op in modifier)) {
    applyModifier(doc, modifier, arrayFilters, condition);
    return doc;
  }
  const promoted = { ...modifier };
  for (const op of ARITHMETIC_OPERATORS) if (op in promoted) promoted[op] = promoteNumbers(promoted[op]);
  const next = deepClone(promoteNumbers(doc));
  applyModifier(next, promoted, arrayFilters, condition);
  return restoreNumbers(
    next,
    doc,
    Object.values(modifier).flatMap((fields) => (isPlainObject(fields) ? Object.keys(fields) : [])),
  );
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
  const computed = new Aggregator(pipeline, MINGO_OPTIONS).run([deepClone(promoteNumbers(doc))])[0] as Doc | undefined;
  if (!computed) return doc;
  const touched = pipelineFields(pipeline);
  const result = touched ? restoreNumbers(computed, doc, touched) : computed;
  if (result._id === undefined && doc._id !== undefined) return { _id: doc._id, ...result };
  if (Object.keys(result)[0] !== '_id' && result._id !== undefined) {
    const { _id, ...rest } = result;
    return { _id, ...rest };
  }
  return result;
}

/**
 * The fields a pipeline-style update computes (their values have the types it gives them), or
 * null when a stage replaces the whole document.
 */
function pipelineFields(pipeline: Doc[]): string[] | null {
  const fields: string[] = [];
  for (const stage of pipeline) {
    const [name, spec] = Object.entries(stage)[0]!;
    if (name === '$replaceRoot' || name === '$replaceWith') return null;
    if (name === '$unset' || !isPlainObject(spec)) continue;
    for (const [field, value] of Object.entries(spec)) if (name !== '$project' || !(value === 1 || value === true || value === 0 || value === false)) fields.push(field);
  }
  return fields;
}

/** An upsert's new document has no array element the query matched for `$` to name. */
function refusePositional(modifier: Doc): void {
  for (const fields of Object.values(modifier)) {
    if (!isPlainObject(fields)) continue;
    if (Object.keys(fields).some((field) => field.split('.').includes('$')))
      throw new CommandError(2, 'BadValue', 'The positional operator did not find the match needed from the query.');
  }
}

/** `_id` may only be "set" to the value it already has; mingo would happily change it. */
function guardId(doc: Doc, modifier: Doc): void {
  for (const [op, fields] of Object.entries(modifier)) {
    if (!isPlainObject(fields)) continue;
    for (const field of Object.keys(fields)) {
      if (field !== '_id' && !field.startsWith('_id.')) continue;
      const unchanged = doc._id === undefined || (op === '$set' && field === '_id' && keyString(fields[field]) === keyString(doc._id));
      if (!unchanged) throw immutableId();
      if (doc._id !== undefined) delete fields[field];
    }
  }
}

function immutableId(): CommandError {
  return new CommandError(66, 'ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
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
