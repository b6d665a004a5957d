import { computed, watch, type Ref } from 'vue';
import { cardIn, folderAsSubject, historyIn, levelByRules } from '../../ability';
import { useSessionStore } from '../../stores/session';
import type { FolderInfo } from '../api';

/**
 * What the viewer may do in a folder, by the server's CASL rules (the session's ability), so the
 * interface hides what the server would refuse. The folder as just read names the viewer's level
 * too (`myAccess`): when the rules say otherwise, an administrator changed the viewer's access
 * since the rules were loaded, and they are loaded again.
 */
export function useFolderRights(folder: Ref<FolderInfo | null>) {
  const session = useSessionStore();
  const ability = session.ability();
  watch(folder, (current) => {
    if (current && levelByRules(ability, current) !== current.myAccess) void session.refresh().catch(() => undefined);
  });
  const may = (check: (place: FolderInfo) => boolean) => computed(() => folder.value !== null && check(folder.value));
  return {
    canCreate: may((place) => ability.can('create', cardIn(place))),
    canEdit: may((place) => ability.can('update', cardIn(place))),
    canDelete: may((place) => ability.can('delete', cardIn(place))),
    canReadHistory: may((place) => ability.can('read', historyIn(place))),
    canManageAccess: may((place) => ability.can('manageAccess', folderAsSubject(place))),
  };
}
