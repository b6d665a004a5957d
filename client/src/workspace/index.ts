import type { Pinia } from 'pinia';
import { watch } from 'vue';
import { i18n } from '../i18n';
import { useSessionStore } from '../stores/session';
import { startLive, stopLive } from './live';
import { en, ru } from './messages';
import { en as duplicatesEn, ru as duplicatesRu } from '../duplicates/messages';
import './workspace.css';

/** Adds the workspace's strings and keeps the live connection open while someone is signed in. */
export function installWorkspace(pinia: Pinia): void {
  i18n.global.mergeLocaleMessage('ru', ru);
  i18n.global.mergeLocaleMessage('en', en);
  i18n.global.mergeLocaleMessage('ru', duplicatesRu);
  i18n.global.mergeLocaleMessage('en', duplicatesEn);
  const session = useSessionStore(pinia);
  watch(
    () => session.viewer?.user.id,
    (userId, previous) => {
      if (previous) stopLive();
      if (userId) startLive();
    },
    { immediate: true },
  );
}
