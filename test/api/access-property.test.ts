import { expect } from 'chai';
import { Types } from 'mongoose';
import { searchWordsOf } from '../../card-types';
import { buildActor, type Actor } from '../../server/src/access/actor';
import { accessTreeOf, folderLevelsFor } from '../../server/src/access/effective-access';
import { Card } from '../../server/src/cards/model';
import { listFolderCards, referenceLoader, relatedCards, searchCards } from '../../server/src/cards/queries';
import { findCard } from '../../server/src/cards/service';
import { Folder, Library, type AccessLevel } from '../../server/src/folders/models';
import { findFolder, listFolders, listLibraries, moveFolder, setFolderAccess, setFolderInheritance, setLibraryAccess } from '../../server/src/folders/service';
import { changeGroupMembers, updateDepartment, updateUser } from '../../server/src/people/service';
import { Department, Group, User, type UserDoc } from '../../server/src/people/models';
import { hashPassword } from '../../server/src/people/passwords';
import type { RunningServer } from '../../server/src/server';
import { signedIn, startTestServer } from '../support/server';

/**
 * Random departments, groups, folder trees with inheritance breaks and entries, many users:
 * for each user, what the API returns must equal what this independent oracle computes.
 * WORLDS × USERS_PER_WORLD = 2,000 user cases; for four users a world, cards on every read path
 * too. ACCESS_SEED=n reproduces a run.
 */
const WORLDS = 25;
const USERS_PER_WORLD = 80;
const SEED = Number(process.env.ACCESS_SEED ?? 20261122);
const PASSWORD = 'property-password';

function random(seed: number) {
  // mulberry32: small, deterministic, good enough to draw test worlds.
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (max: number) => Math.floor(next() * max),
    pick: <T>(items: T[]): T => items[Math.floor(next() * items.length)],
    chance: (p: number) => next() < p,
  };
}

type Rng = ReturnType<typeof random>;
interface Entry {
  principalType: 'user' | 'department' | 'group';
  principalId: string;
  includeSubdepartments: boolean;
  level: AccessLevel;
}
interface World {
  departments: { id: string; parentId: string | null }[];
  groups: { id: string; members: string[]; admin: boolean }[];
  users: { id: string; departmentId: string }[];
  libraries: { id: string; entries: Entry[] }[];
  folders: { id: string; libraryId: string; parentId: string | null; inheritsAccess: boolean; entries: Entry[] }[];
  /** Per folder: its counterparty, its contact person, and the folder whose counterparty that contact refers to. */
  cards: { counterparty: string; contact: string; refersTo: number }[];
}

const SEARCH_WORD = 'propertyneedle';

const RANK = { read: 1, edit: 2, full: 3 } as const;
const newId = () => new Types.ObjectId().toHexString();

/** Random entries naming the world's users, departments and (non-system) groups. */
const entryDrawer =
  (rng: Rng, world: Pick<World, 'users' | 'departments' | 'groups'>) =>
  (max: number): Entry[] =>
    Array.from({ length: rng.int(max + 1) }, () => {
      const principalType = rng.pick(['user', 'department', 'group'] as const);
      const pool = principalType === 'user' ? world.users : principalType === 'department' ? world.departments : world.groups.slice(1);
      return {
        principalType,
        principalId: rng.pick(pool as { id: string }[]).id,
        includeSubdepartments: principalType === 'department' && rng.chance(0.5),
        level: rng.pick(['read', 'edit', 'full'] as const),
      };
    });

function drawWorld(rng: Rng): World {
  const departments: World['departments'] = [];
  for (let i = 0; i < 7; i += 1) departments.push({ id: newId(), parentId: i === 0 || rng.chance(0.2) ? null : rng.pick(departments).id });
  const users = Array.from({ length: USERS_PER_WORLD }, () => ({ id: newId(), departmentId: rng.pick(departments).id }));
  const groups = Array.from({ length: 4 }, (_, i) => ({
    id: newId(),
    admin: i === 0,
    members: users.filter(() => rng.chance(i === 0 ? 0.03 : 0.25)).map((u) => u.id),
  }));
  const drawEntries = entryDrawer(rng, { users, departments, groups });
  const libraries = Array.from({ length: 3 }, () => ({ id: newId(), entries: drawEntries(2) }));
  const folders: World['folders'] = [];
  for (let i = 0; i < 14; i += 1) {
    const parent = folders.length > 0 && rng.chance(0.6) ? rng.pick(folders) : null;
    folders.push({
      id: newId(),
      libraryId: parent ? parent.libraryId : rng.pick(libraries).id,
      parentId: parent?.id ?? null,
      inheritsAccess: rng.chance(0.75),
      entries: drawEntries(3),
    });
  }
  const cards = folders.map(() => ({ counterparty: newId(), contact: newId(), refersTo: rng.int(folders.length) }));
  return { departments, groups, users, libraries, folders, cards };
}

