/**
 * `npm run bench:files [-- --mb 50 --runs 3 --pages 10 --bomb 160 --docx-paragraphs 230000]`: upload and download throughput of files on cards,
 * over HTTP through Kartoteka (multipart POST /files, then GET /files/:id), on MONGODB_URI when set,
 * else Kartoteka's built-in database. The upload body is generated while it is sent, so this
 * process holds no file whole either; the resident memory printed is this process's (server and
 * client, plus the database when it is the built-in one in this process) before and at its peak
 * during the upload. Then a scan of `--pages` A4 pages at 300 dpi (JPEG pictures, no text layer) is
 * drawn page by page as a reader without «Экспорт» sees it (GET /files/:id/pages/:n, 1,000 px JPEGs
 * made in the drawing thread), first when each page is made, then when it is kept, with the peak
 * resident memory. Last, a compression bomb of a few hundred kilobytes (a PDF whose object stream
 * inflates to `--bomb` MB of spaces) is opened inline (GET /files/:id?inline=1, its safe copy made in a
 * worker thread): how long the answer takes, what it is, and the peak resident memory meanwhile.
 * Then a DOCX of `--docx-paragraphs` one-letter paragraphs (a few dozen kilobytes packed; 0 skips it)
 * is previewed (read in the DOCX worker) while another request is made every 100 ms: the outcome,
 * the slowest other answer and the server's longest event-loop delay. Last, `--hostile` accounts
 * (0 skips) each preview their own copy of that DOCX at once, their first hostile file, and another
 * user then previews a one-page PDF's text: how long that user waited, and when the hostile ones were refused.
 * Prints numbers; asserts nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Document, Packer, Paragraph } from 'docx';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { activeVerdict, pdfWithText } from '../test/support/files';
import { createDepartment, createUser, setFolderAccess } from '../test/support/fixtures';
import { objectStreamBomb } from '../test/support/hostile-pdf';
import { withPart } from '../test/support/zip';
import { signedIn } from '../test/support/server';
import { benchDatabaseUri, BENCH_ADMIN, printMachine, startBenchServer } from './support';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
    pages: { type: 'string', default: '10' },
    bomb: { type: 'string', default: '160' },
    'docx-paragraphs': { type: 'string', default: '230000' },
    hostile: { type: 'string', default: '3' },
  },
});
const SIZE = Number(values.mb) * 2 ** 20;
const RUNS = Number(values.runs);
const PAGES = Number(values.pages);
const BOMB_MB = Number(values.bomb);
const DOCX_PARAGRAPHS = Number(values['docx-paragraphs']);
const HOSTILE = Number(values.hostile);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const rate = (bytes: number, ms: number) => `${(bytes / 2 ** 20 / (ms / 1000)).toFixed(1)} MB/s`;

/** POSTs a multipart form whose file part is SIZE bytes of a repeated random block, written as it goes. */
function upload(url: string, cookie: string, form: Record<string, string>): Promise<{ status: number; body: string; sha256: string }> {
  const boundary = `bench${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    Object.entries(form)
      .map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
      .join('') + `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const block = randomBytes(256 * 1024);
  const hash = createHash('sha256');
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}/files`, {
      method: 'POST',
      headers: { cookie, 'x-graphql-yoga-csrf': '1', 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + SIZE + tail.length },
    });
    request.on('error', reject);
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, sha256: hash.digest('hex') }));
    });
    request.write(head);
    let sent = 0;
    const more = () => {
      while (sent < SIZE) {
        const part = block.subarray(0, Math.min(block.length, SIZE - sent));
        sent += part.length;
        hash.update(part);
        if (!request.write(part)) {
          request.once('drain', more);
          return;
        }
      }
      request.end(tail);
    };
    more();
  });
}

printMachine();
const database = await benchDatabaseUri();
const server = await startBenchServer(database.uri);
try {
  const admin = await signedIn(server, BENCH_ADMIN.login, BENCH_ADMIN.password);
  const library = (await admin.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Файлы") { id } }')).createLibrary.id;
  const folder = (await admin.data<{ createFolder: { id: string } }>('mutation($i: FolderInput!) { createFolder(input: $i) { id } }', { i: { libraryId: library, name: 'Файлы' } }))
    .createFolder.id;
  await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', {
    d: {
      key: 'bench-file',
      names: { ru: 'Файл', en: 'File' },
      titleTemplate: '{title}',
      historyEnabled: false,
      origin: 'admin',
      fields: [
        { key: 'title', kind: 'string', label: { ru: 'Название', en: 'Title' }, required: true },
        { key: 'file', kind: 'file', label: { ru: 'Файл', en: 'File' }, max: Math.ceil(SIZE / 2 ** 20) },
      ],
    },
  });
  console.log(`database: ${database.kind}; file: ${mib(SIZE)}; runs: ${RUNS}`);
  for (let run = 1; run <= RUNS; run++) {
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const startUpload = performance.now();
    const answer = await upload(server.url, admin.cookieHeader(), { folderId: folder, typeKey: 'bench-file', field: 'file' });
    const uploadMs = performance.now() - startUpload;
    clearInterval(sampler);
    if (answer.status !== 201) throw new Error(`upload refused: ${answer.status} ${answer.body}`);
    const file = (JSON.parse(answer.body) as { file: { id: string; url: string; sha256: string } }).file;
    if (file.sha256 !== answer.sha256) throw new Error('the stored SHA-256 differs from the one sent');
    const startDownload = performance.now();
    const response = await fetch(`${server.url}${file.url}`, { headers: { cookie: admin.cookieHeader() } });
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.length;
      hash.update(chunk);
    }
    const downloadMs = performance.now() - startDownload;
    if (received !== SIZE || hash.digest('hex') !== file.sha256) throw new Error('the downloaded bytes differ from the uploaded ones');
    console.log(
      `run ${run}: upload ${rate(SIZE, uploadMs)} (${(uploadMs / 1000).toFixed(1)} s), download ${rate(SIZE, downloadMs)} (${(downloadMs / 1000).toFixed(1)} s); ` +
        `resident memory ${mib(before)} before the upload, ${mib(peak)} at its peak (+${mib(peak - before)})`,
    );
  }

  // A scan: each page a 2480 × 3508 picture (A4 at 300 dpi) of grey speckle, as a scanner makes them.
  const scan = await PDFDocument.create();
  for (let page = 0; page < PAGES; page++) {
    const picture = await sharp({ create: { width: 2480, height: 3508, channels: 3, background: '#ffffff', noise: { type: 'gaussian', mean: 225, sigma: 12 } } })
      .jpeg({ quality: 70 })
      .toBuffer();
    scan.addPage([595, 842]).drawImage(await scan.embedJpg(picture), { x: 0, y: 0, width: 595, height: 842 });
  }
  const scanBytes = Buffer.from(await scan.save());
  /** Stores a file as an upload (the form's file field) of `client` (the administrator unless given): its id and URL. */
  const storeFile = async (bytes: Buffer, name: string, client = admin) => {
    const form = new FormData();
    for (const [field, value] of Object.entries({ folderId: folder, typeKey: 'bench-file', field: 'file' })) form.append(field, value);
    form.append('file', new Blob([new Uint8Array(bytes)], { type: 'application/pdf' }), name);
    const stored = await fetch(`${server.url}/files`, { method: 'POST', headers: { cookie: client.cookieHeader(), 'x-graphql-yoga-csrf': '1' }, body: form });
    if (stored.status !== 201) throw new Error(`${name} refused: ${stored.status} ${await stored.text()}`);
    return ((await stored.json()) as { file: { id: string; url: string } }).file;
  };
  const scanUrl = (await storeFile(scanBytes, 'scan.pdf')).url;
  const drawAll = async () => {
    const start = performance.now();
    for (let page = 1; page <= PAGES; page++) {
      const response = await fetch(`${server.url}${scanUrl}/pages/${page}`, { headers: { cookie: admin.cookieHeader() } });
      if (response.status !== 200) throw new Error(`page ${page}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    }
    return performance.now() - start;
  };
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const made = await drawAll();
  clearInterval(sampler);
  const kept = await drawAll();
  console.log(
    `scan of ${PAGES} pages (${mib(scanBytes.length)}, 2480 × 3508 pictures) drawn at 1,000 px: ${(made / PAGES).toFixed(0)} ms a page when made, ` +
      `${(kept / PAGES).toFixed(0)} ms when kept; resident memory ${mib(before)} before, ${mib(peak)} at its peak (+${mib(peak - before)})`,
  );

  const bomb = await objectStreamBomb(BOMB_MB);
  const bombFile = await storeFile(bomb, 'bomb.pdf');
  // The upload's check for active content (it inflates too) has finished before the view is measured.
  await activeVerdict(admin, bombFile.id);
  global.gc?.();
  const beforeBomb = process.memoryUsage().rss;
  let bombPeak = beforeBomb;
  const bombSampler = setInterval(() => (bombPeak = Math.max(bombPeak, process.memoryUsage().rss)), 20);
  const startBomb = performance.now();
  const opened = await fetch(`${server.url}${bombFile.url}?inline=1`, { headers: { cookie: admin.cookieHeader() } });
  const openedBody = await opened.text();
  const bombMs = performance.now() - startBomb;
  clearInterval(bombSampler);
  const outcome = opened.status === 200 ? 'a safe copy' : `${opened.status} ${(JSON.parse(openedBody) as { errors: { message: string }[] }).errors[0].message}`;
  console.log(
    `compression bomb (${(bomb.length / 1024).toFixed(0)} KB, an object stream inflating to ${BOMB_MB} MB) opened inline: ${outcome} in ${(bombMs / 1000).toFixed(1)} s; ` +
      `resident memory ${mib(beforeBomb)} before, ${mib(bombPeak)} at its peak (+${mib(bombPeak - beforeBomb)})`,
  );

  if (DOCX_PARAGRAPHS > 0) {
    // A DOCX of a few dozen kilobytes whose document part is DOCX_PARAGRAPHS one-letter paragraphs (7.8 MB of XML at 230,000).
    const xml = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${'<w:p><w:r><w:t>x</w:t></w:r></w:p>'.repeat(DOCX_PARAGRAPHS)}</w:body></w:document>`;
    const heavy = await withPart(await Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph('x')] }] })), 'word/document.xml', xml);
    const docxFile = await storeFile(heavy, 'heavy.docx');
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let previewed = false;
    let asked = 0;
    let slowest = 0;
    const startDocx = performance.now();
    const preview = fetch(`${server.url}${docxFile.url}/preview`, { headers: { cookie: admin.cookieHeader() } })
      .then(async (answer) => ({ status: answer.status, body: await answer.text() }))
      .finally(() => (previewed = true));
    // Another request every 100 ms while the preview is being made: how long the slowest waited.
    while (!previewed) {
      const asking = performance.now();
      await admin.data('{ __typename }');
      slowest = Math.max(slowest, performance.now() - asking);
      asked += 1;
      await sleep(100);
    }
    const answered = await preview;
    const docxMs = performance.now() - startDocx;
    delay.disable();
    const docxOutcome =
      answered.status === 200 ? `HTML of ${mib(answered.body.length)}` : `${answered.status} ${(JSON.parse(answered.body) as { errors: { message: string }[] }).errors[0].message}`;
    console.log(
      `DOCX of ${(heavy.length / 1024).toFixed(0)} KB (${mib(xml.length)} of XML in ${DOCX_PARAGRAPHS} paragraphs) previewed: ${docxOutcome} in ${(docxMs / 1000).toFixed(1)} s; ` +
        `meanwhile ${asked} other requests, the slowest answered in ${slowest.toFixed(0)} ms; the server's event loop waited at most ${(delay.max / 1e6).toFixed(0)} ms`,
    );

    if (HOSTILE > 0) {
      // New accounts, each previewing its own copy of that DOCX at once; then a colleague previews a PDF's text.
      const department = await createDepartment(admin, 'Бенчмарк');
      const password = 'bench-password-1';
      const logins = [...Array.from({ length: HOSTILE }, (_, index) => `hostile${index + 1}`), 'colleague'];
      const ids: string[] = [];
      for (const login of logins) ids.push(await createUser(admin, { login, fullName: login, password, departmentId: department }));
      await setFolderAccess(
        admin,
        folder,
        ids.map((principalId) => ({ principalId, level: 'edit' as const })),
      );
      const clients = await Promise.all(logins.map((login) => signedIn(server, login, password)));
      const colleague = clients.pop()!;
      const bombs = await Promise.all(clients.map((client, index) => storeFile(heavy, `hostile-${index + 1}.docx`, client)));
      const letter = await storeFile(await pdfWithText('A colleague letter'), 'letter.pdf', colleague);
      const start = performance.now();
      const refusedAfter: number[] = [];
      const hostile = bombs.map((bomb, index) =>
        fetch(`${server.url}${bomb.url}/preview`, { headers: { cookie: clients[index].cookieHeader() } }).then(async (answer) => {
          await answer.arrayBuffer();
          refusedAfter.push(performance.now() - start);
          return answer.status;
        }),
      );
      await sleep(200);
      const asked = performance.now();
      const answer = await fetch(`${server.url}${letter.url}/preview`, { headers: { cookie: colleague.cookieHeader() } });
      const text = await answer.text();
      const waited = performance.now() - asked;
      const statuses = await Promise.all(hostile);
      console.log(
        `${HOSTILE} new accounts each previewing that DOCX at once, then a colleague a one-page PDF's text: the colleague answered ${answer.status}` +
          `${text.includes('A colleague letter') ? ' (its text)' : ''} in ${(waited / 1000).toFixed(1)} s; the hostile previews answered ${[...new Set(statuses)].join(', ')} ` +
          `after ${refusedAfter.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s`,
      );
    }
  }
} finally {
  await server.stop();
  await database.stop();
}
