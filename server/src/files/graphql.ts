import DataLoader from 'dataloader';
import { accessSnapshot } from '../access/snapshot';
import { findCardType } from '../card-types/registry';
import { Card, type CardDoc } from '../cards/model';
import type { GraphQLContext } from '../graphql/context';
import { requireActor } from '../graphql/guards';
import { perRequest } from '../graphql/loaders';
import type { GraphQLModule } from '../graphql/module';
import { refuseField } from '../validation';
import type { StoredFileDoc } from './model';
import { cardFileIds, mayDownload, readableFiles, storedFiles, versionsOf } from './service';
import { fileView } from './view';

const MAX_IDS = 200;

/** One request's stored files by id: a page of cards costs one query for all their files. */
const fileLoader = (context: GraphQLContext) =>
  perRequest(
    context,
    'files',
    () =>
      new DataLoader<string, StoredFileDoc | undefined>(async (ids) => {
        const found = await storedFiles(ids);
        return ids.map((id) => found.get(id));
      }),
  );

/** One request's cards of files by id (for their folders): one query for a page of files. */
const cardLoader = (context: GraphQLContext) =>
  perRequest(
    context,
    'file-cards',
    () =>
      new DataLoader<string, Pick<CardDoc, 'folderId' | 'libraryId'> | undefined>(async (ids) => {
        const cards = await Card.find({ _id: { $in: ids } }, { folderId: 1, libraryId: 1 }).lean<CardDoc[]>();
        return ids.map((id) => cards.find((card) => String(card._id) === id));
      }),
  );

export const filesModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    "A stored version of a file on a card (or an upload not attached yet)."
    type StoredFile {
      id: ID!
      "The file field that holds it."
      fieldKey: String!
      name: String!
      "Bytes."
      size: Float!
      "SHA-256 of the content, hex."
      sha256: String!
      "What the content was recognised as (pdf, docx, png …); null for none of the known types."
      fileType: String
      "The type it is served as."
      contentType: String!
      "1 for the first version of a file, then 2, 3 … for the versions that replaced it."
      version: Int!
      uploadedAt: DateTime!
      uploadedBy: User
      "Download (an attachment); with ?inline=1 a PDF or an image opens in the browser."
      url: String!
      "How the card shows it: pdf, image, html (a DOCX as read-only HTML) or none."
      preview: String!
      "Text for search: none (not a searchable type), pending, done or failed."
      textState: String!
      "The reader may save a copy (url): downloading counts as export, under the «Экспорт» right; previews are reading."
      canDownload: Boolean!
      "Every version of this file on the card, newest first (this one among them)."
      versions: [StoredFile!]!
    }
    extend type Field {
      "A file field: the types a file may be, by content (pdf, docx, xlsx, jpg, png …); any when null."
      allowedTypes: [String!]
    }
    extend input FieldInput {
      allowedTypes: [String!]
    }
    extend type Query {
      "Stored files by id (at most 200), in the order asked; those the reader may not read are left out."
      files(ids: [ID!]!): [StoredFile!]!
    }
    extend type Card {
      "The current versions of the files the card's file fields hold, in field order."
      files: [StoredFile!]!
    }
  `,
  resolvers: {
    Query: {
      files: async (_parent: unknown, { ids }: { ids: string[] }, context: GraphQLContext) => {
        const actor = await requireActor(context);
        if (ids.length > MAX_IDS) refuseField(actor.locale, 'ids', 'tooMany', { max: MAX_IDS });
        return readableFiles(actor, ids);
      },
    },
    StoredFile: {
      id: (file: StoredFileDoc) => String(file._id),
      contentType: (file: StoredFileDoc) => fileView(file).contentType,
      url: (file: StoredFileDoc) => fileView(file).url,
      preview: (file: StoredFileDoc) => fileView(file).preview,
      uploadedBy: async (file: StoredFileDoc) => (await accessSnapshot()).users.get(String(file.uploadedBy)) ?? null,
      canDownload: async (file: StoredFileDoc, _args: unknown, context: GraphQLContext) => {
        const actor = await requireActor(context);
        if (file.state !== 'attached' || !file.cardId) return mayDownload(actor, null);
        const card = await cardLoader(context).load(String(file.cardId));
        return card !== undefined && mayDownload(actor, card);
      },
      versions: async (file: StoredFileDoc) => (file.lineage ? ((await versionsOf([String(file.lineage)])).get(String(file.lineage)) ?? []) : [file]),
    },
    Card: {
      // The card is one the reader may read (it was resolved), so its files are too.
      files: async (card: CardDoc, _args: unknown, context: GraphQLContext) => {
        const type = await findCardType(card.typeKey);
        if (!type) return [];
        const files = await fileLoader(context).loadMany(cardFileIds(type, card.values));
        return files.filter((file): file is StoredFileDoc => !(file instanceof Error) && file !== undefined && String(file.cardId) === String(card._id));
      },
    },
  },
};
