import type { Actor } from '../access/actor';
import { events } from '../events/bus';
import { openLiveStream } from '../live/streams';
import type { GraphQLContext } from '../graphql/context';
import { notFound } from '../errors';
import { requireActor } from '../graphql/guards';
import type { GraphQLModule } from '../graphql/module';
import { isObjectIdText, refuseField } from '../validation';
import type { JobDoc } from './model';
import { cancelJob, findJob, listJobs } from './service';
import { jobView, type JobView } from './view';

const jobWord = (actor: Actor) => (actor.locale === 'ru' ? 'Задание' : 'Job');

/** Jobs are seen by their owner and by administrators; to anyone else they do not exist. */
const maySee = (actor: Actor, job: Pick<JobView, 'ownerId'>) => actor.isAdmin || job.ownerId === actor.userId;

async function visibleJob(actor: Actor, id: string): Promise<JobDoc | null> {
  const job = await findJob(id);
  return job && maySee(actor, jobView(job)) ? job : null;
}

const asView = (job: JobDoc | JobView): JobView => ('_id' in job ? jobView(job) : job);

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
      error: String
      cancelRequested: Boolean!
      "How many times it was started (more than once after a restart)."
      runs: Int!
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
      "Stops a job; what it has done so far is kept."
      cancelJob(id: ID!): Job!
    }
    extend type Subscription {
      "Changes of the viewer's jobs (administrators: of every job), or of the one job given."
      jobEvents(id: ID): Job!
    }
  `,
  resolvers: {
    Job: {
      id: (job: JobDoc | JobView) => asView(job).id,
      ownerId: (job: JobDoc | JobView) => asView(job).ownerId,
      progress: (job: JobDoc | JobView) => asView(job).progress,
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
        return cancelJob(id);
      },
    },
    Subscription: {
      jobEvents: {
        subscribe: async (_p, { id }: { id?: string }, context: GraphQLContext) => {
          const actor = await requireActor(context);
          if (id && !(await visibleJob(actor, id))) throw notFound(actor, jobWord(actor));
          // Delivered to the job's owner and to administrators, as of the access snapshot at each event.
          return openLiveStream<JobView, JobView>(context, {
            source: events.subscribe('job-changed'),
            audience: (event) => ({ userIds: event.ownerId ? [event.ownerId] : [], administrators: true }),
            present: (event) => (!id || event.id === id ? event : null),
          });
        },
        resolve: (event: JobView) => event,
      },
    },
  },
};
