import mongoose, { Schema, type Types } from 'mongoose';

/**
 * Append-only change log. No API updates or deletes entries; each entry's hash covers its
 * content and the previous entry's hash of the same card, so an edit in the database shows.
 */
const fieldChangeSchema = new Schema(
  {
    key: { type: String, required: true },
    /** The field's label when the change was made. */
    label: { ru: String, en: String },
    before: { type: Schema.Types.Mixed, default: null },
    after: { type: Schema.Types.Mixed, default: null },
    /** For references: the referenced cards' titles at that time, by id. */
    beforeTitles: { type: Schema.Types.Mixed, default: null },
    afterTitles: { type: Schema.Types.Mixed, default: null },
    /** For file fields: the file versions added, removed and replaced, with their SHA-256. */
    files: { type: Schema.Types.Mixed, default: undefined },
  },
  { _id: false },
);

const historyEntrySchema = new Schema({
  cardId: { type: Schema.Types.ObjectId, required: true },
  typeKey: { type: String, required: true },
  folderId: { type: Schema.Types.ObjectId, required: true },
  /** 1, 2, 3… per card; the unique index keeps the chain from forking. */
  seq: { type: Number, required: true },
  at: { type: Date, required: true },
  actorId: { type: Schema.Types.ObjectId, required: true },
  actorName: { type: String, required: true },
  ip: { type: String, default: '' },
  action: { type: String, required: true },
  /** What made the change when not a person's edit: `import` or `import-undo` (with the import's id), `type-change` (with its job's id). */
  via: { type: String },
  viaId: { type: String },
  changes: { type: [fieldChangeSchema], default: [] },
  prevHash: { type: String, required: true },
  hash: { type: String, required: true },
});
historyEntrySchema.index({ cardId: 1, seq: 1 }, { unique: true });
historyEntrySchema.index({ cardId: 1, at: -1 });
historyEntrySchema.index({ actorId: 1, at: -1 });

/** A file version as history records it (and as its hash in the chain covers it). */
export interface FileRecord {
  id: string;
  name: string;
  size: number;
  sha256: string;
  version: number;
}

/**
 * One file's part of a field change: added, removed, or replaced by a new version (`previous` the one
 * replaced); or an earlier version (not in the field) removed for good, its bytes gone (`version-removed`).
 */
export interface FileChangeRecord {
  change: 'added' | 'removed' | 'replaced' | 'version-removed';
  file: FileRecord;
  previous?: FileRecord;
}

export interface HistoryFieldChange {
  key: string;
  label: { ru: string; en: string };
  before: unknown;
  after: unknown;
  /** Titles of referenced cards by id; for a move, the folders' names by id. */
  beforeTitles: Record<string, string> | null;
  afterTitles: Record<string, string> | null;
  /** For file fields: the file versions added, removed and replaced, with their SHA-256. */
  files?: FileChangeRecord[];
}

export interface HistoryEntryDoc {
  _id: Types.ObjectId;
  cardId: Types.ObjectId;
  typeKey: string;
  folderId: Types.ObjectId;
  seq: number;
  at: Date;
  actorId: Types.ObjectId;
  actorName: string;
  ip: string;
  action: string;
  via?: string;
  viaId?: string;
  changes: HistoryFieldChange[];
  prevHash: string;
  hash: string;
}

export const HistoryEntry = mongoose.model('HistoryEntry', historyEntrySchema, 'history');
