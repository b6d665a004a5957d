/**
 * `npm run bench:xlsx-links [-- --rows 100000]`: what reading an .xlsx import costs when every row's
 * «Сайт» is a hyperlink cell (text «Сайт компании», the target in the sheet's relationships), against
 * the same rows with the address as plain text. Writes both files with exceljs, then reads each as an
 * import does (`readRows`: the streamed sheet; the linked file's `<hyperlinks>` and relationships read
 * first), each in a process of its own with start:prod's heap flags, sampling its RSS and V8 heap every
 * 50 ms; prints the file sizes, the read's wall and CPU time, and the peaks over the level before it.
 * Prints numbers; asserts nothing.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import ExcelJS from 'exceljs';
import { readRows } from '../server/src/transfer/sheet';
import { cpuSeconds, inn, loadAverage, printMachine, sampleMemory } from './support';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, read: { type: 'string' } } });
const ROWS = Number(values.rows);
const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const run = promisify(execFile);

async function writeClients(file: string, linked: boolean): Promise<void> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: true });
  const sheet = workbook.addWorksheet('Клиенты');
  sheet.addRow(['Наименование', 'ИНН', 'Телефон', 'Сайт', 'Примечания']).commit();
  for (let n = 1; n <= ROWS; n += 1) {
    const site = `https://www.bereza-${n}.ru/`;
    sheet
      .addRow([`ООО «Берёза-${n}»`, inn(n), `+7 495 ${String(1_000_000 + n).slice(-7)}`, linked ? { text: 'Сайт компании', hyperlink: site } : site, 'клиент с 2019 года'])
      .commit();
  }
  sheet.commit();
  await workbook.commit();
}

async function measuredRead(file: string): Promise<{ rows: number; links: number; ms: number; cpu: number; rss: [number, number]; heap: [number, number] }> {
  const { size } = await stat(file);
  const sheetFile = { size, open: (range?: { start: number; end: number }) => createReadStream(file, range && { start: range.start, end: range.end - 1 }) };
  const memory = sampleMemory();
  const started = performance.now();
  const cpu = process.cpuUsage();
  let rows = 0;
  let links = 0;
  try {
    for await (const row of readRows(sheetFile, { format: 'xlsx' })) {
      rows += 1;
      links += row.links?.size ?? 0;
    }
  } finally {
    memory.stop();
  }
  return { rows, links, ms: performance.now() - started, cpu: cpuSeconds(process.cpuUsage(cpu)), ...memory.stop() };
}

/** Reads `file` in a process of its own (start:prod's heap flags, as this one), so its resident memory is the read's alone, not the writer's. */
async function readApart(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--read', file], { maxBuffer: 1 << 20 });
  return stdout.trim();
}

if (values.read) {
  const { rows, links, ms, cpu, rss, heap } = await measuredRead(values.read);
  console.log(
    `${rows} rows (${links} links) in ${(ms / 1000).toFixed(1)} s, CPU ${cpu.toFixed(1)} s, ` +
      `RSS ${MiB(rss[0])} → peak ${MiB(rss[1])} (+${MiB(rss[1] - rss[0])}), heap peak +${MiB(heap[1] - heap[0])}`,
  );
} else {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-xlsx-links-'));
  try {
    printMachine();
    console.log(`rows: ${ROWS.toLocaleString('en-GB')}, load average before: ${loadAverage()}`);
    for (const linked of [false, true]) {
      const file = path.join(directory, linked ? 'linked.xlsx' : 'plain.xlsx');
      await writeClients(file, linked);
      console.log(`${linked ? 'site as a hyperlink' : 'site as text       '}: ${MiB((await stat(file)).size)}, ${await readApart(file)}`);
    }
    console.log(`load average after: ${loadAverage()}`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
