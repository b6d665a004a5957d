import { builtInCardTypes } from '../../../card-types';
import { findCardType, listCardTypes, saveCardType } from '../card-types/registry';
import type { Logger } from '../logger';
import { ensureCardTypeIndexes } from './indexes';

/**
 * At start: stores built-in types that are not stored yet (an administrator's version of a
 * stored type is kept), then makes sure every type's indexes exist.
 */
export async function syncCardTypes(logger: Logger): Promise<void> {
  for (const code of builtInCardTypes) {
    if (!(await findCardType(code.key))) {
      await saveCardType(code);
      logger.info({ cardType: code.key }, 'built-in card type stored');
    }
  }
  for (const type of await listCardTypes()) await ensureCardTypeIndexes(type);
}
