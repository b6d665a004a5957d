/**
 * `npm run bench:xlsx-links [-- --rows 100000]`: what reading an .xlsx import costs when every row's
 * «Сайт» is a hyperlink cell (text «Сайт компании», the target in the sheet's relationships), against
 * the same rows with the address as plain text. Writes both files with exceljs, then reads each as an
 * import does (`readRows`: the streamed sheet; the linked file's `<hyperlinks>` and relationships read
 * first), with start:prod's heap flags, sampling this process's RSS and V8 heap every 50 ms; prints
 * the file sizes, the read's wall and CPU time, and the peaks over the level before it. Prints
 * numbers; asserts nothing.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import ExcelJS from 'exceljs';
import { readRows } from '../server/src/transfer/sheet';
import { cpuSeconds, inn, loadAverage, printMachine } from './support';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' } } });
const ROWS = Number(values.rows);
const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const settle = () => (globalThis as { gc?: () => void }).gc?.();

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

async function measuredRead(file: string): Promise<{ rows: number; links: number; ms: number; cpu: number; rss: number; heap: number }> {
  const { size } = await stat(file);
  const sheetFile = { size, open: (range?: { start: number; end: number }) => createReadStream(file, range && { start: range.start, end: range.end - 1 }) };
  settle();
  const before = process.memoryUsage();
  const peak = { rss: before.rss, heap: before.heapUsed };
  const sample = setInterval(() => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.heap = Math.max(peak.heap, now.heapUsed);
  }, 50);
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
    clearInterval(sample);
  }
  return { rows, links, ms: performance.now() - started, cpu: cpuSeconds(process.cpuUsage(cpu)), rss: peak.rss - before.rss, heap: peak.heap - before.heapUsed };
}

const directory = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-xlsx-links-'));
try {
  printMachine();
  console.log(`rows: ${ROWS.toLocaleString('en-GB')}, load average before: ${loadAverage()}`);
  for (const linked of [false, true]) {
    const file = path.join(directory, linked ? 'linked.xlsx' : 'plain.xlsx');
    await writeClients(file, linked);
    const read = await measuredRead(file);
    console.log(
      `${linked ? 'site as a hyperlink' : 'site as text     '}: ${MiB((await stat(file)).size)}, ${read.rows} rows (${read.links} links) in ${(read.ms / 1000).toFixed(1)} s, ` +
        `CPU ${read.cpu.toFixed(1)} s, RSS peak +${MiB(read.rss)}, heap peak +${MiB(read.heap)}`,
    );
  }
  console.log(`load average after: ${loadAverage()}`);
} finally {
  await rm(directory, { recursive: true, force: true });
}
