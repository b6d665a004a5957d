import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import mongoose from 'mongoose';
import { message } from '../i18n';
import type { Logger } from '../logger';
import { jobDefinition, runnerSignals, publishJob, registeredJobTypes, type JobContext } from './define';
import { Job, type JobDoc, type JobProgress } from './model';

export interface JobRunnerOptions {
  logger: Logger;
  /** Jobs this instance runs at once. */
  concurrency?: number;
  /** How long a claim lasts without renewal; after that another instance takes the job over. */
  leaseMs?: number;
  /** How often to look for queued jobs (jobs queued in this process wake the runner at once). */
  pollMs?: number;
  /** How often a running job's progress is stored and published, and cancellation looked for. */
  tickMs?: number;
  /** Checked before claiming: while it answers true (e.g. a restore is under way) nothing starts. */
  paused?: () => Promise<boolean>;
}

/** Why a running job's signal was aborted. */
export type Interruption = 'cancel' | 'shutdown' | 'lease-lost' | 'paused';

export class JobInterrupted extends Error {
  constructor(readonly why: Interruption) {
    super(`job interrupted: ${why}`);
    this.name = 'JobInterrupted';
  }
}

interface Active {
  interrupt(why: Interruption): void;
  finished: Promise<void>;
}

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * Times a job may lose the database before it fails for good when the database keeps going away
 * under it: each time it goes back to the queue and resumes from its checkpoint, as after a restart.
 * Counted from its start, or from its last `retryJob`.
 */
const MAX_DATABASE_LOSSES = 20;

/**
 * Takeovers in a row after which a job is stopped instead of run again: a job that kills its process
 * (memory, a native crash) would otherwise be taken over and kill the next one forever. A run that
 * stores a checkpoint made progress and starts the count anew.
 */
const MAX_TAKEOVERS_IN_A_ROW = 5;

/**
 * Whether an error says the database could not be reached or dropped the connection (or mongoose gave
 * up waiting for it), rather than refused the work — itself or the error it wraps (a job telling its owner why in words keeps the
 * driver's error as its `cause`). The classes are those of mongoose's own driver, which throws them
 * (the project's `mongodb` dependency may be another copy, whose classes never match).
 */
export function lostDatabase(error: unknown): boolean {
  const { MongoNetworkError, MongoNotConnectedError, MongoServerError, MongoServerSelectionError } = mongoose.mongo;
  if (error instanceof Error && error.cause !== undefined && lostDatabase(error.cause)) return true;
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError || error instanceof MongoNotConnectedError) return true;
  // Mongoose's own: an operation it queued while disconnected, and the connection did not come back in
  // time («Connection operation buffering timed out after 10000ms» — s14 user U4 read «сбой на сервере»).
  if (error instanceof mongoose.Error && /buffering timed out after \d+ms$/.test(error.message)) return true;
  return error instanceof MongoServerError && error.hasErrorLabel('TransientTransactionError');
}

/**
 * Runs queued jobs of the types this process defined. Every claim is a lease in MongoDB, renewed
 * while the job runs: several instances can share one database and a job never runs twice at
 * once; a job whose holder died is taken over when its lease expires and resumes from its
 * checkpoint.
 */
export class JobRunner {
  readonly instanceId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly logger: Logger;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly tickMs: number;
  private readonly paused: () => Promise<boolean>;
  private readonly active = new Map<string, Active>();
  private stopped = true;
  private loopFinished: Promise<void> = Promise.resolve();
  private wake: () => void = () => {};

  constructor(options: JobRunnerOptions) {
    this.logger = options.logger.child({ component: 'jobs', instance: this.instanceId });
    this.concurrency = options.concurrency ?? 2;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 2_000;
    this.tickMs = options.tickMs ?? 500;
    this.paused = options.paused ?? (async () => false);
  }

