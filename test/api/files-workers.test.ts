import { expect } from 'chai';
import mongoose from 'mongoose';
import type { StoredFileDoc } from '../../server/src/files/model';
import { firstTry, heavyFileWork, runOnFile, slowUploaders, threadsEnding, workerIdle, type WorkerStopped } from '../../server/src/files/workers';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { downloadFile, memoType, pdfWithText, scannedPdf, uploadFile } from '../support/files';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }';
const DAY_MS = 24 * 3600_000;

describe('files: heavy work within a first try, slow uploaders kept in the database, worker threads ended safely (API)', function () {
  this.timeout(300_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let folderId: string;
  let editorId: string;
  let keeperId: string;

  const marks = () => mongoose.connection.db!.collection<{ _id: mongoose.Types.ObjectId; until: Date }>('slowuploaders');
  const uploaded = async (file: { name: string; content: Buffer }) => {
    const answer = await uploadFile(editor, server.url, { folderId, typeKey: 'memo', field: 'attachment' }, file);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
    const saved = answer.body.file!;
    await editor.data(CREATE, { f: folderId, t: 'memo', v: { title: file.name, attachment: saved.id } });
    return saved;
  };

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'editor', fullName: 'Татьяна Гончаренко', level: 'edit' },
      { login: 'keeper', fullName: 'Архивариус', level: 'edit' },
    ]);
    editorId = scenario.userIds.editor;
    keeperId = scenario.userIds.keeper;
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: memoType });
    folderId = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Заметки', allowedCardTypes: ['memo'] });
    await setFolderAccess(admin, folderId, [{ principalId: editorId, level: 'edit' }]);
    editor = await signedIn(server, 'editor', PASSWORD);
  });
  afterEach(async () => {
    await marks().deleteMany({});
  });
  after(async () => {
    await server?.stop();
  });

  it('stops a document past its first try once others wait, does it after them with its full limit, and marks its uploader slow in the database (a restart knows it); one nobody waits behind runs on', async () => {
    const text = await uploaded({ name: 'долгий.pdf', content: await pdfWithText('Needs more than a first try') });
    const scan = await uploaded({ name: 'скан.pdf', content: await scannedPdf(['#d01010']) });
    // No work is done in a millisecond: all of it runs past its first try.
    const usual = firstTry.timeMs;
    firstTry.timeMs = 1;
    try {
      // Nobody else's page waits: the page is drawn in one go, and its uploader is not marked.
      const page = await downloadFile(editor, server.url, `${scan.url}/pages/1`);
      expect([page.status, page.headers.get('content-type'), await marks().countDocuments()]).to.deep.equal([200, 'image/jpeg', 0]);

      // Both places of the heavy work held by others; the text preview waits for one, then a colleague's job.
      const release: (() => void)[] = [];
      const holders = ['holder-1', 'holder-2'].map((owner) => heavyFileWork.run(owner, () => new Promise<void>((resolve) => release.push(resolve))));
      let previewed = false;
      const preview = downloadFile(editor, server.url, `${text.url}/preview`).finally(() => (previewed = true));
      await waitFor(() => heavyFileWork.waitingCount() === 1, 'the preview waiting for a place');
      const colleague = heavyFileWork.run('colleague', async () => ({ previewedBefore: previewed, marked: await slowUploaders.has(editorId) }));
      release[0]();
      // The preview ran past its first try while the colleague waited: stopped, its uploader marked, the colleague served first.
      expect(await colleague).to.deep.equal({ previewedBefore: false, marked: true });
      release[1]();
      await Promise.all(holders);
      const answer = await preview;
      expect([answer.status, answer.bytes.toString().includes('Needs more than a first try')]).to.deep.equal([200, true]);
    } finally {
      firstTry.timeMs = usual;
    }
    const mark = await marks().findOne({ _id: new mongoose.Types.ObjectId(editorId) });
    expect(mark!.until.getTime() - Date.now()).to.be.within(DAY_MS - 600_000, DAY_MS);
    // Another instance, or this one restarted, reads the same mark.
    const dbName = server.database.connection.db!.databaseName;
    await server.stop();
    server = await startTestServer({}, { dbName });
    editor = await signedIn(server, 'editor', PASSWORD);
    expect([await slowUploaders.has(editorId), await slowUploaders.has(keeperId)]).to.deep.equal([true, false]);
  });

  it('knows an uploader another instance marked slow, and forgets a mark whose time is up before the database removes it', async () => {
    await marks().insertOne({ _id: new mongoose.Types.ObjectId(keeperId), until: new Date(Date.now() + 3600_000) });
    expect(await slowUploaders.has(keeperId)).to.equal(true);
    await marks().updateOne({ _id: new mongoose.Types.ObjectId(keeperId) }, { $set: { until: new Date(Date.now() - 1000) } });
    expect(await slowUploaders.has(keeperId)).to.equal(false);
  });

  it('ends worker threads mid-job again and again (on start-up, reading, idle) and every job still answers: its text, or that it ran out of time', async () => {
    const saved = await uploaded({ name: 'много раз.pdf', content: await pdfWithText('Terminated and started again') });
    const file = (await mongoose.connection.db!.collection('files').findOne({ _id: new mongoose.Types.ObjectId(saved.id) })) as unknown as StoredFileDoc;
    const read = (timeoutMs: number) => runOnFile<{ pages: string[] } | WorkerStopped>('pdf-text-worker.ts', file, { heapMb: 384, timeoutMs });
    const usualIdle = workerIdle.timeMs;
    // Threads left waiting are ended almost at once, while the next jobs are given out.
    workerIdle.timeMs = 2;
    try {
      for (let round = 0; round < 8; round += 1) {
        // Four threads at once, ended a few milliseconds into their job (starting, or reading the file), beside one that has all the time it needs.
        const answers = await Promise.all([1, 5, 20, 60 + round * 40, 60_000].map(read));
        for (const answer of answers.slice(0, 4)) if ('stopped' in answer) expect(answer.stopped, JSON.stringify(answer)).to.equal('timeout');
        expect(answers[4], `round ${round}`).to.deep.equal({ pages: ['Terminated and started again'] });
        expect(await read(60_000), `round ${round}, after`).to.deep.equal({ pages: ['Terminated and started again'] });
      }
    } finally {
      workerIdle.timeMs = usualIdle;
    }
    await waitFor(() => threadsEnding() === 0, 'every ended thread gone');
    expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
  });
});
