import DataLoader from 'dataloader';
import { accessSnapshot } from '../access/snapshot';
import { findCardType } from '../card-types/registry';
import { Card, type CardDoc } from '../cards/model';
import { findCard } from '../cards/service';
import type { GraphQLContext } from '../graphql/context';
import { requireActor } from '../graphql/guards';
import { perRequest } from '../graphql/loaders';
import type { GraphQLModule } from '../graphql/module';
import { refuseField } from '../validation';
import { Types } from 'mongoose';
import { queryPrefixes } from '../cards/search';
import { searchIndexOf } from '../../../card-types';
import { FileText, type FileTextDoc, type StoredFileDoc } from './model';
import { fileUsage } from './quota';
import { cardFileIds, mayDownload, readableFiles, shownFileIds, storedFiles, versionsOf } from './service';
import { mayRemoveVersion, removeFileVersion } from './versions';
import { fileView, servedName } from './view';
import { knownActiveContent } from './active';

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

type FileCard = Pick<CardDoc, '_id' | 'folderId' | 'libraryId' | 'typeKey' | 'values' | 'inTrash'>;

/** One request's cards of files by id (for their folders and the files they hold now): one query for a page of files. */
const cardLoader = (context: GraphQLContext) =>
  perRequest(
    context,
    'file-cards',
    () =>
      new DataLoader<string, FileCard | undefined>(async (ids) => {
        const cards = await Card.find({ _id: { $in: ids } }, { folderId: 1, libraryId: 1, typeKey: 1, values: 1, inTrash: 1 }).lean<FileCard[]>();
        return ids.map((id) => cards.find((card) => String(card._id) === id));
      }),
  );

/** One request's extracted file texts by file id: the hits of one search cost one query for all their files. */
const textLoader = (context: GraphQLContext) =>
  perRequest(
    context,
    'file-texts',
    () =>
      new DataLoader<string, string | undefined>(async (ids) => {
        const texts = await FileText.find({ _id: { $in: ids } }, { text: 1 }).lean<FileTextDoc[]>();
        return ids.map((id) => texts.find((text) => String(text._id) === id)?.text);
      }),
  );

/** The card of an attached file as the request loaded it (undefined for uploads not attached yet). */
const cardOf = (file: StoredFileDoc, context: GraphQLContext) =>
  file.state === 'attached' && file.cardId ? cardLoader(context).load(String(file.cardId)) : Promise.resolve(undefined);

