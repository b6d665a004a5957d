import { AbilityBuilder, createMongoAbility, subject, type ForcedSubject, type MongoAbility } from '@casl/ability';
import { packRules } from '@casl/ability/extra';
import type { AccessLevel } from '../folders/models';
import { LEVEL_RANK } from './effective-access';

export type Action = 'manage' | 'read' | 'create' | 'update' | 'delete' | 'manageAccess' | 'readHistory';
type LibrarySubject = ForcedSubject<'Library'> & { _id: string };
type FolderSubject = ForcedSubject<'Folder'> & { _id: string; parentId: string | null };
type CardSubject = ForcedSubject<'Card'> & { folderId: string };
type HistorySubject = ForcedSubject<'History'> & { folderId: string };
export type SubjectName = 'Library' | 'Folder' | 'Card' | 'History' | 'Admin' | 'all';
export type AppAbility = MongoAbility<[Action, SubjectName | LibrarySubject | FolderSubject | CardSubject | HistorySubject]>;

export interface AbilityInput {
  isAdmin: boolean;
  isHistoryReader: boolean;
  folderLevels: Map<string, AccessLevel>;
  visibleLibraryIds: string[];
}

function foldersAtLeast(levels: Map<string, AccessLevel>, minimum: AccessLevel): string[] {
  return [...levels].filter(([, level]) => LEVEL_RANK[level] >= LEVEL_RANK[minimum]).map(([id]) => id);
}

/**
 * The one place a user's permissions are decided. Conditions use string ids so they work both
 * in `accessibleBy` queries (mongoose casts them) and for in-memory checks of plain subjects.
 */
export function buildAbility(input: AbilityInput): AppAbility {
  const { can, build } = new AbilityBuilder<AppAbility>(createMongoAbility);
  if (input.isAdmin) {
    can('manage', 'all');
    return build();
  }
  const readable = foldersAtLeast(input.folderLevels, 'read');
  const editable = foldersAtLeast(input.folderLevels, 'edit');
  const full = foldersAtLeast(input.folderLevels, 'full');

  can('read', 'Library', { _id: { $in: input.visibleLibraryIds } });
  can('read', 'Folder', { _id: { $in: readable } });
  can(['update', 'manageAccess'], 'Folder', { _id: { $in: full } });
  can('create', 'Folder', { parentId: { $in: full } });

  can('read', 'Card', { folderId: { $in: readable } });
  can(['create', 'update'], 'Card', { folderId: { $in: editable } });
  can('delete', 'Card', { folderId: { $in: full } });
  if (input.isHistoryReader) can('read', 'History', { folderId: { $in: readable } });
  return build();
}

/** Rules in CASL's packed form, for the client's @casl/vue ability. */
export function packedRules(ability: AppAbility): unknown[] {
  return packRules(ability.rules);
}

export const folderSubject = (id: string, parentId: string | null = null): FolderSubject =>
  subject('Folder', { _id: id, parentId });
export const cardSubject = (folderId: string): CardSubject => subject('Card', { folderId });
export const historySubject = (folderId: string): HistorySubject => subject('History', { folderId });
export const librarySubject = (libraryId: string): LibrarySubject => subject('Library', { _id: libraryId });
