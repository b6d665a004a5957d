import { buildAbility, type AppAbility } from './ability';
import {
  accessWritesSeen,
  isLatestAccessVersion,
  latestKnownAccessVersion,
  onAccessVersionMoved,
  profileChangesSince,
  resetAccessVersion,
  storedAccessVersion,
  versionRequestMustSee,
  type AccessVersion,
} from './changes';
import { LEVEL_RANK, plainEntries, type AccessSource, type EffectiveEntry, type PlainAccessEntry, type Principal, type StoredEntry } from './effective-access';
import {
  Department,
  Folder,
  Group,
  Library,
  User,
  USER_PROFILE_FIELDS,
  type AccessLevel,
  type DepartmentDoc,
  type FolderDoc,
  type GroupDoc,
  type LibraryDoc,
  type UserDoc,
} from './structure';

/** A user as the snapshot keeps them: everything but the password hash. */
export type SnapshotUser = Omit<UserDoc, 'passwordHash'>;

/** What a user may do, computed once per snapshot and user. */
export interface UserAccess {
  isAdmin: boolean;
  isHistoryReader: boolean;
  /** A member of the system group «Доверенные лица (экспорт)»: exports wherever they read. */
  isExporter: boolean;
  principal: Principal;
  /** The user's level on every folder they can reach at all (absent = no access). */
  folderLevels: Map<string, AccessLevel>;
  /** Folders where an entry naming the user grants «Экспорт» (the system group's members and administrators export everywhere they read). */
  exportFolderIds: Set<string>;
  visibleLibraryIds: string[];
  ability: AppAbility;
}

interface IndexedEntry {
  kind: 'folder' | 'library';
  id: string;
  entry: PlainAccessEntry;
}

const RANK_LEVEL: AccessLevel[] = ['read', 'read', 'edit', 'full'];

/**
 * Everything access decisions depend on — libraries, folders, their entries, the department tree,
 * groups and users — loaded in one go at a version of the access structure. Per-user access is
 * computed from it on first use and memoised until the next version.
 */
export class AccessSnapshot {
  readonly libraries: Map<string, LibraryDoc>;
  readonly folders: Map<string, FolderDoc>;
  readonly departments: Map<string, DepartmentDoc>;
  readonly groups: GroupDoc[];
  readonly users: Map<string, SnapshotUser>;
  /** Libraries and folders in display order (order, then name). */
  readonly orderedLibraries: LibraryDoc[];
  readonly orderedFolders: FolderDoc[];
  readonly foldersByLibrary = new Map<string, string[]>();
  /** Folders that inherit from a folder (key: its id) or from a library (key: `library:<id>`). */
  private readonly children = new Map<string, string[]>();
  /** Entries by the principal they name (`user:<id>`, `group:<id>`, `department:<id>`). */
  private readonly entriesByPrincipal = new Map<string, IndexedEntry[]>();
  private readonly groupsOfUser = new Map<string, GroupDoc[]>();
  private readonly access = new Map<string, UserAccess>();
  /** The people counter its users' profile fields are at (refreshProfiles moves it). */
  private profilesAt: number;

  constructor(
    readonly version: AccessVersion,
    data: { libraries: LibraryDoc[]; folders: FolderDoc[]; departments: DepartmentDoc[]; groups: GroupDoc[]; users: SnapshotUser[] },
  ) {
    this.profilesAt = version.people;
    this.orderedLibraries = data.libraries;
    this.orderedFolders = data.folders;
    this.libraries = new Map(data.libraries.map((l) => [String(l._id), l]));
    this.folders = new Map(data.folders.map((f) => [String(f._id), f]));
    this.departments = new Map(data.departments.map((d) => [String(d._id), d]));
    this.groups = data.groups;
    this.users = new Map(data.users.map((u) => [String(u._id), u]));
    for (const library of data.libraries) {
      this.foldersByLibrary.set(String(library._id), []);
      this.index('library', String(library._id), library.accessEntries as StoredEntry[]);
    }
    for (const folder of data.folders) {
      const id = String(folder._id);
      const parent = folder.parentId && this.folders.has(String(folder.parentId)) ? String(folder.parentId) : `library:${String(folder.libraryId)}`;
      if (folder.inheritsAccess !== false) this.push(this.children, parent, id);
      this.push(this.foldersByLibrary, String(folder.libraryId), id);
      this.index('folder', id, folder.accessEntries as StoredEntry[]);
    }
    for (const group of data.groups) for (const member of group.memberIds) this.push(this.groupsOfUser, String(member), group);
  }

