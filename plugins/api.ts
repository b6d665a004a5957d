/**
 * The extension seam of ARCHITECTURE.md as types. The card service runs, for every write:
 * `beforeValidate` (and the field validators) on the submitted values, `beforeSave` inside the
 * write's transaction, `afterCommit` once the write is durable. Plugins see data, never the actor,
 * and nothing of the database driver: the transaction is an opaque `session` to pass on.
 */
import type { CardTypeDefinition, CardValues } from '../card-types';
import type { Locale } from '../server/src/i18n';

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

/** Checks one field of one card type; runs only when the field has a value. */
export interface FieldValidator {
  cardType: string;
  field: string;
  /** A message when the value is wrong, undefined when it is fine. */
  validate(value: unknown, locale: Locale): string | undefined;
}

export interface PluginHooks {
  beforeValidate?(context: CardHookContext): FieldErrors | undefined | Promise<FieldErrors | undefined>;
  /** Throwing here rolls the write back. */
  beforeSave?(context: BeforeSaveContext): void | Promise<void>;
  /** The write is already committed: failures are logged, not undone. */
  afterCommit?(card: SavedCardSummary): void | Promise<void>;
}

export interface Plugin {
  /** Unique; used to enable the plugin. */
  name: string;
  hooks?: PluginHooks;
  fieldValidators?: FieldValidator[];
}
