import mongoose, { Schema, type InferSchemaType, type Types } from 'mongoose';
import { accessStructurePlugin } from '../access/changes';

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

// Departments, users and groups are part of the access snapshot: every write moves its version on.
departmentSchema.plugin(accessStructurePlugin);
userSchema.plugin(accessStructurePlugin);
groupSchema.plugin(accessStructurePlugin);

const sessionSchema = new Schema({
  /** SHA-256 of the cookie token: a database dump does not yield usable sessions. */
  tokenHash: { type: String, required: true, unique: true },
  userId: { type: Schema.Types.ObjectId, ref: 'User', required: true, index: true },
  createdAt: { type: Date, required: true },
  expiresAt: { type: Date, required: true },
  ip: { type: String, default: '' },
  userAgent: { type: String, default: '' },
});
sessionSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export type DepartmentDoc = InferSchemaType<typeof departmentSchema> & { _id: Types.ObjectId };
export type UserDoc = InferSchemaType<typeof userSchema> & { _id: Types.ObjectId };
export type GroupDoc = InferSchemaType<typeof groupSchema> & { _id: Types.ObjectId };

export const Department = mongoose.model('Department', departmentSchema);
export const User = mongoose.model('User', userSchema);
export const Group = mongoose.model('Group', groupSchema);
export const Session = mongoose.model('Session', sessionSchema);
