import type DataLoader from 'dataloader';
import type { Actor } from '../access/actor';
import { cardTargets, type CardTypeDefinition } from '../../../card-types';
import { findCardType, listCardTypes } from '../card-types/registry';
import type { GraphQLContext } from '../graphql/context';
import { requireActor } from '../graphql/guards';
import { perRequest } from '../graphql/loaders';
import { accessSnapshot } from '../access/snapshot';
import type { GraphQLModule } from '../graphql/module';
import type { CardDoc } from './model';
import { listFolderCards, referenceLoader, relatedCards, searchCards, trashedCards, type Connection, type ListOptions, type ReferencedCard } from './queries';
import { createCard, findCard, moveCard, purgeCard, setCardTrashed, updateCard } from './service';
import { previewCardTypeChange, saveCardTypeDefinition, type FieldChangeReport } from './type-admin';

type Id = { id: string };

// One loader per request, so a page of cards costs one query for all referenced titles.
async function references(context: GraphQLContext): Promise<DataLoader<string, ReferencedCard>> {
  const actor: Actor = await context.actor();
  return perRequest(context, 'references', () => referenceLoader(actor));
}

const serviceContext = async (context: GraphQLContext) => ({ actor: await requireActor(context), logger: context.logger });

export const cardsModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    type LocalizedText { ru: String!, en: String! }

    type CardType {
      key: ID!
      names: LocalizedText!
      "The whole definition (fields, title template, related tabs…) as the registry holds it."
      definition: JSON!
      historyEnabled: Boolean!
    }

    "A card another card's field points to; title is null when the reader may not see it («нет доступа»)."
    type CardReference {
      fieldKey: String!
      id: ID!
      typeKey: String
      title: String
      accessible: Boolean!
      "The referenced card is in the trash; the reference stays until someone changes it."
      inTrash: Boolean!
    }

    type Card {
      id: ID!
      typeKey: String!
      type: CardType
      folderId: ID!
      folder: Folder
      title: String!
      "Stored values by field key; empty fields are absent. Decimals and money are strings."
      values: JSON!
      version: Int!
      createdAt: DateTime!
      updatedAt: DateTime!
      createdBy: User
      updatedBy: User
      inTrash: Boolean!
      trashedAt: DateTime
      references: [CardReference!]!
    }

    type CardEdge { node: Card!, cursor: String! }
    type CardConnection { edges: [CardEdge!]!, pageInfo: PageInfo!, totalCount: Int! }
    type SearchHit { card: Card!, exact: Boolean! }

    "What a field change would do to stored cards."
    type FieldChangeReport {
      key: String!
      allowed: Boolean!
      refusal: String
      safe: Boolean!
      "How many cards' values would be rewritten into the new form."
      updates: Int!
      "Values that would not convert or would break new limits: [{cardId, value, reason}]."
      failures: JSON!
      "Cards without a value, when the field becomes required."
      missing: [ID!]!
      "Cards sharing a value, when the field becomes unique: [{value, cardIds}]."
      duplicates: JSON!
    }
    type SchemaChangeReport { safe: Boolean!, fields: [FieldChangeReport!]! }

    enum CardFilterOp { contains equals range in empty notEmpty tags }
    input CardFilterInput { field: String!, op: CardFilterOp!, value: String, values: [String!], from: String, to: String }

    extend type Query {
      cardTypes: [CardType!]!
      cardType(key: ID!): CardType
      "Null both when the card does not exist and when the viewer may not read it."
      card(id: ID!): Card
      cards(folderId: ID!, first: Int = 50, after: String, sortBy: String, descending: Boolean, filters: [CardFilterInput!]): CardConnection!
      relatedCards(cardId: ID!, tab: String!): [Card!]!
      trash(first: Int = 100): [Card!]!
      search(query: String!, libraryId: ID, first: Int = 30): [SearchHit!]!
      "Administrators: the dry run of saving this card type definition."
      cardTypeChangePreview(definition: JSON!): SchemaChangeReport!
    }

    extend type Mutation {
      createCard(folderId: ID!, typeKey: String!, values: JSON!): Card!
      "Changed fields only (null empties a field), based on the version the user edited."
      updateCard(id: ID!, version: Int!, values: JSON!): Card!
      moveCard(id: ID!, folderId: ID!, version: Int!): Card!
      deleteCard(id: ID!): Card!
      restoreCard(id: ID!): Card!
      purgeCard(id: ID!): Boolean!
      "Administrators: defines a new card type."
      createCardType(definition: JSON!): CardType!
      "Administrators: changes a type; refused with the dry-run report when values would be lost or violated. Fields left out are hidden, not dropped."
      updateCardType(definition: JSON!): CardType!
    }
  `,
  resolvers: {
    Query: {
      cardTypes: async (_p, _a, context) => {
        await requireActor(context);
        return listCardTypes();
      },
      cardType: async (_p, { key }: { key: string }, context) => {
        await requireActor(context);
        return findCardType(key);
      },
      card: async (_p, { id }: Id, context) => findCard(await requireActor(context), id, { includeTrash: true }),
      cards: async (_p, { folderId, ...options }: ListOptions & { folderId: string }, context) => listFolderCards(await requireActor(context), folderId, options),
      relatedCards: async (_p, { cardId, tab }: { cardId: string; tab: string }, context) => relatedCards(await requireActor(context), cardId, tab),
      trash: async (_p, { first }: { first: number }, context) => trashedCards(await requireActor(context), first),
      search: async (_p, args: { query: string; libraryId?: string; first: number }, context) =>
        searchCards(await requireActor(context), args.query, { libraryId: args.libraryId, first: args.first }),
      cardTypeChangePreview: async (_p, { definition }: { definition: unknown }, context) => previewCardTypeChange(await requireActor(context), definition),
    },
    Mutation: {
      createCard: async (_p, input: { folderId: string; typeKey: string; values: Record<string, unknown> }, context) => createCard(await serviceContext(context), input),
      updateCard: async (_p, { id, ...input }: Id & { version: number; values: Record<string, unknown> }, context) => updateCard(await serviceContext(context), id, input),
      moveCard: async (_p, { id, ...input }: Id & { folderId: string; version: number }, context) => moveCard(await serviceContext(context), id, input),
      deleteCard: async (_p, { id }: Id, context) => setCardTrashed(await serviceContext(context), id, true),
      restoreCard: async (_p, { id }: Id, context) => setCardTrashed(await serviceContext(context), id, false),
      purgeCard: async (_p, { id }: Id, context) => purgeCard(await serviceContext(context), id),
      createCardType: async (_p, { definition }: { definition: unknown }, context) => saveCardTypeDefinition(await requireActor(context), definition, { isNew: true }),
      updateCardType: async (_p, { definition }: { definition: unknown }, context) => saveCardTypeDefinition(await requireActor(context), definition, { isNew: false }),
    },
    CardConnection: {
      // Counted only when asked for: a count costs a scan of the folder's index range.
      totalCount: (connection: Connection<CardDoc>) => connection.totalCount(),
    },
    FieldChangeReport: {
      updates: (report: FieldChangeReport) => report.updates.length,
    },
    CardType: {
      definition: (type: CardTypeDefinition) => type,
    },
    Card: {
      id: (card: CardDoc) => String(card._id),
      folderId: (card: CardDoc) => String(card.folderId),
      type: (card: CardDoc) => findCardType(card.typeKey),
      folder: async (card: CardDoc) => (await accessSnapshot()).folders.get(String(card.folderId)) ?? null,
      // Authors from the access snapshot: no query for them.
      createdBy: async (card: CardDoc) => (await accessSnapshot()).users.get(String(card.createdBy)) ?? null,
      updatedBy: async (card: CardDoc) => (await accessSnapshot()).users.get(String(card.updatedBy)) ?? null,
      references: async (card: CardDoc, _a, context) => {
        const type = await findCardType(card.typeKey);
        const pairs = (type?.fields ?? [])
          .filter((field) => cardTargets(field) && card.values[field.key] !== undefined)
          .flatMap((field) => [card.values[field.key]].flat().map((id) => ({ fieldKey: field.key, id: String(id) })));
        const loader = await references(context);
        const loaded = await loader.loadMany(pairs.map((p) => p.id));
        return pairs.map((pair, index) => ({ ...(loaded[index] as ReferencedCard), fieldKey: pair.fieldKey }));
      },
    },
  },
};
