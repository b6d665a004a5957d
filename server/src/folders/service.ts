import mongoose, { Types, type ClientSession, type UpdateWithAggregationPipeline } from 'mongoose';
import { folderSubject, librarySubject } from '../access/ability';
import { accessStructureChanged } from '../access/changes';
import { chainLeadsBack } from '../access/structure';
import type { Actor } from '../access/actor';
import { entryMatches, higherLevel, plainEntries, type PlainAccessEntry, type StoredEntry } from '../access/effective-access';
import { accessSnapshot, checkedAccessSnapshot } from '../access/snapshot';
import { recordAudit } from '../audit/service';
import { listCardTypes } from '../card-types/registry';
import { AppError, forbidden, notFound } from '../errors';
import { message, type Locale } from '../i18n';
import { auditActorOf } from '../people/service';
import { FieldErrors } from '../validation';
import { ACCESS_LEVELS, Folder, Library, type AccessEntry, type AccessLevel, type FolderDoc, type LibraryDoc, type PrincipalType } from './models';

const what = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

/**
 * Other modules (cards, imports) say here whether a folder is in use, so a folder is only deleted
 * when empty without this module knowing about cards: false, true (it holds something: «Папка не
 * пуста»), or what uses it in the words of `locale` (an import under way into it, named).
 */
type FolderUsageCheck = (folderId: Types.ObjectId, locale: Locale) => Promise<boolean | string>;
const folderUsageChecks = new Set<FolderUsageCheck>();
export function registerFolderUsageCheck(check: FolderUsageCheck): void {
  folderUsageChecks.add(check);
}

/** Likewise, what folders hold follows them into another library, inside the move's transaction. */
type LibraryChangeStep = (folderIds: Types.ObjectId[], libraryId: Types.ObjectId, session: ClientSession) => Promise<void>;
const libraryChangeSteps = new Set<LibraryChangeStep>();
export function registerLibraryChangeStep(step: LibraryChangeStep): void {
  libraryChangeSteps.add(step);
}

/** What the folders hold records `libraryId` (the registered steps), inside `session`'s transaction: a move's, or an import's that wrote around one. */
export async function followLibrary(folderIds: Types.ObjectId[], libraryId: Types.ObjectId, session: ClientSession): Promise<void> {
  for (const step of libraryChangeSteps) await step(folderIds, libraryId, session);
}

// ---------- reading ----------

// Libraries and folders are read from the access snapshot (server/src/access/snapshot.ts): no
// database round trip, and the same version of the tree the actor's permissions come from.

/** Libraries the actor may see, in display order. */
export async function listLibraries(actor: Actor): Promise<LibraryDoc[]> {
  const { orderedLibraries } = await accessSnapshot();
  return orderedLibraries.filter((library) => actor.ability.can('read', librarySubject(String(library._id))));
}

export async function findLibrary(actor: Actor, id: string): Promise<LibraryDoc | null> {
  const library = (await accessSnapshot()).libraries.get(id);
  return library && actor.ability.can('read', librarySubject(id)) ? library : null;
}

/** Folders the actor may read, in display order: all of them, or those of one library. */
export async function listFolders(actor: Actor, libraryId?: string): Promise<FolderDoc[]> {
  const snapshot = await accessSnapshot();
  // The candidates are the folders the actor has a level on (or one library's), not every folder.
  const candidates = libraryId
    ? (snapshot.foldersByLibrary.get(libraryId) ?? [])
    : [...actor.folderLevels.keys()].sort((a, b) => snapshot.folderPosition(a) - snapshot.folderPosition(b));
  const folders: FolderDoc[] = [];
  for (const id of candidates) {
    const folder = snapshot.folders.get(id);
    if (folder && actor.ability.can('read', folderSubject(folder))) folders.push(folder);
  }
  return folders;
}

/** A folder the actor may read; null both when it does not exist and when it is hidden from them. */
export async function findFolder(actor: Actor, id: string): Promise<FolderDoc | null> {
  const folder = (await accessSnapshot()).folders.get(id);
  return folder && actor.ability.can('read', folderSubject(folder)) ? folder : null;
}

async function folderForChange(actor: Actor, id: string, action: 'update' | 'manageAccess'): Promise<FolderDoc & { save?: never }> {
  const folder = await findFolder(actor, id);
  if (!folder) throw notFound(actor, what(actor, 'Папка', 'Folder'));
  if (!actor.ability.can(action, folderSubject(folder))) {
    throw forbidden(
      actor,
      action === 'manageAccess' ? what(actor, 'управление доступом к папке', 'managing folder access') : what(actor, 'изменение папки', 'changing the folder'),
    );
  }
  return folder;
}

// ---------- libraries (administrators) ----------

function requireAdminActor(actor: Actor): void {
  if (!actor.isAdmin) throw new AppError('FORBIDDEN', message(actor.locale, 'adminOnly'));
}

