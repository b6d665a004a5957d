import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

/** Cards a selection may hold (the server's MAX_EXPORT_SELECTION). */
export const MAX_SELECTION = 5000;

/**
 * The cards ticked in a folder's list, to export only those («Экспорт ▾» → «Выбранные»): kept
 * while the list is filtered, sorted or scrolled, cleared when another folder opens.
 */
export const useCardSelectionStore = defineStore('transferCardSelection', () => {
  const folderId = ref<string | null>(null);
  const ids = ref<ReadonlySet<string>>(new Set());

  /** The list now shows this folder: a selection made in another one is dropped. */
  function showFolder(id: string): void {
    if (folderId.value === id) return;
    folderId.value = id;
    ids.value = new Set();
  }

  function toggle(id: string, selected: boolean): void {
    const next = new Set(ids.value);
    if (selected && next.size < MAX_SELECTION) next.add(id);
    else if (!selected) next.delete(id);
    ids.value = next;
  }

  /** Ticks (or unticks) every card the list has loaded. */
  function setAll(rowIds: readonly string[], selected: boolean): void {
    const next = new Set(ids.value);
    for (const id of rowIds) {
      if (!selected) next.delete(id);
      else if (next.size < MAX_SELECTION) next.add(id);
    }
    ids.value = next;
  }

  function clear(): void {
    ids.value = new Set();
  }

  return { folderId, ids, count: computed(() => ids.value.size), showFolder, toggle, setAll, clear };
});
