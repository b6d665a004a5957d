import type { ApiClient } from './api-client';
import { waitFor } from './wait';

/** Small builders for the data tests set up through the API as an administrator. */

export async function createDepartment(admin: ApiClient, name: string, parentId?: string): Promise<string> {
  const data = await admin.data<{ createDepartment: { id: string } }>('mutation($input: DepartmentInput!) { createDepartment(input: $input) { id } }', {
    input: { name, parentId },
  });
  return data.createDepartment.id;
}

export async function createUser(admin: ApiClient, input: { login: string; fullName: string; password: string; departmentId: string; ipAllowList?: string[] }): Promise<string> {
  const data = await admin.data<{ createUser: { id: string } }>('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', { input });
  return data.createUser.id;
}

export async function createLibrary(admin: ApiClient, name: string): Promise<string> {
  return (await admin.data<{ createLibrary: { id: string } }>('mutation($name: String!) { createLibrary(name: $name) { id } }', { name })).createLibrary.id;
}

export async function createFolder(admin: ApiClient, input: { libraryId?: string; parentId?: string; name: string; allowedCardTypes?: string[] }): Promise<string> {
  return (await admin.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', { input })).createFolder.id;
}

export type Grant = { principalType?: 'user' | 'department' | 'group'; principalId: string; level: 'read' | 'edit' | 'full'; includeSubdepartments?: boolean; export?: boolean };

export async function setFolderAccess(admin: ApiClient, folderId: string, grants: Grant[]): Promise<void> {
  await admin.data('mutation($id: ID!, $e: [AccessEntryInput!]!) { setFolderAccess(id: $id, entries: $e) { id } }', {
    id: folderId,
    e: grants.map((grant) => ({ principalType: 'user', ...grant })),
  });
}

/**
 * The scenario of ARCHITECTURE.md: department «Кассиопея» with the given users, library
 * «Корреспонденты и контакты» with folder «Корреспонденты» (counterparties and contact persons),
 * each user granted the level given.
 */
export async function createCorrespondents(
  admin: ApiClient,
  password: string,
  users: { login: string; fullName: string; level: Grant['level']; departmentId?: string }[],
): Promise<{ departmentId: string; folderId: string; libraryId: string; userIds: Record<string, string> }> {
  const departmentId = await createDepartment(admin, 'Кассиопея');
  const userIds: Record<string, string> = {};
  for (const user of users) {
    userIds[user.login] = await createUser(admin, { login: user.login, fullName: user.fullName, password, departmentId: user.departmentId ?? departmentId });
  }
  const libraryId = await createLibrary(admin, 'Корреспонденты и контакты');
  const folderId = await createFolder(admin, { libraryId, name: 'Корреспонденты', allowedCardTypes: ['counterparty', 'contact-person'] });
  await setFolderAccess(
    admin,
    folderId,
    users.map((user) => ({ principalId: userIds[user.login], level: user.level })),
  );
  return { departmentId, folderId, libraryId, userIds };
}

/** Adds users to a system group: 'history-readers' («Операторы чтения истории»), 'exporters' («Доверенные лица (экспорт)») or 'administrators'. */
export async function addToSystemGroup(admin: ApiClient, role: 'history-readers' | 'exporters' | 'administrators', userIds: string[]): Promise<void> {
  const group = (await admin.data<{ groups: { id: string; systemRole: string | null }[] }>('{ groups { id systemRole } }')).groups.find((g) => g.systemRole === role)!;
  await admin.data('mutation($id: ID!, $u: [ID!]) { changeGroupMembers(id: $id, add: $u) { id } }', { id: group.id, u: userIds });
}

/** A card type change as the designer sends it: made from the type's current revision (`version`). */
export async function versioned<T>(admin: ApiClient, definition: T): Promise<T & { version: number }> {
  const { key } = definition as { key: string };
  const { cardType } = await admin.data<{ cardType: { version: number } | null }>('query($key: ID!) { cardType(key: $key) { version } }', { key });
  return { ...definition, version: cardType?.version ?? 0 };
}

export type TypeChangeJob = {
  id: string;
  state: string;
  progress: { done: number; total: number | null };
  result: { cards: number; changed: number; kept: number } | null;
  error: string | null;
};

/**
 * Waits until the background job applying a saved card type change to its cards (the `changeJob`
 * createCardType/updateCardType answer) has finished, as the designer does; returns it as it ended.
 * A save that touched no card (null) is complete at once.
 */
export async function typeChangeApplied(admin: ApiClient, job: { id: string } | null): Promise<TypeChangeJob | null> {
  if (!job) return null;
  let current: TypeChangeJob | null = null;
  await waitFor(
    async () => {
      current = (await admin.data<{ job: TypeChangeJob }>('query($id: ID!) { job(id: $id) { id state progress { done total } result error } }', { id: job.id })).job;
      return ['succeeded', 'failed', 'cancelled'].includes(current.state);
    },
    'the card type change to be applied to the cards',
    60_000,
  );
  return current;
}