export async function createLibrary(actor: Actor, input: { name: string; order?: number | null }) {
  requireAdminActor(actor);
  const errors = new FieldErrors(actor.locale);
  const name = errors.text('name', input.name);
  errors.throwIfAny();
  const order = input.order ?? (await Library.countDocuments());
  const library = await Library.create({ name, order });
  await recordAudit(auditActorOf(actor), { kind: 'library-created', targetType: 'Library', targetId: String(library._id), after: { name } });
  return library.toObject() as LibraryDoc;
}

export async function updateLibrary(actor: Actor, id: string, input: { name?: string | null; order?: number | null }) {
  requireAdminActor(actor);
  const library = Types.ObjectId.isValid(id) ? await Library.findById(id) : null;
  if (!library) throw notFound(actor, what(actor, 'Библиотека', 'Library'));
  const errors = new FieldErrors(actor.locale);
  const before = { name: library.name, order: library.order };
  if (input.name !== undefined) library.name = errors.text('name', input.name);
  if (input.order !== undefined && input.order !== null) library.order = input.order;
  errors.throwIfAny();
  await library.save();
  await recordAudit(auditActorOf(actor), { kind: 'library-updated', targetType: 'Library', targetId: id, before, after: { name: library.name, order: library.order } });
  return library.toObject() as LibraryDoc;
}

export async function deleteLibrary(actor: Actor, id: string): Promise<boolean> {
  requireAdminActor(actor);
  if (!Types.ObjectId.isValid(id)) return false;
  if (await Folder.exists({ libraryId: id })) throw new AppError('BAD_USER_INPUT', message(actor.locale, 'libraryNotEmpty'));
  const deleted = await Library.findByIdAndDelete(id).lean();
  if (deleted) await recordAudit(auditActorOf(actor), { kind: 'library-deleted', targetType: 'Library', targetId: id, before: { name: deleted.name } });
  return Boolean(deleted);
}

// ---------- folders ----------

export interface FolderInput {
  libraryId?: string | null;
  parentId?: string | null;
  name?: string | null;
  order?: number | null;
  allowedCardTypes?: string[] | null;
  defaultCardType?: string | null;
}

/** Card type keys an administrator sends for a folder: known types only, a bounded list. */
async function checkCardTypes(errors: FieldErrors, input: FolderInput, allowed: string[], defaultType: string | null): Promise<void> {
  const known = new Set((await listCardTypes()).map((type) => type.key));
  const unknown = (key: string) => !known.has(key);
  const shown = (key: string) => (key.length > 64 ? `${key.slice(0, 64)}…` : key);
  if ((input.allowedCardTypes ?? []).length > known.size) errors.add('allowedCardTypes', 'tooMany', { max: known.size });
  const stranger = (input.allowedCardTypes ?? []).find(unknown);
  if (stranger !== undefined) errors.add('allowedCardTypes', 'unknownCardType', { key: shown(stranger) });
  if (input.defaultCardType && unknown(input.defaultCardType)) errors.add('defaultCardType', 'unknownCardType', { key: shown(input.defaultCardType) });
  if (defaultType && allowed.length > 0 && !allowed.includes(defaultType)) errors.add('defaultCardType', 'invalidInput');
}

/** Top-level folders: administrators; sub-folders: also users with full access to the parent. */
export async function createFolder(actor: Actor, input: FolderInput) {
  const errors = new FieldErrors(actor.locale);
  const name = errors.text('name', input.name);
  let libraryId = input.libraryId && Types.ObjectId.isValid(input.libraryId) ? new Types.ObjectId(input.libraryId) : null;
  let parentId: Types.ObjectId | null = null;
  if (input.parentId) {
    const parent = await findFolder(actor, input.parentId);
    if (!parent) throw notFound(actor, what(actor, 'Папка', 'Folder'));
    if (!actor.ability.can('create', folderSubject({ _id: 'new', libraryId: parent.libraryId, parentId: parent._id })))
      throw forbidden(actor, what(actor, 'создание папки', 'creating a folder'));
    parentId = parent._id;
    libraryId = parent.libraryId;
  } else {
    requireAdminActor(actor);
    if (!libraryId || !(await Library.exists({ _id: libraryId }))) errors.add('libraryId', 'notFound', { what: what(actor, 'Библиотека', 'Library') });
  }
  const allowedCardTypes = input.allowedCardTypes ?? [];
  const defaultCardType = input.defaultCardType ?? allowedCardTypes[0] ?? null;
  await checkCardTypes(errors, input, allowedCardTypes, defaultCardType);
  errors.throwIfAny();
  if (!libraryId) throw new Error('unreachable: libraryId was validated');
  const requestedLibraryId = libraryId;
  const folder = await mongoose.connection.transaction(async (session) => {
    let placeIn = requestedLibraryId;
    if (parentId) {
      // The parent's library as this transaction reads it, with that library's tree revision moved: a
      // move of the parent to another library at the same time moves it too, so of the two the second
      // conflicts, is retried, and the sub-folder ends in the library its parent is in (s15 B3).
      const parent = await Folder.findById(parentId, { libraryId: 1 }).session(session).lean();
      if (!parent) throw notFound(actor, what(actor, 'Папка', 'Folder'));
      placeIn = parent.libraryId;
      await Library.updateOne({ _id: placeIn }, { $inc: { treeRevision: 1 } }, { session, timestamps: false });
    }
    const order = input.order ?? (await Folder.countDocuments({ libraryId: placeIn, parentId }).session(session));
    const [created] = await Folder.create([{ libraryId: placeIn, parentId, name, order, allowedCardTypes, defaultCardType }], { session });
    return created;
  });
  // After the commit: other instances load the tree as committed (see access/changes.ts).
  await accessStructureChanged();
  await recordAudit(auditActorOf(actor), {
    kind: 'folder-created',
    targetType: 'Folder',
    targetId: String(folder._id),
    after: { name, libraryId: String(folder.libraryId), parentId: parentId && String(parentId) },
  });
  return folder.toObject() as FolderDoc;
}

