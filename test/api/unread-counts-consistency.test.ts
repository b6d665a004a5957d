import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createFolder, createCorrespondents } from '../support/fixtures';
import { seededRandom } from '../support/random';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const COUNTS = '{ unreadCounts { folderId count } }';
const PAGE = 'query($f: ID!) { cards(folderId: $f, first: 100) { edges { node { id version unread { isNew } } } } }';

interface Row {
  id: string;
  version: number;
  unread: { isNew: boolean } | null;
}

/**
 * The unread counts a reader sees on the folders are counted from index keys (changed since each
 * folder's watermark, less the cards opened since and unchanged, plus those marked unread); the
 * bold rows of a folder's page are decided card by card from the same read state. After random
 * creations, edits, moves, deletions and restorations by a colleague, the reader's own reading,
 * marking unread and marking folders read, and access taken away and given back, every folder's
 * count equals its bold rows.
 */
describe('unread counts equal the bold rows after random operations (API)', function () {
  this.timeout(240_000);
  let server: RunningServer;
  let admin: ApiClient;
  let tatiana: ApiClient;
  let natalia: ApiClient;
  let nataliaId: string;
  const folders: string[] = [];

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'nvakulenko', fullName: 'Наталья Вакуленко', level: 'read' },
    ]);
    nataliaId = scenario.userIds.nvakulenko!;
    folders.push(scenario.folderId);
    for (const name of ['Поставщики', 'Архив']) {
      const folderId = await createFolder(admin, { libraryId: scenario.libraryId, name, allowedCardTypes: ['counterparty'] });
      await grant(folderId, scenario.userIds.tgoncharenko!, 'full');
      await grant(folderId, nataliaId, 'read');
      folders.push(folderId);
    }
    tatiana = await signedIn(server, 'tgoncharenko', PASSWORD);
    natalia = await signedIn(server, 'nvakulenko', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  async function grant(folderId: string, principalId: string, level: 'read' | 'full'): Promise<void> {
    await admin.data('mutation($id: ID!, $e: AccessEntryInput!) { grantFolderAccess(id: $id, entry: $e) { id } }', {
      id: folderId,
      e: { principalType: 'user', principalId, level },
    });
  }

  const page = async (client: ApiClient, folderId: string): Promise<Row[]> =>
    (await client.data<{ cards: { edges: { node: Row }[] } }>(PAGE, { f: folderId })).cards.edges.map((edge) => edge.node);

  async function readableFolders(): Promise<string[]> {
    const { folders: visible } = await natalia.data<{ folders: { id: string }[] }>('{ folders { id } }');
    return folders.filter((folder) => visible.some((f) => f.id === folder));
  }

  /** Natalia's counts, and the bold rows of each folder she reads. */
  async function countsAndBoldRows(): Promise<{ counts: Record<string, number>; bold: Record<string, number> }> {
    const { unreadCounts } = await natalia.data<{ unreadCounts: { folderId: string; count: number }[] }>(COUNTS);
    const bold: Record<string, number> = {};
    for (const folder of await readableFolders()) {
      const n = (await page(natalia, folder)).filter((row) => row.unread !== null).length;
      if (n > 0) bold[folder] = n;
    }
    return { counts: Object.fromEntries(unreadCounts.map((c) => [c.folderId, c.count])), bold };
  }

  it('after each of 70 random operations by a colleague, the reader and an administrator, counts equal bold rows', async () => {
    const next = seededRandom(20261126);
    const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
    const trashed: string[] = [];
    let archiveReadable = true;
    let highest = 0;
    const operations = new Map<string, number>();

    for (let step = 0; step < 70; step++) {
      const folder = pick(folders);
      const rows = await page(tatiana, folder);
      const roll = next();
      let operation: string;
      if (rows.length < 3 || roll < 0.2) {
        operation = 'create';
        await tatiana.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', {
          f: folder,
          v: { name: `Контрагент ${step}` },
        });
      } else if (roll < 0.35) {
        operation = 'update';
        const row = pick(rows);
        await tatiana.data('mutation($id: ID!, $ver: Int!, $v: JSON!) { updateCard(id: $id, version: $ver, values: $v) { id } }', {
          id: row.id,
          ver: row.version,
          v: { notes: `правка ${step}` },
        });
      } else if (roll < 0.45) {
        operation = 'move';
        const row = pick(rows);
        const target = pick(folders.filter((f) => f !== folder));
        await tatiana.data('mutation($f: ID!, $id: ID!, $ver: Int!) { moveCard(folderId: $f, id: $id, version: $ver) { id } }', { f: target, id: row.id, ver: row.version });
      } else if (roll < 0.53) {
        operation = 'delete';
        const row = pick(rows);
        await tatiana.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: row.id });
        trashed.push(row.id);
      } else if (roll < 0.58 && trashed.length > 0) {
        operation = 'restore';
        const id = trashed.splice(Math.floor(next() * trashed.length), 1)[0]!;
        await tatiana.data('mutation($id: ID!) { restoreCard(id: $id) { id } }', { id });
      } else if (roll < 0.78) {
        operation = 'read a card';
        const readable = await readableFolders();
        const seen = readable.includes(folder) ? await page(natalia, folder) : [];
        if (seen.length > 0) await natalia.data('mutation($id: ID!) { markCardRead(id: $id) }', { id: pick(seen).id });
      } else if (roll < 0.86) {
        operation = 'mark a card unread';
        const readable = await readableFolders();
        const seen = readable.includes(folder) ? await page(natalia, folder) : [];
        if (seen.length > 0) await natalia.data('mutation($id: ID!) { markCardUnread(id: $id) }', { id: pick(seen).id });
      } else if (roll < 0.95) {
        operation = 'mark a folder read';
        if ((await readableFolders()).includes(folder)) await natalia.data('mutation($f: ID!) { markFolderRead(folderId: $f) }', { f: folder });
      } else {
        operation = archiveReadable ? 'access taken away' : 'access given back';
        const archive = folders[2]!;
        if (archiveReadable) {
          await admin.data('mutation($id: ID!, $p: ID!) { revokeFolderAccess(id: $id, principalId: $p, principalType: user) { id } }', { id: archive, p: nataliaId });
          await waitFor(async () => !(await readableFolders()).includes(archive));
        } else {
          await grant(archive, nataliaId, 'read');
          await waitFor(async () => (await readableFolders()).includes(archive));
        }
        archiveReadable = !archiveReadable;
      }
      operations.set(operation, (operations.get(operation) ?? 0) + 1);

      const { counts, bold } = await countsAndBoldRows();
      expect(counts, `after step ${step} (${operation})`).to.deep.equal(bold);
      highest = Math.max(highest, ...Object.values(counts), 0);
    }
    // The walk did what it says: every kind of operation, and folders with several unread cards.
    expect([...operations.keys()].sort()).to.include.members(['create', 'update', 'move', 'delete', 'restore', 'read a card', 'mark a card unread', 'mark a folder read']);
    expect(operations.get('access taken away') ?? 0).to.be.at.least(1);
    expect(highest).to.be.at.least(3);
  });
});
