import mongoose, { Schema, type Types } from 'mongoose';
import type { UnpackProblem } from './archive';

/**
 * One stored file version: its content lives in the file storage (GridFS) under the same id, its
 * description here. An upload is `pending` until a saved card takes it (`attached`); uploads never
 * attached, and the files of purged cards, are removed once `expiresAt` has passed.
 */
/**
 * Why a file has no preview: its archive refused, too many pixels, too large to read whole, (a PDF
 * shown as text) no text in it, (a PDF's page drawn as an image) the drawing took too long, or (a
 * PDF's safe copy) it is encrypted, its compressed streams decode to more than a copy may make, or
 * the copy would be far larger than the file.
 */
export type PreviewRefusal =
  | UnpackProblem
  | { reason: 'tooManyPixels'; limit: number }
  | { reason: 'fileTooLarge'; limitBytes: number }
  | { reason: 'noText' }
  | { reason: 'tooSlow'; limitSeconds: number }
  | { reason: 'tooComplex'; limitSeconds: number; heapMb: number }
  | { reason: 'encrypted' }
  | { reason: 'tooMuchCompressed'; limitBytes: number }
  | { reason: 'copyTooLarge'; limitBytes: number }
  | { reason: 'copyOverQuota'; usedBytes: number; limitBytes: number };

export type FileState = 'uploading' | 'pending' | 'attached' | 'purged';
/** Text for search: not a searchable type, waiting for the extraction job, extracted, or unreadable. */
export type TextState = 'none' | 'pending' | 'done' | 'failed';

const storedFileSchema = new Schema(
  {
    name: { type: String, required: true },
    size: { type: Number, default: 0 },
    sha256: { type: String, default: '' },
    /** What the content was recognised as (a key of the kernel's file types), null for none of them. */
    fileType: { type: String, default: null },
    state: { type: String, required: true },
    uploadedBy: { type: Schema.Types.ObjectId, required: true },
    uploadedAt: { type: Date, required: true },
    /** The type and field the file was uploaded for, and the card (null: a card being created in folderId). */
    cardTypeKey: { type: String, required: true },
    fieldKey: { type: String, required: true },
    cardId: { type: Schema.Types.ObjectId, default: null },
    folderId: { type: Schema.Types.ObjectId, default: null },
    /** The version this upload is meant to replace. */
    replaces: { type: Schema.Types.ObjectId, default: null },
    /** Every version of one file shares the id of its first version; `version` counts from 1. */
    lineage: { type: Schema.Types.ObjectId, default: null },
    version: { type: Number, default: 1 },
    attachedAt: { type: Date, default: null },
    expiresAt: { type: Date, default: null },
    textState: { type: String, default: 'none' },
    /** A PDF holds scripts or other active content (never opened inline); null: not checked yet. */
    activeContent: { type: Boolean, default: null },
    /** The version of the check that gave `activeContent` (an older check's verdict is worked out again). */
    activeCheck: { type: Number, default: null },
    /** Derived copies kept in the storage: an image's thumbnail, a DOCX as sanitised HTML. */
    renditions: {
      thumbnail: { type: Schema.Types.ObjectId, default: null },
      html: { type: Schema.Types.ObjectId, default: null },
      /** A PDF's pages drawn as images, by page number (those asked for so far). */
      pages: { type: Map, of: Schema.Types.ObjectId, default: undefined },
      /** A PDF rebuilt without anything that acts, what the browser's viewer is given (safe-copy.ts). */
      safePdf: { type: Schema.Types.ObjectId, default: null },
    },
    /** Why a derived copy cannot be made (an image over the pixel bound, a DOCX too large unpacked), kept so it is not worked out again. */
    previewRefusals: {
      thumbnail: { type: Schema.Types.Mixed, default: null },
      html: { type: Schema.Types.Mixed, default: null },
      /** Why a PDF's pages cannot be drawn at all (it does not open), or, by page number, one of them. */
      pageCount: { type: Schema.Types.Mixed, default: null },
      pages: { type: Schema.Types.Mixed, default: undefined },
      /** Why no further page of a PDF is drawn: one page took longer than the drawing's time limit (its other pages would too, each after as long). */
      drawing: { type: Schema.Types.Mixed, default: undefined },
      safePdf: { type: Schema.Types.Mixed, default: null },
    },
    /** How many pages a PDF has; null until its pages were first asked for. */
    pageCount: { type: Number, default: null },
    /** The bytes of derived copies counted against the uploader's quota (the safe copy of a PDF), freed with the version. */
    copyBytes: { type: Number, default: 0 },
  },
  { minimize: false, versionKey: false },
);
storedFileSchema.index({ state: 1, expiresAt: 1 });
storedFileSchema.index({ cardId: 1, state: 1 });
storedFileSchema.index({ lineage: 1, version: -1 });
storedFileSchema.index({ uploadedBy: 1 });

