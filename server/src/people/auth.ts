import type { Context, Middleware } from 'koa';
import { accessSnapshot, type AccessSnapshot, type SnapshotUser } from '../access/snapshot';
import type { Config } from '../config';
import { addressAllowed } from './ip-allow-list';
import { SESSION_COOKIE, SESSION_TTL_MS, sessionFor } from './sessions';
import { THROTTLE, type SignInDevice } from './throttle';

/** Who is behind the request, as far as the session cookie tells. */
export interface RequestAuth {
  user: SnapshotUser | null;
  sessionToken: string | null;
  /** The session's id (the token's hash) and expiry, for the live streams it opens. */
  sessionId: string | null;
  sessionExpiresAt: Date | null;
  /** The user is signed in but their address is outside an allow-list. */
  addressRefused: boolean;
}

declare module 'koa' {
  interface DefaultState {
    auth: RequestAuth;
  }
}

/** Allow-lists by user, per snapshot: a user's lists change only with the access structure. */
const allowListsOfUsers = new WeakMap<AccessSnapshot, WeakMap<Pick<SnapshotUser, 'ipAllowList' | 'departmentId'>, string[][]>>();

/** Every non-empty allow-list that applies to a user: their own, their department's and its ancestors'. */
export function allowListsFor(snapshot: AccessSnapshot, user: Pick<SnapshotUser, 'ipAllowList' | 'departmentId'>): string[][] {
  let byUser = allowListsOfUsers.get(snapshot);
  if (!byUser) allowListsOfUsers.set(snapshot, (byUser = new WeakMap()));
  let lists = byUser.get(user);
  if (!lists) {
    const departmentId = String(user.departmentId);
    lists = [user.ipAllowList ?? []];
    for (const id of [departmentId, ...snapshot.departmentAncestors(departmentId)]) lists.push(snapshot.departments.get(id)?.ipAllowList ?? []);
    lists = lists.filter((list) => list.length > 0);
    byUser.set(user, lists);
  }
  return lists;
}

export function addressAllowedIn(snapshot: AccessSnapshot, user: Pick<SnapshotUser, 'ipAllowList' | 'departmentId'>, ip: string): boolean {
  return allowListsFor(snapshot, user).every((list) => addressAllowed(ip, list));
}

export async function addressAllowedFor(user: Pick<SnapshotUser, 'ipAllowList' | 'departmentId'>, ip: string): Promise<boolean> {
  return addressAllowedIn(await accessSnapshot(), user, ip);
}

export function sessionCookieOptions(config: Config) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: config.isProduction, signed: true, maxAge: SESSION_TTL_MS, overwrite: true };
}

/** The browser's proof of an earlier sign-in to a login (signed: `<device id>.<login key>`), kept after sign-out. */
const DEVICE_COOKIE = 'kartoteka_device';

export function signInDeviceOf(ctx: Context): SignInDevice | null {
  const value = ctx.cookies.get(DEVICE_COOKIE, { signed: true }) ?? '';
  const separator = value.indexOf('.');
  return separator > 0 ? { id: value.slice(0, separator), loginKey: value.slice(separator + 1) } : null;
}

export function rememberSignInDevice(ctx: Context, config: Config, device: SignInDevice): void {
  const maxAge = THROTTLE.knownAddressDays * 86_400_000;
  ctx.cookies.set(DEVICE_COOKIE, `${device.id}.${device.loginKey}`, { ...sessionCookieOptions(config), maxAge });
}

const signedOut = (): RequestAuth => ({ user: null, sessionToken: null, sessionId: null, sessionExpiresAt: null, addressRefused: false });

/** Session cookies (signature and value) whose signature this process checked: found again without an HMAC. */
const checkedCookies = new Set<string>();
const CHECKED_COOKIES = 10_000;

/**
 * The session cookie's value when its signature is right (`signed` in Koa's cookies: an HMAC of
 * the value with the server's secret), remembered for the next requests of the session. The
 * session itself is still found by its token on every request; a wrong signature is checked
 * anew each time (and its cookie cleared, as Koa does).
 */
function signedSessionToken(ctx: Context): string | undefined {
  const value = ctx.cookies.get(SESSION_COOKIE);
  const signature = ctx.cookies.get(`${SESSION_COOKIE}.sig`);
  const pair = `${signature} ${value}`;
  if (value && signature && checkedCookies.has(pair)) return value;
  const token = ctx.cookies.get(SESSION_COOKIE, { signed: true });
  if (token && token === value && signature) {
    if (checkedCookies.size >= CHECKED_COOKIES) checkedCookies.delete(checkedCookies.values().next().value!);
    checkedCookies.add(pair);
  }
  return token;
}

/** Reads the signed session cookie and finds the active user behind it. */
export function sessionMiddleware(config: Config): Middleware {
  return async (ctx, next) => {
    ctx.state.auth = signedOut();
    const token = signedSessionToken(ctx);
    if (token) {
      const session = await sessionFor(token);
      if (session) {
        const { user, sessionId, expiresAt, renewed } = session;
        ctx.state.auth = { user, sessionToken: token, sessionId, sessionExpiresAt: expiresAt, addressRefused: !(await addressAllowedFor(user, ctx.ip)) };
        // Sliding renewal: when the session was renewed, the cookie is too; it lives as long as the session.
        if (renewed) ctx.cookies.set(SESSION_COOKIE, token, sessionCookieOptions(config));
      } else {
        ctx.cookies.set(SESSION_COOKIE, null, { signed: true });
      }
    }
    await next();
  };
}