export async function updateFolder(actor: Actor, id: string, input: FolderInput) {
  await folderForChange(actor, id, 'update');
  const folder = await Folder.findById(id);
  if (!folder) throw notFound(actor, what(actor, 'Папка', 'Folder'));
  const before = { name: folder.name, order: folder.order, allowedCardTypes: [...folder.allowedCardTypes], defaultCardType: folder.defaultCardType };
  const errors = new FieldErrors(actor.locale);
  if (input.name !== undefined) folder.name = errors.text('name', input.name);
  if (input.order !== undefined && input.order !== null) folder.order = input.order;
  if (input.allowedCardTypes !== undefined) folder.allowedCardTypes = input.allowedCardTypes ?? [];
  if (input.defaultCardType !== undefined) folder.defaultCardType = input.defaultCardType ?? null;
  await checkCardTypes(errors, input, folder.allowedCardTypes, folder.defaultCardType ?? null);
  errors.throwIfAny();
  await folder.save();
  await recordAudit(auditActorOf(actor), {
    kind: 'folder-updated',
    targetType: 'Folder',
    targetId: id,
    before,
    after: { name: folder.name, order: folder.order, allowedCardTypes: [...folder.allowedCardTypes], defaultCardType: folder.defaultCardType },
  });
  return folder.toObject() as FolderDoc;
}

/** A principal's name as people read it: a user's full name, a department's or group's name (from the access snapshot: no query). */
export function principalName(snapshot: Awaited<ReturnType<typeof accessSnapshot>>, entry: PlainAccessEntry): string {
  if (entry.principalType === 'user') return snapshot.users.get(entry.principalId)?.fullName ?? '';
  if (entry.principalType === 'department') return snapshot.departments.get(entry.principalId)?.name ?? '';
  return snapshot.groups.find((g) => String(g._id) === entry.principalId)?.name ?? '';
}

/** The entries carrying «Экспорт» in `entries` that none of `held` already grants (same principal, as wide). */
function newExportEntries(entries: PlainAccessEntry[], held: PlainAccessEntry[]): PlainAccessEntry[] {
  const covered = (entry: PlainAccessEntry) =>
    held.some((h) => h.export && h.principalType === entry.principalType && h.principalId === entry.principalId && (h.includeSubdepartments || !entry.includeSubdepartments));
  return entries.filter((entry) => entry.export && !covered(entry));
}

/**
 * «Экспорт» is granted only by administrators, so a non-administrator may not hand it to anyone by
 * moving a folder or making it inherit again: refused when, with the folder at `place`, an entry
 * carrying «Экспорт» would reach it that does not reach it now (a department exporting the new
 * parent would export this folder's cards), or the actor could export from it or a folder below it
 * where they cannot now (whether or not its cards hold files).
 */
