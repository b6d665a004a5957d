/** What a change does to a card (a file of its own: the event bus needs it without the card service). */
export type CardAction = 'create' | 'update' | 'move' | 'trash' | 'restore' | 'revert';