// ---------- the oracle: written from the rules, not from the ability factory ----------

function oracle(world: World, userId: string) {
  const user = world.users.find((u) => u.id === userId)!;
  const isAdmin = world.groups.some((g) => g.admin && g.members.includes(userId));
  const departmentChain: string[] = [];
  for (let d: string | null = user.departmentId; d; d = world.departments.find((x) => x.id === d)!.parentId) departmentChain.push(d);
  const applies = (e: Entry) =>
    (e.principalType === 'user' && e.principalId === userId) ||
    (e.principalType === 'group' && world.groups.some((g) => g.id === e.principalId && g.members.includes(userId))) ||
    (e.principalType === 'department' && (e.principalId === user.departmentId || (e.includeSubdepartments && departmentChain.slice(1).includes(e.principalId))));
  const levels = new Map<string, AccessLevel>();
  for (const folder of world.folders) {
    if (isAdmin) {
      levels.set(folder.id, 'full');
      continue;
    }
    let best = 0;
    let node: World['folders'][number] | undefined = folder;
    while (node) {
      const current: World['folders'][number] = node;
      for (const e of current.entries) if (applies(e)) best = Math.max(best, RANK[e.level]);
      if (!current.inheritsAccess) break;
      if (current.parentId) {
        node = world.folders.find((f) => f.id === current.parentId);
      } else {
        for (const e of world.libraries.find((l) => l.id === current.libraryId)!.entries) if (applies(e)) best = Math.max(best, RANK[e.level]);
        node = undefined;
      }
    }
    if (best > 0) levels.set(folder.id, (['read', 'edit', 'full'] as const)[best - 1]);
  }
  const libraries = world.libraries.filter((l) => isAdmin || world.folders.some((f) => f.libraryId === l.id && levels.has(f.id)) || l.entries.some(applies)).map((l) => l.id);
  return { levels, libraries };
}

async function storeWorld(world: World, passwordHash: string, worldIndex: number): Promise<void> {
  const keepAdmin = await User.findOne({ loginKey: 'admin' }).lean();
  await Promise.all([
    Department.deleteMany({ _id: { $ne: keepAdmin?.departmentId } }),
    User.deleteMany({ loginKey: { $ne: 'admin' } }),
    Library.deleteMany({}),
    Folder.deleteMany({}),
  ]);
  await Group.deleteMany({ systemRole: null });
  await Group.updateOne({ systemRole: 'administrators' }, { $set: { memberIds: [keepAdmin?._id, ...world.groups[0].members] } });
  const oid = (id: string | null) => (id ? new Types.ObjectId(id) : null);
  const entries = (list: Entry[]) => list.map((e) => ({ ...e, principalId: oid(e.principalId) }));
  await Department.insertMany(world.departments.map((d, i) => ({ _id: oid(d.id), parentId: oid(d.parentId), name: `Отдел ${i}` })));
  await User.insertMany(
    world.users.map((u, i) => ({
      _id: oid(u.id),
      login: `u${worldIndex}-${i}`,
      loginKey: `u${worldIndex}-${i}`,
      fullName: `User ${i}`,
      departmentId: oid(u.departmentId),
      passwordHash,
    })),
  );
  await Group.insertMany(world.groups.slice(1).map((g, i) => ({ _id: oid(g.id), name: `Группа ${i}`, memberIds: g.members.map(oid) })));
  await Library.insertMany(world.libraries.map((l, i) => ({ _id: oid(l.id), name: `Библиотека ${i}`, accessEntries: entries(l.entries) })));
  await Folder.insertMany(
    world.folders.map((f, i) => ({
      _id: oid(f.id),
      libraryId: oid(f.libraryId),
      parentId: oid(f.parentId),
      name: `Папка ${i}`,
      inheritsAccess: f.inheritsAccess,
      accessEntries: entries(f.entries),
    })),
  );
  // A counterparty in every folder, and a contact person pointing to the counterparty of another folder.
  await Card.deleteMany({});
  const card = (id: string, folder: World['folders'][number], typeKey: string, title: string, values: Record<string, unknown>) => ({
    _id: oid(id),
    typeKey,
    folderId: oid(folder.id),
    libraryId: oid(folder.libraryId),
    title,
    values,
    searchText: `${title.toLowerCase()} ${SEARCH_WORD}`,
    searchWords: searchWordsOf(`${title.toLowerCase()} ${SEARCH_WORD}`),
    createdBy: keepAdmin?._id,
    updatedBy: keepAdmin?._id,
  });
  await Card.insertMany(
    world.folders.flatMap((folder, i) => [
      card(world.cards[i].counterparty, folder, 'counterparty', `Контрагент ${i}`, { name: `Контрагент ${i}` }),
      card(world.cards[i].contact, folder, 'contact-person', `Контакт ${i}`, { fullName: `Контакт ${i}`, counterparty: world.cards[world.cards[i].refersTo].counterparty }),
    ]),
  );
}

