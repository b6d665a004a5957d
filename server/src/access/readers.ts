import { Department, Group, User } from '../people/models';
import { loadAccessTree } from './actor';
import { effectiveEntriesByFolder, entryMatches, type Principal } from './effective-access';

/**
 * Every active user's principal (department chain, groups) and whether they are an administrator,
 * loaded in three queries: the base for "who may read this folder" questions.
 */
async function allPrincipals(): Promise<{ principal: Principal; isAdmin: boolean }[]> {
  const [users, departments, groups] = await Promise.all([
    User.find({ active: true }, { departmentId: 1 }).lean(),
    Department.find({}, { parentId: 1 }).lean(),
    Group.find({}, { memberIds: 1, systemRole: 1 }).lean(),
  ]);
  const parent = new Map(departments.map((d) => [String(d._id), d.parentId ? String(d.parentId) : null]));
  const groupsOf = new Map<string, string[]>();
  const admins = new Set<string>();
  for (const group of groups) {
    for (const member of group.memberIds.map(String)) {
      groupsOf.set(member, [...(groupsOf.get(member) ?? []), String(group._id)]);
      if (group.systemRole === 'administrators') admins.add(member);
    }
  }
  return users.map((user) => {
    const ancestors: string[] = [];
    for (let d = parent.get(String(user.departmentId)) ?? null; d && !ancestors.includes(d); d = parent.get(d) ?? null) ancestors.push(d);
    const userId = String(user._id);
    return {
      principal: { userId, departmentId: String(user.departmentId), departmentAncestorIds: ancestors, groupIds: groupsOf.get(userId) ?? [] },
      isAdmin: admins.has(userId),
    };
  });
}

/** For each folder asked about, the ids of the active users who may read it. */
export async function readersOfFolders(folderIds: string[]): Promise<Map<string, Set<string>>> {
  const [principals, tree] = await Promise.all([allPrincipals(), loadAccessTree()]);
  const entries = effectiveEntriesByFolder(tree);
  const readers = new Map<string, Set<string>>();
  for (const folderId of folderIds) {
    const folderEntries = entries.get(folderId) ?? [];
    const exists = entries.has(folderId);
    readers.set(
      folderId,
      new Set(
        principals
          .filter(({ principal, isAdmin }) => (isAdmin && exists) || folderEntries.some(({ entry }) => entryMatches(entry, principal)))
          .map(({ principal }) => principal.userId),
      ),
    );
  }
  return readers;
}

/** Who may read which folder, for every folder: compared before and after an access change. */
export async function readersOfAllFolders(): Promise<Map<string, Set<string>>> {
  const tree = await loadAccessTree();
  return readersOfFolders(tree.folders.map((f) => f.id));
}
