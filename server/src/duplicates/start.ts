import { Card } from '../cards/model';
import type { Logger } from '../logger';
import { forgetTrigramCounts } from './keys';
import { DuplicateSettings } from './model';
import { forgetDuplicateSettings, typesWithRules } from './rules';
import { requestScan } from './scan';

/** Forgets what this instance cached of duplicate settings (a new database, e.g. in tests). */
export function forgetDuplicateState(): void {
  forgetDuplicateSettings();
  forgetTrigramCounts();
}

/**
 * Cards stored before duplicate detection existed (or loaded around the card service) have no
 * keys yet: the first start that finds such a type queues one scan, so that «Похожие карточки»
 * see them too. Later changes keep the keys current by themselves.
 */
export async function scanIfNeverIndexed(logger: Logger): Promise<void> {
  const pending: string[] = [];
  for (const rules of await typesWithRules()) {
    const scanned = await DuplicateSettings.exists({ _id: rules.typeKey, scannedAt: { $ne: null } });
    if (!scanned && (await Card.exists({ typeKey: rules.typeKey, inTrash: false }))) pending.push(rules.typeKey);
  }
  if (pending.length === 0) return;
  const job = await requestScan(null, pending);
  logger.info({ types: pending, jobId: job.id }, 'duplicate scan queued for cards without keys');
}