/** Cards on every read path — listing, by id, search, reference titles, related tabs — follow the folders' oracle. */
async function checkCardPaths(world: World, actor: Actor, levels: Map<string, AccessLevel>, context: string): Promise<void> {
  const readable = (folderIndex: number) => levels.has(world.folders[folderIndex].id);
  for (const [i, folder] of world.folders.entries()) {
    const listing = await listFolderCards(actor, folder.id, { first: 10 }).then(
      (page) => page.edges.map((e) => String(e.node._id)).sort(),
      () => null,
    );
    expect(listing, `${context}: listing folder ${i}`).to.deep.equal(readable(i) ? [world.cards[i].counterparty, world.cards[i].contact].sort() : null);
    expect(Boolean(await findCard(actor, world.cards[i].counterparty)), `${context}: card by id in folder ${i}`).to.equal(readable(i));
  }
  const found = (await searchCards(actor, SEARCH_WORD, { first: 100 })).map((hit) => String(hit.card._id)).sort();
  const expectedFound = world.folders.flatMap((_, i) => (readable(i) ? [world.cards[i].counterparty, world.cards[i].contact] : [])).sort();
  expect(found, `${context}: search`).to.deep.equal(expectedFound);
  const titles = referenceLoader(actor);
  for (const [i, entry] of world.cards.entries()) {
    const target = await titles.load(world.cards[entry.refersTo].counterparty);
    expect(target.accessible, `${context}: reference title from folder ${i}`).to.equal(readable(entry.refersTo));
    if (!target.accessible) expect(target.title).to.equal(null);
    if (readable(i)) {
      const related = (await relatedCards(actor, world.cards[i].counterparty, 'contacts', { first: 500 })).edges.map((edge) => String(edge.node._id)).sort();
      const expectedRelated = world.cards.flatMap((other, j) => (other.refersTo === i && readable(j) ? [other.contact] : [])).sort();
      expect(related, `${context}: related tab of folder ${i}`).to.deep.equal(expectedRelated);
    }
  }
}

// ---------- random changes through the services, mirrored in the world ----------

const CHANGES_PER_WORLD = 12;
const USERS_CHECKED_PER_CHANGE = 8;

/** The folder's effective entries as the oracle reads the rules: own, then inherited up the tree. */
function chainEntries(world: World, folder: World['folders'][number]): Entry[] {
  const entries: Entry[] = [];
  let node: World['folders'][number] | undefined = folder;
  while (node) {
    const current: World['folders'][number] = node;
    entries.push(...current.entries);
    if (!current.inheritsAccess) break;
    if (current.parentId) node = world.folders.find((f) => f.id === current.parentId);
    else {
      entries.push(...world.libraries.find((l) => l.id === current.libraryId)!.entries);
      node = undefined;
    }
  }
  return entries;
}

/** Everything below a node of a tree (folders under a folder, departments under a department). */
const descendantsIn = (nodes: { id: string; parentId: string | null }[], id: string): string[] => {
  const found: string[] = [];
  for (let frontier = [id]; frontier.length > 0;) {
    frontier = nodes.filter((n) => n.parentId && frontier.includes(n.parentId)).map((n) => n.id);
    found.push(...frontier);
  }
  return found;
};

/** Last entry per principal wins, as the service keeps them. */
const deduplicated = (entries: Entry[]): Entry[] => [...new Map(entries.map((e) => [`${e.principalType}:${e.principalId}`, e])).values()];

