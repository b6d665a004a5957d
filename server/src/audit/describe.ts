import type { Locale } from '../i18n';

/** An audit entry as a describer reads it. */
export interface DescribedEntry {
  kind: string;
  before?: unknown;
  after?: unknown;
}

/**
 * Says in words what a page of entries of one kind recorded in `before`/`after` (an export's
 * filter, who joined a group), one text per entry (null: nothing to add), with what it needs read
 * for the whole page at once.
 */
export type AuditDescriber = (entries: DescribedEntry[], locale: Locale) => Promise<(string | null)[]>;

const describers = new Map<string, AuditDescriber>();

/** Registers how entries of these kinds are told (the modules that record them do, at start-up). */
export function describeAuditKinds(kinds: readonly string[], describer: AuditDescriber): void {
  for (const kind of kinds) describers.set(kind, describer);
}

/** Each entry's words, in order: one describer call per kind on the page. */
export async function auditDetails(entries: DescribedEntry[], locale: Locale): Promise<(string | null)[]> {
  const details: (string | null)[] = entries.map(() => null);
  const byKind = new Map<string, number[]>();
  entries.forEach((entry, index) => {
    if (describers.has(entry.kind)) byKind.set(entry.kind, [...(byKind.get(entry.kind) ?? []), index]);
  });
  await Promise.all(
    [...byKind].map(async ([kind, indexes]) => {
      const texts = await describers.get(kind)!(
        indexes.map((index) => entries[index]),
        locale,
      );
      indexes.forEach((index, at) => (details[index] = texts[at] ?? null));
    }),
  );
  return details;
}
