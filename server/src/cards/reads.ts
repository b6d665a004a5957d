import type { GraphQLContext } from '../graphql/context';

/** Told that a card's values went out to the request's user (1 card); must not throw or wait. */
export type CardReadListener = (context: GraphQLContext) => void;

const listeners = new Set<CardReadListener>();

/** Registers a listener for cards read through the API (the bulk-reading alarm); registering twice changes nothing. */
export function onCardRead(listener: CardReadListener): void {
  listeners.add(listener);
}

/** Called each time a card's values are sent to a client: a list row, an opened card, a search hit, a related tab. */
export function cardRead(context: GraphQLContext): void {
  for (const listener of listeners) listener(context);
}