async function refuseExportGain(actor: Actor, folderId: string, place: { parentId: Types.ObjectId | null; libraryId: Types.ObjectId; inherits: boolean }): Promise<void> {
  if (actor.isAdmin) return;
  const snapshot = await accessSnapshot();
  const name = snapshot.folders.get(folderId)?.name ?? '';
  const gained = snapshot.exportGainIfPlaced(actor.userId, folderId, {
    parentId: place.parentId ? String(place.parentId) : null,
    libraryId: String(place.libraryId),
    inherits: place.inherits,
  });
  if (gained) {
    const below = gained === folderId ? null : (snapshot.folders.get(gained)?.name ?? '');
    throw forbidden(
      actor,
      what(
        actor,
        `папка «${name}» получила бы право «Экспорт», которое выдаёт только администратор (у вас его там нет${below === null ? '' : ` — в том числе на вложенную папку «${below}»`}); обратитесь к администратору`,
        `the folder “${name}” would gain the “Export” right, which only an administrator grants (you do not have it there${below === null ? '' : `, nor on its sub-folder “${below}”`}); ask an administrator`,
      ),
    );
  }
  if (!place.inherits) return;
  const incoming = place.parentId
    ? snapshot.effectiveEntries(String(place.parentId)).map(({ entry }) => entry)
    : plainEntries(snapshot.libraries.get(String(place.libraryId))?.accessEntries as StoredEntry[]);
  const [given] = newExportEntries(
    incoming,
    snapshot.effectiveEntries(folderId).map(({ entry }) => entry),
  );
  if (!given) return;
  const who = principalName(snapshot, given);
  throw forbidden(
    actor,
    what(
      actor,
      `папка «${name}» дала бы «${who}» право «Экспорт», которое выдаёт только администратор; обратитесь к администратору`,
      `the folder “${name}” would give “${who}” the “Export” right, which only an administrator grants; ask an administrator`,
    ),
  );
}

/** Moves a folder under another folder (or to the top of a library); needs full access on both sides. */
export async function moveFolder(actor: Actor, id: string, target: { parentId?: string | null; libraryId?: string | null; order?: number | null }) {
  await folderForChange(actor, id, 'update');
  const folder = await Folder.findById(id);
  if (!folder) throw notFound(actor, what(actor, 'Папка', 'Folder'));
  const before = { libraryId: String(folder.libraryId), parentId: folder.parentId ? String(folder.parentId) : null };
  let libraryId = folder.libraryId;
  let parentId: Types.ObjectId | null = null;
  if (target.parentId) {
    const parent = await findFolder(actor, target.parentId);
    if (!parent) throw notFound(actor, what(actor, 'Папка', 'Folder'));
    if (!actor.ability.can('create', folderSubject({ _id: id, libraryId: parent.libraryId, parentId: parent._id })))
      throw forbidden(actor, what(actor, 'перемещение в эту папку', 'moving into this folder'));
    parentId = parent._id;
    libraryId = parent.libraryId;
  } else {
    requireAdminActor(actor);
    if (target.libraryId) {
      if (!Types.ObjectId.isValid(target.libraryId) || !(await Library.exists({ _id: target.libraryId }))) throw notFound(actor, what(actor, 'Библиотека', 'Library'));
      libraryId = new Types.ObjectId(target.libraryId);
    }
  }
  await refuseExportGain(actor, id, { parentId, libraryId, inherits: folder.inheritsAccess !== false });
  folder.parentId = parentId;
  folder.libraryId = libraryId;
  folder.order = target.order ?? (await Folder.countDocuments({ libraryId, parentId }));
  await mongoose.connection.transaction(async (session) => {
    // Two moves that each checked the tree before the other wrote would both commit (A under B, B
    // under A): every move first moves the tree revision of the library it leaves and of the one it
    // enters on, so of two at once that share a library the second conflicts, is retried, and checks
    // the tree the first left (two moves crossing between two libraries share both).
    await Library.updateMany({ _id: { $in: [before.libraryId, libraryId] } }, { $inc: { treeRevision: 1 } }, { session, timestamps: false });
    if (parentId) await refuseCycle(actor, folder._id, parentId, session);
    await folder.save({ session });
    if (String(libraryId) === before.libraryId) return;
    // Sub-folders travel with their parent, and what they hold records its new library with them.
    const moved = [folder._id, ...(await descendantIds(folder._id, session))];
    await Folder.updateMany({ _id: { $in: moved.slice(1) } }, { $set: { libraryId } }, { session });
    await followLibrary(moved, libraryId, session);
  });
  // After the commit: other instances reload the tree as committed (see access/changes.ts).
  await accessStructureChanged();
  await recordAudit(auditActorOf(actor), {
    kind: 'folder-updated',
    targetType: 'Folder',
    targetId: id,
    summary: 'moved',
    before,
    after: { libraryId: String(libraryId), parentId: parentId && String(parentId) },
  });
  return folder.toObject() as FolderDoc;
}

/** Refuses to put `folderId` under `parentId` when that would hang it under itself (chainLeadsBack), reading the chain as the move's transaction sees it. */
async function refuseCycle(actor: Actor, folderId: Types.ObjectId, parentId: Types.ObjectId, session: ClientSession): Promise<void> {
  const parentOf = async (at: Types.ObjectId) => (await Folder.findById(at, { parentId: 1 }).session(session).lean())?.parentId ?? null;
  if (await chainLeadsBack(folderId, parentId, parentOf)) {
    throw new AppError('BAD_USER_INPUT', message(actor.locale, 'folderCycle'), { fields: { parentId: message(actor.locale, 'folderCycle') } });
  }
}

