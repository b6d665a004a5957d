import DataLoader from 'dataloader';
import { filter, map, pipe } from 'graphql-yoga';
import { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import { buildActor } from '../access/actor';
import type { CardDoc } from '../cards/model';
import { findCard } from '../cards/service';
import { events, type CardEvent } from '../events/bus';
import { findFolder } from '../folders/service';
import type { GraphQLContext } from '../graphql/context';
import { notFound, requireActor } from '../graphql/guards';
import type { GraphQLModule } from '../graphql/module';
import { perRequest } from '../graphql/loaders';
import { User, type UserDoc } from '../people/models';
import type { UnreadDoc } from './model';
import { markFolderRead, markRead, markUnread, unreadCounts, unreadStateOf } from './service';

type Id = { id: string };

// openCard hands back the state as it was before marking the card read.
const preloadedState = new WeakMap<CardDoc, UnreadDoc | null>();

async function unreadOf(card: CardDoc, context: GraphQLContext): Promise<UnreadDoc | null> {
  if (preloadedState.has(card)) return preloadedState.get(card) ?? null;
  const actor = await context.actor();
  // Unread states of the cards in one response, loaded in one query.
  const loader = perRequest(
    context,
    'unread-states',
    () =>
      new DataLoader(async (ids: readonly string[]) => {
        const states = await unreadStateOf(actor.userId, ids.map((id) => new Types.ObjectId(id)));
        return ids.map((id) => states.get(id) ?? null);
      }),
  );
  return loader.load(String(card._id));
}

/** The subscriber's ability, rebuilt for every event: access taken away stops delivery at once. */
async function subscriberMaySee(user: UserDoc, ip: string, folderId: string): Promise<boolean> {
  const current = await User.findById(user._id).lean<UserDoc>();
  if (!current?.active) return false;
  const actor = await buildActor(current, ip);
  return actor.ability.can('read', cardSubject(folderId));
}

export const unreadModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    "Why a card is bold for the viewer: new to them, or these fields changed since they last read it."
    type UnreadState {
      isNew: Boolean!
      changedFields: [String!]!
      since: DateTime!
    }
    type FolderUnreadCount { folderId: ID!, count: Int! }

    type CardEvent {
      cardId: ID!
      folderId: ID!
      previousFolderId: ID
      "create, update, move, trash, restore, revert, read, unread"
      action: String!
      actorId: ID!
      actorName: String!
      at: DateTime!
    }

    extend type Card {
      "Null when the card is read."
      unread: UnreadState
    }

    extend type Query {
      "Unread counts of every folder the viewer can read that has unread cards."
      unreadCounts: [FolderUnreadCount!]!
    }

    extend type Mutation {
      "Opens a card: returns it with its unread state as it was, and marks it read."
      openCard(id: ID!): Card
      markCardRead(id: ID!): Boolean!
      markCardUnread(id: ID!): Boolean!
      markFolderRead(folderId: ID!): Int!
    }

    type Subscription {
      "Changes to cards the viewer may see, as they happen."
      cardEvents: CardEvent!
      "The viewer's unread counts, whenever they change."
      unreadCounts: [FolderUnreadCount!]!
    }
  `,
  resolvers: {
    Card: {
      unread: (card: CardDoc, _a, context) => unreadOf(card, context),
    },
    UnreadState: {
      isNew: (state: UnreadDoc) => state.newToUser,
    },
    Query: {
      unreadCounts: async (_p, _a, context) => unreadCounts(await requireActor(context)),
    },
    Mutation: {
      openCard: async (_p, { id }: Id, context) => {
        const actor = await requireActor(context);
        const card = await findCard(actor, id, { includeTrash: true });
        if (!card) return null;
        const state = (await unreadStateOf(actor.userId, [card._id])).get(id) ?? null;
        preloadedState.set(card, state);
        if (state && (await markRead(actor, card._id))) {
          events.publish('unread-changed', actor.userId, 'read');
        }
        return card;
      },
      markCardRead: async (_p, { id }: Id, context) => {
        const actor = await requireActor(context);
        const card = await findCard(actor, id);
        if (!card) throw notFound(actor, actor.locale === 'ru' ? 'Карточка' : 'Card');
        await markRead(actor, card._id);
        events.publish('unread-changed', actor.userId, 'read');
        return true;
      },
      markCardUnread: async (_p, { id }: Id, context) => {
        const actor = await requireActor(context);
        const card = await findCard(actor, id);
        if (!card) throw notFound(actor, actor.locale === 'ru' ? 'Карточка' : 'Card');
        await markUnread(actor, card._id, card.folderId);
        events.publish('unread-changed', actor.userId, 'unread');
        return true;
      },
      markFolderRead: async (_p, { folderId }: { folderId: string }, context) => {
        const actor = await requireActor(context);
        const folder = await findFolder(actor, folderId);
        if (!folder) throw notFound(actor, actor.locale === 'ru' ? 'Папка' : 'Folder');
        const count = await markFolderRead(actor, new Types.ObjectId(folderId));
        events.publish('unread-changed', actor.userId, 'read');
        return count;
      },
    },
    Subscription: {
      cardEvents: {
        subscribe: async (_p, _a, context: GraphQLContext) => {
          await requireActor(context);
          const user = context.auth.user!;
          return pipe(
            events.subscribe('card-event'),
            filter((event: CardEvent) => subscriberMaySee(user, context.ip, event.folderId)),
          );
        },
        resolve: (event: CardEvent) => event,
      },
      unreadCounts: {
        subscribe: async (_p, _a, context: GraphQLContext) => {
          await requireActor(context);
          const user = context.auth.user!;
          return pipe(
            events.subscribe('unread-changed', String(user._id)),
            map(async () => unreadCounts(await buildActor(user, context.ip))),
          );
        },
        resolve: (counts: unknown) => counts,
      },
    },
  },
};
