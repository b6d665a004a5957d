/**
 * The field kinds in force: the built-in ones (every module in `card-types/kinds/`, found by
 * `#field-kinds`) and those plugins register. Adding a kind is adding its module.
 */
import { builtInFieldKinds } from '#field-kinds';
import type { CardTypeDefinition, FieldDefinition } from './definition';
import { defineFieldKind, type FieldKind } from './field-kind';
import { messages } from './messages';

const kinds = new Map<string, FieldKind>();
let generation = 0;

/** Registers a kind (built-in or from a plugin); a second kind with a taken key is a mistake. */
export function registerFieldKind(kind: FieldKind): void {
  const present = kinds.get(kind.key);
  if (present === kind) return;
  if (present) throw new Error(`Field kind "${kind.key}" is registered twice`);
  kinds.set(kind.key, kind);
  generation += 1;
}

for (const kind of builtInFieldKinds) registerFieldKind(kind);
const builtInKeys = new Set(builtInFieldKinds.map((kind) => kind.key));

/**
 * Makes the plugins' kinds exactly these: a server started with other plugins than the one before it
 * in this process (a restart in place, the tests) does not keep kinds of plugins now switched off.
 */
export function usePluginFieldKinds(pluginKinds: readonly FieldKind[]): void {
  for (const key of [...kinds.keys()]) if (!builtInKeys.has(key)) kinds.delete(key);
  generation += 1;
  for (const kind of pluginKinds) registerFieldKind(kind);
}

/** Changes whenever a kind is registered: what is built from the kinds (the definition schema) is rebuilt. */
export const kindsGeneration = (): number => generation;

export function findFieldKind(key: string): FieldKind | undefined {
  return kinds.get(key);
}

/** The registered kinds, in the designer's order. */
export function fieldKinds(): FieldKind[] {
  return [...kinds.values()].sort((a, b) => a.order - b.order || a.key.localeCompare(b.key));
}

const strangers = new Map<string, FieldKind>();

/**
 * A field's kind. A stored field of a kind no longer registered (its plugin switched off) keeps its
 * stored values as they are (an edit that leaves the field alone keeps them), and refuses any new
 * value: nothing can check it while the plugin is off.
 */
export function kindOf(field: Pick<FieldDefinition, 'kind'>): FieldKind {
  const kind = kinds.get(field.kind);
  if (kind) return kind;
  let stranger = strangers.get(field.kind);
  if (!stranger) {
    stranger = defineFieldKind({
      key: field.kind,
      labels: { ru: field.kind, en: field.kind },
      order: Number.MAX_SAFE_INTEGER,
      settingsSchema: () => ({}),
      parse: () => ({ error: messages.kindSwitchedOff(field.kind) }),
      filter: { operators: [] },
      index: { sortable: false },
    });
    strangers.set(field.kind, stranger);
  }
  return stranger;
}

/** The card types a field's values point to (reference fields), or undefined for fields that hold no card ids. */
export function cardTargets(field: FieldDefinition): string[] | undefined {
  const link = kindOf(field).link;
  return link?.to === 'card' ? link.targets(field) : undefined;
}

/** The fields of `type` whose values point to cards of `targetKey`: what a related tab can list by. */
export function referenceFieldsTo(type: Pick<CardTypeDefinition, 'fields'> | undefined, targetKey: string): FieldDefinition[] {
  return (type?.fields ?? []).filter((field) => cardTargets(field)?.includes(targetKey));
}

/** Whether a field's value is a list (tags; enums and references with `multiple`). */
export const isMultiValued = (field: FieldDefinition): boolean => kindOf(field).multiple(field);

/**
 * Whether a list may be sorted by the field: its kind says so and it holds one value — a list of
 * values (tags) has no one place in an order that a page's keyset could go on from.
 */
export const sortsLists = (field: FieldDefinition): boolean => kindOf(field).index.sortable && !isMultiValued(field);

/**
 * Loads what the kinds of these fields (every kind unless told) need to parse and is loaded on
 * demand: the client awaits it before validating a form. On Node everything is loaded at start.
 */
export async function prepareFieldKinds(fields?: readonly Pick<FieldDefinition, 'kind'>[]): Promise<void> {
  const keys = fields ? new Set(fields.map((field) => field.kind)) : new Set(kinds.keys());
  await Promise.all([...keys].map((key) => kinds.get(key)?.load()));
}
