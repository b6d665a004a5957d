import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import JSZip from 'jszip';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents } from '../support/fixtures';
import { seededRandom } from '../support/random';
import { signedIn, startTestServer } from '../support/server';
import { understated, withPart } from '../support/zip';
import { waitFor } from '../support/wait';
import { sheetRows } from '../support/xlsx';

const PASSWORD = 'secret-password-1';
const INSPECT = 'query($input: ImportSettingsInput!) { importInspection(input: $input) { delimiter encoding headerRow columns { name samples } } }';

/** A small honest workbook: a header and one counterparty. */
async function workbook(): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('Контрагенты');
  sheet.addRow(['Наименование', 'ИНН']);
  sheet.addRow(['ООО «Кассиопея»', '7707083893']);
  return Buffer.from(await book.xlsx.writeBuffer());
}

/** Shared strings of one string of `bytes` letters: tens of megabytes that pack into a few kilobytes. */
const hugeSharedStrings = (bytes: number) =>
  `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2"><si><t>${'A'.repeat(bytes)}</t></si><si><t>ИНН</t></si></sst>`;

describe('import of hostile files (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let tanya: ApiClient;
  let folderId: string;

  const upload = async (name: string, content: Buffer): Promise<string> => {
    const response = await fetch(`${server.url}/transfer/uploads?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', cookie: tanya.cookieHeader() },
      body: new Uint8Array(content),
    });
    const body = (await response.json()) as { id: string };
    expect(response.status, JSON.stringify(body)).to.equal(201);
    return body.id;
  };
  const inspect = async (name: string, content: Buffer) =>
    tanya.request<{ importInspection: { delimiter: string | null; columns: { name: string; samples: string[] }[] } }>(INSPECT, {
      input: { uploadId: await upload(name, content), folderId, typeKey: 'counterparty' },
    });

  before(async () => {
    server = await startTestServer();
    const admin = await signedIn(server);
    ({ folderId } = await createCorrespondents(admin, PASSWORD, [{ login: 'tanya', fullName: 'Татьяна Гончаренко', level: 'full' }]));
    tanya = await signedIn(server, 'tanya', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  type EndedJob = { id: string; state: string; result: { created: number; refused: number } | null; error: string | null };
  /** Starts an import (not a dry run) and waits for its end. */
  const importToEnd = async (input: Record<string, unknown>, mapping: { columns: (string | null)[]; onMatch: string }): Promise<EndedJob> => {
    const started = await tanya.data<{ startImport: { id: string } }>(
      'mutation($input: ImportSettingsInput!, $mapping: ImportMappingInput!) { startImport(input: $input, mapping: $mapping, dryRun: false) { id } }',
      { input, mapping },
    );
    let job: EndedJob | null = null;
    await waitFor(
      async () => {
        job = (await tanya.data<{ job: EndedJob }>('query($id: ID!) { job(id: $id) { id state result error } }', { id: started.startImport.id })).job;
        return ['succeeded', 'failed', 'cancelled'].includes(job.state);
      },
      'the import to end',
      60_000,
    );
    return job!;
  };

  const expectRefusedAtFile = (answer: Awaited<ReturnType<typeof inspect>>, text: string) => {
    expect(answer.status, JSON.stringify(answer)).to.equal(200);
    expect(answer.errors?.[0].message).to.equal(text);
    expect(answer.errors?.[0].extensions).to.deep.equal({ code: 'BAD_USER_INPUT', fields: { file: text } });
  };

  it('refuses an .xlsx whose shared strings unpack to far more than it weighs, before reading it, and keeps serving', async () => {
    const bomb = await withPart(await workbook(), 'xl/sharedStrings.xml', hugeSharedStrings(24 * 1024 * 1024));
    expect(bomb.length).to.be.below(100 * 1024);
    expectRefusedAtFile(await inspect('бомба.xlsx', bomb), 'Файл слишком велик после распаковки');
    // Its central directory understating the sizes does not get it through: what is unpacked is counted.
    const disguised = understated(bomb, 'xl/sharedStrings.xml', 1000);
    expectRefusedAtFile(await inspect('бомба-2.xlsx', disguised), 'Файл слишком велик после распаковки');
    // An honest workbook is read as before.
    const honest = await inspect('контрагенты.xlsx', await workbook());
    expect(honest.errors).to.equal(undefined);
    expect(honest.data!.importInspection.columns.map((column) => [column.name, column.samples[0]])).to.deep.equal([
      ['Наименование', 'ООО «Кассиопея»'],
      ['ИНН', '7707083893'],
    ]);
  });

  it('refuses a file named .xlsx that is not one, at the file, in the user’s language', async () => {
    expectRefusedAtFile(
      await inspect('не-таблица.xlsx', Buffer.from('Наименование;ИНН\nООО «Кассиопея»;7707083893\n')),
      'Файл повреждён или это не .xlsx: сохраните его в Excel заново',
    );
  });

  it('detects the separator of a CSV whose first cell is longer than 64 KB', async () => {
    const note = `"${'очень длинное примечание, '.repeat(5000)}"`;
    expect(Buffer.byteLength(note)).to.be.above(128 * 1024);
    const csv = [`${note},Наименование,ИНН`, '"",ООО «Кассиопея»,7707083893', '"",ИП Ёлкин,500100732259'].join('\r\n');
    const answer = await inspect('длинная-ячейка.csv', Buffer.from(csv));
    expect(answer.errors, JSON.stringify(answer.errors)).to.equal(undefined);
    expect(answer.data!.importInspection.delimiter).to.equal(',');
    expect(answer.data!.importInspection.columns.slice(1).map((column) => [column.name, column.samples])).to.deep.equal([
      ['Наименование', ['ООО «Кассиопея»', 'ИП Ёлкин']],
      ['ИНН', ['7707083893', '500100732259']],
    ]);
  });
  it('refuses at the file, in the user’s words, an .xlsx whose sheet carries a DTD and a CSV whose quote never closes', async () => {
    const sheet = `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY xxe SYSTEM "file:///etc/passwd">]><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;&lol;</t></is></c></row></sheetData></worksheet>`;
    expectRefusedAtFile(
      await inspect('сущности.xlsx', await withPart(await workbook(), 'xl/worksheets/sheet1.xml', sheet)),
      'В файле есть комментарии, разделы CDATA или объявления XML, которых Excel не пишет: файл повреждён или собран не в Excel',
    );
    const unclosed = Buffer.from('Наименование;ИНН\nООО «Кассиопея»;7707083893\n"ООО «Без конца»;7728168971\n');
    expectRefusedAtFile(await inspect('кавычка.csv', unclosed), 'Файл не читается как CSV (строка 3): проверьте кавычки и сохраните его заново');
  });

  it('refuses at the file an .xlsx whose elements nest deeper than any Excel part (a cell of thousands of nested elements filled the heap), in a worksheet or in the styles', async () => {
    const nested = (depth: number) => `${'<x a="0">'.repeat(depth)}Я${'</x>'.repeat(depth)}`;
    const sheet = (inline: string) =>
      `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Наименование</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is>${inline}</is></c></row></sheetData></worksheet>`;
    const text = 'В файле элементы вложены глубже 100 уровней: файл повреждён или собран не в Excel';
    expectRefusedAtFile(await inspect('вложенный.xlsx', await withPart(await workbook(), 'xl/worksheets/sheet1.xml', sheet(nested(5000)))), text);
    const styles = `<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${nested(5000)}</styleSheet>`;
    expectRefusedAtFile(await inspect('стили.xlsx', await withPart(await workbook(), 'xl/styles.xml', styles)), text);
    // What looks like a tag's end inside an attribute value does not hide the nesting (s10 re-attack of A8:
    // a tag scanner took `<x a="0.5/>">` for an empty element); closing tags inside a comment or CDATA
    // cannot either: those are refused before (s12 re-attack B1, in the test of text bounds).
    const disguised = (depth: number) => `${'<x a="0.5/>">'.repeat(depth)}Я${'</x>'.repeat(depth)}`;
    expectRefusedAtFile(await inspect('скрытый.xlsx', await withPart(await workbook(), 'xl/worksheets/sheet1.xml', sheet(disguised(150)))), text);
    // Self-closing elements and siblings do not add up: a sheet of many empty cells is read.
    const flat = await inspect('плоский.xlsx', await withPart(await workbook(), 'xl/worksheets/sheet1.xml', sheet(`${'<x/>'.repeat(500)}<t>ООО «Кассиопея»</t>`)));
    expect(flat.errors, JSON.stringify(flat.errors)).to.equal(undefined);
  });

  it('refuses at the file an .xlsx whose part holds more elements besides its rows than any Excel part — 210,000 columns or cell formats (s11 attack A1: 15 million `<col/>` filled the heap)', async () => {
    const sheet = (cols: number) =>
      `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cols>${'<col min="1" max="1"/>'.repeat(cols)}</cols><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Наименование</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>ООО «Кассиопея»</t></is></c></row></sheetData></worksheet>`;
    const text = `В файле больше ${(200_000).toLocaleString('ru-RU')} служебных элементов (столбцов, стилей, объединений) в одной части: файл повреждён или собран не в Excel`;
    expectRefusedAtFile(await inspect('столбцы.xlsx', await withPart(await workbook(), 'xl/worksheets/sheet1.xml', sheet(210_000))), text);
    const styles = `<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs count="210000">${'<xf/>'.repeat(210_000)}</cellXfs></styleSheet>`;
    expectRefusedAtFile(await inspect('форматы.xlsx', await withPart(await workbook(), 'xl/styles.xml', styles)), text);
    // As many columns as Excel has (16,384) are read.
    const widest = await inspect('все-столбцы.xlsx', await withPart(await workbook(), 'xl/worksheets/sheet1.xml', sheet(16_384)));
    expect(widest.errors, JSON.stringify(widest.errors)).to.equal(undefined);
    expect(widest.data!.importInspection.columns.map((column) => column.name)).to.deep.equal(['Наименование']);
  });

  it('counts what exceljs keeps by where it stands and by its characters, and reads the workbook only from its place in the file (s11 re-attacks of A1: disguises and a 3.4 MB file killed the server again)', async () => {
    const sheet = (before: string) =>
      `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${before}<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Наименование</t></is></c></row></sheetData></worksheet>`;
    const elements = `В файле больше ${(200_000).toLocaleString('ru-RU')} служебных элементов (столбцов, стилей, объединений) в одной части: файл повреждён или собран не в Excel`;
    // A <sheetData> inside <cols>, an <sst> inside <cellXfs>: not rows, not shared strings.
    const cols = sheet(`<cols><sheetData>${'<col min="1" max="1"/>'.repeat(210_000)}</sheetData></cols>`);
    expectRefusedAtFile(await inspect('обёртка.xlsx', await withPart(await workbook(), 'xl/worksheets/sheet1.xml', cols)), elements);
    const styles = `<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs><sst>${'<xf/>'.repeat(210_000)}</sst></cellXfs></styleSheet>`;
    expectRefusedAtFile(await inspect('обёртка-стилей.xlsx', await withPart(await workbook(), 'xl/styles.xml', styles)), elements);
    // Columns inside the rows are still read as columns; a styles part dressed as a worksheet is still kept whole.
    const colsInRows = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Наименование</t></is></c><cols>${'<col min="1" max="1"/>'.repeat(210_000)}</cols></row></sheetData></worksheet>`;
    expectRefusedAtFile(await inspect('столбцы-в-строке.xlsx', await withPart(await workbook(), 'xl/worksheets/sheet1.xml', colsInRows)), elements);
    const stylesAsSheet = `<?xml version="1.0" encoding="UTF-8"?><worksheet><sheetData><row>${'<xf/>'.repeat(210_000)}</row></sheetData></worksheet>`;
    expectRefusedAtFile(await inspect('стили-как-лист.xlsx', await withPart(await workbook(), 'xl/styles.xml', stylesAsSheet)), elements);
    // Few elements carrying many characters: twelve sheet names of 900,000 letters (random ones: a
    // repeated letter packs so tightly that the unpacking bound refuses the file first).
    const random = seededRandom(11);
    const letters = (count: number) => Array.from({ length: count }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('');
    const names = Array.from({ length: 12 }, (_, i) => `<sheet name="${letters(900_000)}" sheetId="${i + 2}" r:id="rId${i + 20}"/>`).join('');
    const book = `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Контрагенты" sheetId="1" r:id="rId1"/>${names}</sheets></workbook>`;
    const characters = `В файле больше ${(10_000_000).toLocaleString('ru-RU')} знаков служебных данных (имён листов, стилей, столбцов) в одной части: файл повреждён или собран не в Excel`;
    expectRefusedAtFile(await inspect('длинные-имена.xlsx', await withPart(await workbook(), 'xl/workbook.xml', book)), characters);

    // A second workbook whose local header names itself xl/workbook.xml while the central directory calls it
    // otherwise, placed before the sheet: read again by exceljs, it renamed the sheet and the rows were lost.
    const original = await JSZip.loadAsync(await workbook());
    const disguised = new JSZip();
    const decoy = (await original.file('xl/workbook.xml')!.async('string')).replace('name="Контрагенты"', 'name="Подмена"');
    for (const name of Object.keys(original.files)) {
      if (name === 'xl/worksheets/sheet1.xml') disguised.file('xl/workbooX.xml', decoy);
      if (!original.files[name].dir) disguised.file(name, await original.file(name)!.async('nodebuffer'));
    }
    const packed = await disguised.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
    const local = packed.indexOf(Buffer.from('xl/workbooX.xml'));
    expect(packed.readUInt32LE(local - 30), 'the decoy’s local header').to.equal(0x04034b50);
    packed.write('xl/workbook.xml', local);
    const answer = await inspect('подмена.xlsx', packed);
    expect(answer.errors, JSON.stringify(answer.errors)).to.equal(undefined);
    expect(answer.data!.importInspection.columns.map((column) => column.name)).to.deep.equal(['Наименование', 'ИНН']);
  });

  it('refuses at the file a number format longer than Excel allows: exceljs checks each number against it in time quadratic in its length (s12 attack A7)', async () => {
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Контрагенты');
    sheet.addRow(['Наименование', 'Сумма']);
    sheet.addRow(['ООО «Кассиопея»', 12.5]).getCell(2).numFmt = '#,##0.00 ₽';
    const honest = Buffer.from(await book.xlsx.writeBuffer());
    const styles = await (await JSZip.loadAsync(honest)).file('xl/styles.xml')!.async('string');
    expect(styles).to.include('#,##0.00 ₽');
    const answer = await inspect('длинный-формат.xlsx', await withPart(honest, 'xl/styles.xml', styles.replace('#,##0.00 ₽', '['.repeat(300))));
    expectRefusedAtFile(answer, 'В файле есть формат чисел длиннее 255 знаков — больше, чем допускает Excel: файл повреждён или собран не в Excel');
    // The same file with Excel's own format is read.
    expect((await inspect('формат.xlsx', honest)).errors).to.equal(undefined);
  });

  it('refuses at the file, before holding it, a text longer than any Excel cell (an inline string of an .xlsx) and a CSV row over 256 KB; a header is named by its start, a sample shown by its start', async () => {
    const inline = (text: string) =>
      `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>${text}</t></is></c><c r="B1" t="inlineStr"><is><t>ИНН</t></is></c></row></sheetData></worksheet>`;
    expectRefusedAtFile(
      await inspect('огромная-ячейка.xlsx', await withPart(await workbook(), 'xl/worksheets/sheet1.xml', inline('Я'.repeat(1_200_000)))),
      'В файле есть текст длиннее 1\u00a0000\u00a0000 знаков — больше, чем вмещает ячейка Excel (32 767): файл повреждён или собран не в Excel',
    );
    // The same text in runs split by empty elements: exceljs joins them into one value (s11 final re-attack of A1).
    expectRefusedAtFile(
      await inspect(
        'ячейка-по-частям.xlsx',
        await withPart(await workbook(), 'xl/worksheets/sheet1.xml', inline(Array.from({ length: 3 }, () => 'Я'.repeat(400_000)).join('<x/>'))),
      ),
      'В файле есть текст длиннее 1\u00a0000\u00a0000 знаков — больше, чем вмещает ячейка Excel (32 767): файл повреждён или собран не в Excel',
    );
    // A shared string split the same ways — rich-text runs, or text runs split by empty elements — is one value too (s12 A1).
    const sharedStrings = (first: string) =>
      `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si>${first}</si>${['ИНН', 'ООО «Кассиопея»', '7707083893'].map((text) => `<si><t>${text}</t></si>`).join('')}</sst>`;
    const runs = Array.from({ length: 3 }, () => 'Я'.repeat(400_000));
    for (const [name, first] of [
      ['строка-из-частей.xlsx', runs.map((run) => `<r><t>${run}</t></r>`).join('')],
      ['строка-по-частям.xlsx', `<t>${runs.join('<x/>')}</t>`],
    ]) {
      expectRefusedAtFile(
        await inspect(name, await withPart(await workbook(), 'xl/sharedStrings.xml', sharedStrings(first))),
        'В файле есть текст длиннее 1\u00a0000\u00a0000 знаков — больше, чем вмещает ячейка Excel (32 767): файл повреждён или собран не в Excel',
      );
    }
    // A CDATA section, a comment or a processing instruction: a «<» inside one is text, so the run bound
    // never saw their length, and each parser gathered them one line at a time (s12 re-attack B1).
    const hidden = 'Я\r'.repeat(5) + '<';
    for (const [name, section] of [
      ['cdata.xlsx', `<![CDATA[${hidden}]]>`],
      ['комментарий.xlsx', `<!--${hidden}-->`],
      ['инструкция.xlsx', `<?pi ${hidden}?>`],
    ]) {
      expectRefusedAtFile(
        await inspect(name, await withPart(await workbook(), 'xl/worksheets/sheet1.xml', inline('Наименование').replace('<sheetData>', `<sheetData>${section}`))),
        'В файле есть комментарии, разделы CDATA или объявления XML, которых Excel не пишет: файл повреждён или собран не в Excel',
      );
    }
    // A cell's address of leading zeros is still A1 to exceljs, which keeps each such text for good (s12 re-attack B4).
    expectRefusedAtFile(
      await inspect('адрес-с-нулями.xlsx', await withPart(await workbook(), 'xl/worksheets/sheet1.xml', inline('Наименование').replace('r="A1"', `r="A${'0'.repeat(300)}1"`))),
      'В строках файла есть атрибут длиннее 255 знаков (адрес ячейки, стиль): файл повреждён или собран не в Excel',
    );
    // Text after a cell, between empty ones: exceljs adds it to the last value it began (s12 A2).
    const orphans = `<c r="A2" t="str"><v>ООО «Кассиопея»</v></c>${runs.map((run) => `<c r="B2"/>${run}`).join('')}`;
    expectRefusedAtFile(
      await inspect(
        'текст-между-ячейками.xlsx',
        await withPart(await workbook(), 'xl/worksheets/sheet1.xml', inline('Наименование').replace('</row>', `</row><row r="2">${orphans}</row>`)),
      ),
      'В файле есть текст длиннее 1\u00a0000\u00a0000 знаков — больше, чем вмещает ячейка Excel (32 767): файл повреждён или собран не в Excel',
    );
    expectRefusedAtFile(
      await inspect('огромная-строка.csv', Buffer.from(`${'Я'.repeat(300_000)};ИНН\nООО «Кассиопея»;7707083893\n`)),
      'Строка файла длиннее 256 КБ (строка 1): не закрыта кавычка?',
    );
    // An empty separator or encoding is refused by name (it was an internal error).
    const csvId = await upload('пустой-разделитель.csv', Buffer.from('Наименование;ИНН\nООО «Кассиопея»;7707083893\n'));
    const empty = await tanya.request(INSPECT, { input: { uploadId: csvId, folderId, typeKey: 'counterparty', delimiter: '', encoding: '' } });
    expect(empty.errors?.[0].extensions).to.deep.equal({
      code: 'BAD_USER_INPUT',
      fields: { delimiter: 'Разделитель: «;», «,» или табуляция', encoding: 'Кодировка: UTF-8 или Windows-1251' },
    });
    // A long header cell under the bound names its column by its first 200 characters.
    const named = await inspect('длинный-заголовок.xlsx', await withPart(await workbook(), 'xl/worksheets/sheet1.xml', inline('Ж'.repeat(50_000))));
    expect(named.errors, JSON.stringify(named.errors)).to.equal(undefined);
    expect(named.data!.importInspection.columns[0].name).to.equal('Ж'.repeat(200));
    // A long cell under the bounds is a sample of its first 100 characters, not all of them (an astral letter is not split).
    const long = await inspect('длинная-ячейка.csv', Buffer.from(`Наименование;ИНН\n${'Ж'.repeat(99)}😀${'Ж'.repeat(100_000)};7707083893\n${'Ё'.repeat(100)};7728168971\n`));
    expect(long.errors, JSON.stringify(long.errors)).to.equal(undefined);
    expect(long.data!.importInspection.columns[0].samples).to.deep.equal([`${'Ж'.repeat(99)}…`, 'Ё'.repeat(100)]);
  });

  it('a refused row of hundreds of thousands of cells refuses only itself: the rows after it are imported, and its report keeps the header’s columns', async () => {
    const csv = Buffer.from(`Наименование;ИНН\n;7707083893${';'.repeat(200_000)}\nООО «Нормальная»;\n`);
    const uploadId = await upload('широкая.csv', csv);
    const input = { uploadId, folderId, typeKey: 'counterparty' };
    // The header names the first two columns; the others are named by their letters (500 at most).
    const columns = (await tanya.data<{ importInspection: { columns: { name: string }[] } }>(INSPECT, { input: { ...input, headerRow: 1 } })).importInspection.columns;
    expect(columns).to.have.length(500);
    const mapping = { columns: ['name', 'inn', ...columns.slice(2).map(() => null)], onMatch: 'skip' };
    const job = await importToEnd({ ...input, headerRow: 1 }, mapping);
    expect(job.state, job.error ?? '').to.equal('succeeded');
    expect(job.result).to.include({ created: 1, refused: 1 });
    const report = await fetch(`${server.url}/transfer/imports/${job.id}/refused.xlsx`, { headers: { cookie: tanya.cookieHeader() } });
    const rows = await sheetRows(Buffer.from(await report.arrayBuffer()));
    expect(rows[0]).to.have.length(502);
    expect(rows[1].slice(0, 2)).to.deep.equal([undefined, '7707083893']);
    expect(rows[1].slice(500)).to.deep.equal([2, 'Наименование: Обязательное поле']);
  });

  it('refuses at the file a binary file named .csv — an .xlsx saved with the wrong extension, an old .xls, random bytes — and an import of one fails with the reason; UTF-16 and a stray control character pass', async () => {
    const xlsxText = 'Это файл Excel (.xlsx) или архив, а не CSV: загрузите его с расширением .xlsx';
    expectRefusedAtFile(await inspect('клиенты.csv', await workbook()), xlsxText);
    const xls = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), randomBytes(4096)]);
    expectRefusedAtFile(await inspect('старый.csv', xls), 'Это файл старого формата Excel (.xls), а не CSV: сохраните его в Excel как .xlsx или CSV');
    expectRefusedAtFile(
      await inspect('мусор.csv', randomBytes(200 * 1024)),
      'Файл не похож на текст CSV: в нём двоичные данные. Сохраните таблицу в Excel как «CSV (разделители — запятые)» или загрузите .xlsx',
    );
    // Started without an inspection, its encoding and separator given, it is refused the same way.
    const blind = await tanya.request(
      'mutation($input: ImportSettingsInput!, $mapping: ImportMappingInput!) { startImport(input: $input, mapping: $mapping, dryRun: false) { id } }',
      {
        input: { uploadId: await upload('клиенты-2.csv', await workbook()), folderId, typeKey: 'counterparty', encoding: 'windows-1251', delimiter: ';' },
        mapping: { columns: ['name'], onMatch: 'skip' },
      },
    );
    expect(blind.errors?.[0].extensions).to.deep.equal({ code: 'BAD_USER_INPUT', fields: { file: xlsxText } });

    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Наименование\tИНН\r\nООО «Кассиопея»\t7707083893\r\n', 'utf16le')]);
    const read16 = await inspect('юникод.csv', utf16);
    expect(read16.errors, JSON.stringify(read16.errors)).to.equal(undefined);
    expect(read16.data!.importInspection.columns.map((column) => column.name)).to.deep.equal(['Наименование', 'ИНН']);
    // A line break some programs write inside a cell (vertical tab) is text still.
    const stray = await inspect('перенос.csv', Buffer.from('Наименование;Примечания\nООО «Кассиопея»;первая\u000bвторая\n'));
    expect(stray.errors, JSON.stringify(stray.errors)).to.equal(undefined);
  });

  it('refuses a CSV whose binary part starts after its first megabyte, naming the row, before any row is written (s10 re-attack S5)', async () => {
    // 1.1 MB of good rows, then the bytes of an .xlsx: the first megabyte alone looks like text.
    const good = Array.from({ length: 32_000 }, (_, n) => `ООО «Ромашка ${n}»;заметка`);
    const content = Buffer.concat([Buffer.from(['Наименование;Примечания', ...good, ''].join('\n')), await workbook()]);
    expect(content.length).to.be.above(1_100_000);
    const uploadId = await upload('склеенный.csv', content);
    const inspected = await tanya.request(INSPECT, { input: { uploadId, folderId, typeKey: 'counterparty' } });
    expect(inspected.errors, JSON.stringify(inspected.errors)).to.equal(undefined);
    const countCards = async () =>
      (await tanya.data<{ cards: { totalCount: number } }>('query($f: ID!) { cards(folderId: $f, first: 1) { totalCount } }', { f: folderId })).cards.totalCount;
    const before = await countCards();
    const job = await importToEnd({ uploadId, folderId, typeKey: 'counterparty' }, { columns: ['name', 'notes'], onMatch: 'skip' });
    expect(job.state).to.equal('failed');
    // The first record of the tail (its zip signature up to the first line-feed byte) or the next one.
    expect(job.error).to.match(
      /^Файл не похож на текст CSV: в строке 3200[23] двоичные данные\. Сохраните таблицу в Excel как «CSV \(разделители — запятые\)» или загрузите \.xlsx$/,
    );
    expect(await countCards()).to.equal(before);
  });

  it('refuses at the file a sheet whose relationships name more link text than any client list — 16 million characters of targets for no cell (s14 re-attack B2: 520 MB of them took 1.2 GB of the heap per read); a sheet of ordinary links is read', async () => {
    // Random letters in every target keep the part under the unpacking ratio's bound.
    const rels = (count: number, length: number) =>
      `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${Array.from(
        { length: count },
        (_, index) =>
          `<Relationship Id="rIdL${index}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.ru/${index}/${randomBytes(
            30,
          )
            .toString('base64url')
            .padEnd(length - 30, 'ж')}" TargetMode="External"/>`,
      ).join('')}</Relationships>`;
    const text = `Адреса ссылок листа длиннее ${(16_000_000).toLocaleString('ru-RU')} знаков в сумме: файл повреждён или собран не в Excel — разделите его на несколько`;
    expectRefusedAtFile(await inspect('ссылки.xlsx', await withPart(await workbook(), 'xl/worksheets/_rels/sheet1.xml.rels', rels(8_100, 2_000))), text);
    const ordinary = await inspect('обычные-ссылки.xlsx', await withPart(await workbook(), 'xl/worksheets/_rels/sheet1.xml.rels', rels(8_100, 60)));
    expect(ordinary.errors, JSON.stringify(ordinary.errors)).to.equal(undefined);
    expect(ordinary.data!.importInspection.columns.map((column) => column.name)).to.deep.equal(['Наименование', 'ИНН']);
  });

  it('refuses a CSV whose first megabyte is UTF-8 and whose tail is Windows-1251, naming the first row of the tail, instead of cards with «�» for every Russian letter (s11 attack A5)', async () => {
    const head = Array.from({ length: 30_000 }, (_, n) => `ООО «Юникод ${n}»;заметка`);
    const content = Buffer.concat([Buffer.from(['Наименование;Примечания', ...head, ''].join('\n')), iconv.encode('ООО «Кодировка 1»;Ёлочка и щука\n', 'windows-1251')]);
    const uploadId = await upload('две-кодировки.csv', content);
    const job = await importToEnd({ uploadId, folderId, typeKey: 'counterparty' }, { columns: ['name', 'notes'], onMatch: 'skip' });
    expect(job.state).to.equal('failed');
    expect(job.error).to.equal(`Строка ${head.length + 2} не в кодировке UTF-8: файл сохранён в двух кодировках? Выберите другую кодировку или сохраните файл заново целиком`);
  });

  it('refuses a CSV read as Windows-1251 whose last rows were saved in UTF-8, at the file, naming the first of them, instead of cards titled «РћРћРћ В«…» (s11 re-attack of A5)', async () => {
    const head = ['Наименование;Примечания', 'ООО «Кедр 1251»;Ёлка — №1, «ёж»', 'ПЁТР И СЫНОВЬЯ;ВЁСЛА'];
    const content = Buffer.concat([iconv.encode(`${head.join('\n')}\n`, 'windows-1251'), Buffer.from('ООО «Ромашка утф»;Ёлочка\n')]);
    expectRefusedAtFile(
      await inspect('utf8-в-конце.csv', content),
      `Строка ${head.length + 1} сохранена в кодировке UTF-8, а файл читается в Windows-1251: файл сохранён в двух кодировках? Сохраните файл заново целиком`,
    );
    // The same rows all in Windows-1251 are read.
    const whole = await inspect('всё-в-1251.csv', iconv.encode(`${[...head, 'ООО «Ромашка»;Ёлочка'].join('\n')}\n`, 'windows-1251'));
    expect(whole.errors, JSON.stringify(whole.errors)).to.equal(undefined);
    expect(whole.data!.importInspection.columns.map((column) => column.name)).to.deep.equal(['Наименование', 'Примечания']);
  });

  it('refuses a UTF-16 CSV whose last rows were saved in UTF-8, at the file, naming the first of them, instead of a card of CJK characters; Chinese and Japanese text in UTF-16 is read', async () => {
    const utf16 = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const head = ['Наименование\tПримечания', 'ООО «Юникод»\tЁлка — №1', 'ПЁТР И СЫНОВЬЯ\tВЁСЛА'];
    const content = Buffer.concat([utf16(`${head.join('\r\n')}\r\n`), Buffer.from('ООО «Ромашка утф»\tЁлочка\r\nАО «Вектор»\tщука\r\n')]);
    expectRefusedAtFile(
      await inspect('utf8-после-utf16.csv', content),
      `Строка ${head.length + 1} сохранена в кодировке UTF-8, а файл читается в UTF-16LE: файл сохранён в двух кодировках? Сохраните файл заново целиком`,
    );
    // One row after a `;` file, as the tester made it (s12 attack A5): its last byte, the line feed, left over.
    const one = Buffer.concat([utf16('Наименование;Примечания\r\nООО «Юникод»;Ёлка\r\n'), Buffer.from('ООО «Ромашка утф»;Ёлочка\r\n')]);
    expectRefusedAtFile(
      await inspect('одна-строка-utf8.csv', one),
      'Строка 3 сохранена в кодировке UTF-8, а файл читается в UTF-16LE: файл сохранён в двух кодировках? Сохраните файл заново целиком',
    );
    // «上海», «三上», «主» pair into bytes that are ASCII, line breaks and tabs among them; «过» into a letter beyond ASCII.
    const cjk = await inspect('китайский.csv', utf16('Наименование\tПримечания\r\n上海\t三上\r\n主上三\t过上好日子\r\n'));
    expect(cjk.errors, JSON.stringify(cjk.errors)).to.equal(undefined);
    expect(cjk.data!.importInspection.columns.map((column) => column.samples)).to.deep.equal([
      ['上海', '主上三'],
      ['三上', '过上好日子'],
    ]);
  });
});
