import { expect } from 'chai';
import mongoose from 'mongoose';
import { defineJob } from '../../server/src/jobs/define';
import type { RunningServer } from '../../server/src/server';
import { createUser } from '../support/fixtures';
import { SseSubscription } from '../support/sse';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';

/** Steps through `steps` items until cancelled, reporting progress after each. */
const stepsJob = defineJob<{ steps: number }, { steps: number }>({
  type: 'test-api-steps',
  async run(ctx) {
    for (let done = 1; done <= ctx.params.steps; done += 1) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      ctx.signal.throwIfAborted();
      ctx.progress(done, ctx.params.steps, `step ${done}`);
    }
    return { steps: ctx.params.steps };
  },
});

/** Reports one of two steps, then waits for the test to open the gate. */
let openGate: () => void = () => undefined;
const gatedJob = defineJob<Record<string, never>, { gated: true }>({
  type: 'test-api-gated',
  async run(ctx) {
    ctx.progress(1, 2);
    await new Promise<void>((resolve) => (openGate = resolve));
    return { gated: true };
  },
});

/**
 * Counts `steps` items, checkpointing after each, while the database «goes away» under it: the run
 * after each checkpoint in `losses` throws the network error of mongoose's driver, as a database
 * that stopped answering for a while does.
 */
const losesDatabaseJob = defineJob<{ steps: number; losses: number }, { steps: number; startedAt: number[] }, { next: number; startedAt: number[] }>({
  type: 'test-api-loses-database',
  async run(ctx) {
    const startedAt = [...(ctx.resumeFrom?.startedAt ?? []), ctx.resumeFrom?.next ?? 0];
    for (let next = ctx.resumeFrom?.next ?? 0; next < ctx.params.steps; next += 1) {
      if (startedAt.length <= ctx.params.losses && next === startedAt.at(-1)! + 1) throw new mongoose.mongo.MongoNetworkError('connection 3 to 127.0.0.1:27017 timed out');
      await ctx.checkpoint({ next: next + 1, startedAt }, next + 1);
    }
    return { steps: ctx.params.steps, startedAt };
  },
});

type JobEvent = { jobEvents: { id: string; state: string; ownerId: string; progress: { done: number; total: number }; result: unknown; updatedAt: string } };
/** Waits for an event matching `predicate` (or fails after `timeoutMs` without one). */
async function waitUntil(events: SseSubscription<JobEvent>, predicate: (event: JobEvent) => boolean, timeoutMs = 20_000): Promise<void> {
  while (!events.received.some(predicate)) await events.waitFor(events.received.length + 1, timeoutMs);
}

const JOB_FIELDS = 'id state ownerId progress { done total rate secondsLeft note } result error updatedAt';

