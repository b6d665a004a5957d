import { defineStore } from 'pinia';
import { ref } from 'vue';
import { graphql, request, type ResultOf } from '../api/graphql';

const ServerInfoQuery = graphql(`query ServerInfo { serverInfo { product version databaseKind nodeVersion startedAt } }`);

/** What the server is; what it runs on comes for administrators only (null otherwise). */
export type ServerInfo = ResultOf<typeof ServerInfoQuery>['serverInfo'];

export const useServerInfoStore = defineStore('serverInfo', () => {
  const info = ref<ServerInfo | null>(null);
  const error = ref<string | null>(null);
  const loading = ref(false);

  async function load(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      info.value = (await request(ServerInfoQuery)).serverInfo;
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loading.value = false;
    }
  }

  return { info, error, loading, load };
});
