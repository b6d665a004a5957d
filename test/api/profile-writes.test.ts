import { expect } from 'chai';
import mongoose from 'mongoose';
import { accessSnapshotLoads } from '../../server/src/access/snapshot';
import { User } from '../../server/src/access/structure';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createDepartment } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const PAGE = 'query($f: ID!) { cards(folderId: $f, first: 5) { totalCount } }';
const MISSING_FOLDER = 'mutation { markFolderRead(folderId: "65a1b2c3d4e5f6a7b8c9d0e1") }';
const VIEWER = '{ viewer { user { fullName email } } }';

const accessVersion = async () => (await mongoose.connection.db!.collection<{ _id: string; value: number }>('meta').findOne({ _id: 'access-version' }))?.value;

describe('profile-only writes leave the access snapshot in place (s15 A4, API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let colleague: ApiClient;
  let flipper: ApiClient;
  let folderId: string;
  let userIds: Record<string, string>;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    ({ folderId, userIds } = await createCorrespondents(admin, PASSWORD, [
      { login: 'colleague', fullName: 'Коллега', level: 'read' },
      { login: 'flipper', fullName: 'Переключатель', level: 'read' },
    ]));
    colleague = await signedIn(server, 'colleague', PASSWORD);
    flipper = await signedIn(server, 'flipper', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('a user switching their language 50 times moves no access version, and a colleague’s next request does not reload the snapshot', async () => {
    await colleague.data(PAGE, { f: folderId });
    const version = await accessVersion();
    const loads = accessSnapshotLoads();
    for (let i = 0; i < 50; i++) await flipper.data(`mutation { setMyLocale(locale: ${i % 2 === 0 ? 'en' : 'ru'}) { id } }`);
    // The last switch was to Russian; one more to English, which the user's next answer speaks at once.
    await flipper.data('mutation { setMyLocale(locale: en) { id } }');
    expect((await flipper.request(MISSING_FOLDER)).errors?.[0].message).to.equal('Folder not found');
    expect((await colleague.data<{ cards: { totalCount: number } }>(PAGE, { f: folderId })).cards.totalCount).to.equal(0);
    expect(await accessVersion()).to.equal(version);
    expect(accessSnapshotLoads()).to.equal(loads);
  });

  it('an administrator’s change of a name or e-mail is seen by everyone without a reload; a change of department still moves the access version', async () => {
    const loads = accessSnapshotLoads();
    const version = await accessVersion();
    await admin.data('mutation($id: ID!) { updateUser(id: $id, input: { fullName: "Переключатель Новый", email: "new@example.ru" }) { id } }', { id: userIds.flipper });
    // The signed-in user comes from the snapshot: their new name shows on their next request.
    const { viewer } = await flipper.data<{ viewer: { user: { fullName: string; email: string } } }>(VIEWER);
    expect(viewer.user).to.deep.equal({ fullName: 'Переключатель Новый', email: 'new@example.ru' });
    expect(await accessVersion()).to.equal(version);
    expect(accessSnapshotLoads()).to.equal(loads);

    const departmentId = await createDepartment(admin, 'Другой отдел');
    await admin.data('mutation($id: ID!, $d: ID!) { updateUser(id: $id, input: { departmentId: $d }) { id } }', { id: userIds.flipper, d: departmentId });
    expect(await accessVersion()).to.be.greaterThan(version!);
  });

  it('a profile change at 1,000 users reads that user again, not all of them; a change that cannot name its users reads all', async () => {
    const template = (await User.findById(userIds.colleague).lean())!;
    await User.insertMany(
      Array.from({ length: 1_000 }, (_, i) => {
        const { _id, ...rest } = template;
        return { ...rest, _id: new mongoose.Types.ObjectId(), login: `many${i}`, loginKey: `many${i}`, fullName: `Сотрудник ${i}`, email: null };
      }),
    );
    await colleague.data(VIEWER);
    // Which users each read of the users' collection asks for: how many records it reads.
    const read: Record<string, unknown>[] = [];
    mongoose.set('debug', (collection: string, method: string, filter: Record<string, unknown>) => {
      if (collection === 'users' && method === 'find') read.push(filter);
    });
    const usersRead = async () => (await Promise.all(read.splice(0).map((filter) => User.countDocuments(filter)))).reduce((sum, count) => sum + count, 0);
    try {
      const loads = accessSnapshotLoads();
      await admin.data('mutation($id: ID!) { updateUser(id: $id, input: { fullName: "Переключатель Третий" }) { id } }', { id: userIds.flipper });
      read.length = 0;
      const { viewer } = await flipper.data<{ viewer: { user: { fullName: string } } }>(VIEWER);
      expect(viewer.user.fullName).to.equal('Переключатель Третий');
      expect(await usersRead()).to.equal(1);

      await User.updateMany({ login: { $in: ['colleague', 'flipper'] } }, { $set: { locale: 'en' } });
      await colleague.data(VIEWER);
      expect(await usersRead()).to.be.greaterThan(1_000);
      expect(accessSnapshotLoads()).to.equal(loads);
    } finally {
      mongoose.set('debug', false);
    }
  });
});
