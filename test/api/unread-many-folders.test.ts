import { expect } from 'chai';
import { Types } from 'mongoose';
import { Folder } from '../../server/src/folders/models';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { databaseCommandsDuring } from '../support/commands';
import { createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }';
const COUNTS = '{ unreadCounts { folderId count } }';

/** Resolves once the clock has moved past the moment it was called (a watermark set before is older than what follows). */
async function nextMillisecond(): Promise<void> {
  const now = Date.now();
  while (Date.now() <= now) await new Promise((resolve) => setImmediate(resolve));
}

describe('unread counts of a reader of many folders (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let tatiana: ApiClient;
  let natalia: ApiClient;
  const folders: string[] = [];

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    const admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'nvakulenko', fullName: 'Наталья Вакуленко', level: 'read' },
    ]);
    // 519 more folders of the library, each granting Татьяна full access and Наталья reading.
    const entries = [
      { principalType: 'user', principalId: new Types.ObjectId(scenario.userIds.tgoncharenko), level: 'full' },
      { principalType: 'user', principalId: new Types.ObjectId(scenario.userIds.nvakulenko), level: 'read' },
    ];
    const more = await Folder.insertMany(
      Array.from({ length: 519 }, (_, i) => ({ libraryId: new Types.ObjectId(scenario.libraryId), name: `Папка ${i + 1}`, order: i + 1, accessEntries: entries })),
    );
    folders.push(scenario.folderId, ...more.map((folder) => String(folder._id)));
    tatiana = await signedIn(server, 'tgoncharenko', PASSWORD);
    natalia = await signedIn(server, 'nvakulenko', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('counts new cards per folder after each folder’s watermark, with trashed cards and cards read one by one left out', async () => {
    expect((await natalia.data<{ folders: { id: string }[] }>('{ folders { id } }')).folders).to.have.length(520);
    const chosen = [0, 1, 250, 499, 500, 519].map((i) => folders[i]!);
    const created: Record<string, string[]> = {};
    for (const folder of chosen) {
      created[folder] = [];
      for (const name of ['Альфа', 'Бета', 'Гамма']) created[folder].push((await tatiana.data<{ createCard: { id: string } }>(CREATE, { f: folder, v: { name } })).createCard.id);
    }
    // One card in every fifth folder besides: more folders with unread cards than a reply's default batch of 101.
    const others = folders.filter((folder, i) => i % 5 === 2 && !chosen.includes(folder));
    for (const folder of others) await tatiana.data(CREATE, { f: folder, v: { name: 'Омега' } });
    // Наталья reads two folders whole; afterwards one new card arrives in each.
    for (const folder of [chosen[1]!, chosen[4]!])
      expect(await natalia.data<{ markFolderRead: number }>('mutation($f: ID!) { markFolderRead(folderId: $f) }', { f: folder })).to.deep.equal({ markFolderRead: 3 });
    await nextMillisecond();
    for (const folder of [chosen[1]!, chosen[4]!]) await tatiana.data(CREATE, { f: folder, v: { name: 'Дельта' } });
    // A card goes to the trash; another is read one by one.
    await tatiana.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: created[chosen[2]!]![0] });
    await natalia.data('mutation($id: ID!) { markCardRead(id: $id) }', { id: created[chosen[5]!]![1] });

    const { result: counts, commands: sent } = await databaseCommandsDuring(() => natalia.data<{ unreadCounts: { folderId: string; count: number }[] }>(COUNTS));
    const commands = sent.filter((command) => command.collection === 'cards').map((command) => command.name);
    expect(Object.fromEntries(counts.unreadCounts.map((c) => [c.folderId, c.count]))).to.deep.equal({
      [chosen[0]!]: 3,
      [chosen[1]!]: 1,
      [chosen[2]!]: 2,
      [chosen[3]!]: 3,
      [chosen[4]!]: 1,
      [chosen[5]!]: 2,
      ...Object.fromEntries(others.map((folder) => [folder, 1])),
    });
    expect(counts.unreadCounts)
      .to.have.length(6 + others.length)
      .and.length.above(101);
    // 520 folders: two aggregates of at most 500 folders each (each answered in one reply), and one checking the card read
    // one by one by its index key (unchanged since read): no card is read.
    expect(commands).to.deep.equal(['aggregate', 'aggregate', 'aggregate']);
    // Татьяна wrote every card herself: nothing is unread for her.
    expect((await tatiana.data<{ unreadCounts: unknown[] }>(COUNTS)).unreadCounts).to.deep.equal([]);
  });
});
