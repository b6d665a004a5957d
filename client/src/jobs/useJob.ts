import { createClient } from 'graphql-sse';
import { onScopeDispose, ref, watch, type Ref } from 'vue';
import { graphql, request, subscribe, type ResultOf } from '../api/graphql';

const JobFields = graphql(
  `fragment JobFields on Job { id type state progress { done total rate secondsLeft note } result error errorMessage cancellable cancelRefusal retryable cancelRequested }`,
);
const JobEvents = graphql(`subscription JobEvents($id: ID) { jobEvents(id: $id) { ...JobFields } }`, [JobFields]);
const JobQuery = graphql(`query Job($id: ID!) { job(id: $id) { ...JobFields } }`, [JobFields]);
const CancelJob = graphql(`mutation CancelJob($id: ID!) { cancelJob(id: $id) { ...JobFields } }`, [JobFields]);
const RetryJob = graphql(`mutation RetryJob($id: ID!) { retryJob(id: $id) { ...JobFields } }`, [JobFields]);

export type JobSnapshot = ResultOf<typeof JobFields>;
export type JobState = JobSnapshot['state'];

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
    const unsubscribe = subscribe(client, JobEvents, { id }, ({ jobEvents }) => {
      job.value = jobEvents;
      if (FINISHED.includes(jobEvents.state)) close();
    });
    stop = () => {
      unsubscribe();
      client.dispose();
    };
    try {
      const data = await request(JobQuery, { id });
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
      const data = await request(CancelJob, { id: job.value.id });
      job.value = data.cancelJob;
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  /** Runs a failed job again from where it stopped, and follows it anew. */
  async function retry(): Promise<boolean> {
    if (!job.value) return false;
    try {
      await request(RetryJob, { id: job.value.id });
    } catch (e) {
      error.value = (e as Error).message;
      return false;
    }
    await follow(job.value.id);
    return true;
  }

  watch(jobId, (id) => void follow(id), { immediate: true });
  onScopeDispose(close);
  return { job, error, cancel, retry };
}
