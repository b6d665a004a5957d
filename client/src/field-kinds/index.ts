/**
 * The client components of field kinds, by kind key: every `field-kinds/<kind>.vue`. A kind without
 * one (a plugin's kind before its client part loads) is drawn as text.
 */
import { h, type Component, type FunctionalComponent } from 'vue';
import { sortsLists, type FieldDefinition } from '../../../card-types';
import type { KindMode } from '../../../plugins/api';
import { pluginComponents } from './plugin-components';
import StringKind from './string.vue';

interface KindModule {
  default: Component;
  /** The width of the kind's list column (CSS grid track). */
  listColumn?: string;
  /** The type designer takes a field's default with the kind's own input, not a text box. */
  defaultInput?: boolean;
}

const modules = import.meta.glob<KindModule>('./*.vue', { eager: true });
const components = new Map(Object.entries(modules).map(([path, module]) => [path.replace(/^\.\/(.*)\.vue$/, '$1'), module]));

/** Registers a kind's component (plugins' client parts). */
export function registerKindComponent(key: string, module: KindModule): void {
  components.set(key, module);
}

/** A plugin's kind: its component for the mode drawn, text for a mode it does not draw. */
const pluginKindComponents = new WeakMap<object, Component>();
function pluginKindComponent(byMode: Partial<Record<KindMode, Component>>): Component {
  let component = pluginKindComponents.get(byMode);
  if (!component) {
    const ofMode: FunctionalComponent = (_props, { attrs }) => h(byMode[attrs.mode as KindMode] ?? StringKind, attrs);
    pluginKindComponents.set(byMode, (component = ofMode));
  }
  return component;
}

export function kindComponent(field: Pick<FieldDefinition, 'kind'>): Component {
  const byMode = pluginComponents(field.kind);
  return components.get(field.kind)?.default ?? (byMode ? pluginKindComponent(byMode) : StringKind);
}

/** The kind's input, when the designer takes a field's default with it (else null: a text box). */
export function defaultInputOf(field: Pick<FieldDefinition, 'kind'>): Component | null {
  const module = components.get(field.kind);
  return module?.defaultInput ? module.default : null;
}

export function listColumnWidth(field: FieldDefinition): string {
  return components.get(field.kind)?.listColumn ?? 'minmax(120px, 1fr)';
}

/** Keys of the kinds that have a component: every built-in kind has. */
export const kindsWithComponents = (): string[] => [...components.keys()];

/** A field may sort a list when its kind says so and it holds one value (`sortsLists`). */
export const sortable = (field: FieldDefinition): boolean => sortsLists(field);