/** Every folder below `rootId`, each once (a stored cycle below it ends the walk rather than repeating it). */
async function descendantIds(rootId: Types.ObjectId, session: ClientSession): Promise<Types.ObjectId[]> {
  const seen = new Set([String(rootId)]);
  const found: Types.ObjectId[] = [];
  let frontier = [rootId];
  while (frontier.length > 0) {
    const children = await Folder.find({ parentId: { $in: frontier } }, { _id: 1 })
      .session(session)
      .lean();
    frontier = children.map((c) => c._id).filter((child) => !seen.has(String(child)));
    for (const child of frontier) seen.add(String(child));
    found.push(...frontier);
  }
  return found;
}

/** Deletes an empty folder (no sub-folders, nothing in it — cards go to the trash first). */
export async function deleteFolder(actor: Actor, id: string): Promise<boolean> {
  const folder = await folderForChange(actor, id, 'update');
  const uses = (await Folder.exists({ parentId: folder._id })) ? [true] : await Promise.all([...folderUsageChecks].map((check) => check(folder._id, actor.locale)));
  const refusal = uses.find((use): use is string => typeof use === 'string') ?? (uses.some(Boolean) ? message(actor.locale, 'folderNotEmpty') : null);
  if (refusal) throw new AppError('BAD_USER_INPUT', refusal);
  await Folder.deleteOne({ _id: folder._id });
  await recordAudit(auditActorOf(actor), { kind: 'folder-deleted', targetType: 'Folder', targetId: id, before: { name: folder.name } });
  return true;
}

// ---------- access entries ----------

export interface AccessEntryInput {
  principalType: PrincipalType;
  principalId: string;
  includeSubdepartments?: boolean | null;
  level: AccessLevel;
  /** «Экспорт» here; absent keeps what the principal's entry has now. Only administrators change it. */
  export?: boolean | null;
}

const PRINCIPAL_TYPES: readonly PrincipalType[] = ['user', 'department', 'group'];
/** Entries a folder or library may have at most (one per principal). */
const MAX_ENTRIES = 1000;

/**
 * Entries as stored, each naming a principal that exists — checked against the access snapshot
 * (asked for the current version first: a user created a moment ago elsewhere is known), not one
 * query per entry. `current` are the entries there now: an entry that does not say `export` keeps
 * the principal's flag, and only administrators may change it (a trusted right: someone with full
 * access to a folder cannot hand it out).
 */
async function checkEntries(
  actor: Actor,
  input: AccessEntryInput[],
  current: StoredEntry[] | null | undefined,
  pathOf = (index: number) => `entries.${index}`,
): Promise<AccessEntry[]> {
  // The entries carrying «Экспорт» now, by principal: whether each reaches sub-departments too.
  const exportsNow = new Map<string, boolean>(
    plainEntries(current).flatMap((entry) => (entry.export ? [[`${entry.principalType}:${entry.principalId}`, entry.includeSubdepartments] as const] : [])),
  );
  const errors = new FieldErrors(actor.locale);
  if (input.length > MAX_ENTRIES) {
    errors.add('entries', 'tooMany', { max: MAX_ENTRIES });
    errors.throwIfAny();
  }
  const snapshot = await checkedAccessSnapshot();
  const known: Record<PrincipalType, (id: string) => boolean> = {
    user: (id) => snapshot.users.has(id),
    department: (id) => snapshot.departments.has(id),
    group: (id) => snapshot.groups.some((group) => String(group._id) === id),
  };
  const entries: AccessEntry[] = [];
  for (const [index, entry] of input.entries()) {
    const valid = PRINCIPAL_TYPES.includes(entry.principalType) && Types.ObjectId.isValid(entry.principalId);
    if (!valid || !known[entry.principalType](entry.principalId.toLowerCase()))
      errors.add(`${pathOf(index)}.principalId`, 'notFound', { what: what(actor, 'Участник', 'Principal') });
    if (!ACCESS_LEVELS.includes(entry.level)) errors.add(`${pathOf(index)}.level`, 'invalidInput');
    const principalKey = `${entry.principalType}:${String(entry.principalId).toLowerCase()}`;
    const exportsHere = exportsNow.has(principalKey);
    const exports = entry.export ?? exportsHere;
    if (exports !== exportsHere && !actor.isAdmin)
      errors.addMessage(
        `${pathOf(index)}.export`,
        what(actor, 'Право «Экспорт» выдаёт и снимает только администратор', 'Only an administrator grants or withdraws the “Export” right'),
      );
    const includeSubdepartments = entry.principalType === 'department' && Boolean(entry.includeSubdepartments);
    // Extending a department's entry to its sub-departments (or narrowing it) changes who holds its «Экспорт».
    if (exports && exportsHere && !actor.isAdmin && includeSubdepartments !== exportsNow.get(principalKey))
      errors.addMessage(
        `${pathOf(index)}.includeSubdepartments`,
        what(
          actor,
          'Запись даёт право «Экспорт»: распространить её на подотделы или снять с них может только администратор',
          'The entry grants the “Export” right: only an administrator extends it to sub-departments or takes it from them',
        ),
      );
    entries.push({
      principalType: entry.principalType,
      principalId: new Types.ObjectId(Types.ObjectId.isValid(entry.principalId) ? entry.principalId : undefined),
      includeSubdepartments,
      level: entry.level,
      export: exports,
    });
  }
  errors.throwIfAny();
  // One entry per principal: the last one given wins.
  const unique = new Map(entries.map((e) => [`${e.principalType}:${String(e.principalId)}`, e]));
  return [...unique.values()];
}

