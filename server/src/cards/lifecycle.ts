import type { ClientSession } from 'mongoose';
import type { Actor } from '../access/actor';
import type { CardTypeDefinition, CardValues, LocalizedText } from '../../../card-types';
import { events, type CardAction, type CardEvent, type CardNoticeAction, type CardPlace } from '../events/bus';
import type { Logger } from '../logger';
import type { CardDoc } from './model';

export type { CardAction };

/** What changed in one field: old and new stored values (undefined = empty). */
export interface FieldChange {
  key: string;
  before: CardValues[string] | undefined;
  after: CardValues[string] | undefined;
  /** For a change that is not a field of the type (what a merge joined): how it is named. */
  label?: LocalizedText;
  /** Its values are ids of cards (history keeps their titles). */
  cardIds?: boolean;
}

export interface CardChange {
  action: CardAction;
  actor: Actor;
  type: CardTypeDefinition;
  before: CardDoc | null;
  after: CardDoc;
  changes: FieldChange[];
  /** What made the change when not the card form: an import, or the undo of one (history marks it). */
  via?: ChangeSource;
}

/** A change made by an import (`import`) or by undoing one (`import-undo`), with the import's id; or by applying a card type change (`type-change`), with its job's id. */
export interface ChangeSource {
  kind: 'import' | 'import-undo' | 'type-change';
  id: string;
}

/** Values about to be saved, checked by hooks for what only they know (e.g. that uploaded files may be attached). */
export interface ValuesCheck {
  actor: Actor;
  type: CardTypeDefinition;
  action: CardAction;
  /** The card being changed; null while it is created. */
  card: CardDoc | null;
  /** The folder the card is created in (or is in). */
  folderId: string;
  values: CardValues;
  /** Cards whose files the change may take over (a merge: the cards merged into this one). */
  takenFrom?: readonly CardDoc[];
}

/** A card about to move to another folder (`to`), checked by hooks for rights only they know of. */
export interface MoveCheck {
  actor: Actor;
  card: CardDoc;
  to: Pick<CardDoc, 'folderId' | 'libraryId'>;
}

/**
 * The extension seam of ARCHITECTURE.md. `checkValues` runs before the transaction and answers
 * messages by field key; `beforeSave` runs inside the card's transaction (its writes commit or roll
 * back with the card); `afterCommit` runs once the change is durable. `beforePurge` runs inside the
 * transaction that removes a card for good, `afterPurge` after it.
 */
export interface CardLifecycleHooks {
  name: string;
  checkValues?(check: ValuesCheck): Promise<Record<string, string>>;
  /** What the actor would not be allowed by moving the card (the refusal's «Недостаточно прав: …» part), or null. */
  checkMove?(check: MoveCheck): Promise<string | null>;
  beforeSave?(change: CardChange, session: ClientSession): Promise<void>;
  afterCommit?(change: CardChange): Promise<void> | void;
  /** Several changes in one transaction (a batch of an import): one call for all; `beforeSave` for each unless given. */
  beforeSaveBatch?(changes: CardChange[], session: ClientSession): Promise<void>;
  /** After such a batch committed: one call for all; `afterCommit` for each unless given. */
  afterCommitBatch?(changes: CardChange[]): Promise<void> | void;
  /** `actor`: who purges (a hook may refuse, in their language). */
  beforePurge?(card: CardDoc, session: ClientSession, actor: Actor): Promise<void>;
  afterPurge?(card: CardDoc): Promise<void>;
  /**
   * «Восстановить» on a card in the trash that the hook knows more of (a card merged into another):
   * the hook restores it itself — or refuses — and answers the card restored; null leaves it to the
   * ordinary restore. Runs after the actor's right to restore it was checked.
   */
  restore?(context: { actor: Actor; logger: Logger }, card: CardDoc): Promise<CardDoc | null>;
}

const registered: CardLifecycleHooks[] = [];

export function registerCardHooks(hooks: CardLifecycleHooks): void {
  if (!registered.some((h) => h.name === hooks.name)) registered.push(hooks);
}

/** The hooks' messages for the values, by field key (the first hook to speak of a field wins). */
export async function runCheckValues(check: ValuesCheck): Promise<Record<string, string>> {
  const errors: Record<string, string> = {};
  for (const hooks of registered) {
    for (const [key, text] of Object.entries((await hooks.checkValues?.(check)) ?? {})) errors[key] ??= text;
  }
  return errors;
}

