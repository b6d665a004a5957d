import type { FieldDefinition } from '../../../card-types';
import { requireActor } from '../graphql/guards';
import type { GraphQLModule } from '../graphql/module';
import type { MappingGuess } from './mapping';
import { requestUndo } from './undo';
import { inspectUpload, startImport, type ImportColumn, type ImportSettings, type MappingInput } from './service';

export const transferModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    enum ImportMatchPolicy {
      "Leave the existing card as it is."
      skip
      "Fill only the fields the existing card has empty."
      fillEmpty
      "Write every mapped value over the existing card's."
      overwrite
    }
    type ImportColumn {
      index: Int!
      "The header's text (or the column's letters when it has none)."
      name: String!
      "The first values below the header, as text."
      samples: [String!]!
    }
    type ImportField {
      key: String!
      label: LocalizedText!
      kind: String!
      required: Boolean!
      unique: Boolean!
    }
    type ImportConstant { field: String!, value: String! }
    type ImportMapping {
      "For each column, in order: the field key it goes into, or null (skipped)."
      columns: [String]!
      constants: [ImportConstant!]!
      "The unique field matching rows to existing cards; null: every row creates a card."
      matchField: String
      onMatch: ImportMatchPolicy!
    }
    "What an uploaded file holds and how its columns map: guessed from the headers, or the user's last mapping for the type."
    type ImportInspection {
      uploadId: ID!
      fileName: String!
      "xlsx or csv"
      format: String!
      "The sheets of an xlsx file, in order."
      sheets: [String!]!
      sheet: String
      "csv: utf-8 or windows-1251, as detected or chosen."
      encoding: String
      "csv: the separator, as detected or chosen."
      delimiter: String
      headerRow: Int!
      columns: [ImportColumn!]!
      fields: [ImportField!]!
      mapping: ImportMapping!
    }
    input ImportSettingsInput {
      "The id POST /transfer/uploads answered with."
      uploadId: ID!
      folderId: ID!
      typeKey: String!
      sheet: String
      encoding: String
      delimiter: String
      headerRow: Int
    }
    input ImportConstantInput { field: String!, value: String! }
    input ImportMappingInput {
      columns: [String]!
      constants: [ImportConstantInput!]
      matchField: String
      onMatch: ImportMatchPolicy!
    }
    extend type Query {
      "Looks at an uploaded file for an import into a folder as a card type (where the viewer may create cards)."
      importInspection(input: ImportSettingsInput!): ImportInspection!
    }
    extend type Mutation {
      "Starts an import as a background job (its result: counts, preview, refused rows); a dry run writes nothing."
      startImport(input: ImportSettingsInput!, mapping: ImportMappingInput!, dryRun: Boolean!): Job!
      "Undoes an import (the id of its job) as a job: its new cards go to the trash, overwritten fields get their values back unless changed since. Asked twice, the first undo is returned."
      undoImport(importId: ID!): Job!
    }
  `,
  resolvers: {
    ImportMapping: {
      constants: (mapping: MappingGuess) => Object.entries(mapping.constants).map(([field, value]) => ({ field, value })),
    },
    ImportField: {
      required: (field: FieldDefinition) => field.required === true,
      unique: (field: FieldDefinition) => field.unique === true,
    },
    ImportColumn: {
      samples: (column: ImportColumn) => column.samples,
    },
    Query: {
      importInspection: async (_p, { input }: { input: ImportSettings }, context) => inspectUpload(await requireActor(context), input),
    },
    Mutation: {
      startImport: async (_p, args: { input: ImportSettings; mapping: MappingInput; dryRun: boolean }, context) =>
        startImport(await requireActor(context), args.input, args.mapping, args.dryRun),
      undoImport: async (_p, { importId }: { importId: string }, context) => requestUndo(await requireActor(context), importId),
    },
  },
};
