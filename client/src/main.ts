import { createPinia } from 'pinia';
import { createApp } from 'vue';
import { provideAbility } from './ability';
import { onUnauthenticated } from './api/graphql';
import App from './App.vue';
import { i18n } from './i18n';
import { router } from './router';
import { useFoldersStore } from './stores/folders';
import { useSessionStore } from './stores/session';
import { installTransfer } from './transfer';
import { installWorkspace } from './workspace';
import './styles.css';

document.documentElement.lang = i18n.global.locale.value;
const pinia = createPinia();
const app = createApp(App).use(pinia).use(i18n).use(router);
const session = useSessionStore(pinia);
installWorkspace(pinia);
installTransfer();
provideAbility(app, session.ability());

// The session ended elsewhere (signed out in another tab, password changed): back to sign-in.
onUnauthenticated(() => {
  if (!session.viewer) return;
  session.forget();
  useFoldersStore(pinia).clear();
  const current = router.currentRoute.value;
  if (current.meta.requiresAuth) void router.push({ name: 'signin', query: { redirect: current.fullPath } });
});

app.mount('#app');
