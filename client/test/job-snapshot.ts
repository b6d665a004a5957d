import type { JobSnapshot } from '../src/jobs/useJob';

type SnapshotFields = Partial<Omit<JobSnapshot, 'progress'>> & { progress?: Partial<JobSnapshot['progress']> };

/** A job as its stream delivers it — an import running, cancellable, nothing failed — with the fields a test sets. */
export function jobSnapshot({ progress, ...fields }: SnapshotFields = {}): JobSnapshot {
  return {
    id: 'j1',
    type: 'import',
    state: 'running',
    progress: { done: 0, total: null, rate: null, secondsLeft: null, note: '', stage: '', ...progress },
    result: null,
    error: null,
    errorMessage: null,
    cancellable: true,
    cancelRefusal: null,
    retryable: false,
    cancelRequested: false,
    waitingForDatabase: false,
    updatedAt: '2026-11-26T15:00:00.000Z',
    ...fields,
  };
}