  private readonly onQueued = () => this.wake();
  private readonly onCancel = (jobId: string) => this.active.get(jobId)?.interrupt('cancel');

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    runnerSignals.on('queued', this.onQueued);
    runnerSignals.on('cancel', this.onCancel);
    this.loopFinished = this.loop();
  }

  /** Stops claiming, interrupts running jobs and hands them back to the queue with their checkpoints. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    runnerSignals.off('queued', this.onQueued);
    runnerSignals.off('cancel', this.onCancel);
    this.wake();
    for (const job of this.active.values()) job.interrupt('shutdown');
    await this.loopFinished;
    const grace = new Promise<void>((resolve) => setTimeout(resolve, this.leaseMs).unref());
    await Promise.race([Promise.all([...this.active.values()].map((job) => job.finished)), grace]);
  }

  /** Jobs this instance is running now. */
  get runningJobIds(): string[] {
    return [...this.active.keys()];
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let claimed: JobDoc | null = null;
      try {
        if (this.active.size < this.concurrency && !(await this.paused())) claimed = await this.claim();
      } catch (error) {
        this.logger.error({ err: error }, 'could not claim a job');
      }
      if (claimed && (claimed.takeovers ?? 0) >= MAX_TAKEOVERS_IN_A_ROW) {
        // Not stored: its lease lapses, and the next takeover stops it again.
        await this.stopTakenOverTooOften(claimed).catch((error: unknown) => this.logger.error({ err: error, jobId: String(claimed._id) }, 'job to stop not stored'));
      } else if (claimed && !this.stopped) this.execute(claimed);
      else if (claimed) await this.release(claimed, claimed.progress);
      else await this.sleep(this.pollMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = () => done();
      this.wake = wake;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private async claim(): Promise<JobDoc | null> {
    const types = registeredJobTypes();
    if (types.length === 0) return null;
    const now = Date.now();
    const lease = { state: 'running', 'lease.holder': this.instanceId, 'lease.until': new Date(now + this.leaseMs) };
    // A job whose holder died is taken over first, and counted; one from the queue starts the count anew.
    const takenOver = await Job.findOneAndUpdate(
      { type: { $in: types }, state: 'running', 'lease.until': { $lt: new Date(now) } },
      { $set: lease, $inc: { runs: 1, takeovers: 1 } },
      { sort: { createdAt: 1 }, returnDocument: 'after' },
    ).lean<JobDoc>();
    if (takenOver) return takenOver;
    return Job.findOneAndUpdate(
      { type: { $in: types }, state: 'queued' },
      { $set: { ...lease, takeovers: 0 }, $inc: { runs: 1 } },
      { sort: { createdAt: 1 }, returnDocument: 'after' },
    ).lean<JobDoc>();
  }

  /**
   * Fails a job its processes died running `MAX_TAKEOVERS_IN_A_ROW` times in a row, without running it:
   * what it did and its checkpoint stay, so `retryJob` continues it (and starts the count anew).
   */
  private async stopTakenOverTooOften(job: JobDoc): Promise<void> {
    const error = message('ru', 'jobTakenOverTooOften', { times: job.takeovers ?? 0 });
    const stopped = await Job.findOneAndUpdate(
      this.thisRun(job),
      {
        $set: { state: 'failed', error, finishedAt: new Date(), 'lease.holder': null, 'lease.until': null, progress: { ...job.progress, rate: null, secondsLeft: null } },
        $unset: { activeKey: '' },
      },
      { returnDocument: 'after' },
    ).lean<JobDoc>();
    this.logger.error({ jobId: String(job._id), jobType: job.type, takeovers: job.takeovers }, 'job stopped: its process died running it every time it was taken over');
    if (stopped) publishJob(stopped);
  }

  /**
   * The job as long as this run holds it: its holder and its count of runs. The holder alone is not
   * enough — this instance may take over its own job whose lease lapsed while the run waited for a
   * database that was away (s13 re-test R1), and the older run must then find it gone, not queue
   * or settle it under the newer one.
   */
  private thisRun(job: JobDoc) {
    return { _id: job._id, 'lease.holder': this.instanceId, runs: job.runs };
  }

  /** Back to the queue for any instance (this one is stopping, or lost the database), keeping progress and checkpoint. */
  private async release(run: JobDoc, progress: JobProgress, lostDatabase = false): Promise<void> {
    const job = await Job.findOneAndUpdate(
      this.thisRun(run),
      {
        $set: { state: 'queued', 'lease.holder': null, 'lease.until': null, progress: { ...progress, rate: null, secondsLeft: null } },
        ...(lostDatabase && { $inc: { databaseLosses: 1 } }),
      },
      { returnDocument: 'after' },
    ).lean<JobDoc>();
    if (job) publishJob(job);
  }

  private execute(job: JobDoc): void {
    const definition = jobDefinition(job.type)!;
    const jobId = String(job._id);
    const logger = this.logger.child({ jobId, jobType: job.type });
    const controller = new AbortController();
    let interruption: Interruption | null = null;
    const interrupt = (why: Interruption) => {
      if (interruption) return;
      interruption = why;
      controller.abort(new JobInterrupted(why));
    };

    const progress: JobProgress = { ...job.progress, note: job.progress.note ?? '', stage: job.progress.stage ?? '' };
    const atClaim = { done: progress.done, stage: progress.stage };
    // Rate and time left are measured from the start of the run, or of the stage under way.
    let runStarted = Date.now();
    let doneAtStart = progress.done;
    let dirty = false;
    let leaseRenewedAt = Date.now();
    const mine = this.thisRun(job);

    const measured = (): JobProgress => {
      const seconds = (Date.now() - runStarted) / 1000;
      const rate = seconds >= 1 && progress.done > doneAtStart ? (progress.done - doneAtStart) / seconds : null;
      // Everything counted done, a job still running has work left that its count does not measure (an
      // import's last batch's after-effects): no time left is told, rather than «осталось около 0 с» (s15 U7).
      const secondsLeft = rate && progress.total !== null && progress.done < progress.total ? (progress.total - progress.done) / rate : null;
      return { ...progress, rate: rate === null ? null : round(rate), secondsLeft: secondsLeft === null ? null : Math.ceil(secondsLeft) };
    };

    /**
     * The job as last stored, and whether its owner was told the database is away: a tick that cannot
     * reach it says so on the live stream (no write needed), so the page does not show a time left that
     * means nothing (s13 re-test R1); the next tick that reaches it stores and tells the progress again.
     */
    let lastStored = job;
    let toldDatabaseAway = false;
    const tellDatabaseAway = () => {
      if (toldDatabaseAway) return;
      toldDatabaseAway = true;
      publishJob({ ...lastStored, progress: { ...measured(), rate: null, secondsLeft: null }, updatedAt: new Date() }, true);
    };

    /** Stores progress and renews the lease when due; otherwise only looks for a cancellation. */
    const tick = async (): Promise<void> => {
      const leaseDue = Date.now() - leaseRenewedAt >= this.leaseMs / 3;
      if (!dirty && !leaseDue && !toldDatabaseAway) {
        const current = await Job.findOne(mine, { cancelRequested: 1 }).lean<Pick<JobDoc, 'cancelRequested'>>();
        if (!current) interrupt('lease-lost');
        else if (current.cancelRequested) interrupt('cancel');
        return;
      }
      const published = dirty || toldDatabaseAway;
      dirty = false;
      const renewedAt = Date.now();
      const updated = await Job.findOneAndUpdate(
        mine,
        { $set: { 'lease.until': new Date(renewedAt + this.leaseMs), ...(published && { progress: measured() }) } },
        { returnDocument: 'after' },
      ).lean<JobDoc>();
      if (!updated) return interrupt('lease-lost');
      leaseRenewedAt = renewedAt;
      lastStored = updated;
      toldDatabaseAway = false;
      if (published) publishJob(updated);
      if (updated.cancelRequested) interrupt('cancel');
    };

    let ticking: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      ticking = ticking
        .then(async () => {
          if (interruption !== 'shutdown' && !(await this.paused())) return tick();
          interrupt(interruption ?? 'paused');
        })
        .catch((error: unknown) => {
          // A tick only talks to the database: failing, it could not reach it.
          logger.warn({ err: error }, 'job progress not stored');
          tellDatabaseAway();
        });
    }, this.tickMs);

    const context: JobContext<never, unknown> = {
      jobId,
      ownerId: job.ownerId ? String(job.ownerId) : null,
      continuedBy: job.continuedBy ? { userId: String(job.continuedBy.userId), ip: job.continuedBy.ip } : null,
      params: job.params as never,
      resumeFrom: job.checkpoint ?? null,
      signal: controller.signal,
      logger,
      progress(done, total, note) {
        progress.done = done;
        if (total !== undefined) progress.total = total;
        if (note !== undefined) progress.note = note;
        dirty = true;
      },
      stage(name, total) {
        Object.assign(progress, { stage: name, done: 0, total });
        runStarted = Date.now();
        doneAtStart = 0;
        dirty = true;
      },
      checkpoint: async (value, done) => {
        if (done !== undefined) progress.done = done;
        // Only a checkpoint past where the run began shows the job gets beyond where its process died:
        // one stored again with nothing new (an import's after counting its rows) keeps the takeovers.
        const advanced = progress.done > atClaim.done || progress.stage !== atClaim.stage;
        const updated = await Job.findOneAndUpdate(
          mine,
          { $set: { checkpoint: value, progress: measured(), ...(advanced && { takeovers: 0 }) } },
          { returnDocument: 'after' },
        ).lean<JobDoc>();
        if (!updated) {
          interrupt('lease-lost');
          throw controller.signal.reason;
        }
        dirty = false;
        lastStored = updated;
        toldDatabaseAway = false;
        publishJob(updated);
      },
      holdJob: async (session) => {
        // A write, not a read: the record is then the transaction's until it ends (a read would not
        // stop a takeover committing between it and the batch's commit).
        const held = await Job.findOneAndUpdate(mine, { $set: { 'lease.until': new Date(Date.now() + this.leaseMs) } }, { session, projection: { cancelRequested: 1 } }).lean<
          Pick<JobDoc, 'cancelRequested'>
        >();
        // A cancel stored already (asked through another instance, not yet seen by a tick) writes nothing more either (s14 user U3).
        if (!held || held.cancelRequested) {
          interrupt(held ? 'cancel' : 'lease-lost');
          throw controller.signal.reason;
        }
      },
    };

    const finished = (async () => {
      if (job.cancelRequested) interrupt('cancel');
      else logger.info({ run: job.runs, resumed: job.checkpoint !== null && job.checkpoint !== undefined }, 'job started');
      if (!job.startedAt) await Job.updateOne(mine, { $set: { startedAt: new Date() } });
      let outcome: { result: unknown } | { error: unknown };
      try {
        outcome = { result: job.cancelRequested ? null : await definition.run(context) };
      } catch (error) {
        outcome = { error };
      }
      clearInterval(timer);
      await ticking;
      await this.settle(job, logger, interruption, outcome, measured());
    })()
      .catch((error: unknown) => logger.error({ err: error }, 'job outcome not stored'))
      .finally(() => {
        this.active.delete(jobId);
        this.wake();
      });
    this.active.set(jobId, { interrupt, finished });
  }

  private async settle(job: JobDoc, logger: Logger, interruption: Interruption | null, outcome: { result: unknown } | { error: unknown }, progress: JobProgress): Promise<void> {
    const mine = this.thisRun(job);
    if (interruption === 'lease-lost') {
      logger.warn('lease lost: another instance took the job over; this run stops without storing anything');
      return;
    }
    if (interruption === 'shutdown' || interruption === 'paused') {
      await this.release(job, progress);
      logger.info({ why: interruption }, 'job handed back to the queue');
      return;
    }
    const finishedAt = new Date();
    const free = { 'lease.holder': null, 'lease.until': null, finishedAt, progress: { ...progress, secondsLeft: 0 } };
    let set: Record<string, unknown>;
    if (interruption === 'cancel') {
      // Marked as asked too: a cancel heard in this process may end the run before the request is stored.
      set = { ...free, state: 'cancelled', cancelRequested: true, result: 'result' in outcome ? (outcome.result ?? null) : null };
      logger.info({ done: progress.done }, 'job cancelled; what it did is kept');
    } else if ('error' in outcome && lostDatabase(outcome.error) && (job.databaseLosses ?? 0) < MAX_DATABASE_LOSSES) {
      // A database that stopped answering for a while is no reason to leave half an import failed (s12 user U1).
      logger.warn({ err: outcome.error, run: job.runs }, 'job lost the database: back to the queue, to resume from its checkpoint');
      await this.release(job, progress, true).catch((error: unknown) => logger.warn({ err: error }, 'job not handed back; its lease will lapse and it resumes then'));
      return;
    } else if ('error' in outcome) {
      const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      set = { ...free, state: 'failed', error: message };
      logger.error({ err: outcome.error }, 'job failed');
    } else {
      set = { ...free, state: 'succeeded', result: outcome.result ?? null, progress: { ...progress, done: progress.total ?? progress.done, secondsLeft: 0 } };
      logger.info({ done: progress.done }, 'job succeeded');
    }
    const settled = await Job.findOneAndUpdate(mine, { $set: set, $unset: { activeKey: '' } }, { returnDocument: 'after' }).lean<JobDoc>();
    if (settled) publishJob(settled);
    else logger.warn('lease lost before the outcome was stored');
  }
}
