import type { Actor } from '../access/actor';
import { events } from '../events/bus';
import { openLiveStream } from '../live/streams';
import type { GraphQLContext } from '../graphql/context';
import { notFound } from '../errors';
import { requireActor } from '../graphql/guards';
import type { GraphQLModule } from '../graphql/module';
import { isObjectIdText, refuseField } from '../validation';
import { jobDefinition } from './define';
import type { JobDoc } from './model';
import { cancelJob, findJob, listJobs, retryJob } from './service';
import { jobView, type JobView } from './view';

const jobWord = (actor: Actor) => (actor.locale === 'ru' ? 'Задание' : 'Job');

/** Jobs are seen by their owner and by administrators; to anyone else they do not exist. */
const maySee = (actor: Actor, job: Pick<JobView, 'ownerId'>) => actor.isAdmin || job.ownerId === actor.userId;

async function visibleJob(actor: Actor, id: string): Promise<JobDoc | null> {
  const job = await findJob(id);
  return job && maySee(actor, jobView(job)) ? job : null;
}

const asView = (job: JobDoc | JobView): JobView => ('_id' in job ? jobView(job) : job);

/**
 * One job's current state, then its changes. The bus listener is attached before the state is
 * read, so a change made while a page subscribes is never lost between the two: a job that ends
 * before its page subscribes (or while the page reconnects) still arrives as ended. Changes
 * published during the read follow the state (a client keeps the newest by updatedAt).
 */
async function* currentThenChanges(id: string): AsyncGenerator<JobView> {
  const changes = events.subscribe('job-changed')[Symbol.asyncIterator]();
  // The first pull starts the subscription (the listener is added synchronously).
  const first = changes.next();
  try {
    const job = await findJob(id);
    if (job) yield jobView(job);
    for (let next = await first; !next.done; next = await changes.next()) yield next.value;
  } finally {
    await changes.return?.();
  }
}

