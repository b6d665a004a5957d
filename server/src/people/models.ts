import mongoose, { Schema } from 'mongoose';

/**
 * The people domain's models: departments, users and groups are part of the access structure,
 * defined with it in access/structure.ts (the access snapshot loads them); sessions are here.
 */
export { Department, Group, User, type DepartmentDoc, type GroupDoc, type SystemGroupRole, type UserDoc } from '../access/structure';

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

export const Session = mongoose.model('Session', sessionSchema);