  /** The people counter its users' profile fields are at. */
  get profilesVersion(): number {
    return this.profilesAt;
  }

  /** Whether its users' profile fields are as recent as the latest known people counter. */
  profilesCurrent(): boolean {
    return this.profilesAt >= latestKnownAccessVersion().people;
  }

  /**
   * Takes users' profile fields as read at people counter `at`; everything access depends on stays as
   * loaded (a user's department, activity, allow-list), so what was computed from it still holds.
   */
  takeProfiles(profiles: readonly Pick<SnapshotUser, '_id' | ProfileField>[], at: number): void {
    for (const profile of profiles) {
      const id = String(profile._id);
      const user = this.users.get(id);
      if (user) this.users.set(id, { ...user, ...profile });
    }
    this.profilesAt = Math.max(this.profilesAt, at);
  }

  private push<T>(map: Map<string, T[]>, key: string, value: T): void {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  }

  private index(kind: IndexedEntry['kind'], id: string, entries: StoredEntry[] | undefined): void {
    for (const entry of plainEntries(entries)) this.push(this.entriesByPrincipal, `${entry.principalType}:${entry.principalId}`, { kind, id, entry });
  }

  /** Ancestors of a department, nearest first. */
  departmentAncestors(departmentId: string): string[] {
    const ancestors: string[] = [];
    let current = this.departments.get(departmentId)?.parentId;
    while (current && !ancestors.includes(String(current))) {
      ancestors.push(String(current));
      current = this.departments.get(String(current))?.parentId;
    }
    return ancestors;
  }

  /** A folder's entries in force: its own, then (while it inherits) its parent's, or its library's at the top. */
  effectiveEntries(folderId: string): EffectiveEntry[] {
    const result: EffectiveEntry[] = [];
    const seen = new Set<string>();
    let folder = this.folders.get(folderId);
    while (folder && !seen.has(String(folder._id))) {
      seen.add(String(folder._id));
      const source: AccessSource = { kind: 'folder', id: String(folder._id), name: folder.name };
      for (const entry of plainEntries(folder.accessEntries as StoredEntry[])) result.push({ entry, source });
      if (folder.inheritsAccess === false) break;
      const parent: FolderDoc | undefined = folder.parentId ? this.folders.get(String(folder.parentId)) : undefined;
      if (!parent) {
        const library = this.libraries.get(String(folder.libraryId));
        const librarySource: AccessSource | null = library ? { kind: 'library', id: String(library._id), name: library.name } : null;
        if (library && librarySource) for (const entry of plainEntries(library.accessEntries as StoredEntry[])) result.push({ entry, source: librarySource });
      }
      folder = parent;
    }
    return result;
  }

  /**
   * Where the user would gain «Экспорт» if a folder sat at `place` (another parent or library, or
   * inheriting again): the id of the first such folder in its subtree, else null. Only the folder's
   * inheriting subtree is pushed down again — from `place` and the user's own entries, by the rules
   * that decide it now — so the cost is the user's entries and the folders under them.
   */
  exportGainIfPlaced(userId: string, folderId: string, place: { parentId: string | null; libraryId: string; inherits: boolean }): string | null {
    const access = this.accessOf(userId);
    if (!access || access.isAdmin) return null;
    // The system group's members export wherever they read: their «Экспорт» follows their level.
    const exporter = (this.groupsOfUser.get(userId) ?? []).some((g) => g.systemRole === 'exporters');
    const rankOf = exporter ? (entry: PlainAccessEntry) => LEVEL_RANK[entry.level] : (entry: PlainAccessEntry) => (entry.export ? 1 : 0);
    const exportsNow = (id: string) => (exporter ? access.folderLevels.has(id) : access.exportFolderIds.has(id));
    let inherited = 0;
    if (place.inherits && place.parentId) inherited = exportsNow(place.parentId) ? 1 : 0;
    else if (place.inherits) {
      for (const { kind, id, entry } of this.matchingEntries(access.principal)) if (kind === 'library' && id === place.libraryId) inherited = Math.max(inherited, rankOf(entry));
    }
    // The folder no longer inherits from where it is now: its old parent's or library's rank is not pushed into it.
    const stack = this.entrySeeds(access.principal, rankOf, folderId);
    stack.push([folderId, inherited]);
    const after = this.pushDown(stack, new Map(), folderId);
    for (const [id, rank] of after) if (rank > 0 && !exportsNow(id)) return id;
    return null;
  }