export const jobsModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    enum JobState { queued running succeeded failed cancelled }
    type JobProgress {
      done: Float!
      "Null while the amount of work is not known."
      total: Float
      "Items per second in the current run."
      rate: Float
      secondsLeft: Int
      note: String!
      "The stage under way of a job that works in stages (a key its page names: a duplicate scan's \`reading\`, \`indexing\`, \`comparing\`, \`grouping\`), empty otherwise; \`done\`, \`total\`, \`rate\` and \`secondsLeft\` are that stage's."
      stage: String!
    }
    "Long work run in the background: an import, a backup, a duplicate scan…"
    type Job {
      id: ID!
      type: String!
      state: JobState!
      "Null for the server's own work (e.g. a scheduled backup)."
      ownerId: ID
      progress: JobProgress!
      params: JSON
      result: JSON
      """
      Why it failed, as recorded for the log. Administrators always see it; the owner sees it only
      for kinds of jobs that fail with messages meant for them (else read errorMessage).
      """
      error: String
      "Why it failed, in the viewer's language, with what they can do (null unless it failed)."
      errorMessage: String
      "Whether cancelJob may stop it; false for kinds of work that cannot stop halfway (cancelRefusal says why)."
      cancellable: Boolean!
      "Why this kind of job cannot be cancelled, in the viewer's language (null when it can)."
      cancelRefusal: String
      "Whether retryJob may run it again from where it stopped (a failed job of a kind that resumes, whose situation allows it now)."
      retryable: Boolean!
      cancelRequested: Boolean!
      "How many times it was started (more than once after a restart)."
      runs: Int!
      "True while its run cannot reach the database and keeps trying (told live, never stored): no progress is being made, and the time left means nothing."
      waitingForDatabase: Boolean!
      "When its state, progress or lease last changed: of two snapshots of a job, the later one is current."
      updatedAt: DateTime!
      createdAt: DateTime!
      startedAt: DateTime
      finishedAt: DateTime
    }
    type JobEdge { node: Job!, cursor: String! }
    type JobConnection { edges: [JobEdge!]!, pageInfo: PageInfo!, totalCount: Int! }

    extend type Query {
      "The viewer's jobs, newest first; administrators may ask for everyone's."
      jobs(type: String, allUsers: Boolean = false, first: Int = 20, after: String): JobConnection!
      job(id: ID!): Job
    }
    extend type Mutation {
      "Stops a job; what it has done so far is kept. Refused (FORBIDDEN, with the reason) for kinds of jobs that cannot stop halfway."
      cancelJob(id: ID!): Job!
      "Runs a failed job again from where it stopped (what it did stays done); refused (CONFLICT, with the reason) when its kind or its situation does not allow it."
      retryJob(id: ID!): Job!
    }
    extend type Subscription {
      "Changes of the viewer's jobs (administrators: of every job); or, for the one job given, its current state first and then its changes."
      jobEvents(id: ID): Job!
    }
  `,
  resolvers: {
    Job: {
      id: (job: JobDoc | JobView) => asView(job).id,
      ownerId: (job: JobDoc | JobView) => asView(job).ownerId,
      progress: (job: JobDoc | JobView) => asView(job).progress,
      error: async (job: JobDoc | JobView, _a: unknown, context: GraphQLContext) => {
        const view = asView(job);
        return jobDefinition(view.type)?.failureMessage && !(await requireActor(context)).isAdmin ? null : view.error;
      },
      errorMessage: async (job: JobDoc | JobView, _a: unknown, context: GraphQLContext) => {
        const view = asView(job);
        if (view.state !== 'failed') return null;
        const describe = jobDefinition(view.type)?.failureMessage;
        return describe ? describe(view, (await requireActor(context)).locale) : view.error;
      },
      waitingForDatabase: (job: JobDoc | JobView) => asView(job).waitingForDatabase,
      cancellable: (job: JobDoc | JobView) => !jobDefinition(asView(job).type)?.cancelRefusal,
      cancelRefusal: async (job: JobDoc | JobView, _a: unknown, context: GraphQLContext) =>
        jobDefinition(asView(job).type)?.cancelRefusal?.[(await requireActor(context)).locale] ?? null,
      // Asked of the job as it is now, so «Продолжить с места остановки» is offered only where retryJob would take it.
      retryable: async (job: JobDoc | JobView, _a: unknown, context: GraphQLContext) => {
        const view = asView(job);
        const refusal = jobDefinition(view.type)?.retryRefusal;
        if (view.state !== 'failed' || !refusal) return false;
        const stored = '_id' in job ? job : await findJob(view.id);
        return Boolean(stored) && (await refusal(stored!, (await requireActor(context)).locale)) === null;
      },
    },
    Query: {
      jobs: async (_p, args: { type?: string; allUsers: boolean; first: number; after?: string }, context) => {
        const actor = await requireActor(context);
        // The cursor is the id of the last job of the previous page: anything else is refused, not ignored.
        if (args.after && !isObjectIdText(args.after)) refuseField(actor.locale, 'after', 'badCursor');
        return listJobs({ ownerId: args.allUsers && actor.isAdmin ? undefined : actor.userId, type: args.type, first: args.first, after: args.after });
      },
      job: async (_p, { id }: { id: string }, context) => visibleJob(await requireActor(context), id),
    },
    Mutation: {
      cancelJob: async (_p, { id }: { id: string }, context) => {
        const actor = await requireActor(context);
        if (!(await visibleJob(actor, id))) throw notFound(actor, jobWord(actor));
        return cancelJob(id, actor.locale);
      },
      retryJob: async (_p, { id }: { id: string }, context) => {
        const actor = await requireActor(context);
        if (!(await visibleJob(actor, id))) throw notFound(actor, jobWord(actor));
        return retryJob(id, actor.locale, { userId: actor.userId, ip: actor.ip });
      },
    },
    Subscription: {
      jobEvents: {
        subscribe: async (_p, { id }: { id?: string }, context: GraphQLContext) => {
          const actor = await requireActor(context);
          if (id && !(await visibleJob(actor, id))) throw notFound(actor, jobWord(actor));
          // Delivered to the job's owner and to administrators, as of the access snapshot at each event.
          return openLiveStream<JobView, JobView>(context, {
            source: id ? currentThenChanges(id) : events.subscribe('job-changed'),
            audience: (event) => ({ userIds: event.ownerId ? [event.ownerId] : [], administrators: true }),
            present: (event) => (!id || event.id === id ? event : null),
          });
        },
        resolve: (event: JobView) => event,
      },
    },
  },
};
