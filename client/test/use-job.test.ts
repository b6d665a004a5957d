import { beforeEach, describe, expect, it, vi } from 'vitest';
import { effectScope, nextTick, ref } from 'vue';
import type { JobSnapshot } from '../src/jobs/useJob';
import { jobSnapshot } from './job-snapshot';

// The job's stream and requests, answered here in whatever order a busy network delivers them.
const server = vi.hoisted(() => ({
  request: vi.fn(),
  streams: [] as { id: string; onData: (data: unknown) => void; onError?: (message: string) => void; onEnd?: () => void; closed: boolean }[],
}));
vi.mock('graphql-sse', () => ({ createClient: () => ({ dispose: () => undefined }) }));
vi.mock('../src/api/graphql', () => ({
  graphql: (text: string) => text,
  request: server.request,
  subscribe: (_client: unknown, _operation: unknown, variables: { id: string }, onData: (data: unknown) => void, onError?: (message: string) => void, onEnd?: () => void) => {
    const stream = { id: variables.id, onData, onError, onEnd, closed: false };
    server.streams.push(stream);
    return () => void (stream.closed = true);
  },
}));

const { JOB_POLL_MS, useJob } = await import('../src/jobs/useJob');

const snapshot = (id: string, state: JobSnapshot['state'], done: number, second: number): JobSnapshot =>
  jobSnapshot({ id, state, progress: { done, total: 3 }, updatedAt: `2026-11-26T15:00:${String(second).padStart(2, '0')}.000Z` });

function follow(id: string) {
  const jobId = ref(id);
  const scope = effectScope();
  const followed = scope.run(() => useJob(jobId))!;
  return { ...followed, jobId, scope };
}

beforeEach(() => {
  vi.clearAllMocks();
  server.streams.length = 0;
});

