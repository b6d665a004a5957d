import { ref, watch } from 'vue';
import { graphql, request } from '../../api/graphql';

export const MIN_COLUMN_WIDTH = 60;
export const MAX_COLUMN_WIDTH = 1200;

const clamp = (width: number) => Math.round(Math.min(MAX_COLUMN_WIDTH, Math.max(MIN_COLUMN_WIDTH, width)));

const ColumnWidthsQuery = graphql(`query ColumnWidths($folderId: ID!) { columnWidths(folderId: $folderId) }`);
const SetColumnWidths = graphql(`mutation SetColumnWidths($folderId: ID!, $widths: JSON!) { setColumnWidths(folderId: $folderId, widths: $widths) }`);

/** The stored widths as numbers within bounds; anything else is left out. */
function readWidths(stored: unknown): Record<string, number> {
  if (!stored || typeof stored !== 'object' || Array.isArray(stored)) return {};
  return Object.fromEntries(
    Object.entries(stored)
      .filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1]))
      .map(([key, width]) => [key, clamp(width)]),
  );
}

/**
 * The widths (px) a person gave the columns of a folder's list, kept per user on the server
 * (`columnWidths` / `setColumnWidths`), so they follow the person to another computer. A width
 * being dragged shows at once and is stored when the drag ends.
 */
export function useColumnWidths(userId: () => string | null, folderId: () => string) {
  const widths = ref<Record<string, number>>({});
  let ticket = 0;

  watch(
    [userId, folderId],
    async ([user, folder]) => {
      const mine = ++ticket;
      widths.value = {};
      if (!user) return;
      try {
        const stored = readWidths((await request(ColumnWidthsQuery, { folderId: folder })).columnWidths);
        // Widths set while they loaded win.
        if (mine === ticket) widths.value = { ...stored, ...widths.value };
      } catch {
        // Without them the list keeps its own widths.
      }
    },
    { immediate: true },
  );

  function store(): void {
    if (!userId()) return;
    void request(SetColumnWidths, { folderId: folderId(), widths: widths.value }).catch(() => undefined);
  }

  /** Sets a column's width (kept within bounds); `remember` stores it for the next visit, on any computer. */
  function set(column: string, width: number, remember = true): void {
    widths.value = { ...widths.value, [column]: clamp(width) };
    if (remember) store();
  }

  /** Back to the list's own width for the column. */
  function reset(column: string): void {
    widths.value = Object.fromEntries(Object.entries(widths.value).filter(([key]) => key !== column));
    store();
  }

  return { widths, set, reset };
}
