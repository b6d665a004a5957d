import type { LocalizedText } from '../../../card-types';

/**
 * An administrator's `pattern` runs on every value typed into its field, in the browser and on the
 * server. Before a definition is saved each pattern is analysed by recheck (automata theory and
 * fuzzing) exactly as the kind runs it — anchored, with the `u` flag — and refused when matching can
 * take exponential time, or polynomial time of degree 3 and more. Quadratic patterns (`.*a.*`) pass:
 * the kind runs patterns on at most PATTERN_INPUT_MAX characters, about a million steps at worst.
 */
const MAX_DEGREE = 2;
const CHECK_TIMEOUT_MS = 5000;

const unsafe = {
  ru: 'Шаблон может проверяться очень долго (катастрофический возврат): упростите его, например уберите вложенные повторы вида (a+)+',
  en: 'The pattern can take very long to check (catastrophic backtracking): simplify it, e.g. remove nested repetition such as (a+)+',
};
const unknown = {
  ru: 'Шаблон слишком сложен, чтобы убедиться в его безопасности: упростите его',
  en: 'The pattern is too complex to be proven safe: simplify it',
};

/** Verdicts by pattern; forgotten wholesale past this many (an administrator's patterns are few). */
const REMEMBERED = 1000;
const verdicts = new Map<string, Promise<LocalizedText | null>>();

async function analyse(source: string): Promise<LocalizedText | null> {
  // recheck (a Scala.js build, ~13 MB resident) is loaded by the first pattern to judge, not at start.
  const { check } = await import('recheck');
  const diagnostics = await check(`^(?:${source})$`, 'u', { timeout: CHECK_TIMEOUT_MS });
  if (diagnostics.status === 'safe') return null;
  if (diagnostics.status === 'unknown') return unknown;
  const { complexity } = diagnostics;
  return complexity.type === 'polynomial' && complexity.degree <= MAX_DEGREE ? null : unsafe;
}

/** Why matching `source` could stall the server or a browser, or null when it cannot; verdicts are remembered. */
export function patternHazard(source: string): Promise<LocalizedText | null> {
  let verdict = verdicts.get(source);
  if (!verdict) {
    if (verdicts.size >= REMEMBERED) verdicts.clear();
    verdict = analyse(source);
    verdicts.set(source, verdict);
    verdict.catch(() => verdicts.delete(source));
  }
  return verdict;
}
