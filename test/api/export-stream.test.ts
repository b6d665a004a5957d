import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { Types } from 'mongoose';
import { buildActor } from '../../server/src/access/actor';
import { findCardType } from '../../server/src/card-types/registry';
import { Card } from '../../server/src/cards/model';
import { newCardDocument } from '../../server/src/cards/service';
import { Folder } from '../../server/src/folders/models';
import { User } from '../../server/src/people/models';
import type { RunningServer } from '../../server/src/server';
import { prepareExport } from '../../server/src/transfer/export';
import { ExportUsage } from '../../server/src/transfer/model';
import { refusalFields, type ApiClient } from '../support/api-client';
import { addToSystemGroup, createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';
import { SseSubscription } from '../support/sse';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const CARDS = 2000;

/**
 * An export reads the next batch of cards only once the download has taken the last one: a client
 * that stops reading holds the export (nothing piles up in memory), and one that goes away ends it —
 * audited with the rows it got, and the daily count settled to them.
 */
describe('export streaming: a stalled or broken-off download', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folderId: string;
  let exporterId: string;

  before(async () => {
    server = await startTestServer({ EXPORT_DAILY_ROWS: '100000' });
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'tanya', fullName: 'Татьяна Гончаренко', level: 'read' }]);
    folderId = scenario.folderId;
    exporterId = scenario.userIds.tanya;
    await addToSystemGroup(admin, 'exporters', [exporterId]);
    const type = (await findCardType('counterparty'))!;
    const folder = (await Folder.findById(folderId, { libraryId: 1 }).lean<{ _id: Types.ObjectId; libraryId: Types.ObjectId }>())!;
    const author = { userId: exporterId } as Parameters<typeof newCardDocument>[0];
    const docs = Array.from({ length: CARDS }, (_, n) =>
      newCardDocument(author, type, folder, { name: `ООО «Клиент ${n + 1}»`, email: `client${n + 1}@example.ru`, website: `https://client${n + 1}.example.ru` }, new Date()),
    );
    await Card.collection.insertMany(docs, { ordered: false });
  });
  after(async () => {
    await server?.stop();
  });

  for (const format of ['csv', 'xlsx'] as const) {
    it(`${format}: stops reading cards while the download is not taken, ends when it goes away, audited as broken off with the rows sent`, async () => {
      const user = (await User.findById(exporterId).lean<{ _id: Types.ObjectId; login: string; fullName: string; locale: 'ru' | 'en' }>())!;
      const actor = await buildActor(user, '127.0.0.1');
      const usageBefore = (await ExportUsage.findById(`${exporterId}:${new Date().toISOString().slice(0, 10)}`).lean<{ rows: number }>())?.rows ?? 0;
      const prepared = await prepareExport(actor, { folderId, format }, { dailyRows: 100000 });
      // A small buffer, the same on every Node (Node 22 raised the default from 16 to 64 KiB).
      const download = new PassThrough({ highWaterMark: 16 * 1024 });
      const writing = prepared.write(download);
      // Nobody reads the download: once its buffer is full, the export waits for it.
      await waitFor(() => download.writableNeedDrain, 'the download to fill up');
      download.destroy();
      const failure = await writing.then(
        () => null,
        (error: Error) => error,
      );
      // The export stops with the stream's error (Node 24 reports the close as «Premature close»).
      expect(failure?.message).to.be.oneOf(['the export download closed', 'Premature close']);

      type Audit = { auditLog: { edges: { node: { summary: string; after: { rows: number; complete: boolean } } }[] } };
      const audit = await admin.data<Audit>('{ auditLog(kind: "cards-exported", first: 1) { edges { node { summary after } } } }');
      const entry = audit.auditLog.edges[0].node;
      expect(entry.summary).to.match(new RegExp(`^Папка «Корреспонденты»: \\d+ карточек в ${format} \\(загрузка прервана\\)$`));
      expect(entry.after.complete).to.equal(false);
      expect(entry.after.rows).to.be.below(CARDS);
      const usageAfter = (await ExportUsage.findById(`${exporterId}:${new Date().toISOString().slice(0, 10)}`).lean<{ rows: number }>())!.rows;
      expect(usageAfter - usageBefore, 'the daily count settles to the rows sent').to.equal(entry.after.rows);
    });
  }

  it('tells the page that asked, on its live stream, the rows written of the total — up to all of them — and no one else', async () => {
    type Live = { live: { exportProgress: { progressId: string; rows: number; total: number } | null } };
    const query = 'subscription { live { exportProgress { progressId rows total } } }';
    const tanya = await signedIn(server, 'tanya', PASSWORD);
    const own = new SseSubscription<Live>(server.url, tanya.cookieHeader(), query);
    const other = new SseSubscription<Live>(server.url, admin.cookieHeader(), query);
    try {
      await Promise.all([own.ready, other.ready]);
      const exported = await fetch(`${server.url}/transfer/export`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: tanya.cookieHeader() },
        body: JSON.stringify({ folderId, format: 'csv', progressId: 'page-1' }),
      });
      expect(exported.status).to.equal(200);
      const lines = (await exported.text()).trim().split('\r\n');
      expect(lines).to.have.length(CARDS + 1);
      const progress = () => own.received.flatMap(({ live }) => (live.exportProgress ? [live.exportProgress] : []));
      await waitFor(() => progress().some((word) => word.rows === CARDS), 'the last rows to be told');
      const told = progress();
      expect(told[0]).to.deep.equal({ progressId: 'page-1', rows: 0, total: CARDS });
      expect(told.every((word) => word.progressId === 'page-1' && word.total === CARDS)).to.equal(true);
      expect(told.map((word) => word.rows)).to.deep.equal([...told.map((word) => word.rows)].sort((a, b) => a - b));
      expect(other.received.filter(({ live }) => live.exportProgress)).to.deep.equal([]);

      const wrong = await fetch(`${server.url}/transfer/export`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: tanya.cookieHeader() },
        body: JSON.stringify({ folderId, format: 'csv', progressId: '<script>' }),
      });
      expect(wrong.status).to.equal(400);
      expect(((await wrong.json()) as { fields: Record<string, string> }).fields).to.deep.equal({ progressId: 'Неверный идентификатор' });
    } finally {
      own.close();
      other.close();
    }
  });

  it('stops when «Экспорт» is taken away while the file is written, audited as such', async () => {
    const user = (await User.findById(exporterId).lean<{ _id: Types.ObjectId; login: string; fullName: string; locale: 'ru' | 'en' }>())!;
    const prepared = await prepareExport(await buildActor(user, '127.0.0.1'), { folderId, format: 'csv' }, { dailyRows: 100000 });
    const download = new PassThrough({ highWaterMark: 16 * 1024 });
    const writing = prepared.write(download);
    await waitFor(() => download.writableNeedDrain, 'the download to fill up');
    // The administrator takes Татьяна out of «Доверенные лица (экспорт)»; then the download is read on.
    const group = (await admin.data<{ groups: { id: string; systemRole: string | null }[] }>('{ groups { id systemRole } }')).groups.find((g) => g.systemRole === 'exporters')!;
    await admin.data('mutation($id: ID!, $u: [ID!]) { changeGroupMembers(id: $id, remove: $u) { id } }', { id: group.id, u: [exporterId] });
    download.resume();
    const failure = await writing.then(
      () => null,
      (error: Error) => error,
    );
    expect(failure?.message).to.equal('Недостаточно прав: экспорт прерван: право «Экспорт» снято');

    type Audit = { auditLog: { edges: { node: { summary: string; after: { rows: number; complete: boolean; rightWithdrawn?: boolean } } }[] } };
    const entry = (await admin.data<Audit>('{ auditLog(kind: "cards-exported", first: 1) { edges { node { summary after } } } }')).auditLog.edges[0].node;
    expect(entry.summary).to.match(/^Папка «Корреспонденты»: \d+ карточек в csv \(прервана: право «Экспорт» снято\)$/);
    expect(entry.after).to.include({ complete: false, rightWithdrawn: true });
    expect(entry.after.rows).to.be.below(CARDS);
  });
  it('writes the list as it was when the export began: cards a colleague edits while the download waits come once each, none missing (s16 re-attack B3)', async () => {
    // Back in «Доверенные лица (экспорт)» (the test above took her out).
    await addToSystemGroup(admin, 'exporters', [exporterId]);
    const user = (await User.findById(exporterId).lean<{ _id: Types.ObjectId; login: string; fullName: string; locale: 'ru' | 'en' }>())!;
    // The list's own order: the last changed first.
    const prepared = await prepareExport(await buildActor(user, '127.0.0.1'), { folderId, format: 'csv' }, { dailyRows: 100000 });
    const download = new PassThrough({ highWaterMark: 16 * 1024 });
    const chunks: Buffer[] = [];
    const writing = prepared.write(download);
    await waitFor(() => download.writableNeedDrain, 'the download to fill up');
    // Meanwhile a colleague edits the 50 cards the file has not reached yet: they become the list's first.
    const last = await Card.find({ folderId: new Types.ObjectId(folderId), inTrash: false }, { _id: 1 })
      .sort({ updatedAt: 1, _id: 1 })
      .limit(50)
      .lean();
    await Card.updateMany({ _id: { $in: last.map((card) => card._id) } }, { $set: { updatedAt: new Date(Date.now() + 60_000) }, $inc: { version: 1 } });
    download.on('data', (chunk: Buffer) => chunks.push(chunk));
    expect(await writing).to.equal(CARDS);
    const names = Buffer.concat(chunks).toString('utf8').trim().split('\r\n').slice(1);
    expect(names).to.have.length(CARDS);
    expect(new Set(names).size).to.equal(CARDS);
  });

  it('refuses a column asked twice, or more columns than a list shows, at the columns (s16 attack A3)', async () => {
    const tanya = await signedIn(server, 'tanya', PASSWORD);
    const exported = (columns: string[]) =>
      fetch(`${server.url}/transfer/export`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: tanya.cookieHeader() },
        body: JSON.stringify({ folderId, format: 'csv', columns }),
      });
    const twice = await exported(['name', 'email', 'name']);
    expect(twice.status).to.equal(400);
    expect(((await twice.json()) as { fields: Record<string, string> }).fields).to.deep.equal({ 'columns.2': 'Столбец «Наименование» уже выбран' });
    const wide = await exported(Array.from({ length: 20000 }, () => 'name'));
    expect(wide.status).to.equal(400);
    expect(((await wide.json()) as { fields: Record<string, string> }).fields).to.deep.equal({ columns: 'Не больше 1000 столбцов' });
  });
  it('refuses to sort a list by a field of several values (tags), on its page and in its export — their pages came round for ever (s16 re-attack B1)', async () => {
    await addToSystemGroup(admin, 'exporters', [exporterId]);
    const tanya = await signedIn(server, 'tanya', PASSWORD);
    const exported = await fetch(`${server.url}/transfer/export`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: tanya.cookieHeader() },
      body: JSON.stringify({ folderId, format: 'csv', sortBy: 'tags', columns: ['name', 'tags'] }),
    });
    expect(exported.status).to.equal(400);
    expect(((await exported.json()) as { fields: Record<string, string> }).fields).to.deep.equal({ sortBy: 'По этому полю список не сортируется' });
    const page = await tanya.request('query($f: ID!) { cards(folderId: $f, first: 5, sortBy: "tags") { edges { node { id } } } }', { f: folderId });
    expect(refusalFields(page)).to.deep.equal({ sortBy: 'По этому полю список не сортируется' });
  });
});
