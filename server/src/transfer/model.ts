import mongoose, { Schema, type Types } from 'mongoose';

/**
 * One row of an import, written in the same transaction as the card it created or changed: what
 * happened to it, the card, the values an update replaced (for undo) and, for a refused row, its
 * cells and the reasons (for the error report). A resumed import skips the rows recorded here.
 */
const importRowSchema = new Schema(
  {
    importId: { type: Schema.Types.ObjectId, required: true },
    row: { type: Number, required: true },
    outcome: { type: String, enum: ['created', 'updated', 'skipped', 'refused'], required: true },
    cardId: { type: Schema.Types.ObjectId, default: null },
    /** The folder of the existing card the row matched by the unique field (or found holding its value), if any. */
    matchFolderId: { type: Schema.Types.ObjectId, default: null },
    /** Updates: the fields the import changed, with the values they had before and the values it wrote. */
    before: { type: Schema.Types.Mixed, default: null },
    after: { type: Schema.Types.Mixed, default: null },
    /** Refused rows: the cells as read, and one reason per column (`column`: null for the whole row). */
    cells: { type: [Schema.Types.Mixed], default: undefined },
    problems: { type: [{ _id: false, column: String, message: String }], default: undefined },
    /** When an undo of the import dealt with this row, and what became of its card. */
    undoneAt: { type: Date, default: null },
    undoOutcome: { type: String, enum: ['trashed', 'restored', 'restoredInPart', 'kept', null], default: null },
  },
  { versionKey: false },
);
importRowSchema.index({ importId: 1, row: 1 }, { unique: true });
importRowSchema.index({ importId: 1, outcome: 1, row: 1 });

export type ImportOutcome = 'created' | 'updated' | 'skipped' | 'refused';

export interface ImportProblem {
  /** The column's name in the file; null when the row as a whole was refused. */
  column: string | null;
  message: string;
}

export interface ImportRowDoc {
  _id: Types.ObjectId;
  importId: Types.ObjectId;
  row: number;
  outcome: ImportOutcome;
  cardId: Types.ObjectId | null;
  matchFolderId?: Types.ObjectId | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  cells?: unknown[];
  problems?: ImportProblem[];
  undoneAt: Date | null;
  undoOutcome?: 'trashed' | 'restored' | 'restoredInPart' | 'kept' | null;
}

export const ImportRow = mongoose.model('ImportRow', importRowSchema, 'import_rows');

/** A user's mapping for a card type, remembered from their last import of it: column name → field key. */
const importMappingSchema = new Schema(
  {
    userId: { type: Schema.Types.ObjectId, required: true },
    typeKey: { type: String, required: true },
    /** Column names and their fields as pairs (names may hold dots, which keys may not). */
    columns: { type: [{ _id: false, column: String, field: String }], default: [] },
    constants: { type: [{ _id: false, field: String, value: String }], default: [] },
    matchField: { type: String, default: null },
    onMatch: { type: String, default: 'skip' },
    /** The named headers of the file `onMatch` was chosen for, as compared (`headerKey`): the policy is offered again only for a file with the same. */
    headers: { type: [String], default: undefined },
  },
  { timestamps: true, minimize: false },
);
importMappingSchema.index({ userId: 1, typeKey: 1 }, { unique: true });

export interface ImportMappingDoc {
  userId: Types.ObjectId;
  typeKey: string;
  columns: { column: string; field: string }[];
  constants: { field: string; value: string }[];
  matchField: string | null;
  onMatch: string;
  headers?: string[];
}

export const ImportMapping = mongoose.model('ImportMapping', importMappingSchema, 'import_mappings');

/**
 * Rows a user exported on one day (UTC), against the daily limit (`EXPORT_DAILY_ROWS`): an export
 * reserves its rows before it starts and settles to what it wrote. Kept for a week.
 */
const exportUsageSchema = new Schema(
  {
    /** `<user id>:<yyyy-mm-dd>`. */
    _id: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    day: { type: String, required: true },
    rows: { type: Number, required: true },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false },
);
exportUsageSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export const ExportUsage = mongoose.model('ExportUsage', exportUsageSchema, 'export_usage');

/** The undo of an import is one job per import: its key (`$type` in a query on it lets MongoDB use the partial index). */
export const undoKey = (importId: string) => `import-undo:${importId}`;
