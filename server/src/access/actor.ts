import type { AccessLevel } from '../folders/models';
import { Folder, Library } from '../folders/models';
import type { Locale } from '../i18n';
import { Department, Group, type UserDoc } from '../people/models';
import { buildAbility, type AppAbility } from './ability';
import { folderLevelsFor, visibleLibraryIds, type AccessTree, type PlainAccessEntry, type Principal } from './effective-access';

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

type StoredEntry = { principalType: PlainAccessEntry['principalType']; principalId: unknown; includeSubdepartments?: boolean | null; level: AccessLevel };

export const plainEntries = (entries: StoredEntry[] | undefined): PlainAccessEntry[] =>
  (entries ?? []).map((e) => ({
    principalType: e.principalType,
    principalId: String(e.principalId),
    includeSubdepartments: Boolean(e.includeSubdepartments),
    level: e.level,
  }));

/** Libraries and folders with their entries: everything access decisions depend on. */
export async function loadAccessTree(): Promise<AccessTree> {
  const [libraries, folders] = await Promise.all([
    Library.find({}, { name: 1, accessEntries: 1 }).lean(),
    Folder.find({}, { libraryId: 1, parentId: 1, name: 1, inheritsAccess: 1, accessEntries: 1 }).lean(),
  ]);
  return {
    libraries: libraries.map((l) => ({ id: String(l._id), name: l.name, entries: plainEntries(l.accessEntries as StoredEntry[]) })),
    folders: folders.map((f) => ({
      id: String(f._id),
      libraryId: String(f.libraryId),
      parentId: f.parentId ? String(f.parentId) : null,
      name: f.name,
      inheritsAccess: f.inheritsAccess !== false,
      entries: plainEntries(f.accessEntries as StoredEntry[]),
    })),
  };
}

/** Ancestors of a department, nearest first. */
export async function departmentAncestorIds(departmentId: string): Promise<string[]> {
  const departments = await Department.find({}, { parentId: 1 }).lean();
  const parents = new Map(departments.map((d) => [String(d._id), d.parentId ? String(d.parentId) : null]));
  const ancestors: string[] = [];
  let current = parents.get(departmentId) ?? null;
  while (current && !ancestors.includes(current)) {
    ancestors.push(current);
    current = parents.get(current) ?? null;
  }
  return ancestors;
}

export async function principalOf(user: Pick<UserDoc, '_id' | 'departmentId'>): Promise<{ principal: Principal; roles: Set<string> }> {
  const [groups, ancestors] = await Promise.all([
    Group.find({ memberIds: user._id }, { systemRole: 1 }).lean(),
    departmentAncestorIds(String(user.departmentId)),
  ]);
  return {
    principal: {
      userId: String(user._id),
      departmentId: String(user.departmentId),
      departmentAncestorIds: ancestors,
      groupIds: groups.map((g) => String(g._id)),
    },
    roles: new Set(groups.map((g) => g.systemRole).filter((r): r is NonNullable<typeof r> => Boolean(r))),
  };
}

/** Builds the actor for a signed-in user from their groups, department and the folder entries. */
export async function buildActor(user: UserDoc, ip: string): Promise<Actor> {
  const [{ principal, roles }, tree] = await Promise.all([principalOf(user), loadAccessTree()]);
  const isAdmin = roles.has('administrators');
  const folderLevels = isAdmin
    ? new Map(tree.folders.map((f) => [f.id, 'full' as AccessLevel]))
    : folderLevelsFor(tree, principal);
  const libraries = isAdmin ? tree.libraries.map((l) => l.id) : visibleLibraryIds(tree, principal, folderLevels);
  return {
    userId: String(user._id),
    login: user.login,
    fullName: user.fullName,
    locale: user.locale === 'en' ? 'en' : 'ru',
    ip,
    isAdmin,
    isHistoryReader: isAdmin || roles.has('history-readers'),
    principal,
    folderLevels,
    ability: buildAbility({ isAdmin, isHistoryReader: roles.has('history-readers'), folderLevels, visibleLibraryIds: libraries }),
  };
}
