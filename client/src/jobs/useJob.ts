import { onScopeDispose, ref, watch, type Ref } from 'vue';
import { graphql, request, type ResultOf } from '../api/graphql';
import { followLive } from '../api/live-stream';

const JobFields = graphql(
  `fragment JobFields on Job { id type state progress { done total rate secondsLeft note stage } result error errorMessage cancellable cancelRefusal retryable cancelRequested waitingForDatabase updatedAt }`,
);
const JobEvents = graphql(`subscription JobEvents($id: ID) { jobEvents(id: $id) { ...JobFields } }`, [JobFields]);
const JobQuery = graphql(`query Job($id: ID!) { job(id: $id) { ...JobFields } }`, [JobFields]);
const CancelJob = graphql(`mutation CancelJob($id: ID!) { cancelJob(id: $id) { ...JobFields } }`, [JobFields]);
const RetryJob = graphql(`mutation RetryJob($id: ID!) { retryJob(id: $id) { ...JobFields } }`, [JobFields]);

export type JobSnapshot = ResultOf<typeof JobFields>;
export type JobState = JobSnapshot['state'];

export const FINISHED: JobState[] = ['succeeded', 'failed', 'cancelled'];

/** How often a job whose stream the server refused is asked for instead. */
export const JOB_POLL_MS = 2000;

const isFinished = (job: JobSnapshot) => FINISHED.includes(job.state);

/**
 * Whether `next` may replace `shown` (two snapshots of one job, from the stream or from a
 * mutation's answer, in whatever order they arrive): an end always wins over a running state, a
 * running state never replaces an end, and otherwise the later change (updatedAt) wins.
 */
export function supersedes(next: JobSnapshot, shown: JobSnapshot | null): boolean {
  if (!shown || shown.id !== next.id) return true;
  if (isFinished(next) !== isFinished(shown)) return isFinished(next);
  return Date.parse(next.updatedAt) >= Date.parse(shown.updatedAt);
}

/**
 * A background job, kept current by the server's live `jobEvents(id)` stream (server-sent
 * events), which sends the job's state as it is once the server listens, then every change — so
 * a job that ends before the page subscribes (or while it reconnects) still shows as ended. A
 * snapshot older than the one shown never replaces it, and a stream the caller no longer follows
 * (another job, a retry, the scope ended) is heard no more. A stream lost before the job ended (the
 * server restarting: the job goes on after it) is connected again with a growing wait, and its first
 * event shows where the job is then (`reconnecting` meanwhile).
 */
export function useJob(jobId: Ref<string>) {
  const job = ref<JobSnapshot | null>(null);
  const error = ref<string | null>(null);
  /** The stream was lost (the server restarting, the network): it is being connected again. */
  const reconnecting = ref(false);
  let stop: (() => void) | null = null;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  /** Which follow() is current: answers meant for an earlier one are dropped. */
  let following = 0;

  function close(): void {
    stop?.();
    stop = null;
    clearTimeout(pollTimer);
    reconnecting.value = false;
  }

  /**
   * Asks for the job now and every JOB_POLL_MS until it ends or is no longer followed: its stream was
   * refused (s10 re-test V2: a session's five streams taken by other tabs left an import at «В очереди»
   * for good, its result and undo never shown).
   */
  function poll(id: string, of: number): void {
    const again = () => {
      if (of === following) pollTimer = setTimeout(ask, JOB_POLL_MS);
    };
    const ask = () =>
      request(JobQuery, { id }).then((data) => {
        show(data.job, of);
        if (data.job && !isFinished(data.job)) again();
      }, again);
    void ask();
  }

  function show(next: JobSnapshot | null | undefined, of: number): void {
    if (of !== following || !next || !supersedes(next, job.value)) return;
    job.value = next;
    if (isFinished(next)) close();
  }

  function follow(id: string): void {
    close();
    const mine = ++following;
    job.value = null;
    error.value = null;
    reconnecting.value = false;
    stop = followLive(JobEvents, { id }, ({ jobEvents }) => show(jobEvents, mine), {
      onRefused: (message) => {
        if (mine !== following) return;
        // Refused: say why, and follow the job by asking for it until it ends.
        error.value = message;
        poll(id, mine);
      },
      onReconnecting: (lost) => {
        if (mine === following) reconnecting.value = lost;
      },
    });
  }

  async function cancel(): Promise<void> {
    if (!job.value) return;
    const mine = following;
    try {
      show((await request(CancelJob, { id: job.value.id })).cancelJob, mine);
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  /** Runs a failed job again from where it stopped, and follows it anew. */
  async function retry(): Promise<boolean> {
    if (!job.value) return false;
    const { id } = job.value;
    try {
      await request(RetryJob, { id });
    } catch (e) {
      error.value = (e as Error).message;
      return false;
    }
    follow(id);
    return true;
  }

  watch(jobId, (id) => follow(id), { immediate: true });
  onScopeDispose(() => {
    following += 1;
    close();
  });
  return { job, error, reconnecting, cancel, retry };
}
