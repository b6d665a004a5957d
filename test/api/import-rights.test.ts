import { expect } from 'chai';
import { Types } from 'mongoose';
import { loadConfig } from '../../server/src/config';
import { JobInterrupted } from '../../server/src/jobs/runner';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import { importJob, type ImportParams } from '../../server/src/transfer/import';
import { Folder } from '../../server/src/access/structure';
import { Card } from '../../server/src/cards/model';
import { holdJobs } from '../support/held-jobs';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const INSPECT = `query($input: ImportSettingsInput!) { importInspection(input: $input) {
  uploadId format encoding delimiter headerRow columns { name } mapping { columns matchField onMatch } } }`;
type Inspection = { uploadId: string; format: 'csv'; encoding: 'utf-8'; delimiter: ';'; headerRow: number; columns: { name: string }[]; mapping: { columns: (string | null)[] } };

/**
 * A running import asks again, before each batch, whether its importer may still create cards in
 * the folder: one whose right was withdrawn or who was deactivated meanwhile stops there, the
 * batches written before kept whole, the stop audited and told in the job's message.
 */
describe('import: the importer’s right is checked again before each batch (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let libraryId: string;
  let tanyaId: string;
  const logger = createLogger(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }));

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'tanya', fullName: 'Татьяна Гончаренко', level: 'full' }]);
    libraryId = scenario.libraryId;
    tanyaId = scenario.userIds.tanya;
  });
  after(async () => {
    await server?.stop();
  });

  /** 1,200 rows (three batches of 500) into a folder of its own, run as the job runs them; `between` is called once the first batch is written. */
  async function importInterrupted(folderName: string, between: (folderId: string) => Promise<void>) {
    const folderId = await createFolder(admin, { libraryId, name: folderName, allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, folderId, [{ principalId: tanyaId, level: 'edit' }]);
    const tanya = await signedIn(server, 'tanya', PASSWORD);
    const rows = Array.from({ length: 1200 }, (_, index) => `ООО «${folderName} ${index + 1}»`);
    const uploaded = await fetch(`${server.url}/transfer/uploads?name=rows.csv`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', cookie: tanya.cookieHeader() },
      body: new Uint8Array(Buffer.from(['Наименование', ...rows].join('\n'), 'utf8')),
    });
    const { id: uploadId } = (await uploaded.json()) as { id: string };
    const inspection = (await tanya.data<{ importInspection: Inspection }>(INSPECT, { input: { uploadId, folderId, typeKey: 'counterparty' } })).importInspection;
    const params: ImportParams = {
      uploadId,
      fileName: 'rows.csv',
      folderId,
      typeKey: 'counterparty',
      format: inspection.format,
      sheet: null,
      encoding: inspection.encoding,
      delimiter: inspection.delimiter,
      headerRow: inspection.headerRow,
      headers: inspection.columns.map((column) => column.name),
      mapping: { columns: inspection.mapping.columns, constants: {}, matchField: null, onMatch: 'skip', matchOtherFolders: false },
      dryRun: false,
      ip: '127.0.0.1',
    };
    let called = false;
    const failure = await importJob
      .run({
        jobId: String(new Types.ObjectId()),
        ownerId: tanyaId,
        params,
        resumeFrom: null,
        signal: new AbortController().signal,
        logger,
        progress: () => undefined,
        checkpoint: async (_value, done) => {
          if (done === 500 && !called) {
            called = true;
            await between(folderId);
          }
        },
      })
      .then(
        () => null,
        (error: unknown) => error as Error,
      );
    const count = await Card.countDocuments({ folderId: new Types.ObjectId(folderId), inTrash: false });
    const audit = (
      await admin.data<{ auditLog: { edges: { node: { summary: string; targetId: string; after: Record<string, unknown> } }[] } }>(
        '{ auditLog(kind: "cards-imported") { edges { node { summary targetId after } } } }',
      )
    ).auditLog.edges
      .map((edge) => edge.node)
      .find((entry) => entry.targetId === folderId);
    return { failure, count, audit };
  }

  it('stops after the batch written when the right to create cards in the folder is withdrawn; audited, said in the job’s message', async () => {
    const { failure, count, audit } = await importInterrupted('Права сняты', (folderId) => setFolderAccess(admin, folderId, [{ principalId: tanyaId, level: 'read' }]));
    expect(failure).to.be.instanceOf(Error).and.not.to.be.instanceOf(JobInterrupted);
    expect(failure!.message).to.equal(
      'Импорт остановлен: у вас больше нет права создавать карточки в этой папке (или ваша учётная запись отключена). До остановки записано целыми пачками — создано 500, обновлено 0, пропущено 0, отклонено 0; остальные строки не загружены. Записанное можно отменить.',
    );
    expect(count).to.equal(500);
    expect(audit?.summary).to.equal('rows.csv: создано 500, обновлено 0, пропущено 0, отклонено 0 (остановлен: право создавать карточки в папке снято)');
    expect(audit?.after).to.deep.include({ created: 500, rightWithdrawn: true });
  });

  it('a folder with an import queued into it is not deleted, the refusal naming the import and its owner; one deleted anyway while the import runs stops it after the batch written (s12 attack A4)', async () => {
    // Queued: the folder is in use, as one holding cards is.
    const release = holdJobs('import');
    try {
      const folderId = await createFolder(admin, { libraryId, name: 'Удаляемая', allowedCardTypes: ['counterparty'] });
      await setFolderAccess(admin, folderId, [{ principalId: tanyaId, level: 'edit' }]);
      const tanya = await signedIn(server, 'tanya', PASSWORD);
      const uploaded = await fetch(`${server.url}/transfer/uploads?name=rows.csv`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', cookie: tanya.cookieHeader() },
        body: new Uint8Array(Buffer.from('Наименование\nООО «Сирота»\n', 'utf8')),
      });
      const input = { uploadId: ((await uploaded.json()) as { id: string }).id, folderId, typeKey: 'counterparty' };
      await tanya.data('mutation($input: ImportSettingsInput!, $mapping: ImportMappingInput!) { startImport(input: $input, mapping: $mapping, dryRun: false) { id } }', {
        input,
        mapping: { columns: ['name'], onMatch: 'skip' },
      });
      const refused = await admin.request('mutation($id: ID!) { deleteFolder(id: $id) }', { id: folderId });
      // Named, not «Папка не пуста»: the folder shows no cards yet.
      expect(refused.errors?.[0].message).to.equal('В папку идёт импорт «rows.csv» (Татьяна Гончаренко) — дождитесь его конца или отмените его');
    } finally {
      release();
    }

    // Deleted anyway (a deletion that passed before the import was queued): the import stops before its next batch.
    const { failure, count, audit } = await importInterrupted('Удалённая', async (folderId) => {
      await Folder.deleteOne({ _id: new Types.ObjectId(folderId) });
    });
    expect(failure!.message).to.equal(
      'Импорт остановлен: папку «Удалённая» удалили. До остановки записано целыми пачками — создано 500, обновлено 0, пропущено 0, отклонено 0; остальные строки не загружены. Записанное можно отменить.',
    );
    expect(count).to.equal(500);
    expect(audit?.summary).to.equal('rows.csv: создано 500, обновлено 0, пропущено 0, отклонено 0 (остановлен: папку удалили)');
    expect(audit?.after).to.deep.include({ created: 500, folderDeleted: true });
  });

  it('stops the same way when the importer is deactivated', async () => {
    const { failure, count } = await importInterrupted('Отключена', async () => {
      await admin.data('mutation($id: ID!) { setUserActive(id: $id, active: false) { id } }', { id: tanyaId });
    });
    await admin.data('mutation($id: ID!) { setUserActive(id: $id, active: true) { id } }', { id: tanyaId });
    expect(failure?.message).to.match(/^Импорт остановлен: /);
    expect(count).to.equal(500);
  });
});
