import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { expect } from 'chai';
import { Document, Packer, Paragraph, TextRun } from 'docx';
import mongoose from 'mongoose';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { docxLimits, textLimits } from '../../server/src/files/content';
import { heavyFileWork, slowUploaders } from '../../server/src/files/workers';
import { pdfPageTexts } from '../../server/src/files/pdf-text';
import { removeExpiredFiles } from '../../server/src/files/service';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { activeVerdict, downloadFile, memoType, pdfWithText, uploadFile } from '../support/files';
import { activeNamesInBytes, activeNamesReadByPdfLib } from '../support/safe-pdf';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';
import { withPart } from '../support/zip';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id values } }';

/** A PNG whose header says 20,000 × 20,000 pixels (400 million), in a few dozen bytes. */
function hugePng(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(20_000, 0);
  header.writeUInt32BE(20_000, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A DOCX whose document part's body is `body` (WordprocessingML). */
async function docxWithBody(body: string): Promise<Buffer> {
  const docx = await Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph({ children: [new TextRun('bomb')] })] }] }));
  const part = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`;
  return withPart(docx, 'word/document.xml', part);
}

/** A DOCX whose document part is `bytes` letters of one paragraph: tens of megabytes packed into a few kilobytes. */
const docxBomb = (bytes: number) => docxWithBody(`<w:p><w:r><w:t>${'A'.repeat(bytes)}</w:t></w:r></w:p>`);

describe('files on cards under attack (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let keeper: ApiClient;
  let folderId: string;
  let editorId: string;

  const uploaded = async (client: ApiClient, file: { name: string; content: Buffer }) => {
    const answer = await uploadFile(client, server.url, { folderId, typeKey: 'memo', field: 'attachment' }, file);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
    return answer.body.file!;
  };

  before(async () => {
    // A quota of 1 MB per user: the other tests upload a few kilobytes each.
    server = await startTestServer({ FILE_QUOTA_MB: '1' });
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'editor', fullName: 'Татьяна Гончаренко', level: 'edit' },
      { login: 'keeper', fullName: 'Архивариус', level: 'edit' },
    ]);
    editorId = scenario.userIds.editor;
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: memoType });
    folderId = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Заметки', allowedCardTypes: ['memo'] });
    await setFolderAccess(admin, folderId, [
      { principalId: scenario.userIds.editor, level: 'edit' },
      { principalId: scenario.userIds.keeper, level: 'edit' },
    ]);
    editor = await signedIn(server, 'editor', PASSWORD);
    keeper = await signedIn(server, 'keeper', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('attaches one upload to one card only when two saves race for it: the other is refused at the field', async () => {
    const pdf = await pdfWithText('race');
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const file = await uploaded(editor, { name: `race-${attempt}.pdf`, content: pdf });
      const answers = await Promise.all(
        ['A', 'B'].map((side) => editor.request<{ createCard: { id: string } }>(CREATE, { f: folderId, t: 'memo', v: { title: `${side}${attempt}`, attachment: file.id } })),
      );
      const saved = answers.filter((answer) => answer.data?.createCard);
      const refused = answers.filter((answer) => answer.errors);
      expect(saved, `attempt ${attempt}: ${JSON.stringify(answers)}`).to.have.length(1);
      expect(refused[0].errors![0].extensions).to.deep.equal({
        code: 'BAD_USER_INPUT',
        fields: { attachment: 'Файл не найден или уже прикреплён к другой карточке: загрузите его снова' },
      });
      // Only the winner holds the file; the refused save left no card behind.
      const holders = await editor.data<{ cards: { totalCount: number; edges: { node: { id: string; values: { attachment?: string } } }[] } }>(
        'query($f: ID!) { cards(folderId: $f, first: 100) { totalCount edges { node { id values } } } }',
        { f: folderId },
      );
      const holding = holders.cards.edges.filter((edge) => edge.node.values.attachment === file.id).map((edge) => edge.node.id);
      expect(holding).to.deep.equal([saved[0].data!.createCard.id]);
      expect(holders.cards.totalCount).to.equal(attempt + 1);
    }
  });

  it('keeps file names free of direction overrides and control characters, stored and in Content-Disposition', async () => {
    const pdf = await pdfWithText('names');
    // «счёт<RLO>fdp.exe» shows as «счётexe.pdf» in a file manager; the content (a PDF) then names the extension.
    const file = await uploaded(editor, { name: 'счёт\u202efdp.exe', content: pdf });
    expect(file.name).to.equal('счётfdp.exe.pdf');
    const mixed = await uploaded(editor, { name: 'a\u0085b\u2066c\u2069\u200fd.pdf', content: pdf });
    expect(mixed.name).to.equal('abcd.pdf');
    // Zero-width characters make two names look alike; a name that is only an extension would be a hidden file.
    const invisible = await uploaded(editor, { name: '\ufeffдо\u200bго\u2060вор.pdf', content: pdf });
    expect(invisible.name).to.equal('договор.pdf');
    const stemless = await uploaded(editor, { name: '.pdf', content: pdf });
    expect(stemless.name).to.equal('файл.pdf');
    // A C0 control in a part's header makes the form malformed: refused at the file, not a server error.
    const malformed = await uploadFile(editor, server.url, { folderId, typeKey: 'memo', field: 'attachment' }, { name: 'bell\u0007.pdf', content: pdf });
    expect(malformed.status).to.equal(400);
    expect(malformed.body.errors?.[0].extensions).to.deep.equal({ code: 'BAD_USER_INPUT', fields: { file: 'Форма загрузки повреждена: выберите файл снова' } });
    expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
    await editor.data(CREATE, { f: folderId, t: 'memo', v: { title: 'Имена', attachment: file.id } });
    // A name stored before names were cleaned is cleaned on the way out.
    await mongoose.connection.db!.collection('files').updateOne({ _id: new mongoose.Types.ObjectId(file.id) }, { $set: { name: 'old\u202Egpj.exe\r\n' } });
    const served = await downloadFile(admin, server.url, file.url);
    expect(served.status).to.equal(200);
    expect(served.headers.get('content-disposition')).to.equal(`attachment; filename="oldgpj.exe.pdf"`);
  });

  it('never gives the browser a PDF’s JavaScript: flagged for the download, viewed inline only as a safe copy without it, its text previewed, downloads as before', async () => {
    const scripted = await PDFDocument.load(await pdfWithText('Scripted invoice'));
    scripted.addJavaScript('prompt', 'app.alert("Сессия истекла, введите пароль")');
    // Saved with object streams (pdf-lib's default): the script's dictionary is compressed inside one.
    const active = await uploaded(admin, { name: 'счёт.pdf', content: Buffer.from(await scripted.save()) });
    const plain = await uploaded(admin, { name: 'обычный.pdf', content: await pdfWithText('Plain invoice') });
    const card = (await admin.data<{ createCard: { id: string } }>(CREATE, { f: folderId, t: 'memo', v: { title: 'Счёт со скриптом', attachment: active.id } })).createCard;
    const listed = await admin.data<{ card: { files: { id: string }[] } }>('query($id: ID!) { card(id: $id) { files { id } } }', { id: card.id });
    expect(await activeVerdict(admin, listed.card.files[0].id)).to.equal(true);

    const inline = await downloadFile(admin, server.url, `${active.url}?inline=1`);
    expect(inline.status).to.equal(200);
    expect([activeNamesInBytes(inline.bytes), await activeNamesReadByPdfLib(inline.bytes)]).to.deep.equal([[], []]);
    expect(await pdfPageTexts(inline.bytes)).to.deep.equal(['Scripted invoice']);
    const text = await downloadFile(admin, server.url, `${active.url}/preview`, { accept: 'text/html' });
    expect(text.status).to.equal(200);
    expect(text.bytes.toString()).to.include('Scripted invoice');
    const saved = await downloadFile(admin, server.url, active.url);
    expect(saved.status).to.equal(200);
    expect(saved.headers.get('content-disposition')).to.match(/^attachment;/);
    const plainInline = await downloadFile(admin, server.url, `${plain.url}?inline=1`);
    expect(plainInline.status).to.equal(200);
    expect(await activeVerdict(admin, plain.id)).to.equal(false);
  });

  it('reads a PDF’s text off the main thread within a time limit: past it the text preview is refused and the search job gives up, the server answering meanwhile', async () => {
    const file = await uploaded(editor, { name: 'долгий текст.pdf', content: await pdfWithText('Slow text layer') });
    // No PDF is read in a millisecond: the reading is stopped as one that would take minutes is.
    const limit = textLimits.timeMs;
    textLimits.timeMs = 1;
    try {
      // Attached: the search's text job reads it too.
      await editor.data(CREATE, { f: folderId, t: 'memo', v: { title: 'Долгий текст', attachment: file.id } });
      const preview = await downloadFile(editor, server.url, `${file.url}/preview`);
      expect([preview.status, JSON.parse(preview.bytes.toString()).errors[0].message]).to.deep.equal([
        422,
        'Превью недоступно: документ слишком сложен, чтобы прочитать его на сервере (дольше 0.001 с или больше 384 МБ памяти): откройте его после скачивания',
      ]);
      await waitFor(
        async () => (await mongoose.connection.db!.collection('files').findOne({ _id: new mongoose.Types.ObjectId(file.id) }))?.textState === 'failed',
        'the text job giving up',
      );
      // The uploader's files now wait after everyone else's, within a shorter limit.
      expect(await slowUploaders.has(editorId)).to.equal(true);
    } finally {
      textLimits.timeMs = limit;
      await mongoose.connection.db!.collection('slowuploaders').deleteMany({});
    }
    expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
  });

  it('reads a DOCX off the main thread within a time limit: while one of megabytes of XML is read, others are answered; past the limit the preview says why', async () => {
    // 7.8 MB of XML in 230,000 one-letter paragraphs, under the unpack limits, in a few dozen kilobytes: mammoth takes half a minute and gigabytes.
    const heavy = await docxWithBody('<w:p><w:r><w:t>x</w:t></w:r></w:p>'.repeat(230_000));
    expect(heavy.length).to.be.below(64 * 1024);
    const file = await uploaded(keeper, { name: 'тяжёлый.docx', content: heavy });
    const limit = docxLimits.timeMs;
    docxLimits.timeMs = 6000;
    try {
      let previewed = false;
      const preview = downloadFile(keeper, server.url, `${file.url}/preview`).finally(() => (previewed = true));
      await waitFor(() => heavyFileWork.runningCount() === 1, 'the DOCX being read');
      // Another user's request is answered while the document is still being read.
      expect((await admin.data<{ fileQuota: { limitBytes: number } }>('{ fileQuota { limitBytes } }')).fileQuota.limitBytes).to.equal(1024 * 1024);
      expect([previewed, heavyFileWork.runningCount()]).to.deep.equal([false, 1]);
      const refused = await preview;
      expect([refused.status, JSON.parse(refused.bytes.toString()).errors[0].message]).to.deep.equal([
        422,
        'Превью недоступно: документ слишком сложен, чтобы прочитать его на сервере (дольше 6 с или больше 384 МБ памяти): откройте его после скачивания',
      ]);
    } finally {
      docxLimits.timeMs = limit;
      await mongoose.connection.db!.collection('slowuploaders').deleteMany({});
    }
    expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
  });

  it('answers an image over the pixel bound with «Превью недоступно» (422), never a server error, and keeps serving', async () => {
    const file = await uploaded(editor, { name: 'огромный.png', content: hugePng() });
    expect(file.fileType).to.equal('png');
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const answer = await downloadFile(editor, server.url, `${file.url}/thumbnail`);
      expect(answer.status).to.equal(422);
      expect(JSON.parse(answer.bytes.toString()).errors[0]).to.deep.equal({
        message: 'Превью недоступно: изображение больше 268 млн пикселей',
        extensions: { code: 'UNPROCESSABLE' },
      });
    }
    expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
  });

  it('makes no thumbnail of a progressive JPEG over 50 million pixels (its decoder would hold it all), judged before decoding; a small one is made', async () => {
    // Flat grey packs into a few hundred kilobytes; a progressive decoder holds every coefficient of its 50.4 million pixels.
    const giant = await sharp({ create: { width: 7100, height: 7100, channels: 3, background: '#808080' } })
      .jpeg({ progressive: true, quality: 50 })
      .toBuffer();
    const file = await uploaded(editor, { name: 'огромный.jpg', content: giant });
    const answer = await downloadFile(editor, server.url, `${file.url}/thumbnail`);
    expect([answer.status, JSON.parse(answer.bytes.toString()).errors[0].message]).to.deep.equal([422, 'Превью недоступно: изображение больше 50 млн пикселей']);
    const small = await uploaded(editor, {
      name: 'маленький.jpg',
      content: await sharp({ create: { width: 300, height: 200, channels: 3, background: '#808080' } })
        .jpeg({ progressive: true })
        .toBuffer(),
    });
    expect((await downloadFile(editor, server.url, `${small.url}/thumbnail`)).status).to.equal(200);
  });

  it('refuses to preview a DOCX that unpacks to far more than it weighs, remembers that, and shows why in the preview frame', async () => {
    const bomb = await docxBomb(24 * 1024 * 1024);
    expect(bomb.length).to.be.below(100 * 1024);
    const file = await uploaded(editor, { name: 'бомба.docx', content: bomb });
    expect(file.fileType).to.equal('docx');
    const refusal = 'Превью недоступно: файл слишком велик после распаковки (больше 16 МБ)';
    const first = await downloadFile(editor, server.url, `${file.url}/preview`);
    expect(first.status).to.equal(422);
    expect(JSON.parse(first.bytes.toString()).errors[0].message).to.equal(refusal);
    // The outcome is kept with the file's version: with its bytes gone, the answer is the same, not worked out again.
    await mongoose.connection.db!.collection('fs.chunks').deleteMany({ files_id: new mongoose.Types.ObjectId(file.id) });
    const framed = await downloadFile(editor, server.url, `${file.url}/preview`, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    expect(framed.status).to.equal(422);
    expect(framed.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    expect(framed.headers.get('content-security-policy')).to.include('sandbox');
    expect(framed.bytes.toString()).to.include(`<p>${refusal}</p>`);
    expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
  });

  it('keeps each user within their file quota: the file that does not fit is refused at the field, stored nowhere, and room comes back when files are removed', async () => {
    const files = () => mongoose.connection.db!.collection('fs.files').countDocuments();
    const first = await uploaded(keeper, { name: 'первый.bin', content: randomBytes(700 * 1024) });
    const before = await files();
    const refused = await uploadFile(keeper, server.url, { folderId, typeKey: 'memo', field: 'attachment' }, { name: 'второй.bin', content: randomBytes(700 * 1024) });
    expect(refused.status).to.equal(400);
    expect(refused.body.errors?.[0].extensions).to.deep.equal({
      code: 'BAD_USER_INPUT',
      fields: {
        attachment:
          'Файл не помещается в вашу квоту: занято 0,7 МБ из 1 МБ (считаются и загрузки, ещё не сохранённые в карточке: их освобождает × в форме, иначе они удаляются через 24 часа). Попросите администратора увеличить квоту',
      },
    });
    expect(await files()).to.equal(before);
    // The quota is the user's own: a colleague still uploads.
    await uploaded(editor, { name: 'коллега.pdf', content: await pdfWithText('colleague') });
    // An upload never attached is removed after a day, and its bytes no longer count.
    await removeExpiredFiles({ now: new Date(Date.now() + 25 * 3600_000) });
    expect((await downloadFile(keeper, server.url, first.url)).status).to.equal(404);
    // Two uploads at once cannot pass the quota together.
    const both = await Promise.all(
      ['a', 'b'].map((side) => uploadFile(keeper, server.url, { folderId, typeKey: 'memo', field: 'attachment' }, { name: `${side}.bin`, content: randomBytes(600 * 1024) })),
    );
    expect(both.map((answer) => answer.status).sort()).to.deep.equal([201, 400]);
  });

  it('counts a PDF’s safe copy in its uploader’s quota: a copy that does not fit is not made, with the reason, and is once room is freed; discarding frees both', async () => {
    const discard = (id: string) => fetch(`${server.url}/files/${id}`, { method: 'DELETE', headers: { cookie: keeper.cookieHeader(), 'x-graphql-yoga-csrf': '1' } });
    const used = async () => (await keeper.data<{ fileQuota: { usedBytes: number } }>('query { fileQuota { usedBytes } }')).fileQuota.usedBytes;
    await removeExpiredFiles({ now: new Date(Date.now() + 25 * 3600_000) });
    const start = await used();
    const pdf = await pdfWithText('A contract viewed through its copy');
    const file = await uploaded(keeper, { name: 'копия.pdf', content: pdf });
    // Room for the upload and 100 bytes more: less than any copy of it.
    const filler = await uploaded(keeper, { name: 'место.bin', content: randomBytes(1024 * 1024 - start - pdf.length - 100) });
    const refused = await downloadFile(keeper, server.url, `${file.url}?inline=1`);
    expect([refused.status, JSON.parse(refused.bytes.toString()).errors[0].message]).to.deep.equal([
      422,
      'Превью недоступно: безопасная копия документа для просмотра не помещается в квоту загрузившего его (занято 1 МБ из 1 МБ): откройте его после скачивания или освободите место',
    ]);
    expect(await used()).to.equal(1024 * 1024 - 100);
    // Room freed: the same view makes the copy now (the refusal was not kept), and the copy counts.
    expect((await discard(filler.id)).status).to.equal(204);
    const viewed = await downloadFile(keeper, server.url, `${file.url}?inline=1`);
    expect(viewed.status).to.equal(200);
    expect(viewed.bytes.length).to.be.above(100);
    expect(await used()).to.equal(start + pdf.length + viewed.bytes.length);
    // Discarding the upload frees its bytes and its copy's.
    expect((await discard(file.id)).status).to.equal(204);
    expect(await used()).to.equal(start);
  });

  it('discards one’s own upload not saved to a card (the form’s ×): its quota frees at once; nobody else’s, nothing attached, never without the CSRF header', async () => {
    const discard = (client: ApiClient, id: string, csrf = true) =>
      fetch(`${server.url}/files/${id}`, { method: 'DELETE', headers: { cookie: client.cookieHeader(), ...(csrf ? { 'x-graphql-yoga-csrf': '1' } : {}) } });
    const used = async (client: ApiClient) => (await client.data<{ fileQuota: { usedBytes: number } }>('query { fileQuota { usedBytes } }')).fileQuota.usedBytes;
    await removeExpiredFiles({ now: new Date(Date.now() + 25 * 3600_000) });
    const start = await used(editor);
    const pending = await uploaded(editor, { name: 'лишний.bin', content: randomBytes(300 * 1024) });
    expect(await used(editor)).to.equal(start + 300 * 1024);
    expect((await discard(editor, pending.id, false)).status).to.equal(403);
    expect((await discard(keeper, pending.id)).status).to.equal(404);
    expect((await discard(editor, pending.id)).status).to.equal(204);
    expect(await used(editor)).to.equal(start);
    expect((await downloadFile(editor, server.url, pending.url)).status).to.equal(404);
    expect((await discard(editor, pending.id)).status).to.equal(404);
    const refused = await editor.request(CREATE, { f: folderId, t: 'memo', v: { title: 'Без файла', attachment: pending.id } });
    expect(refused.errors?.[0]?.extensions?.code).to.equal('BAD_USER_INPUT');
    // A file saved to a card is the card's: removing it is a change of the card, not a discard.
    const kept = await uploaded(editor, { name: 'нужный.pdf', content: await pdfWithText('kept') });
    await editor.data(CREATE, { f: folderId, t: 'memo', v: { title: 'С файлом', attachment: kept.id } });
    expect((await discard(editor, kept.id)).status).to.equal(404);
    expect((await downloadFile(admin, server.url, kept.url)).status).to.equal(200);
  });
});
