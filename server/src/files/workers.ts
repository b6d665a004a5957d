import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { StoredFileDoc } from './model';
import { fileStorage } from './storage';

type WorkerSource = 'pdf-check-worker.ts' | 'pdf-copy-worker.ts' | 'pdf-text-worker.ts' | 'pages-worker.mjs';

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

/**
 * Runs one job on a stored file in a fresh worker thread (`source`, which reads the file with
 * `receiveFile`) with a bounded heap and a time limit, its bytes streamed to it from the storage.
 * Resolves with the worker's one answer, or null when there is none: no worker could be started,
 * it ran out of time or memory, it failed, or the storage did.
 */
export function runOnFile<T>(source: WorkerSource, file: Pick<StoredFileDoc, '_id' | 'size'>, limits: { heapMb: number; timeoutMs: number }): Promise<T | null> {
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = filesWorker(source, { maxOldGenerationSizeMb: limits.heapMb, maxYoungGenerationSizeMb: 32 });
    } catch {
      resolve(null);
      return;
    }
    const bytes = fileStorage.read(String(file._id));
    let settled = false;
    const settle = (answer: T | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      bytes.destroy();
      void worker.terminate();
      resolve(answer);
    };
    const timer = setTimeout(() => settle(null), limits.timeoutMs);
    worker.on('message', (answer: T) => settle(answer));
    worker.on('error', () => settle(null));
    worker.on('exit', () => settle(null));
    bytes.on('error', () => settle(null));
    worker.postMessage({ size: file.size });
    bytes.on('data', (chunk: Buffer) => {
      const copy = new Uint8Array(chunk);
      worker.postMessage({ chunk: copy }, [copy.buffer]);
    });
    bytes.on('end', () => worker.postMessage({ end: true }));
  });
}

/**
 * Heavy work on files (checks, safe copies, page drawings), a few at a time for the whole process and taken in turn
 * by owner: whenever a place frees, the next job is the oldest of the owner that waited longest and
 * has none running, so one user's many slow files delay others' by at most one job each. Jobs someone
 * waits for (a view being opened) go before background ones (a check nobody is looking at yet).
 */
export class FairQueue {
  private running = new Map<string, number>();
  /** Jobs waiting, by owner: those someone waits for, then background ones. */
  private waiting = { waited: new Map<string, (() => void)[]>(), background: new Map<string, (() => void)[]>() };
  private busy = 0;

  constructor(private readonly places: number) {}

  /**
   * Runs `job` when its turn comes. A job still waiting when `signal` aborts (its request went away)
   * leaves the queue without running, rejecting with the signal's reason; a running one is not stopped.
   * A `background` job runs only when no job someone waits for is waiting.
   */
  run<T>(owner: string, job: () => Promise<T>, signal?: AbortSignal, kind: 'waited' | 'background' = 'waited'): Promise<T> {
    const lines = this.waiting[kind];
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const start = () => {
        signal?.removeEventListener('abort', cancel);
        this.busy += 1;
        this.running.set(owner, (this.running.get(owner) ?? 0) + 1);
        job()
          .then(resolve, reject)
          .finally(() => {
            this.busy -= 1;
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

  /** How many jobs wait for a place: the owner's, or everyone's (a sum over the owners waiting, kept few by the callers' limits). */
  waitingCount(owner?: string): number {
    let count = 0;
    for (const lines of [this.waiting.waited, this.waiting.background]) {
      if (owner !== undefined) count += lines.get(owner)?.length ?? 0;
      else for (const queue of lines.values()) count += queue.length;
    }
    return count;
  }

  private next(): void {
    while (this.busy < this.places) {
      const lines = this.waiting.waited.size > 0 ? this.waiting.waited : this.waiting.background;
      if (lines.size === 0) return;
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
