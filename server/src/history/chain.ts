import { createHash } from 'node:crypto';
import type { HistoryEntryDoc } from './model';

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted, so the same content always hashes the same. */
function canonical(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    if (typeof (value as { toHexString?: unknown }).toHexString === 'function') return JSON.stringify(String(value));
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

type Hashed = Pick<HistoryEntryDoc, 'cardId' | 'typeKey' | 'folderId' | 'seq' | 'at' | 'actorId' | 'actorName' | 'ip' | 'action' | 'changes' | 'prevHash'> &
  Partial<Pick<HistoryEntryDoc, 'via' | 'viaId'>>;

export function entryHash(entry: Hashed): string {
  // `via` and `viaId` exist on entries of imports only: absent, they leave older entries' hashes as they were.
  const { cardId, typeKey, folderId, seq, at, actorId, actorName, ip, action, via, viaId, changes, prevHash } = entry;
  return createHash('sha256').update(canonical({ cardId, typeKey, folderId, seq, at, actorId, actorName, ip, action, via, viaId, changes, prevHash })).digest('hex');
}

export interface ChainVerdict {
  intact: boolean;
  entries: number;
  /** The first entry (by seq) whose content or link does not match. */
  brokenAtSeq: number | null;
  reason: string | null;
}

export function verifyChain(entries: HistoryEntryDoc[]): ChainVerdict {
  let previous = GENESIS_HASH;
  for (const [index, entry] of entries.entries()) {
    const expectedSeq = index + 1;
    if (entry.seq !== expectedSeq) return { intact: false, entries: entries.length, brokenAtSeq: expectedSeq, reason: 'missing entry' };
    if (entry.prevHash !== previous) return { intact: false, entries: entries.length, brokenAtSeq: entry.seq, reason: 'link to the previous entry broken' };
    if (entryHash(entry) !== entry.hash) return { intact: false, entries: entries.length, brokenAtSeq: entry.seq, reason: 'content altered' };
    previous = entry.hash;
  }
  return { intact: true, entries: entries.length, brokenAtSeq: null, reason: null };
}
