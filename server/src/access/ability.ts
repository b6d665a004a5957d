import { AbilityBuilder, buildMongoQueryMatcher, createMongoAbility, subject, type ForcedSubject, type MongoAbility } from '@casl/ability';
import { packRules } from '@casl/ability/extra';
import type { AccessLevel } from './structure';
import { LEVEL_RANK } from './effective-access';

export type Action = 'manage' | 'read' | 'create' | 'update' | 'delete' | 'manageAccess' | 'readHistory' | 'export';
type LibrarySubject = ForcedSubject<'Library'> & { _id: string };
type FolderSubject = ForcedSubject<'Folder'> & { folderId: string; libraryId: string; parentId: string | null };
type CardSubject = ForcedSubject<'Card'> & { folderId: string; libraryId: string };
type HistorySubject = ForcedSubject<'History'> & { folderId: string; libraryId: string };
export type SubjectName = 'Library' | 'Folder' | 'Card' | 'History' | 'Admin' | 'all';
export type AppAbility = MongoAbility<[Action, SubjectName | LibrarySubject | FolderSubject | CardSubject | HistorySubject]>;

export interface AbilityInput {
  isAdmin: boolean;
  isHistoryReader: boolean;
  /** Holds the «Экспорт» right everywhere (the system group «Доверенные лица (экспорт)»): may export the cards they may read. */
  isExporter: boolean;
  folderLevels: Map<string, AccessLevel>;
  /** Folders where an access entry naming the user grants «Экспорт» (a folder's or its library's, inherited down). */
  exportFolderIds: ReadonlySet<string>;
  visibleLibraryIds: string[];
  /** Every folder of every library (ids), for writing a library's folders as one condition. */
  foldersByLibrary: Map<string, string[]>;
  /** The library of each folder. */
  libraryOf: (folderId: string) => string | undefined;
}

// ---------- `$in` in constant time ----------

const idSets = new WeakMap<readonly unknown[], Set<unknown>>();
const idKey = (value: unknown): unknown => (value !== null && typeof value === 'object' && 'toHexString' in value ? (value as { toHexString(): string }).toHexString() : value);

interface InCondition {
  field: string;
  value: readonly unknown[];
}
type Getter = (object: unknown, field: string) => unknown;

/**
 * CASL's `$in` scans its list on every check; a user's rules can list thousands of folders. This
 * one turns each list into a Set once (lists are the rules' own arrays, so the Set lives as long
 * as the ability), making "may read folder X" one hash lookup. Queries built with `accessibleBy`
 * still get the plain `$in` list.
 */
function withinSet(condition: InCondition, object: unknown, { get }: { get: Getter }): boolean {
  let set = idSets.get(condition.value);
  if (!set) {
    set = new Set(condition.value.map(idKey));
    idSets.set(condition.value, set);
  }
  const value = get(object, condition.field);
  return Array.isArray(value) ? value.some((item) => set.has(idKey(item))) : set.has(idKey(value));
}

const conditionsMatcher = buildMongoQueryMatcher({}, { in: withinSet } as unknown as Parameters<typeof buildMongoQueryMatcher>[1]);

// ---------- rules ----------

const LEVELS: AccessLevel[] = ['read', 'edit', 'full'];

/**
 * Where a user's level is the same on every folder of a library, one condition on `libraryId`
 * stands for all of them; only the remaining folders are listed. A reader of a whole library of
 * 5,000 folders gets one id, not 5,000.
 */
function compactLevels(input: AbilityInput): Record<AccessLevel, { libraries: string[]; folders: string[] }> {
  const result = Object.fromEntries(LEVELS.map((level) => [level, { libraries: [] as string[], folders: [] as string[] }])) as Record<
    AccessLevel,
    { libraries: string[]; folders: string[] }
  >;
  const libraryFloor = new Map<string, number>();
  for (const [libraryId, folderIds] of input.foldersByLibrary) {
    if (folderIds.length === 0) continue;
    let floor = Infinity;
    for (const id of folderIds) {
      const level = input.folderLevels.get(id);
      floor = Math.min(floor, level ? LEVEL_RANK[level] : 0);
      if (floor === 0) break;
    }
    if (floor > 0) libraryFloor.set(libraryId, floor);
  }
  for (const level of LEVELS) {
    const rank = LEVEL_RANK[level];
    for (const [libraryId, floor] of libraryFloor) if (floor >= rank) result[level].libraries.push(libraryId);
    for (const [folderId, folderLevel] of input.folderLevels) {
      if (LEVEL_RANK[folderLevel] < rank) continue;
      const libraryId = input.libraryOf(folderId);
      if (!libraryId || (libraryFloor.get(libraryId) ?? 0) < rank) result[level].folders.push(folderId);
    }
  }
  return result;
}

