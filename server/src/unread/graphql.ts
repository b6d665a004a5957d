import { onRowsListed } from '../cards/listed';
import type { CardDoc } from '../cards/model';
import { findCard } from '../cards/service';
import { findFolder } from '../folders/service';
import type { GraphQLContext } from '../graphql/context';
import { notFound } from '../errors';
import { requireActor } from '../graphql/guards';
import type { GraphQLModule } from '../graphql/module';
import { perRequest } from '../graphql/loaders';
import { cardEventStream, liveUpdateStream, unreadCountStream } from './live';
import { markFolderRead, markRead, markUnread, readStateOf, unreadCounts, unreadViewOf, type ReadState, type UnreadView } from './service';

type Id = { id: string };

// openCard hands back the state as it was before marking the card read.
const preloadedState = new WeakMap<CardDoc, UnreadView | null>();

/** The viewer's read state, one per request (usually cached across requests). */
const requestReadState = (context: GraphQLContext): Promise<ReadState> => perRequest(context, 'read-state', () => context.actor().then((actor) => readStateOf(actor.userId)));

/** The request's read state once a folder's page listed its rows: their unread states are answered at once. */
const readyStates = new WeakMap<GraphQLContext, ReadState>();

onRowsListed(async (context) => {
  // A failure here is the unread field's own to report, row by row, as without this.
  const state = await requestReadState(context).catch(() => null);
  if (state) readyStates.set(context, state);
});

/** A card's unread state for the viewer, from their read state: no query per card. */
function unreadOf(card: CardDoc, context: GraphQLContext): UnreadView | null | Promise<UnreadView | null> {
  if (preloadedState.has(card)) return preloadedState.get(card) ?? null;
  const ready = readyStates.get(context);
  if (ready) return unreadViewOf(ready, card);
  return requestReadState(context).then((state) => unreadViewOf(state, card));
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
      "create, update, move, trash, restore, revert, merge, unmerge; file-version-removed: an earlier version of one of the card's files was removed for good (its values stay); or moved-away: the card left folderId for a folder the viewer may not read (not named)"
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
      """
      Unread counts of the folders the viewer can read that have unread cards. Folders with 0 unread are
      left out: a folder missing from the list has nothing unread (the list stays as long as the
      folders with something new, not as long as all folders).
      """
      unreadCounts: [FolderUnreadCount!]!
    }

    extend type Mutation {
      "Opens a card: returns it with its unread state as it was, and marks it read."
      openCard(id: ID!): Card
      markCardRead(id: ID!): Boolean!
      markCardUnread(id: ID!): Boolean!
      markFolderRead(folderId: ID!): Int!
    }

    "Cards one batch changed (an import's rows, its undo), told once: those the viewer may see, and the folders they read where those changed."
    type CardBatchEvent {
      cardIds: [ID!]!
      folderIds: [ID!]!
      actorId: ID!
      actorName: String!
      at: DateTime!
    }

    "What a tab shows live: a change to a card the viewer may see (or a batch's changes), their new unread counts, and/or that their rights changed; or one of their own jobs changing, or how far one of their exports is."
    type LiveUpdate {
      cardEvent: CardEvent
      "The changes of a batch that the viewer may see, at once: given instead of a cardEvent for each."
      cardBatch: CardBatchEvent
      unreadCounts: [FolderUnreadCount!]
      "The viewer's rights changed (administrator, history reader, the folders they reach and at what level): read the viewer and the folder tree again."
      accessChanged: Boolean!
      "One of the viewer's own jobs was created or changed (its state or progress), as jobEvents tells it."
      job: Job
      "An export the viewer started with a progressId wrote more rows (at most every 250 ms, and at its start and end)."
      exportProgress: ExportProgress
    }

    "How far an export is: rows written into the download of the total counted before the first."
    type ExportProgress {
      "The progressId the export was asked with."
      progressId: String!
      rows: Int!
      total: Int!
    }

    type Subscription {
      "Changes to cards the viewer may see, as they happen."
      cardEvents: CardEvent!
      "The viewer's unread counts, whenever they change: the whole list as Query.unreadCounts gives it (folders with 0 unread left out, so a folder that drops out went to 0)."
      unreadCounts: [FolderUnreadCount!]!
      "Both of the above on one stream (a session may hold 5 streams): what the client's tabs use."
      live: LiveUpdate!
    }
  `,
  resolvers: {
    Card: {
      unread: (card: CardDoc, _a, context) => unreadOf(card, context),
    },
    Query: {
      unreadCounts: async (_p, _a, context) => unreadCounts(await requireActor(context)),
    },
    Mutation: {
      openCard: async (_p, { id }: Id, context) => {
        const actor = await requireActor(context);
        const card = await findCard(actor, id, { includeTrash: true });
        if (!card) return null;
        const state = unreadViewOf(await readStateOf(actor.userId), card);
        preloadedState.set(card, state);
        if (state) await markRead(actor, card);
        return card;
      },
      markCardRead: async (_p, { id }: Id, context) => {
        const actor = await requireActor(context);
        const card = await findCard(actor, id);
        if (!card) throw notFound(actor, actor.locale === 'ru' ? 'Карточка' : 'Card');
        await markRead(actor, card);
        return true;
      },
      markCardUnread: async (_p, { id }: Id, context) => {
        const actor = await requireActor(context);
        const card = await findCard(actor, id);
        if (!card) throw notFound(actor, actor.locale === 'ru' ? 'Карточка' : 'Card');
        await markUnread(actor, card);
        return true;
      },
      markFolderRead: async (_p, { folderId }: { folderId: string }, context) => {
        const actor = await requireActor(context);
        const folder = await findFolder(actor, folderId);
        if (!folder) throw notFound(actor, actor.locale === 'ru' ? 'Папка' : 'Folder');
        return markFolderRead(actor, folderId);
      },
    },
    Subscription: {
      cardEvents: {
        subscribe: (_p, _a, context: GraphQLContext) => cardEventStream(context),
        resolve: (event: unknown) => event,
      },
      unreadCounts: {
        subscribe: (_p, _a, context: GraphQLContext) => unreadCountStream(context),
        resolve: (counts: unknown) => counts,
      },
      live: {
        subscribe: (_p, _a, context: GraphQLContext) => liveUpdateStream(context),
        resolve: (update: unknown) => update,
      },
    },
  },
};
