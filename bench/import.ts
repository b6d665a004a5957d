/**
 * `npm run bench:import [-- --rows 100000] [-- --phones 900] [-- --profile]`: a CSV of N counterparties (name, INN,
 * phone, e-mail, notes) uploaded over HTTP and imported as the background job, as a user would; meanwhile a
 * colleague's client asks for the folder's first page every 200 ms. The server starts as `npm start`
 * does: MONGODB_URI when set, else the built-in database in its own process (a temporary data
 * directory). Prints the file size, the rows per second, the job's wall time, the CPU time the
 * server and the database process spent on it (on a busy machine the wall time says little), and
 * the page latencies during the import. Prints numbers; asserts nothing. `--phones K`: the file holds
 * K distinct phones, each shared by every K-th client (a switchboard, a chain's offices), so the
 * duplicates refresh of each batch meets groups of cards alike to many others; without it every
 * client has its own. `--profile` writes a CPU profile of the database process (to
 * data/bench-profiles/import-database) and prints where its time went.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createCorrespondents } from '../test/support/fixtures';
import { printProfile } from './profile';
import { BENCH_ADMIN, childrenCpuSeconds, cpuSeconds, inn, loadAverage, ms, percentile, printMachine, signedIn, startServerAsNpmStart } from './support';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, phones: { type: 'string' }, profile: { type: 'boolean', default: false } } });
const ROWS = Number(values.rows);
const PHONES = values.phones ? Number(values.phones) : 9_000_000;
const PASSWORD = 'bench-password-1';
const PROFILE_DIR = path.resolve('data/bench-profiles/import-database');

function csv(rows: number): Buffer {
  const lines = ['Наименование;ИНН;Телефон;E-mail;Примечания'];
  for (let n = 1; n <= rows; n += 1)
    lines.push(`ООО «Клиент ${n}»;${inn(n)};+7 495 ${String(1_000_000 + (n % PHONES)).slice(-7)};client${n}@example.ru;импортирован из Excel, строка ${n}`);
  return Buffer.from(`\uFEFF${lines.join('\r\n')}\r\n`, 'utf8');
}

async function main(): Promise<void> {
  printMachine();
  if (values.profile) {
    rmSync(PROFILE_DIR, { recursive: true, force: true });
    // The built-in database is started with this process's node flags: these make it write its profile when it stops.
    process.execArgv.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`);
  }
  const { server, stop } = await startServerAsNpmStart();
  try {
    const admin = await signedIn(server.url, BENCH_ADMIN.login, BENCH_ADMIN.password);
    const { folderId } = await createCorrespondents(admin, PASSWORD, [
      { login: 'importer', fullName: 'Импортёр', level: 'full' },
      { login: 'colleague', fullName: 'Коллега', level: 'read' },
    ]);
    const importer = await signedIn(server.url, 'importer', PASSWORD);
    const colleague = await signedIn(server.url, 'colleague', PASSWORD);
    const file = csv(ROWS);
    console.log(
      `database: ${server.database.kind}${server.database.kind === 'mongodb' ? '' : ' (started as npm start does)'}; load average ${loadAverage()}; file: ${ROWS} rows (${Math.min(ROWS, PHONES)} phones), ${(file.length / 2 ** 20).toFixed(1)} MiB CSV (UTF-8, ;)`,
    );

    const uploadStarted = performance.now();
    const response = await fetch(`${server.url}/transfer/uploads?name=bench.csv`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', cookie: importer.cookieHeader() },
      body: new Uint8Array(file),
    });
    const { id } = (await response.json()) as { id: string };
    console.log(`upload: ${ms(performance.now() - uploadStarted)}`);

    const input = { uploadId: id, folderId, typeKey: 'counterparty' };
    const { importInspection } = await importer.data<{ importInspection: { mapping: { columns: (string | null)[] } } }>(
      'query($input: ImportSettingsInput!) { importInspection(input: $input) { mapping { columns } } }',
      { input },
    );
    const started = performance.now();
    const serverCpu = process.cpuUsage();
    const databaseCpu = childrenCpuSeconds();
    const { startImport } = await importer.data<{ startImport: { id: string } }>(
      'mutation($input: ImportSettingsInput!, $mapping: ImportMappingInput!) { startImport(input: $input, mapping: $mapping, dryRun: false) { id } }',
      { input, mapping: { columns: importInspection.mapping.columns, onMatch: 'skip' } },
    );

    const pages: number[] = [];
    let failedPages = 0;
    let job: { state: string; progress: { done: number; total: number | null }; result: Record<string, unknown> | null; error: string | null } = {
      state: 'queued',
      progress: { done: 0, total: null },
      result: null,
      error: null,
    };
    let lastReport = 0;
    while (!['succeeded', 'failed', 'cancelled'].includes(job.state)) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const asked = performance.now();
      // A page that fails (a connection reset under load) is counted, not fatal to the run.
      const page = await colleague.request('query($f: ID!) { cards(folderId: $f, first: 50) { edges { node { id title values } } } }', { f: folderId }).catch(() => null);
      if (page && !page.errors) pages.push(performance.now() - asked);
      else failedPages += 1;
      // So is a poll of the job that fails (a kept-alive connection the server closed meanwhile): asked again next time.
      const polled = await importer
        .data<{ job: typeof job }>('query($id: ID!) { job(id: $id) { state progress { done total } result error } }', { id: startImport.id })
        .catch(() => null);
      if (polled) job = polled.job;
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        console.log(`  … ${job.progress.done} of ${job.progress.total ?? '?'} rows after ${((performance.now() - started) / 1000).toFixed(0)} s`);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const serverSeconds = cpuSeconds(process.cpuUsage(serverCpu));
    const databaseSeconds = databaseCpu === null ? null : childrenCpuSeconds()! - databaseCpu;
    const { created, refused } = (job.result ?? {}) as { created?: number; refused?: number };
    console.log(
      `import: ${job.state}${job.error ? ` (${job.error})` : ''}; created ${created}, refused ${refused}; ${seconds.toFixed(1)} s → ${(ROWS / seconds).toFixed(0)} rows/s`,
    );
    console.log(
      `CPU during the import: server ${serverSeconds.toFixed(1)} s (this process, the colleague's and the importer's clients included)` +
        (databaseSeconds === null ? '' : `, database process ${databaseSeconds.toFixed(1)} s`) +
        `; load average now ${loadAverage()}`,
    );
    console.log(
      `folder page (50 cards) during the import, ${pages.length} requests: p50 ${ms(percentile(pages, 50))}, p99 ${ms(percentile(pages, 99))}, max ${ms(Math.max(...pages))}; failed: ${failedPages}`,
    );
  } finally {
    await stop();
  }
  if (values.profile) printProfile(PROFILE_DIR, 'database');
}

await main();
