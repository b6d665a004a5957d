import { ref, shallowRef, type Ref } from 'vue';

/**
 * Loads data with loading and error state; `reload` runs the loader again, and only the latest
 * load's result is kept (an earlier one's `stale` then says so, so it may stop reading). `refresh`
 * is a reload for news (a colleague's change): during a load it runs once after it ends rather than
 * alongside — a list read in many replies is not restarted by every change, nor read twice at once
 * (s17 guard H1: a related tab reloaded each second never finished, 53 replies of 2.8 MB in 196 s).
 */
export function useLoader<T>(load: (stale: () => boolean) => Promise<T>) {
  const data = shallowRef<T | null>(null) as Ref<T | null>;
  const loading = ref(false);
  const error = ref<string | null>(null);
  let latest = 0;
  let news = false;

  async function reload(): Promise<void> {
    const mine = ++latest;
    const stale = () => mine !== latest;
    news = false;
    loading.value = true;
    error.value = null;
    try {
      const loaded = await load(stale);
      if (!stale()) data.value = loaded;
    } catch (e) {
      if (!stale()) error.value = (e as Error).message;
    } finally {
      if (!stale()) {
        loading.value = false;
        if (news) void reload();
      }
    }
  }

  function refresh(): void {
    if (loading.value) news = true;
    else void reload();
  }

  return { data, loading, error, reload, refresh };
}