/** One random change to the access structure, made through the service and mirrored in `world`. */
async function randomChange(rng: Rng, world: World, admin: Actor, drawEntries: (max: number) => Entry[]): Promise<string> {
  const kind = rng.int(7);
  if (kind === 0 || kind === 2) {
    const onFolder = kind === 0;
    const target: { id: string; entries: Entry[] } = onFolder ? rng.pick(world.folders) : rng.pick(world.libraries);
    target.entries = deduplicated(drawEntries(onFolder ? 3 : 2));
    await (onFolder ? setFolderAccess : setLibraryAccess)(admin, target.id, target.entries);
    return `access of ${onFolder ? 'folder' : 'library'} ${target.id}`;
  }
  if (kind === 1) {
    const folder = rng.pick(world.folders);
    const inherits = !folder.inheritsAccess;
    if (!inherits) {
      const merged = new Map<string, Entry>();
      for (const e of chainEntries(world, folder)) {
        const key = `${e.principalType}:${e.principalId}:${e.includeSubdepartments}`;
        const known = merged.get(key);
        merged.set(key, { ...e, level: known && RANK[known.level] > RANK[e.level] ? known.level : e.level });
      }
      folder.entries = [...merged.values()];
    }
    folder.inheritsAccess = inherits;
    await setFolderInheritance(admin, folder.id, inherits);
    return `inheritance of folder ${folder.id}: ${inherits}`;
  }
  if (kind === 3) {
    const folder = rng.pick(world.folders);
    const below = new Set([folder.id, ...descendantsIn(world.folders, folder.id)]);
    const parents = world.folders.filter((f) => !below.has(f.id));
    const parent = parents.length > 0 && rng.chance(0.6) ? rng.pick(parents) : null;
    const libraryId = parent ? parent.libraryId : rng.pick(world.libraries).id;
    folder.parentId = parent?.id ?? null;
    for (const id of below) world.folders.find((f) => f.id === id)!.libraryId = libraryId;
    await moveFolder(admin, folder.id, parent ? { parentId: parent.id } : { libraryId });
    return `folder ${folder.id} moved under ${parent?.id ?? `library ${libraryId}`}`;
  }
  if (kind === 4) {
    const group = rng.pick(world.groups);
    const user = rng.pick(world.users);
    const member = group.members.includes(user.id);
    group.members = member ? group.members.filter((m) => m !== user.id) : [...group.members, user.id];
    await changeGroupMembers(admin, group.id, member ? [] : [user.id], member ? [user.id] : []);
    return `user ${user.id} ${member ? 'left' : 'joined'} group ${group.id}`;
  }
  if (kind === 5) {
    const user = rng.pick(world.users);
    user.departmentId = rng.pick(world.departments).id;
    await updateUser(admin, user.id, { departmentId: user.departmentId });
    return `user ${user.id} moved to department ${user.departmentId}`;
  }
  const department = rng.pick(world.departments);
  const below = new Set([department.id, ...descendantsIn(world.departments, department.id)]);
  const parents = world.departments.filter((d) => !below.has(d.id));
  department.parentId = parents.length > 0 && rng.chance(0.7) ? rng.pick(parents).id : null;
  await updateDepartment(admin, department.id, { parentId: department.parentId });
  return `department ${department.id} under ${department.parentId}`;
}

/** Levels computed straight from the stored documents, without the snapshot: the uncached computation. */
async function uncachedLevels(userIds: string[]): Promise<Map<string, Map<string, AccessLevel>>> {
  const [libraries, folders, departments, groups, users] = await Promise.all([
    Library.find().lean(),
    Folder.find().lean(),
    Department.find().lean(),
    Group.find().lean(),
    User.find({ _id: { $in: userIds } }).lean(),
  ]);
  const tree = accessTreeOf(libraries, folders);
  const parent = new Map(departments.map((d) => [String(d._id), d.parentId ? String(d.parentId) : null]));
  const result = new Map<string, Map<string, AccessLevel>>();
  for (const user of users) {
    const userId = String(user._id);
    const memberOf = groups.filter((g) => g.memberIds.some((m) => String(m) === userId));
    if (memberOf.some((g) => g.systemRole === 'administrators')) {
      result.set(userId, new Map(tree.folders.map((f) => [f.id, 'full' as AccessLevel])));
      continue;
    }
    const ancestors: string[] = [];
    for (let d = parent.get(String(user.departmentId)) ?? null; d && !ancestors.includes(d); d = parent.get(d) ?? null) ancestors.push(d);
    const principal = { userId, departmentId: String(user.departmentId), departmentAncestorIds: ancestors, groupIds: memberOf.map((g) => String(g._id)) };
    result.set(userId, folderLevelsFor(tree, principal));
  }
  return result;
}

