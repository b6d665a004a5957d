import type { ClientSession } from 'mongoose';
import { checkFieldValue, isEmptyValue, ownValue, type CardValues, type FieldDefinition, type StoredValue } from '../../../card-types';
import { fieldChangePlanner } from '../../../card-types/definitions';
import { Job, type JobDoc } from '../jobs/model';

/** The job type that applies a saved card type change to the type's cards (cards/type-change.ts). */
export const TYPE_CHANGE_JOB = 'card-type-change';

/** A field whose stored values a saved type change rewrites: as it was (null when new), as it is, and the value to fill in. */
export interface FieldRewrite {
  from: FieldDefinition | null;
  to: FieldDefinition;
  fill?: StoredValue;
}

/** A card's values under a type change: the rewritten values, and how many would not convert (kept as they were). */
export type CardRewriter = (values: CardValues) => { values: CardValues; kept: number };

/**
 * How a saved type change rewrites one card's values: each changed field's value converted into
 * its new form (or filled in where empty). A value already in the new form stays as it is (the
 * card was saved against the new type since); one that would not convert is kept as it was.
 */
export function cardRewriter(fields: FieldRewrite[]): CardRewriter {
  const planners = fields.map(({ from, to, fill }) => {
    const unbound = { ...to, required: false };
    return {
      key: to.key,
      planner: fieldChangePlanner(from ?? undefined, to, { locale: 'ru', fill }),
      current: (value: unknown) => !isEmptyValue(value) && from?.kind !== to.kind && JSON.stringify(checkFieldValue(unbound, value)) === JSON.stringify({ value }),
    };
  });
  return (values) => {
    const next: CardValues = { ...values };
    let kept = 0;
    for (const { key, planner, current } of planners) {
      const value = ownValue(values, key);
      if (current(value)) continue;
      const outcome = planner.apply(value);
      if ('error' in outcome) kept += 1;
      else if (outcome.value === undefined) delete next[key];
      else next[key] = outcome.value;
    }
    return { values: next, kept };
  };
}

/** The job applying a change of this type to its cards while it is queued or running, if any. */
export async function pendingTypeChange(typeKey: string, session?: ClientSession): Promise<JobDoc | null> {
  return Job.findOne({ type: TYPE_CHANGE_JOB, 'params.typeKey': typeKey, state: { $in: ['queued', 'running'] } }, null, { session }).lean<JobDoc>();
}

/**
 * The type's latest change while it is not done with its cards: queued, running, or failed (it can
 * be continued from where it stopped); null once it succeeded or was superseded by a later change.
 */
export async function unsettledTypeChange(typeKey: string): Promise<JobDoc | null> {
  const latest = await Job.findOne({ type: TYPE_CHANGE_JOB, 'params.typeKey': typeKey }).sort({ createdAt: -1, _id: -1 }).lean<JobDoc>();
  return latest && ['queued', 'running', 'failed'].includes(latest.state) ? latest : null;
}

/**
 * A card as it is once the pending change of its type reaches it: an edit made while the job
 * runs starts from there, so that a field the change fills in or converts does not refuse an edit
 * that never touched it. (The job then finds the card done.)
 */
export async function withPendingTypeChange<T extends { values: CardValues }>(typeKey: string, card: T): Promise<T> {
  const job = await pendingTypeChange(typeKey);
  if (!job) return card;
  const { values } = cardRewriter((job.params as { fields: FieldRewrite[] }).fields)(card.values ?? {});
  return { ...card, values };
}
