import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { Types } from 'mongoose';
import { isDuplicateKeyError } from '../validation';
import { SlowUploader, type StoredFileDoc } from './model';
import { fileStorage } from './storage';

type WorkerSource = 'pdf-check-worker.ts' | 'pdf-copy-worker.ts' | 'pdf-text-worker.ts' | 'docx-worker.ts' | 'pages-worker.mjs';

/**
 * A worker thread running one of this folder's worker modules: `files/<name>.js` beside the
 * production bundle (dist/server/main.js), else the source beside this file — a `.ts` one through
 * tsx, which a worker does not inherit from the thread that starts it. Throws when neither is there.
 */
export function filesWorker(source: WorkerSource, resourceLimits: ResourceLimits): Worker {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const bundled = path.join(here, 'files', source.replace(/\.[^.]+$/, '.js'));
  if (existsSync(bundled)) return new Worker(bundled, { resourceLimits });
  const file = path.join(here, source);
  if (!existsSync(file)) throw new Error(`the worker files/${source} is missing; run npm run build`);
  if (!source.endsWith('.ts')) return new Worker(file, { resourceLimits });
  const tsx = import.meta.resolve('tsx/esm/api');
  const module = pathToFileURL(file).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(module)}); })`, { eval: true, resourceLimits });
}

/** How long an uploader whose file's heavy work needed more than its first try stays «slow». */
const SLOW_UPLOADER_MS = 24 * 60 * 60 * 1000;

/**
 * How long heavy work on a file (a check, a safe copy, a text layer, a DOCX, a page drawing) may hold
 * its place while someone else's work waits for one. Work past it is stopped as soon as another job
 * waits, and goes again with its full limit (30–60 s) in the slow line, after everyone else's work
 * (see `inTurn`): a hostile file (a compression bomb, a huge page) costs the others one first try,
 * not its full limit, while work nobody waits behind runs on. An object so that tests can lower it.
 */
export const firstTry = { timeMs: 5_000 };

/** Work past its first try: stopped (as run out of time at `afterMs`) once `stopIf` says others wait, asked every FIRST_TRY_POLL_MS. */
export interface FirstTry {
  afterMs: number;
  stopIf: () => boolean;
}
const FIRST_TRY_POLL_MS = 250;

/** Calls `stop` once work has run past its first try and others wait for its place; the answer cancels the watch. */
export function watchFirstTry(first: FirstTry | undefined, stop: () => void): () => void {
  if (!first) return () => undefined;
  let timer: NodeJS.Timeout;
  const check = () => {
    if (first.stopIf()) stop();
    else timer = setTimeout(check, FIRST_TRY_POLL_MS);
  };
  timer = setTimeout(check, first.afterMs);
  return () => clearTimeout(timer);
}

/**
 * Uploaders one of whose files' heavy work needed more than its first try, or ran out of its time
 * or memory, in the last 24 hours: work on their files goes in the slow line (after everyone
 * else's, never in every place). Kept in MongoDB (`slowuploaders`), so every instance and a restart know them.
 */
export const slowUploaders = {
  async mark(uploader: string): Promise<void> {
    const until = new Date(Date.now() + SLOW_UPLOADER_MS);
    try {
      await SlowUploader.updateOne({ _id: new Types.ObjectId(uploader) }, { $set: { until } }, { upsert: true });
    } catch (error) {
      // Marked by another job or instance at the same moment.
      if (!isDuplicateKeyError(error)) throw error;
    }
  },
  async has(uploader: string): Promise<boolean> {
    return (await SlowUploader.exists({ _id: new Types.ObjectId(uploader), until: { $gt: new Date() } })) !== null;
  },
};

/** Why a worker gave no answer: it ran out of time (`limitMs`, the one it had) or memory, or it failed (a crash, the storage failing). */
export type WorkerStopped = { stopped: 'timeout' | 'outOfMemory' | 'failed'; limitMs: number };

/** How a worker thread is doing: starting (its modules loading), running JavaScript, or gone. */
const threadStates = new WeakMap<Worker, 'starting' | 'online' | 'exited'>();
/** Threads being ended: a new one starts only once they are gone. */
const ending = new Set<Promise<void>>();

/**
 * Starts a worker thread of `source` once every thread being ended is gone: starting a thread while
 * another is torn down can crash Node (nodejs/node#56312). An error the thread raises while no job
 * listens (as it is being ended) is dropped instead of ending the process.
 */
export async function startThread(source: WorkerSource, resourceLimits: ResourceLimits): Promise<Worker> {
  while (ending.size > 0) await Promise.all([...ending]);
  const worker = filesWorker(source, resourceLimits);
  threadStates.set(worker, 'starting');
  worker.once('online', () => {
    if (threadStates.get(worker) === 'starting') threadStates.set(worker, 'online');
  });
  worker.once('exit', () => threadStates.set(worker, 'exited'));
  worker.on('error', () => undefined);
  return worker;
}

/**
 * Ends a worker thread (its job ran out of time, or it has been idle): only once it runs JavaScript
 * (tearing down a thread still compiling its modules aborted the process: V8's
 * `NodePlatform::ForIsolate`), and counted among the threads being ended until it is gone. Whatever
 * it still sends is dropped; ending it twice is ending it once.
 */
export function endThread(worker: Worker): void {
  const state = threadStates.get(worker);
  if (state === 'exited' || state === undefined) return;
  threadStates.delete(worker);
  worker.removeAllListeners('message');
  const gone = new Promise<void>((resolve) => {
    worker.once('exit', () => resolve());
    const terminate = () => void worker.terminate().catch(() => undefined);
    if (state === 'online') terminate();
    else worker.once('online', terminate);
  });
  ending.add(gone);
  void gone.then(() => ending.delete(gone));
}

/** A worker thread with nothing to do for this long ends, giving back its heap. An object so that tests can lower it. */
export const workerIdle = { timeMs: 30_000 };

/**
 * Worker threads waiting for their next job, by module and heap. A thread is started for a job only
 * when none waits, and ended only when it ran out of its time (or failed) or has been idle for
 * `workerIdle`: starting and tearing down a thread per job raced V8's background compilation on
 * the thread being torn down, which aborted the whole process (Node's worker-exit race).
 */
const idleWorkers = new Map<string, { worker: Worker; timer: NodeJS.Timeout; gone: () => void }[]>();

async function takeWorker(source: WorkerSource, heapMb: number): Promise<Worker> {
  const idle = idleWorkers.get(`${source}:${heapMb}`)?.pop();
  if (idle) {
    clearTimeout(idle.timer);
    idle.worker.off('exit', idle.gone);
    return idle.worker;
  }
  const worker = await startThread(source, { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 32 });
  // Waiting for a job does not keep the process alive.
  worker.unref();
  return worker;
}

function giveBack(source: WorkerSource, heapMb: number, worker: Worker): void {
  const key = `${source}:${heapMb}`;
  const idle = idleWorkers.get(key) ?? [];
  idleWorkers.set(key, idle);
  // No longer offered once it is being ended (a job given to a thread on its way out would fail), or ended for any other reason.
  const gone = () => {
    clearTimeout(entry.timer);
    const at = idle.indexOf(entry);
    if (at >= 0) idle.splice(at, 1);
    worker.off('exit', gone);
  };
  const entry = {
    worker,
    gone,
    timer: setTimeout(() => {
      gone();
      endThread(worker);
    }, workerIdle.timeMs),
  };
  entry.timer.unref();
  worker.once('exit', gone);
  idle.push(entry);
}

/** How many worker threads are being ended and not gone yet. */
export function threadsEnding(): number {
  return ending.size;
}

/**
 * Runs one job on a stored file in a worker thread of `source` (which reads the file with
 * `receiveFile`, given `task`; one left waiting from an earlier job, else a new one) with a bounded
 * heap and a time limit (stopped earlier, past `firstTry`, when others wait: its `limitMs` then says
 * that first try), its bytes streamed to it from the storage. Resolves with the worker's one
 * answer, or why there is none. A worker stopped for its time or memory (or failing) marks the
 * file's uploader slow and is ended; one that answered waits for the next job.
 */
export async function runOnFile<T extends object>(
  source: WorkerSource,
  file: Pick<StoredFileDoc, '_id' | 'size' | 'uploadedBy'>,
  limits: { heapMb: number; timeoutMs: number; task?: string; firstTry?: FirstTry },
): Promise<T | WorkerStopped> {
  const uploader = String(file.uploadedBy);
  const limitMs = limits.timeoutMs;
  let worker: Worker;
  try {
    worker = await takeWorker(source, limits.heapMb);
  } catch {
    return { stopped: 'failed', limitMs };
  }
  const answer = await new Promise<{ answer: T | WorkerStopped; blame: boolean }>((resolve) => {
    const bytes = fileStorage.read(String(file._id));
    let settled = false;
    const settle = (answer: T | WorkerStopped, after: 'reuse' | 'end', blame = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unwatch();
      bytes.destroy();
      worker.off('message', answered);
      worker.off('error', failed);
      worker.off('exit', exited);
      if (after === 'reuse') giveBack(source, limits.heapMb, worker);
      else endThread(worker);
      resolve({ answer, blame });
    };
    const answered = (answer: T) => settle(answer, 'reuse');
    const failed = (error: NodeJS.ErrnoException) => settle({ stopped: error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'outOfMemory' : 'failed', limitMs }, 'end', true);
    const exited = () => settle({ stopped: 'failed', limitMs }, 'end', true);
    const timer = setTimeout(() => settle({ stopped: 'timeout', limitMs }, 'end', true), limitMs);
    const unwatch = watchFirstTry(limits.firstTry, () => settle({ stopped: 'timeout', limitMs: limits.firstTry!.afterMs }, 'end', true));
    worker.on('message', answered);
    worker.on('error', failed);
    worker.on('exit', exited);
    bytes.on('error', () => settle({ stopped: 'failed', limitMs }, 'end'));
    worker.postMessage({ size: file.size, task: limits.task });
    bytes.on('data', (chunk: Buffer) => {
      const copy = new Uint8Array(chunk);
      worker.postMessage({ chunk: copy }, [copy.buffer]);
    });
    bytes.on('end', () => worker.postMessage({ end: true }));
  });
  if (answer.blame) await slowUploaders.mark(uploader);
  return answer.answer;
}

type Line = 'waited' | 'background' | 'waitedSlow' | 'backgroundSlow';
/** The order lines are served in: work someone waits for, then background work; a slow uploader's of either after all others. */
const LINES: readonly Line[] = ['waited', 'background', 'waitedSlow', 'backgroundSlow'];

/**
 * Heavy work on files (checks, safe copies, page drawings), a few at a time for the whole process and taken in turn
 * by owner: whenever a place frees, the next job is the oldest of the owner that waited longest and
 * has none running, so one user's many slow files delay others' by at most one job each. Jobs someone
 * waits for (a view being opened) go before background ones (a check nobody is looking at yet). Jobs
 * on a slow uploader's files (`slow`: see slowUploaders) go after all others, and hold at most all
 * places but one (the one place of a queue of one).
 */
export class FairQueue {
  private running = new Map<string, number>();
  /** Jobs waiting, by line and owner. */
  private waiting: Record<Line, Map<string, (() => void)[]>> = { waited: new Map(), background: new Map(), waitedSlow: new Map(), backgroundSlow: new Map() };
  private busy = 0;
  private busySlow = 0;

  constructor(private readonly places: number) {}

  /**
   * Runs `job` when its turn comes. A job still waiting when `signal` aborts (its request went away)
   * leaves the queue without running, rejecting with the signal's reason; a running one is not stopped.
   * A `background` job runs only when no job someone waits for is waiting; a `slow` one only when no
   * other job is waiting.
   */
  run<T>(owner: string, job: () => Promise<T>, signal?: AbortSignal, kind: 'waited' | 'background' = 'waited', slow = false): Promise<T> {
    const lines = this.waiting[slow ? (kind === 'waited' ? 'waitedSlow' : 'backgroundSlow') : kind];
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const start = () => {
        signal?.removeEventListener('abort', cancel);
        this.busy += 1;
        if (slow) this.busySlow += 1;
        this.running.set(owner, (this.running.get(owner) ?? 0) + 1);
        job()
          .then(resolve, reject)
          .finally(() => {
            this.busy -= 1;
            if (slow) this.busySlow -= 1;
            const left = (this.running.get(owner) ?? 1) - 1;
            if (left === 0) this.running.delete(owner);
            else this.running.set(owner, left);
            this.next();
          });
      };
      const cancel = () => {
        const queue = lines.get(owner) ?? [];
        const at = queue.indexOf(start);
        if (at < 0) return;
        queue.splice(at, 1);
        if (queue.length === 0) lines.delete(owner);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', cancel, { once: true });
      const queue = lines.get(owner);
      if (queue) queue.push(start);
      else lines.set(owner, [start]);
      this.next();
    });
  }

  /** Whether work not in the slow line waits for a place (work past its first try then gives its place up). */
  othersWaiting(): boolean {
    return this.waiting.waited.size > 0 || this.waiting.background.size > 0;
  }

  /** How many jobs hold a place now. */
  runningCount(): number {
    return this.busy;
  }

  /** How many jobs wait for a place: the owner's, or everyone's (a sum over the owners waiting, kept few by the callers' limits). */
  waitingCount(owner?: string): number {
    let count = 0;
    for (const line of LINES) {
      const lines = this.waiting[line];
      if (owner !== undefined) count += lines.get(owner)?.length ?? 0;
      else for (const queue of lines.values()) count += queue.length;
    }
    return count;
  }

  private next(): void {
    while (this.busy < this.places) {
      const slowPlaces = Math.max(1, this.places - 1);
      const line = LINES.find((candidate) => this.waiting[candidate].size > 0 && (!candidate.endsWith('Slow') || this.busySlow < slowPlaces));
      if (!line) return;
      const lines = this.waiting[line];
      // Owners wait in the order they first queued (a Map keeps it); one with nothing running goes first.
      const owners = [...lines.keys()];
      const owner = owners.find((candidate) => !this.running.has(candidate)) ?? owners[0];
      const queue = lines.get(owner)!;
      const start = queue.shift()!;
      // Served: the owner goes to the back of the line with what it has left.
      lines.delete(owner);
      if (queue.length > 0) lines.set(owner, queue);
      start();
    }
  }
}

/** The heavy work on files (checks, safe copies, text layers): two jobs at a time (each holds a whole document in its worker), in turn by uploader. */
export const heavyFileWork = new FairQueue(2);

/**
 * Runs heavy work on a file in `queue` in `owner`'s turn (in the slow line if its uploader is `slow`)
 * with its full limit `fullMs`, unless it runs past `firstTry` while others' work waits for a place:
 * then it is stopped (`stoppedEarly` tells that answer; its uploader is slow now) and goes again with
 * its full limit in the slow line, after everyone else's work. So each account's hostile file holds a
 * place others wait for during one first try at most, and work needing more than that holds the slow
 * line's place only, while heavy work nobody waits behind (a long scan on a quiet server) runs on.
 */
export async function inTurn<T>(
  queue: FairQueue,
  turn: { owner: string; slow: boolean; kind?: 'waited' | 'background'; signal?: AbortSignal },
  fullMs: number,
  attempt: (limitMs: number, first?: FirstTry) => Promise<T>,
  stoppedEarly: (answer: T) => boolean,
): Promise<T> {
  const kind = turn.kind ?? 'waited';
  const first = firstTry.timeMs < fullMs ? { afterMs: firstTry.timeMs, stopIf: () => queue.othersWaiting() } : undefined;
  const answer = await queue.run(turn.owner, () => attempt(fullMs, first), turn.signal, kind, turn.slow);
  if (!first || !stoppedEarly(answer)) return answer;
  return queue.run(turn.owner, () => attempt(fullMs), turn.signal, kind, true);
}

/**
 * Heavy work on a stored file in a worker thread of `source` (`runOnFile`), in turn by its uploader
 * in `heavyFileWork`: stopped past its first try while others wait, and then done in the slow line (`inTurn`).
 */
export async function heavyRun<T extends object>(
  source: WorkerSource,
  file: Pick<StoredFileDoc, '_id' | 'size' | 'uploadedBy'>,
  limits: { heapMb: number; timeoutMs: number; task?: string },
  kind: 'waited' | 'background' = 'waited',
): Promise<T | WorkerStopped> {
  const uploader = String(file.uploadedBy);
  return inTurn(
    heavyFileWork,
    { owner: uploader, slow: await slowUploaders.has(uploader), kind },
    limits.timeoutMs,
    (timeoutMs, first) => runOnFile<T>(source, file, { ...limits, timeoutMs, firstTry: first }),
    (answer) => 'stopped' in answer && answer.stopped === 'timeout' && answer.limitMs < limits.timeoutMs,
  );
}
