import mongoose, { Schema, type Types } from 'mongoose';
import type { CardValues } from '../../../card-types';

/** A matching rule: which fields of a card type, compared exactly (normalised) or by name similarity. */
export interface MatchRule {
  /** Latin, unique within the type (`inn`, `name`, `phone-email`). */
  id: string;
  fields: string[];
  mode: 'exact' | 'similar';
}

/**
 * An administrator's matching settings of a card type (without one, the built-in rules apply),
 * and, after each scan, how often each trigram occurs (the order blocking takes them in).
 */
const settingsSchema = new Schema(
  {
    _id: { type: String, required: true },
    threshold: { type: Number, default: null },
    rules: { type: [{ _id: false, id: String, fields: [String], mode: String }], default: null },
    updatedBy: { type: Schema.Types.ObjectId, default: null },
    /** When the last scan of all cards of the type finished, and under which rules (their fingerprint). */
    scannedAt: { type: Date, default: null },
    scannedRules: { type: String, default: null },
    /** Per similar rule: [trigram, count] over all cards at the last scan. */
    trigramCounts: { type: Schema.Types.Mixed, default: null },
    /** The common values the last scan met (held by more than `commonValueLimits.cards` cards; joining none), the most held first. */
    commonValues: { type: [{ _id: false, rule: String, value: String, cards: Number }], default: [] },
  },
  { timestamps: true, minimize: false },
);

export interface DuplicateSettingsDoc {
  _id: string;
  threshold: number | null;
  rules: MatchRule[] | null;
  updatedBy: Types.ObjectId | null;
  scannedAt: Date | null;
  scannedRules: string | null;
  trigramCounts: Record<string, [string, number][]> | null;
  commonValues?: CommonValue[];
  updatedAt: Date;
}

/** A value of an exact rule held by so many cards of a type that it joins none (`commonValueLimits`). */
export interface CommonValue {
  rule: string;
  /** As the rule compares it (a phone's digits, an e-mail in lower case). */
  value: string;
  cards: number;
}

export const DuplicateSettings = mongoose.model('DuplicateSettings', settingsSchema, 'duplicate_settings');

/**
 * What keys and groups are made of (the normalisation of names, the exact values, the groups'
 * ranks — from 5, Latin mirror letters in Cyrillic words — from 6, common values joining no cards —
 * from 7): raised whenever that changes, so that keys and groups stored by an older version count
 * as stale and the next start scans again.
 */
export const KEYS_VERSION = 7;

/**
 * A card's blocking keys under its type's rules (kept by the card lifecycle in the card's
 * transaction; rebuilt by a scan): exact keys `rule=value`, the normalised name `rule=numbers~text`
 * and every trigram of it `rule~numbers~trigram`. Cards sharing a key are candidates.
 */
const keySchema = new Schema(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    typeKey: { type: String, required: true },
    folderId: { type: Schema.Types.ObjectId, required: true },
    libraryId: { type: Schema.Types.ObjectId, required: true },
    keys: { type: [String], default: [] },
    /** The normalised text of each similar rule, by rule id. */
    names: { type: Schema.Types.Mixed, default: {} },
  },
  { minimize: false, versionKey: false },
);
keySchema.index({ keys: 1, typeKey: 1 });
keySchema.index({ typeKey: 1, _id: 1 });

export interface DuplicateKeyDoc {
  _id: Types.ObjectId;
  typeKey: string;
  folderId: Types.ObjectId;
  libraryId: Types.ObjectId;
  keys: string[];
  names: Record<string, string>;
}

export const DuplicateKey = mongoose.model('DuplicateKey', keySchema, 'duplicate_keys');

/** Two cards found alike: by which rule and how much (1 for exact rules). */
export interface DuplicateEdge {
  a: Types.ObjectId;
  b: Types.ObjectId;
  rule: string;
  score: number;
}

/**
 * A group of probable duplicates: cards joined by edges (a connected component). Its members'
 * folders and libraries are listed, so that the permission condition of cards selects the groups
 * a user may see something of.
 */