  /** Position of a folder in display order, for sorting a subset without comparing names again. */
  folderPosition(folderId: string): number {
    this.positions ??= new Map(this.orderedFolders.map((f, i) => [String(f._id), i]));
    return this.positions.get(folderId) ?? Number.MAX_SAFE_INTEGER;
  }
  private positions: Map<string, number> | undefined;

  /** Who the user is for matching entries: themselves, their department chain, their groups. */
  principalOf(userId: string): Principal | null {
    const user = this.users.get(userId);
    if (!user) return null;
    return {
      userId,
      departmentId: String(user.departmentId),
      departmentAncestorIds: this.departmentAncestors(String(user.departmentId)),
      groupIds: (this.groupsOfUser.get(userId) ?? []).map((g) => String(g._id)),
    };
  }

  /** The user's access, memoised on this snapshot; null for an unknown user. */
  accessOf(userId: string): UserAccess | null {
    const known = this.access.get(userId);
    if (known) return known;
    const principal = this.principalOf(userId);
    if (!principal) return null;
    const groups = this.groupsOfUser.get(userId) ?? [];
    const isAdmin = groups.some((g) => g.systemRole === 'administrators');
    const historyReader = groups.some((g) => g.systemRole === 'history-readers');
    const exporter = groups.some((g) => g.systemRole === 'exporters');
    const folderLevels = isAdmin ? new Map([...this.folders.keys()].map((id) => [id, 'full' as AccessLevel])) : this.levelsOf(principal);
    const exportFolderIds = isAdmin || exporter ? new Set<string>() : new Set(this.spread(principal, (entry) => (entry.export ? 1 : 0)).keys());
    const visibleLibraryIds = isAdmin ? [...this.libraries.keys()] : this.visibleLibraries(principal, folderLevels);
    const access: UserAccess = {
      isAdmin,
      isHistoryReader: isAdmin || historyReader,
      isExporter: exporter,
      principal,
      folderLevels,
      exportFolderIds,
      visibleLibraryIds,
      ability: buildAbility({
        isAdmin,
        isHistoryReader: historyReader,
        isExporter: exporter,
        folderLevels,
        exportFolderIds,
        visibleLibraryIds,
        foldersByLibrary: this.foldersByLibrary,
        libraryOf: (folderId) => {
          const folder = this.folders.get(folderId);
          return folder ? String(folder.libraryId) : undefined;
        },
      }),
    };
    this.access.set(userId, access);
    return access;
  }

  /** Entries naming this principal: the user, their groups, their department, and ancestors whose entries include sub-departments. */
  private matchingEntries(principal: Principal): IndexedEntry[] {
    const found: IndexedEntry[] = [];
    const add = (key: string, subdepartmentsOnly: boolean) => {
      for (const indexed of this.entriesByPrincipal.get(key) ?? []) if (!subdepartmentsOnly || indexed.entry.includeSubdepartments) found.push(indexed);
    };
    add(`user:${principal.userId}`, false);
    for (const groupId of principal.groupIds) add(`group:${groupId}`, false);
    add(`department:${principal.departmentId}`, false);
    for (const ancestor of principal.departmentAncestorIds) add(`department:${ancestor}`, true);
    return found;
  }

  /** Levels: the highest rank of the entries naming the user, pushed down the folders that inherit. */
  private levelsOf(principal: Principal): Map<string, AccessLevel> {
    return new Map([...this.spread(principal, (entry) => LEVEL_RANK[entry.level])].map(([id, rank]) => [id, RANK_LEVEL[rank]]));
  }

