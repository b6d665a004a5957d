import { expect } from 'chai';
import mongoose from 'mongoose';
import { pino } from 'pino';
import { defineJob } from '../../server/src/jobs/define';
import { Job, type JobDoc } from '../../server/src/jobs/model';
import type { JobView } from '../../server/src/jobs/view';
import { events } from '../../server/src/events/bus';
import { JobRunner } from '../../server/src/jobs/runner';
import { cancelJob, retryJob } from '../../server/src/jobs/service';
import { testMongoUri, uniqueDbName } from '../support/mongo';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const items = () => mongoose.connection.collection<{ jobId: string; n: number; run: number; touches: number }>('test_job_items');

/** Waits until `check` returns something truthy (polling the database), failing after 20 s. */
async function until<T>(what: string, check: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const jobState = (id: string) => Job.findById(id).lean<JobDoc>();

/** A job whose process died running it: `running` with its lease lapsed, at 7 of 12 with its checkpoint → its id. */
async function diedRunning(job: { type: string; params: object; runs: number; takeovers: number }): Promise<string> {
  const [created] = await Job.create([
    { ...job, state: 'running', checkpoint: { next: 7 }, progress: { done: 7, total: 12 }, lease: { holder: 'crashed-instance', until: new Date(Date.now() - 1) } },
  ]);
  return String(created._id);
}

/**
 * Counts from where it left off to `items`, one stored item per step (an upsert, so a step
 * done twice shows as `touches: 2`), a checkpoint every 5 items.
 */
const countJob = defineJob<{ items: number; stepMs: number }, { counted: number }, { next: number }>({
  type: 'test-count',
  async run(ctx) {
    let next = ctx.resumeFrom?.next ?? 0;
    const job = await Job.findById(ctx.jobId, { runs: 1 }).lean();
    await mongoose.connection.collection('test_job_starts').insertOne({ jobId: ctx.jobId, run: job!.runs, from: next });
    ctx.progress(next, ctx.params.items);
    while (next < ctx.params.items) {
      ctx.signal.throwIfAborted();
      await items().updateOne({ jobId: ctx.jobId, n: next }, { $setOnInsert: { run: job!.runs }, $inc: { touches: 1 } }, { upsert: true });
      next += 1;
      if (next % 5 === 0) await ctx.checkpoint({ next }, next);
      else ctx.progress(next);
      await new Promise((resolve) => setTimeout(resolve, ctx.params.stepMs));
    }
    return { counted: next };
  },
});

/** Counts like `test-count`, and may be retried from its checkpoint after a failure. */
const resumableCountJob = defineJob<{ items: number; stepMs: number }, { counted: number }, { next: number }>({
  type: 'test-resumable-count',
  run: (ctx) => countJob.run(ctx),
  retryRefusal: async () => null,
});

/** Stores its checkpoint again as it starts, with nothing new done (as an import does after counting its rows), then waits to be stopped. */
const openingCheckpointJob = defineJob<{ key?: string }, null, { next: number }>({
  type: 'test-opening-checkpoint',
  async run(ctx) {
    await ctx.checkpoint(ctx.resumeFrom ?? { next: 0 }, ctx.resumeFrom?.next ?? 0);
    await mongoose.connection.collection('test_job_starts').insertOne({ jobId: ctx.jobId, opened: true });
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
    ctx.signal.throwIfAborted();
    return null;
  },
});

const words = () => mongoose.connection.collection<{ _id: string }>('test_job_words');

/** Each run waits for its word (`key:run`); the first then loses the database, a later one ends. */
const outageJob = defineJob<{ key: string }, string>({
  type: 'test-outage',
  async run(ctx) {
    const run = (await Job.findById(ctx.jobId, { runs: 1 }).lean())!.runs;
    await until(`run ${run}'s word`, () => words().findOne({ _id: `${ctx.params.key}:${run}` }));
    if (run === 1) throw new mongoose.mongo.MongoNetworkError('connection closed');
    return `run ${run}`;
  },
});

/**
 * Loses the database on each of its first `losses` runs — the driver's network error, or mongoose's
 * timeout of an operation it queued while disconnected — then ends; may be retried after it failed.
 */
const losesDatabaseJob = defineJob<{ losses: number; buffering?: boolean }, string>({
  type: 'test-loses-database',
  async run(ctx) {
    const run = (await Job.findById(ctx.jobId, { runs: 1 }).lean())!.runs;
    if (run <= ctx.params.losses) {
      throw ctx.params.buffering ? new mongoose.Error('Connection operation buffering timed out after 10000ms') : new mongoose.mongo.MongoNetworkError('connection closed');
    }
    return `run ${run}`;
  },
  retryRefusal: async () => null,
});

const fencedItems = () => mongoose.connection.collection<{ jobId: string; run: number }>('test_job_fenced');

/** Each run waits for its word (`key:run`), then writes one item in a transaction that the run's claim on the job fences. */
const fencedJob = defineJob<{ key: string }, string>({
  type: 'test-fenced',
  async run(ctx) {
    const run = (await Job.findById(ctx.jobId, { runs: 1 }).lean())!.runs;
    await until(`run ${run}'s word`, () => words().findOne({ _id: `${ctx.params.key}:${run}` }));
    await mongoose.connection.transaction(async (session) => {
      await ctx.holdJob!(session);
      await fencedItems().insertOne({ jobId: ctx.jobId, run }, { session });
    });
    return `run ${run}`;
  },
});

const onceJob = defineJob<{ key: string }, string>({
  type: 'test-once',
  async run(ctx) {
    await mongoose.connection.collection('test_job_runs').updateOne({ _id: ctx.params.key as never }, { $inc: { count: 1 } }, { upsert: true });
    await new Promise((resolve) => setTimeout(resolve, 5));
    return ctx.params.key;
  },
});

describe('background job runner', function () {
  this.timeout(60_000);
  const runners: JobRunner[] = [];
  const runner = (options: { leaseMs?: number; concurrency?: number } = {}) => {
    const created = new JobRunner({ logger, tickMs: 50, pollMs: 50, leaseMs: options.leaseMs ?? 5_000, concurrency: options.concurrency });
    runners.push(created);
    created.start();
    return created;
  };

  before(async () => {
    await mongoose.connect(await testMongoUri(), { dbName: uniqueDbName('jobs') });
    await Job.init();
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
  });
  after(async () => {
    await mongoose.connection.dropDatabase();
    await mongoose.disconnect();
  });

  it('survives a restart: the job goes back to the queue and the next runner resumes from its checkpoint', async () => {
    const first = runner();
    const job = await countJob.enqueue(null, { items: 40, stepMs: 15 });
    await until('a checkpoint past 10', async () => (((await jobState(job.id))?.checkpoint as { next: number } | null)?.next ?? 0) >= 10);
    await first.stop();
    const stopped = await jobState(job.id);
    expect(stopped!.state).to.equal('queued');
    const resumeAt = (stopped!.checkpoint as { next: number }).next;

    runner();
    const done = await until('the job to finish', async () => {
      const current = await jobState(job.id);
      return current?.state === 'succeeded' && current;
    });
    expect(done.result).to.deep.equal({ counted: 40 });
    expect(done.runs).to.equal(2);
    const stored = await items().find({ jobId: job.id }).sort({ n: 1 }).toArray();
    expect(stored.map((item) => item.n)).to.deep.equal([...Array(40).keys()]);
    // The second run started exactly at the checkpoint: work before it was not done again.
    const starts = await mongoose.connection
      .collection('test_job_starts')
      .find({ jobId: job.id }, { projection: { _id: 0, run: 1, from: 1 } })
      .sort({ run: 1 })
      .toArray();
    expect(starts).to.deep.equal([
      { run: 1, from: 0 },
      { run: 2, from: resumeAt },
    ]);
    expect(stored.filter((item) => item.n < resumeAt).every((item) => item.touches === 1 && item.run === 1)).to.equal(true);
    expect(done.progress).to.include({ done: 40, total: 40 });
  });

  it('takes over a job whose runner died once its lease expires, and resumes from the checkpoint', async () => {
    const [dead] = await Job.create([
      {
        type: 'test-count',
        params: { items: 12, stepMs: 1 },
        state: 'running',
        runs: 1,
        checkpoint: { next: 10 },
        progress: { done: 10, total: 12 },
        lease: { holder: 'crashed-instance', until: new Date(Date.now() - 1) },
      },
    ]);
    const [alive] = await Job.create([
      {
        type: 'test-count',
        params: { items: 12, stepMs: 1 },
        state: 'running',
        runs: 1,
        checkpoint: { next: 3 },
        lease: { holder: 'healthy-instance', until: new Date(Date.now() + 60_000) },
      },
    ]);
    runner();
    const done = await until('the orphaned job to finish', async () => {
      const current = await jobState(String(dead._id));
      return current?.state === 'succeeded' && current;
    });
    expect(done.runs).to.equal(2);
    const stored = await items()
      .find({ jobId: String(dead._id) })
      .sort({ n: 1 })
      .toArray();
    expect(stored.map((item) => item.n)).to.deep.equal([10, 11]);
    // A job whose holder still renews its lease is left alone.
    const untouched = await jobState(String(alive._id));
    expect(untouched).to.deep.include({ state: 'running', runs: 1 });
    expect(untouched!.lease.holder).to.equal('healthy-instance');
  });

  it('stops a job its process died running five times in a row instead of running it again, keeping its checkpoint; a retry continues it from there', async () => {
    const id = await diedRunning({ type: resumableCountJob.type, params: { items: 12, stepMs: 1 }, runs: 5, takeovers: 4 });
    runner();
    const stopped = await until('the job to be stopped', async () => {
      const current = await jobState(id);
      return current?.state === 'failed' && current;
    });
    expect(stopped.error).to.equal(
      'Задание прерывалось 5 раз подряд — сервер останавливался, выполняя его, — и остановлено, чтобы не останавливать сервер снова. Сделанное сохранено; причина — в журнале сервера',
    );
    expect(stopped.checkpoint).to.deep.equal({ next: 7 });
    expect(stopped.progress).to.include({ done: 7, total: 12 });
    expect(stopped.lease.holder).to.equal(null);
    expect(await mongoose.connection.collection('test_job_starts').countDocuments({ jobId: id })).to.equal(0);

    await retryJob(id, 'ru', { userId: String(new mongoose.Types.ObjectId()), ip: '127.0.0.1' });
    const done = await until('the retried job to finish', async () => {
      const current = await jobState(id);
      return current?.state === 'succeeded' && current;
    });
    expect(done.result).to.deep.equal({ counted: 12 });
    expect(done.takeovers).to.equal(0);
    const stored = await items().find({ jobId: id }).sort({ n: 1 }).toArray();
    expect(stored.map((item) => item.n)).to.deep.equal([7, 8, 9, 10, 11]);
  });

  it('counts a takeover whose run stored its checkpoint again without getting further — an import’s opening checkpoint zeroed the count, so its crash loop never stopped (s13 re-attack B2)', async () => {
    const id = await diedRunning({ type: openingCheckpointJob.type, params: {}, runs: 4, takeovers: 3 });
    runner();
    await until('the opening checkpoint', () => mongoose.connection.collection('test_job_starts').findOne({ jobId: id, opened: true }));
    expect(await jobState(id)).to.deep.include({ state: 'running', takeovers: 4 });
    // It waits to be stopped: cancelled, so that it holds no later test's runner.
    await cancelJob(id);
    await until('the job to be cancelled', async () => (await jobState(id))?.state === 'cancelled');
  });

  it('a run whose job this same instance took over (its lease lapsed while the run waited for the database) neither queues nor settles it under the newer run (s13 re-test R1)', async () => {
    runner({ concurrency: 2 });
    const job = await outageJob.enqueue(null, { key: 'r1' });
    await until('run 1', async () => (await jobState(job.id))?.state === 'running');
    await Job.updateOne({ _id: job.id }, { $set: { 'lease.until': new Date(Date.now() - 1) } });
    await until('run 2', async () => (await jobState(job.id))?.runs === 2);
    await words().insertOne({ _id: 'r1:1' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await words().insertOne({ _id: 'r1:2' });
    const ended = await until('the job to end', async () => {
      const current = await jobState(job.id);
      return current && ['succeeded', 'failed'].includes(current.state) && current;
    });
    expect(ended).to.deep.include({ state: 'succeeded', result: 'run 2', runs: 2 });
  });

  it('a job that lost the database too often fails, and «Продолжить» (retryJob) gives it the whole allowance of losses again (s13 re-test R1)', async () => {
    runner();
    // Twenty losses go back to the queue; the 21st fails the job.
    const job = await losesDatabaseJob.enqueue(null, { losses: 23 });
    const failed = await until('the job to fail', async () => {
      const current = await jobState(job.id);
      return current?.state === 'failed' && current;
    });
    expect(failed).to.deep.include({ runs: 21, error: 'connection closed' });
    await retryJob(job.id, 'ru', { userId: String(new mongoose.Types.ObjectId()), ip: '127.0.0.1' });
    const ended = await until('the continued job to end', async () => {
      const current = await jobState(job.id);
      return current && ['succeeded', 'failed'].includes(current.state) && current;
    });
    // Continued, it lost the database twice more and went on each time.
    expect(ended).to.deep.include({ state: 'succeeded', result: 'run 24', databaseLosses: 2 });
  });

  it('takes mongoose’s «buffering timed out» for a lost database too: the job goes back to the queue and goes on, not «сбой на сервере» (s14 user U4)', async () => {
    runner();
    const job = await losesDatabaseJob.enqueue(null, { losses: 2, buffering: true });
    const ended = await until('the job to end', async () => {
      const current = await jobState(job.id);
      return current && ['succeeded', 'failed'].includes(current.state) && current;
    });
    expect(ended).to.deep.include({ state: 'succeeded', result: 'run 3', databaseLosses: 2 });
  });

  it('while its run cannot reach the database the job’s owner is told so live, with no time left, and told the progress again once it can (s13 re-test R1)', async () => {
    let databaseAway = false;
    // The runner asks `paused` (the maintenance state, in the database) before each tick: here it cannot reach it.
    const paused = async () => {
      if (databaseAway) throw new mongoose.mongo.MongoNetworkError('connection closed');
      return false;
    };
    const away = new JobRunner({ logger, tickMs: 50, pollMs: 50, leaseMs: 5_000, paused });
    runners.push(away);
    away.start();
    const told: JobView[] = [];
    const changes = events.subscribe('job-changed')[Symbol.asyncIterator]();
    void (async () => {
      for (let next = await changes.next(); !next.done; next = await changes.next()) told.push(next.value);
    })();
    try {
      const job = await outageJob.enqueue(null, { key: 'away' });
      await until('the job to run', async () => (await jobState(job.id))?.state === 'running');
      databaseAway = true;
      const waiting = await until('the owner to be told', async () => told.find((view) => view.id === job.id && view.waitingForDatabase));
      expect(waiting).to.deep.include({ state: 'running' });
      expect(waiting.progress).to.include({ rate: null, secondsLeft: null });
      databaseAway = false;
      const back = await until('the progress told again', async () => told.slice(told.indexOf(waiting)).find((view) => view.id === job.id && !view.waitingForDatabase));
      expect(back).to.deep.include({ state: 'running', waitingForDatabase: false });
      expect(Date.parse(back.updatedAt)).to.be.at.least(Date.parse(waiting.updatedAt));
      // The stored job never says so: it is told, not written.
      expect(await Job.exists({ _id: job.id, waitingForDatabase: { $exists: true } })).to.equal(null);
      await words().insertMany([{ _id: 'away:1' }, { _id: 'away:2' }]);
      await until('the job to end', async () => (await jobState(job.id))?.state === 'succeeded');
    } finally {
      await changes.return?.();
    }
  });

  it('a run whose job was taken over while it prepared a batch writes nothing of that batch; the run that holds the job writes it once (s14 attack A3)', async () => {
    runner({ concurrency: 2 });
    const job = await fencedJob.enqueue(null, { key: 'a3' });
    await until('run 1', async () => (await jobState(job.id))?.state === 'running');
    await Job.updateOne({ _id: job.id }, { $set: { 'lease.until': new Date(Date.now() - 1) } });
    await until('run 2', async () => (await jobState(job.id))?.runs === 2);
    await words().insertOne({ _id: 'a3:1' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await words().insertOne({ _id: 'a3:2' });
    const ended = await until('the job to end', async () => {
      const current = await jobState(job.id);
      return current && ['succeeded', 'failed'].includes(current.state) && current;
    });
    expect(ended).to.deep.include({ state: 'succeeded', result: 'run 2' });
    expect(
      await fencedItems()
        .find({ jobId: job.id }, { projection: { _id: 0, run: 1 } })
        .toArray(),
    ).to.deep.equal([{ run: 2 }]);
  });

  it('a batch begun after its job’s cancel was stored — asked through another instance, not yet heard here — writes nothing (s14 user U3)', async () => {
    runner();
    const job = await fencedJob.enqueue(null, { key: 'u3' });
    await until('run 1', async () => (await jobState(job.id))?.state === 'running');
    await Job.updateOne({ _id: job.id }, { $set: { cancelRequested: true } });
    await words().insertOne({ _id: 'u3:1' });
    const ended = await until('the job to end', async () => {
      const current = await jobState(job.id);
      return current && ['succeeded', 'failed', 'cancelled'].includes(current.state) && current;
    });
    expect(ended.state).to.equal('cancelled');
    expect(await fencedItems().countDocuments({ jobId: job.id })).to.equal(0);
  });

  it('cancel stops the job and keeps what it did', async () => {
    runner();
    const job = await countJob.enqueue(null, { items: 10_000, stepMs: 5 });
    await until('some progress', async () => ((await jobState(job.id))?.progress.done ?? 0) >= 8);
    const cancelling = await cancelJob(job.id);
    expect(cancelling!.cancelRequested).to.equal(true);
    const cancelled = await until('the job to stop', async () => {
      const current = await jobState(job.id);
      return current?.state === 'cancelled' && current;
    });
    const kept = await items().countDocuments({ jobId: job.id });
    expect(kept).to.be.at.least(8).and.below(10_000);
    expect(cancelled.progress.done).to.equal(kept);
    expect(cancelled.finishedAt).to.be.instanceOf(Date);
  });

  it('cancels a queued job before it starts', async () => {
    const job = await onceJob.enqueue(null, { key: 'never' });
    const cancelled = await cancelJob(job.id);
    expect(cancelled!.state).to.equal('cancelled');
    runner();
    await onceJob.enqueue(null, { key: 'after' }).then((next) => until('the next job', async () => (await jobState(next.id))?.state === 'succeeded'));
    expect(await mongoose.connection.collection('test_job_runs').findOne({ _id: 'never' as never })).to.equal(null);
  });

  it('two runners on one database never run a job twice', async () => {
    runner({ concurrency: 3 });
    runner({ concurrency: 3 });
    const jobs = await Promise.all([...Array(30).keys()].map((i) => onceJob.enqueue(null, { key: `job-${i}` })));
    await until('every job to finish', async () => (await Job.countDocuments({ _id: { $in: jobs.map((j) => j.id) }, state: 'succeeded' })) === 30);
    const counts = await mongoose.connection
      .collection<{ _id: string; count: number }>('test_job_runs')
      .find({ _id: { $in: jobs.map((_, i) => `job-${i}`) } })
      .toArray();
    expect(counts).to.have.length(30);
    expect(counts.every((c) => c.count === 1)).to.equal(true);
    expect(await Job.countDocuments({ _id: { $in: jobs.map((j) => j.id) }, runs: 1 })).to.equal(30);
  });
});
