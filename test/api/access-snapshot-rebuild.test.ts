import { expect } from 'chai';
import mongoose, { Types } from 'mongoose';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkedAccessSnapshot } from '../../server/src/access/snapshot';
import { Folder, Library } from '../../server/src/folders/models';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const PAGE = 'query($f: ID!) { cards(folderId: $f, first: 5) { totalCount } }';
const FOLDER_NAME = 'query($id: ID!) { folder(id: $id) { name } }';
const RENAME = 'mutation($id: ID!, $name: String!) { updateFolder(id: $id, input: { name: $name }) { id } }';
const REVOKE = 'mutation($id: ID!, $user: ID!) { revokeFolderAccess(id: $id, principalId: $user, principalType: user) { id } }';
const CREATE = 'mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «После отзыва»" }) { id } }';
/** How long a whole load of the access snapshot takes in these tests: an installation of tens of thousands of folders on a busy machine. */
const LOAD_MS = 3000;

/** Until the returned function is called, every whole load of the access snapshot takes LOAD_MS longer (its read of all folders waits). */
function slowSnapshotLoads(): () => void {
  const find = Folder.find;
  const slowed = function (this: typeof Folder, ...args: unknown[]) {
    const query = (find as (...a: unknown[]) => ReturnType<typeof Folder.find>).apply(this, args);
    if (args.length === 0) {
      const exec = query.exec.bind(query);
      query.exec = (async (...rest: Parameters<typeof exec>) => {
        await sleep(LOAD_MS);
        return exec(...rest);
      }) as typeof query.exec;
    }
    return query;
  };
  Folder.find = slowed as unknown as typeof Folder.find;
  return () => {
    Folder.find = find;
  };
}

/** A change to the access structure made elsewhere (another instance, a script): the version moves, the bus says so. */
const changeElsewhere = (libraryId: string, name: string) => Library.updateOne({ _id: libraryId }, { $set: { name } });

const accessVersion = () => mongoose.connection.db!.collection<{ _id: string; value: number }>('meta');

describe('requests while a new access snapshot loads (#12, s15 A4 second half; API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let colleague: ApiClient;
  let leaver: ApiClient;
  let writer: ApiClient;
  let remote: ApiClient;
  let folderId: string;
  let libraryId: string;
  let otherFolderId: string;
  let userIds: Record<string, string>;
  let restoreLoads = () => {};

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    ({ folderId, libraryId, userIds } = await createCorrespondents(admin, PASSWORD, [
      { login: 'colleague', fullName: 'Коллега', level: 'read' },
      { login: 'leaver', fullName: 'Уходящий', level: 'read' },
      { login: 'writer', fullName: 'Пишущий', level: 'edit' },
      { login: 'remote', fullName: 'Удалённый', level: 'edit' },
    ]));
    otherFolderId = await createFolder(admin, { libraryId, name: 'Архив' });
    colleague = await signedIn(server, 'colleague', PASSWORD);
    leaver = await signedIn(server, 'leaver', PASSWORD);
    writer = await signedIn(server, 'writer', PASSWORD);
    remote = await signedIn(server, 'remote', PASSWORD);
    restoreLoads = slowSnapshotLoads();
    // Two slow loads, waited for: the installation is known to load slowly.
    for (const name of ['Корреспонденты', 'Корреспонденты и контакты']) {
      await changeElsewhere(libraryId, name);
      await checkedAccessSnapshot();
    }
  });
  after(async () => {
    restoreLoads();
    await server?.stop();
  });

  it('a colleague’s request is answered from the previous snapshot at once, while the writer’s own next request sees the change', async () => {
    await changeElsewhere(libraryId, 'Корреспонденты');
    const started = performance.now();
    expect((await colleague.data<{ cards: { totalCount: number } }>(PAGE, { f: folderId })).cards.totalCount).to.equal(0);
    const colleagueMs = performance.now() - started;
    expect(colleagueMs, `the colleague waited ${Math.round(colleagueMs)} ms`).to.be.below(LOAD_MS / 2);

    // The administrator renames a folder: their session's next requests wait for the snapshot that holds it.
    await admin.data(RENAME, { id: otherFolderId, name: 'Архив 2026' });
    expect((await admin.data<{ folder: { name: string } }>(FOLDER_NAME, { id: otherFolderId })).folder.name).to.equal('Архив 2026');
  });

  it('a reader whose access was withdrawn with no event on the bus is refused within a second, however long the new snapshot loads', async () => {
    await checkedAccessSnapshot();
    expect((await leaver.data<{ cards: { totalCount: number } }>(PAGE, { f: folderId })).cards.totalCount).to.equal(0);
    // Another instance withdraws the leaver's access; its event is lost: only the counter moves.
    const db = mongoose.connection.db!;
    const changedAt = performance.now();
    const stored = await db.collection('folders').findOne({ _id: new Types.ObjectId(folderId) });
    const entries = (stored!.accessEntries as { principalId: Types.ObjectId }[]).filter((entry) => String(entry.principalId) !== userIds.leaver);
    await db.collection('folders').updateOne({ _id: new Types.ObjectId(folderId) }, { $set: { accessEntries: entries } });
    await accessVersion().updateOne({ _id: 'access-version' }, { $inc: { value: 1 } });

    const answers: { at: number; refused: boolean }[] = [];
    const asked: Promise<void>[] = [];
    while (performance.now() - changedAt < LOAD_MS + 1500) {
      const at = performance.now() - changedAt;
      asked.push(leaver.request(PAGE, { f: folderId }).then((answer) => void answers.push({ at, refused: Boolean(answer.errors?.length) })));
      await sleep(100);
    }
    await Promise.all(asked);
    const late = answers.filter((answer) => answer.at >= 1000);
    expect(late.length).to.be.greaterThan(10);
    expect(late.filter((answer) => !answer.refused).map((answer) => Math.round(answer.at))).to.deep.equal([]);
    // The colleague still reads.
    expect((await colleague.data<{ cards: { totalCount: number } }>(PAGE, { f: folderId })).cards.totalCount).to.equal(0);
  });

  it('a write by a user whose access was just withdrawn waits for the new snapshot and is refused (s17 attack H1, H2)', async () => {
    await checkedAccessSnapshot();
    await admin.data(REVOKE, { id: folderId, user: userIds.writer });
    // At once, inside the second a query may still be answered from the previous snapshot.
    const created = await writer.request<{ createCard: { id: string } | null }>(CREATE, { f: folderId });
    expect(created.data?.createCard ?? null).to.equal(null);
    expect(created.errors?.[0]?.extensions?.code).to.be.oneOf(['FORBIDDEN', 'NOT_FOUND']);
    expect(await mongoose.connection.db!.collection('cards').countDocuments({ 'values.name': 'ООО «После отзыва»' })).to.equal(0);
  });

  it('a write from an address an allow-list excluded a moment ago is refused, though the session was looked up on the previous snapshot (s17 re-attack)', async () => {
    await checkedAccessSnapshot();
    await admin.data('mutation($id: ID!) { updateUser(id: $id, input: { ipAllowList: ["10.9.9.9/32"] }) { id } }', { id: userIds.remote });
    const created = await remote.request<{ createCard: { id: string } | null }>(CREATE, { f: folderId });
    expect(created.data?.createCard ?? null).to.equal(null);
    expect(created.errors?.[0]?.extensions?.code).to.equal('FORBIDDEN');
    expect(await mongoose.connection.db!.collection('cards').countDocuments({ 'values.name': 'ООО «После отзыва»' })).to.equal(0);
  });
});