describe('access property: every path returns exactly what the oracle allows', function () {
  this.timeout(300_000);
  let server: RunningServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
  });

  it(`holds for ${WORLDS * USERS_PER_WORLD} random user cases, cards included for ${WORLDS * 4} of them (seed ${SEED})`, async () => {
    const rng = random(SEED);
    const passwordHash = await hashPassword(PASSWORD);
    let cases = 0;
    for (let w = 0; w < WORLDS; w += 1) {
      const world = drawWorld(rng);
      await storeWorld(world, passwordHash, w);
      for (const [index, { id }] of world.users.entries()) {
        const expected = oracle(world, id);
        const user = (await User.findById(id).lean<UserDoc>())!;
        const actor = await buildActor(user, '127.0.0.1');
        const context = `world ${w}, user ${index}`;
        expect(Object.fromEntries(actor.folderLevels), context).to.deep.equal(Object.fromEntries(expected.levels));
        const listed = (await listFolders(actor)).map((f) => String(f._id)).sort();
        expect(listed, context).to.deep.equal([...expected.levels.keys()].sort());
        const libraries = (await listLibraries(actor)).map((l) => String(l._id)).sort();
        expect(libraries, context).to.deep.equal([...expected.libraries].sort());
        if (index < 3) {
          // By id, every folder: visible ones found, hidden ones indistinguishable from missing.
          for (const folder of world.folders) {
            expect(Boolean(await findFolder(actor, folder.id)), `${context}, folder ${folder.id}`).to.equal(expected.levels.has(folder.id));
          }
        }
        if (index < 4) await checkCardPaths(world, actor, expected.levels, context);
        if (index === 0) {
          // And once per world through HTTP, as the client sees it.
          const client = await signedIn(server, `u${w}-${index}`, PASSWORD);
          const data = await client.data<{ folders: { id: string }[] }>('{ folders { id } }');
          expect(data.folders.map((f) => f.id).sort(), `${context} over HTTP`).to.deep.equal([...expected.levels.keys()].sort());
        }
        cases += 1;
      }
    }
    expect(cases).to.equal(WORLDS * USERS_PER_WORLD);
  });

  it(`stays equal to the uncached computation across ${WORLDS * CHANGES_PER_WORLD} random changes made through the services (seed ${SEED})`, async () => {
    const rng = random(SEED + 1);
    const passwordHash = await hashPassword(PASSWORD);
    const adminUser = (await User.findOne({ loginKey: 'admin' }).lean<UserDoc>())!;
    let checks = 0;
    for (let w = 0; w < WORLDS; w += 1) {
      const world = drawWorld(rng);
      await storeWorld(world, passwordHash, w);
      // The world's administrators are the stored system group.
      world.groups[0].id = String((await Group.findOne({ systemRole: 'administrators' }).lean())!._id);
      world.groups[0].members = [...world.groups[0].members];
      const admin = await buildActor(adminUser, '127.0.0.1');
      const drawEntries = entryDrawer(rng, world);
      for (let c = 0; c < CHANGES_PER_WORLD; c += 1) {
        const change = await randomChange(rng, world, admin, drawEntries);
        const users = Array.from({ length: USERS_CHECKED_PER_CHANGE }, () => rng.pick(world.users).id);
        const uncached = await uncachedLevels(users);
        for (const userId of users) {
          const context = `world ${w}, change ${c} (${change}), user ${userId}`;
          const actor = await buildActor((await User.findById(userId).lean<UserDoc>())!, '127.0.0.1');
          const cached = Object.fromEntries(actor.folderLevels);
          expect(cached, `${context}: snapshot vs uncached`).to.deep.equal(Object.fromEntries(uncached.get(userId)!));
          expect(cached, `${context}: snapshot vs oracle`).to.deep.equal(Object.fromEntries(oracle(world, userId).levels));
          checks += 1;
        }
      }
    }
    expect(checks).to.equal(WORLDS * CHANGES_PER_WORLD * USERS_CHECKED_PER_CHANGE);
  });
});
