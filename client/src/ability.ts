import { createMongoAbility, type ForcedSubject, type MongoAbility } from '@casl/ability';
import { inject, shallowRef, type App, type InjectionKey } from 'vue';

/** The server's actions and subjects (server/src/access/ability.ts); the server still decides. */
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
