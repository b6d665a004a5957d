import { expect } from 'chai';
import { registerCardHooks } from '../../server/src/cards/lifecycle';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { serverWithImporter, startCsvImport } from '../support/import';
import { waitFor } from '../support/wait';

/** Holds the after-commit work of the next batch stored in a folder (its duplicates, colleagues' unread marks), as a slow one under load is. */
let held: { folderId: string; reached: () => void; released: Promise<void> } | null = null;
registerCardHooks({
  name: 'test: hold a batch’s after-commit work',
  async afterCommitBatch(changes) {
    const hold = held;
    if (!hold || !changes.some((change) => String(change.after.folderId) === hold.folderId)) return;
    held = null;
    hold.reached();
    await hold.released;
  },
});

type Job = { state: string; progress: { done: number; total: number | null; secondsLeft: number | null; note: string } };

/**
 * After its last row an import went on for a batch's time showing «100 % · Выполняется · 3 000 из
 * 3 000 · осталось около 0 с» (s15 U7, #15): what still runs then is named, and no time left is told.
 */
describe('an import’s finishing phase (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let tanya: ApiClient;
  let folderId: string;

  before(async () => {
    ({ server, importer: tanya, folderId } = await serverWithImporter());
  });
  after(async () => {
    await server?.stop();
  });

  it('says «Завершение: …» without a time left once every row is written, until the job is done', async () => {
    let reached = () => {};
    let release = () => {};
    const arrived = new Promise<void>((resolve) => (reached = resolve));
    held = { folderId, reached, released: new Promise<void>((resolve) => (release = resolve)) };
    const csv = ['Наименование;ИНН', 'ООО «Берёза»;7707083893', 'ООО «Ель»;500100732259', 'ООО «Сосна»;'].join('\r\n');
    const id = await startCsvImport(server, tanya, { folderId, typeKey: 'counterparty', csv, columns: ['name', 'inn'] });
    const job = async () => (await tanya.data<{ job: Job }>('query($id: ID!) { job(id: $id) { state progress { done total secondsLeft note } } }', { id })).job;
    await arrived;
    let finishing: Job | null = null;
    await waitFor(async () => (finishing = await job()).progress.note !== '', 'the finishing phase told');
    expect(finishing!.state).to.equal('running');
    expect(finishing!.progress).to.deep.include({
      done: 3,
      total: 3,
      secondsLeft: null,
      note: 'Завершение: поиск дубликатов и отметки «новое» для коллег по последним строкам, запись в журнал',
    });
    release();
    let done: Job | null = null;
    await waitFor(async () => (done = await job()).state === 'succeeded', 'the import to end');
    expect(done!.progress).to.include({ done: 3, total: 3, note: '' });
  });
});
