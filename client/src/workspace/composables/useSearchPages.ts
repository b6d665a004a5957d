import { computed, ref, watch, type Ref } from 'vue';
import { searchResultsPage, type SearchHit, type SearchIndexing } from '../api';
import { groupedByType, useLatestRequest } from './useSearch';

/**
 * All the results of a search, a page at a time («Показать ещё» reads the next page after the
 * last one's cursor), with how many there are; a new query starts over (debounced, latest wins).
 */
export function useSearchPages(query: Ref<string>, pageSize = 50) {
  const hits = ref<SearchHit[]>([]);
  const total = ref<{ count: number; exact: boolean } | null>(null);
  /** Non-null while the server is still giving stored cards their words: the results may be incomplete. */
  const indexing = ref<SearchIndexing>(null);
  const next = ref<string | null>(null);
  const { loading, error, latest, drop } = useLatestRequest();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const load = (text: string, after: string | null) =>
    latest(
      () => searchResultsPage(text, after, pageSize),
      ({ page, indexing: progress }) => {
        indexing.value = progress;
        const found = page.edges.map((edge) => edge.node);
        hits.value = groupedByType(after ? [...hits.value, ...found] : found);
        total.value = { count: page.totalCount, exact: page.totalExact };
        next.value = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      },
    );

  watch(
    query,
    (text) => {
      clearTimeout(timer);
      drop();
      hits.value = [];
      total.value = null;
      next.value = null;
      if (text.trim().length < 2) return;
      timer = setTimeout(() => void load(text.trim(), null), 250);
    },
    { immediate: true },
  );

  /** Reads the next page, if there is one. */
  function more(): void {
    if (next.value && !loading.value) void load(query.value.trim(), next.value);
  }

  return { hits, total, indexing, hasMore: computed(() => next.value !== null), more, loading, error };
}