/**
 * «Экспорт» granted by entries, as conditions: a library whose every folder the user may export
 * from is one id, the other folders are listed.
 */
function exportScopes(input: AbilityInput): Record<string, unknown>[] {
  if (input.exportFolderIds.size === 0) return [];
  const libraries: string[] = [];
  const folders = new Set(input.exportFolderIds);
  for (const [libraryId, folderIds] of input.foldersByLibrary) {
    if (folderIds.length === 0 || !folderIds.every((id) => input.exportFolderIds.has(id) && input.folderLevels.has(id))) continue;
    libraries.push(libraryId);
    for (const id of folderIds) folders.delete(id);
  }
  const listed = [...folders].filter((id) => input.folderLevels.has(id));
  return [...(libraries.length > 0 ? [{ libraryId: { $in: libraries } }] : []), ...(listed.length > 0 ? [{ folderId: { $in: listed } }] : [])];
}

/**
 * The one place a user's permissions are decided. Conditions use string ids so they work both
 * in `accessibleBy` queries (mongoose casts them) and for in-memory checks of plain subjects.
 * Each level (read < edit < full) grants its actions on the folders listed for it, or on whole
 * libraries where the user holds at least that level on every folder.
 */
export function buildAbility(input: AbilityInput): AppAbility {
  const { can, build } = new AbilityBuilder<AppAbility>((rules) => createMongoAbility(rules, { conditionsMatcher }));
  if (input.isAdmin) {
    can('manage', 'all');
    return build();
  }
  can('read', 'Library', { _id: { $in: input.visibleLibraryIds } });
  const compact = compactLevels(input);
  const readSubjects: ('Folder' | 'Card' | 'History')[] = input.isHistoryReader ? ['Folder', 'Card', 'History'] : ['Folder', 'Card'];
  for (const level of LEVELS) {
    const { libraries, folders } = compact[level];
    const scopes = [...(libraries.length > 0 ? [{ libraryId: { $in: libraries } }] : []), ...(folders.length > 0 ? [{ folderId: { $in: folders } }] : [])];
    for (const scope of scopes) {
      if (level === 'read') can('read', readSubjects, scope);
      if (level === 'read' && input.isExporter) can('export', 'Card', scope);
      if (level === 'edit') can(['create', 'update'], 'Card', scope);
      if (level === 'full') {
        can('delete', 'Card', scope);
        can(['update', 'manageAccess'], 'Folder', scope);
      }
    }
    if (level === 'full') {
      // Sub-folders may be created under a folder the user fully controls.
      if (libraries.length > 0) can('create', 'Folder', { libraryId: { $in: libraries }, parentId: { $ne: null } });
      if (folders.length > 0) can('create', 'Folder', { parentId: { $in: folders } });
    }
  }
  if (!input.isExporter) for (const scope of exportScopes(input)) can('export', 'Card', scope);
  return build();
}

/** Rules in CASL's packed form, for the client's @casl/vue ability. */
export function packedRules(ability: AppAbility): unknown[] {
  return packRules(ability.rules);
}

type FolderLike = { _id: unknown; libraryId: unknown; parentId?: unknown };
type InFolder = { folderId: unknown; libraryId: unknown };

/** A folder as a subject; for "create a folder under P", pass the new folder's library and parent P. */
export const folderSubject = (folder: FolderLike): FolderSubject =>
  subject('Folder', { folderId: String(folder._id), libraryId: String(folder.libraryId), parentId: folder.parentId ? String(folder.parentId) : null });
export const cardSubject = (card: InFolder): CardSubject => subject('Card', { folderId: String(card.folderId), libraryId: String(card.libraryId) });
export const historySubject = (card: InFolder): HistorySubject => subject('History', { folderId: String(card.folderId), libraryId: String(card.libraryId) });
export const librarySubject = (libraryId: string): LibrarySubject => subject('Library', { _id: libraryId });
