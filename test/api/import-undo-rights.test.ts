import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { setFolderAccess } from '../support/fixtures';
import { holdBatchInside } from '../support/held-jobs';
import { serverWithImporter, startCsvImport } from '../support/import';
import { waitFor } from '../support/wait';

type Job = { id: string; state: string; result: Record<string, number> | null };
const JOB = 'id state result';

/**
 * An import's undo is the user's write like any other (s16 attack A1, #15): it went on trashing the
 * import's cards after her only right in the folder was taken away. Her rights are asked again
 * between batches: what is no longer hers to trash is kept, and counted so.
 */
describe('an import’s undo after the importer’s right is taken away (API)', function () {
  this.timeout(1_500_000);
  let server: RunningServer;
  let admin: ApiClient;
  let tanya: ApiClient;
  let folderId: string;
  let tanyaId: string;

  const finished = async (client: ApiClient, id: string) => {
    let job: Job | null = null;
    await waitFor(
      async () => ['succeeded', 'failed', 'cancelled'].includes((job = (await client.data<{ job: Job }>(`query($id: ID!) { job(id: $id) { ${JOB} } }`, { id })).job).state),
      `job ${id} to end`,
      540_000,
    );
    return job!;
  };

  before(async () => {
    ({ server, admin, importer: tanya, importerId: tanyaId, folderId } = await serverWithImporter());
  });
  after(async () => {
    await server?.stop();
  });

  it('keeps the cards of the batches after the right was withdrawn, counted as kept; the ones before it are in the trash', async () => {
    const csv = ['Наименование', ...Array.from({ length: 260 }, (_, n) => `ООО «Клиент ${n + 1}»`)].join('\r\n');
    const importId = await startCsvImport(server, tanya, { folderId, typeKey: 'counterparty', csv, columns: ['name'] });
    expect((await finished(tanya, importId)).result).to.include({ created: 260 });

    // The undo's first batch (250 cards) waits in its transaction while the administrator takes her right away.
    const held = holdBatchInside('import-undo', 1, 60_000);
    try {
      const { undoImport } = await tanya.data<{ undoImport: Job }>(`mutation($id: ID!) { undoImport(importId: $id) { ${JOB} } }`, { id: importId });
      await held.reached;
      await setFolderAccess(admin, folderId, [{ principalId: tanyaId, level: 'read' }]);
      held.release();
      const undone = await finished(tanya, undoImport.id);
      expect(undone.state).to.equal('succeeded');
      expect(undone.result).to.include({ trashed: 250, restored: 0, kept: 10 });
    } finally {
      held.restore();
    }
    const { cards } = await admin.data<{ cards: { totalCount: number } }>('query($f: ID!) { cards(folderId: $f, first: 1) { totalCount } }', { f: folderId });
    expect(cards.totalCount).to.equal(10);
  });
});
