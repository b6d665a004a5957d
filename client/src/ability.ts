import { createMongoAbility, subject, type ForcedSubject, type MongoAbility } from '@casl/ability';
import { inject, shallowRef, type App, type InjectionKey } from 'vue';

/**
 * The server's CASL rules in the browser: the interface offers what they allow (the server still
 * decides). @casl/vue would provide this reactive wrapper, but its last release (2.2.6) imports
 * `PureAbility`, which @casl/ability 7 no longer exports; this is the same technique (a version
 * bumped on the ability's `updated` event, read by every check).
 */

/** The server's actions and subjects (server/src/access/ability.ts). */
export type Action = 'manage' | 'read' | 'create' | 'update' | 'delete' | 'manageAccess' | 'readHistory' | 'export';
export type SubjectName = 'Library' | 'Folder' | 'Card' | 'History' | 'Admin' | 'all';
export type AppAbility = MongoAbility<[Action, SubjectName | ForcedSubject<Exclude<SubjectName, 'all'>>]>;
type CanArgs = Parameters<AppAbility['can']>;

/** An ability whose checks re-run in templates and computeds when its rules change. */
export interface ReactiveAbility {
  ability: AppAbility;
  can(...args: CanArgs): boolean;
}

export function createReactiveAbility(): ReactiveAbility {
  const ability = createMongoAbility<AppAbility>([]);
  const version = shallowRef(0);
  ability.on('updated', () => {
    version.value += 1;
  });
  return {
    ability,
    can: (...args) => {
      void version.value;
      return ability.can(...args);
    },
  };
}

const ABILITY: InjectionKey<ReactiveAbility> = Symbol('ability');

export function provideAbility(app: App, ability: ReactiveAbility): void {
  app.provide(ABILITY, ability);
}

export function useAbility(): ReactiveAbility {
  const ability = inject(ABILITY);
  if (!ability) throw new Error('useAbility(): no ability provided (see main.ts)');
  return ability;
}

/** Where a card, a folder or its history lives, as the server's rules name it (server/src/access/ability.ts). */
export interface FolderPlace {
  id: string;
  libraryId: string;
  parentId?: string | null;
}

export const cardIn = (folder: FolderPlace) => subject('Card', { folderId: folder.id, libraryId: folder.libraryId });
export const historyIn = (folder: FolderPlace) => subject('History', { folderId: folder.id, libraryId: folder.libraryId });
export const folderAsSubject = (folder: FolderPlace) => subject('Folder', { folderId: folder.id, libraryId: folder.libraryId, parentId: folder.parentId ?? null });

/** The level (read < edit < full) the rules give on a folder, named as the server's `myAccess`; null for none. */
export function levelByRules({ can }: ReactiveAbility, folder: FolderPlace): 'read' | 'edit' | 'full' | null {
  const card = cardIn(folder);
  if (can('delete', card)) return 'full';
  if (can('create', card)) return 'edit';
  return can('read', card) ? 'read' : null;
}
