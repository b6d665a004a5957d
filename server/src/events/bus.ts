import { createPubSub } from 'graphql-yoga';
import type { CardAction } from '../cards/lifecycle';
import type { JobView } from '../jobs/view';

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

type Topics = {
  'card-event': [CardEvent];
  /** Something changed this user's unread counts (topic per user id). */
  'unread-changed': [userId: string, reason: string];
  /** A background job was created or changed state or progress (server/src/jobs). */
  'job-changed': [JobView];
};

/**
 * The event bus. Events are published after commit; subscribers filter them through their own
 * ability at delivery time. In-process unless REDIS_URL makes it shared (see useRedisEventBus).
 */
export let events = createPubSub<Topics>();

/**
 * Switches the bus to Redis pub/sub so every server instance delivers every instance's events.
 * Returns a function that closes the Redis connections.
 */
export async function useRedisEventBus(url: string): Promise<() => Promise<void>> {
  const [{ Redis }, { createRedisEventTarget }] = await Promise.all([import('ioredis'), import('@graphql-yoga/redis-event-target')]);
  const publishClient = new Redis(url);
  const subscribeClient = new Redis(url);
  events = createPubSub<Topics>({ eventTarget: createRedisEventTarget({ publishClient, subscribeClient }) });
  return async () => {
    events = createPubSub<Topics>();
    await Promise.all([publishClient.quit(), subscribeClient.quit()]);
  };
}
