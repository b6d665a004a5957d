import { randomUUID } from 'node:crypto';
import { mergeCodeAndAdminDefinition, validateCardTypeDefinition } from '../../../card-types/definitions';
import { builtInCardTypes } from '../../../card-types/built-in';
import { findCardType, listCardTypes, saveCardType } from '../card-types/registry';
import type { CardTypeDefinition } from '../../../card-types';
import type { Logger } from '../logger';
import { withLock } from '../jobs/lock';
import { CARD_INDEX_BUDGET_LOCK, dropIndexesNoTypeWants, ensureCardTypeIndexes } from './indexes';
import { pluginCardTypes } from './plugins';

/**
 * A plugin's type must be a valid definition (else the start stops, saying what is wrong) and may
 * only update a type it stored itself: an administrator's or another origin's type of the same key
 * stays, with a warning.
 */
async function pluginTypeFits(code: CardTypeDefinition, stored: CardTypeDefinition | null, logger: Logger): Promise<boolean> {
  const check = validateCardTypeDefinition(code, { locale: 'en', knownTypes: await listCardTypes() });
  if (!check.ok) {
    const problems = Object.entries(check.errors).map(([place, message]) => `${place}: ${message}`);
    throw new Error(`PLUGINS: the card type "${code.key}" of plugin ${code.plugin} is not valid (${problems.join('; ')})`);
  }
  if (!stored || stored.plugin === code.plugin) return true;
  logger.warn(
    { cardType: code.key, plugin: code.plugin, storedPlugin: stored.plugin },
    `plugin ${code.plugin}: a card type with key ${code.key} exists already; it is kept and the plugin's is not stored`,
  );
  return false;
}

/**
 * At start: merges each built-in type's code definition, and each enabled plugin's, with the stored
 * one (an administrator's additions and customisations are kept, fields with data are never
 * dropped), says which stored types belong to plugins that are switched off (they and their cards
 * stay as stored), drops the type indexes no stored type wants (left by a crash mid-save, or by a
 * field no longer listed; skipped while another instance's save holds the index lock — that save
 * clears up after itself), then makes sure every type's indexes exist. A unique index that cannot
 * be made is logged and reported to administrators (`CardType.uniqueNotEnforced`), not fatal.
 */
export async function syncCardTypes(logger: Logger): Promise<void> {
  const fromPlugins = pluginCardTypes();
  for (const code of [...builtInCardTypes, ...fromPlugins]) {
    const stored = await findCardType(code.key);
    if (code.plugin && !(await pluginTypeFits(code, stored, logger))) continue;
    const { definition, kindChanges } = mergeCodeAndAdminDefinition(code, stored ?? undefined);
    if (kindChanges.length > 0) {
      logger.warn(
        { cardType: code.key, fields: kindChanges.map((c) => `${c.key}: ${c.from.kind} → ${c.to.kind}`) },
        'code changed field kinds; stored values are kept as they are',
      );
    }
    if (JSON.stringify(definition) !== JSON.stringify(stored)) {
      await saveCardType(definition);
      const what = code.plugin ? `card type of plugin ${code.plugin}` : 'built-in card type';
      logger.info({ cardType: code.key, plugin: code.plugin }, stored ? `${what} updated from code` : `${what} stored`);
    }
  }
  const types = await listCardTypes();
  for (const type of types) {
    if (type.plugin && !fromPlugins.some((code) => code.key === type.key)) {
      logger.info({ cardType: type.key, plugin: type.plugin }, `plugin ${type.plugin} is off: its card type and cards are kept as stored`);
    }
  }
  const dropped = await withLock(CARD_INDEX_BUDGET_LOCK, randomUUID(), dropIndexesNoTypeWants);
  if (dropped && dropped.length > 0) logger.info({ indexes: dropped }, 'dropped card indexes no card type wants');
  for (const type of types) {
    for (const failure of await ensureCardTypeIndexes(type)) {
      logger.error(
        { cardType: failure.typeKey, field: failure.fieldKey, err: failure.error },
        failure.reason === 'duplicates'
          ? 'unique index not created: cards already share values of this field; its uniqueness is not enforced until the duplicates are resolved'
          : 'unique index not created: the cards collection has as many indexes as MongoDB allows; its uniqueness is not enforced until other fields stop being unique or listed',
      );
    }
  }
}