type EntriesModel = typeof Folder | typeof Library;
/** How often a change of entries is decided again when others' changes keep coming in between. */
const ENTRY_CHANGE_ATTEMPTS = 5;

/**
 * Writes a change of a folder's or library's entries decided on the entries stored at that moment
 * (what an entry that does not name «Экспорт» keeps, and whether a non-administrator would change
 * it): the write holds only while no other change came in between — the entries' revision is still
 * the one read — and is decided again on the new entries otherwise. So an owner's grant sent while
 * an administrator withdraws «Экспорт» cannot put it back from what it read before. Answers the
 * entries before the change (null: no such folder or library).
 */
async function changeEntries(
  actor: Actor,
  model: EntriesModel,
  id: string,
  decide: (current: StoredEntry[]) => Promise<{ entries: AccessEntry[] } | { pipeline: Record<string, unknown>[] }>,
): Promise<StoredEntry[] | null> {
  const entriesModel = model as typeof Folder;
  for (let attempt = 0; attempt < ENTRY_CHANGE_ATTEMPTS; attempt += 1) {
    const stored = await entriesModel.findById(id, { accessEntries: 1, accessRevision: 1 }).lean<{ accessEntries?: StoredEntry[]; accessRevision?: number }>();
    if (!stored) return null;
    const decided = await decide(stored.accessEntries ?? []);
    const unchanged = { _id: id, accessRevision: stored.accessRevision ?? null };
    const written =
      'entries' in decided
        ? await entriesModel.findOneAndUpdate(unchanged, { $set: { accessEntries: decided.entries }, $inc: { accessRevision: 1 } }, { returnDocument: 'before' }).lean()
        : await entriesModel
            .findOneAndUpdate(unchanged, [...decided.pipeline, { $set: { accessRevision: { $add: [{ $ifNull: ['$accessRevision', 0] }, 1] } } }] as UpdateWithAggregationPipeline, {
              returnDocument: 'before',
              updatePipeline: true,
            })
            .lean();
    if (written) return (written as { accessEntries?: StoredEntry[] }).accessEntries ?? [];
  }
  throw new AppError('CONFLICT', what(actor, 'Доступ только что изменили другие: обновите страницу и повторите', 'Others have just changed the access: reload and try again'));
}

/** Replaces the entries of a folder or library, recording before and after in the audit log. */
async function replaceEntries(actor: Actor, model: EntriesModel, targetType: 'Folder' | 'Library', id: string, input: AccessEntryInput[]) {
  let entries: AccessEntry[] = [];
  const before = await changeEntries(actor, model, id, async (current) => ({ entries: (entries = await checkEntries(actor, input, current)) }));
  await recordAudit(auditActorOf(actor), {
    kind: 'access-changed',
    targetType,
    targetId: id,
    before: plainEntries(before),
    after: plainEntries(entries),
  });
}

/**
 * Changes one principal's entry and leaves every other entry as it is, in one atomic update of the
 * folder or library: `input` adds or replaces the principal's entry (checked against the entries as
 * stored), null removes it. Two administrators changing different entries at once both keep their change.
 */
async function changeOneEntry(
  actor: Actor,
  model: EntriesModel,
  targetType: 'Folder' | 'Library',
  id: string,
  principal: { principalType: PrincipalType; principalId: string },
  input: AccessEntryInput | null,
) {
  let entry: AccessEntry | null = null;
  const before = await changeEntries(actor, model, id, async (current) => {
    // Checked first: the principal named by `input` is known and well-formed once this returns.
    entry = input ? (await checkEntries(actor, [input], current, () => 'entry'))[0] : null;
    const others = {
      $filter: {
        input: { $ifNull: ['$accessEntries', []] },
        as: 'entry',
        cond: { $not: [{ $and: [{ $eq: ['$$entry.principalType', principal.principalType] }, { $eq: ['$$entry.principalId', new Types.ObjectId(principal.principalId)] }] }] },
      },
    };
    return { pipeline: [{ $set: { accessEntries: entry ? { $concatArrays: [others, [{ $literal: entry }]] } : others } }] };
  });
  const named = (e: StoredEntry) => e.principalType === principal.principalType && String(e.principalId) === principal.principalId;
  await recordAudit(auditActorOf(actor), {
    kind: 'access-changed',
    targetType,
    targetId: id,
    summary: entry ? 'entry set' : 'entry removed',
    before: plainEntries(before).filter(named),
    after: entry ? plainEntries([entry]) : [],
  });
}

