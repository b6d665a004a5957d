import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * A pause a job's long in-memory loop takes once it has held the event loop `turnMs`: the server
 * answers other requests (and renews the job's lease) in between, and a cancel is seen there too.
 * Call the returned function between items; it costs a clock reading while the turn lasts.
 */
export function breather(signal: AbortSignal, turnMs: number): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < turnMs) return;
    await nextTurn();
    signal.throwIfAborted();
    since = performance.now();
  };
}
