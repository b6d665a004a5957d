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
 *   is an opaque `session` to pass on.
 */
import type { CardTypeDefinition, CardValues, FieldKind, Locale } from '../card-types';

export { defineFieldKind, fail, messages, ok } from '../card-types';
export type { Carry, CardTypeDefinition, CardValues, FieldKind, FieldWith, Locale, LocalizedText, Outcome, SearchContribution, SettingsKit } from '../card-types';

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

export interface Plugin {
  /** Unique; what `PLUGINS` names for a plugin shipped in `plugins/<name>/`. */
  name: string;
  fieldKinds?: readonly FieldKind[];
  hooks?: PluginHooks;
}
