import { expect } from 'chai';
import mongoose from 'mongoose';
import { accessStructureChanged } from '../../server/src/access/changes';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { refusalFields } from '../support/api-client';
import { createFolder, createLibrary } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const MOVE = 'mutation($id: ID!, $p: ID, $l: ID) { moveFolder(id: $id, parentId: $p, libraryId: $l) { id parentId libraryId } }';
const FOLDER = 'query($id: ID!) { folder(id: $id) { id parentId } }';
const CYCLE = { ru: 'Нельзя переместить папку внутрь неё самой' };

describe('moving folders: never a folder under itself (s15 attack A1)', function () {
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

  it('of two moves at once, A under B and B under A, one is stored and the other refused as a cycle', async () => {
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

  it('answers a move into a cycle stored before this check with the refusal, and the administrator breaks it by moving a folder to the top', async () => {
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
});
