import { createHash, randomBytes } from 'node:crypto';
import type { Types } from 'mongoose';
import { accessSnapshot, checkedAccessSnapshot, type SnapshotUser } from '../access/snapshot';
import { servingSession } from '../access/changes';
import { events, onEvent } from '../events/bus';
import { Session } from './models';

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

/** A live session: who is behind it, its id (the token's hash, never the token) and when it ends. */
export interface SessionInfo {
  user: SnapshotUser;
  sessionId: string;
  expiresAt: Date;
  /** Its expiry moved on with this request (at most every few minutes): the cookie's should too. */
  renewed: boolean;
}

/**
 * Sessions recently found, by id, for a second: a user clicking through pages costs no query for
 * the session on most requests. Ending a session (sign-out, reset, deactivation…) drops it here and,
 * through the bus, on every instance; the second bounds an instance that missed the event.
 */
const SESSION_CACHE_MS = 1000;
const SESSION_CACHE_LIMIT = 10_000;
const recentSessions = new Map<string, { userId: string; documentId: unknown; expiresAt: Date; checkedAt: number }>();

onEvent('sessions-ended', ({ userId, sessionIds, exceptSessionId }) => {
  for (const [sessionId, session] of recentSessions) {
    if (session.userId !== userId) continue;
    if (sessionIds ? sessionIds.includes(sessionId) : sessionId !== exceptSessionId) recentSessions.delete(sessionId);
  }
});

async function storedSession(sessionId: string, now: number): Promise<{ userId: string; documentId: unknown; expiresAt: Date } | null> {
  const cached = recentSessions.get(sessionId);
  if (cached && now - cached.checkedAt < SESSION_CACHE_MS) return cached.expiresAt.getTime() > now ? cached : null;
  const session = await Session.findOne({ tokenHash: sessionId, expiresAt: { $gt: new Date(now) } }, { userId: 1, expiresAt: 1 }).lean();
  if (!session) {
    recentSessions.delete(sessionId);
    return null;
  }
  if (recentSessions.size >= SESSION_CACHE_LIMIT) {
    for (const [id, entry] of recentSessions) if (now - entry.checkedAt >= SESSION_CACHE_MS) recentSessions.delete(id);
  }
  const found = { userId: String(session.userId), documentId: session._id, expiresAt: session.expiresAt, checkedAt: now };
  recentSessions.set(sessionId, found);
  return found;
}

/**
 * Session ids by token, for the tokens of the last SESSION_CACHE_LIMIT sessions asked for (the
 * session cookie's signature was checked before): a session's requests hash its token once. A
 * sha256 is about 2 µs, yet in V8 profiles of the server under load (Node 24, 1M cards, s17) it
 * took 0.9 % of the server's busy time, more than the session's cached lookup around it.
 */
const sessionIds = new Map<string, string>();

function sessionIdOf(token: string): string {
  let sessionId = sessionIds.get(token);
  if (sessionId === undefined) {
    sessionId = hashToken(token);
    if (sessionIds.size >= SESSION_CACHE_LIMIT) sessionIds.delete(sessionIds.keys().next().value!);
    sessionIds.set(token, sessionId);
  }
  return sessionId;
}

/**
 * The active user behind a session token, renewing the session's expiry as it is used: at most
 * one round trip for the session (the user comes from the access snapshot), plus a renewal write
 * at most every few minutes. Expired sessions and sessions of deactivated users count as none.
 */
export async function sessionFor(token: string): Promise<SessionInfo | null> {
  const now = Date.now();
  const sessionId = sessionIdOf(token);
  const session = await storedSession(sessionId, now);
  if (!session) return null;
  servingSession(sessionId);
  const user = (await accessSnapshot()).users.get(session.userId) ?? (await checkedAccessSnapshot()).users.get(session.userId);
  if (!user || !user.active) return null;
  let expiresAt = session.expiresAt;
  const renewed = expiresAt.getTime() - (now - RENEW_AFTER_MS) < SESSION_TTL_MS;
  if (renewed) {
    expiresAt = new Date(now + SESSION_TTL_MS);
    await Session.updateOne({ _id: session.documentId }, { $set: { expiresAt } });
    recentSessions.set(sessionId, { ...session, expiresAt, checkedAt: now });
  }
  return { user, sessionId, expiresAt, renewed };
}

/** Which of these sessions are live (not ended, not expired) as stored: one query, whatever ended the others. */
export async function liveSessions(sessionIds: readonly string[]): Promise<Set<string>> {
  if (sessionIds.length === 0) return new Set();
  const live = await Session.find({ tokenHash: { $in: sessionIds }, expiresAt: { $gt: new Date() } }, { tokenHash: 1 }).lean<{ tokenHash: string }[]>();
  return new Set(live.map((session) => session.tokenHash));
}

/** Forgets the sessions found so far (a new database was opened). */
export function forgetSessions(): void {
  recentSessions.clear();
}

/** Sign-out: the session ends, and so do its open live streams. */
export async function endSession(token: string): Promise<void> {
  const sessionId = hashToken(token);
  sessionIds.delete(token);
  recentSessions.delete(sessionId);
  const session = await Session.findOneAndDelete({ tokenHash: sessionId }, { projection: { userId: 1 } }).lean();
  if (session) events.publish('sessions-ended', { userId: String(session.userId), sessionIds: [sessionId] });
}

/** Ends every session of a user (deactivation, password reset or change), except the one given. */
export async function endUserSessions(userId: Types.ObjectId | string, exceptToken: string | null = null): Promise<void> {
  const exceptSessionId = exceptToken ? hashToken(exceptToken) : null;
  for (const [sessionId, session] of recentSessions) if (session.userId === String(userId) && sessionId !== exceptSessionId) recentSessions.delete(sessionId);
  await Session.deleteMany(exceptSessionId ? { userId, tokenHash: { $ne: exceptSessionId } } : { userId });
  events.publish('sessions-ended', { userId: String(userId), exceptSessionId });
}