  /**
   * Pushes each matching entry's rank (`rankOf`; 0 grants nothing) down the folders that inherit
   * from where it is written, keeping the highest per folder: the work is the entries that name the
   * user and the folders under them, not every folder.
   */
  private spread(principal: Principal, rankOf: (entry: PlainAccessEntry) => number): Map<string, number> {
    return this.pushDown(this.entrySeeds(principal, rankOf), new Map());
  }

  /** Where the matching entries start pushing their rank down: their folder, or the top folders of their library (`detached` left out). */
  private entrySeeds(principal: Principal, rankOf: (entry: PlainAccessEntry) => number, detached?: string): [string, number][] {
    const stack: [string, number][] = [];
    for (const { kind, id, entry } of this.matchingEntries(principal)) {
      const rank = rankOf(entry);
      if (rank === 0) continue;
      if (kind === 'folder') {
        if (this.folders.has(id)) stack.push([id, rank]);
      } else {
        for (const child of this.children.get(`library:${id}`) ?? []) if (child !== detached) stack.push([child, rank]);
      }
    }
    return stack;
  }

  /** Pushes the ranks on `stack` down the folders that inherit, keeping the highest per folder (`detached`: not entered from its parent). */
  private pushDown(stack: [string, number][], ranks: Map<string, number>, detached?: string): Map<string, number> {
    while (stack.length > 0) {
      const [folderId, rank] = stack.pop()!;
      if ((ranks.get(folderId) ?? 0) >= rank) continue;
      ranks.set(folderId, rank);
      for (const child of this.children.get(folderId) ?? []) if (child !== detached) stack.push([child, rank]);
    }
    return ranks;
  }

  /** Libraries a user sees: those with a folder they can read, or an entry of their own on the library. */
  private visibleLibraries(principal: Principal, levels: Map<string, AccessLevel>): string[] {
    const visible = new Set<string>();
    for (const folderId of levels.keys()) {
      const folder = this.folders.get(folderId);
      if (folder) visible.add(String(folder.libraryId));
    }
    for (const { kind, id } of this.matchingEntries(principal)) if (kind === 'library' && this.libraries.has(id)) visible.add(id);
    return [...visible];
  }
}

// ---------- the instance's current snapshot ----------

type ProfileField = Exclude<(typeof USER_PROFILE_FIELDS)[number], 'passwordHash'>;
const PROFILE_PROJECTION = Object.fromEntries(USER_PROFILE_FIELDS.filter((field) => field !== 'passwordHash').map((field) => [field, 1]));

let current: AccessSnapshot | null = null;
let loading: Promise<AccessSnapshot> | null = null;
let refreshing: Promise<void> | null = null;
let loads = 0;
/** Which database the snapshot is of (forgetAccessSnapshot moves it): a load begun before keeps out. */
let generation = 0;
/** Since when `current` may no longer be the latest: the last moment its version was proven current (null while it is the latest known). */
let supersededAt: number | null = null;
/** How long the last two whole loads took. */
let loadMs: [number, number] = [0, 0];

/**
 * A change is in force within a second (#12): while the new snapshot builds, requests may be
 * answered from the previous one until a second after its version was last proven current (a read
 * of the counter, every 250 ms), no longer — whether the change was heard over the bus or by the poll.
 */
const PREVIOUS_SNAPSHOT_GRACE_MS = 1000;
/**
 * A snapshot is waited for unless its last two loads both took this long (10,000 folders: 1.4 s and
 * more): a small installation sees every change at once, and one load slowed by a busy moment
 * changes nothing.
 */
const SLOW_LOAD_MS = 500;

onAccessVersionMoved((previousProvenAt) => {
  if (current && supersededAt === null && !isLatestAccessVersion(current.version)) supersededAt = previousProvenAt;
});

/** How many times this process loaded the access snapshot whole (the /metrics counter). */
export const accessSnapshotLoads = (): number => loads;

async function load(): Promise<AccessSnapshot> {
  loads += 1;
  // The version first: a change that lands while the rest loads moves the counter past it.
  const version = await storedAccessVersion();
  const [libraries, folders, departments, groups, users] = await Promise.all([
    Library.find().sort({ order: 1, name: 1 }).lean<LibraryDoc[]>(),
    Folder.find().sort({ order: 1, name: 1 }).lean<FolderDoc[]>(),
    Department.find().lean<DepartmentDoc[]>(),
    Group.find().lean<GroupDoc[]>(),
    User.find({}, { passwordHash: 0 }).lean<SnapshotUser[]>(),
  ]);
  return new AccessSnapshot(version, { libraries, folders, departments, groups, users });
}

