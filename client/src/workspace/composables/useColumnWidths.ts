import { ref, watch } from 'vue';

export const MIN_COLUMN_WIDTH = 60;
export const MAX_COLUMN_WIDTH = 1200;

const clamp = (width: number) => Math.round(Math.min(MAX_COLUMN_WIDTH, Math.max(MIN_COLUMN_WIDTH, width)));

/**
 * The widths (px) a person gave the columns of a folder's list, remembered in this browser per
 * user and folder (localStorage `kartoteka.columns.<user>.<folder>`): a preference of the screen
 * in front of them, not shared data. Anything unreadable there is ignored.
 */
export function useColumnWidths(userId: () => string | null, folderId: () => string) {
  const widths = ref<Record<string, number>>({});
  const storageKey = () => `kartoteka.columns.${userId() ?? 'signed-out'}.${folderId()}`;

  function read(): Record<string, number> {
    try {
      const stored: unknown = JSON.parse(localStorage.getItem(storageKey()) ?? '{}');
      if (!stored || typeof stored !== 'object' || Array.isArray(stored)) return {};
      return Object.fromEntries(
        Object.entries(stored)
          .filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1]))
          .map(([key, width]) => [key, clamp(width)]),
      );
    } catch {
      return {};
    }
  }
  watch([userId, folderId], () => (widths.value = read()), { immediate: true });

  /** Sets a column's width (kept within bounds); `remember` keeps it for the next visit. */
  function set(column: string, width: number, remember = true): void {
    widths.value = { ...widths.value, [column]: clamp(width) };
    if (remember) localStorage.setItem(storageKey(), JSON.stringify(widths.value));
  }

  /** Back to the list's own width for the column. */
  function reset(column: string): void {
    widths.value = Object.fromEntries(Object.entries(widths.value).filter(([key]) => key !== column));
    localStorage.setItem(storageKey(), JSON.stringify(widths.value));
  }

  return { widths, set, reset };
}
