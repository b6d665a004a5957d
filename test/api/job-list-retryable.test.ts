import { Readable } from 'node:stream';
import { expect } from 'chai';
import { Types } from 'mongoose';
import { Job } from '../../server/src/jobs/model';
import type { RunningServer } from '../../server/src/server';
import { storeFile } from '../../server/src/transfer/files';
import { undoKey } from '../../server/src/transfer/model';
import type { ApiClient } from '../support/api-client';
import { databaseCommandsDuring } from '../support/commands';
import { createFolder, createLibrary } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

/** «Продолжить с места остановки» offered on a list of failed imports: the same answers as job by job, asked of the database once for the page. */
describe('failed imports in a job list: retryable (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  const expected = new Map<string, boolean>();

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    admin = await signedIn(server);
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const folderId = await createFolder(admin, { libraryId: await createLibrary(admin, 'Импорты'), name: 'Клиенты' });
    const upload = () => storeFile(Readable.from([Buffer.from('Наименование\nООО «Берёза»\n')]), { kind: 'upload', ownerId: adminId, name: 'клиенты.csv' });
    const failedImport = async (params: { folderId?: string; uploadId?: string; dryRun?: boolean }, retryable: boolean) => {
      const job = await Job.create({
        type: 'import',
        ownerId: new Types.ObjectId(adminId),
        state: 'failed',
        error: 'boom',
        params: { folderId, uploadId: await upload(), fileName: 'клиенты.csv', typeKey: 'counterparty', headers: ['Наименование'], dryRun: false, ...params },
      });
      expected.set(String(job._id), retryable);
      return String(job._id);
    };
    for (let index = 0; index < 20; index += 1) await failedImport({}, true);
    await failedImport({ dryRun: true }, false);
    await failedImport({ folderId: String(new Types.ObjectId()) }, false);
    await failedImport({ uploadId: String(new Types.ObjectId()) }, false);
    const undone = await failedImport({}, false);
    await Job.create({ type: 'import-undo', ownerId: new Types.ObjectId(adminId), state: 'succeeded', uniqueKey: undoKey(undone), params: { importId: undone } });
  });
  after(async () => {
    await server?.stop();
  });

  it('answers each failed import as the job alone does — continuable, a dry run, its folder deleted, its upload gone, undone — with a few queries for the page', async () => {
    const LIST = '{ jobs(type: "import", allUsers: true, first: 50) { edges { node { id retryable } } } }';
    type List = { jobs: { edges: { node: { id: string; retryable: boolean } }[] } };
    await admin.data('{ viewer { user { id } } }'); // the access snapshot read before, not during the list
    const { result, commands } = await databaseCommandsDuring(() => admin.data<List>(LIST));
    const listed = new Map(result.jobs.edges.map(({ node }) => [node.id, node.retryable]));
    expect(listed).to.deep.equal(expected);
    for (const [id, retryable] of expected) {
      expect((await admin.data<{ job: { retryable: boolean } }>('query($id: ID!) { job(id: $id) { retryable } }', { id })).job.retryable, id).to.equal(retryable);
    }
    // 24 imports ask whether they were undone, whether their folder and their upload are still there: one query each for all of them.
    const reads = (collection: string) => commands.filter((command) => command.collection === collection && command.name !== 'getMore').length;
    expect({ folders: reads('folders'), uploads: reads('transfer.files') }).to.deep.equal({ folders: 1, uploads: 1 });
    expect(reads('jobs'), 'the page, its count and the undo lookup').to.be.at.most(3);
  });
});
