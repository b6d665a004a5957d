/**
 * The public API of Kartoteka plugins: everything a plugin imports comes from here (never from
 * `server/src/...`). A plugin is a module whose default export is a `Plugin`; it is enabled by
 * listing it in `PLUGINS` (see plugins/index.ts). It may contribute:
 * - field kinds (`fieldKinds`, declared with `defineFieldKind` like the built-in ones in
 *   `card-types/kinds/`): any card type, an administrator's own too, may then use them; the
 *   server checks values with them, and the client does the same in its forms when the plugin
 *   ships a `kinds.ts` next to its `index.ts` (default export: the same kinds);
 * - lifecycle hooks around every card write. The card service runs `beforeValidate` on the
 *   submitted values, `beforeSave` inside the write's transaction, `afterCommit` once the write is
 *   durable. Hooks see data, never the actor, and nothing of the database driver: the transaction
 *   is an opaque `session` to pass on;
 * - card types (`cardTypes`), stored at start like the core's built-in ones (origin `code`, marked
 *   with the plugin's name): administrators customise them as they may customise built-in types;
 *   switching the plugin off keeps the stored type and its cards;
 * - GraphQL extensions (`graphql`): SDL (`extend type Query { … }`, own types) and resolvers. A
 *   resolver gets a `PluginContext`, never the database: the viewer, and cards read through the
 *   viewer's ability like every other path of the API;
 * - client components of its field kinds: a `client.ts` next to `index.ts` whose default export is a
 *   `PluginClient` (Vue components by kind key and mode), used once the server lists the kind.
 */
import type { Component } from 'vue';
import type { CardTypeDefinition, CardValues, FieldKind, Locale, StoredValue } from '../card-types';

export { defineFieldKind, fail, messages, ok } from '../card-types';
export type { Carry, CardTypeDefinition, CardValues, StoredValue, FieldKind, FieldWith, Locale, LocalizedText, Outcome, SearchContribution, SettingsKit } from '../card-types';

/** A message for each offending field key, in the context's language. */
export type FieldErrors = Record<string, string>;

export type CardAction = 'create' | 'update' | 'move' | 'trash' | 'restore' | 'revert' | 'merge' | 'unmerge';

export interface CardHookContext {
  cardType: CardTypeDefinition;
  /** The values as submitted, by field key. */
  values: Readonly<Record<string, unknown>>;
  action: CardAction;
  /** Absent on create. */
  cardId?: string;
  locale: Locale;
}

export interface BeforeSaveContext extends Omit<CardHookContext, 'values'> {
  /** The validated values in their stored form. */
  values: Readonly<CardValues>;
  /** The write's transaction; pass it on to anything that must commit or roll back with the card. */
  session: unknown;
}

/** A card as saved, for after-commit hooks. */
export interface SavedCardSummary {
  id: string;
  typeKey: string;
  folderId: string;
  title: string;
  version: number;
  action: CardAction;
  /** Keys of the fields whose values this write changed. */
  changedFields: string[];
}

export interface PluginHooks {
  /** Messages for fields whose values break the plugin's rules (each field's kind has checked it already). */
  beforeValidate?(context: CardHookContext): FieldErrors | undefined | Promise<FieldErrors | undefined>;
  /** Throwing here rolls the write back. */
  beforeSave?(context: BeforeSaveContext): void | Promise<void>;
  /** The write is already committed: failures are logged, not undone. */
  afterCommit?(card: SavedCardSummary): void | Promise<void>;
}

/** A card as a plugin's resolver sees it: only cards the viewer may read, values of hidden fields left out. */
export interface PluginCard {
  id: string;
  typeKey: string;
  folderId: string;
  title: string;
  values: Readonly<CardValues>;
}

/** What a plugin's resolver may know and read: everything goes through the signed-in viewer's ability. */
export interface PluginContext {
  viewer: { id: string; locale: Locale };
  /** The card, or null when it does not exist or the viewer may not read it (the two answer alike). */
  card(id: string): Promise<PluginCard | null>;
  /** The cards among `ids` the viewer may read, in the order asked (at most 200 ids). */
  readCards(ids: readonly string[]): Promise<PluginCard[]>;
  /** Cards (not in the trash) of a type whose field holds exactly `value`, as many as `first` (at most 50) the viewer may read. */
  cardsWithValue(query: { typeKey: string; fieldKey: string; value: StoredValue; first?: number }): Promise<PluginCard[]>;
}

/** A resolver of a plugin's field; its parent and arguments are what the plugin's own SDL says. */
export type PluginResolver = (parent: never, args: never, context: PluginContext) => unknown;

export interface PluginGraphQL {
  /** SDL: `extend type Query { … }` / `extend type Mutation { … }` and the plugin's own types. */
  typeDefs: string;
  /** Field resolvers by type name, then field name. */
  resolvers: Readonly<Record<string, Readonly<Record<string, PluginResolver>>>>;
}

export type KindMode = 'input' | 'display' | 'filter';

/**
 * A plugin's `client.ts` default export: Vue components by kind key and mode. A component gets the
 * props of the client's kind contract (client/src/field-kinds/contract.ts: `mode`, `field`,
 * `modelValue`, `inputId`, `invalid`, `required`, `describedBy`, … and emits `update:modelValue`);
 * a mode without one is drawn as text.
 */
export interface PluginClient {
  components: Readonly<Record<string, Partial<Record<KindMode, Component>>>>;
}

export interface Plugin {
  /** Unique; what `PLUGINS` names for a plugin shipped in `plugins/<name>/`. */
  name: string;
  fieldKinds?: readonly FieldKind[];
  hooks?: PluginHooks;
  /** Card types the plugin ships; `origin: 'code'`, the plugin's name is set when they are stored. */
  cardTypes?: readonly CardTypeDefinition[];
  graphql?: PluginGraphQL;
}