const principalArgument = (actor: Actor, principal: { principalType: PrincipalType; principalId: string }) => {
  const errors = new FieldErrors(actor.locale);
  if (!PRINCIPAL_TYPES.includes(principal.principalType)) errors.add('principalType', 'invalidInput');
  if (!Types.ObjectId.isValid(principal.principalId)) errors.add('principalId', 'badId');
  errors.throwIfAny();
  return { principalType: principal.principalType, principalId: principal.principalId.toLowerCase() };
};

/** The principal an entry names, as `changeOneEntry` matches it (checked there with the entry). */
const principalOfEntry = (input: AccessEntryInput) => ({ principalType: input.principalType, principalId: String(input.principalId).toLowerCase() });

/** Adds or replaces one entry of a folder (full access needed); the other entries stay. */
export async function grantFolderAccess(actor: Actor, id: string, input: AccessEntryInput) {
  await folderForChange(actor, id, 'manageAccess');
  await changeOneEntry(actor, Folder, 'Folder', id, principalOfEntry(input), input);
  return Folder.findById(id).lean<FolderDoc>();
}

/** Removes the entry naming one principal from a folder's own entries (full access needed); the other entries stay. */
export async function revokeFolderAccess(actor: Actor, id: string, principal: { principalType: PrincipalType; principalId: string }) {
  await folderForChange(actor, id, 'manageAccess');
  await changeOneEntry(actor, Folder, 'Folder', id, principalArgument(actor, principal), null);
  return Folder.findById(id).lean<FolderDoc>();
}

async function libraryForAccess(actor: Actor, id: string): Promise<void> {
  requireAdminActor(actor);
  if (!Types.ObjectId.isValid(id) || !(await Library.exists({ _id: id }))) throw notFound(actor, what(actor, 'Библиотека', 'Library'));
}

/** Adds or replaces one entry of a library (administrators); the other entries stay. */
export async function grantLibraryAccess(actor: Actor, id: string, input: AccessEntryInput) {
  await libraryForAccess(actor, id);
  await changeOneEntry(actor, Library, 'Library', id, principalOfEntry(input), input);
  return Library.findById(id).lean<LibraryDoc>();
}

/** Removes the entry naming one principal from a library (administrators); the other entries stay. */
export async function revokeLibraryAccess(actor: Actor, id: string, principal: { principalType: PrincipalType; principalId: string }) {
  await libraryForAccess(actor, id);
  await changeOneEntry(actor, Library, 'Library', id, principalArgument(actor, principal), null);
  return Library.findById(id).lean<LibraryDoc>();
}

/** Replaces a folder's own entries (full access needed). */
export async function setFolderAccess(actor: Actor, id: string, input: AccessEntryInput[]) {
  await folderForChange(actor, id, 'manageAccess');
  await replaceEntries(actor, Folder, 'Folder', id, input);
  return Folder.findById(id).lean<FolderDoc>();
}

/**
 * Stops or resumes inheriting. Stopping copies the inherited entries into the folder, so
 * nobody's access changes at that moment. Decided on the folder's own entries as stored and
 * written only while they are still those (`changeEntries`): a revoke committed meanwhile is
 * decided on again, never overwritten by the copy.
 */
export async function setFolderInheritance(actor: Actor, id: string, inherits: boolean) {
  const folder = await folderForChange(actor, id, 'manageAccess');
  if (folder.inheritsAccess === inherits) return folder;
  if (inherits) await refuseExportGain(actor, id, { parentId: folder.parentId ?? null, libraryId: folder.libraryId, inherits: true });
  let entries: PlainAccessEntry[] = [];
  const before = await changeEntries(actor, Folder, id, async (current) => {
    const own = plainEntries(current);
    entries = inherits ? own : await entriesInheritedInto(actor, id, own);
    return { pipeline: [{ $set: { inheritsAccess: inherits, accessEntries: { $literal: entries.map(storedEntry) } } }] };
  });
  await recordAudit(auditActorOf(actor), {
    kind: 'access-changed',
    targetType: 'Folder',
    targetId: id,
    summary: inherits ? 'inheritance resumed' : 'inheritance stopped',
    before: { inheritsAccess: !inherits, entries: plainEntries(before) },
    after: { inheritsAccess: inherits, entries },
  });
  return Folder.findById(id).lean<FolderDoc>();
}

