/**
 * `npm run bench:csv-lines [-- --mb 1]`: what the CSV reader of an import (`readRows`, as inspection, the
 * count of rows and each pass of a dry run use it) costs for a file of a header, one row, `--mb` megabytes
 * of one kind of line and a last row: blank lines, lines of only spaces and separators (` ;`, s14
 * re-attack A4), rows shorter than the header (`x;`) and ordinary client rows. Prints each read's wall
 * and CPU time and the rows it gave; asserts nothing.
 */
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { readRows } from '../server/src/transfer/sheet';
import { cpuSeconds, loadAverage, printMachine } from './support';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '1' } } });
const BYTES = Number(values.mb) * 2 ** 20;
const KINDS: [string, string][] = [
  ['blank lines', '\n'],
  ['spaces and separators « ;»', ' ;\n'],
  ['short rows «x;»', 'x;\n'],
  ['client rows', 'ООО «Берёза»;клиент с 2019 года;7707083893\n'],
];

printMachine();
for (const [kind, line] of KINDS) {
  const content = Buffer.from(`Наименование;Примечания;ИНН\nООО «Первая»;заметка;7707083893\n${line.repeat(Math.ceil(BYTES / Buffer.byteLength(line)))}ООО «Последняя»;x;1\n`);
  const file = { size: content.length, open: (range?: { start: number; end: number }) => Readable.from([range ? content.subarray(range.start, range.end) : content]) };
  const load = loadAverage();
  const started = performance.now();
  const cpu = process.cpuUsage();
  let rows = 0;
  for await (const row of readRows(file, { format: 'csv' })) if (row.cells.some((cell) => cell !== null)) rows += 1;
  console.log(
    `${kind}: ${(content.length / 2 ** 20).toFixed(1)} MiB, ${rows} rows with a value — ${Math.round(performance.now() - started)} ms, CPU ${cpuSeconds(process.cpuUsage(cpu)).toFixed(2)} s (load ${load})`,
  );
}