describe('following a background job (useJob)', () => {
  it('keeps the end once it is shown: a running state that arrives later (an older answer) does not bring the bar back', () => {
    const { job } = follow('j1');
    const [stream] = server.streams;
    stream.onData({ jobEvents: snapshot('j1', 'running', 1, 1) });
    stream.onData({ jobEvents: snapshot('j1', 'succeeded', 3, 2) });
    expect(stream.closed).toBe(true);
    stream.onData({ jobEvents: snapshot('j1', 'running', 2, 3) });
    expect(job.value).toMatchObject({ state: 'succeeded', progress: { done: 3 } });
  });

  it('an answer older than the state shown does not replace it; an end always does', async () => {
    const { job, cancel } = follow('j1');
    const [stream] = server.streams;
    stream.onData({ jobEvents: snapshot('j1', 'running', 2, 5) });
    // «Отменить»'s answer was read before the stream's last change.
    server.request.mockResolvedValueOnce({ cancelJob: { ...snapshot('j1', 'running', 1, 4), cancelRequested: true } });
    await cancel();
    expect(job.value).toMatchObject({ state: 'running', progress: { done: 2 }, cancelRequested: false });
    stream.onData({ jobEvents: snapshot('j1', 'cancelled', 2, 5) });
    expect(job.value?.state).toBe('cancelled');
  });

  it('a job that ended before the page listened shows as ended from the stream’s first event', () => {
    const { job } = follow('j1');
    server.streams[0].onData({ jobEvents: snapshot('j1', 'succeeded', 3, 9) });
    expect(job.value?.state).toBe('succeeded');
    expect(server.streams[0].closed).toBe(true);
  });

  it('once the page follows another job, the first job’s late events are not shown', async () => {
    const { job, jobId } = follow('j1');
    jobId.value = 'j2';
    await nextTick();
    const [first, second] = server.streams;
    expect(first.closed).toBe(true);
    second.onData({ jobEvents: snapshot('j2', 'running', 1, 1) });
    first.onData({ jobEvents: snapshot('j1', 'succeeded', 3, 9) });
    expect(job.value).toMatchObject({ id: 'j2', state: 'running' });
  });

  it('a refused stream says why and shows the job as it is now', async () => {
    server.request.mockResolvedValueOnce({ job: snapshot('j1', 'running', 2, 3) });
    const { job, error, scope } = follow('j1');
    server.streams[0].onError?.('Слишком много открытых потоков');
    await vi.waitFor(() => expect(job.value?.progress.done).toBe(2));
    expect(error.value).toBe('Слишком много открытых потоков');
    // The page leaves: the job is asked for no more.
    scope.stop();
  });

  it('a stream the server ended while the job ran (a restart) is connected again after a wait, and shows where the job is then', async () => {
    vi.useFakeTimers();
    try {
      const { job, reconnecting } = follow('j1');
      server.streams[0].onData({ jobEvents: snapshot('j1', 'running', 1, 1) });
      // The server stops: its streams end as complete.
      server.streams[0].onEnd?.();
      expect(reconnecting.value).toBe(true);
      expect(server.streams).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1000);
      expect(server.streams).toHaveLength(2);
      // Still down: the next try waits longer (2 s).
      server.streams[1].onEnd?.();
      await vi.advanceTimersByTimeAsync(1500);
      expect(server.streams).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(500);
      expect(server.streams).toHaveLength(3);
      expect(server.streams[2].id).toBe('j1');
      // Back: the stream's first event is the job as it is now.
      server.streams[2].onData({ jobEvents: snapshot('j1', 'succeeded', 3, 40) });
      expect(job.value).toMatchObject({ state: 'succeeded', progress: { done: 3 } });
      expect(reconnecting.value).toBe(false);
      expect(server.streams[2].closed).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not connect again once the job ended, after a refusal, or when the page no longer follows it', async () => {
    vi.useFakeTimers();
    try {
      const ended = follow('j1');
      server.streams[0].onData({ jobEvents: snapshot('j1', 'succeeded', 3, 9) });
      server.streams[0].onEnd?.();
      // Refused while running: asked for every few seconds (a request, not a stream).
      server.request.mockResolvedValue({ job: snapshot('j2', 'running', 2, 3) });
      follow('j2');
      server.streams[1].onError?.('Задание не найдено');
      server.streams[1].onEnd?.();
      const left = follow('j3');
      left.scope.stop();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(server.streams.map((stream) => stream.id)).toEqual(['j1', 'j2', 'j3']);
      expect(ended.reconnecting.value).toBe(false);
    } finally {
      server.request.mockReset();
      vi.useRealTimers();
    }
  });

  it('follows a job whose stream was refused by asking for it until it ends, so its result still shows (s10 re-test V2)', async () => {
    vi.useFakeTimers();
    try {
      server.request
        .mockResolvedValueOnce({ job: snapshot('j1', 'queued', 0, 1) })
        .mockResolvedValueOnce({ job: snapshot('j1', 'running', 2, 3) })
        .mockResolvedValueOnce({ job: snapshot('j1', 'succeeded', 3, 5) });
      const { job, error } = follow('j1');
      server.streams[0].onError?.('Открыто слишком много потоков обновлений для этого сеанса (не больше 5)');
      await vi.advanceTimersByTimeAsync(0);
      expect(job.value?.state).toBe('queued');
      await vi.advanceTimersByTimeAsync(JOB_POLL_MS);
      expect(job.value).toMatchObject({ state: 'running', progress: { done: 2 } });
      await vi.advanceTimersByTimeAsync(JOB_POLL_MS);
      expect(job.value).toMatchObject({ state: 'succeeded', progress: { done: 3 } });
      expect(error.value).toContain('не больше 5');
      // Ended: asked for no more.
      await vi.advanceTimersByTimeAsync(JOB_POLL_MS * 5);
      expect(server.request).toHaveBeenCalledTimes(3);
    } finally {
      server.request.mockReset();
      vi.useRealTimers();
    }
  });
});