const groupSchema = new Schema(
  {
    typeKey: { type: String, required: true },
    cardIds: { type: [Schema.Types.ObjectId], required: true },
    folderId: { type: [Schema.Types.ObjectId], required: true },
    libraryId: { type: [Schema.Types.ObjectId], required: true },
    edges: { type: [{ _id: false, a: Schema.Types.ObjectId, b: Schema.Types.ObjectId, rule: String, score: Number }], default: [] },
    score: { type: Number, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false },
);
groupSchema.index({ cardIds: 1 });
groupSchema.index({ score: -1, _id: 1 });
groupSchema.index({ typeKey: 1, score: -1, _id: 1 });

export interface DuplicateGroupDoc {
  _id: Types.ObjectId;
  typeKey: string;
  cardIds: Types.ObjectId[];
  folderId: Types.ObjectId[];
  libraryId: Types.ObjectId[];
  edges: DuplicateEdge[];
  score: number;
  updatedAt: Date;
}

export const DuplicateGroup = mongoose.model('DuplicateGroup', groupSchema, 'duplicate_groups');

/**
 * Where a group stands in the «Дубликаты» list, one row per pair of folders its pairs join (the
 * best score of its pairs between those two folders): a viewer who may read both folders sees
 * those pairs, so the group's place for them is its best row they may read, and nothing about a
 * pair with a card they cannot read decides its place or shows in the cursor. `folderId` and
 * `libraryId` list the whole group's (distinct), so that the permission condition of cards selects
 * the rows of groups the viewer has something of; `folders` are the row's own two.
 */
const rankSchema = new Schema(
  {
    /** `group id/folder id/folder id`, the folders in order. */
    _id: { type: String, required: true },
    groupId: { type: Schema.Types.ObjectId, required: true },
    typeKey: { type: String, required: true },
    score: { type: Number, required: true },
    folders: { type: [Schema.Types.ObjectId], required: true },
    libraries: { type: [Schema.Types.ObjectId], required: true },
    folderId: { type: [Schema.Types.ObjectId], required: true },
    libraryId: { type: [Schema.Types.ObjectId], required: true },
  },
  { versionKey: false },
);
rankSchema.index({ score: -1, _id: 1 });
rankSchema.index({ typeKey: 1, score: -1, _id: 1 });
rankSchema.index({ groupId: 1 });

export interface DuplicateRankDoc {
  _id: string;
  groupId: Types.ObjectId;
  typeKey: string;
  score: number;
  folders: Types.ObjectId[];
  libraries: Types.ObjectId[];
  folderId: Types.ObjectId[];
  libraryId: Types.ObjectId[];
}

export const DuplicateRank = mongoose.model('DuplicateRank', rankSchema, 'duplicate_ranks');

/**
 * Per card type, the state of its scan: while one runs (`scanning`), refreshes list the cards they
 * refreshed in `dirty`, which the scan refreshes again on top of its own (older) snapshot; past
 * MAX_DIRTY cards they only set `overflow`, and the scan then reads the type once more.
 */
const refreshSchema = new Schema(
  {
    _id: { type: String, required: true },
    seq: { type: Number, default: 0 },
    scanning: { type: Boolean, default: false },
    dirty: { type: [Schema.Types.ObjectId], default: [] },
    overflow: { type: Boolean, default: false },
  },
  { versionKey: false },
);

export interface DuplicateRefreshDoc {
  _id: string;
  seq: number;
  scanning: boolean;
  dirty: Types.ObjectId[];
  overflow?: boolean;
}

export const DuplicateRefresh = mongoose.model('DuplicateRefresh', refreshSchema, 'duplicate_refreshes');

/**
 * Claims (`typeKey/bucket`, CLAIM_BUCKETS per type): a refresh of groups writes the claims of its
 * cards' blocking keys first in its transaction, so that refreshes of cards that may be alike run
 * one after another (a concurrent one meets a write conflict and is retried on what the other
 * wrote) while those of unrelated cards do not wait for each other. The end of a scan claims them all.
 */
const claimSchema = new Schema({ _id: { type: String, required: true }, seq: { type: Number, default: 0 } }, { versionKey: false });

export const DuplicateClaim = mongoose.model('DuplicateClaim', claimSchema, 'duplicate_claims');

/** Buckets of claims per type: few enough to claim all at a scan's end, many enough that unrelated saves rarely share one. */
export const CLAIM_BUCKETS = 4096;

/**
 * «Не дубликат»: a pair of cards someone said are different; not offered together again until
 * someone who may edit both takes the mark back. The cards' folders and libraries are kept (and
 * follow the cards when they move), so that the permission condition of cards lists the marks a
 * viewer may see.
 */
const dismissalSchema = new Schema(
  {
    /** `smaller id:larger id`. */
    _id: { type: String, required: true },
    typeKey: { type: String, required: true },
    /** The two cards, in the order of `_id`. */
    cardIds: { type: [Schema.Types.ObjectId], default: undefined },
    folderId: { type: [Schema.Types.ObjectId], default: undefined },
    libraryId: { type: [Schema.Types.ObjectId], default: undefined },
    by: { type: Schema.Types.ObjectId, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
dismissalSchema.index({ typeKey: 1 });
dismissalSchema.index({ cardIds: 1 });
dismissalSchema.index({ at: -1, _id: 1 });
dismissalSchema.index({ typeKey: 1, at: -1, _id: 1 });

export interface DuplicateDismissalDoc {
  _id: string;
  typeKey: string;
  cardIds?: Types.ObjectId[];
  folderId?: Types.ObjectId[];
  libraryId?: Types.ObjectId[];
  by: Types.ObjectId;
  at: Date;
}

export const DuplicateDismissal = mongoose.model('DuplicateDismissal', dismissalSchema, 'duplicate_dismissals');

export const pairKey = (a: unknown, b: unknown): string => {
  const [x, y] = [String(a), String(b)].sort();
  return `${x}:${y}`;
};

/** A card as it was before a merge: what undoing the merge puts back. */
export interface MergedCardState {
  cardId: Types.ObjectId;
  values: CardValues;
  /** The version the merge left it at (undo checks nobody changed it since). */
  versionAfter: number;
}

/** A reference re-pointed by a merge: the field of the referencing card, and its value before and after. */
export interface RepointedReference {
  cardId: Types.ObjectId;
  field: string;
  before: string | string[];
  after: string | string[];
}

/** Files a merged card handed to the survivor: the lineages (each file with all its versions) that came from it. */
export interface HandedFilesRecord {
  cardId: Types.ObjectId;
  lineages: Types.ObjectId[];
}

/**
 * One merge: the survivor's values before it, the merged cards (now in the trash), every reference
 * it re-pointed and every file a merged card handed to the survivor, so that undo restores all of it.
 */
const mergeSchema = new Schema(
  {
    typeKey: { type: String, required: true },
    survivor: { type: { _id: false, cardId: Schema.Types.ObjectId, values: Schema.Types.Mixed, versionAfter: Number }, required: true },
    merged: { type: [{ _id: false, cardId: Schema.Types.ObjectId, values: Schema.Types.Mixed, versionAfter: Number }], required: true },
    references: { type: [{ _id: false, cardId: Schema.Types.ObjectId, field: String, before: Schema.Types.Mixed, after: Schema.Types.Mixed }], default: [] },
    files: { type: [{ _id: false, cardId: Schema.Types.ObjectId, lineages: [Schema.Types.ObjectId] }], default: [] },
    by: { type: Schema.Types.ObjectId, required: true },
    byName: { type: String, required: true },
    at: { type: Date, required: true },
    undoneAt: { type: Date, default: null },
    undoneBy: { type: Schema.Types.ObjectId, default: null },
    /** A large merge's background job re-pointing its references (null: done within the request). */
    jobId: { type: Schema.Types.ObjectId, default: null },
    /** A large merge's undo's background job pointing its references back (null: done within the request, or not undone). */
    undoJobId: { type: Schema.Types.ObjectId, default: null },
    /** The survivor as it was when it was deleted for good (the merge still names it); null while it exists. */
    survivorGone: { type: { _id: false, title: String, folderId: Schema.Types.ObjectId, libraryId: Schema.Types.ObjectId, at: Date }, default: null },
  },
  { versionKey: false, minimize: false },
);
mergeSchema.index({ 'merged.cardId': 1 });
mergeSchema.index({ 'survivor.cardId': 1, at: -1 });

export interface MergeDoc {
  _id: Types.ObjectId;
  typeKey: string;
  survivor: MergedCardState;
  merged: MergedCardState[];
  references: RepointedReference[];
  /** Absent on merges made before files were handed over. */
  files?: HandedFilesRecord[];
  by: Types.ObjectId;
  byName: string;
  at: Date;
  undoneAt: Date | null;
  undoneBy: Types.ObjectId | null;
  jobId?: Types.ObjectId | null;
  undoJobId?: Types.ObjectId | null;
  survivorGone?: { title: string; folderId: Types.ObjectId; libraryId: Types.ObjectId; at: Date } | null;
}

export const Merge = mongoose.model('Merge', mergeSchema, 'merges');
