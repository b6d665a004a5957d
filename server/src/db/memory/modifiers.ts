/**
 * The common update operators (`$set`, `$unset`, `$addToSet` and the arithmetic ones: `$inc`,
 * `$mul`, `$min`, `$max`, `$bit`) on plain field paths, applied directly: mingo's updater builds a
 * fresh operator context on every call, which made it most of the cost of a bulk upsert. Anything
 * beyond plain paths into objects (array elements, positional operators, type changes MongoDB
 * refuses, conflicting paths) is left to mingo; the arithmetic at such paths is still computed
 * here (`applyArithmetic`, called by `writes.ts` for the places mingo's walk found).
 *
 * Arithmetic follows MongoDB's types (`arithmetic.ts`): `$inc` and `$mul` as wide as the wider
 * operand (int32 past its range → long; a long past its range fails), `$min`/`$max` keep the
 * value they choose as it is, `$bit` only on int32 and long.
 */
import { add, bitwise, describeValue, kindOf, multiply, typeName } from './arithmetic';
import { compareValues, keyString } from './bson-order';
import { CommandError } from './errors';
import type { Doc } from './indexes';
import { deepClone, isPlainObject } from './query';

type Action = { op: '$set' | '$unset' | '$addToSet' | ArithmeticOperator; path: string[]; value: unknown };

/** The update operators that compute a field's new value from its old one. */
export const ARITHMETIC_OPERATORS = ['$inc', '$mul', '$min', '$max', '$bit'] as const;
export type ArithmeticOperator = (typeof ARITHMETIC_OPERATORS)[number];

const SIMPLE_OPERATORS = new Set<string>(['$set', '$unset', '$addToSet', ...ARITHMETIC_OPERATORS]);

/** `{field: value}` as MongoDB prints an update's element in a message. */
const element = (field: string, value: unknown) => `{${field}: ${describeValue(value)}}`;

/** Refuses an arithmetic operator's argument MongoDB refuses (before any document is touched). */
export function checkOperand(op: ArithmeticOperator, field: string, operand: unknown): void {
  if ((op === '$inc' || op === '$mul') && kindOf(operand) === null) {
    throw new CommandError(14, 'TypeMismatch', `Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: ${element(field, operand)}`);
  }
  if (op !== '$bit') return;
  if (!isPlainObject(operand)) {
    throw new CommandError(
      2,
      'BadValue',
      `The $bit modifier is not compatible with a ${typeName(operand)}. You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}`,
    );
  }
  const entries = Object.entries(operand);
  if (entries.length === 0) throw new CommandError(2, 'BadValue', 'You must pass in at least one bitwise operation. The format is: {$bit: {field: {and/or/xor: #}}');
  for (const [name, value] of entries) {
    if (name !== 'and' && name !== 'or' && name !== 'xor') {
      throw new CommandError(2, 'BadValue', `The $bit modifier only supports 'and', 'or', and 'xor', not '${name}' which is an unknown operator: ${element(name, value)}`);
    }
    const kind = kindOf(value);
    if (kind !== 'i' && kind !== 'l') {
      throw new CommandError(2, 'BadValue', `The $bit modifier field must be an Integer(32/64 bit); a '${typeName(value)}' is not supported here: ${element(name, value)}`);
    }
  }
}

const describeId = (doc: Doc) => `_id: ${describeValue(doc._id)}`;

/**
 * The value an arithmetic operator leaves at a field holding `existing` (undefined: the field
 * is missing and is created), as MongoDB computes it; `field` is the field's own name (the last
 * part of its path), for messages.
 */
export function applyArithmetic(op: ArithmeticOperator, existing: unknown, operand: unknown, doc: Doc, field: string): unknown {
  if (op === '$min' || op === '$max') {
    if (existing === undefined) return deepClone(operand);
    const order = compareValues(operand, existing);
    return (op === '$min' ? order < 0 : order > 0) ? deepClone(operand) : existing;
  }
  if (op === '$bit') {
    if (existing !== undefined && kindOf(existing) !== 'i' && kindOf(existing) !== 'l') {
      throw new CommandError(
        2,
        'BadValue',
        `Cannot apply $bit to a value of non-integral type.${describeId(doc)} has the field ${field} of non-integer type ${typeName(existing)}`,
      );
    }
    let value = existing ?? 0;
    for (const [name, bits] of Object.entries(operand as Doc)) value = bitwise(value, bits, name as 'and' | 'or' | 'xor');
    return value;
  }
  if (existing === undefined) return op === '$inc' ? operand : multiply(operand, 0);
  if (kindOf(existing) === null) {
    throw new CommandError(
      14,
      'TypeMismatch',
      `Cannot apply ${op} to a value of non-numeric type. {${describeId(doc)}} has the field '${field}' of non-numeric type ${typeName(existing)}`,
    );
  }
  const result = op === '$inc' ? add(existing, operand) : multiply(existing, operand);
  if (result === null) {
    throw new CommandError(2, 'BadValue', `Failed to apply ${op} operations to current value ((NumberLong)${describeValue(existing)}) for document {${describeId(doc)}}`);
  }
  return result;
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

const isArithmetic = (op: string): op is ArithmeticOperator => (ARITHMETIC_OPERATORS as readonly string[]).includes(op);

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
    if (isArithmetic(action.op)) checkOperand(action.op, action.path.join('.'), action.value);
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
    else if (isArithmetic(op)) parent[field] = applyArithmetic(op, parent[field], value, doc, field);
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
