/**
 * Unread counts for a user who sees 200 folders (time and round trips), and updating a card
 * readable by 500 users with history on versus off, in the same run (ratio reported). Service
 * level (no HTTP); `npm run bench:http` measures the same requests end to end.
 * Run: npm run bench:unread   (MONGODB_URI=… to measure against a real MongoDB)
 */
import { buildActor } from '../server/src/access/actor';
import { findCardType, saveCardType } from '../server/src/card-types/registry';
import { Card } from '../server/src/cards/model';
import { createCard, updateCard } from '../server/src/cards/service';
import { Folder, Library } from '../server/src/folders/models';
import { createLogger } from '../server/src/logger';
import { Group, User, type UserDoc } from '../server/src/people/models';
import { Read } from '../server/src/unread/model';
import { unreadCounts } from '../server/src/unread/service';
import { benchDatabaseUri, countRoundTrips, ms, percentile, printMachine, startBenchServer } from './support';

const READERS = 500;
const FOLDERS = 200;
const UPDATES = 40;
const logger = createLogger({ logLevel: 'silent' });

printMachine();
const database = await benchDatabaseUri();
const server = await startBenchServer(database.uri);
console.log(`database: ${database.kind}`);
try {
  const admin = (await User.findOne({ loginKey: 'admin' }).lean<UserDoc>())!;
  const passwordHash = admin.passwordHash;
  const library = await Library.create({ name: 'Замеры' });

  // ---- 500 readers of one folder ----
  const readers = await User.insertMany(
    Array.from({ length: READERS }, (_, i) => ({ login: `reader${i}`, loginKey: `reader${i}`, fullName: `Читатель ${i}`, departmentId: admin.departmentId, passwordHash })),
  );
  const group = await Group.create({ name: 'Читатели', memberIds: readers.map((r) => r._id) });
  const shared = await Folder.create({ libraryId: library._id, name: 'Общая', accessEntries: [{ principalType: 'group', principalId: group._id, level: 'read' }] });
  const context = { actor: await buildActor(admin, '127.0.0.1'), logger };
  const card = await createCard(context, { folderId: String(shared._id), typeKey: 'counterparty', values: { name: 'ООО «Замер»' } });

  const measureUpdates = async (label: string) => {
    const times: number[] = [];
    let trips: string[] = [];
    for (let i = 0; i < UPDATES; i += 1) {
      const current = (await Card.findById(card._id, { version: 1 }).lean())!;
      const t0 = performance.now();
      const { commands } = await countRoundTrips(() => updateCard(context, String(card._id), { version: current.version, values: { notes: `${label} ${i}` } }));
      times.push(performance.now() - t0);
      trips = commands;
    }
    const readRows = await Read.countDocuments({ cardId: card._id });
    console.log(
      `update of a card readable by ${READERS} users, history ${label}: p50 ${ms(percentile(times, 50))}, p99 ${ms(percentile(times, 99))}; ${trips.length} round trips (${trips.join(', ')}); read entries for the card: ${readRows}`,
    );
    return percentile(times, 50);
  };
  const type = (await findCardType('counterparty'))!;
  await saveCardType({ ...type, historyEnabled: false });
  const off = await measureUpdates('off');
  await saveCardType({ ...type, historyEnabled: true });
  const on = await measureUpdates('on');
  console.log(`history on / off (p50): ${(on / off).toFixed(2)}×`);

  // ---- one user who sees 200 folders, each with unread cards ----
  const watcher = (await User.create({ login: 'watcher', loginKey: 'watcher', fullName: 'Наблюдатель', departmentId: admin.departmentId, passwordHash })).toObject() as UserDoc;
  const folders = await Folder.insertMany(
    Array.from({ length: FOLDERS }, (_, i) => ({
      libraryId: library._id,
      name: `Папка ${i}`,
      accessEntries: [{ principalType: 'user', principalId: watcher._id, level: 'read' }],
    })),
  );
  // Cards the watcher has not read yet: (i % 7) + 1 in folder i.
  const unread = folders.flatMap((folder, i) =>
    Array.from({ length: (i % 7) + 1 }, (_, j) => ({
      typeKey: 'counterparty',
      folderId: folder._id,
      libraryId: library._id,
      title: `Карточка ${i}-${j}`,
      values: { name: `Карточка ${i}-${j}` },
      searchText: '',
      searchKeys: [],
      version: 1,
      inTrash: false,
      trashedAt: null,
      trashedBy: null,
      createdBy: admin._id,
      updatedBy: admin._id,
      createdAt: new Date(),
      updatedAt: new Date(),
      arrivedAt: new Date(),
    })),
  );
  await Card.insertMany(unread, { lean: true });
  const watcherActor = await buildActor(watcher, '127.0.0.1');
  const times: number[] = [];
  let trips: string[] = [];
  let folderCount = 0;
  for (let i = 0; i < 50; i += 1) {
    const t0 = performance.now();
    const { result, commands } = await countRoundTrips(() => unreadCounts(watcherActor));
    times.push(performance.now() - t0);
    trips = commands;
    folderCount = result.length;
  }
  console.log(
    `\nunread counts for a user seeing ${FOLDERS} folders (${unread.length} unread cards): ${folderCount} folders counted, p50 ${ms(percentile(times, 50))}, p99 ${ms(percentile(times, 99))}, ${trips.length} round trip(s) (${trips.join(', ')})`,
  );
  const t0 = performance.now();
  const { commands: actorTrips } = await countRoundTrips(() => buildActor(watcher, '127.0.0.1'));
  console.log(`building that user's ability once per request: ${ms(performance.now() - t0)}, ${actorTrips.length} round trips (${actorTrips.join(', ')})`);
} finally {
  await server.stop();
  await database.stop();
}
