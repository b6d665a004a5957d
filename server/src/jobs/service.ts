import { Types } from 'mongoose';
import { runnerSignals, publishJob } from './define';
import { Job, type JobDoc } from './model';

export interface JobFilter {
  /** Only this user's jobs; undefined = everyone's (administrators). */
  ownerId?: string;
  type?: string | null;
  first: number;
  /** Cursor: the id of the last job of the previous page. */
  after?: string | null;
}

/** Jobs newest first, a page at a time. */
export async function listJobs(filter: JobFilter) {
  const query: Record<string, unknown> = {};
  if (filter.ownerId !== undefined) query.ownerId = new Types.ObjectId(filter.ownerId);
  if (filter.type) query.type = filter.type;
  const limit = Math.min(Math.max(filter.first, 1), 100);
  const page = filter.after ? { ...query, _id: { $lt: new Types.ObjectId(filter.after) } } : query;
  const [rows, totalCount] = await Promise.all([
    Job.find(page)
      .sort({ _id: -1 })
      .limit(limit + 1)
      .lean<JobDoc[]>(),
    Job.countDocuments(query),
  ]);
  const edges = rows.slice(0, limit).map((node) => ({ node, cursor: String(node._id) }));
  return { edges, totalCount, pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null } };
}

export async function findJob(id: string): Promise<JobDoc | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  return Job.findById(id).lean<JobDoc>();
}

/**
 * Cancels a job: a queued one at once, a running one as soon as its runner notices (within a
 * tick); what it has done so far is kept. A finished job is returned unchanged.
 */
export async function cancelJob(id: string): Promise<JobDoc | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  const _id = new Types.ObjectId(id);
  const queued = await Job.findOneAndUpdate(
    { _id, state: 'queued' },
    { $set: { state: 'cancelled', cancelRequested: true, finishedAt: new Date(), 'lease.holder': null, 'lease.until': null }, $unset: { activeKey: '' } },
    { returnDocument: 'after' },
  ).lean<JobDoc>();
  if (queued) {
    publishJob(queued);
    return queued;
  }
  const running = await Job.findOneAndUpdate({ _id, state: 'running' }, { $set: { cancelRequested: true } }, { returnDocument: 'after' }).lean<JobDoc>();
  if (running) {
    publishJob(running);
    runnerSignals.emit('cancel', id);
    return running;
  }
  return Job.findById(_id).lean<JobDoc>();
}
