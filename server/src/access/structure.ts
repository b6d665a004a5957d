import mongoose, { Schema, type InferSchemaType, type Types } from 'mongoose';
import { accessStructurePlugin } from './changes';

/**
 * The access structure: the records access decisions are made from — libraries and folders with
 * their access entries (the folders domain's), departments, users and groups (the people domain's).
 * Their models are defined here, below those domains, because the access snapshot (snapshot.ts)
 * loads them and both domains read the snapshot: access depends on neither. folders/models.ts and
 * people/models.ts are where the rest of the code takes them from.
 */

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
    /** The «Экспорт» right here (and below, where inherited): export of the cards this entry lets one read. Administrators grant it. */
    export: { type: Boolean, default: false },
  },
  { _id: false },
);

const librarySchema = new Schema(
  {
    name: { type: String, required: true, trim: true, maxlength: 200 },
    order: { type: Number, default: 0 },
    /** Entries inherited by the library's top-level folders. */
    accessEntries: { type: [accessEntrySchema], default: [] },
    /** Moved on by each change of the entries: a change decided on the entries read is written only while they are still those. */
    accessRevision: { type: Number, default: 0 },
    /** Moved on by each move of a folder into or out of the library: two moves at once cannot both pass the check for a cycle. */
    treeRevision: { type: Number, default: 0 },
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
    /** As the library's: moved on by each change of the entries. */
    accessRevision: { type: Number, default: 0 },
    /** Card type keys that may be created here; empty = any type. */
    allowedCardTypes: { type: [String], default: [] },
    defaultCardType: { type: String, default: null },
  },
  { timestamps: true },
);
folderSchema.index({ libraryId: 1, parentId: 1, order: 1 });

const departmentSchema = new Schema(
  {
    name: { type: String, required: true, trim: true, maxlength: 200 },
    parentId: { type: Schema.Types.ObjectId, ref: 'Department', default: null },
    /** Addresses or CIDR subnets its users may come from; empty = anywhere. */
    ipAllowList: { type: [String], default: [] },
  },
  { timestamps: true },
);
departmentSchema.index({ parentId: 1, name: 1 });

const userSchema = new Schema(
  {
    login: { type: String, required: true, trim: true },
    /** Lower-cased login: the unique index makes logins case-insensitive. */
    loginKey: { type: String, required: true, unique: true },
    fullName: { type: String, required: true, trim: true, maxlength: 200 },
    email: { type: String, default: '', trim: true },
    departmentId: { type: Schema.Types.ObjectId, ref: 'Department', required: true },
    active: { type: Boolean, default: true },
    locale: { type: String, enum: ['ru', 'en'], default: 'ru' },
    passwordHash: { type: String, required: true },
    ipAllowList: { type: [String], default: [] },
  },
  { timestamps: true },
);
userSchema.index({ departmentId: 1, fullName: 1 });

export type SystemGroupRole = 'administrators' | 'history-readers' | 'exporters';

const groupSchema = new Schema(
  {
    name: { type: String, required: true, trim: true, maxlength: 200 },
    /** Set on the groups created at first start; the code finds them by role, never by name. */
    systemRole: { type: String, enum: ['administrators', 'history-readers', 'exporters', null], default: null },
    memberIds: { type: [Schema.Types.ObjectId], ref: 'User', default: [] },
  },
  { timestamps: true },
);
groupSchema.index({ memberIds: 1 });
groupSchema.index({ systemRole: 1 }, { unique: true, partialFilterExpression: { systemRole: { $type: 'string' } } });

/**
 * A user's fields no access decision reads (the snapshot shows them; sign-in reads the stored
 * record): changing only these refreshes the snapshot's users instead of reloading it (s15 A4).
 * The department, `active` and the address allow-list decide access.
 */
export const USER_PROFILE_FIELDS = ['fullName', 'email', 'locale', 'login', 'loginKey', 'passwordHash', 'updatedAt'] as const;

// Every write moves the access version on: the snapshot reloads (a user's profile only: its users refresh).
for (const schema of [librarySchema, folderSchema, departmentSchema, groupSchema]) schema.plugin(accessStructurePlugin);
userSchema.plugin(accessStructurePlugin, { profileFields: USER_PROFILE_FIELDS });

export interface AccessEntry {
  principalType: PrincipalType;
  principalId: Types.ObjectId;
  includeSubdepartments: boolean;
  export: boolean;
  level: AccessLevel;
}
export type LibraryDoc = InferSchemaType<typeof librarySchema> & { _id: Types.ObjectId };
export type FolderDoc = InferSchemaType<typeof folderSchema> & { _id: Types.ObjectId };
export type DepartmentDoc = InferSchemaType<typeof departmentSchema> & { _id: Types.ObjectId };
export type UserDoc = InferSchemaType<typeof userSchema> & { _id: Types.ObjectId };
export type GroupDoc = InferSchemaType<typeof groupSchema> & { _id: Types.ObjectId };

/**
 * Whether putting `childId` under `parentId` would hang it under itself: the parent chain from
 * `parentId` (each step read by `parentOf`, as a transaction sees it) reaches `childId`, or comes
 * round to a record seen before (a cycle stored earlier) — either way the walk ends. For folders
 * and departments, whose moves read the chain inside the transaction that writes them.
 */
export async function chainLeadsBack(childId: Types.ObjectId, parentId: Types.ObjectId, parentOf: (id: Types.ObjectId) => Promise<Types.ObjectId | null>): Promise<boolean> {
  const seen = new Set<string>();
  for (let cursor: Types.ObjectId | null = parentId; cursor; cursor = await parentOf(cursor)) {
    const id = String(cursor);
    if (id === String(childId) || seen.has(id)) return true;
    seen.add(id);
  }
  return false;
}

export const Library = mongoose.model('Library', librarySchema);
export const Folder = mongoose.model('Folder', folderSchema);
export const Department = mongoose.model('Department', departmentSchema);
export const User = mongoose.model('User', userSchema);
export const Group = mongoose.model('Group', groupSchema);
