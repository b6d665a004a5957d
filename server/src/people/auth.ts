import type { Middleware } from 'koa';
import type { Config } from '../config';
import { addressAllowed } from './ip-allow-list';
import { Department, type UserDoc } from './models';
import { SESSION_COOKIE, SESSION_TTL_MS, userForSession } from './sessions';

/** Who is behind the request, as far as the session cookie tells. */
export interface RequestAuth {
  user: UserDoc | null;
  sessionToken: string | null;
  /** The user is signed in but their address is outside an allow-list. */
  addressRefused: boolean;
}

declare module 'koa' {
  interface DefaultState {
    auth: RequestAuth;
  }
}

/** Every non-empty allow-list that applies to a user: their own, their department's and its ancestors'. */
export async function allowListsFor(user: Pick<UserDoc, 'ipAllowList' | 'departmentId'>): Promise<string[][]> {
  const lists: string[][] = [user.ipAllowList ?? []];
  const departments = await Department.find({}, { parentId: 1, ipAllowList: 1 }).lean();
  const byId = new Map(departments.map((d) => [String(d._id), d]));
  const seen = new Set<string>();
  let current = byId.get(String(user.departmentId));
  while (current && !seen.has(String(current._id))) {
    seen.add(String(current._id));
    lists.push(current.ipAllowList ?? []);
    current = current.parentId ? byId.get(String(current.parentId)) : undefined;
  }
  return lists.filter((list) => list.length > 0);
}

export async function addressAllowedFor(user: Pick<UserDoc, 'ipAllowList' | 'departmentId'>, ip: string): Promise<boolean> {
  return (await allowListsFor(user)).every((list) => addressAllowed(ip, list));
}

export function sessionCookieOptions(config: Config) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: config.isProduction, signed: true, maxAge: SESSION_TTL_MS, overwrite: true };
}

/** Reads the signed session cookie and loads the active user behind it. */
export function sessionMiddleware(config: Config): Middleware {
  return async (ctx, next) => {
    ctx.state.auth = { user: null, sessionToken: null, addressRefused: false };
    const token = ctx.cookies.get(SESSION_COOKIE, { signed: true });
    if (token) {
      const user = await userForSession(token);
      if (user) {
        ctx.state.auth = { user, sessionToken: token, addressRefused: !(await addressAllowedFor(user, ctx.ip)) };
        // Sliding renewal: the cookie lives as long as the session does.
        ctx.cookies.set(SESSION_COOKIE, token, sessionCookieOptions(config));
      } else {
        ctx.cookies.set(SESSION_COOKIE, null, { signed: true });
      }
    }
    await next();
  };
}
