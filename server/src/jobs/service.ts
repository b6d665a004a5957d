import { Types } from 'mongoose';
import { AppError } from '../errors';
import type { Locale } from '../i18n';
import { announceJob, jobDefinition, runnerSignals, publishJob } from './define';
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
 * Cancels a job: a queued one at once, a running one as soon as its runner notices (at once in
 * this process, within a tick in another); what it has done so far is kept. A finished job is returned unchanged. A job whose type
 * may not be cancelled is refused (FORBIDDEN) with the type's reason, in `locale`.
 */
export async function cancelJob(id: string, locale: Locale = 'ru'): Promise<JobDoc | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  const _id = new Types.ObjectId(id);
  const job = await Job.findById(_id, { type: 1, state: 1 }).lean<Pick<JobDoc, 'type' | 'state'>>();
  const refusal = job ? jobDefinition(job.type)?.cancelRefusal : undefined;
  if (refusal) throw new AppError('FORBIDDEN', refusal[locale]);
  // A runner of this process hears of it before it is stored: storing it waits for the transaction of
  // the batch under way, which holds the job's record, and that batch is then rolled back, not
  // committed (s14 user U3: the request took 6.8 s and one more batch of 500 was written).
  if (job?.state === 'running') runnerSignals.emit('cancel', id);
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

/**
 * Runs a failed job again from its last checkpoint (what it did stays done), when its type allows
 * it (`retryRefusal`), with the whole allowance of database losses again; refused with the reason (CONFLICT) otherwise. Who asked (`by`) is stored as
 * `continuedBy` (the job's run sees it). Returns the job queued again.
 */
export async function retryJob(id: string, locale: Locale, by: { userId: string; ip: string }): Promise<JobDoc | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  const job = await Job.findById(id).lean<JobDoc>();
  if (!job) return null;
  const check = jobDefinition(job.type)?.retryRefusal;
  const refusal =
    job.state !== 'failed'
      ? locale === 'ru'
        ? 'Повторить можно только задание, которое завершилось ошибкой'
        : 'Only a job that failed can be run again'
      : check
        ? await check(job, locale)
        : locale === 'ru'
          ? 'Задание этого вида нельзя повторить: запустите его заново'
          : 'A job of this kind cannot be run again: start it anew';
  if (refusal) throw new AppError('CONFLICT', refusal);
  const queued = await Job.findOneAndUpdate(
    { _id: job._id, state: 'failed' },
    {
      $set: {
        state: 'queued',
        error: null,
        finishedAt: null,
        cancelRequested: false,
        'lease.holder': null,
        'lease.until': null,
        databaseLosses: 0,
        continuedBy: { userId: new Types.ObjectId(by.userId), ip: by.ip },
      },
    },
    { returnDocument: 'after' },
  ).lean<JobDoc>();
  if (queued) announceJob(queued);
  return queued ?? Job.findById(job._id).lean<JobDoc>();
}
