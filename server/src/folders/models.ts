import mongoose, { Schema, type InferSchemaType, type Types } from 'mongoose';
import { accessStructurePlugin } from '../access/changes';

export type AccessLevel = 'read' | 'edit' | 'full';
export const ACCESS_LEVELS: AccessLevel[] = ['read', 'edit', 'full'];
export type PrincipalType = 'user' | 'department' | 'group';

const accessEntrySchema = new Schema(
  {
    principalType: { type: String, enum: ['user', 'department', 'group'], required: true },
    principalId: { type: Schema.Types.ObjectId, required: true },
    /** For departments: whether the entry also covers the department's sub-departments. */
    includeSubdepartments: { type: Boolean, default: false },
    level: { type: String, enum: ACCESS_LEVELS, required: true },
  },
  { _id: false },
);

const librarySchema = new Schema(
  {
    name: { type: String, required: true, trim: true, maxlength: 200 },
    order: { type: Number, default: 0 },
    /** Entries inherited by the library's top-level folders. */
    accessEntries: { type: [accessEntrySchema], default: [] },
  },
  { timestamps: true },
);

const folderSchema = new Schema(
  {
    libraryId: { type: Schema.Types.ObjectId, ref: 'Library', required: true },
    parentId: { type: Schema.Types.ObjectId, ref: 'Folder', default: null },
    name: { type: String, required: true, trim: true, maxlength: 200 },
    order: { type: Number, default: 0 },
    inheritsAccess: { type: Boolean, default: true },
    accessEntries: { type: [accessEntrySchema], default: [] },
    /** Card type keys that may be created here; empty = any type. */
    allowedCardTypes: { type: [String], default: [] },
    defaultCardType: { type: String, default: null },
  },
  { timestamps: true },
);
folderSchema.index({ libraryId: 1, parentId: 1, order: 1 });
// Every write moves the access version on: the snapshot of libraries and folders reloads.
librarySchema.plugin(accessStructurePlugin);
folderSchema.plugin(accessStructurePlugin);

export interface AccessEntry {
  principalType: PrincipalType;
  principalId: Types.ObjectId;
  includeSubdepartments: boolean;
  level: AccessLevel;
}
export type LibraryDoc = InferSchemaType<typeof librarySchema> & { _id: Types.ObjectId };
export type FolderDoc = InferSchemaType<typeof folderSchema> & { _id: Types.ObjectId };

export const Library = mongoose.model('Library', librarySchema);
export const Folder = mongoose.model('Folder', folderSchema);
