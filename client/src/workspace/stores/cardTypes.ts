import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { fetchCardTypes, fetchUsers, type CardTypeDef, type FieldDef } from '../api';

/** Card type definitions (loaded once a session) and the display names of users seen in card values. */
export const useCardTypesStore = defineStore('workspaceCardTypes', () => {
  const types = shallowRef<CardTypeDef[]>([]);
  const error = ref<string | null>(null);
  const byKey = computed(() => new Map(types.value.map((type) => [type.key, type])));
  const userNames = ref<Record<string, string>>({});
  let loading: Promise<void> | null = null;
  const pendingUsers = new Set<string>();
  let userTimer: ReturnType<typeof setTimeout> | undefined;

  function load(force = false): Promise<void> {
    if (force || error.value) loading = null;
    loading ??= fetchCardTypes().then(
      (list) => {
        types.value = list;
        error.value = null;
      },
      (e: Error) => {
        error.value = e.message;
      },
    );
    return loading;
  }

  /** The fields of a type a person sees, in form order. */
  function visibleFields(typeKey: string): FieldDef[] {
    const fields = byKey.value.get(typeKey)?.fields ?? [];
    return fields
      .map((field, index) => ({ field, index }))
      .filter(({ field }) => !field.hidden)
      .sort((a, b) => (a.field.order ?? a.index) - (b.field.order ?? b.index))
      .map(({ field }) => field);
  }

  /** The keys of the types a folder holds: those it allows, or every type when it lists none (open to any type). */
  function typeKeysOf(folder: { allowedCardTypes: readonly string[] }): string[] {
    return folder.allowedCardTypes.length > 0 ? [...folder.allowedCardTypes] : types.value.map((type) => type.key);
  }

  /** A user's name for display; unknown ids are fetched in one batched request. */
  function userName(id: string): string | undefined {
    const known = userNames.value[id];
    if (known === undefined && !pendingUsers.has(id)) {
      pendingUsers.add(id);
      clearTimeout(userTimer);
      userTimer = setTimeout(() => void flushUsers(), 30);
    }
    return known;
  }

  function rememberUser(id: string, fullName: string): void {
    userNames.value = { ...userNames.value, [id]: fullName };
  }

  async function flushUsers(): Promise<void> {
    const ids = [...pendingUsers].slice(0, 40);
    try {
      const users = await fetchUsers(ids);
      userNames.value = { ...userNames.value, ...Object.fromEntries(ids.map((id, i) => [id, users[i]?.fullName ?? '—'])) };
    } catch {
      userNames.value = { ...userNames.value, ...Object.fromEntries(ids.map((id) => [id, '—'])) };
    } finally {
      ids.forEach((id) => pendingUsers.delete(id));
      if (pendingUsers.size > 0) userTimer = setTimeout(() => void flushUsers(), 0);
    }
  }

  return { types, byKey, error, load, visibleFields, typeKeysOf, userName, rememberUser };
});
