import { defineStore } from 'pinia';
import { ref } from 'vue';
import { graphql } from '../api/graphql';

/** What the server is; what it runs on comes for administrators only (null otherwise). */
export interface ServerInfo {
  product: string;
  version: string | null;
  databaseKind: string | null;
  nodeVersion: string | null;
  startedAt: string | null;
}

export const useServerInfoStore = defineStore('serverInfo', () => {
  const info = ref<ServerInfo | null>(null);
  const error = ref<string | null>(null);
  const loading = ref(false);

  async function load(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      const data = await graphql<{ serverInfo: ServerInfo }>(
        'query ServerInfo { serverInfo { product version databaseKind nodeVersion startedAt } }',
      );
      info.value = data.serverInfo;
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loading.value = false;
    }
  }

  return { info, error, loading, load };
});
