/**
 * `npm run bench:inspect-during-import [-- --rows 20000] [-- --rounds 20]`: while one user's import of a
 * generated .xlsx of N counterparties runs (as bench:import starts it: the built-in database in its own
 * process), another user uploads a 100-row .xlsx and asks for its inspection, then for the folder's
 * import runs, round after round — the import page's requests (s14 U1). Prints each round's times with
 * the import's progress and the load average, and the same requests before the import for comparison.
 * Prints numbers; asserts nothing.
 */
import { parseArgs } from 'node:util';
import ExcelJS from 'exceljs';
import { createCorrespondents } from '../test/support/fixtures';
import type { ApiClient } from '../test/support/api-client';
import { BENCH_ADMIN, inn, loadAverage, ms, printMachine, signedIn, startServerAsNpmStart } from './support';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '20' } } });
const PASSWORD = 'bench-password-1';

async function xlsx(rows: number): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('Клиенты');
  sheet.addRow(['Наименование', 'ИНН', 'Телефон', 'E-mail', 'Примечания']);
  for (let n = 1; n <= rows; n += 1) sheet.addRow([`ООО «Клиент ${n}»`, inn(n), `+7 495 ${String(1_000_000 + n).slice(-7)}`, `client${n}@example.ru`, `строка ${n}`]);
  return Buffer.from(await book.xlsx.writeBuffer());
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; took: number }> {
  const started = performance.now();
  const result = await work();
  return { result, took: performance.now() - started };
}

async function main(): Promise<void> {
  printMachine();
  const { server, stop } = await startServerAsNpmStart();
  try {
    const admin = await signedIn(server.url, BENCH_ADMIN.login, BENCH_ADMIN.password);
    const { folderId } = await createCorrespondents(admin, PASSWORD, [
      { login: 'importer', fullName: 'Импортёр', level: 'full' },
      { login: 'colleague', fullName: 'Коллега', level: 'full' },
    ]);
    const importer = await signedIn(server.url, 'importer', PASSWORD);
    const colleague = await signedIn(server.url, 'colleague', PASSWORD);
    const [large, small] = [await xlsx(Number(values.rows)), await xlsx(100)];
    console.log(
      `database: ${server.database.kind}; import: ${values.rows} rows, ${(large.length / 2 ** 20).toFixed(1)} MiB .xlsx; inspected: 100 rows, ${(small.length / 1024).toFixed(0)} KB .xlsx`,
    );
    const upload = async (client: ApiClient, file: Buffer) => {
      const response = await fetch(`${server.url}/transfer/uploads?name=clients.xlsx`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', cookie: client.cookieHeader() },
        body: new Uint8Array(file),
      });
      return ((await response.json()) as { id: string }).id;
    };
    const inspect = (client: ApiClient, uploadId: string) =>
      client.data<{ importInspection: { mapping: { columns: (string | null)[] } } }>(
        'query($input: ImportSettingsInput!) { importInspection(input: $input) { mapping { columns } } }',
        { input: { uploadId, folderId, typeKey: 'counterparty' } },
      );
    const round = async (when: string) => {
      const uploaded = await timed(() => upload(colleague, small));
      const inspected = await timed(() => inspect(colleague, uploaded.result));
      const runs = await timed(() => colleague.data('query($f: ID!) { importRuns(folderId: $f) { fileName job { id state } } }', { f: folderId }));
      console.log(`${when}: upload ${ms(uploaded.took)}, inspection ${ms(inspected.took)}, importRuns ${ms(runs.took)}; load average ${loadAverage()}`);
    };
    for (let n = 0; n < 3; n += 1) await round('no import');

    const uploadId = await upload(importer, large);
    const { importInspection } = await inspect(importer, uploadId);
    const { startImport } = await importer.data<{ startImport: { id: string } }>(
      'mutation($input: ImportSettingsInput!, $mapping: ImportMappingInput!) { startImport(input: $input, mapping: $mapping, dryRun: false) { id } }',
      { input: { uploadId, folderId, typeKey: 'counterparty' }, mapping: { columns: importInspection.mapping.columns, onMatch: 'skip' } },
    );
    const started = performance.now();
    for (let n = 0; n < Number(values.rounds); n += 1) {
      const { job } = await importer.data<{ job: { state: string; progress: { done: number } } }>('query($id: ID!) { job(id: $id) { state progress { done } } }', {
        id: startImport.id,
      });
      if (job.state !== 'queued' && job.state !== 'running') break;
      await round(`import ${job.state}, ${job.progress.done} rows after ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  } finally {
    await stop();
  }
}

await main();
