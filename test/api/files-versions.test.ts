import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { pdfPageTexts } from '../../server/src/files/pdf-text';
import { drawingLimits } from '../../server/src/files/pages';
import { slowUploaders } from '../../server/src/files/workers';
import type { RunningServer } from '../../server/src/server';
import { refusalFields, type ApiClient } from '../support/api-client';
import { addToSystemGroup, createCorrespondents, createFolder, setFolderAccess, typeChangeApplied, versioned } from '../support/fixtures';
import sharp from 'sharp';
import { blankPdf, downloadFile, memoType, pdfWithText, PNG_1PX, scannedPdf, uploadFile } from '../support/files';
import { signedIn, startTestServer } from '../support/server';
import { SseSubscription } from '../support/sse';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const VERSION = 'id name size version url canDownload canRemove uploadedAt uploadedBy { fullName }';
const CREATE = `mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version title files { id name url } } }`;
const UPDATE = `mutation($id: ID!, $version: Int!, $v: JSON!) { updateCard(id: $id, version: $version, values: $v) { id version files { id } } }`;
const VERSIONS = `query($ids: [ID!]!) { files(ids: $ids) { id versions { ${VERSION} } } }`;
const REMOVE = `mutation($id: ID!) { removeFileVersion(id: $id) { id version } }`;

interface Card {
  id: string;
  version: number;
  title: string;
  files: { id: string; name: string; url: string }[];
}
interface Version {
  id: string;
  name: string;
  size: number;
  version: number;
  url: string;
  canDownload: boolean;
  canRemove: boolean;
  uploadedAt: string;
  uploadedBy: { fullName: string } | null;
}
interface AuditNode {
  kind: string;
  actorLogin: string;
  targetType: string;
  targetId: string;
  targetName: string | null;
  summary: string;
}

