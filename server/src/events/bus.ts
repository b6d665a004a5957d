import { createPubSub } from 'graphql-yoga';
import type { CardAction } from '../cards/lifecycle';

export interface CardEvent {
  cardId: string;
  folderId: string;
  /** The folder the card left, for moves. */
  previousFolderId: string | null;
  action: CardAction | 'read' | 'unread';
  actorId: string;
  actorName: string;
  at: string;
}

/**
 * In-process event bus. Events are published after commit; subscribers filter them through
 * their own ability at delivery time.
 */
export const events = createPubSub<{
  'card-event': [CardEvent];
  /** Something changed this user's unread counts (topic per user id). */
  'unread-changed': [userId: string, reason: string];
}>();
