import type { GraphQLContext } from '../graphql/context';
import { requireActor } from '../graphql/guards';
import type { GraphQLModule } from '../graphql/module';
import { cardRead } from '../cards/reads';
import { switchCardTypeHistory } from '../cards/type-admin';
import type { HistoryEntryDoc } from './model';
import { cardAsOf, cardHistory, revertCard, verifyCardHistory, type HistoryFilter } from './service';

type CardId = { cardId: string };
const serviceContext = async (context: GraphQLContext) => ({ actor: await requireActor(context), logger: context.logger });

export const historyModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    type HistoryFieldChange {
      key: String!
      "The field's label when the change was made."
      label: LocalizedText!
      before: JSON
      after: JSON
      "Titles of referenced cards at that time, by id (for a move: the folders' names); null for those the reader may not see («нет доступа»)."
      beforeTitles: JSON
      afterTitles: JSON
      "The value names a folder the reader may not see: it is withheld and reads «нет доступа»."
      beforeHidden: Boolean!
      afterHidden: Boolean!
      "For a file field: the file versions added, removed and replaced — change, file and previous, each with id, name, size, sha256 and version."
      files: JSON
    }
    type HistoryEntry {
      id: ID!
      seq: Int!
      at: DateTime!
      actorId: ID!
      actorName: String!
      ip: String!
      "create, update, move, trash, restore, revert, merge, unmerge"
      action: String!
      "import when an import made the change, import-undo when undoing one did, type-change when a change of the card type rewrote the value; null for a person's edit."
      via: String
      changes: [HistoryFieldChange!]!
      hash: String!
    }
    type HistoryEdge { node: HistoryEntry!, cursor: String! }
    type HistoryConnection { edges: [HistoryEdge!]!, pageInfo: PageInfo!, totalCount: Int! }
    type HistoryVerdict { intact: Boolean!, entries: Int!, brokenAtSeq: Int, reason: String }
    type CardSnapshot { values: CardValues!, existed: Boolean! }

    extend type Query {
      "History readers and administrators; newest first."
      cardHistory(cardId: ID!, field: String, userId: ID, from: DateTime, to: DateTime, first: Int = 50, after: String): HistoryConnection!
      verifyHistory(cardId: ID!): HistoryVerdict!
      "The card's values at a moment, rebuilt from history; values of fields its type hides now are left out, as in Card.values."
      cardAsOf(cardId: ID!, at: DateTime!): CardSnapshot!
    }

    extend type Mutation {
      """
      Reverts the given fields (all shown fields when omitted) to their values at a moment; recorded as a
      new change. Needs both reading the card's history — members of «Операторы чтения истории» and
      administrators — and editing the card (edit or full access to its folder); otherwise FORBIDDEN.
      Editors who are not history readers cannot revert: what a field held before is history.
      """
      revertCard(cardId: ID!, at: DateTime!, fields: [String!], version: Int!): Card!
      "Administrators: change logging on or off for a card type. Old entries stay readable. Recorded in the audit log with before and after."
      setCardTypeHistory(typeKey: String!, enabled: Boolean!): CardType!
    }
  `,
  resolvers: {
    Query: {
      cardHistory: async (_p, { cardId, ...filter }: CardId & HistoryFilter, context) => {
        const history = await cardHistory(await requireActor(context), cardId, filter);
        if (history.edges.length > 0) cardRead(context, cardId);
        return history;
      },
      verifyHistory: async (_p, { cardId }: CardId, context) => verifyCardHistory(await requireActor(context), cardId),
      cardAsOf: async (_p, { cardId, at }: CardId & { at: Date }, context) => {
        const snapshot = await cardAsOf(await requireActor(context), cardId, at);
        cardRead(context, cardId);
        return snapshot;
      },
    },
    Mutation: {
      revertCard: async (_p, { cardId, ...input }: CardId & { at: Date; fields?: string[]; version: number }, context) => revertCard(await serviceContext(context), cardId, input),
      setCardTypeHistory: async (_p, { typeKey, enabled }: { typeKey: string; enabled: boolean }, context) => switchCardTypeHistory(await requireActor(context), typeKey, enabled),
    },
    HistoryEntry: {
      id: (entry: HistoryEntryDoc) => String(entry._id),
      actorId: (entry: HistoryEntryDoc) => String(entry.actorId),
    },
  },
};
