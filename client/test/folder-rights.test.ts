import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { effectScope, ref } from 'vue';
import type { FolderInfo } from '../src/workspace/api';

// The session store asks the server through this module; the test answers in its place.
const server = vi.hoisted(() => ({ request: vi.fn() }));
vi.mock('../src/api/graphql', () => ({ graphql: (text: string) => text, request: server.request }));

const flushPromises = () => new Promise((resolve) => setTimeout(resolve, 0));

const { useSessionStore } = await import('../src/stores/session');
const { useFolderRights } = await import('../src/workspace/composables/useFolderRights');

const viewer = (rules: unknown[]) => ({ user: { id: 'u1', login: 'tg', fullName: 'Татьяна', locale: 'ru', department: null }, isAdmin: false, isHistoryReader: false, rules });
const folder = (id: string, myAccess: FolderInfo['myAccess']): FolderInfo => ({
  id,
  libraryId: 'lib',
  parentId: null,
  name: id,
  allowedCardTypes: [],
  defaultCardType: null,
  myAccess,
});

/** Packed CASL rules as the server sends them: [action, subject, conditions]. */
const edits = (folderId: string) => [
  ['read', 'Folder,Card', { folderId: { $in: [folderId] } }],
  ['create,update', 'Card', { folderId: { $in: [folderId] } }],
];
const owns = (folderId: string) => [
  ...edits(folderId),
  ['delete', 'Card', { folderId: { $in: [folderId] } }],
  ['update,manageAccess', 'Folder', { folderId: { $in: [folderId] } }],
];

beforeEach(() => {
  setActivePinia(createPinia());
  vi.clearAllMocks();
});

async function signedInWith(rules: unknown[]) {
  server.request.mockResolvedValueOnce({ signIn: viewer(rules) });
  await useSessionStore().signIn('tg', 'password');
}

describe('what the workspace offers in a folder follows the server’s CASL rules', () => {
  it('offers creating and editing where the rules allow editing, and neither deleting nor the access tab', async () => {
    await signedInWith([...edits('f1'), ['read', 'Folder,Card', { folderId: { $in: ['f2'] } }]]);
    const current = ref<FolderInfo | null>(null);
    const rights = effectScope().run(() => useFolderRights(current))!;
    expect(rights.canCreate.value).toBe(false);
    current.value = folder('f1', 'edit');
    expect([rights.canCreate.value, rights.canEdit.value, rights.canDelete.value, rights.canManageAccess.value, rights.canReadHistory.value]).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
    current.value = folder('f2', 'read');
    expect(rights.canCreate.value).toBe(false);
    await flushPromises();
    expect(server.request).toHaveBeenCalledTimes(1); // the rules agreed with both folders: nothing reloaded
  });

  it('reloads the rules when the folder says the viewer’s level changed, and offers what the new rules allow', async () => {
    await signedInWith(edits('f1'));
    const current = ref<FolderInfo | null>(null);
    const rights = effectScope().run(() => useFolderRights(current))!;
    server.request.mockResolvedValueOnce({ viewer: viewer(owns('f1')) });
    current.value = folder('f1', 'full'); // an administrator made her the folder's owner meanwhile
    expect(rights.canDelete.value).toBe(false);
    await flushPromises();
    expect(server.request).toHaveBeenCalledTimes(2);
    expect([rights.canDelete.value, rights.canManageAccess.value]).toEqual([true, true]);
  });
});
