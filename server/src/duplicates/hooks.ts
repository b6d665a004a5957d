import type { CardChange, CardLifecycleHooks } from '../cards/lifecycle';
import { storeCardKeys, storeKeysOfCards } from './keys';
import { refreshGroupsAround } from './groups';
import { rulesOf, type TypeRules } from './rules';
import type { ClientSession } from 'mongoose';
import { Card, type CardDoc } from '../cards/model';
import { handBackFiles } from '../files/handover';
import { DuplicateDismissal, Merge, type MergeDoc } from './model';
import { lapseDismissals, placeDismissalsOf } from './service';
import { refuseWhileRepointing, restoreMergedCard, survivorPurgedJob } from './merge';
import type { Actor } from '../access/actor';

/** The card changed folder (or library). */
const moved = ({ before, after }: CardChange) => Boolean(before) && (String(before!.folderId) !== String(after.folderId) || String(before!.libraryId) !== String(after.libraryId));

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
 * A survivor deleted for good gives the cards merged into it (still in the trash) back the files
 * they handed it, so that they keep what they had; files of cards no longer there go with it.
 */
async function giveBackHandedFiles(survivor: CardDoc, session: ClientSession): Promise<void> {
  const merges = await Merge.find({ 'survivor.cardId': survivor._id, undoneAt: null, 'files.0': { $exists: true } }, { files: 1 })
    .session(session)
    .lean<Pick<MergeDoc, 'files'>[]>();
  const handed = merges.flatMap((merge) => merge.files ?? []);
  const present = await Card.find({ _id: { $in: handed.map((entry) => entry.cardId) }, mergedInto: survivor._id }, { _id: 1 })
    .session(session)
    .lean<Pick<CardDoc, '_id'>[]>();
  const kept = new Set(present.map((card) => String(card._id)));
  await handBackFiles(
    handed.filter((entry) => kept.has(String(entry.cardId))),
    survivor._id,
    session,
  );
}

/**
 * A survivor deleted for good gives back the references its merges re-pointed from the cards merged
 * into it: a job (queued in the purge's transaction, for whoever purged) points them back to those
 * cards — in the trash, or restored since — batch by batch, each referencing card's history saying so.
 */
async function giveBackReferences(survivor: CardDoc, session: ClientSession, actor: Actor): Promise<void> {
  const merges = await Merge.find({ 'survivor.cardId': survivor._id, undoneAt: null, 'references.0': { $exists: true } }, { _id: 1 })
    .session(session)
    .lean<Pick<MergeDoc, '_id'>[]>();
  for (const merge of merges) await survivorPurgedJob.enqueueIn(session, actor.userId, { mergeId: String(merge._id), ip: actor.ip });
}

/**
 * Duplicates follow the cards: inside each card's transaction its keys are stored again (or
 * dropped when it goes to the trash), after the commit the groups around it are brought up to date.
 * A card deleted for good that cards were merged into leaves its title and place with those merges
 * (the merged cards still say what they were merged into, and why the merge cannot be undone), and
 * gives them back their files and references. «Не дубликат» marks follow their cards' folders, and go with a card deleted for good.
 */
export const duplicateHooks: CardLifecycleHooks = {
  name: 'duplicates',
  async beforeSave(change, session) {
    const rules = await rulesTouched(change);
    if (rules) {
      await storeCardKeys(change.type, rules, change.after, session);
      await lapseDismissals([{ change, rules }], session);
    }
    if (moved(change)) await placeDismissalsOf(change.after, session);
  },
  async beforePurge(card, session, actor) {
    // A merge's job still re-pointing references to it (or back from it) would leave them at a card that no longer exists.
    await refuseWhileRepointing(actor, [card._id], 'purge');
    await DuplicateDismissal.deleteMany({ cardIds: card._id }, { session });
    const gone = { title: card.title, folderId: card.folderId, libraryId: card.libraryId, at: new Date() };
    await Merge.updateMany({ 'survivor.cardId': card._id }, { $set: { survivorGone: gone } }, { session });
    await giveBackHandedFiles(card, session);
    await giveBackReferences(card, session, actor);
  },
  // A merged card restored without undoing its merge: refused while the merge can be undone, else its files sorted out.
  restore: restoreMergedCard,
  async afterCommit(change) {
    const rules = await rulesTouched(change);
    if (!rules) return;
    await refreshGroupsAround(change.type, rules, [change.after._id], [change.after]);
  },
  // A batch (an import, its undo, a merge): the keys of all its cards in one write, the groups
  // around them found again once per type — a few queries per batch, not a few per card.
  async beforeSaveBatch(changes, session) {
    for (const change of changes.filter(moved)) await placeDismissalsOf(change.after, session);
    const touched = await changesTouched(changes);
    await storeKeysOfCards(
      touched.map(({ change, rules }) => ({ type: change.type, rules, card: change.after })),
      session,
    );
    await lapseDismissals(touched, session);
  },
  async afterCommitBatch(changes) {
    const byType = new Map<string, { change: CardChange; rules: TypeRules }[]>();
    for (const item of await changesTouched(changes)) {
      const items = byType.get(item.change.type.key);
      if (items) items.push(item);
      else byType.set(item.change.type.key, [item]);
    }
    for (const items of byType.values()) {
      const { change, rules } = items[0];
      await refreshGroupsAround(
        change.type,
        rules,
        items.map(({ change: { after } }) => after._id),
        items.map(({ change: { after } }) => after),
      );
    }
  },
};

async function changesTouched(changes: CardChange[]): Promise<{ change: CardChange; rules: TypeRules }[]> {
  const touched: { change: CardChange; rules: TypeRules }[] = [];
  for (const change of changes) {
    const rules = await rulesTouched(change);
    if (rules) touched.push({ change, rules });
  }
  return touched;
}