export interface StoredFileDoc {
  _id: Types.ObjectId;
  name: string;
  size: number;
  sha256: string;
  fileType: string | null;
  state: FileState;
  uploadedBy: Types.ObjectId;
  uploadedAt: Date;
  cardTypeKey: string;
  fieldKey: string;
  cardId: Types.ObjectId | null;
  folderId: Types.ObjectId | null;
  replaces: Types.ObjectId | null;
  lineage: Types.ObjectId | null;
  version: number;
  attachedAt: Date | null;
  expiresAt: Date | null;
  textState: TextState;
  /** Absent or null until checked (a PDF's scripts and actions, hasActiveContent). */
  activeContent?: boolean | null;
  /** The check's version (ACTIVE_CHECK_VERSION) that gave `activeContent`; absent before versions were kept. */
  activeCheck?: number | null;
  /** `safePdf` is absent on versions stored before safe copies were made. */
  renditions: { thumbnail: Types.ObjectId | null; html: Types.ObjectId | null; pages?: Record<string, Types.ObjectId>; safePdf?: Types.ObjectId | null };
  /** Absent on versions stored before refusals were kept. */
  previewRefusals?: {
    thumbnail: PreviewRefusal | null;
    html: PreviewRefusal | null;
    pageCount?: PreviewRefusal | null;
    pages?: Record<string, PreviewRefusal>;
    drawing?: PreviewRefusal | null;
    safePdf?: PreviewRefusal | null;
  };
  /** Absent or null until a PDF's pages were first asked for. */
  pageCount?: number | null;
  /** Absent on versions stored before copies were counted. */
  copyBytes?: number;
}

export const StoredFile = mongoose.model('StoredFile', storedFileSchema, 'files');

/**
 * The text of a searchable file version (normalised for search, bounded), kept apart from the
 * card so that a search hit can say which file it was found in.
 */
const fileTextSchema = new Schema(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    cardId: { type: Schema.Types.ObjectId, required: true },
    text: { type: String, default: '' },
  },
  { versionKey: false },
);
fileTextSchema.index({ text: 'text' }, { default_language: 'none' });

export interface FileTextDoc {
  _id: Types.ObjectId;
  cardId: Types.ObjectId;
  text: string;
}

export const FileText = mongoose.model('FileText', fileTextSchema, 'filetexts');

/**
 * How many bytes of files a user has stored (every version they uploaded that is kept): counted up
 * when an upload is kept, down when a version is removed; for the per-user quota.
 */
const fileUsageSchema = new Schema(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    bytes: { type: Number, required: true },
  },
  { versionKey: false },
);

export interface FileUsageDoc {
  _id: Types.ObjectId;
  bytes: number;
}

export const FileUsage = mongoose.model('FileUsage', fileUsageSchema, 'fileusage');

/**
 * The highest version number a file's lineage has given out, kept apart from the versions themselves:
 * a version removed for good (and its description cleaned up) still counts, so numbers never repeat.
 * Written when a new version is attached and when one is removed; gone with the card's purge.
 */
const fileLineageSchema = new Schema(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    cardId: { type: Schema.Types.ObjectId, required: true },
    highest: { type: Number, required: true },
  },
  { versionKey: false },
);
fileLineageSchema.index({ cardId: 1 });

export interface FileLineageDoc {
  _id: Types.ObjectId;
  cardId: Types.ObjectId;
  highest: number;
}

export const FileLineage = mongoose.model('FileLineage', fileLineageSchema, 'filelineages');

/**
 * Uploaders whose files' heavy work needed more than its first try, or ran out of its time or
 * memory (workers.ts): kept in the database so that every instance, and a restart, knows them.
 * `until` is when the mark lapses (MongoDB's TTL index then removes it; readers compare it too,
 * since the TTL monitor runs once a minute and the embedded engine has none).
 */
const slowUploaderSchema = new Schema(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    until: { type: Date, required: true },
  },
  { versionKey: false },
);
slowUploaderSchema.index({ until: 1 }, { expireAfterSeconds: 0 });

export interface SlowUploaderDoc {
  _id: Types.ObjectId;
  until: Date;
}

export const SlowUploader = mongoose.model('SlowUploader', slowUploaderSchema, 'slowuploaders');
