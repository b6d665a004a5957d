import type { AccessLevel } from './structure';
import type { Locale } from '../i18n';
import type { AppAbility } from './ability';
import type { Principal } from './effective-access';
import { accessSnapshot, checkedAccessSnapshot, type SnapshotUser } from './snapshot';
import { User } from './structure';

/** The signed-in user as services see them: who they are and what they may do. */
export interface Actor {
  userId: string;
  login: string;
  fullName: string;
  locale: Locale;
  ip: string;
  isAdmin: boolean;
  isHistoryReader: boolean;
  principal: Principal;
  folderLevels: Map<string, AccessLevel>;
  ability: AppAbility;
}

/**
 * The actor for a signed-in user, from the access snapshot: no database round trip while the
 * access structure stays as it is (the snapshot memoises each user's levels and ability).
 * A user the snapshot does not know (deleted since) has no access at all.
 */
export async function buildActor(user: Pick<SnapshotUser, '_id' | 'login' | 'fullName' | 'locale'>, ip: string): Promise<Actor> {
  const userId = String(user._id);
  const access = (await accessSnapshot()).accessOf(userId) ?? (await checkedAccessSnapshot()).accessOf(userId);
  if (!access) throw new Error(`user ${userId} is not in the access snapshot`);
  return {
    userId,
    login: user.login,
    fullName: user.fullName,
    locale: user.locale === 'en' ? 'en' : 'ru',
    ip,
    isAdmin: access.isAdmin,
    isHistoryReader: access.isHistoryReader,
    principal: access.principal,
    folderLevels: access.folderLevels,
    ability: access.ability,
  };
}

/**
 * The actor for a user known by id — a background job acting for who asked for it, with their
 * access as it is now — or null when the user is gone (`activeOnly`: or deactivated).
 */
export async function actorOfUser(userId: string | null, ip: string, { activeOnly = false }: { activeOnly?: boolean } = {}): Promise<Actor | null> {
  const user = userId ? await User.findById(userId, { login: 1, fullName: 1, locale: 1, active: 1 }).lean() : null;
  return user && !(activeOnly && user.active === false) ? buildActor(user, ip) : null;
}

/**
 * A long job's user as the access structure stands at each call (import, export, undo batches): read
 * again (active only) when the access snapshot moved since the last call — one comparison otherwise
 * — and null once the user is gone or deactivated. `first`: the actor as of now.
 */
export async function actorFollowingAccess(first: Actor | null, userId: string | null, ip: string): Promise<() => Promise<Actor | null>> {
  let checkedAt = await accessSnapshot();
  let current = first;
  return async () => {
    const snapshot = await accessSnapshot();
    if (snapshot !== checkedAt) [checkedAt, current] = [snapshot, await actorOfUser(userId, ip, { activeOnly: true })];
    return current;
  };
}
