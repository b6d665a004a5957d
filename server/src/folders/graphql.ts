import type { GraphQLModule } from '../graphql/module';
import { requireActor } from '../graphql/guards';
import { folderSubject } from '../access/ability';
import { plainEntries } from '../access/effective-access';
import { accessSnapshot } from '../access/snapshot';
import type { AccessEntry, FolderDoc, LibraryDoc, PrincipalType } from './models';
import * as folders from './service';

type Id = { id: string };

export const foldersModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    enum AccessLevel { read edit full }
    enum PrincipalType { user department group }

    type AccessEntry {
      principalType: PrincipalType!
      principalId: ID!
      "Name of the user, department or group."
      principalName: String!
      includeSubdepartments: Boolean!
      level: AccessLevel!
      "Grants «Экспорт» of what the entry lets one read (here and below, where inherited)."
      export: Boolean!
    }

    type Library {
      id: ID!
      name: String!
      order: Int!
      "Entries inherited by the library's top-level folders (administrators only)."
      accessEntries: [AccessEntry!]
      "Folders of this library the viewer may read."
      folders: [Folder!]!
    }

    type Folder {
      id: ID!
      libraryId: ID!
      parentId: ID
      name: String!
      order: Int!
      inheritsAccess: Boolean!
      allowedCardTypes: [String!]!
      defaultCardType: String
      "The viewer's level here, as of now (also right after this request created the folder or changed its entries)."
      myAccess: AccessLevel!
      "The folder's own entries (full access only)."
      accessEntries: [AccessEntry!]
    }

    type AccessReason {
      principalType: PrincipalType!
      principalId: ID!
      principalName: String!
      level: AccessLevel!
      export: Boolean!
      sourceKind: String!
      sourceId: ID!
      sourceName: String!
      inherited: Boolean!
    }

    type EffectiveAccess {
      userId: ID!
      fullName: String!
      "Administrators only (null for a folder's other managers)."
      login: String
      level: AccessLevel!
      "May export the folder's cards (an entry with «Экспорт», the system group «Доверенные лица (экспорт)», or an administrator)."
      export: Boolean!
      reasons: [AccessReason!]!
    }

    input AccessEntryInput {
      principalType: PrincipalType!
      principalId: ID!
      includeSubdepartments: Boolean
      level: AccessLevel!
      "«Экспорт» (administrators only); absent keeps the principal's current flag."
      export: Boolean
    }
    input FolderInput {
      libraryId: ID
      parentId: ID
      name: String
      order: Int
      allowedCardTypes: [String!]
      defaultCardType: String
    }

    extend type Query {
      libraries: [Library!]!
      library(id: ID!): Library
      folders(libraryId: ID): [Folder!]!
      "Null both when the folder does not exist and when the viewer may not see it."
      folder(id: ID!): Folder
      effectiveAccess(folderId: ID!): [EffectiveAccess!]!
    }

    extend type Mutation {
      createLibrary(name: String!, order: Int): Library!
      updateLibrary(id: ID!, name: String, order: Int): Library!
      deleteLibrary(id: ID!): Boolean!
      "Administrators: replaces every entry of a library. Two administrators editing at once: use grantLibraryAccess / revokeLibraryAccess, which change one entry and keep the rest."
      setLibraryAccess(id: ID!, entries: [AccessEntryInput!]!): Library!
      "Administrators: adds the entry, or replaces the entry naming the same principal; every other entry stays as it is."
      grantLibraryAccess(id: ID!, entry: AccessEntryInput!): Library!
      "Administrators: removes the entry naming this principal; every other entry stays as it is."
      revokeLibraryAccess(id: ID!, principalType: PrincipalType!, principalId: ID!): Library!

      createFolder(input: FolderInput!): Folder!
      updateFolder(id: ID!, input: FolderInput!): Folder!
      moveFolder(id: ID!, parentId: ID, libraryId: ID, order: Int): Folder!
      deleteFolder(id: ID!): Boolean!
      "Full access: replaces every entry of the folder. Two people editing at once: use grantFolderAccess / revokeFolderAccess, which change one entry and keep the rest."
      setFolderAccess(id: ID!, entries: [AccessEntryInput!]!): Folder!
      "Full access: adds the entry, or replaces the entry naming the same principal; every other entry stays as it is."
      grantFolderAccess(id: ID!, entry: AccessEntryInput!): Folder!
      "Full access: removes the entry naming this principal from the folder's own entries; every other entry stays as it is."
      revokeFolderAccess(id: ID!, principalType: PrincipalType!, principalId: ID!): Folder!
      setFolderInheritance(id: ID!, inherits: Boolean!): Folder!
    }
  `,
  resolvers: {
    Query: {
      libraries: async (_p, _a, context) => folders.listLibraries(await requireActor(context)),
      library: async (_p, { id }: Id, context) => folders.findLibrary(await requireActor(context), id),
      folders: async (_p, { libraryId }: { libraryId?: string }, context) => folders.listFolders(await requireActor(context), libraryId),
      folder: async (_p, { id }: Id, context) => folders.findFolder(await requireActor(context), id),
      effectiveAccess: async (_p, { folderId }: { folderId: string }, context) => folders.effectiveAccess(await requireActor(context), folderId),
    },
    Mutation: {
      createLibrary: async (_p, args: { name: string; order?: number }, context) => folders.createLibrary(await requireActor(context), args),
      updateLibrary: async (_p, { id, ...input }: Id & { name?: string; order?: number }, context) => folders.updateLibrary(await requireActor(context), id, input),
      deleteLibrary: async (_p, { id }: Id, context) => folders.deleteLibrary(await requireActor(context), id),
      setLibraryAccess: async (_p, { id, entries }: Id & { entries: folders.AccessEntryInput[] }, context) => folders.setLibraryAccess(await requireActor(context), id, entries),
      createFolder: async (_p, { input }: { input: folders.FolderInput }, context) => folders.createFolder(await requireActor(context), input),
      updateFolder: async (_p, { id, input }: Id & { input: folders.FolderInput }, context) => folders.updateFolder(await requireActor(context), id, input),
      moveFolder: async (_p, { id, ...target }: Id & { parentId?: string; libraryId?: string; order?: number }, context) =>
        folders.moveFolder(await requireActor(context), id, target),
      deleteFolder: async (_p, { id }: Id, context) => folders.deleteFolder(await requireActor(context), id),
      setFolderAccess: async (_p, { id, entries }: Id & { entries: folders.AccessEntryInput[] }, context) => folders.setFolderAccess(await requireActor(context), id, entries),
      grantFolderAccess: async (_p, { id, entry }: Id & { entry: folders.AccessEntryInput }, context) => folders.grantFolderAccess(await requireActor(context), id, entry),
      revokeFolderAccess: async (_p, { id, ...principal }: Id & { principalType: PrincipalType; principalId: string }, context) =>
        folders.revokeFolderAccess(await requireActor(context), id, principal),
      grantLibraryAccess: async (_p, { id, entry }: Id & { entry: folders.AccessEntryInput }, context) => folders.grantLibraryAccess(await requireActor(context), id, entry),
      revokeLibraryAccess: async (_p, { id, ...principal }: Id & { principalType: PrincipalType; principalId: string }, context) =>
        folders.revokeLibraryAccess(await requireActor(context), id, principal),
      setFolderInheritance: async (_p, { id, inherits }: Id & { inherits: boolean }, context) => folders.setFolderInheritance(await requireActor(context), id, inherits),
    },
    Library: {
      id: (l: LibraryDoc) => String(l._id),
      accessEntries: async (l: LibraryDoc, _a, context) => ((await context.actor()).isAdmin ? l.accessEntries : null),
      folders: async (l: LibraryDoc, _a, context) => folders.listFolders(await context.actor(), String(l._id)),
    },
    Folder: {
      id: (f: FolderDoc) => String(f._id),
      libraryId: (f: FolderDoc) => String(f.libraryId),
      parentId: (f: FolderDoc) => (f.parentId ? String(f.parentId) : null),
      inheritsAccess: (f: FolderDoc) => f.inheritsAccess !== false,
      // From the current access snapshot, not the one the request started with: a folder this request
      // created (or whose entries it changed) answers with the viewer's level on it now.
      myAccess: async (f: FolderDoc, _a, context) => {
        const actor = await context.actor();
        const levels = (await accessSnapshot()).accessOf(actor.userId)?.folderLevels ?? actor.folderLevels;
        return levels.get(String(f._id)) ?? 'read';
      },
      accessEntries: async (f: FolderDoc, _a, context) => ((await context.actor()).ability.can('manageAccess', folderSubject(f)) ? f.accessEntries : null),
    },
    EffectiveAccess: {
      login: async (row: folders.EffectiveAccessRow, _a, context) => ((await context.actor()).isAdmin ? row.login : null),
    },
    AccessEntry: {
      principalId: (e: AccessEntry) => String(e.principalId),
      includeSubdepartments: (e: AccessEntry) => Boolean(e.includeSubdepartments),
      export: (e: AccessEntry) => Boolean(e.export),
      principalName: async (e: AccessEntry) => {
        // Names from the access snapshot: a list of entries costs no query per entry.
        return folders.principalName(await accessSnapshot(), plainEntries([e])[0]);
      },
    },
  },
};
