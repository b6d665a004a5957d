import { expect } from 'chai';
import mongoose from 'mongoose';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { downloadFile, memoType, pdfWithText, uploadFile } from '../support/files';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version } }';
const MOVE = 'mutation($id: ID!, $f: ID!, $v: Int!) { moveCard(id: $id, folderId: $f, version: $v) { id folderId version } }';

describe('files on cards: the «Экспорт» right and the audit of reads (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let clerk: ApiClient;
  let plainFolder: string;
  let exportFolder: string;
  let made = 0;
  let libraryId: string;
  let clerkId: string;

  /** A memo in `folderId` made by `client`, holding an uploaded PDF when `withFile`. */
  const memo = async (client: ApiClient, folderId: string, title: string, withFile: boolean) => {
    made += 1;
    const values: Record<string, unknown> = { title };
    let file: { id: string; url: string; size: number } | undefined;
    if (withFile) {
      const answer = await uploadFile(client, server.url, { folderId, typeKey: 'memo', field: 'attachment' }, { name: `${title}.pdf`, content: await pdfWithText(`Memo ${made}`) });
      expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
      file = answer.body.file!;
      values.attachment = file.id;
    }
    const card = (await client.data<{ createCard: { id: string; version: number } }>(CREATE, { f: folderId, t: 'memo', v: values })).createCard;
    return { card, file };
  };

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'clerk', fullName: 'Наталья Вакуленко', level: 'edit' }]);
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: memoType });
    plainFolder = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Договоры 2026', allowedCardTypes: ['memo'] });
    exportFolder = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Свои выгрузки', allowedCardTypes: ['memo'] });
    // The clerk edits both folders, and holds «Экспорт» only in the second.
    await setFolderAccess(admin, plainFolder, [{ principalId: scenario.userIds.clerk, level: 'edit' }]);
    await setFolderAccess(admin, exportFolder, [{ principalId: scenario.userIds.clerk, level: 'edit', export: true }]);
    libraryId = scenario.libraryId;
    clerkId = scenario.userIds.clerk;
    clerk = await signedIn(server, 'clerk', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('does not let a card, with files or without, move from a folder without «Экспорт» into one with it; other moves go on', async () => {
    const { card, file } = await memo(clerk, plainFolder, 'Договор поставки', true);
    expect((await downloadFile(clerk, server.url, file!.url)).status).to.equal(403);
    const refused = await clerk.request(MOVE, { id: card.id, f: exportFolder, v: card.version });
    expect(refused.errors?.[0]).to.deep.include({
      message:
        'Недостаточно прав: карточку нельзя перенести из папки, где у вас нет права «Экспорт», в папку, где оно есть (так её значения и файлы стали бы доступны вам для выгрузки); обратитесь к администратору',
    });
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    // The card stays where it was, its file still not the clerk's to download.
    const stayed = await clerk.data<{ card: { folderId: string } }>('query($id: ID!) { card(id: $id) { folderId } }', { id: card.id });
    expect(stayed.card.folderId).to.equal(plainFolder);
    expect((await downloadFile(clerk, server.url, file!.url)).status).to.equal(403);

    // A card without files is refused too (its values would become exportable: moving a folder's cards one by one and exporting
    // the other folder took them all out); an administrator (who may export everywhere) moves either.
    const bare = await memo(clerk, plainFolder, 'Без файлов', false);
    const bareRefused = await clerk.request(MOVE, { id: bare.card.id, f: exportFolder, v: bare.card.version });
    expect(bareRefused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    const exported = await fetch(`${server.url}/transfer/export?folderId=${exportFolder}&format=csv`, { headers: { cookie: clerk.cookieHeader() } });
    expect(exported.status).to.equal(200);
    expect(await exported.text()).not.to.contain('Без файлов');
    expect((await admin.data<{ moveCard: { folderId: string } }>(MOVE, { id: bare.card.id, f: exportFolder, v: bare.card.version })).moveCard.folderId).to.equal(exportFolder);
    expect((await admin.data<{ moveCard: { folderId: string } }>(MOVE, { id: card.id, f: exportFolder, v: card.version })).moveCard.folderId).to.equal(exportFolder);
    // Out of the export folder into the other one is no gain: allowed.
    const own = await memo(clerk, exportFolder, 'Своя выгрузка', true);
    expect((await clerk.data<{ moveCard: { folderId: string } }>(MOVE, { id: own.card.id, f: plainFolder, v: own.card.version })).moveCard.folderId).to.equal(plainFolder);
  });

  it('does not let a non-administrator gain «Экспорт» by moving a folder or making it inherit again; a move without gain goes on', async () => {
    const FOLDER = 'query($id: ID!) { folder(id: $id) { parentId inheritsAccess } }';
    const x = await createFolder(admin, { libraryId, name: 'Папка без экспорта', allowedCardTypes: ['memo'] });
    const exf = await createFolder(admin, { libraryId, name: 'Папка с экспортом', allowedCardTypes: ['memo'] });
    const quiet = await createFolder(admin, { libraryId, name: 'Тихая папка', allowedCardTypes: ['memo'] });
    await setFolderAccess(admin, x, [{ principalId: clerkId, level: 'full' }]);
    await setFolderAccess(admin, exf, [{ principalId: clerkId, level: 'full', export: true }]);
    await setFolderAccess(admin, quiet, [{ principalId: clerkId, level: 'full' }]);
    const { file } = await memo(clerk, x, 'Акт сверки', true);
    expect((await downloadFile(clerk, server.url, file!.url)).status).to.equal(403);

    // (a) Moving the folder under one where the clerk exports: refused, nothing moves.
    const moved = await clerk.request('mutation($id: ID!, $p: ID) { moveFolder(id: $id, parentId: $p) { id } }', { id: x, p: exf });
    expect(moved.errors?.[0]).to.deep.include({
      message: 'Недостаточно прав: папка «Папка без экспорта» получила бы право «Экспорт», которое выдаёт только администратор (у вас его там нет); обратитесь к администратору',
    });
    expect(moved.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    expect((await admin.data<{ folder: { parentId: string | null } }>(FOLDER, { id: x })).folder.parentId).to.equal(null);
    expect((await downloadFile(clerk, server.url, file!.url)).status).to.equal(403);
    // A move that grants no «Экспорт» goes on.
    expect(
      (await clerk.data<{ moveFolder: { parentId: string } }>('mutation($id: ID!, $p: ID) { moveFolder(id: $id, parentId: $p) { parentId } }', { id: x, p: quiet })).moveFolder
        .parentId,
    ).to.equal(quiet);
    expect((await downloadFile(clerk, server.url, file!.url)).status).to.equal(403);

    // (b) A sub-folder of the export folder that the administrator cut off from it, without «Экспорт» for the clerk.
    const z = await createFolder(admin, { parentId: exf, name: 'Отрезанная папка', allowedCardTypes: ['memo'] });
    await admin.data('mutation($id: ID!) { setFolderInheritance(id: $id, inherits: false) { id } }', { id: z });
    await setFolderAccess(admin, z, [{ principalId: clerkId, level: 'full', export: false }]);
    const inZ = await memo(clerk, z, 'Счёт', true);
    expect((await downloadFile(clerk, server.url, inZ.file!.url)).status).to.equal(403);
    const resumed = await clerk.request('mutation($id: ID!) { setFolderInheritance(id: $id, inherits: true) { id } }', { id: z });
    expect(resumed.errors?.[0]).to.deep.include({
      message: 'Недостаточно прав: папка «Отрезанная папка» получила бы право «Экспорт», которое выдаёт только администратор (у вас его там нет); обратитесь к администратору',
    });
    expect(resumed.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    expect((await admin.data<{ folder: { inheritsAccess: boolean } }>(FOLDER, { id: z })).folder.inheritsAccess).to.equal(false);
    expect((await downloadFile(clerk, server.url, inZ.file!.url)).status).to.equal(403);
    // The administrator may do both.
    expect(
      (
        await admin.data<{ setFolderInheritance: { inheritsAccess: boolean } }>('mutation($id: ID!) { setFolderInheritance(id: $id, inherits: true) { inheritsAccess } }', {
          id: z,
        })
      ).setFolderInheritance.inheritsAccess,
    ).to.equal(true);
    expect((await downloadFile(clerk, server.url, inZ.file!.url)).status).to.equal(200);
  });

  it('records every range served unless the same kind of read already holds its bytes: a 1-byte read, a preview or an inline view cover no download', async () => {
    const reads = async (fileId: string) =>
      (
        await mongoose.connection
          .db!.collection('auditentries')
          .find({ 'after.fileId': fileId, kind: { $in: ['file-downloaded', 'file-previewed'] } })
          .sort({ at: 1, _id: 1 })
          .toArray()
      ).map((entry) => `${entry.kind} ${entry.after.disposition} ${entry.after.range ?? 'whole'}`);
    const get = async (url: string, range?: string) => {
      const answer = await downloadFile(admin, server.url, url, range ? { range } : {});
      expect(answer.status).to.be.oneOf([200, 206]);
      return answer;
    };

    // One byte, then the rest: both are on record.
    const first = (await memo(admin, exportFolder, 'Первый', true)).file!;
    const last = first.size - 1;
    await get(first.url, 'bytes=0-0');
    expect((await get(first.url, 'bytes=1-')).bytes.length).to.equal(last);
    // Bytes already recorded are not recorded again.
    await get(first.url, 'bytes=5-10');
    expect(await reads(first.id)).to.deep.equal(['file-downloaded attachment 0-0', `file-downloaded attachment 1-${last}`]);

    // The text preview is not the original: it covers no download of it.
    const second = (await memo(admin, exportFolder, 'Второй', true)).file!;
    expect((await downloadFile(admin, server.url, `${second.url}/preview`)).status).to.equal(200);
    await get(second.url, 'bytes=1-');
    expect(await reads(second.id)).to.deep.equal(['file-previewed preview whole', `file-downloaded attachment 1-${second.size - 1}`]);

    // An inline view covers further inline parts, not a download.
    const third = (await memo(admin, exportFolder, 'Третий', true)).file!;
    await get(`${third.url}?inline=1`);
    await get(`${third.url}?inline=1`, 'bytes=100-');
    await get(third.url, 'bytes=1-');
    expect(await reads(third.id)).to.deep.equal(['file-previewed inline whole', `file-downloaded attachment 1-${third.size - 1}`]);
  });
});
