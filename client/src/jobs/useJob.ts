import { createClient } from 'graphql-sse';
import { onScopeDispose, ref, watch, type Ref } from 'vue';
import { graphql } from '../api/graphql';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobSnapshot {
  id: string;
  type: string;
  state: JobState;
  progress: { done: number; total: number | null; rate: number | null; secondsLeft: number | null; note: string };
  result: unknown;
  error: string | null;
  cancelRequested: boolean;
}

const JOB_FIELDS = 'id type state progress { done total rate secondsLeft note } result error cancelRequested';
export const FINISHED: JobState[] = ['succeeded', 'failed', 'cancelled'];

/**
 * A background job, kept current: loaded once, then updated by the server's live `jobEvents`
 * stream (server-sent events) until it finishes or the caller's scope ends.
 */
export function useJob(jobId: Ref<string>) {
  const job = ref<JobSnapshot | null>(null);
  const error = ref<string | null>(null);
  let stop: (() => void) | null = null;

  function close(): void {
    stop?.();
    stop = null;
  }

  async function follow(id: string): Promise<void> {
    close();
    job.value = null;
    error.value = null;
    const client = createClient({ url: '/graphql', credentials: 'same-origin', retryAttempts: 5 });
    const unsubscribe = client.subscribe<{ jobEvents: JobSnapshot }>(
      { query: `subscription JobEvents($id: ID) { jobEvents(id: $id) { ${JOB_FIELDS} } }`, variables: { id } },
      {
        next: ({ data }) => {
          if (data?.jobEvents) job.value = data.jobEvents;
          if (job.value && FINISHED.includes(job.value.state)) close();
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    stop = () => {
      unsubscribe();
      client.dispose();
    };
    try {
      const data = await graphql<{ job: JobSnapshot | null }>(`query Job($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id });
      // An event may have arrived first; it is never older than the loaded state.
      if (!job.value && data.job) job.value = data.job;
      if (job.value && FINISHED.includes(job.value.state)) close();
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  async function cancel(): Promise<void> {
    if (!job.value) return;
    try {
      const data = await graphql<{ cancelJob: JobSnapshot }>(`mutation CancelJob($id: ID!) { cancelJob(id: $id) { ${JOB_FIELDS} } }`, { id: job.value.id });
      job.value = data.cancelJob;
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  watch(jobId, (id) => void follow(id), { immediate: true });
  onScopeDispose(close);
  return { job, error, cancel };
}
