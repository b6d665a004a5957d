import { defineStore } from 'pinia';
import { ref } from 'vue';
import { graphql } from '../api/graphql';

export interface ServerInfo {
  version: string;
  databaseKind: string;
  nodeVersion: string;
  startedAt: string;
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
        'query ServerInfo { serverInfo { version databaseKind nodeVersion startedAt } }',
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