/** The first hook's reason a move is not allowed, or null. */
export async function runCheckMove(check: MoveCheck): Promise<string | null> {
  for (const hooks of registered) {
    const refusal = (await hooks.checkMove?.(check)) ?? null;
    if (refusal) return refusal;
  }
  return null;
}

/** The first hook that restores the card itself (its answer), or null for the ordinary restore. */
export async function runRestore(context: { actor: Actor; logger: Logger }, card: CardDoc): Promise<CardDoc | null> {
  for (const hooks of registered) {
    const restored = (await hooks.restore?.(context, card)) ?? null;
    if (restored) return restored;
  }
  return null;
}

export async function runBeforePurge(card: CardDoc, session: ClientSession, actor: Actor): Promise<void> {
  for (const hooks of registered) await hooks.beforePurge?.(card, session, actor);
}

/** Runs one step of every hook once a change is durable: a failure is reported, never thrown (the change stays). */
async function runCommitted(step: (hooks: CardLifecycleHooks) => Promise<void> | void, onError: (name: string, error: unknown) => void): Promise<void> {
  for (const hooks of registered) {
    try {
      await step(hooks);
    } catch (error) {
      onError(hooks.name, error);
    }
  }
}

/** After a purge is committed; failures are logged, like those of after-commit hooks. */
export function runAfterPurge(card: CardDoc, onError: (name: string, error: unknown) => void): Promise<void> {
  return runCommitted((hooks) => hooks.afterPurge?.(card), onError);
}

export async function runBeforeSave(change: CardChange, session: ClientSession): Promise<void> {
  for (const hooks of registered) await hooks.beforeSave?.(change, session);
}

/** Before-save hooks of several changes inside their one transaction. */
export async function runBeforeSaveBatch(changes: CardChange[], session: ClientSession): Promise<void> {
  for (const hooks of registered) {
    if (hooks.beforeSaveBatch) await hooks.beforeSaveBatch(changes, session);
    else if (hooks.beforeSave) for (const change of changes) await hooks.beforeSave(change, session);
  }
}

/** After a batch committed: the hooks (batch form where a hook has one), then the batch's changes as one card event. */
export async function runAfterCommitBatch(changes: CardChange[], onError: (name: string, error: unknown) => void): Promise<void> {
  await runCommitted(async (hooks) => {
    if (hooks.afterCommitBatch) await hooks.afterCommitBatch(changes);
    else if (hooks.afterCommit) for (const change of changes) await hooks.afterCommit(change);
  }, onError);
  if (changes.length > 0) events.publish('card-events', changes.map(cardEventOf));
}

/**
 * After the commit: the hooks, then the card event for live streams (they show each subscriber
 * what they may see of it). After-commit hooks must not undo a committed change: their failures
 * are logged, not thrown.
 */
export async function runAfterCommit(change: CardChange, onError: (name: string, error: unknown) => void): Promise<void> {
  await runCommitted((hooks) => hooks.afterCommit?.(change), onError);
  events.publish('card-events', [cardEventOf(change)]);
}

function placeOf(card: CardDoc): CardPlace {
  return { folderId: String(card.folderId), libraryId: String(card.libraryId), updatedAt: card.updatedAt.toISOString(), inTrash: Boolean(card.inTrash) };
}

const cardEventOf = (change: CardChange): CardEvent => eventOf(change.after, change.action, change.actor, change.before ? placeOf(change.before) : null);

function eventOf(card: CardDoc, action: CardEvent['action'], actor: Actor, previous: CardPlace | null): CardEvent {
  return {
    cardId: String(card._id),
    ...placeOf(card),
    action,
    actorId: actor.userId,
    actorName: actor.fullName,
    at: new Date().toISOString(),
    previous,
  };
}

/**
 * After the commit of something done to a card that is not a change of it (an earlier file version
 * removed): live streams tell those who may read the card, whose open card shows it again.
 */
export function publishCardNotice(card: CardDoc, action: CardNoticeAction, actor: Actor): void {
  events.publish('card-events', [eventOf(card, action, actor, placeOf(card))]);
}

export function diffValues(before: CardValues, after: CardValues): FieldChange[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const changes: FieldChange[] = [];
  for (const key of keys) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changes.push({ key, before: before[key], after: after[key] });
  }
  return changes;
}
