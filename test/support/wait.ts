import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves once `condition` holds, checking it every few milliseconds; rejects after a generous
 * time-out. The time-out only bounds a wait for something that must happen — never assert a speed.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, what = 'the condition', timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await sleep(10);
  }
}
