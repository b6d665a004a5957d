import { mergeCodeAndAdminDefinition } from '../../../card-types/definitions';
import { builtInCardTypes } from '../../../card-types/built-in';
import { findCardType, listCardTypes, saveCardType } from '../card-types/registry';
import type { Logger } from '../logger';
import { ensureCardTypeIndexes } from './indexes';

/**
 * At start: merges each built-in type's code definition with the stored one (an administrator's
 * additions and customisations are kept, fields with data are never dropped), then makes sure
 * every type's indexes exist. A unique index that cannot be made is logged and reported to
 * administrators (`CardType.uniqueNotEnforced`), not fatal.
 */
export async function syncCardTypes(logger: Logger): Promise<void> {
  for (const code of builtInCardTypes) {
    const stored = await findCardType(code.key);
    const { definition, kindChanges } = mergeCodeAndAdminDefinition(code, stored ?? undefined);
    if (kindChanges.length > 0) {
      logger.warn(
        { cardType: code.key, fields: kindChanges.map((c) => `${c.key}: ${c.from.kind} → ${c.to.kind}`) },
        'code changed field kinds; stored values are kept as they are',
      );
    }
    if (JSON.stringify(definition) !== JSON.stringify(stored)) {
      await saveCardType(definition);
      logger.info({ cardType: code.key }, stored ? 'built-in card type updated from code' : 'built-in card type stored');
    }
  }
  for (const type of await listCardTypes()) {
    for (const failure of await ensureCardTypeIndexes(type)) {
      logger.error(
        { cardType: failure.typeKey, field: failure.fieldKey, err: failure.error },
        'unique index not created: cards already share values of this field; its uniqueness is not enforced until the duplicates are resolved',
      );
    }
  }
}