/** The load under way, or a new one (once, however many ask): it becomes the current snapshot as it ends. */
function loadingSnapshot(): Promise<AccessSnapshot> {
  if (loading) return loading;
  const startedAt = performance.now();
  const of = generation;
  const loaded: Promise<AccessSnapshot> = load()
    .then((snapshot) => {
      if (of !== generation) return snapshot;
      current = snapshot;
      loadMs = [loadMs[1], performance.now() - startedAt];
      // A change heard while it loaded came after its version was read (proven then): it may be superseded since.
      supersededAt = isLatestAccessVersion(snapshot.version) ? null : startedAt;
      accessWritesSeen(snapshot.version.value);
      return snapshot;
    })
    .finally(() => {
      if (loading === loaded) loading = null;
    });
  loading = loaded;
  // A request answered from the previous snapshot does not wait for this load: its failure reaches the next who does.
  loaded.catch(() => undefined);
  return loaded;
}

/**
 * Whether the running code may be answered from `snapshot` while its successor loads: a request
 * (not a job or a live stream's event) that wrote no access since — neither it nor earlier requests
 * of its session on this instance — on an installation whose snapshot takes long to load, within
 * PREVIOUS_SNAPSHOT_GRACE_MS of its version's last proof, and never across a restore.
 */
function mayAnswerFromPrevious(snapshot: AccessSnapshot): boolean {
  const mustSee = versionRequestMustSee();
  const latest = latestKnownAccessVersion();
  return (
    mustSee !== null &&
    mustSee <= snapshot.version.value &&
    Math.min(...loadMs) >= SLOW_LOAD_MS &&
    supersededAt !== null &&
    performance.now() - supersededAt <= PREVIOUS_SNAPSHOT_GRACE_MS &&
    snapshot.version.epoch === latest.epoch &&
    Number.isFinite(latest.value)
  );
}

/**
 * The current snapshot: reloaded (once, however many requests wait) when the access version has
 * moved past it — through this instance's own writes, the bus, or the poll in watch.ts. While it
 * reloads, a request may be answered from the previous one for a bounded time (mayAnswerFromPrevious).
 */
export function accessSnapshot(): Promise<AccessSnapshot> {
  return snapshotNow(true);
}

async function snapshotNow(previousWillDo: boolean): Promise<AccessSnapshot> {
  for (;;) {
    if (!current || !isLatestAccessVersion(current.version)) {
      const loaded = loadingSnapshot();
      if (previousWillDo && current && mayAnswerFromPrevious(current)) return current;
      await loaded;
    } else if (!current.profilesCurrent()) {
      refreshing ??= refreshProfiles(current).finally(() => {
        refreshing = null;
      });
      await refreshing;
    } else {
      return current;
    }
  }
}

/**
 * Users' profile fields read again into the snapshot (a read of users, not of folders): of the users
 * changed since the snapshot's people counter, all of them when the counter's record cannot name them.
 */
async function refreshProfiles(snapshot: AccessSnapshot): Promise<void> {
  // The counter first: a change that lands while the users are read moves it past this.
  const { version, userIds } = await profileChangesSince(snapshot.profilesVersion);
  const changed = userIds ? { _id: { $in: userIds } } : {};
  snapshot.takeProfiles(await User.find(changed, PROFILE_PROJECTION).lean<Pick<SnapshotUser, '_id' | ProfileField>[]>(), version.people);
}

/**
 * The snapshot after asking MongoDB for the current version, never the previous one: for what a
 * stale snapshot cannot answer at all (a user created a moment ago, here or through another instance).
 */
export async function checkedAccessSnapshot(): Promise<AccessSnapshot> {
  await storedAccessVersion();
  return snapshotNow(false);
}

/** Forgets the snapshot (a new database was opened). */
export function forgetAccessSnapshot(): void {
  generation += 1;
  current = null;
  loading = null;
  refreshing = null;
  supersededAt = null;
  loadMs = [0, 0];
  resetAccessVersion();
}
