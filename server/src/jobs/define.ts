import { EventEmitter } from 'node:events';
import { Types, type ClientSession } from 'mongoose';
import { events } from '../events/bus';
import type { LocalizedText } from '../../../card-types';
import type { Locale } from '../i18n';
import type { Logger } from '../logger';
import { Job, type JobDoc } from './model';
import { jobView, type JobView } from './view';

/** What a job's `run` gets from the runner. */
export interface JobContext<Params, Checkpoint> {
  jobId: string;
  /** Who asked for it; null for the server's own work. */
  ownerId: string | null;
  /** Who ran it again after it failed (`retryJob`; the latest of them) and from which address; null until then. */
  continuedBy?: { userId: string; ip: string } | null;
  params: Params;
  /** The last checkpoint an earlier run saved (the job was interrupted by a restart), else null. */
  resumeFrom: Checkpoint | null;
  /** Aborted when the job is cancelled, the server stops, or its lease is lost: stop soon and return or throw. */
  signal: AbortSignal;
  /** Reports progress (cheap: stored and published at most twice a second). `total` null = unknown. */
  progress(done: number, total?: number | null, note?: string): void;
  /**
   * Starts a named stage of a job that works in stages (reading, then comparing, then storing): its
   * progress counts from 0 of `total` anew, with its own rate and time left, so that a bar at 100 %
   * means the stage is done, not the job; pages name the stage by its key. The runner gives it; a
   * context made by hand (a test, a benchmark running a job's work directly) may leave it out.
   */
  stage?(name: string, total: number | null): void;
  /** Stores where to resume from (and the progress so far) now; a later run gets it as `resumeFrom`. */
  checkpoint(value: Checkpoint, done?: number): Promise<void>;
  /**
   * Called first inside a transaction that writes the job's work: claims the job's record for the
   * transaction, which then commits only while this run holds the job. A run whose job was taken
   * over (its lease lapsed while it waited) writes nothing of the batch it had begun: it aborts as
   * 'lease-lost', and a takeover meanwhile waits for the commit (s14 attack A3). The runner gives it;
   * a context made by hand may leave it out.
   */
  holdJob?(session: ClientSession): Promise<void>;
  logger: Logger;
}

export interface JobDefinition<Params, Result, Checkpoint> {
  /** Stable name stored with each job, e.g. 'backup', 'import'. */
  type: string;
  run(context: JobContext<Params, Checkpoint>): Promise<Result>;
  /**
   * Why a job of this type may not be cancelled (`cancelJob` refuses it with this reason, and the
   * API says so before anyone tries). Absent: it may be cancelled, keeping what it did.
   */
  cancelRefusal?: LocalizedText;
  /**
   * What a failed job means to its owner and what they can do, in their language. The technical
   * error then stays in the log and is shown to administrators only. Absent: the stored error is
   * the message (the job fails with texts meant for its owner).
   */
  failureMessage?: (job: JobView, locale: Locale) => string;
  /**
   * A failed job of this type may be run again from its last checkpoint (`retryJob`) unless this
   * answers why not. Absent: a failed job stays failed.
   */
  retryRefusal?: (job: JobDoc, locale: Locale) => Promise<string | null>;
}

export interface EnqueueOptions {
  /** At most one job per key, ever (a duplicate-key error otherwise). */
  uniqueKey?: string;
  /** At most one unfinished job per key (a duplicate-key error otherwise); free again once it finished. */
  activeKey?: string;
}

export interface JobType<Params, Result, Checkpoint> extends JobDefinition<Params, Result, Checkpoint> {
  /** Queues one job of this type; returns it as stored. */
  enqueue(ownerId: string | Types.ObjectId | null, params: Params, options?: EnqueueOptions): Promise<JobView>;
  /**
   * Queues one job inside the caller's transaction, so that it exists exactly when the caller's
   * other writes commit. Runners find it at their next poll; `announceJob` after the commit wakes
   * this process's runner and tells the job's watchers at once.
   */
  enqueueIn(session: ClientSession, ownerId: string | Types.ObjectId | null, params: Params): Promise<JobDoc>;
}

type AnyJobDefinition = JobDefinition<never, unknown, unknown>;
const registry = new Map<string, AnyJobDefinition>();

/** Tells runners in this process at once that a job was queued (others poll) or cancelled. */
export const runnerSignals = new EventEmitter();

/**
 * Declares a kind of long work. Call it once at module load; every server instance that imports
 * the module can run jobs of this type.
 */
export function defineJob<Params extends object, Result = unknown, Checkpoint = unknown>(
  definition: JobDefinition<Params, Result, Checkpoint>,
): JobType<Params, Result, Checkpoint> {
  if (registry.has(definition.type)) throw new Error(`job type "${definition.type}" is defined twice`);
  registry.set(definition.type, definition as unknown as AnyJobDefinition);
  return {
    ...definition,
    enqueue: (ownerId, params, options = {}) => enqueueJob(definition.type, ownerId, params, options),
    enqueueIn: async (session, ownerId, params) => {
      const [created] = await Job.create([{ type: definition.type, ownerId: ownerId ? new Types.ObjectId(String(ownerId)) : null, params }], { session });
      return created.toObject() as JobDoc;
    },
  };
}

export function jobDefinition(type: string): AnyJobDefinition | undefined {
  return registry.get(type);
}

export function registeredJobTypes(): string[] {
  return [...registry.keys()];
}

export function publishJob(job: JobDoc, waitingForDatabase = false): JobView {
  const view = jobView(job, waitingForDatabase);
  events.publish('job-changed', view);
  return view;
}

/** Publishes a job queued in a transaction once that committed, and wakes this process's runner. */
export function announceJob(job: JobDoc): JobView {
  const view = publishJob(job);
  runnerSignals.emit('queued', view.id);
  return view;
}

async function enqueueJob(type: string, ownerId: string | Types.ObjectId | null, params: object, options: EnqueueOptions): Promise<JobView> {
  const [created] = await Job.create([{ type, ownerId: ownerId ? new Types.ObjectId(String(ownerId)) : null, params, uniqueKey: options.uniqueKey, activeKey: options.activeKey }]);
  return announceJob(created.toObject() as JobDoc);
}