describe('files on cards: versions, previews without «Экспорт», names by content, hits in files, quota (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let owner: ApiClient;
  let editor: ApiClient;
  let viewer: ApiClient;
  let outsider: ApiClient;
  let correspondentsId: string;
  let editorId: string;
  let viewerId: string;
  let folderId: string;
  let counterpartyId: string;
  let number = 0;

  const uploaded = async (client: ApiClient, form: Record<string, string>, file: { name: string; content: Buffer }) => {
    const answer = await uploadFile(client, server.url, form, file);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
    return answer.body.file!;
  };
  const createContract = async (client: ApiClient, values: Record<string, unknown>) =>
    (
      await client.data<{ createCard: Card }>(CREATE, {
        f: folderId,
        t: 'contract',
        v: { number: `В-${++number}`, date: '2026-11-26', counterparty: counterpartyId, ...values },
      })
    ).createCard;
  const versions = async (client: ApiClient, id: string) => (await client.data<{ files: { versions: Version[] }[] }>(VERSIONS, { ids: [id] })).files[0]?.versions ?? [];
  const audit = async (kind: string) =>
    (
      await admin.data<{ auditLog: { edges: { node: AuditNode }[] } }>(
        'query($k: String) { auditLog(kind: $k, first: 50) { edges { node { kind actorLogin targetType targetId targetName summary } } } }',
        { k: kind },
      )
    ).auditLog.edges.map((edge) => edge.node);
  const quota = async (client: ApiClient) =>
    (await client.data<{ fileQuota: { usedBytes: number; limitBytes: number } }>('query { fileQuota { usedBytes limitBytes } }')).fileQuota;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'owner', fullName: 'Ольга Полный-Доступ', level: 'full' },
      { login: 'editor', fullName: 'Татьяна Гончаренко', level: 'edit' },
      { login: 'viewer', fullName: 'Только просмотр', level: 'read' },
      // Reads the correspondents only, not the contracts.
      { login: 'outsider', fullName: 'Посторонний', level: 'read' },
    ]);
    correspondentsId = scenario.folderId;
    editorId = scenario.userIds.editor;
    viewerId = scenario.userIds.viewer;
    await addToSystemGroup(admin, 'exporters', [scenario.userIds.owner, scenario.userIds.editor]);
    await addToSystemGroup(admin, 'history-readers', [scenario.userIds.owner]);
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: memoType });
    await admin.data('mutation { setCardTypeHistory(typeKey: "contract", enabled: true) { historyEnabled } }');
    folderId = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Договоры', allowedCardTypes: ['contract', 'memo'] });
    await setFolderAccess(admin, folderId, [
      { principalId: scenario.userIds.owner, level: 'full' },
      { principalId: scenario.userIds.editor, level: 'edit' },
      { principalId: scenario.userIds.viewer, level: 'read' },
    ]);
    counterpartyId = (await admin.data<{ createCard: Card }>(CREATE, { f: scenario.folderId, t: 'counterparty', v: { name: 'ООО «Ромашка»' } })).createCard.id;
    [owner, editor, viewer, outsider] = await Promise.all(['owner', 'editor', 'viewer', 'outsider'].map((login) => signedIn(server, login, PASSWORD)));
  });
  after(async () => {
    await server?.stop();
  });

  it('says on a search hit which file the words were found in, and names none when the card’s own fields hold them', async () => {
    const scan = await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'pangolin.pdf', content: await pdfWithText('Lease of the pangolin enclosure') });
    const card = await createContract(editor, { scan: [scan.id] });
    const hits = async (query: string) =>
      (
        await viewer.data<{ search: { card: { id: string }; foundInFiles: { name: string }[] }[] }>(
          'query($q: String!) { search(query: $q) { card { id } foundInFiles { name } } }',
          { q: query },
        )
      ).search;
    await waitFor(async () => (await hits('pangolin enclosure')).length > 0, 'the PDF text to be searchable');
    expect(await hits('pangolin enclosure')).to.deep.equal([{ card: { id: card.id }, foundInFiles: [{ name: 'pangolin.pdf' }] }]);
    // Words of the title (its number) are the card's own: no file is named.
    const own = (await hits(card.title)).find((hit) => hit.card.id === card.id);
    expect(own?.foundInFiles).to.deep.equal([]);
  });

  it('treats the files of a field the administrator hid like its values: not on the card, not found, not served to readers, kept for administrators', async () => {
    const noteType = {
      ...memoType,
      key: 'secret-note',
      names: { ru: 'Записка с секретом', en: 'Secret note' },
      fields: [...memoType.fields, { key: 'remark', kind: 'string', label: { ru: 'Примечание', en: 'Remark' } }],
    };
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: noteType });
    const notes = await createFolder(admin, {
      libraryId: (await admin.data<{ folder: { libraryId: string } }>('query($id: ID!) { folder(id: $id) { libraryId } }', { id: folderId })).folder.libraryId,
      name: 'Записки',
      allowedCardTypes: ['secret-note'],
    });
    await setFolderAccess(admin, notes, [
      { principalId: editorId, level: 'edit' },
      { principalId: viewerId, level: 'read' },
    ]);
    const file = await uploaded(
      editor,
      { folderId: notes, typeKey: 'secret-note', field: 'attachment' },
      { name: 'aardvark.pdf', content: await pdfWithText('Ledger of the aardvark burrow') },
    );
    const card = (await editor.data<{ createCard: Card }>(CREATE, { f: notes, t: 'secret-note', v: { title: 'Записка', attachment: file.id } })).createCard;
    const found = async () =>
      (await viewer.data<{ search: { card: { id: string } }[] }>('query($q: String!) { search(query: $q) { card { id } } }', { q: 'aardvark burrow' })).search.map(
        (hit) => hit.card.id,
      );
    await waitFor(async () => (await found()).includes(card.id), 'the PDF text to be searchable');

    const hiding = await admin.data<{ updateCardType: { changeJob: { id: string } | null } }>(
      'mutation($d: CardTypeInput!) { updateCardType(definition: $d) { changeJob { id } } }',
      {
        d: await versioned(admin, { ...noteType, fields: noteType.fields.map((field) => (field.key === 'attachment' ? { ...field, hidden: true } : field)) }),
      },
    );
    await typeChangeApplied(admin, hiding.updateCardType.changeJob);
    // A later edit of the card derives its search text again: the hidden field's file text stays out.
    await editor.data(UPDATE, {
      id: card.id,
      version: (await editor.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id: card.id })).card.version,
      v: { remark: 'правка' },
    });
    const seen = await viewer.data<{ card: { files: { id: string }[] } }>('query($id: ID!) { card(id: $id) { files { id } } }', { id: card.id });
    expect(seen.card.files).to.deep.equal([]);
    expect(await found()).to.not.include(card.id);
    expect((await viewer.data<{ files: { id: string }[] }>('query($ids: [ID!]!) { files(ids: $ids) { id } }', { ids: [file.id] })).files).to.deep.equal([]);
    expect((await downloadFile(viewer, server.url, `${file.url}/preview`)).status).to.equal(404);
    expect((await downloadFile(editor, server.url, file.url)).status).to.equal(404);
    // Administrators still reach it, as they do the hidden field's values.
    expect((await admin.data<{ files: { id: string }[] }>('query($ids: [ID!]!) { files(ids: $ids) { id } }', { ids: [file.id] })).files).to.deep.equal([{ id: file.id }]);
    expect((await downloadFile(admin, server.url, file.url)).status).to.equal(200);
  });

  it('shows a reader without «Экспорт» a PDF as its text, never its original bytes, and audits previews apart from downloads', async () => {
    const pdf = await pdfWithText('Confidential terms of the okapi agreement');
    const card = await createContract(editor, { scan: [(await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'okapi.pdf', content: pdf })).id] });
    const url = card.files[0].url;

    const inline = await downloadFile(viewer, server.url, `${url}?inline=1`);
    expect(inline.status).to.equal(403);
    expect(inline.bytes.toString()).to.not.include('%PDF');
    expect(JSON.parse(inline.bytes.toString()).errors[0].message).to.equal(
      'Недостаточно прав: оригинал файла открывается только с правом «Экспорт» (его выдаёт администратор); текст документа доступен в просмотре',
    );
    const text = await downloadFile(viewer, server.url, `${url}/preview`);
    expect(text.status).to.equal(200);
    expect(text.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    expect(text.headers.get('content-security-policy')).to.include('sandbox');
    expect(text.bytes.toString()).to.include('Confidential terms of the okapi agreement').and.not.include('%PDF');

    // A holder of «Экспорт» opens it in the browser's viewer (its safe copy, the same text): a preview, not a download.
    const original = await downloadFile(editor, server.url, `${url}?inline=1`);
    expect(original.status).to.equal(200);
    expect(await pdfPageTexts(original.bytes)).to.deep.equal(['Confidential terms of the okapi agreement']);

    const previewed = (await audit('file-previewed')).filter((node) => node.targetId === card.id);
    expect(previewed.map((node) => node.actorLogin).sort()).to.deep.equal(['editor', 'viewer']);
    expect(previewed[0]).to.include({ targetType: 'Card', targetName: card.title, summary: 'okapi.pdf' });
    expect((await audit('file-downloaded')).filter((node) => node.targetId === card.id)).to.deep.equal([]);
    const refused = (await audit('export-refused')).find((node) => node.targetId === card.id);
    expect(refused).to.include({ actorLogin: 'viewer', targetName: card.title, summary: 'Просмотр оригинала файла «okapi.pdf» без права «Экспорт»' });
  });

  it('draws a scan’s pages on the server for a reader without «Экспорт»: 1,000 px JPEGs page by page, audited once as a view, never the original', async () => {
    const scan = await scannedPdf(['#d01010', '#1030d0', '#10a030']);
    const card = await createContract(editor, { scan: [(await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'скан.pdf', content: scan })).id] });
    const url = card.files[0].url;
    // No text layer: the text preview has nothing to show.
    expect((await downloadFile(viewer, server.url, `${url}/preview`, { accept: 'application/json' })).status).to.equal(422);

    const about = await downloadFile(viewer, server.url, `${url}/pages`);
    expect(about.status).to.equal(200);
    expect(JSON.parse(about.bytes.toString())).to.deep.equal({ pages: 3, shown: 3, widthPx: 1000 });
    // Counted as page 1 was drawn (what the reader asks for next): that page waits for no second turn of the drawing thread.
    const counted = await mongoose.connection.db!.collection('files').findOne({ _id: new mongoose.Types.ObjectId(card.files[0].id) });
    expect(counted?.pageCount).to.equal(3);
    expect(Object.keys(counted?.renditions.pages ?? {})).to.deep.equal(['1']);
    const second = await downloadFile(viewer, server.url, `${url}/pages/2`);
    expect(second.status).to.equal(200);
    expect(second.headers.get('content-type')).to.equal('image/jpeg');
    expect(second.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(second.bytes.includes(Buffer.from('%PDF'))).to.equal(false);
    const drawn = sharp(second.bytes);
    expect(await drawn.metadata()).to.include({ format: 'jpeg', width: 1000, height: 1416 });
    // The second page is the blue one.
    const { dominant } = await drawn.stats();
    expect(dominant.b).to.be.above(150);
    expect(dominant.r).to.be.below(100);
    // Asked again, the kept copy answers the same.
    expect((await downloadFile(viewer, server.url, `${url}/pages/2`)).bytes.equals(second.bytes)).to.equal(true);
    for (const page of ['0', '4', 'abc', '1.5']) expect((await downloadFile(viewer, server.url, `${url}/pages/${page}`)).status, page).to.equal(404);
    // A user who may not read the card gets nothing of it.
    expect((await downloadFile(outsider, server.url, `${url}/pages`)).status).to.equal(404);
    expect((await downloadFile(outsider, server.url, `${url}/pages/1`)).status).to.equal(404);

    // Paging through the pages is one view in the audit log.
    expect((await downloadFile(viewer, server.url, `${url}/pages/1`)).status).to.equal(200);
    const previewed = (await audit('file-previewed')).filter((node) => node.targetId === card.id);
    expect(previewed.map((node) => [node.actorLogin, node.summary])).to.deep.equal([['viewer', 'скан.pdf']]);
    expect((await audit('file-downloaded')).filter((node) => node.targetId === card.id)).to.deep.equal([]);
  });

  it('draws only the first 50 pages, says why the rest are not shown, and tells a PDF that does not open from one that has no pages to draw', async () => {
    const long = await createContract(editor, {
      scan: [(await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'long.pdf', content: await blankPdf(51) })).id],
    });
    const url = long.files[0].url;
    expect(JSON.parse((await downloadFile(viewer, server.url, `${url}/pages`)).bytes.toString())).to.deep.equal({ pages: 51, shown: 50, widthPx: 1000 });
    expect((await downloadFile(viewer, server.url, `${url}/pages/50`)).status).to.equal(200);
    const beyond = await downloadFile(viewer, server.url, `${url}/pages/51`, { accept: 'application/json' });
    expect(beyond.status).to.equal(422);
    expect(JSON.parse(beyond.bytes.toString()).errors[0].message).to.equal('Показываются только первые 50 страниц из 51: остальные — в оригинале (скачивание с правом «Экспорт»)');

    const broken = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(4096)]);
    const damaged = await createContract(editor, {
      scan: [(await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'broken.pdf', content: broken })).id],
    });
    const refused = await downloadFile(viewer, server.url, `${damaged.files[0].url}/pages`);
    expect(refused.status).to.equal(422);
    expect(JSON.parse(refused.bytes.toString()).errors[0].message).to.equal('Превью недоступно: файл повреждён или не читается');
    // A file that is not a PDF has no pages to draw.
    const picture = await uploaded(editor, { folderId, typeKey: 'memo', field: 'attachment' }, { name: 'photo.png', content: PNG_1PX });
    const memo = (await editor.data<{ createCard: Card }>(CREATE, { f: folderId, t: 'memo', v: { title: 'Фото', attachment: picture.id } })).createCard;
    expect((await downloadFile(viewer, server.url, `${memo.files[0].url}/pages`)).status).to.equal(404);
  });

  it('answers the pages not drawn yet of a document one of whose pages took longer than the time limit at once, with the same reason', async () => {
    const scan = await scannedPdf(['#d01010', '#1030d0', '#10a030']);
    const card = await createContract(editor, { scan: [(await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'медленный.pdf', content: scan })).id] });
    const url = card.files[0].url;
    const page = (number: number) => downloadFile(viewer, server.url, `${url}/pages/${number}`, { accept: 'application/json' });
    expect(JSON.parse((await downloadFile(viewer, server.url, `${url}/pages`)).bytes.toString())).to.include({ pages: 3 });
    expect((await page(1)).status).to.equal(200);
    // Page 2 takes longer than the limit, lowered to a millisecond for it (no page is drawn that fast).
    const limit = drawingLimits.timeMs;
    drawingLimits.timeMs = 1;
    let slow;
    try {
      slow = await page(2);
    } finally {
      drawingLimits.timeMs = limit;
    }
    // The uploader's documents are now drawn after everyone else's, within a shorter limit.
    expect(await slowUploaders.has(editorId)).to.equal(true);
    await mongoose.connection.db!.collection('slowuploaders').deleteMany({});
    const reason = 'Превью недоступно: страница не отрисовалась за 0.001 с';
    expect([slow.status, JSON.parse(slow.bytes.toString()).errors[0].message]).to.deep.equal([422, reason]);
    // With the limit back, page 3 would be drawn in a second: it is not drawn, it answers the same.
    const third = await page(3);
    expect([third.status, JSON.parse(third.bytes.toString()).errors[0].message]).to.deep.equal([422, reason]);
    // The page drawn before is still shown; the count is known.
    expect((await page(1)).status).to.equal(200);
    expect(JSON.parse((await downloadFile(viewer, server.url, `${url}/pages`)).bytes.toString())).to.include({ pages: 3 });
  });

  it('stores and serves a file under a name whose extension is what its content is', async () => {
    const memo = { folderId, typeKey: 'memo', field: 'attachment' };
    const pdf = await uploaded(editor, memo, { name: 'scan.docx', content: await pdfWithText('named wrong') });
    expect(pdf).to.include({ name: 'scan.pdf', fileType: 'pdf' });
    const png = await uploaded(editor, memo, { name: 'фото', content: PNG_1PX });
    expect(png.name).to.equal('фото.png');
    const unknown = await uploaded(editor, memo, { name: 'счёт.pdf', content: randomBytes(2048) });
    expect(unknown).to.include({ name: 'счёт.pdf.bin', fileType: null });
    const csv = await uploaded(editor, memo, { name: 'список.csv', content: Buffer.from('a;b\n1;2\n') });
    expect(csv.name).to.equal('список.csv');

    const saved = (await editor.data<{ createCard: Card }>(CREATE, { f: folderId, t: 'memo', v: { title: 'Скан под чужим именем', attachment: pdf.id } })).createCard;
    expect(saved.files[0].name).to.equal('scan.pdf');
    const served = await downloadFile(editor, server.url, saved.files[0].url);
    expect(served.headers.get('content-disposition')).to.equal('attachment; filename="scan.pdf"');
  });

  it('lists every version with who, when and size; earlier ones download and preview under the same rights', async () => {
    const first = await pdfWithText('First draft of the tapir contract');
    const card = await createContract(editor, { scan: [(await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'tapir.pdf', content: first })).id] });
    const next = await uploaded(editor, { cardId: card.id, field: 'scan', replaces: card.files[0].id }, { name: 'tapir.pdf', content: await pdfWithText('Signed tapir contract') });
    await editor.data(UPDATE, { id: card.id, version: card.version, v: { scan: [next.id] } });

    const listed = await versions(owner, next.id);
    expect(listed.map((v) => [v.version, v.name, v.uploadedBy?.fullName, v.canDownload])).to.deep.equal([
      [2, 'tapir.pdf', 'Татьяна Гончаренко', true],
      [1, 'tapir.pdf', 'Татьяна Гончаренко', true],
    ]);
    expect(listed[1].size).to.equal(first.length);
    expect(Date.parse(listed[1].uploadedAt)).to.be.at.most(Date.parse(listed[0].uploadedAt));
    expect((await downloadFile(owner, server.url, listed[1].url)).bytes.equals(first)).to.equal(true);

    const seenByViewer = await versions(viewer, next.id);
    expect(seenByViewer.map((v) => v.canDownload)).to.deep.equal([false, false]);
    expect((await downloadFile(viewer, server.url, seenByViewer[1].url)).status).to.equal(403);
    const earlierText = await downloadFile(viewer, server.url, `${seenByViewer[1].url}/preview`);
    expect(earlierText.bytes.toString()).to.include('First draft of the tapir contract');
  });

  it('lets a user with full access remove an earlier version: its bytes go, the quota frees, history and the audit log record it', async () => {
    const first = await pdfWithText(`Old quote ${'x'.repeat(400)}`);
    const card = await createContract(editor, { scan: [(await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'quote.pdf', content: first })).id] });
    const old = card.files[0];
    const next = await uploaded(editor, { cardId: card.id, field: 'scan', replaces: old.id }, { name: 'quote.pdf', content: await pdfWithText('New quote') });
    await editor.data(UPDATE, { id: card.id, version: card.version, v: { scan: [next.id] } });
    const usedBefore = (await quota(editor)).usedBytes;

    expect((await versions(editor, next.id)).map((v) => v.canRemove)).to.deep.equal([false, false]);
    expect((await versions(owner, next.id)).map((v) => v.canRemove)).to.deep.equal([false, true]);
    const byEditor = await editor.request(REMOVE, { id: old.id });
    expect(byEditor.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    expect(byEditor.errors?.[0].message).to.equal('Недостаточно прав: удалять версии файлов может только пользователь с полным доступом к папке');
    const current = await owner.request(REMOVE, { id: next.id });
    expect(refusalFields(current)).to.deep.equal({ id: 'Это текущая версия файла: удалить можно только прежние версии' });
    expect((await viewer.request(REMOVE, { id: old.id })).errors?.[0].extensions?.code).to.equal('FORBIDDEN');

    const remaining = (await owner.data<{ removeFileVersion: { id: string; version: number }[] }>(REMOVE, { id: old.id })).removeFileVersion;
    expect(remaining).to.deep.equal([{ id: next.id, version: 2 }]);
    expect((await downloadFile(owner, server.url, old.url)).status).to.equal(404);
    expect((await quota(editor)).usedBytes).to.equal(usedBefore - first.length);

    const history = await owner.data<{
      cardHistory: { edges: { node: { action: string; actorName: string; changes: { key: string; files: { change: string; file: { version: number } }[] }[] } }[] };
    }>('query($id: ID!) { cardHistory(cardId: $id) { edges { node { action actorName changes { key files } } } } }', { id: card.id });
    const latest = history.cardHistory.edges[0].node;
    expect(latest).to.deep.include({ action: 'file-version-removed', actorName: 'Ольга Полный-Доступ' });
    expect(latest.changes[0].files).to.deep.equal([{ change: 'version-removed', file: latest.changes[0].files[0].file }]);
    expect(latest.changes[0].files[0].file.version).to.equal(1);
    const verified = await owner.data<{ verifyHistory: { intact: boolean } }>('query($id: ID!) { verifyHistory(cardId: $id) { intact } }', { id: card.id });
    expect(verified.verifyHistory.intact).to.equal(true);
    const removed = (await audit('file-version-removed')).find((node) => node.targetId === card.id);
    expect(removed).to.include({ actorLogin: 'owner', targetName: card.title, summary: 'quote.pdf (v1)' });
  });

  it('puts an earlier version back into the field (as a revert does): it is current again and cannot be removed, the newer one can', async () => {
    const first = await pdfWithText('Lease v1');
    const card = await createContract(editor, { scan: [(await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'lease.pdf', content: first })).id] });
    const old = card.files[0];
    const next = await uploaded(editor, { cardId: card.id, field: 'scan', replaces: old.id }, { name: 'lease.pdf', content: await pdfWithText('Lease v2') });
    const replaced = (await editor.data<{ updateCard: Card }>(UPDATE, { id: card.id, version: card.version, v: { scan: [next.id] } })).updateCard;
    const back = (await editor.data<{ updateCard: Card }>(UPDATE, { id: card.id, version: replaced.version, v: { scan: [old.id] } })).updateCard;
    expect(back.files.map((f) => f.id)).to.deep.equal([old.id]);
    expect(refusalFields(await owner.request(REMOVE, { id: old.id }))).to.deep.equal({ id: 'Это текущая версия файла: удалить можно только прежние версии' });
    expect((await owner.data<{ removeFileVersion: { id: string }[] }>(REMOVE, { id: next.id })).removeFileVersion.map((v) => v.id)).to.deep.equal([old.id]);
    expect((await downloadFile(editor, server.url, old.url)).bytes.equals(first)).to.equal(true);
  });

  it('numbers a new version after the highest of the file, also when the field was set back to an earlier one', async () => {
    const card = await createContract(editor, {
      scan: [(await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'order.pdf', content: await pdfWithText('Order v1') })).id],
    });
    const first = card.files[0];
    const second = await uploaded(editor, { cardId: card.id, field: 'scan', replaces: first.id }, { name: 'order.pdf', content: await pdfWithText('Order v2') });
    const replaced = (await editor.data<{ updateCard: Card }>(UPDATE, { id: card.id, version: card.version, v: { scan: [second.id] } })).updateCard;
    const back = (await editor.data<{ updateCard: Card }>(UPDATE, { id: card.id, version: replaced.version, v: { scan: [first.id] } })).updateCard;
    const third = await uploaded(editor, { cardId: card.id, field: 'scan', replaces: first.id }, { name: 'order.pdf', content: await pdfWithText('Order v3') });
    expect(third.version).to.equal(3);
    await editor.data(UPDATE, { id: card.id, version: back.version, v: { scan: [third.id] } });
    expect((await versions(editor, third.id)).map((v) => v.version)).to.deep.equal([3, 2, 1]);
    // Version 2 removed for good cannot be put back: the field says it was removed (not «attached elsewhere»).
    await owner.data(REMOVE, { id: second.id });
    const current = (await editor.data<{ card: Card }>('query($id: ID!) { card(id: $id) { id version title files { id name url } } }', { id: card.id })).card;
    expect(refusalFields(await editor.request(UPDATE, { id: card.id, version: current.version, v: { scan: [second.id] } }))).to.deep.equal({
      scan: 'Эта версия файла удалена: загрузите файл снова',
    });
    expect((await owner.request(REMOVE, { id: second.id })).errors?.[0]?.message).to.equal('Версия файла не найдена');
  });

  it('never gives a version number twice: the highest version removed for good and cleaned up still counts', async () => {
    const upload = async (replaces: string, text: string) =>
      uploaded(editor, { cardId: card.id, field: 'scan', replaces }, { name: 'permit.pdf', content: await pdfWithText(text) });
    const save = async (ids: string[]) => (await editor.data<{ updateCard: Card }>(UPDATE, { id: card.id, version: (await current()).version, v: { scan: ids } })).updateCard;
    const current = async () => (await editor.data<{ card: Card }>('query($id: ID!) { card(id: $id) { id version title files { id name url } } }', { id: card.id })).card;
    const card = await createContract(editor, {
      scan: [(await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'permit.pdf', content: await pdfWithText('Permit v1') })).id],
    });
    const second = await upload(card.files[0].id, 'Permit v2');
    await save([second.id]);
    const third = await upload(second.id, 'Permit v3');
    expect(third.version).to.equal(3);
    await save([third.id]);
    // The field goes back to version 2, and version 3 — the highest — is removed for good (its description cleaned up at once).
    await save([second.id]);
    await owner.data(REMOVE, { id: third.id });
    expect((await versions(editor, second.id)).map((v) => v.version)).to.deep.equal([2, 1]);

    const fourth = await upload(second.id, 'Permit v4');
    expect(fourth.version).to.equal(4);
    const saved = await save([fourth.id]);
    expect(saved.files.map((f) => f.id)).to.deep.equal([fourth.id]);
    expect((await versions(editor, fourth.id)).map((v) => v.version)).to.deep.equal([4, 2, 1]);
    // Removing the version the counter was started from (an earlier one) changes nothing either.
    await owner.data(REMOVE, { id: second.id });
    const fifth = await upload(fourth.id, 'Permit v5');
    await save([fifth.id]);
    expect((await versions(editor, fifth.id)).map((v) => v.version)).to.deep.equal([5, 4, 1]);
    const history = await owner.data<{ cardHistory: { edges: { node: { changes: { afterTitles: Record<string, string> | null }[] } }[] } }>(
      'query($id: ID!) { cardHistory(cardId: $id, first: 1) { edges { node { changes { afterTitles } } } } }',
      { id: card.id },
    );
    expect(history.cardHistory.edges[0].node.changes[0].afterTitles).to.deep.equal({ [fifth.id]: 'permit.pdf (v5)' });
  });

  it('tells open cards live that a version was removed or added, and nobody who may not read the card', async () => {
    const EVENTS = 'subscription { cardEvents { cardId action actorName } }';
    type Event = { cardEvents: { cardId: string; action: string; actorName: string } };
    const card = await createContract(editor, {
      scan: [(await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'live.pdf', content: await pdfWithText('Live v1') })).id],
    });
    const watching = new SseSubscription<Event>(server.url, viewer.cookieHeader(), EVENTS);
    const stranger = new SseSubscription<Event>(server.url, outsider.cookieHeader(), EVENTS);
    try {
      await Promise.all([watching.ready, stranger.ready]);
      const next = await uploaded(editor, { cardId: card.id, field: 'scan', replaces: card.files[0].id }, { name: 'live.pdf', content: await pdfWithText('Live v2') });
      await editor.data(UPDATE, { id: card.id, version: card.version, v: { scan: [next.id] } });
      await owner.data(REMOVE, { id: card.files[0].id });
      await watching.waitFor(2, 15_000);
      expect(watching.received.map((event) => event.cardEvents)).to.deep.equal([
        { cardId: card.id, action: 'update', actorName: 'Татьяна Гончаренко' },
        { cardId: card.id, action: 'file-version-removed', actorName: 'Ольга Полный-Доступ' },
      ]);
      // Events reach a stream in order: when a later change the outsider may see arrives, anything about the contract would have come before it.
      const visible = (await admin.data<{ createCard: Card }>(CREATE, { f: correspondentsId, t: 'counterparty', v: { name: 'ООО «Видимое»' } })).createCard;
      await stranger.waitFor(1, 15_000);
      expect(stranger.received.map((event) => event.cardEvents.cardId)).to.deep.equal([visible.id]);
    } finally {
      watching.close();
      stranger.close();
    }
  });

  it('tells the version list whether the card’s type keeps history (where a removal is recorded then)', async () => {
    const contract = await createContract(editor, {
      scan: [(await uploaded(editor, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'a.pdf', content: await pdfWithText('History kept') })).id],
    });
    const memoFile = await uploaded(editor, { folderId, typeKey: 'memo', field: 'attachment' }, { name: 'b.pdf', content: await pdfWithText('No history') });
    const memo = (await editor.data<{ createCard: Card }>(CREATE, { f: folderId, t: 'memo', v: { title: 'Записка', attachment: memoFile.id } })).createCard;
    const kept = async (id: string) => (await editor.data<{ files: { historyKept: boolean }[] }>('query($ids: [ID!]!) { files(ids: $ids) { historyKept } }', { ids: [id] })).files;
    expect(await kept(contract.files[0].id)).to.deep.equal([{ historyKept: true }]);
    expect(await kept(memo.files[0].id)).to.deep.equal([{ historyKept: false }]);
  });

  it('tells each user how much of their file quota they use', async () => {
    const before = await quota(editor);
    expect(before.limitBytes).to.equal(5120 * 1024 * 1024);
    const file = await uploaded(editor, { folderId, typeKey: 'memo', field: 'attachment' }, { name: 'note.txt', content: Buffer.from('quota note') });
    expect((await quota(editor)).usedBytes).to.equal(before.usedBytes + file.size);
    expect((await quota(viewer)).usedBytes).to.equal(0);
  });
});
