/**
 * The common update operators (`$set`, `$unset`, `$inc`, `$addToSet`) on plain field paths,
 * applied directly: mingo's updater builds a fresh operator context on every call, which made it
 * most of the cost of a bulk upsert. Anything beyond plain paths into objects (array elements,
 * positional operators, type changes MongoDB refuses, conflicting paths) is left to mingo.
 */
import { Double, Long } from 'bson';
import { keyString } from './bson-order';
import { CommandError } from './errors';
import type { Doc } from './indexes';
import { numberKind, writesAsInt32 } from './numbers';
import { deepClone, isPlainObject } from './query';

type Action = { op: '$set' | '$unset' | '$inc' | '$addToSet'; path: string[]; value: unknown };

const SIMPLE_OPERATORS = new Set(['$set', '$unset', '$inc', '$addToSet']);

/** Numbers of any BSON kind (JS numbers, Long, Int32, Double, Decimal128). */
function isNumeric(value: unknown): boolean {
  if (typeof value === 'number' || typeof value === 'bigint') return true;
  const type = value !== null && typeof value === 'object' ? (value as { _bsontype?: string })._bsontype : undefined;
  return type === 'Long' || type === 'Int32' || type === 'Double' || type === 'Decimal128';
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'string';
  if (value instanceof Date) return 'date';
  return (value as { _bsontype?: string })._bsontype?.toLowerCase() ?? 'object';
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const asBigInt = (value: unknown): bigint => (typeof value === 'number' ? BigInt(value) : typeof value === 'bigint' ? value : (value as Long).toBigInt());
const asNumber = (value: unknown): number => (typeof value === 'number' ? value : Number((value as { valueOf(): unknown }).valueOf()));

/**
 * `$inc` as MongoDB adds (decimals aside): a double in either makes a double; else a long in
 * either makes a long; two int32s make an int32, or a long when the sum leaves int32's range.
 */
function addNumbers(existing: unknown, increment: unknown, doc: Doc, field: string): unknown {
  const kinds = numberKind(existing) + numberKind(increment);
  if (kinds.includes('d')) {
    const sum = asNumber(existing) + asNumber(increment);
    return writesAsInt32(sum) ? new Double(sum) : sum;
  }
  if (kinds.includes('l')) {
    const sum = asBigInt(existing) + asBigInt(increment);
    if (sum < INT64_MIN || sum > INT64_MAX)
      throw new CommandError(
        2,
        'BadValue',
        `Failed to apply $inc operations to current value ((NumberLong)${String(existing)}) for document {_id: ${String(doc._id)}}, field ${field}: overflow`,
      );
    return Long.fromBigInt(sum);
  }
  const sum = (existing as number) + (increment as number);
  return writesAsInt32(sum) ? sum : Long.fromNumber(sum);
}

/** The object holding the path's last field (created when `create`), or null/undefined when the path cannot be followed simply. */
function parentOf(doc: Doc, path: string[], create: boolean): Doc | null | undefined {
  let node: Doc = doc;
  for (let i = 0; i < path.length - 1; i++) {
    const next = node[path[i]!];
    if (next === undefined) {
      if (!create) return undefined;
      node = node[path[i]!] = {};
      continue;
    }
    if (!isPlainObject(next)) return null;
    node = next;
  }
  return node;
}

function plan(doc: Doc, modifier: Doc): Action[] | null {
  const actions: Action[] = [];
  for (const [op, fields] of Object.entries(modifier)) {
    if (!SIMPLE_OPERATORS.has(op) || !isPlainObject(fields)) return null;
    for (const [field, value] of Object.entries(fields)) {
      const path = field.split('.');
      if (path.some((part) => part === '' || part.startsWith('$') || /^\d+$/.test(part))) return null;
      actions.push({ op: op as Action['op'], path, value });
    }
  }
  actions.sort((a, b) => (a.path.join('.') < b.path.join('.') ? -1 : 1));
  for (let i = 1; i < actions.length; i++) {
    const previous = actions[i - 1]!.path.join('.');
    const current = actions[i]!.path.join('.');
    if (current === previous || current.startsWith(`${previous}.`)) return null;
  }
  for (const action of actions) {
    const parent = parentOf(doc, action.path, false);
    if (parent === null) return null;
    const existing = parent?.[action.path[action.path.length - 1]!];
    if (action.op === '$inc') {
      const field = action.path.join('.');
      if (!isNumeric(action.value)) throw new CommandError(14, 'TypeMismatch', `Cannot increment with non-numeric argument: {${field}: ${JSON.stringify(action.value)}}`);
      if (existing !== undefined && !isNumeric(existing)) {
        throw new CommandError(
          14,
          'TypeMismatch',
          `Cannot apply $inc to a value of non-numeric type. {_id: ${JSON.stringify(doc._id)}} has the field '${action.path[action.path.length - 1]}' of non-numeric type ${typeName(existing)}`,
        );
      }
      if (numberKind(action.value) === 'm' || (existing !== undefined && numberKind(existing) === 'm')) return null;
    }
    if (action.op === '$addToSet') {
      if (existing !== undefined && !Array.isArray(existing)) return null;
      if (isPlainObject(action.value) && Object.keys(action.value).some((key) => key.startsWith('$'))) {
        if (Object.keys(action.value).length !== 1 || !Array.isArray(action.value.$each)) return null;
      }
    }
  }
  return actions;
}

/** Applies the modifier to `doc` in place and returns true, or returns false (doc untouched) when mingo must do it. */
export function applySimpleModifier(doc: Doc, modifier: Doc): boolean {
  const actions = plan(doc, modifier);
  if (!actions) return false;
  for (const { op, path, value } of actions) {
    const field = path[path.length - 1]!;
    if (op === '$unset') {
      const parent = parentOf(doc, path, false);
      if (parent) delete parent[field];
      continue;
    }
    const parent = parentOf(doc, path, true)!;
    if (op === '$set') parent[field] = deepClone(value);
    else if (op === '$inc') parent[field] = parent[field] === undefined ? value : addNumbers(parent[field], value, doc, path.join('.'));
    else {
      const items = isPlainObject(value) && Array.isArray(value.$each) ? value.$each : [value];
      const list = (parent[field] as unknown[] | undefined) ?? [];
      const present = new Set(list.map((item) => keyString(item)));
      for (const item of items) {
        const key = keyString(item);
        if (present.has(key)) continue;
        present.add(key);
        list.push(deepClone(item));
      }
      parent[field] = list;
    }
  }
  return true;
}
