import type { FieldDefinition } from '../../../card-types';
import { events } from '../events/bus';
import type { GraphQLContext } from '../graphql/context';
import { requireActor, requireAdmin } from '../graphql/guards';
import { openLiveStream } from '../live/streams';
import type { ReadAlarm } from './read-alarm';
import type { GraphQLModule } from '../graphql/module';
import type { MappingGuess } from './mapping';
import type { JobView } from '../jobs/view';
import { importJob, type ImportParams, type ImportResult, type PreviewRow } from './import';
import { requestUndo, undoImportJob, type UndoResult } from './undo';
import { importRuns, inspectUpload, startImport, type ImportColumn, type ImportRun, type ImportSettings, type MappingInput } from './service';

/** A job as the API resolves it (stored, or as the event bus carries it): both have these. */
type FinishedJob = Pick<JobView, 'type' | 'result'>;

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
      "The first values below the header, as text, each cut to its first 100 characters (with «…» where it goes on)."
      samples: [String!]!
      "The targets of the samples' hyperlinks (an .xlsx cell linking elsewhere: «Сайт компании» → https://…), null where a sample has none. A site or an e-mail column takes the target; a text column, the sample."
      links: [String]!
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
      "Whether cards of other folders may match too (always false as guessed: it is asked for each import)."
      matchOtherFolders: Boolean!
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
      "csv: utf-8, windows-1251, utf-16le or utf-16be, as detected (a BOM names UTF-16) or chosen."
      encoding: String
      "csv: the separator, as detected or chosen."
      delimiter: String
      headerRow: Int!
      columns: [ImportColumn!]!
      fields: [ImportField!]!
      mapping: ImportMapping!
      "Of the card types the folder takes, the one whose fields the file's headers fit best (the same guessing as mapping; the type asked for when none fits better): a page preselects it unless the user chose the type."
      suggestedTypeKey: String!
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
      """
      false (the default): only cards of the import's folder match, and a row whose value a card of
      another folder holds is refused, naming that folder. true: a card the user may edit in any
      folder matches and is updated there.
      """
      matchOtherFolders: Boolean = false
    }
    enum ImportOutcome { created, updated, skipped, refused }
    "A field's value in a previewed row, as a person will read it on the card."
    type ImportPreviewValue { field: String!, text: String! }
    "An existing card a row matched by the unique field (or found holding its value in another folder)."
    type ImportFoundCard {
      id: ID!
      title: String!
      folderId: ID!
      folderName: String!
    }
    type ImportPreviewRow {
      "The row's number in the file."
      row: Int!
      outcome: ImportOutcome!
      values: [ImportPreviewValue!]!
      "The existing card the row matched, if any, with its folder."
      found: ImportFoundCard
    }
    "Rows that found an existing card in one folder, by what became of them."
    type ImportMatchedFolder {
      folderId: ID!
      name: String!
      updated: Int!
      skipped: Int!
      refused: Int!
    }
    type ImportProblem {
      "The column's name, or null when the row as a whole is refused."
      column: String
      message: String!
    }
    type ImportRefusedRow { row: Int!, problems: [ImportProblem!]! }
    "What an import (or its dry run) did: the counts, the first rows as stored, the first refused rows with their reasons."
    type ImportResult {
      dryRun: Boolean!
      "Data rows in the file (empty rows not counted)."
      total: Int!
      created: Int!
      updated: Int!
      skipped: Int!
      refused: Int!
      "Cancelled part way: the counts are what was done."
      cancelled: Boolean!
      preview: [ImportPreviewRow!]!
      "The first refused rows (all of them are in the error report)."
      refusedRows: [ImportRefusedRow!]!
      "The folders where the rows' matching cards are (the import's own first), with counts."
      matchedFolders: [ImportMatchedFolder!]!
    }
    "What undoing an import did."
    type ImportUndoResult {
      "Cards the import created, now in the trash."
      trashed: Int!
      "Cards whose overwritten fields got their earlier values back."
      restored: Int!
      "Of those restored, cards that kept a field someone changed since the import (left as they made it)."
      restoredInPart: Int!
      "Cards left as they are: changed since by someone, already in the trash, gone, or out of the user's rights."
      kept: Int!
    }
    extend type Job {
      "An import's result, once it finished (null for other jobs)."
      importResult: ImportResult
      "An import undo's result, once it finished (null for other jobs)."
      importUndoResult: ImportUndoResult
    }
    "An import the viewer ran (not a dry run), with its undo once one was asked for."
    type ImportRun {
      "The import's job: state, progress, importResult, when it ran."
      job: Job!
      "The name of the imported file."
      fileName: String!
      "The undo of this import (its state and importUndoResult); null while none was asked for."
      undo: Job
    }
    extend type Query {
      "Looks at an uploaded file for an import into a folder as a card type (where the viewer may create cards)."
      importInspection(input: ImportSettingsInput!): ImportInspection!
      """
      The viewer's own imports into the folder, newest first, dry runs left out (first: at most 50):
      to read their results again, download their refused rows and undo them. Empty for a folder
      the viewer never imported into.
      """
      importRuns(folderId: ID!, first: Int = 10): [ImportRun!]!
    }
    extend type Mutation {
      "Starts an import as a background job (its result: counts, preview, refused rows); a dry run writes nothing."
      startImport(input: ImportSettingsInput!, mapping: ImportMappingInput!, dryRun: Boolean!): Job!
      "Undoes an import (the id of its job) as a job: its new cards go to the trash, overwritten fields get their values back unless changed since. Asked twice, the first undo is returned."
      undoImport(importId: ID!): Job!
    }
    """
    A user was sent far more cards than they usually are: within one window of READ_ALARM_MINUTES,
    at least READ_ALARM_CARDS and READ_ALARM_FACTOR × their usual count; also in the audit log as
    bulk-reading.
    """
    type ReadAlarm {
      userId: ID!
      login: String!
      fullName: String!
      cards: Int!
      "This user's threshold: READ_ALARM_CARDS, or READ_ALARM_FACTOR × usual when that is larger."
      threshold: Int!
      "The user's usual cards per window: the median of their daily peaks over the last READ_ALARM_DAYS days on which they read (0: none)."
      usual: Int!
      windowMinutes: Int!
      at: DateTime!
    }
    extend type Subscription {
      "Administrators: bulk-reading alarms as they are raised."
      readAlarms: ReadAlarm!
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
    Job: {
      importResult: (job: FinishedJob) => (job.type === importJob.type ? (job.result as ImportResult | null) : null),
      // An undo finished before `restoredInPart` was counted has none on record.
      importUndoResult: (job: FinishedJob): UndoResult | null =>
        job.type === undoImportJob.type && job.result ? ({ restoredInPart: 0, ...(job.result as Partial<UndoResult>) } as UndoResult) : null,
    },
    ImportPreviewRow: {
      values: (row: PreviewRow) => Object.entries(row.values).map(([field, text]) => ({ field, text })),
      found: (row: PreviewRow) => row.found ?? null,
    },
    ImportResult: {
      // Results stored before folders were told have none.
      matchedFolders: (result: ImportResult) => result.matchedFolders ?? [],
    },
    ImportColumn: {
      samples: (column: ImportColumn) => column.samples,
    },
    ImportRun: {
      fileName: (run: ImportRun) => (run.job.params as unknown as ImportParams).fileName,
    },
    Query: {
      importInspection: async (_p, { input }: { input: ImportSettings }, context) => inspectUpload(await requireActor(context), input),
      importRuns: async (_p, { folderId, first }: { folderId: string; first: number }, context) => importRuns(await requireActor(context), folderId, first),
    },
    Mutation: {
      startImport: async (_p, args: { input: ImportSettings; mapping: MappingInput; dryRun: boolean }, context) =>
        startImport(await requireActor(context), args.input, args.mapping, args.dryRun),
      undoImport: async (_p, { importId }: { importId: string }, context) => requestUndo(await requireActor(context), importId),
    },
    Subscription: {
      readAlarms: {
        subscribe: async (_p: unknown, _a: unknown, context: GraphQLContext) => {
          await requireAdmin(context);
          return openLiveStream<ReadAlarm, ReadAlarm>(context, {
            source: events.subscribe('read-alarm'),
            audience: () => ({ administrators: true }),
            present: (alarm) => alarm,
          });
        },
        resolve: (alarm: ReadAlarm) => alarm,
      },
    },
  },
};
