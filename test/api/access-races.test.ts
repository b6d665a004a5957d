import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import mongoose, { Types } from 'mongoose';
import { accessStructureChanged } from '../../server/src/access/changes';
import { findCardType } from '../../server/src/card-types/registry';
import { Card } from '../../server/src/cards/model';
import { newCardDocument } from '../../server/src/cards/service';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { refusalFields } from '../support/api-client';
import { createDepartment, createFolder, createLibrary, createUser } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const MOVE = 'mutation($id: ID!, $p: ID, $l: ID) { moveFolder(id: $id, parentId: $p, libraryId: $l) { id parentId libraryId } }';
const FOLDER = 'query($id: ID!) { folder(id: $id) { id parentId } }';
const MOVE_DEPARTMENT = 'mutation($id: ID!, $p: ID) { updateDepartment(id: $id, input: { parentId: $p }) { id } }';
const CREATE_FOLDER = 'mutation($p: ID!, $n: String!) { createFolder(input: { parentId: $p, name: $n }) { id } }';
const FOLDER_LIBRARY = 'query($id: ID!) { folder(id: $id) { libraryId } }';
const CYCLE = { ru: 'Нельзя переместить папку внутрь неё самой' };

describe('folders, access and groups changed by two people at once (s15 attacks A1, A6, A7)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let libraryId: string;

  const folders = async (...names: string[]) => Promise.all(names.map((name) => createFolder(admin, { libraryId, name })));
  const parentOf = async (id: string) => (await admin.data<{ folder: { parentId: string | null } }>(FOLDER, { id })).folder.parentId;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    libraryId = await createLibrary(admin, 'Архив переездов');
  });
  after(async () => {
    await server?.stop();
  });

  it('moving folders: of two moves at once, A under B and B under A, one is stored and the other refused as a cycle', async () => {
    for (let round = 0; round < 5; round += 1) {
      const [a, b] = await folders(`Отдел A ${round}`, `Отдел B ${round}`);
      const [aUnderB, bUnderA] = await Promise.all([admin.request(MOVE, { id: a, p: b }), admin.request(MOVE, { id: b, p: a })]);
      const refused = [aUnderB, bUnderA].filter((answer) => answer.errors);
      expect(refused, JSON.stringify([aUnderB, bUnderA])).to.have.length(1);
      expect(refusalFields(refused[0]!)).to.deep.equal({ parentId: CYCLE.ru });
      const [parentOfA, parentOfB] = [await parentOf(a), await parentOf(b)];
      expect(
        [parentOfA, parentOfB].filter((parent) => parent === null),
        'one of the two stays at the top',
      ).to.have.length(1);
      expect(parentOfA === b || parentOfB === a).to.equal(true);
    }
  });

  it('moving folders: of two moves at once crossing between two libraries, or around three, one is refused as a cycle (s15 re-attack B1)', async () => {
    const libraries = [libraryId, await createLibrary(admin, 'Архив Б'), await createLibrary(admin, 'Архив В')];
    for (let round = 0; round < 3; round += 1) {
      const [a, b, c] = await Promise.all(libraries.map((library, n) => createFolder(admin, { libraryId: library, name: `Кольцо ${round}-${n}` })));
      const answers = await Promise.all([
        admin.request(MOVE, { id: a, p: b }),
        admin.request(MOVE, { id: b, p: round === 0 ? a : c }),
        ...(round === 0 ? [] : [admin.request(MOVE, { id: c, p: a })]),
      ]);
      const refused = answers.filter((answer) => answer.errors);
      expect(refused.length, JSON.stringify(answers)).to.equal(1);
      expect(refusalFields(refused[0]!)).to.deep.equal({ parentId: CYCLE.ru });
      // Every folder still reaches a library: at least one of them stays at the top of its own.
      expect((await Promise.all([a, b, c].map(parentOf))).filter((parent) => parent === null).length).to.be.at.least(1);
    }
  });

  it('moving departments: of two changes at once, A under B and B under A, one is stored and the other refused as a cycle', async () => {
    for (let round = 0; round < 4; round += 1) {
      const [a, b] = await Promise.all([createDepartment(admin, `Отдел-А ${round}`), createDepartment(admin, `Отдел-Б ${round}`)]);
      const answers = await Promise.all([admin.request(MOVE_DEPARTMENT, { id: a, p: b }), admin.request(MOVE_DEPARTMENT, { id: b, p: a })]);
      const refused = answers.filter((answer) => answer.errors);
      expect(refused, JSON.stringify(answers)).to.have.length(1);
      expect(refusalFields(refused[0]!)).to.deep.equal({ parentId: 'Нельзя вложить подразделение само в себя' });
      const { departments } = await admin.data<{ departments: { id: string; parentId: string | null }[] }>('{ departments { id parentId } }');
      const parents = departments.filter((d) => d.id === a || d.id === b).map((d) => d.parentId);
      expect(
        parents.filter((parent) => parent === null),
        'one of the two stays at the top',
      ).to.have.length(1);
    }
  });

  it('a sub-folder created while its parent moves to another library ends in the library its parent is in (s15 B3)', async () => {
    const other = await createLibrary(admin, 'Архив Г');
    const type = (await findCardType('counterparty'))!;
    const author = { userId: (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id } as Parameters<typeof newCardDocument>[0];
    for (let round = 0; round < 4; round += 1) {
      const parent = await createFolder(admin, { libraryId, name: `Переезжающая ${round}` });
      // Cards to follow the parent keep its move's transaction open a while, as in the attack (1,500 cards).
      const place = { _id: new Types.ObjectId(parent), libraryId: new Types.ObjectId(libraryId) };
      await Card.collection.insertMany(Array.from({ length: 1500 }, (_, n) => newCardDocument(author, type, place, { name: `ООО «Груз ${round}-${n}»` }, new Date())));
      const [, created] = await Promise.all([
        admin.request(MOVE, { id: parent, l: other }),
        sleep(30 + 60 * round).then(() => admin.request<{ createFolder: { id: string } }>(CREATE_FOLDER, { p: parent, n: `Новая ${round}` })),
      ]);
      const [moved, child] = await Promise.all([parent, created.data!.createFolder.id].map((id) => admin.data<{ folder: { libraryId: string } }>(FOLDER_LIBRARY, { id })));
      expect(moved.folder.libraryId).to.equal(other);
      expect(child.folder.libraryId, `round ${round}`).to.equal(other);
    }
  });

  it('moving folders: answers a move into a cycle stored before this check with the refusal, and the administrator breaks it by moving a folder to the top', async () => {
    const [a, b, c] = await folders('Петля A', 'Петля B', 'Новая C');
    // Such a cycle could be stored by two moves at once before the check above, or come back with an old backup.
    const folderIds = [a, b].map((id) => new mongoose.Types.ObjectId(id));
    await mongoose.connection.db!.collection('folders').updateOne({ _id: folderIds[0] }, { $set: { parentId: folderIds[1] } });
    await mongoose.connection.db!.collection('folders').updateOne({ _id: folderIds[1] }, { $set: { parentId: folderIds[0] } });
    await accessStructureChanged();

    const intoCycle = await admin.request(MOVE, { id: c, p: a });
    expect(refusalFields(intoCycle)).to.deep.equal({ parentId: CYCLE.ru });
    expect(await parentOf(c)).to.equal(null);

    // Moving a folder of the cycle to another library takes its sub-folders once each, and ends.
    const other = await createLibrary(admin, 'Архив после ремонта');
    const moved = await admin.data<{ moveFolder: { parentId: string | null; libraryId: string } }>(MOVE, { id: a, l: other });
    expect(moved.moveFolder).to.deep.include({ parentId: null, libraryId: other });
    const stored = await mongoose.connection.db!.collection('folders').findOne({ _id: folderIds[1] });
    expect(String(stored!.libraryId)).to.equal(other);
    expect(await parentOf(b)).to.equal(a);
  });

  it('stopping or resuming inheritance keeps a revoke this instance has not heard of yet (made through another, a moment ago)', async () => {
    const departmentId = await createDepartment(admin, 'Отдел кадров');
    const leaver = await createUser(admin, { login: 'leaver', fullName: 'Уходящий Сотрудник', password: 'secret-password-1', departmentId });
    const GRANT = 'mutation($id: ID!, $u: ID!) { grantFolderAccess(id: $id, entry: { principalType: user, principalId: $u, level: edit }) { id } }';
    const INHERIT = 'mutation($id: ID!, $i: Boolean!) { setFolderInheritance(id: $id, inherits: $i) { id } }';
    for (const inherits of [false, true]) {
      const [folderId] = await folders(`Кадры ${inherits ? 'наследует' : 'своя'}`);
      if (inherits) await admin.data(INHERIT, { id: folderId, i: false });
      await admin.data(GRANT, { id: folderId, u: leaver });
      expect(await parentOf(folderId)).to.equal(null); // a read: this instance's snapshot now holds the grant
      // The revoke as another instance commits it: stored, while this instance's access snapshot (at
      // most a second behind, as the README says) still holds the entry.
      await mongoose.connection.db!.collection('folders').updateOne({ _id: new mongoose.Types.ObjectId(folderId) }, {
        $pull: { accessEntries: { principalId: new mongoose.Types.ObjectId(leaver) } },
        $inc: { accessRevision: 1 },
      } as never);
      await admin.data(INHERIT, { id: folderId, i: inherits });
      const stored = await mongoose.connection.db!.collection('folders').findOne({ _id: new mongoose.Types.ObjectId(folderId) });
      expect(stored!.inheritsAccess).to.equal(inherits);
      expect(
        (stored!.accessEntries as { principalId: unknown }[]).map((entry) => String(entry.principalId)),
        `inherits: ${inherits}`,
      ).not.to.include(leaver);
    }
  });

  it('two administrators changing one group at once both keep their change', async () => {
    const departmentId = await createDepartment(admin, 'Доверенные');
    const users = await Promise.all(
      ['first', 'second', 'third'].map((login) => createUser(admin, { login: `group-${login}`, fullName: `Сотрудник ${login}`, password: 'secret-password-1', departmentId })),
    );
    const other = await signedIn(server);
    const group = (await admin.data<{ createGroup: { id: string } }>('mutation { createGroup(name: "Проверка договоров") { id } }')).createGroup.id;
    const CHANGE = 'mutation($id: ID!, $add: [ID!], $remove: [ID!]) { changeGroupMembers(id: $id, add: $add, remove: $remove) { id } }';
    await admin.data(CHANGE, { id: group, add: [users[0]] });
    for (let round = 0; round < 5; round += 1) {
      const [joining, leaving] = round % 2 === 0 ? [users[1]!, users[0]!] : [users[0]!, users[1]!];
      const answers = await Promise.all([admin.request(CHANGE, { id: group, remove: [leaving] }), other.request(CHANGE, { id: group, add: [joining, users[2]] })]);
      expect(answers.map((answer) => answer.errors ?? null)).to.deep.equal([null, null]);
      const { groups } = await admin.data<{ groups: { id: string; members: { id: string }[] }[] }>('{ groups { id members { id } } }');
      const members = groups.find((g) => g.id === group)!.members.map((member) => member.id);
      expect(members.sort(), `round ${round}`).to.deep.equal([joining, users[2]!].sort());
    }
  });
});
