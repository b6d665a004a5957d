import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { GraphQLRequestError } from '../../api/graphql';
import { fetchCardCount, fetchCardPage, fetchCards, type CardDetails, type CardFilter, type CardRow } from '../api';
import { onCardBatch, onCardEvent, type CardBatch, type CardEvent } from '../live';

const PAGE_SIZE = 100;
/** Changed cards fetched one by one (in one request) at most; more changes at once refresh the rows on show instead. */
const MAX_BATCH = 20;
/** Rows a refresh reads again at most (the client's largest page): a list scrolled further comes back shorter. */
const MAX_REFRESH_ROWS = 200;
/** How long changes gather before the list takes them, and after a refresh for a burst. */
const EVENT_DELAY_MS = 80;
const BURST_PAUSE_MS = 1000;

/**
 * The card list of the open folder: pages loaded so far (keyset cursors), sort, filters and the
 * selected card. Kept while the user opens a card, so the list comes back as it was; live card
 * events patch it in place.
 */
export const useCardListStore = defineStore('workspaceCardList', () => {
  const folderId = ref<string | null>(null);
  const sortBy = ref('updatedAt');
  const descending = ref(true);
  const filters = ref<Record<string, CardFilter>>({});
  const rows = shallowRef<CardRow[]>([]);
  /** Null until counted (the count is asked for after the first rows arrive). */
  const totalCount = ref<number | null>(null);
  const hasNextPage = ref(false);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const selectedId = ref<string | null>(null);
  const scrollTop = ref(0);
  let endCursor: string | null = null;
  let generation = 0;
  /** The page the server refused: scrolling does not ask for it again, only «Повторить» does (once). */
  let refused: 'first' | 'more' | null = null;

  const selectedIndex = computed(() => rows.value.findIndex((row) => row.id === selectedId.value));

  function activeFilters(): CardFilter[] {
    return Object.values(filters.value);
  }

  /** What the server said: its per-field messages (e.g. of `after` or a filter) when it gave them. */
  function refusalText(e: unknown): string {
    const fields = e instanceof GraphQLRequestError ? Object.values(e.fields) : [];
    return fields.length > 0 ? [...new Set(fields)].join('; ') : (e as Error).message;
  }

  async function loadPage(first: boolean): Promise<void> {
    const folder = folderId.value;
    if (!folder || loading.value || (!first && !hasNextPage.value)) return;
    const ticket = generation;
    loading.value = true;
    error.value = null;
    refused = null;
    try {
      const page = await fetchCardPage(folder, { first: PAGE_SIZE, after: first ? null : endCursor, sortBy: sortBy.value, descending: descending.value, filters: activeFilters() });
      if (ticket !== generation) return;
      const fresh = page.edges.map((edge) => edge.node);
      const known = first ? new Set<string>() : new Set(rows.value.map((row) => row.id));
      rows.value = first ? fresh : [...rows.value, ...fresh.filter((row) => !known.has(row.id))];
      if (first) void loadCount(folder, ticket);
      hasNextPage.value = page.pageInfo.hasNextPage;
      endCursor = page.pageInfo.endCursor;
    } catch (e) {
      if (ticket === generation) {
        error.value = refusalText(e);
        refused = first ? 'first' : 'more';
      }
    } finally {
      if (ticket === generation) loading.value = false;
    }
  }

  async function loadCount(folder: string, ticket: number): Promise<void> {
    try {
      const count = await fetchCardCount(folder, activeFilters());
      if (ticket === generation) totalCount.value = count;
    } catch (e) {
      if (ticket === generation) error.value = refusalText(e);
    }
  }

  /** Starts over from the first page (new folder, sort or filters). */
  function reload(): Promise<void> {
    generation += 1;
    loading.value = false;
    rows.value = [];
    totalCount.value = null;
    hasNextPage.value = false;
    endCursor = null;
    refused = null;
    scrollTop.value = 0;
    return loadPage(true);
  }

  /** Shows a folder's list; the same folder keeps its loaded pages, selection and scroll position. */
  function open(id: string): Promise<void> {
    if (folderId.value === id && (rows.value.length > 0 || loading.value)) return Promise.resolve();
    folderId.value = id;
    selectedId.value = null;
    filters.value = {};
    sortBy.value = 'updatedAt';
    descending.value = true;
    return reload();
  }

  /** The next page as the list scrolls; never after a refusal (the error stays until «Повторить»). */
  function loadMore(): Promise<void> {
    if (refused) return Promise.resolve();
    return loadPage(false);
  }

  /** «Повторить»: asks once more for the page that failed (the first one, or the next one after what is shown). */
  function retry(): Promise<void> {
    if (refused === 'more') return loadPage(false);
    return reload();
  }

  function sortOn(key: string): void {
    if (sortBy.value === key) descending.value = !descending.value;
    else {
      sortBy.value = key;
      descending.value = key === 'updatedAt' || key === 'createdAt';
    }
    void reload();
  }

  function setFilter(field: string, filter: CardFilter | null): void {
    const next = { ...filters.value };
    if (filter) next[field] = filter;
    else delete next[field];
    filters.value = next;
    void reload();
  }

  /** Replaces a row's data (e.g. read after opening), keeping its place. */
  function patchRow(id: string, patch: Partial<CardRow>): void {
    const index = rows.value.findIndex((row) => row.id === id);
    if (index < 0) return;
    const next = [...rows.value];
    next[index] = { ...next[index], ...patch };
    rows.value = next;
  }

  function sortKey(row: CardRow): string | number | boolean {
    const key = sortBy.value;
    const value = key === 'title' || key === 'createdAt' || key === 'updatedAt' ? row[key] : row.values[key];
    if (Array.isArray(value)) return value.join(', ');
    return value ?? '';
  }

  /** Where a new row belongs among the loaded ones; -1 when it lies beyond them (a later page brings it). */
  function insertionIndex(row: CardRow): number {
    const key = sortKey(row);
    const index = rows.value.findIndex((other) => {
      const otherKey = sortKey(other);
      return descending.value ? otherKey < key : otherKey > key;
    });
    if (index >= 0) return index;
    return hasNextPage.value ? -1 : rows.value.length;
  }

  /**
   * Cards changed since the list last took changes. A few are fetched and put in place; a burst
   * (a colleague importing or undoing thousands of cards into the folder, s10 re-test V3: the page
   * froze for minutes fetching them twenty at a time) becomes one refresh of the rows on show and
   * the count, at most about once a second while it lasts.
   */
  const pending = new Set<string>();
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let flushing = false;
  /** Changes taken since `windowStart`: a steady stream of a few at a time is a burst too. */
  let windowStart = 0;
  let takenInWindow = 0;
  /** After a refresh for a burst, changes wait until then. */
  let pausedUntil = 0;

  function scheduleFlush(): void {
    if (flushTimer !== undefined || flushing) return;
    flushTimer = setTimeout(
      () => {
        flushTimer = undefined;
        void flushEvents();
      },
      Math.max(EVENT_DELAY_MS, pausedUntil - Date.now()),
    );
  }

  async function flushEvents(): Promise<void> {
    flushing = true;
    const now = Date.now();
    if (now - windowStart > BURST_PAUSE_MS) {
      windowStart = now;
      takenInWindow = 0;
    }
    takenInWindow += pending.size;
    // Changes soon after a refresh refresh again: the count it read may already hold them.
    const burst = takenInWindow > MAX_BATCH || now < pausedUntil + BURST_PAUSE_MS;
    const ids = [...pending];
    pending.clear();
    try {
      await (burst ? refreshShown() : applyChanges(ids));
    } finally {
      flushing = false;
      if (burst) pausedUntil = Date.now() + BURST_PAUSE_MS;
      if (pending.size > 0) scheduleFlush();
    }
  }

  /** The rows on show (up to MAX_REFRESH_ROWS) and the count read again, in place of the cards one by one. */
  async function refreshShown(): Promise<void> {
    const folder = folderId.value;
    if (!folder) return;
    const ticket = generation;
    const first = Math.min(Math.max(rows.value.length, PAGE_SIZE), MAX_REFRESH_ROWS);
    const patchedBefore = patchCount;
    try {
      const [page, count] = await Promise.all([
        fetchCardPage(folder, { first, after: null, sortBy: sortBy.value, descending: descending.value, filters: activeFilters() }),
        fetchCardCount(folder, activeFilters()),
      ]);
      if (ticket !== generation) return;
      // A row patched while this refresh was read may be newer than the page's copy of it.
      rows.value = page.edges.map((edge) => {
        const patched = patchedDuringBurst.get(edge.node.id);
        return patched && patched.row.version > edge.node.version ? patched.row : edge.node;
      });
      for (const [id, patched] of patchedDuringBurst) if (patched.at <= patchedBefore) patchedDuringBurst.delete(id);
      hasNextPage.value = page.pageInfo.hasNextPage;
      endCursor = page.pageInfo.endCursor;
      totalCount.value = count;
    } catch {
      // The next change, a scroll or «Обновить» reads the list again.
    }
  }

  /**
   * A colleague's edit of a row on show while a burst (an import into the folder) is refreshed about
   * once a second: fetched at once by id and patched in place (s15 U3: the edit reached the open page
   * 3.7–10 s late, waiting for the refresh under way, the pause after it and the next refresh). Edits
   * of rows not on show, new cards and cards that left wait for the refresh, which counts them.
   */
  const shownEdits = new Set<string>();
  let shownTimer: ReturnType<typeof setTimeout> | undefined;
  /** Rows patched so, by id, with the patch's sequence number: a refresh read before a patch keeps it. */
  const patchedDuringBurst = new Map<string, { row: CardRow; at: number }>();
  let patchCount = 0;

  function inBurst(): boolean {
    return flushing || Date.now() < pausedUntil + BURST_PAUSE_MS;
  }

  async function patchShownEdits(): Promise<void> {
    shownTimer = undefined;
    const ids = [...shownEdits];
    shownEdits.clear();
    // Unanswered, the burst's next refresh reads them.
    const fetched = await cardsOfOpenFolder(ids);
    if (!fetched) return;
    const { folder, cards } = fetched;
    let next = rows.value;
    ids.forEach((id, i) => {
      const card = cards[i];
      const index = next.findIndex((row) => row.id === id);
      if (!card || card.inTrash || card.folderId !== folder || index < 0) {
        pending.add(id);
        return;
      }
      const row = rowOf(card);
      patchedDuringBurst.set(id, { row, at: ++patchCount });
      next = [...next.slice(0, index), row, ...next.slice(index + 1)];
    });
    rows.value = next;
    if (pending.size > 0) scheduleFlush();
  }

  function rowOf(card: CardDetails): CardRow {
    return {
      id: card.id,
      typeKey: card.typeKey,
      title: card.title,
      values: card.values,
      version: card.version,
      createdAt: card.createdAt,
      updatedAt: card.updatedAt,
      unread: card.unread,
      references: card.references,
    };
  }

  /** The cards of `ids` as they are now, for the folder still open when they arrive; null when unanswered or the user left it. */
  async function cardsOfOpenFolder(ids: string[]): Promise<{ folder: string | null; cards: Awaited<ReturnType<typeof fetchCards>> } | null> {
    const folder = folderId.value;
    try {
      const cards = await fetchCards(ids);
      return folder === folderId.value ? { folder, cards } : null;
    } catch {
      return null;
    }
  }

  /** Fetches these changed cards and puts each in its place, or drops it when it left the folder. */
  async function applyChanges(ids: string[]): Promise<void> {
    const fetched = await cardsOfOpenFolder(ids);
    if (!fetched) return;
    const { folder, cards } = fetched;
    let next = [...rows.value];
    ids.forEach((id, i) => {
      const card = cards[i];
      const index = next.findIndex((row) => row.id === id);
      const belongs = card && !card.inTrash && card.folderId === folder;
      if (!belongs) {
        if (index >= 0) {
          next.splice(index, 1);
          if (totalCount.value !== null) totalCount.value = Math.max(0, totalCount.value - 1);
        }
        return;
      }
      const row = rowOf(card);
      if (index >= 0) {
        next[index] = row;
        return;
      }
      rows.value = next;
      const at = insertionIndex(row);
      if (totalCount.value !== null) totalCount.value += 1;
      if (at >= 0) next = [...next.slice(0, at), row, ...next.slice(at)];
    });
    rows.value = next;
  }

  function onEvent(event: CardEvent): void {
    const folder = folderId.value;
    if (!folder || (event.folderId !== folder && event.previousFolderId !== folder)) return;
    const shownEdit = event.folderId === folder && inBurst() && shownEdits.size < MAX_BATCH && rows.value.some((row) => row.id === event.cardId);
    if (shownEdit) {
      shownEdits.add(event.cardId);
      shownTimer ??= setTimeout(() => void patchShownEdits(), EVENT_DELAY_MS);
      return;
    }
    pending.add(event.cardId);
    scheduleFlush();
  }
  onCardEvent(onEvent);
  // A batch (a colleague's import) is a burst: its cards join the changes, which then refresh the rows on show.
  onCardBatch((batch: CardBatch) => {
    const folder = folderId.value;
    if (!folder || !batch.folderIds.includes(folder)) return;
    for (const cardId of batch.cardIds) pending.add(cardId);
    scheduleFlush();
  });

  return {
    folderId,
    sortBy,
    descending,
    filters,
    rows,
    totalCount,
    hasNextPage,
    loading,
    error,
    selectedId,
    selectedIndex,
    scrollTop,
    open,
    reload,
    loadMore,
    retry,
    sortOn,
    setFilter,
    patchRow,
  };
});
