import type { GraphQLContext } from '../graphql/context';
import { perRequest } from '../graphql/loaders';

/** Told how many more cards' data went out to the request's user; must not throw or wait. */
export type CardReadListener = (context: GraphQLContext, cards: number) => void;

const listeners = new Set<CardReadListener>();

/** Registers a listener for cards read through the API (the bulk-reading alarm); registering twice changes nothing. */
export function onCardRead(listener: CardReadListener): void {
  listeners.add(listener);
}

/** The cards of a request sent so far, and how many of them the listeners were told of. */
interface RequestReads {
  sent: Set<string>;
  told: number;
  telling: boolean;
}

/**
 * Called each time a card's data is sent to a client — its title or values (a list row, an opened
 * card, a search hit, a related tab, a referenced card's title), or its values as of a moment or
 * its history: each card counts once per request, whatever of it is sent. The listeners are told
 * once for the cards a request's fields send together (a page's rows resolve in one go), not once
 * per card: a folder page would otherwise cost fifty rounds of them.
 */
export function cardRead(context: GraphQLContext, cardId: string): void {
  const reads = perRequest<RequestReads>(context, 'cardsRead', () => ({ sent: new Set(), told: 0, telling: false }));
  if (reads.sent.has(cardId)) return;
  reads.sent.add(cardId);
  if (reads.telling) return;
  reads.telling = true;
  queueMicrotask(() => {
    const cards = reads.sent.size - reads.told;
    reads.told = reads.sent.size;
    reads.telling = false;
    for (const listener of listeners) listener(context, cards);
  });
}
