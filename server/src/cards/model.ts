import mongoose, { Schema, type Types } from 'mongoose';
import type { CardValues } from '../../../card-types';

/**
 * All cards share one collection; their values live under `values.<fieldKey>`, empty fields
 * absent (so partial unique indexes ignore them).
 */
const cardSchema = new Schema(
  {
    typeKey: { type: String, required: true },
    folderId: { type: Schema.Types.ObjectId, ref: 'Folder', required: true },
    libraryId: { type: Schema.Types.ObjectId, ref: 'Library', required: true },
    title: { type: String, default: '' },
    values: { type: Schema.Types.Mixed, default: {} },
    /** Normalised text of all text-like values and file texts (ё→е, lower case): what searchWords are taken from. */
    searchText: { type: String, default: '' },
    /** The distinct words of searchText (letters and digits), the search's index (README, «Search»). */
    searchWords: { type: [String], default: undefined },
    /** Exact-match keys: INN-like digit strings, phone digits, e-mails. */
    searchKeys: { type: [String], default: [] },
    /** Optimistic concurrency: every accepted change increments it. */
    version: { type: Number, default: 1 },
    createdBy: { type: Schema.Types.ObjectId, ref: 'User', required: true },
    updatedBy: { type: Schema.Types.ObjectId, ref: 'User', required: true },
    /** In the trash: hidden from folders, restorable by users with full access. */
    inTrash: { type: Boolean, default: false },
    trashedAt: { type: Date, default: null },
    trashedBy: { type: Schema.Types.ObjectId, ref: 'User', default: null },
    /** Merged into this card (and so in the trash) until the merge is undone. */
    mergedInto: { type: Schema.Types.ObjectId, default: null },
    /** When the card came into its folder: created, moved in, or restored from the trash. */
    arrivedAt: { type: Date },
    /** When each field last changed (field key → time): what a reader has not seen yet. */
    fieldChangedAt: { type: Schema.Types.Mixed },
  },
  { timestamps: true, minimize: false },
);
// Listing a folder, newest changes first (the default order), and counting it.
cardSchema.index({ folderId: 1, inTrash: 1, updatedAt: -1, _id: -1 });
cardSchema.index({ folderId: 1, inTrash: 1, title: 1, _id: 1 });
cardSchema.index({ folderId: 1, inTrash: 1, createdAt: -1, _id: -1 });
cardSchema.index({ inTrash: 1, trashedAt: -1 });
cardSchema.index({ searchKeys: 1 });
// References in an imported file name cards by title: found by type and title.
cardSchema.index({ typeKey: 1, title: 1 });
// A card type's cards, in and out of the trash, in the order of their ids: counted by the dry run of a
// type change, then changed batch by batch (resumed after the last card done).
cardSchema.index({ typeKey: 1, inTrash: 1, _id: 1 });
// A type's cards changed since a time: what the save of a type change checks again after its dry run.
cardSchema.index({ typeKey: 1, updatedAt: 1 });
// Search by words: walked from the rarest query word's prefix range — across all folders, or, for a
// reader of some folders, that range with their folders as a list on the second field: one skip
// scan within the word's keys (README, «Search»). Replaced `searchWords_1` and
// `folderId_1_searchWords_1` (data-model step 7).
cardSchema.index({ searchWords: 1, folderId: 1 });

export interface CardDoc {
  _id: Types.ObjectId;
  typeKey: string;
  folderId: Types.ObjectId;
  libraryId: Types.ObjectId;
  title: string;
  values: CardValues;
  searchText: string;
  /** Absent on cards stored before word search existed, until the search-words job reaches them. */
  searchWords?: string[];
  searchKeys: string[];
  version: number;
  createdBy: Types.ObjectId;
  updatedBy: Types.ObjectId;
  createdAt: Date;
  updatedAt: Date;
  inTrash: boolean;
  trashedAt: Date | null;
  trashedBy: Types.ObjectId | null;
  /** Absent on cards stored before merges existed. */
  mergedInto?: Types.ObjectId | null;
  /** Absent on cards stored before it was recorded: their creation time stands in. */
  arrivedAt?: Date;
  fieldChangedAt?: Record<string, Date>;
}

export const Card = mongoose.model('Card', cardSchema);

/**
 * A projection leaving out what only search reads, never shown (over half a card's bytes): the
 * built-in database copies the other fields' stored bytes, and the server decodes much less.
 */
export const WITHOUT_SEARCH_FIELDS = { searchText: 0, searchWords: 0, searchKeys: 0 } as const;

/**
 * Stored fields only the Card field of the same name shows (no other field, permission or unread
 * state reads them), and `trashedBy`, which none shows.
 */
const SHOWN_ONLY = ['createdBy', 'updatedBy', 'trashedAt'] as const;

/** The Card fields that read a card's stored values (`files`: the files module's). */
const READ_VALUES = ['values', 'hiddenValues', 'references', 'files'] as const;

/**
 * What a read of cards for a query leaves out, by the Card fields the query selects: the search's
 * fields, and those only shown when not selected (a folder page's rows ask no authors) — two
 * ObjectIds and two nulls fewer per card to encode, send and decode; the values too when no field
 * selected reads them (ids and folders of cards by id, a related tab's titles), so such a reply
 * spends nothing of the budget of values (./budget) and comes whole (s17 guard M2).
 */
export function projectionForFields(selected: ReadonlySet<string>): Record<string, 0> {
  const projection: Record<string, 0> = { ...WITHOUT_SEARCH_FIELDS, trashedBy: 0 };
  for (const field of SHOWN_ONLY) if (!selected.has(field)) projection[field] = 0;
  if (!READ_VALUES.some((field) => selected.has(field))) projection.values = 0;
  return projection;
}

/** `projection` that reads `field` too: a list's order (its cursor) needs it whether shown or not. */
export const reading = (projection: Record<string, 0>, field: string): Record<string, 0> => Object.fromEntries(Object.entries(projection).filter(([left]) => left !== field));
