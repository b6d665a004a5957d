import { expect } from 'chai';
import mongoose from 'mongoose';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { addToSystemGroup, createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { downloadFile, memoType, pdfWithText, uploadFile } from '../support/files';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version files { id } } }';
const UPDATE = 'mutation($id: ID!, $version: Int!, $v: JSON!) { updateCard(id: $id, version: $version, values: $v) { id version } }';
const MERGE = `mutation($s: CardVersionInput!, $m: [CardVersionInput!]!, $c: [MergeChoiceInput!]!) {
  mergeCards(survivor: $s, merged: $m, choices: $c) { merge { id canUndo } survivor { id version values files { id name } } } }`;
const UNDO = 'mutation($id: ID!) { undoMerge(id: $id) { id undoneAt } }';
const CARD = 'query($id: ID!) { card(id: $id) { id version inTrash values files { id name url version } } }';
const VERSIONS = 'query($ids: [ID!]!) { files(ids: $ids) { id versions { id version name } } }';
const HISTORY = 'query($id: ID!) { cardHistory(cardId: $id) { edges { node { action changes { key before after afterTitles beforeTitles files } } } } }';
const VERIFY = 'query($id: ID!) { verifyHistory(cardId: $id) { intact reason } }';

interface CardView {
  id: string;
  version: number;
  inTrash: boolean;
  values: Record<string, unknown>;
  files: { id: string; name: string; url: string; version: number }[];
}
interface HistoryChange {
  key: string;
  before: unknown;
  after: unknown;
  afterTitles: Record<string, string | null> | null;
  beforeTitles: Record<string, string | null> | null;
  files: { change: string; file: { id: string; name: string; sha256: string; version: number } }[] | null;
}

