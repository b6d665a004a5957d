import type { JobDoc, JobProgress, JobState } from './model';

declare module '../events/bus' {
  interface ModuleTopics {
    /** A background job was created or changed state or progress. */
    'job-changed': [JobView];
  }
}

/**
 * A job as the API and the event bus carry it: JSON-safe, so it crosses Redis unchanged when
 * several instances share the bus.
 */
export interface JobView {
  id: string;
  type: string;
  ownerId: string | null;
  state: JobState;
  progress: JobProgress;
  params: Record<string, unknown>;
  result: unknown;
  error: string | null;
  cancelRequested: boolean;
  runs: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Told live (never stored) while its run cannot reach the database and keeps trying: no progress is being made. */
  waitingForDatabase: boolean;
}

const iso = (date: Date | null | undefined) => (date ? new Date(date).toISOString() : null);

export function jobView(job: JobDoc, waitingForDatabase = false): JobView {
  return {
    id: String(job._id),
    type: job.type,
    ownerId: job.ownerId ? String(job.ownerId) : null,
    state: job.state,
    progress: {
      done: job.progress?.done ?? 0,
      total: job.progress?.total ?? null,
      rate: job.progress?.rate ?? null,
      secondsLeft: job.progress?.secondsLeft ?? null,
      note: job.progress?.note ?? '',
      stage: job.progress?.stage ?? '',
    },
    params: job.params ?? {},
    result: job.result ?? null,
    error: job.error ?? null,
    cancelRequested: job.cancelRequested ?? false,
    runs: job.runs ?? 0,
    createdAt: iso(job.createdAt)!,
    updatedAt: iso(job.updatedAt ?? job.createdAt)!,
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    waitingForDatabase,
  };
}
