import type { CardChange, CardLifecycleHooks } from '../cards/lifecycle';
import { storeCardKeys } from './keys';
import { refreshGroupsAround } from './groups';
import { rulesOf, type TypeRules } from './rules';

/** Rules of the card's type, when the change can alter its keys or its place (else null: nothing to do). */
async function rulesTouched(change: CardChange): Promise<TypeRules | null> {
  const rules = await rulesOf(change.type.key);
  if (!rules || rules.rules.length === 0) return null;
  const { before, after } = change;
  if (!before || before.inTrash !== after.inTrash || String(before.folderId) !== String(after.folderId) || String(before.libraryId) !== String(after.libraryId)) return rules;
  const fields = new Set(rules.rules.flatMap((rule) => rule.fields));
  return change.changes.some((fieldChange) => fields.has(fieldChange.key)) ? rules : null;
}

/**
 * Duplicates follow the cards: inside each card's transaction its keys are stored again (or
 * dropped when it goes to the trash), after the commit the groups around it are brought up to date.
 */
export const duplicateHooks: CardLifecycleHooks = {
  name: 'duplicates',
  async beforeSave(change, session) {
    const rules = await rulesTouched(change);
    if (rules) await storeCardKeys(change.type, rules, change.after, session);
  },
  async afterCommit(change) {
    const rules = await rulesTouched(change);
    if (!rules) return;
    const card = change.after;
    await refreshGroupsAround(change.type, rules, [{ id: card._id, values: card.inTrash ? null : card.values }]);
  },
};
