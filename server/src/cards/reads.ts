import type { GraphQLContext } from '../graphql/context';
import { perRequest } from '../graphql/loaders';

/** Told that a card's data went out to the request's user (1 card); must not throw or wait. */
export type CardReadListener = (context: GraphQLContext) => void;

const listeners = new Set<CardReadListener>();

/** Registers a listener for cards read through the API (the bulk-reading alarm); registering twice changes nothing. */
export function onCardRead(listener: CardReadListener): void {
  listeners.add(listener);
}

/**
 * Called each time a card's data is sent to a client — its title or values (a list row, an opened
 * card, a search hit, a related tab, a referenced card's title), or its values as of a moment or
 * its history: each card counts once per request, whatever of it is sent.
 */
export function cardRead(context: GraphQLContext, cardId: string): void {
  const sent = perRequest(context, 'cardsRead', () => new Set<string>());
  if (sent.has(cardId)) return;
  sent.add(cardId);
  for (const listener of listeners) listener(context);
}
