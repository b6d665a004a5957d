import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { graphql, request } from '../api/graphql';
import { buildTree, type FolderSummary, type LibrarySummary, type TreeNode } from '../api/types';

export interface LibraryTree {
  library: LibrarySummary;
  folders: TreeNode<FolderSummary>[];
}

const FolderTree = graphql(`query FolderTree { libraries { id name order folders { id libraryId parentId name order myAccess allowedCardTypes defaultCardType } } }`);

/** Libraries and folders the viewer may read, for the tree in the left pane. */
export const useFoldersStore = defineStore('folders', () => {
  const libraries = shallowRef<LibrarySummary[]>([]);
  const loading = ref(false);
  /** The tree has been read at least once since sign-in (an empty tree is then really empty). */
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const collapsed = ref(new Set<string>());

  const trees = computed<LibraryTree[]>(() => libraries.value.map((library) => ({ library, folders: buildTree(library.folders) })));
  const folderById = computed(() => new Map(libraries.value.flatMap((library) => library.folders.map((folder) => [folder.id, folder] as const))));

  async function load(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      libraries.value = (await request(FolderTree)).libraries;
      loaded.value = true;
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loading.value = false;
    }
  }

  function clear(): void {
    libraries.value = [];
    loaded.value = false;
    collapsed.value = new Set();
  }

  function toggle(id: string): void {
    const next = new Set(collapsed.value);
    if (!next.delete(id)) next.add(id);
    collapsed.value = next;
  }

  return { libraries, trees, folderById, loading, loaded, error, collapsed, load, clear, toggle };
});
