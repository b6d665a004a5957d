import axe from 'axe-core';
import type { Page } from 'playwright-core';

/** One rule axe-core found broken, with the elements it found it on. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

const BLOCKING = new Set(['serious', 'critical']);

/**
 * Runs axe-core (every rule it runs by default: WCAG 2.0–2.2 A and AA and its best practices) on
 * the page as it is now. The engine is evaluated into the page through the DevTools protocol, so
 * the server's Content-Security-Policy needs no exception for it.
 */
export async function axeViolations(page: Page): Promise<{ blocking: AxeViolation[]; all: AxeViolation[] }> {
  const present = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === 'object');
  if (!present) await page.evaluate(axe.source);
  const found = await page.evaluate(async () => {
    const engine = (window as unknown as { axe: typeof axe }).axe;
    const results = await engine.run(document, { resultTypes: ['violations'] });
    return results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact ?? null,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(' ')),
    }));
  });
  return { blocking: found.filter((violation) => BLOCKING.has(violation.impact ?? '')), all: found };
}

/** What the report prints: one line per rule, with where. */
export const describeViolations = (violations: AxeViolation[]): string =>
  violations.map((violation) => `${violation.impact} ${violation.id} (${violation.help}): ${violation.targets.slice(0, 5).join(' | ')}`).join('\n');
