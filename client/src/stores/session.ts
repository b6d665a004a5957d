import { unpackRules, type PackRule } from '@casl/ability/extra';
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { createReactiveAbility, type AppAbility, type ReactiveAbility } from '../ability';
import { graphql, request, type ResultOf } from '../api/graphql';
import type { Locale } from '../api/types';
import { setLocale } from '../i18n';

const ViewerFields = graphql(`fragment ViewerFields on Viewer { user { id login fullName locale department { name } } isAdmin isHistoryReader rules }`);
const ViewerQuery = graphql(`query Viewer { viewer { ...ViewerFields } }`, [ViewerFields]);
const SignIn = graphql(`mutation SignIn($login: String!, $password: String!) { signIn(login: $login, password: $password) { ...ViewerFields } }`, [ViewerFields]);
const SignOut = graphql(`mutation SignOut { signOut }`);
const ChangePassword = graphql(`mutation ChangePassword($oldPassword: String!, $newPassword: String!) { changePassword(oldPassword: $oldPassword, newPassword: $newPassword) }`);
const SetMyLocale = graphql(`mutation SetMyLocale($locale: Locale!) { setMyLocale(locale: $locale) { locale } }`);

/** The signed-in user; `rules` are the server's packed CASL rules (JSON in the schema). */
export type Viewer = Omit<ResultOf<typeof ViewerFields>, 'rules'> & { rules: PackRule<AppAbility['rules'][number]>[] };
const asViewer = (viewer: ResultOf<typeof ViewerFields>): Viewer => viewer as Viewer;

/** Who is signed in, what they may do (CASL ability from the packed rules) and their language. */
export const useSessionStore = defineStore('session', () => {
  const viewer = shallowRef<Viewer | null>(null);
  const loaded = ref(false);
  const loadError = ref<string | null>(null);
  const reactiveAbility = createReactiveAbility();
  let loading: Promise<void> | null = null;

  /** A function, so the CASL instance stays out of the store's reactive state. */
  function ability(): ReactiveAbility {
    return reactiveAbility;
  }

  const isAdmin = computed(() => viewer.value?.isAdmin ?? false);

  function apply(next: Viewer | null): void {
    viewer.value = next;
    reactiveAbility.ability.update(next ? unpackRules(next.rules) : []);
    if (next?.user.locale) setLocale(next.user.locale);
  }

  async function load(): Promise<void> {
    loadError.value = null;
    try {
      const data = await request(ViewerQuery);
      apply(data.viewer && asViewer(data.viewer));
    } catch (e) {
      loadError.value = (e as Error).message;
      apply(null);
    } finally {
      loaded.value = true;
    }
  }

  /** Reads the viewer again (their rights changed while the page was open); a failed read keeps what is known. */
  async function refresh(): Promise<void> {
    try {
      const data = await request(ViewerQuery);
      apply(data.viewer && asViewer(data.viewer));
    } catch (e) {
      loadError.value = (e as Error).message;
    }
  }

  /** Loads the viewer once (the router waits for it before the first navigation). */
  function ensureLoaded(): Promise<void> {
    loading ??= load();
    return loading;
  }

  async function signIn(login: string, password: string): Promise<void> {
    apply(asViewer((await request(SignIn, { login, password })).signIn));
  }

  async function signOut(): Promise<void> {
    await request(SignOut);
    apply(null);
  }

  /** Forgets the viewer locally, e.g. when the server says the session is gone. */
  function forget(): void {
    apply(null);
  }

  async function changePassword(oldPassword: string, newPassword: string): Promise<void> {
    await request(ChangePassword, { oldPassword, newPassword });
  }

  /** Switches the interface language; signed-in users keep the choice on the server too. */
  async function switchLocale(locale: Locale): Promise<void> {
    setLocale(locale);
    const current = viewer.value;
    if (!current) return;
    await request(SetMyLocale, { locale });
    viewer.value = { ...current, user: { ...current.user, locale } };
  }

  return { viewer, loaded, loadError, isAdmin, ability, ensureLoaded, refresh, signIn, signOut, forget, changePassword, switchLocale };
});
