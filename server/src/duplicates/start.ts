import { Card } from '../cards/model';
import type { Logger } from '../logger';
import { forgetTrigramCounts } from './keys';
import { forgetDuplicateSettings, lastScan, typesWithRules } from './rules';
import { requestScan } from './scan';

/** Forgets what this instance cached of duplicate settings (a new database, e.g. in tests). */
export function forgetDuplicateState(): void {
  forgetDuplicateSettings();
  forgetTrigramCounts();
}

/**
 * Cards stored before duplicate detection existed (or loaded around the card service) have no
 * keys yet, and keys made under other rules or by an older normalisation are stale: a start that
 * finds such a type with cards queues one scan of them, so that «Похожие карточки» and the groups
 * see every card as the rules now read it. Later changes keep the keys current by themselves.
 */
export async function scanStaleTypes(logger: Logger): Promise<void> {
  const pending: string[] = [];
  for (const rules of await typesWithRules()) {
    if (!(await lastScan(rules)) && (await Card.exists({ typeKey: rules.typeKey, inTrash: false }))) pending.push(rules.typeKey);
  }
  if (pending.length === 0) return;
  const job = await requestScan(null, pending);
  logger.info({ types: pending, jobId: job.id }, 'duplicate scan queued for cards without current keys');
}
