import { expect } from 'chai';
import { Types } from 'mongoose';
import { buildActor, type Actor } from '../../server/src/access/actor';
import { Card } from '../../server/src/cards/model';
import { listFolderCards, referenceLoader, relatedCards, searchCards } from '../../server/src/cards/queries';
import { findCard } from '../../server/src/cards/service';
import { Folder, Library, type AccessLevel } from '../../server/src/folders/models';
import { findFolder, listFolders, listLibraries } from '../../server/src/folders/service';
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
interface Entry { principalType: 'user' | 'department' | 'group'; principalId: string; includeSubdepartments: boolean; level: AccessLevel }
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

function drawWorld(rng: Rng): World {
  const departments: World['departments'] = [];
  for (let i = 0; i < 7; i += 1) departments.push({ id: newId(), parentId: i === 0 || rng.chance(0.2) ? null : rng.pick(departments).id });
  const users = Array.from({ length: USERS_PER_WORLD }, () => ({ id: newId(), departmentId: rng.pick(departments).id }));
  const groups = Array.from({ length: 4 }, (_, i) => ({
    id: newId(),
    admin: i === 0,
    members: users.filter(() => rng.chance(i === 0 ? 0.03 : 0.25)).map((u) => u.id),
  }));
  const drawEntries = (max: number): Entry[] =>
    Array.from({ length: rng.int(max + 1) }, () => {
      const principalType = rng.pick(['user', 'department', 'group'] as const);
      const pool = principalType === 'user' ? users : principalType === 'department' ? departments : groups.slice(1);
      return {
        principalType,
        principalId: rng.pick(pool as { id: string }[]).id,
        includeSubdepartments: principalType === 'department' && rng.chance(0.5),
        level: rng.pick(['read', 'edit', 'full'] as const),
      };
    });
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
    (e.principalType === 'department' &&
      (e.principalId === user.departmentId || (e.includeSubdepartments && departmentChain.slice(1).includes(e.principalId))));
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
  const libraries = world.libraries
    .filter((l) => isAdmin || world.folders.some((f) => f.libraryId === l.id && levels.has(f.id)) || l.entries.some(applies))
    .map((l) => l.id);
  return { levels, libraries };
}

async function storeWorld(world: World, passwordHash: string, worldIndex: number): Promise<void> {
  const keepAdmin = await User.findOne({ loginKey: 'admin' }).lean();
  await Promise.all([Department.deleteMany({ _id: { $ne: keepAdmin?.departmentId } }), User.deleteMany({ loginKey: { $ne: 'admin' } }), Library.deleteMany({}), Folder.deleteMany({})]);
  await Group.deleteMany({ systemRole: null });
  await Group.updateOne({ systemRole: 'administrators' }, { $set: { memberIds: [keepAdmin?._id, ...world.groups[0].members] } });
  const oid = (id: string | null) => (id ? new Types.ObjectId(id) : null);
  const entries = (list: Entry[]) => list.map((e) => ({ ...e, principalId: oid(e.principalId) }));
  await Department.insertMany(world.departments.map((d, i) => ({ _id: oid(d.id), parentId: oid(d.parentId), name: `Отдел ${i}` })));
  await User.insertMany(
    world.users.map((u, i) => ({ _id: oid(u.id), login: `u${worldIndex}-${i}`, loginKey: `u${worldIndex}-${i}`, fullName: `User ${i}`, departmentId: oid(u.departmentId), passwordHash })),
  );
  await Group.insertMany(world.groups.slice(1).map((g, i) => ({ _id: oid(g.id), name: `Группа ${i}`, memberIds: g.members.map(oid) })));
  await Library.insertMany(world.libraries.map((l, i) => ({ _id: oid(l.id), name: `Библиотека ${i}`, accessEntries: entries(l.entries) })));
  await Folder.insertMany(
    world.folders.map((f, i) => ({ _id: oid(f.id), libraryId: oid(f.libraryId), parentId: oid(f.parentId), name: `Папка ${i}`, inheritsAccess: f.inheritsAccess, accessEntries: entries(f.entries) })),
  );
  // A counterparty in every folder, and a contact person pointing to the counterparty of another folder.
  await Card.deleteMany({});
  const card = (id: string, folder: World['folders'][number], typeKey: string, title: string, values: Record<string, unknown>) => ({
    _id: oid(id), typeKey, folderId: oid(folder.id), libraryId: oid(folder.libraryId), title, values, searchText: `${title.toLowerCase()} ${SEARCH_WORD}`,
    createdBy: keepAdmin?._id, updatedBy: keepAdmin?._id,
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
    const listing = await listFolderCards(actor, folder.id, { first: 10 }).then((page) => page.edges.map((e) => String(e.node._id)).sort(), () => null);
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
      const related = (await relatedCards(actor, world.cards[i].counterparty, 'contacts')).map((c) => String(c._id)).sort();
      const expectedRelated = world.cards.flatMap((other, j) => (other.refersTo === i && readable(j) ? [other.contact] : [])).sort();
      expect(related, `${context}: related tab of folder ${i}`).to.deep.equal(expectedRelated);
    }
  }
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
});