export const filesModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    "A stored version of a file on a card (or an upload not attached yet)."
    type StoredFile {
      id: ID!
      "The file field that holds it."
      fieldKey: String!
      "The card it is attached to; null for an upload not saved to a card yet."
      cardId: ID
      "Every version of one file shares this id (its first version's); null until the upload is attached."
      lineage: ID
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
      "A PDF with scripts or other active content (JavaScript, automatic actions, form submission, launching, embedded media), or one that could not be checked: the download's warning; null while the check has not run (it is started then, and the answer does not wait for it). The browser's viewer (?inline=1) is never given the uploaded bytes of a PDF, only a safe copy rebuilt without any of it."
      activeContent: Boolean
      "The card's type keeps history: removing a version is recorded in the card's history then (and in the audit log always)."
      historyKept: Boolean!
      "The reader may save a copy (url): downloading counts as export, under the «Экспорт» right; previews are reading."
      canDownload: Boolean!
      "Every version of this file on the card, newest first (this one among them)."
      versions: [StoredFile!]!
      "The reader may remove this version for good (removeFileVersion): an earlier version the card's fields no longer hold, and full access to the card."
      canRemove: Boolean!
    }
    "How much the signed-in user has stored in files, of how much they may (FILE_QUOTA_MB)."
    type FileQuota {
      "Bytes of every stored version the user uploaded."
      usedBytes: Float!
      "Bytes the user may store; 0 = no quota."
      limitBytes: Float!
    }
    extend type SearchHit {
      "The card's current files whose text holds query words the card's own title and fields do not: the hit was found in them («найдено в файле …»)."
      foundInFiles: [StoredFile!]!
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
      "The signed-in user's use of their file quota."
      fileQuota: FileQuota!
    }
    extend type Mutation {
      "Removes an earlier version of a file for good (full access to the card; not the version the field holds), freeing its uploader's quota; recorded in the card's history and the audit log. Answers the versions that remain, newest first."
      removeFileVersion(id: ID!): [StoredFile!]!
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
      fileQuota: async (_parent: unknown, _args: unknown, context: GraphQLContext) => {
        const actor = await requireActor(context);
        return { usedBytes: await fileUsage(new Types.ObjectId(actor.userId)), limitBytes: context.config.fileQuotaBytes };
      },
    },
    Mutation: {
      removeFileVersion: async (_parent: unknown, { id }: { id: string }, context: GraphQLContext) => removeFileVersion(await requireActor(context), id),
    },
    SearchHit: {
      foundInFiles: async (hit: { card: CardDoc; exact: boolean; query?: string }, _args: unknown, context: GraphQLContext) => {
        if (hit.exact || !hit.query) return [];
        const type = await findCardType(hit.card.typeKey);
        if (!type) return [];
        // A card without shown files was found by its own words: they are worked out again (phone
        // numbers parsed, text normalised) only for a card whose files may hold a query word.
        const ids = shownFileIds(type, hit.card.values);
        if (ids.length === 0) return [];
        const prefixes = queryPrefixes(hit.query);
        const own = searchIndexOf(type, hit.card.title, hit.card.values).searchWords;
        const missing = prefixes.filter((prefix) => !own.some((word) => word.startsWith(prefix)));
        if (missing.length === 0) return [];
        const texts = await textLoader(context).loadMany(ids);
        // A query prefix is made of letters and digits only (queryPrefixes): it begins a word of the text when no letter or digit comes before it.
        const begins = missing.map((prefix) => new RegExp(`(?<![\\p{L}\\p{N}])${prefix}`, 'u'));
        const inText = ids.filter((_id, index) => {
          const text = texts[index];
          return typeof text === 'string' && begins.some((pattern) => pattern.test(text));
        });
        const files = await fileLoader(context).loadMany(inText);
        return files.filter((file): file is StoredFileDoc => !(file instanceof Error) && file !== undefined && String(file.cardId) === String(hit.card._id));
      },
    },
    StoredFile: {
      id: (file: StoredFileDoc) => String(file._id),
      cardId: (file: StoredFileDoc) => (file.state === 'attached' && file.cardId ? String(file.cardId) : null),
      lineage: (file: StoredFileDoc) => fileView(file).lineage,
      name: (file: StoredFileDoc) => servedName(file),
      contentType: (file: StoredFileDoc) => fileView(file).contentType,
      url: (file: StoredFileDoc) => fileView(file).url,
      preview: (file: StoredFileDoc) => fileView(file).preview,
      activeContent: (file: StoredFileDoc) => knownActiveContent(file),
      historyKept: async (file: StoredFileDoc) => (await findCardType(file.cardTypeKey))?.historyEnabled === true,
      uploadedBy: async (file: StoredFileDoc) => (await accessSnapshot()).users.get(String(file.uploadedBy)) ?? null,
      canDownload: async (file: StoredFileDoc, _args: unknown, context: GraphQLContext) => {
        const actor = await requireActor(context);
        if (file.state !== 'attached' || !file.cardId) return mayDownload(actor, null);
        const card = await cardOf(file, context);
        return card !== undefined && mayDownload(actor, card);
      },
      canRemove: async (file: StoredFileDoc, _args: unknown, context: GraphQLContext) => {
        const card = await cardOf(file, context);
        const type = card && (await findCardType(card.typeKey));
        return !!card && !!type && mayRemoveVersion(await requireActor(context), file, { ...card, held: cardFileIds(type, card.values) });
      },
      versions: async (file: StoredFileDoc) => (file.lineage ? ((await versionsOf([String(file.lineage)])).get(String(file.lineage)) ?? []) : [file]),
    },
    Card: {
      // The card is one the reader may read (it was resolved), so its files are too; a merged card's
      // files it handed to the card it was merged into are shown to those who may read that card.
      files: async (card: CardDoc, _args: unknown, context: GraphQLContext) => {
        const type = await findCardType(card.typeKey);
        if (!type) return [];
        const files = (await fileLoader(context).loadMany(shownFileIds(type, card.values))).filter((file): file is StoredFileDoc => !(file instanceof Error) && file !== undefined);
        const holders = new Set([String(card._id)]);
        const survivor = card.mergedInto ? String(card.mergedInto) : null;
        if (survivor && files.some((file) => String(file.cardId) === survivor) && (await findCard(await requireActor(context), survivor, { includeTrash: true })))
          holders.add(survivor);
        return files.filter((file) => holders.has(String(file.cardId)));
      },
    },
  },
};
