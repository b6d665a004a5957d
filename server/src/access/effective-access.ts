import type { AccessLevel, PrincipalType } from './structure';

/** Where an entry is written: on a folder, or on a library for its top-level folders. */
export interface AccessSource {
  /** `administrators`: not an entry, the system group that may do everything. */
  kind: 'folder' | 'library' | 'administrators';
  id: string;
  name: string;
}

export interface PlainAccessEntry {
  principalType: PrincipalType;
  principalId: string;
  includeSubdepartments: boolean;
  level: AccessLevel;
  /** Grants «Экспорт» of what the entry lets one read. */
  export: boolean;
}

/** An entry as stored in MongoDB (ObjectIds, possibly missing flags). */
export type StoredEntry = { principalType: PrincipalType; principalId: unknown; includeSubdepartments?: boolean | null; level: AccessLevel; export?: boolean | null };

export const plainEntries = (entries: StoredEntry[] | undefined | null): PlainAccessEntry[] =>
  (entries ?? []).map((e) => ({
    principalType: e.principalType,
    principalId: String(e.principalId),
    includeSubdepartments: Boolean(e.includeSubdepartments),
    level: e.level,
    export: Boolean(e.export),
  }));

export interface EffectiveEntry {
  entry: PlainAccessEntry;
  source: AccessSource;
}

export interface AccessTree {
  libraries: { id: string; name: string; entries: PlainAccessEntry[] }[];
  folders: { id: string; libraryId: string; parentId: string | null; name: string; inheritsAccess: boolean; entries: PlainAccessEntry[] }[];
}

type StoredLibrary = { _id: unknown; name: string; accessEntries?: StoredEntry[] | null };
type StoredFolder = { _id: unknown; libraryId: unknown; parentId?: unknown; name: string; inheritsAccess?: boolean | null; accessEntries?: StoredEntry[] | null };

/** The tree of libraries and folders with their entries, from documents as stored. */
export function accessTreeOf(libraries: StoredLibrary[], folders: StoredFolder[]): AccessTree {
  return {
    libraries: libraries.map((l) => ({ id: String(l._id), name: l.name, entries: plainEntries(l.accessEntries) })),
    folders: folders.map((f) => ({
      id: String(f._id),
      libraryId: String(f.libraryId),
      parentId: f.parentId ? String(f.parentId) : null,
      name: f.name,
      inheritsAccess: f.inheritsAccess !== false,
      entries: plainEntries(f.accessEntries),
    })),
  };
}

/** Who a user is, for matching entries: themselves, their department (and its ancestors), their groups. */
export interface Principal {
  userId: string;
  departmentId: string;
  /** Ancestors of the user's department, nearest first (not including it). */
  departmentAncestorIds: string[];
  groupIds: string[];
}

export const LEVEL_RANK: Record<AccessLevel, number> = { read: 1, edit: 2, full: 3 };

export function higherLevel(a: AccessLevel | undefined, b: AccessLevel): AccessLevel {
  return a && LEVEL_RANK[a] >= LEVEL_RANK[b] ? a : b;
}

/**
 * Every folder's entries in force: its own, plus (while it inherits) those of its parent
 * folder, or of its library for a top-level folder.
 */
export function effectiveEntriesByFolder(tree: AccessTree): Map<string, EffectiveEntry[]> {
  const libraries = new Map(tree.libraries.map((l) => [l.id, l]));
  const folders = new Map(tree.folders.map((f) => [f.id, f]));
  const result = new Map<string, EffectiveEntry[]>();
  const visiting = new Set<string>();

  const resolve = (folderId: string): EffectiveEntry[] => {
    const known = result.get(folderId);
    if (known) return known;
    const folder = folders.get(folderId);
    if (!folder || visiting.has(folderId)) return [];
    visiting.add(folderId);
    const source: AccessSource = { kind: 'folder', id: folder.id, name: folder.name };
    const own = folder.entries.map((entry) => ({ entry, source }));
    let inherited: EffectiveEntry[] = [];
    if (folder.inheritsAccess) {
      if (folder.parentId && folders.has(folder.parentId)) {
        inherited = resolve(folder.parentId);
      } else {
        const library = libraries.get(folder.libraryId);
        if (library) {
          const librarySource: AccessSource = { kind: 'library', id: library.id, name: library.name };
          inherited = library.entries.map((entry) => ({ entry, source: librarySource }));
        }
      }
    }
    const entries = [...own, ...inherited];
    visiting.delete(folderId);
    result.set(folderId, entries);
    return entries;
  };

  for (const folder of tree.folders) resolve(folder.id);
  return result;
}

export function entryMatches(entry: PlainAccessEntry, principal: Principal): boolean {
  switch (entry.principalType) {
    case 'user':
      return entry.principalId === principal.userId;
    case 'group':
      return principal.groupIds.includes(entry.principalId);
    case 'department':
      return entry.principalId === principal.departmentId || (entry.includeSubdepartments && principal.departmentAncestorIds.includes(entry.principalId));
  }
}

/** The user's level on every folder they can reach at all (absent = no access). */
export function folderLevelsFor(tree: AccessTree, principal: Principal): Map<string, AccessLevel> {
  const levels = new Map<string, AccessLevel>();
  for (const [folderId, entries] of effectiveEntriesByFolder(tree)) {
    let level: AccessLevel | undefined;
    for (const { entry } of entries) {
      if (entryMatches(entry, principal)) level = higherLevel(level, entry.level);
    }
    if (level) levels.set(folderId, level);
  }
  return levels;
}
