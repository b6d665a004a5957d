import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Document, Packer, Paragraph, TextRun } from 'docx';
import mongoose from 'mongoose';
import { writeSnapshot } from '../../server/src/backup/snapshot';
import { imageWork } from '../../server/src/files/preview';
import { removeExpiredFiles } from '../../server/src/files/service';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { addToSystemGroup, createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { sendEndlessBody } from '../support/endless-body';
import { downloadFile, memoType, pdfWithText, PNG_1PX, uploadFile } from '../support/files';
import { signedIn, startTestServer, TEST_ADMIN } from '../support/server';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const FILES = 'files { id fieldKey name size sha256 fileType version url versions { id version sha256 } }';
const CREATE = `mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version values ${FILES} } }`;
const UPDATE = `mutation($id: ID!, $version: Int!, $v: JSON!) { updateCard(id: $id, version: $version, values: $v) { id version values ${FILES} } }`;
const CARD = `query($id: ID!) { card(id: $id) { id version values ${FILES} } }`;

interface StoredFile {
  id: string;
  fieldKey: string;
  name: string;
  size: number;
  sha256: string;
  fileType: string | null;
  version: number;
  url: string;
  versions: { id: string; version: number; sha256: string }[];
}
interface Saved {
  id: string;
  version: number;
  values: Record<string, unknown>;
  files: StoredFile[];
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('files on cards: upload, attach, download (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let reader: ApiClient;
  let outsider: ApiClient;
  let viewer: ApiClient;
  let folderId: string;
  let counterpartyId: string;
  let libraryId: string;
  let viewerId: string;
  let editorId: string;
  let contractNumber = 0;

  const upload = (client: ApiClient | null, form: Record<string, string>, file: { name: string; content: Buffer }, options?: { csrf?: boolean }) =>
    uploadFile(client, server.url, form, file, options);
  const forNewContract = (field = 'scan') => ({ folderId, typeKey: 'contract', field });
  const uploaded = async (client: ApiClient, form: Record<string, string>, file: { name: string; content: Buffer }) => {
    const answer = await upload(client, form, file);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
    return answer.body.file!;
  };
  const contractValues = (values: Record<string, unknown>) => ({ number: `Д-${++contractNumber}`, date: '2026-11-26', counterparty: counterpartyId, ...values });
  const createContract = async (client: ApiClient, values: Record<string, unknown>) =>
    (await client.data<{ createCard: Saved }>(CREATE, { f: folderId, t: 'contract', v: contractValues(values) })).createCard;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'editor', fullName: 'Татьяна Гончаренко', level: 'edit' },
      { login: 'reader', fullName: 'Наталья Вакуленко', level: 'read' },
      { login: 'outsider', fullName: 'Посторонний', level: 'read' },
      { login: 'viewer', fullName: 'Только просмотр', level: 'read' },
    ]);
    libraryId = scenario.libraryId;
    viewerId = scenario.userIds.viewer;
    editorId = scenario.userIds.editor;
    // Downloading is export: the editor and the reader hold «Экспорт», the viewer does not.
    await addToSystemGroup(admin, 'exporters', [scenario.userIds.editor, scenario.userIds.reader]);
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: memoType });
    folderId = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Договоры', allowedCardTypes: ['contract', 'commercial-proposal', 'memo'] });
    await setFolderAccess(admin, folderId, [
      { principalId: scenario.userIds.editor, level: 'edit' },
      { principalId: scenario.userIds.reader, level: 'read' },
      { principalId: scenario.userIds.viewer, level: 'read' },
    ]);
    counterpartyId = (await admin.data<{ createCard: Saved }>(CREATE, { f: scenario.folderId, t: 'counterparty', v: { name: 'ООО «Ромашка»' } })).createCard.id;
    [editor, reader, outsider, viewer] = await Promise.all(['editor', 'reader', 'outsider', 'viewer'].map((login) => signedIn(server, login, PASSWORD)));
  });
  after(async () => {
    await server?.stop();
  });

  it('uploads a PDF for a new «Договор», attaches it on saving, and serves the same bytes whole and in a range', async () => {
    const pdf = await pdfWithText('Signed contract zebra');
    const file = await uploaded(editor, forNewContract(), { name: 'Скан договора.pdf', content: pdf });
    expect(file).to.include({ name: 'Скан договора.pdf', size: pdf.length, sha256: sha256(pdf), fileType: 'pdf', contentType: 'application/pdf' });

    const card = await createContract(editor, { scan: [file.id] });
    expect(card.values.scan).to.deep.equal([file.id]);
    expect(card.files.map((f) => [f.fieldKey, f.name, f.version])).to.deep.equal([['scan', 'Скан договора.pdf', 1]]);

    for (const client of [editor, reader, admin]) {
      const whole = await downloadFile(client, server.url, card.files[0].url);
      expect(whole.status).to.equal(200);
      expect(whole.bytes.equals(pdf)).to.equal(true);
      expect(whole.headers.get('content-type')).to.equal('application/pdf');
      expect(whole.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(whole.headers.get('content-disposition')).to.match(/^attachment; filename=.*filename\*=UTF-8''%D0%A1%D0%BA%D0%B0%D0%BD/);
    }
    const part = await downloadFile(reader, server.url, card.files[0].url, { range: 'bytes=10-99' });
    expect(part.status).to.equal(206);
    expect(part.headers.get('content-range')).to.equal(`bytes 10-99/${pdf.length}`);
    expect(part.bytes.equals(pdf.subarray(10, 100))).to.equal(true);
    const tail = await downloadFile(reader, server.url, card.files[0].url, { range: 'bytes=-20' });
    expect(tail.bytes.equals(pdf.subarray(pdf.length - 20))).to.equal(true);
    const beyond = await downloadFile(reader, server.url, card.files[0].url, { range: `bytes=${pdf.length + 5}-` });
    expect(beyond.status).to.equal(416);
    const inline = await downloadFile(reader, server.url, `${card.files[0].url}?inline=1`);
    expect(inline.headers.get('content-disposition')).to.match(/^inline;/);

    // Who downloaded what, when and from where: ranged reads count once, at their first part.
    const audit = await admin.data<{ auditLog: { edges: { node: { actorLogin: string; ip: string; targetId: string; summary: string } }[] } }>(
      'query { auditLog(kind: "file-downloaded", first: 50) { edges { node { actorLogin ip targetId summary } } } }',
    );
    const logins = audit.auditLog.edges
      .map((edge) => edge.node)
      .filter((node) => node.targetId === card.id)
      .map((node) => node.actorLogin);
    expect(logins.sort()).to.deep.equal(['admin', 'editor', 'reader']);
    expect(audit.auditLog.edges[0].node).to.include({ summary: 'Скан договора.pdf', ip: '127.0.0.1' });
  });

  it('finds a contract by a phrase in its scan’s text layer once the text is extracted in the background', async () => {
    const pdf = await pdfWithText('Delivery of the quokka consignment');
    const card = await createContract(editor, { scan: [(await uploaded(editor, forNewContract(), { name: 'quokka.pdf', content: pdf })).id] });
    const search = async (client: ApiClient) =>
      (await client.data<{ search: { card: { id: string } }[] }>('query { search(query: "quokka consignment") { card { id } } }')).search.map((hit) => hit.card.id);
    await waitFor(async () => (await search(reader)).includes(card.id), 'the search to find the contract by its scan');
    expect(await search(outsider)).to.deep.equal([]);
  });

  it('previews a DOCX as sanitised read-only HTML and an image as a JPEG thumbnail, for readers of the card', async () => {
    const docx = await Packer.toBuffer(
      new Document({
        sections: [
          {
            children: [
              new Paragraph({ children: [new TextRun('Коммерческое предложение: поставка бумаги')] }),
              new Paragraph({ children: [new TextRun('<script>alert(1)</script>')] }),
            ],
          },
        ],
      }),
    );
    const file = await uploaded(editor, { folderId, typeKey: 'commercial-proposal', field: 'proposalFile' }, { name: 'КП.docx', content: docx });
    expect(file.fileType).to.equal('docx');
    const proposal = (await editor.data<{ createCard: Saved }>(CREATE, { f: folderId, t: 'commercial-proposal', v: contractValues({ proposalFile: file.id }) })).createCard;
    const preview = await downloadFile(reader, server.url, `${proposal.files[0].url}/preview`);
    expect(preview.status).to.equal(200);
    expect(preview.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    expect(preview.headers.get('content-security-policy')).to.include('sandbox');
    expect(preview.bytes.toString()).to.include('Коммерческое предложение: поставка бумаги').and.not.include('<script>');
    expect((await downloadFile(outsider, server.url, `${proposal.files[0].url}/preview`)).status).to.equal(404);

    const png = await uploaded(editor, forNewContract(), { name: 'page1.png', content: PNG_1PX });
    const card = await createContract(editor, { scan: [png.id] });
    const thumbnail = await downloadFile(reader, server.url, `${card.files[0].url}/thumbnail`);
    expect(thumbnail.status).to.equal(200);
    expect(thumbnail.headers.get('content-type')).to.equal('image/jpeg');
    expect([...thumbnail.bytes.subarray(0, 3)]).to.deep.equal([0xff, 0xd8, 0xff]);
  });

  it('audits a thumbnail of a scan as a view of the file, once per user within minutes (like paging), for a reader without «Экспорт»', async () => {
    const png = await uploaded(editor, forNewContract(), { name: 'скан-договора.png', content: PNG_1PX });
    const card = await createContract(editor, { scan: [png.id] });
    const views = async () =>
      (await mongoose.connection.db!.collection('auditentries').find({ kind: 'file-previewed', 'after.fileId': png.id }).sort({ at: 1, _id: 1 }).toArray()).map(
        (entry) => `${entry.actorLogin} ${entry.after.disposition} ${entry.after.file}`,
      );
    expect((await downloadFile(viewer, server.url, card.files[0].url)).status, 'the original, without «Экспорт»').to.equal(403);
    for (let shown = 0; shown < 3; shown += 1) expect((await downloadFile(viewer, server.url, `${card.files[0].url}/thumbnail`)).status).to.equal(200);
    expect(await views()).to.deep.equal(['viewer thumbnail скан-договора.png']);
    // Another user's look at it is their own view.
    expect((await downloadFile(reader, server.url, `${card.files[0].url}/thumbnail`)).status).to.equal(200);
    expect(await views()).to.deep.equal(['viewer thumbnail скан-договора.png', 'reader thumbnail скан-договора.png']);
  });

  it('makes thumbnails two at a time for the whole server, in turn by uploader, so that sign-in and files keep threads of their own', async () => {
    // Both places of the image work are taken (other users' large pictures) until released.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const holders = ['other-1', 'other-2'].map((owner) => imageWork.run(owner, () => held));
    try {
      const png = await uploaded(editor, forNewContract(), { name: 'в очереди.png', content: PNG_1PX });
      const thumbnail = downloadFile(editor, server.url, `${png.url}/thumbnail`);
      await waitFor(() => imageWork.waitingCount(editorId) === 1, 'the thumbnail waiting for a place');
      release();
      expect((await thumbnail).status).to.equal(200);
    } finally {
      release();
      await Promise.all(holders);
    }
  });

  it('tells an uploader whether the file will be theirs to download once saved: without «Экспорт» it is not', async () => {
    const drafts = await createFolder(admin, { libraryId, name: 'Черновики', allowedCardTypes: ['memo'] });
    await setFolderAccess(admin, drafts, [{ principalId: viewerId, level: 'edit' }]);
    const memoFile = await uploaded(viewer, { folderId: drafts, typeKey: 'memo', field: 'attachment' }, { name: 'записка.txt', content: Buffer.from('служебная записка') });
    expect(memoFile.canDownload, 'the uploader without «Экспорт»').to.equal(false);
    const scan = await uploaded(editor, forNewContract(), { name: 'scan.pdf', content: await pdfWithText('scan') });
    expect(scan.canDownload, 'an uploader with «Экспорт»').to.equal(true);
    const contract = await createContract(editor, { scan: [scan.id] });
    const second = await uploaded(editor, { cardId: contract.id, field: 'scan' }, { name: 'scan-2.pdf', content: await pdfWithText('scan 2') });
    expect(second.canDownload, 'a file for a saved card, uploaded by a holder of «Экспорт»').to.equal(true);
  });

  it('counts downloading as export: without «Экспорт» a reader previews a PDF’s text in the card but cannot save it', async () => {
    const pdf = await pdfWithText('export');
    const card = await createContract(editor, { scan: [(await uploaded(editor, forNewContract(), { name: 'export.pdf', content: pdf })).id] });
    const refused = await downloadFile(viewer, server.url, card.files[0].url);
    expect(refused.status).to.equal(403);
    expect(JSON.parse(refused.bytes.toString()).errors[0].message).to.equal('Недостаточно прав: скачивание файла — это экспорт (нужно право «Экспорт»: его выдаёт администратор)');
    const preview = await downloadFile(viewer, server.url, `${card.files[0].url}/preview`);
    expect(preview.status).to.equal(200);
    expect(preview.bytes.toString()).to.include('export').and.not.include('%PDF');
    const query = 'query($id: ID!) { card(id: $id) { files { canDownload } } }';
    expect((await viewer.data<{ card: { files: { canDownload: boolean }[] } }>(query, { id: card.id })).card.files).to.deep.equal([{ canDownload: false }]);
    expect((await reader.data<{ card: { files: { canDownload: boolean }[] } }>(query, { id: card.id })).card.files).to.deep.equal([{ canDownload: true }]);
    const audit = await admin.data<{ auditLog: { edges: { node: { actorLogin: string; targetId: string } }[] } }>(
      'query { auditLog(kind: "export-refused", first: 5) { edges { node { actorLogin targetId } } } }',
    );
    expect(audit.auditLog.edges[0].node).to.deep.equal({ actorLogin: 'viewer', targetId: card.id });
  });

  it('keeps bytes identical across GridFS chunks: a 600 KB file, whole and in a range spanning chunks', async () => {
    const content = randomBytes(600 * 1024);
    const file = await uploaded(admin, { folderId, typeKey: 'memo', field: 'attachment' }, { name: 'данные.bin', content });
    expect(file).to.include({ size: content.length, sha256: sha256(content), fileType: null, contentType: 'application/octet-stream' });
    const card = (await admin.data<{ createCard: Saved }>(CREATE, { f: folderId, t: 'memo', v: { title: 'Большое вложение', attachment: file.id } })).createCard;
    const whole = await downloadFile(reader, server.url, card.files[0].url);
    expect(sha256(whole.bytes)).to.equal(sha256(content));
    const start = 255 * 1024 - 100;
    const part = await downloadFile(reader, server.url, card.files[0].url, { range: `bytes=${start}-${start + 300_000}` });
    expect(part.status).to.equal(206);
    expect(part.bytes.equals(content.subarray(start, start + 300_001))).to.equal(true);
  });

  it('audits a read that does not start at byte 0 (bytes=1-), a viewer’s run of ranges after its whole read once, and parts read without one each', async () => {
    const content = randomBytes(1_000_000);
    const file = await uploaded(admin, { folderId, typeKey: 'memo', field: 'attachment' }, { name: 'части.bin', content });
    const card = (await admin.data<{ createCard: Saved }>(CREATE, { f: folderId, t: 'memo', v: { title: 'Чтение по частям', attachment: file.id } })).createCard;
    const readsBy = async (login: string) => {
      const audit = await admin.data<{ auditLog: { edges: { node: { actorLogin: string; targetId: string } }[] } }>(
        'query { auditLog(kind: "file-downloaded", first: 50) { edges { node { actorLogin targetId } } } }',
      );
      return audit.auditLog.edges.filter(({ node }) => node.targetId === card.id && node.actorLogin === login).length;
    };
    const allButFirst = await downloadFile(reader, server.url, card.files[0].url, { range: 'bytes=1-' });
    expect(allButFirst.status).to.equal(206);
    expect(allButFirst.bytes.equals(content.subarray(1))).to.equal(true);
    expect(await readsBy('reader')).to.equal(1);

    const step = 256 * 1024;
    const parts = async (client: ApiClient) => {
      for (let start = step; start < content.length; start += step) {
        const part = await downloadFile(client, server.url, card.files[0].url, { range: `bytes=${start}-${Math.min(start + step, content.length) - 1}` });
        expect(part.status).to.equal(206);
      }
    };
    // A viewer asks for the whole file first, then for parts of it: one read.
    expect((await downloadFile(editor, server.url, card.files[0].url)).status).to.equal(200);
    await parts(editor);
    expect(await readsBy('editor')).to.equal(1);
    // Parts taken without a whole read are each on record (the reader's first read covered bytes 1 on).
    await parts(admin);
    expect(await readsBy(TEST_ADMIN.login)).to.equal(Math.ceil(content.length / step) - 1);
  });

  it('refuses a file of a type the field does not take, judged by its content, with the field’s message', async () => {
    const png = await upload(editor, forNewContract('scan'), { name: 'scan.png', content: PNG_1PX });
    expect(png.status).to.equal(201);
    const proposal = await upload(editor, { folderId, typeKey: 'commercial-proposal', field: 'proposalFile' }, { name: 'предложение.pdf', content: PNG_1PX });
    expect(proposal.status).to.equal(400);
    // A name claiming an allowed type is told what the content is (s10 verify U12).
    expect(proposal.body.errors?.[0].extensions).to.deep.equal({
      code: 'BAD_USER_INPUT',
      fields: { proposalFile: 'Файл «предложение.pdf» — по содержимому это PNG, а не PDF. Допустимые типы файлов: PDF, DOCX, XLSX' },
    });
    const page = await upload(editor, forNewContract(), { name: 'договор.pdf', content: Buffer.from('<html><script>alert(1)</script></html>') });
    expect(page.status).to.equal(400);
    expect(page.body.errors?.[0].extensions.fields).to.deep.equal({ scan: 'Файл «договор.pdf» — по содержимому это TXT, а не PDF. Допустимые типы файлов: PDF, JPG, PNG, TIFF' });
    const word = await upload(editor, forNewContract(), {
      name: 'скан-подписанный.pdf',
      content: await Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph('подписан')] }] })),
    });
    expect(word.body.errors?.[0].extensions.fields).to.deep.equal({
      scan: 'Файл «скан-подписанный.pdf» — по содержимому это DOCX, а не PDF. Допустимые типы файлов: PDF, JPG, PNG, TIFF',
    });
    // A name claiming nothing, or the type it is, gets the field's types alone.
    const honest = await upload(editor, forNewContract(), {
      name: 'письмо.docx',
      content: await Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph('письмо')] }] })),
    });
    expect(honest.body.errors?.[0].extensions.fields).to.deep.equal({ scan: 'Допустимые типы файлов: PDF, JPG, PNG, TIFF' });
  });

  it('carries on serving when a client cuts an upload off half-way (connection reset)', async () => {
    const { port } = new URL(server.url);
    const boundary = 'cut-off';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="folderId"\r\n\r\n${folderId}\r\n--${boundary}\r\nContent-Disposition: form-data; name="typeKey"\r\n\r\ncontract\r\n--${boundary}\r\nContent-Disposition: form-data; name="field"\r\n\r\nscan\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n`;
    const before = await mongoose.connection.db!.collection('fs.files').countDocuments();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const socket = connect(Number(port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write(
        `POST /files HTTP/1.1\r\nHost: localhost\r\nCookie: ${editor.cookieHeader()}\r\nx-graphql-yoga-csrf: 1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const chunk = (data: Buffer) => socket.write(Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]));
      chunk(Buffer.from(head));
      for (let mb = 0; mb < 3; mb += 1) chunk(Buffer.alloc(1024 * 1024));
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      socket.resetAndDestroy();
    }
    // The server answers and takes a whole upload afterwards; nothing of the cut-off ones is kept.
    expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
    await uploaded(editor, forNewContract(), { name: 'после.pdf', content: await pdfWithText('after') });
    await waitFor(async () => (await mongoose.connection.db!.collection('fs.files').countDocuments()) === before + 1);
  });

  it('stops reading a refused upload whose body never ends: the answer comes with Connection: close and the connection closes', async () => {
    const boundary = 'endless';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="folderId"\r\n\r\n${folderId}\r\n--${boundary}\r\nContent-Disposition: form-data; name="typeKey"\r\n\r\ncontract\r\n--${boundary}\r\nContent-Disposition: form-data; name="field"\r\n\r\nnosuchfield\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="endless.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n`;
    const endlessUpload = (cookie: string | null) =>
      sendEndlessBody(
        server.url,
        `POST /files HTTP/1.1\r\nHost: localhost\r\n${cookie ? `Cookie: ${cookie}\r\n` : ''}x-graphql-yoga-csrf: 1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\n\r\n`,
        { start: head },
      );
    for (const [cookie, status] of [
      [editor.cookieHeader(), '400'],
      [null, '401'],
    ] as const) {
      const { sent, answer } = await endlessUpload(cookie);
      expect(answer.split('\r\n')[0]).to.equal(`HTTP/1.1 ${status} ${status === '400' ? 'Bad Request' : 'Unauthorized'}`);
      expect(answer.toLowerCase()).to.include('connection: close');
      // What the server took before closing is a few socket buffers, not the endless rest.
      expect(sent, 'bytes the server accepted').to.be.below(64 * 1024 * 1024);
    }
    expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
  });

  it('refuses a file over the field’s size limit with the limit in the message, and stores nothing of it', async () => {
    const before = await mongoose.connection.db!.collection('fs.files').countDocuments();
    const big = await upload(admin, { folderId, typeKey: 'memo', field: 'attachment' }, { name: 'big.bin', content: randomBytes(1024 * 1024 + 1) });
    expect(big.status).to.equal(400);
    expect(big.body.errors?.[0].extensions).to.deep.equal({ code: 'BAD_USER_INPUT', fields: { attachment: 'Файл больше 1 МБ' } });
    expect(await mongoose.connection.db!.collection('fs.files').countDocuments()).to.equal(before);
    const empty = await upload(admin, { folderId, typeKey: 'memo', field: 'attachment' }, { name: 'empty.txt', content: Buffer.alloc(0) });
    expect(empty.body.errors?.[0].extensions.fields).to.deep.equal({ attachment: 'Файл пустой' });
  });

  it('follows the API’s rules: a session, the CSRF header, the right to edit the card or create in the folder', async () => {
    const pdf = await pdfWithText('rules');
    expect((await upload(null, forNewContract(), { name: 'a.pdf', content: pdf })).status).to.equal(401);
    const noCsrf = await upload(editor, forNewContract(), { name: 'a.pdf', content: pdf }, { csrf: false });
    expect(noCsrf.status).to.equal(403);
    const readOnly = await upload(reader, forNewContract(), { name: 'a.pdf', content: pdf });
    expect(readOnly.status).to.equal(403);
    expect(readOnly.body.errors?.[0].message).to.equal('Недостаточно прав: создание карточек в этой папке');
    expect((await upload(outsider, forNewContract(), { name: 'a.pdf', content: pdf })).status).to.equal(404);
    const card = await createContract(editor, {});
    expect((await upload(reader, { cardId: card.id, field: 'scan' }, { name: 'a.pdf', content: pdf })).status).to.equal(403);
    expect((await upload(outsider, { cardId: card.id, field: 'scan' }, { name: 'a.pdf', content: pdf })).status).to.equal(404);
    const noField = await upload(editor, { cardId: card.id, field: 'subject' }, { name: 'a.pdf', content: pdf });
    expect(noField.body.errors?.[0].extensions.fields).to.deep.equal({ field: 'Нет такого поля для файлов' });
  });

  it('answers 404 for a file of a card the user may not read, and for someone else’s upload; neither can be attached by others', async () => {
    const pdf = await pdfWithText('hidden');
    const file = await uploaded(editor, forNewContract(), { name: 'hidden.pdf', content: pdf });
    // Not attached yet: only its uploader may fetch it.
    expect((await downloadFile(reader, server.url, file.url)).status).to.equal(404);
    expect((await downloadFile(editor, server.url, file.url)).status).to.equal(200);
    const stolen = await admin.request(CREATE, { f: folderId, t: 'contract', v: contractValues({ scan: [file.id] }) });
    expect(stolen.errors?.[0].extensions?.fields).to.deep.equal({ scan: 'Файл не найден или уже прикреплён к другой карточке: загрузите его снова' });
    const card = await createContract(editor, { scan: [file.id] });
    const refused = await downloadFile(outsider, server.url, card.files[0].url);
    expect(refused.status).to.equal(404);
    expect(refused.bytes.toString()).to.not.include('%PDF');
    expect((await downloadFile(outsider, server.url, '/files/not-an-id')).status).to.equal(404);
    const listed = async (client: ApiClient) => (await client.data<{ files: { id: string }[] }>('query($ids: [ID!]!) { files(ids: $ids) { id } }', { ids: [file.id] })).files;
    expect(await listed(reader)).to.deep.equal([{ id: file.id }]);
    expect(await listed(outsider)).to.deep.equal([]);
    // Attached to one card, it cannot be put on another.
    const again = await admin.request(CREATE, { f: folderId, t: 'contract', v: contractValues({ scan: [file.id] }) });
    expect(again.errors?.[0].extensions?.fields).to.have.property('scan');
  });

  it('serves an uploaded HTML page as a text attachment with nosniff, never as a page of Kartoteka', async () => {
    const html = Buffer.from('<!doctype html><html><body><script>fetch("/graphql")</script></body></html>');
    const file = await uploaded(admin, { folderId, typeKey: 'memo', field: 'attachment' }, { name: 'page.html', content: html });
    const card = (await admin.data<{ createCard: Saved }>(CREATE, { f: folderId, t: 'memo', v: { title: 'Страница', attachment: file.id } })).createCard;
    for (const url of [card.files[0].url, `${card.files[0].url}?inline=1`]) {
      const served = await downloadFile(reader, server.url, url);
      expect(served.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
      expect(served.headers.get('content-disposition')).to.match(/^attachment;/);
      expect(served.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(served.headers.get('content-security-policy')).to.include('sandbox');
      expect(served.bytes.equals(html)).to.equal(true);
    }
  });

  it('records files added, replaced by a new version and removed in the history chain, with their SHA-256; verifyHistory checks the stored bytes', async () => {
    await admin.data('mutation { setCardTypeHistory(typeKey: "contract", enabled: true) { historyEnabled } }');
    const first = await pdfWithText('version one');
    const card = await createContract(editor, { scan: [(await uploaded(editor, forNewContract(), { name: 'v.pdf', content: first })).id] });
    const second = await pdfWithText('version two');
    const next = await uploaded(editor, { cardId: card.id, field: 'scan', replaces: card.files[0].id }, { name: 'v.pdf', content: second });
    expect(next.version).to.equal(2);
    const replaced = (await editor.data<{ updateCard: Saved }>(UPDATE, { id: card.id, version: card.version, v: { scan: [next.id] } })).updateCard;
    expect(replaced.files.map((f) => [f.name, f.version, f.sha256])).to.deep.equal([['v.pdf', 2, sha256(second)]]);
    expect(replaced.files[0].versions.map((v) => [v.version, v.sha256])).to.deep.equal([
      [2, sha256(second)],
      [1, sha256(first)],
    ]);
    // The old version stays readable.
    expect((await downloadFile(reader, server.url, `/files/${card.files[0].id}`)).bytes.equals(first)).to.equal(true);
    const removed = (await editor.data<{ updateCard: Saved }>(UPDATE, { id: card.id, version: replaced.version, v: { scan: [] } })).updateCard;
    expect(removed.files).to.deep.equal([]);

    type Change = {
      key: string;
      afterTitles: Record<string, string> | null;
      files: { change: string; file: { sha256: string; version: number }; previous?: { sha256: string } }[] | null;
    };
    const history = await admin.data<{ cardHistory: { edges: { node: { action: string; changes: Change[] } }[] } }>(
      'query($id: ID!) { cardHistory(cardId: $id) { edges { node { action changes { key afterTitles files } } } } }',
      { id: card.id },
    );
    const scanChanges = history.cardHistory.edges.map((edge) => edge.node.changes.find((change) => change.key === 'scan')!).reverse();
    expect(scanChanges.map((change) => change.files!.map((f) => [f.change, f.file.sha256, f.previous?.sha256 ?? null]))).to.deep.equal([
      [['added', sha256(first), null]],
      [['replaced', sha256(second), sha256(first)]],
      [['removed', sha256(second), null]],
    ]);
    expect(scanChanges[1].afterTitles).to.deep.equal({ [next.id]: 'v.pdf (v2)' });
    const verify = async () =>
      (
        await admin.data<{ verifyHistory: { intact: boolean; brokenAtSeq: number | null; reason: string | null } }>(
          'query($id: ID!) { verifyHistory(cardId: $id) { intact brokenAtSeq reason } }',
          { id: card.id },
        )
      ).verifyHistory;
    expect(await verify()).to.deep.equal({ intact: true, brokenAtSeq: null, reason: null });

    // Someone with access to the database rewrites the first version's bytes: the chain reports it where it was added.
    const chunks = mongoose.connection.db!.collection('fs.chunks');
    const firstChunk = await chunks.findOne({ files_id: new mongoose.Types.ObjectId(card.files[0].id), n: 0 });
    const altered = Buffer.from(firstChunk!.data.buffer as Uint8Array);
    altered[altered.length - 1] ^= 0xff;
    await chunks.updateOne({ _id: firstChunk!._id }, { $set: { data: new mongoose.mongo.Binary(altered) } });
    expect(await verify()).to.deep.equal({ intact: false, brokenAtSeq: 1, reason: 'file content altered: v.pdf (v1)' });
  });

  it('removes uploads never attached once 24 hours have passed, content and all; attached files stay', async () => {
    const pdf = await pdfWithText('forgotten');
    const forgotten = await uploaded(editor, forNewContract(), { name: 'forgotten.pdf', content: pdf });
    const kept = await createContract(editor, { scan: [(await uploaded(editor, forNewContract(), { name: 'kept.pdf', content: pdf })).id] });
    await removeExpiredFiles({ now: new Date(Date.now() + 23 * 3600_000) });
    expect((await downloadFile(editor, server.url, forgotten.url)).status).to.equal(200);
    await removeExpiredFiles({ now: new Date(Date.now() + 25 * 3600_000) });
    expect((await downloadFile(editor, server.url, forgotten.url)).status).to.equal(404);
    expect(await mongoose.connection.db!.collection('fs.chunks').countDocuments({ files_id: new mongoose.Types.ObjectId(forgotten.id) })).to.equal(0);
    expect((await downloadFile(editor, server.url, kept.files[0].url)).bytes.equals(pdf)).to.equal(true);
    const late = await editor.request(CREATE, { f: folderId, t: 'contract', v: contractValues({ scan: [forgotten.id] }) });
    expect(late.errors?.[0].extensions?.fields).to.have.property('scan');
  });

  it('keeps a card’s files in the trash and after restoring it; purging removes them', async () => {
    const pdf = await pdfWithText('trash');
    const card = await createContract(editor, { scan: [(await uploaded(editor, forNewContract(), { name: 'trash.pdf', content: pdf })).id] });
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: card.id });
    expect((await downloadFile(admin, server.url, card.files[0].url)).bytes.equals(pdf)).to.equal(true);
    await admin.data('mutation($id: ID!) { restoreCard(id: $id) { id } }', { id: card.id });
    expect((await downloadFile(reader, server.url, card.files[0].url)).bytes.equals(pdf)).to.equal(true);
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: card.id });
    expect((await admin.data<{ purgeCard: boolean }>('mutation($id: ID!) { purgeCard(id: $id) }', { id: card.id })).purgeCard).to.equal(true);
    expect((await downloadFile(admin, server.url, card.files[0].url)).status).to.equal(404);
    expect(await mongoose.connection.db!.collection('fs.files').countDocuments({ _id: new mongoose.Types.ObjectId(card.files[0].id) })).to.equal(0);
  });

  it('puts the files in backups: their descriptions and GridFS collections, every chunk', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-files-backup-'));
    try {
      const { manifest } = await writeSnapshot({ dir, server: 'test' });
      const documents = Object.fromEntries(manifest.collections.map((collection) => [collection.name, collection.documents]));
      const db = mongoose.connection.db!;
      for (const name of ['files', 'fs.files', 'fs.chunks'])
        expect(documents[name], name)
          .to.equal(await db.collection(name).countDocuments())
          .and.be.above(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps the files over a restart', async () => {
    const pdf = await pdfWithText('restart');
    const card = await createContract(editor, { scan: [(await uploaded(editor, forNewContract(), { name: 'restart.pdf', content: pdf })).id] });
    const dbName = server.database.connection.db!.databaseName;
    await server.stop();
    server = await startTestServer({}, { dbName });
    const again = await signedIn(server, 'reader', PASSWORD);
    const read = (await again.data<{ card: Saved }>(CARD, { id: card.id })).card;
    expect(read.files.map((f) => f.name)).to.deep.equal(['restart.pdf']);
    expect((await downloadFile(again, server.url, read.files[0].url)).bytes.equals(pdf)).to.equal(true);
  });
});
