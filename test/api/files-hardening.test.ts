import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import { expect } from 'chai';
import { Document, ImageRun, Packer, Paragraph, TextRun } from 'docx';
import mongoose from 'mongoose';
import { pino } from 'pino';
import sharp from 'sharp';
import { docxPicturesStep } from '../../server/src/migrations/docx-pictures';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { downloadFile, memoType, pdfWithText, uploadFile } from '../support/files';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';

/** A DOCX of a heading and a paragraph for each picture. */
const docxOf = (heading: string, pictures: ImageRun[]) =>
  Packer.toBuffer(
    new Document({
      sections: [{ children: [new Paragraph({ children: [new TextRun(heading)] }), ...pictures.map((picture) => new Paragraph({ children: [picture] }))] }],
    }),
  );

describe('files on cards: misleading names, pictures in previews and the quota while the bytes come (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let keeper: ApiClient;
  let folderId: string;

  const uploaded = async (client: ApiClient, name: string, content: Buffer) => {
    const answer = await uploadFile(client, server.url, { folderId, typeKey: 'memo', field: 'attachment' }, { name, content });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
    return answer.body.file!;
  };

  before(async () => {
    // A quota of 1 MB per user.
    server = await startTestServer({ FILE_QUOTA_MB: '1' });
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'keeper', fullName: 'Архивариус', level: 'edit' }]);
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: memoType });
    folderId = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Заметки', allowedCardTypes: ['memo'] });
    await setFolderAccess(admin, folderId, [{ principalId: scenario.userIds.keeper, level: 'edit' }]);
    keeper = await signedIn(server, 'keeper', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('drops invisible characters from names and does not pass content of no known type off as a document or a program', async () => {
    const pdf = await pdfWithText('names');
    // Default-ignorable characters (ZWNJ, ZWJ, soft hyphen, Hangul filler, a tag, a variation selector) and the blank Braille pattern.
    const invisible = await uploaded(admin, 'до\u200cго\u200dв\u00adор\u3164\u2800\u{E0041}\uFE0F.pdf', pdf);
    expect(invisible.name).to.equal('договор.pdf');
    const other = randomBytes(2048);
    // A real extension pushed out of sight by spaces, a fullwidth «．ｐｄｆ», a web page with a NUL in it.
    expect((await uploaded(admin, `invoice.pdf${' '.repeat(80)}.exe`, other)).name).to.equal('invoice.pdf .exe.bin');
    expect((await uploaded(admin, 'report．ｐｄｆ', other)).name).to.equal('report．ｐｄｆ.bin');
    expect((await uploaded(admin, 'page.html', Buffer.concat([Buffer.from('<script>alert(1)</script>'), Buffer.from([0])]))).name).to.equal('page.html.bin');
    expect((await uploaded(admin, 'setup.exe', other)).name).to.equal('setup.exe.bin');
    // Names that claim nothing stay as they are.
    expect((await uploaded(admin, 'данные выгрузки', other)).name).to.equal('данные выгрузки');
  });

  it('shows a DOCX’s pictures in its preview as smaller copies, never the embedded originals', async () => {
    const original = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();
    const docx = await docxOf('Схема склада', [new ImageRun({ type: 'png', data: original, transformation: { width: 400, height: 300 } })]);
    const file = await uploaded(admin, 'схема.docx', docx);
    const preview = await downloadFile(admin, server.url, `${file.url}/preview`);
    expect(preview.status).to.equal(200);
    const html = preview.bytes.toString();
    expect(html).to.include('Схема склада');
    expect(html).not.to.include(original.toString('base64').slice(0, 200));
    const sources = [...html.matchAll(/<img src="data:image\/jpeg;base64,([^"]+)"/g)].map((match) => Buffer.from(match[1], 'base64'));
    expect(sources).to.have.length(1);
    const shown = await sharp(sources[0]).metadata();
    expect([shown.format, shown.width, shown.height]).to.deep.equal(['jpeg', 800, 600]);

    // Previews kept from before (which carried the originals) are dropped by the data-model step and made again.
    const files = mongoose.connection.db!.collection('files');
    const kept = (await files.findOne({ _id: new mongoose.Types.ObjectId(file.id) }))!.renditions.html as mongoose.Types.ObjectId;
    await docxPicturesStep.up(mongoose.connection.db!, pino({ level: 'silent' }));
    expect((await files.findOne({ _id: new mongoose.Types.ObjectId(file.id) }))!.renditions.html).to.equal(null);
    expect(await mongoose.connection.db!.collection('fs.files').countDocuments({ _id: kept })).to.equal(0);
    expect((await downloadFile(admin, server.url, `${file.url}/preview`)).bytes.toString()).to.equal(html);
  });

  it('shows a picture a DOCX shows many times in at most 100 places, made once, and says where it is left out', async () => {
    const picture = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#cc3333' } })
      .png()
      .toBuffer();
    // A few kilobytes showing one picture 300 times (the attack showed it 3,000 times: a 456 MB preview).
    const docx = await docxOf(
      'Много картинок',
      Array.from({ length: 300 }, () => new ImageRun({ type: 'png', data: picture, transformation: { width: 30, height: 20 } })),
    );
    const file = await uploaded(admin, 'картинки.docx', docx);
    const preview = await downloadFile(admin, server.url, `${file.url}/preview`);
    expect(preview.status).to.equal(200);
    const html = preview.bytes.toString();
    expect(html).to.include('Много картинок');
    const shown = [...html.matchAll(/<img src="data:image\/jpeg;base64,([^"]+)"/g)].map((match) => match[1]);
    expect([shown.length, new Set(shown).size]).to.deep.equal([100, 1]);
    expect(html.split('alt="Изображение не показано / Picture not shown"').length - 1).to.equal(200);
  });

  it('refuses a file over the quota as soon as its bytes pass what is left, before the upload has ended, and keeps none of it', async () => {
    await uploaded(keeper, 'первый.bin', randomBytes(700 * 1024));
    const stored = () => mongoose.connection.db!.collection('fs.files').countDocuments();
    const before = await stored();
    // A form whose file is sent in part: what is sent already passes the 324 KB left, the rest waits for the answer.
    const boundary = 'kartoteka-quota-boundary';
    const field = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const head = `${field('folderId', folderId)}${field('typeKey', 'memo')}${field('field', 'attachment')}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="второй.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const request = http.request(`${server.url}/files`, {
      method: 'POST',
      headers: { cookie: keeper.cookieHeader(), 'x-graphql-yoga-csrf': '1', 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    request.write(head);
    request.write(randomBytes(400 * 1024));
    const [response] = (await once(request, 'response')) as [IncomingMessage];
    expect(response.statusCode).to.equal(400);
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    // Only now does the client finish its form.
    request.end(Buffer.concat([randomBytes(200 * 1024), Buffer.from(`\r\n--${boundary}--\r\n`)]));
    await once(response, 'end');
    expect(JSON.parse(Buffer.concat(chunks).toString()).errors[0].extensions.fields.attachment).to.match(
      /^Файл не помещается в вашу квоту: занято 0,7 МБ из 1 МБ \(считаются и загрузки, ещё не сохранённые в карточке/,
    );
    expect(await stored()).to.equal(before);
  });
});