describe('duplicates: merging cards that hold files, and undoing it (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  /** Reads (and may export from) the first contracts folder only. */
  let viewer: ApiClient;
  /** Edits both contracts folders, with «Экспорт» in the first only. */
  let clerk: ApiClient;
  let clerkId: string;
  let folders: { first: string; second: string };
  let counterpartyId: string;
  let number = 0;
  /** PDF text in Latin letters (the test PDFs' standard font has no Cyrillic), different for each file. */
  let texts = 0;

  const uploaded = async (form: Record<string, string>, name: string) => {
    const answer = await uploadFile(editor, server.url, form, { name, content: await pdfWithText(`Scan number ${++texts}`) });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
    return answer.body.file!;
  };
  const card = async (client: ApiClient, id: string) => (await client.data<{ card: CardView | null }>(CARD, { id })).card;
  const history = async (id: string) =>
    (await admin.data<{ cardHistory: { edges: { node: { action: string; changes: HistoryChange[] } }[] } }>(HISTORY, { id })).cardHistory.edges.map((e) => e.node);
  const versionsOf = async (id: string) =>
    (await admin.data<{ files: { versions: { id: string; version: number; name: string }[] }[] }>(VERSIONS, { ids: [id] })).files[0]?.versions ?? [];
  const quota = async () => (await editor.data<{ fileQuota: { usedBytes: number } }>('query { fileQuota { usedBytes } }')).fileQuota.usedBytes;
  const stored = () => mongoose.connection.db!.collection('fs.files').countDocuments();
  const download = async (client: ApiClient, fileId: string) => (await downloadFile(client, server.url, `/files/${fileId}`)).status;

  /** A contract in `folder` whose scan holds one file in two versions (the second current) and, optionally, one more file. */
  async function contractWithScan(folder: string, name: string) {
    const first = await uploaded({ folderId: folder, typeKey: 'contract', field: 'scan' }, `${name}.pdf`);
    const created = (
      await editor.data<{ createCard: { id: string; version: number } }>(CREATE, {
        f: folder,
        t: 'contract',
        v: { number: `Д-${++number}`, date: '2026-11-26', counterparty: counterpartyId, scan: [first.id] },
      })
    ).createCard;
    const second = await uploaded({ cardId: created.id, field: 'scan', replaces: first.id }, `${name}.pdf`);
    const updated = (await editor.data<{ updateCard: { id: string; version: number } }>(UPDATE, { id: created.id, version: created.version, v: { scan: [second.id] } })).updateCard;
    return { id: created.id, version: updated.version, first: first.id, current: second.id };
  }

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'editor', fullName: 'Татьяна Гончаренко', level: 'edit' },
      { login: 'viewer', fullName: 'Наталья Вакуленко', level: 'read' },
      { login: 'clerk', fullName: 'Без права экспорта', level: 'read' },
    ]);
    clerkId = scenario.userIds.clerk;
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: memoType });
    await admin.data('mutation { setCardTypeHistory(typeKey: "contract", enabled: true) { historyEnabled } }');
    await admin.data('mutation { setCardTypeHistory(typeKey: "memo", enabled: true) { historyEnabled } }');
    await addToSystemGroup(admin, 'exporters', [scenario.userIds.viewer, scenario.userIds.editor]);
    folders = {
      first: await createFolder(admin, { libraryId: scenario.libraryId, name: 'Договоры', allowedCardTypes: ['contract', 'memo'] }),
      second: await createFolder(admin, { libraryId: scenario.libraryId, name: 'Договоры филиала', allowedCardTypes: ['contract', 'memo'] }),
    };
    // Contracts have no duplicate rules: merging them puts cards in the trash that only the right to delete («Полный доступ») may.
    await setFolderAccess(admin, folders.first, [
      { principalId: scenario.userIds.editor, level: 'full' },
      { principalId: scenario.userIds.viewer, level: 'read' },
      { principalId: clerkId, level: 'full', export: true },
    ]);
    await setFolderAccess(admin, folders.second, [
      { principalId: scenario.userIds.editor, level: 'full' },
      { principalId: clerkId, level: 'full' },
    ]);
    counterpartyId = (await admin.data<{ createCard: { id: string } }>(CREATE, { f: scenario.folderId, t: 'counterparty', v: { name: 'ООО «Ромашка»' } })).createCard.id;
    [editor, viewer, clerk] = await Promise.all(['editor', 'viewer', 'clerk'].map((login) => signedIn(server, login, PASSWORD)));
  });
  after(async () => {
    await server?.stop();
  });

  it('unites both cards’ files in a multi-file field, moves them with their versions, downloads follow the survivor, and the undo gives each card its own files back', async () => {
    const x = await contractWithScan(folders.first, 'Аренда');
    const y = await contractWithScan(folders.second, 'Аренда филиал');
    const [bytesBefore, storedBefore] = [await quota(), await stored()];
    // The viewer may not read the second folder: its files are hidden from them.
    expect(await download(viewer, y.current)).to.equal(404);

    const done = (
      await editor.data<{ mergeCards: { merge: { id: string; canUndo: boolean }; survivor: CardView } }>(MERGE, {
        s: { id: x.id, version: x.version },
        m: [{ id: y.id, version: y.version }],
        c: [],
      })
    ).mergeCards;
    expect(done.survivor.values.scan).to.deep.equal([x.current, y.current]);
    expect(done.survivor.files.map((file) => file.name)).to.deep.equal(['Аренда.pdf', 'Аренда филиал.pdf']);
    // The merged card in the trash keeps what it had.
    const merged = (await card(editor, y.id))!;
    expect(merged.inTrash).to.equal(true);
    expect(merged.values.scan).to.deep.equal([y.current]);
    expect(merged.files.map((file) => file.id)).to.deep.equal([y.current]);
    // The file came with its versions; nothing was copied.
    expect((await versionsOf(y.current)).map((version) => [version.id, version.version])).to.deep.equal([
      [y.current, 2],
      [y.first, 1],
    ]);
    expect(await quota()).to.equal(bytesBefore);
    expect(await stored()).to.equal(storedBefore);
    // Downloads follow the survivor's folder now, earlier versions too.
    expect(await download(viewer, y.current)).to.equal(200);
    expect(await download(viewer, y.first)).to.equal(200);

    // Both histories record the file change.
    const survivorEntry = (await history(x.id)).find((entry) => entry.action === 'merge')!;
    const scanChange = survivorEntry.changes.find((change) => change.key === 'scan')!;
    expect(scanChange.files!.map((record) => [record.change, record.file.id, record.file.version])).to.deep.equal([['added', y.current, 2]]);
    expect(scanChange.files![0].file.sha256).to.match(/^[0-9a-f]{64}$/);
    const mergedEntry = (await history(y.id)).find((entry) => entry.action === 'merge')!;
    const handed = mergedEntry.changes.find((change) => change.key === 'mergedFiles')!;
    expect(handed.before).to.deep.equal(['Аренда филиал.pdf (v2)']);
    expect(Object.keys(handed.afterTitles ?? {})).to.deep.equal([x.id]);

    await editor.data(UNDO, { id: done.merge.id });
    const [survivorAfter, mergedAfter] = [(await card(editor, x.id))!, (await card(editor, y.id))!];
    expect(survivorAfter.values.scan).to.deep.equal([x.current]);
    expect(survivorAfter.files.map((file) => file.id)).to.deep.equal([x.current]);
    expect(mergedAfter.inTrash).to.equal(false);
    expect(mergedAfter.files.map((file) => file.id)).to.deep.equal([y.current]);
    expect((await versionsOf(y.current)).map((version) => version.id)).to.deep.equal([y.current, y.first]);
    // Back in the second folder: hidden from the viewer again.
    expect(await download(viewer, y.current)).to.equal(404);
    expect(await download(editor, y.current)).to.equal(200);
    expect(await quota()).to.equal(bytesBefore);
    expect(await stored()).to.equal(storedBefore);
    const back = (await history(y.id)).find((entry) => entry.action === 'unmerge')!.changes.find((change) => change.key === 'mergedFiles')!;
    expect(back.after).to.deep.equal(['Аренда филиал.pdf (v2)']);
    const survivorBack = (await history(x.id)).find((entry) => entry.action === 'unmerge')!.changes.find((change) => change.key === 'scan')!;
    expect(survivorBack.files!.map((record) => [record.change, record.file.id])).to.deep.equal([['removed', y.current]]);
    for (const id of [x.id, y.id]) expect((await admin.data<{ verifyHistory: { intact: boolean } }>(VERIFY, { id })).verifyHistory.intact).to.equal(true);

    // Each card's files can still be replaced by a new version on their own card.
    const next = await uploaded({ cardId: y.id, field: 'scan', replaces: y.current }, 'Аренда филиал.pdf');
    const saved = (await editor.data<{ updateCard: { version: number } }>(UPDATE, { id: y.id, version: mergedAfter.version, v: { scan: [next.id] } })).updateCard;
    expect(saved.version).to.equal(mergedAfter.version + 1);
    expect((await versionsOf(next.id)).map((version) => version.version)).to.deep.equal([3, 2, 1]);
  });

  it('keeps the chosen card’s file in a single-file field; the other stays with its card, and the undo gives both back', async () => {
    const memo = async (folder: string, title: string) => {
      const file = await uploaded({ folderId: folder, typeKey: 'memo', field: 'attachment' }, `${title}.pdf`);
      const created = (await editor.data<{ createCard: { id: string; version: number } }>(CREATE, { f: folder, t: 'memo', v: { title, attachment: file.id } })).createCard;
      return { ...created, file: file.id };
    };
    const a = await memo(folders.first, 'Записка');
    const b = await memo(folders.second, 'Записка филиала');
    const done = (
      await editor.data<{ mergeCards: { merge: { id: string }; survivor: CardView } }>(MERGE, {
        s: { id: a.id, version: a.version },
        m: [{ id: b.id, version: b.version }],
        c: [{ field: 'attachment', cardId: b.id }],
      })
    ).mergeCards;
    expect(done.survivor.values.attachment).to.equal(b.file);
    expect(done.survivor.files.map((file) => file.name)).to.deep.equal(['Записка филиала.pdf']);
    expect(await download(viewer, b.file)).to.equal(200);
    // The survivor's own file was not taken anywhere: it is still its card's (an earlier value of its field).
    expect(await download(editor, a.file)).to.equal(200);
    const change = (await history(a.id)).find((entry) => entry.action === 'merge')!.changes.find((one) => one.key === 'attachment')!;
    expect(change.files!.map((record) => [record.change, record.file.id]).sort()).to.deep.equal(
      [
        ['added', b.file],
        ['removed', a.file],
      ].sort(),
    );

    await editor.data(UNDO, { id: done.merge.id });
    expect((await card(editor, a.id))!.values.attachment).to.equal(a.file);
    expect((await card(editor, a.id))!.files.map((file) => file.id)).to.deep.equal([a.file]);
    expect((await card(editor, b.id))!.files.map((file) => file.id)).to.deep.equal([b.file]);
    expect(await download(viewer, b.file)).to.equal(404);
  });

  it('gives the merged card its files back when the survivor is deleted for good, so that restoring it brings them back', async () => {
    const x = await contractWithScan(folders.first, 'Поставка');
    const y = await contractWithScan(folders.second, 'Поставка филиал');
    await editor.data(MERGE, { s: { id: x.id, version: x.version }, m: [{ id: y.id, version: y.version }], c: [] });
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: x.id });
    expect((await admin.data<{ purgeCard: boolean }>('mutation($id: ID!) { purgeCard(id: $id) }', { id: x.id })).purgeCard).to.equal(true);
    expect(await download(editor, x.current)).to.equal(404);
    // The survivor's own file went with it; the merged card's stayed, with its versions.
    await admin.data('mutation($id: ID!) { restoreCard(id: $id) { id } }', { id: y.id });
    const restored = (await card(editor, y.id))!;
    expect(restored.files.map((file) => file.id)).to.deep.equal([y.current]);
    expect(await download(editor, y.current)).to.equal(200);
    expect((await versionsOf(y.current)).map((version) => version.id)).to.deep.equal([y.current, y.first]);
    expect((await admin.data<{ verifyHistory: { intact: boolean } }>(VERIFY, { id: y.id })).verifyHistory.intact).to.equal(true);
  });

  it('restoring a merged card from the trash: refused while the merge can be undone; later the card comes back with the files the survivor no longer shows, and without those it shows', async () => {
    const RESTORE = 'mutation($id: ID!) { restoreCard(id: $id) { id inTrash } }';
    const x = await contractWithScan(folders.first, 'Хранение');
    const y = await contractWithScan(folders.second, 'Хранение филиал');
    const done = (await editor.data<{ mergeCards: { survivor: CardView } }>(MERGE, { s: { id: x.id, version: x.version }, m: [{ id: y.id, version: y.version }], c: [] }))
      .mergeCards;
    const refused = await admin.request(RESTORE, { id: y.id });
    expect(refused.errors?.[0].extensions?.code).to.equal('CONFLICT');
    expect(refused.errors?.[0].message).to.equal(
      `Карточка объединена с «${done.survivor.values.number as string} от 26.11.2026»: чтобы вернуть её, нажмите «Отменить объединение» на странице карточки — вернутся и её значения, файлы и ссылки`,
    );
    expect((await card(editor, y.id))!.inTrash).to.equal(true);

    // The survivor changed since (its number): the merge can no longer be undone; the survivor shows
    // y's file, so it stays there and leaves y's field.
    await editor.data(UPDATE, { id: x.id, version: done.survivor.version, v: { number: `${done.survivor.values.number as string}-изм` } });
    expect((await admin.data<{ restoreCard: { inTrash: boolean } }>(RESTORE, { id: y.id })).restoreCard.inTrash).to.equal(false);
    const [survivor, restored] = [(await card(editor, x.id))!, (await card(editor, y.id))!];
    expect(survivor.files.map((file) => file.id)).to.deep.equal([x.current, y.current]);
    expect(restored.values.scan).to.deep.equal([]);
    expect(restored.files).to.deep.equal([]);
    const kept = (await history(y.id)).find((entry) => entry.action === 'restore')!.changes.find((change) => change.key === 'mergedFiles')!;
    expect(kept.before).to.deep.equal(['Хранение филиал.pdf (v2)']);
    expect(Object.keys(kept.afterTitles ?? {})).to.deep.equal([x.id]);

    // Another pair: the survivor dropped the merged card's file from its field since — restored, the card gets it back, with its versions.
    const z = await contractWithScan(folders.first, 'Охрана');
    const w = await contractWithScan(folders.second, 'Охрана филиал');
    const merged = (await editor.data<{ mergeCards: { survivor: CardView } }>(MERGE, { s: { id: z.id, version: z.version }, m: [{ id: w.id, version: w.version }], c: [] }))
      .mergeCards;
    await editor.data(UPDATE, { id: z.id, version: merged.survivor.version, v: { scan: [z.current] } });
    await admin.data(RESTORE, { id: w.id });
    const back = (await card(editor, w.id))!;
    expect(back.files.map((file) => file.id)).to.deep.equal([w.current]);
    expect((await versionsOf(w.current)).map((version) => version.id)).to.deep.equal([w.current, w.first]);
    expect((await card(editor, z.id))!.files.map((file) => file.id)).to.deep.equal([z.current]);
    // Back in the second folder: hidden from the viewer, as before the merge.
    expect(await download(viewer, w.current)).to.equal(404);
    expect(await download(editor, w.current)).to.equal(200);
    const given = (await history(w.id)).find((entry) => entry.action === 'restore')!.changes.find((change) => change.key === 'mergedFiles')!;
    expect(given.after).to.deep.equal(['Охрана филиал.pdf (v2)']);
    for (const id of [x.id, y.id, z.id, w.id]) expect((await admin.data<{ verifyHistory: { intact: boolean } }>(VERIFY, { id })).verifyHistory.intact).to.equal(true);
  });

  it('does not hand values or files from a folder where the user lacks «Экспорт» to one where they have it (FORBIDDEN, naming the folder); the other way merges', async () => {
    const REFUSAL =
      'Недостаточно прав: объединение карточек — значения и файлы перешли бы из папки «Договоры филиала», где у вас нет права «Экспорт», в папку, где оно есть (так они стали бы доступны вам для выгрузки); оставьте главной карточку из папки без этого права или обратитесь к администратору';
    const x = await contractWithScan(folders.first, 'Подряд');
    const y = await contractWithScan(folders.second, 'Подряд филиал');
    expect(await download(clerk, y.current)).to.equal(403);
    const refused = await clerk.request(MERGE, { s: { id: x.id, version: x.version }, m: [{ id: y.id, version: y.version }], c: [] });
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    expect(refused.errors?.[0].message).to.equal(REFUSAL);
    // Values alone: a card without files, its «Предмет» chosen for a survivor of the clerk's own in the folder with «Экспорт».
    const plain = async (folder: string, subject: string) =>
      (
        await editor.data<{ createCard: { id: string; version: number } }>(CREATE, {
          f: folder,
          t: 'contract',
          v: { number: `Д-${++number}`, date: '2026-11-26', counterparty: counterpartyId, subject },
        })
      ).createCard;
    const shell = await plain(folders.first, 'Пустышка');
    const secret = await plain(folders.second, 'Секретный предмет');
    const valuesOnly = await clerk.request(MERGE, {
      s: { id: shell.id, version: shell.version },
      m: [{ id: secret.id, version: secret.version }],
      c: [{ field: 'subject', cardId: secret.id }],
    });
    expect(valuesOnly.errors?.[0].message).to.equal(REFUSAL);
    expect((await card(editor, shell.id))!.values.subject).to.equal('Пустышка');
    expect((await card(editor, secret.id))!.inTrash).to.equal(false);
    expect((await card(editor, y.id))!.inTrash).to.equal(false);
    expect(await download(clerk, y.current)).to.equal(403);
    // Into the folder without «Экспорт»: nothing becomes downloadable to them.
    const done = await clerk.data<{ mergeCards: { survivor: CardView } }>(MERGE, { s: { id: y.id, version: y.version }, m: [{ id: x.id, version: x.version }], c: [] });
    expect(done.mergeCards.survivor.values.scan).to.deep.equal([y.current, x.current]);
    expect(await download(clerk, x.current)).to.equal(403);
  });
});
