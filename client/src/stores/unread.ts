import { defineStore } from 'pinia';
import { shallowRef } from 'vue';

/** Unread card counts per folder id; the folder tree shows them as badges (bold names). */
export const useUnreadStore = defineStore('unread', () => {
  const counts = shallowRef<Record<string, number>>({});

  function setCounts(next: Record<string, number>): void {
    counts.value = { ...next };
  }

  return { counts, setCounts };
});