describe('background jobs (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  const subscriptions: SseSubscription<unknown>[] = [];

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const subscription of subscriptions) subscription.close();
    await server?.stop();
  });

  it('publishes a job’s progress to its owner and administrators, never to another user', async () => {
    const admin = await signedIn(server);
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    const ownerId = await createUser(admin, { login: 'owner', fullName: 'Владелец', password: PASSWORD, departmentId });
    const otherId = await createUser(admin, { login: 'other', fullName: 'Другой', password: PASSWORD, departmentId });
    const owner = await signedIn(server, 'owner', PASSWORD);
    const other = await signedIn(server, 'other', PASSWORD);

    const ownerEvents = new SseSubscription<JobEvent>(server.url, owner.cookieHeader(), `subscription { jobEvents { ${JOB_FIELDS} } }`);
    const otherEvents = new SseSubscription<JobEvent>(server.url, other.cookieHeader(), `subscription { jobEvents { ${JOB_FIELDS} } }`);
    const adminEvents = new SseSubscription<JobEvent>(server.url, admin.cookieHeader(), `subscription { jobEvents { ${JOB_FIELDS} } }`);
    subscriptions.push(ownerEvents, otherEvents, adminEvents);
    await Promise.all([ownerEvents.ready, otherEvents.ready, adminEvents.ready]);
    // A stream takes events once the server has begun reading it: each user's stream (and the
    // administrator's) is known to be live once a job of that user's own has reached it.
    const probes: string[] = [];
    for (const [userId, streams] of [
      [ownerId, [ownerEvents, adminEvents]],
      [otherId, [otherEvents, adminEvents]],
    ] as const) {
      await waitFor(
        async () => {
          const probe = await stepsJob.enqueue(userId, { steps: 0 });
          probes.push(probe.id);
          const reached = (stream: SseSubscription<JobEvent>) =>
            waitUntil(stream, (e) => e.jobEvents.id === probe.id, 2000).then(
              () => true,
              () => false,
            );
          return (await Promise.all(streams.map(reached))).every(Boolean);
        },
        'the job streams to be live',
        30_000,
      );
    }

    const job = await stepsJob.enqueue(ownerId, { steps: 20 });
    const succeeded = (e: JobEvent) => e.jobEvents.id === job.id && e.jobEvents.state === 'succeeded';
    await Promise.all([waitUntil(ownerEvents, succeeded), waitUntil(adminEvents, succeeded)]);

    const states = ownerEvents.received.filter((e) => e.jobEvents.id === job.id).map((e) => e.jobEvents.state);
    expect(states[0]).to.equal('queued');
    expect(states.at(-1)).to.equal('succeeded');
    const progress = ownerEvents.received.filter((e) => e.jobEvents.state === 'running' && e.jobEvents.progress.done > 0);
    expect(progress.length).to.be.at.least(1);
    expect(progress.every((e) => e.jobEvents.id === job.id && e.jobEvents.progress.total === 20)).to.equal(true);
    expect(adminEvents.received.map((e) => e.jobEvents.id)).to.include(job.id);
    expect(otherEvents.received.filter((e) => e.jobEvents.ownerId !== otherId)).to.deep.equal([]);

    // The same job through queries: the owner and administrators see it, the other user does not.
    const own = await owner.data<{ jobs: { totalCount: number; edges: { node: { id: string; state: string; result: unknown } }[] } }>(
      `{ jobs { totalCount edges { node { ${JOB_FIELDS} } } } }`,
    );
    expect(own.jobs.edges.map((e) => e.node)).to.deep.include.members([{ ...own.jobs.edges[0].node, id: job.id, state: 'succeeded', result: { steps: 20 } }]);
    expect((await other.data<{ job: unknown }>('query($id: ID!) { job(id: $id) { id } }', { id: job.id })).job).to.equal(null);
    const listed = async (client: typeof admin) =>
      (await client.data<{ jobs: { edges: { node: { id: string; ownerId: string } }[] } }>('{ jobs(allUsers: true) { edges { node { id ownerId } } } }')).jobs.edges.map(
        (e) => e.node,
      );
    expect((await listed(other)).filter((j) => j.ownerId !== otherId)).to.deep.equal([]);
    expect((await listed(admin)).map((j) => j.id)).to.include(job.id);
    const refused = await other.request('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id: job.id });
    expect(refused.errors?.[0].extensions?.code).to.equal('NOT_FOUND');

    // Paging: the next page starts after the cursor; a cursor that is not one is refused at `after`.
    const firstPage = await admin.data<{ jobs: { edges: { node: { id: string } }[]; pageInfo: { endCursor: string } } }>(
      '{ jobs(allUsers: true, first: 1) { edges { node { id } } pageInfo { endCursor } } }',
    );
    expect(firstPage.jobs.edges.map((e) => e.node.id)).to.deep.equal([job.id]);
    const nextPage = await admin.data<{ jobs: { edges: { node: { id: string } }[] } }>('query($after: String) { jobs(allUsers: true, after: $after) { edges { node { id } } } }', {
      after: firstPage.jobs.pageInfo.endCursor,
    });
    // The rest: the earlier jobs that showed the streams live.
    expect(nextPage.jobs.edges.map((e) => e.node.id)).to.have.members(probes);
    const badCursor = await admin.request('{ jobs(after: "not-a-cursor") { totalCount } }');
    expect(badCursor.errors?.[0].extensions).to.deep.include({ code: 'BAD_USER_INPUT', fields: { after: 'Неверный курсор страницы: откройте список с начала' } });
  });

  it('cancelJob stops a running job for its owner and keeps its progress', async () => {
    const admin = await signedIn(server);
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const job = await stepsJob.enqueue(adminId, { steps: 10_000 });
    const events = new SseSubscription<JobEvent>(server.url, admin.cookieHeader(), `subscription { jobEvents(id: "${job.id}") { ${JOB_FIELDS} } }`);
    subscriptions.push(events);
    await events.ready;
    await waitUntil(events, (e) => e.jobEvents.progress.done >= 3);
    const cancelling = await admin.data<{ cancelJob: { state: string } }>(`mutation($id: ID!) { cancelJob(id: $id) { ${JOB_FIELDS} } }`, { id: job.id });
    expect(cancelling.cancelJob.state).to.be.oneOf(['running', 'cancelled']);
    await waitUntil(events, (e) => e.jobEvents.state === 'cancelled');
    const final = await admin.data<{ job: { state: string; progress: { done: number } } }>(`query($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id: job.id });
    expect(final.job.state).to.equal('cancelled');
    expect(final.job.progress.done).to.be.at.least(3).and.below(10_000);
  });

  it('a job that loses the database goes back to the queue and resumes from its checkpoint, rather than failing halfway (s12 user U1); one that never gets it back fails in the end', async () => {
    const admin = await signedIn(server);
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const stateOf = async (id: string) =>
      (
        await admin.data<{ job: { state: string; result: { steps: number; startedAt: number[] } | null; error: string | null } }>(
          `query($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`,
          { id },
        )
      ).job;
    const job = await losesDatabaseJob.enqueue(adminId, { steps: 5, losses: 3 });
    await waitFor(async () => !['queued', 'running'].includes((await stateOf(job.id)).state), 'the job to end');
    const ended = await stateOf(job.id);
    expect(ended.state, ended.error ?? '').to.equal('succeeded');
    // Three runs lost the database one step after where they began; each next one began where the last checkpoint was.
    expect(ended.result).to.deep.equal({ steps: 5, startedAt: [0, 1, 2, 3] });

    const hopeless = await losesDatabaseJob.enqueue(adminId, { steps: 100, losses: 100 });
    await waitFor(async () => (await stateOf(hopeless.id)).state === 'failed', 'the job to fail', 60_000);
    expect((await stateOf(hopeless.id)).error).to.equal('connection 3 to 127.0.0.1:27017 timed out');
  });

  it('a job followed by its id arrives as it is now, first: one that ended before anyone listened shows as ended', async () => {
    const admin = await signedIn(server);
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const job = await stepsJob.enqueue(adminId, { steps: 0 });
    const stateOf = async () => (await admin.data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id: job.id })).job.state;
    await waitFor(async () => (await stateOf()) === 'succeeded', 'the job to succeed');

    // The page subscribes only now, after the last change was published: the stream's first event
    // is the end. (The id written into the query, not as a variable: both must reach the resolver.)
    const events = new SseSubscription<JobEvent>(server.url, admin.cookieHeader(), `subscription { jobEvents(id: "${job.id}") { ${JOB_FIELDS} } }`);
    subscriptions.push(events);
    const [first] = await events.waitFor(1, 20_000);
    expect(first.jobEvents).to.deep.include({ id: job.id, state: 'succeeded', result: { steps: 0 } });
  });

  it('a job followed while it runs: its current state comes first, then every change up to its end, each no older than the last', async () => {
    const admin = await signedIn(server);
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const job = await gatedJob.enqueue(adminId, {});
    const progressOf = async () =>
      (await admin.data<{ job: { state: string; progress: { done: number } } }>('query($id: ID!) { job(id: $id) { state progress { done } } }', { id: job.id })).job;
    await waitFor(async () => (await progressOf()).progress.done === 1, 'the job to report its first step');

    const events = new SseSubscription<JobEvent>(server.url, admin.cookieHeader(), `subscription($id: ID) { jobEvents(id: $id) { ${JOB_FIELDS} } }`, { id: job.id });
    subscriptions.push(events);
    const [first] = await events.waitFor(1, 20_000);
    expect(first.jobEvents).to.deep.include({ id: job.id, state: 'running' });
    expect(first.jobEvents.progress.done).to.equal(1);

    openGate();
    await waitUntil(events, (e) => e.jobEvents.state === 'succeeded');
    const seen = events.received.map((e) => e.jobEvents);
    expect(seen.at(-1)).to.deep.include({ state: 'succeeded', result: { gated: true } });
    const times = seen.map((e) => Date.parse(e.updatedAt));
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
    expect(times.at(-1)).to.be.above(Date.parse(first.jobEvents.updatedAt) - 1);
  });
});
