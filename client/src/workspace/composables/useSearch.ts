import { ref, watch, type Ref } from 'vue';
import { useRouter } from 'vue-router';
import { searchCards, type SearchHit, type SearchIndexing } from '../api';
import { useCardTypesStore } from '../stores/cardTypes';

/** Hits in the order they are shown: grouped by card type, the groups in order of their first hit. */
export function groupedByType(found: SearchHit[]): SearchHit[] {
  const order = [...new Set(found.map((hit) => hit.card.typeKey))];
  return [...found].sort((a, b) => order.indexOf(a.card.typeKey) - order.indexOf(b.card.typeKey));
}

/** A keyboard cursor over the hits as shown: ↑/↓ move, Enter opens the card. */
export function useHitKeys(hits: Ref<SearchHit[]>) {
  const router = useRouter();
  const active = ref(0);

  function open(hit: SearchHit): void {
    void router.push({ name: 'workspace-card', params: { folderId: hit.card.folderId, cardId: hit.card.id } });
  }

  /** ↑/↓ move, Enter opens; true when the key was handled. */
  function onKey(event: KeyboardEvent): boolean {
    if (event.key === 'ArrowDown' && hits.value.length) active.value = (active.value + 1) % hits.value.length;
    else if (event.key === 'ArrowUp' && hits.value.length) active.value = (active.value - 1 + hits.value.length) % hits.value.length;
    else if (event.key === 'Enter' && hits.value[active.value]) open(hits.value[active.value]);
    else return false;
    event.preventDefault();
    return true;
  }

  return { active, open, onKey };
}

/**
 * Requests of a search that follows what one types: only the latest one's answer is applied (one
 * arriving after a later request started is dropped), with its loading and error state; `drop`
 * forgets the one under way. The card types are loaded alongside (hits are shown by type).
 */
export function useLatestRequest() {
  const types = useCardTypesStore();
  const loading = ref(false);
  const error = ref<string | null>(null);
  let ticket = 0;

  async function latest<T>(request: () => Promise<T>, apply: (answer: T) => void): Promise<void> {
    const mine = ++ticket;
    loading.value = true;
    error.value = null;
    try {
      void types.load();
      const answer = await request();
      if (mine === ticket) apply(answer);
    } catch (e) {
      if (mine === ticket) error.value = (e as Error).message;
    } finally {
      if (mine === ticket) loading.value = false;
    }
  }

  function drop(): void {
    ticket += 1;
    loading.value = false;
  }

  return { loading, error, latest, drop };
}

/** Search as one types (debounced, latest answer wins) with a keyboard cursor over the hits. */
export function useSearch(query: Ref<string>, first = 30) {
  const hits = ref<SearchHit[]>([]);
  /** Non-null while the server is still giving stored cards their words: the hits may be incomplete. */
  const indexing = ref<SearchIndexing>(null);
  const { loading, error, latest, drop } = useLatestRequest();
  const { active, open, onKey } = useHitKeys(hits);
  let timer: ReturnType<typeof setTimeout> | undefined;

  const run = (text: string) =>
    latest(
      () => searchCards(text, null, first),
      ({ hits: found, indexing: progress }) => {
        indexing.value = progress;
        // Grouped display: keep the hits in group order so ↑/↓ walks them as shown.
        hits.value = groupedByType(found);
        active.value = 0;
      },
    );

  watch(
    query,
    (text) => {
      clearTimeout(timer);
      if (text.trim().length < 2) {
        drop();
        hits.value = [];
        return;
      }
      timer = setTimeout(() => void run(text.trim()), 250);
    },
    { immediate: true },
  );

  return { hits, indexing, loading, error, active, open, onKey };
}
