import type { CardLifecycleHooks } from '../cards/lifecycle';
import { events } from '../events/bus';
import { fanOutUnread } from './service';

// Readers touched by each change, handed from beforeSave to afterCommit.
const touchedReaders = new WeakMap<object, string[]>();

export const unreadHooks: CardLifecycleHooks = {
  name: 'unread',
  async beforeSave(change, session) {
    touchedReaders.set(change, await fanOutUnread(change, session));
  },
  afterCommit(change) {
    events.publish('card-event', {
      cardId: String(change.after._id),
      folderId: String(change.after.folderId),
      previousFolderId: change.before && String(change.before.folderId) !== String(change.after.folderId) ? String(change.before.folderId) : null,
      action: change.action,
      actorId: change.actor.userId,
      actorName: change.actor.fullName,
      at: new Date().toISOString(),
    });
    for (const userId of touchedReaders.get(change) ?? []) events.publish('unread-changed', userId, change.action);
  },
};
