import { expect } from 'chai';
import mongoose, { Types } from 'mongoose';
import { hashPassword } from '../../server/src/people/passwords';
import type { RunningServer } from '../../server/src/server';
import { testMongoUri, uniqueDbName } from '../support/mongo';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';

describe('an existing database moves from unread marks to watermarks and receipts on start (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  const ids = Object.fromEntries(['department', 'reader', 'author', 'library', 'otherLibrary', 'folder', 'second', 'c1', 'c2', 'c3', 'c4'].map((k) => [k, new Types.ObjectId()]));

  before(async () => {
    // The database as Kartoteka stored it before the data model was versioned: one mark per reader and unread card.
    const uri = await testMongoUri();
    const dbName = uniqueDbName('migrate_reads');
    const connection = await mongoose.createConnection(uri, { dbName }).asPromise();
    const db = connection.db!;
    const passwordHash = await hashPassword(PASSWORD);
    await db.collection('departments').insertOne({ _id: ids.department, name: 'Кассиопея', parentId: null, ipAllowList: [] });
    await db.collection('users').insertMany(
      (['reader', 'author'] as const).map((login) => ({
        _id: ids[login],
        login,
        loginKey: login,
        fullName: login,
        email: '',
        departmentId: ids.department,
        active: true,
        locale: 'ru',
        passwordHash,
        ipAllowList: [],
      })),
    );
    await db.collection('libraries').insertMany([
      { _id: ids.library, name: 'Корреспонденты и контакты', order: 0, accessEntries: [] },
      { _id: ids.otherLibrary, name: 'Прежняя', order: 1, accessEntries: [] },
    ]);
    const entries = [
      { principalType: 'user', principalId: ids.reader, includeSubdepartments: false, level: 'read' },
      { principalType: 'user', principalId: ids.author, includeSubdepartments: false, level: 'full' },
    ];
    await db.collection('folders').insertMany([
      {
        _id: ids.folder,
        libraryId: ids.library,
        parentId: null,
        name: 'Корреспонденты',
        order: 0,
        inheritsAccess: true,
        accessEntries: entries,
        allowedCardTypes: [],
        defaultCardType: null,
      },
      {
        _id: ids.second,
        libraryId: ids.library,
        parentId: null,
        name: 'Вторая',
        order: 1,
        inheritsAccess: true,
        accessEntries: entries,
        allowedCardTypes: [],
        defaultCardType: null,
      },
    ]);
    const at = new Date(Date.now() - 60_000);
    const card = (id: Types.ObjectId, folderId: Types.ObjectId, libraryId: Types.ObjectId, name: string) => ({
      _id: id,
      typeKey: 'counterparty',
      folderId,
      libraryId,
      title: name,
      values: { name },
      searchText: name.toLowerCase(),
      searchKeys: [],
      version: 1,
      createdBy: ids.author,
      updatedBy: ids.author,
      inTrash: false,
      trashedAt: null,
      trashedBy: null,
      createdAt: at,
      updatedAt: at,
    });
    await db.collection('cards').insertMany([
      card(ids.c1, ids.folder, ids.library, 'ООО «Новое»'),
      card(ids.c2, ids.folder, ids.library, 'ООО «Изменённое»'),
      // Its folder was moved here from another library, and the card never learnt it.
      card(ids.c3, ids.folder, ids.otherLibrary, 'ООО «Прочитанное»'),
      card(ids.c4, ids.second, ids.library, 'ООО «Во второй»'),
    ]);
    await db.collection('unread').insertMany([
      { userId: ids.reader, cardId: ids.c1, folderId: ids.folder, newToUser: true, changedFields: [], since: at },
      { userId: ids.reader, cardId: ids.c2, folderId: ids.folder, newToUser: false, changedFields: ['phone'], since: at },
    ]);
    await connection.close();

    server = await startTestServer({}, { dbName });
  });
  after(async () => {
    await server?.stop();
  });

  it('keeps what each user had unread — new or with changed fields — and everything else read', async () => {
    const reader = await signedIn(server, 'reader', PASSWORD);
    const counts = await reader.data<{ unreadCounts: { folderId: string; count: number }[] }>('{ unreadCounts { folderId count } }');
    expect(counts.unreadCounts).to.deep.equal([{ folderId: String(ids.folder), count: 2 }]);
    const states: Record<string, unknown> = {};
    for (const key of ['c1', 'c2', 'c3', 'c4']) {
      const data = await reader.data<{ card: { unread: unknown } | null }>('query($id: ID!) { card(id: $id) { unread { isNew changedFields } } }', { id: String(ids[key]) });
      states[key] = data.card ? data.card.unread : 'not found';
    }
    expect(states).to.deep.equal({ c1: { isNew: true, changedFields: [] }, c2: { isNew: false, changedFields: ['phone'] }, c3: null, c4: null });
    expect((await mongoose.connection.db!.listCollections({ name: 'unread' }).toArray()).length).to.equal(0);
  });
});
