import { ref, shallowRef, type Ref } from 'vue';

/** Loads data with loading and error state; `reload` runs the loader again. */
export function useLoader<T>(load: () => Promise<T>) {
  const data = shallowRef<T | null>(null) as Ref<T | null>;
  const loading = ref(false);
  const error = ref<string | null>(null);

  async function reload(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      data.value = await load();
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loading.value = false;
    }
  }

  return { data, loading, error, reload };
}