/** A folder's own entries merged with those it inherits now, for it to keep when it stops inheriting. */
async function entriesInheritedInto(actor: Actor, id: string, own: PlainAccessEntry[]): Promise<PlainAccessEntry[]> {
  const snapshot = await checkedAccessSnapshot();
  const inherited = snapshot
    .effectiveEntries(id)
    .filter(({ source }) => source.id !== id)
    .map(({ entry }) => entry);
  // Copied down, an inherited «Экспорт» would become the folder's own and outlive the administrator withdrawing it where it came from.
  const [inheritedExport] = actor.isAdmin ? [] : newExportEntries(inherited, own);
  if (inheritedExport) {
    const who = principalName(snapshot, inheritedExport);
    throw forbidden(
      actor,
      what(
        actor,
        `папка наследует право «Экспорт» для «${who}»: прекратить наследование (и сделать это право собственным правом папки) может только администратор`,
        `the folder inherits the “Export” right of “${who}”: only an administrator stops the inheritance (making that right the folder's own)`,
      ),
    );
  }
  const merged = new Map<string, PlainAccessEntry>();
  for (const entry of [...own, ...inherited]) {
    const key = `${entry.principalType}:${entry.principalId}:${entry.includeSubdepartments}`;
    const current = merged.get(key);
    merged.set(key, { ...entry, level: higherLevel(current?.level, entry.level), export: Boolean(current?.export) || entry.export });
  }
  return [...merged.values()];
}

const storedEntry = (entry: PlainAccessEntry): AccessEntry => ({ ...entry, principalId: new Types.ObjectId(entry.principalId) });

/** Replaces a library's entries, which its top-level folders inherit (administrators). */
export async function setLibraryAccess(actor: Actor, id: string, input: AccessEntryInput[]) {
  await libraryForAccess(actor, id);
  await replaceEntries(actor, Library, 'Library', id, input);
  return Library.findById(id).lean<LibraryDoc>();
}

// ---------- effective access ----------

export interface EffectiveAccessRow {
  userId: string;
  fullName: string;
  login: string;
  level: AccessLevel;
  /** May export the folder's cards: an entry with «Экспорт», the system group «Доверенные лица (экспорт)», or an administrator. */
  export: boolean;
  reasons: {
    principalType: PrincipalType;
    principalId: string;
    principalName: string;
    level: AccessLevel;
    export: boolean;
    sourceKind: 'folder' | 'library' | 'administrators';
    sourceId: string;
    sourceName: string;
    inherited: boolean;
  }[];
}

/** Who can do what on a folder, and why (which entry, from which folder or library). */
export async function effectiveAccess(actor: Actor, id: string): Promise<EffectiveAccessRow[]> {
  await folderForChange(actor, id, 'manageAccess');
  const snapshot = await accessSnapshot();
  const entries = snapshot.effectiveEntries(id);
  const users = [...snapshot.users.values()].filter((u) => u.active);
  const administrators = snapshot.groups.find((g) => g.systemRole === 'administrators');
  const exporters = snapshot.groups.find((g) => g.systemRole === 'exporters');
  const names = new Map<string, string>([
    ...users.map((u) => [String(u._id), u.fullName] as [string, string]),
    ...[...snapshot.departments.values()].map((d) => [String(d._id), d.name] as [string, string]),
    ...snapshot.groups.map((g) => [String(g._id), g.name] as [string, string]),
  ]);
  const rows: EffectiveAccessRow[] = [];
  for (const user of users) {
    const principal = snapshot.principalOf(String(user._id));
    if (!principal) continue;
    const matching = entries.filter(({ entry }) => entryMatches(entry, principal));
    if (administrators && principal.groupIds.includes(String(administrators._id))) {
      // Administrators may do everything everywhere: their group is the reason.
      const id = String(administrators._id);
      matching.unshift({
        entry: { principalType: 'group', principalId: id, includeSubdepartments: false, level: 'full', export: true },
        source: { kind: 'administrators', id, name: administrators.name },
      });
    }
    if (matching.length === 0) continue;
    rows.push({
      userId: String(user._id),
      fullName: user.fullName,
      login: user.login,
      level: matching.reduce<AccessLevel | undefined>((level, { entry }) => higherLevel(level, entry.level), undefined) ?? 'read',
      export: matching.some(({ entry }) => entry.export) || (exporters !== undefined && principal.groupIds.includes(String(exporters._id))),
      reasons: matching.map(({ entry, source }) => ({
        principalType: entry.principalType,
        principalId: entry.principalId,
        principalName: names.get(entry.principalId) ?? '',
        level: entry.level,
        export: entry.export,
        sourceKind: source.kind,
        sourceId: source.id,
        sourceName: source.name,
        inherited: !(source.kind === 'folder' && source.id === id),
      })),
    });
  }
  return rows.sort((a, b) => a.fullName.localeCompare(b.fullName, 'ru'));
}
