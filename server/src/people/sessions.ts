import { createHash, randomBytes } from 'node:crypto';
import type { Types } from 'mongoose';
import { Session, User, type UserDoc } from './models';

export const SESSION_COOKIE = 'kartoteka_session';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Sliding renewal writes at most this often per session. */
const RENEW_AFTER_MS = 5 * 60 * 1000;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export async function createSession(userId: Types.ObjectId, ip: string, userAgent: string): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const now = Date.now();
  await Session.create({
    tokenHash: hashToken(token),
    userId,
    createdAt: new Date(now),
    expiresAt: new Date(now + SESSION_TTL_MS),
    ip,
    userAgent: userAgent.slice(0, 300),
  });
  return token;
}

/**
 * The active user behind a session token, renewing the session's expiry as it is used.
 * Expired sessions and sessions of deactivated users count as none.
 */
export async function userForSession(token: string): Promise<UserDoc | null> {
  const now = Date.now();
  const session = await Session.findOne({ tokenHash: hashToken(token), expiresAt: { $gt: new Date(now) } }).lean();
  if (!session) return null;
  const user = await User.findById(session.userId).lean<UserDoc>();
  if (!user || !user.active) return null;
  if (session.expiresAt.getTime() - (now - RENEW_AFTER_MS) < SESSION_TTL_MS) {
    await Session.updateOne({ _id: session._id }, { $set: { expiresAt: new Date(now + SESSION_TTL_MS) } });
  }
  return user;
}

export async function endSession(token: string): Promise<void> {
  await Session.deleteOne({ tokenHash: hashToken(token) });
}

/** Ends every session of a user (deactivation, password reset), except the one given. */
export async function endUserSessions(userId: Types.ObjectId | string, exceptToken: string | null = null): Promise<void> {
  await Session.deleteMany(exceptToken ? { userId, tokenHash: { $ne: hashToken(exceptToken) } } : { userId });
}
