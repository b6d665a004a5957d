import { readdirSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import { PassThrough, Readable } from 'node:stream';
import { expect } from 'chai';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import JSZip from 'jszip';
import { checkFieldValue, kindOf, type CellValue, type FieldDefinition } from '../../card-types';
import { counterparty } from '../../card-types/built-in/counterparty';
import { guessMapping, headerKey } from '../../server/src/transfer/mapping';
import { alarmThreshold, usualPerWindow } from '../../server/src/transfer/read-alarm';
import { detectDelimiter, detectEncoding, findHeader, MemoryBudget, readRows, SheetRefusal, xlsxSheets, type SheetFile, type SheetRow } from '../../server/src/transfer/sheet';
import { withPart } from '../support/zip';

/** A cell read as the import reads it: through the field kind's `fromCell`, then the form's check. */
function cell(field: Omit<FieldDefinition, 'label'>, value: CellValue): unknown {
  const full = { label: { ru: 'Поле', en: 'Field' }, ...field } as FieldDefinition;
  const checked = checkFieldValue(full, kindOf(full).fromCell(value, full));
  return 'value' in checked ? checked.value : `error: ${checked.error.en}`;
}

/** Temporary files of this process (exceljs's are `tmp-<pid>-…`), and descriptors it holds open on them. */
function temporaries(): string[] {
  const files = readdirSync(os.tmpdir()).filter((name) => name.startsWith(`tmp-${process.pid}-`));
  const open = readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.includes(`/tmp-${process.pid}-`) ? [`fd → ${target}`] : [];
    } catch {
      return [];
    }
  });
  return [...files, ...open];
}

/** A file in memory, read as the import reads a stored one: whole, or a byte range. */
const inMemory = (content: Buffer): SheetFile => ({ size: content.length, open: (range) => Readable.from([range ? content.subarray(range.start, range.end) : content]) });

describe('import: cells through their field kinds', () => {
  it('reads dates as dd.mm.yyyy, ISO, Excel serial numbers and date cells; refuses a date that does not exist', () => {
    const date = { key: 'd', kind: 'date' } as const;
    expect(cell(date, '15.01.2026')).to.equal('2026-01-15');
    expect(cell(date, '2026-01-15')).to.equal('2026-01-15');
    expect(cell(date, 46037)).to.equal('2026-01-15');
    expect(cell(date, new Date(Date.UTC(2026, 0, 15)))).to.equal('2026-01-15');
    expect(cell(date, '31.02.2026')).to.equal('error: There is no such date: 31.02.2026');
  });

  it('reads decimals with a comma, spaces and a currency; integers and ratings from numbers; flags from Да/Нет', () => {
    expect(cell({ key: 'm', kind: 'money' }, '1 234,50 ₽')).to.equal('1234.50');
    expect(cell({ key: 'm', kind: 'money' }, 99.9)).to.equal('99.90');
    // A formula's result as Excel stores it and shows it («1 475,14 ₽»: s16 user U1); a third decimal typed as text is still one.
    expect(cell({ key: 'm', kind: 'money' }, 1475.1399999999999)).to.equal('1475.14');
    expect(cell({ key: 'd', kind: 'decimal', scale: 2 } as never, 0.1 + 0.2)).to.equal('0.30');
    expect(cell({ key: 'm', kind: 'money' }, '1 475,149 ₽')).to.equal('error: At most 2 decimal places');
    expect(cell({ key: 'n', kind: 'integer' }, 42)).to.equal(42);
    expect(cell({ key: 'r', kind: 'rating' }, '★★★☆☆')).to.equal(3);
    expect(cell({ key: 'b', kind: 'boolean' }, 'Да')).to.equal(true);
    expect(cell({ key: 'b', kind: 'boolean' }, 'нет')).to.equal(false);
  });

  it('matches choice options by label, any case, several in one cell for a multiple field', () => {
    const options = [
      { value: 'client', label: { ru: 'Клиент', en: 'Client' } },
      { value: 'partner', label: { ru: 'Партнёр', en: 'Partner' } },
    ];
    expect(cell({ key: 'e', kind: 'enum', options } as never, 'клиент')).to.equal('client');
    expect(cell({ key: 'e', kind: 'enum', options, multiple: true } as never, 'Клиент, Партнёр')).to.deep.equal(['client', 'partner']);
    expect(cell({ key: 'e', kind: 'enum', options } as never, 'Поставщик')).to.match(/^error: /);
  });
});

describe('import: reading files', () => {
  it('tells UTF-8 (with or without BOM) from Windows-1251, and finds the separator', () => {
    expect(detectEncoding(Buffer.from('\uFEFFИНН;Имя', 'utf8'))).to.equal('utf-8');
    expect(detectEncoding(Buffer.from('ИНН;Имя', 'utf8'))).to.equal('utf-8');
    expect(detectEncoding(iconv.encode('ИНН;Имя', 'windows-1251'))).to.equal('windows-1251');
    expect(detectEncoding(iconv.encode('ИНН;Имя', 'utf-16le', { addBOM: true }))).to.equal('utf-16le');
    expect(detectEncoding(iconv.encode('ИНН;Имя', 'utf-16be', { addBOM: true }))).to.equal('utf-16be');
    expect(detectDelimiter('a;b;c\n1;2;3')).to.equal(';');
    expect(detectDelimiter('a,b,c\n1,2,3')).to.equal(',');
    expect(detectDelimiter('a\tb\tc\n1\t2,5\t3')).to.equal('\t');
    expect(detectDelimiter('"a;b",c,d\n"1;2",3,4')).to.equal(',');
  });

  it('reads a CSV saved as «Текст Юникод» (UTF-16 with its BOM, tab-separated) with every letter', async () => {
    for (const encoding of ['utf-16le', 'utf-16be']) {
      const file = inMemory(iconv.encode('Наименование\tИНН\nООО «Ёлка»\t7707083893\n', encoding, { addBOM: true }));
      const rows: string[][] = [];
      for await (const row of readRows(file, { format: 'csv', encoding: null, delimiter: null })) rows.push(row.cells.map(String));
      expect(rows, encoding).to.deep.equal([
        ['Наименование', 'ИНН'],
        ['ООО «Ёлка»', '7707083893'],
      ]);
    }
  });

  it('reads an .xlsx straight from the zip: the sheets in the workbook’s order, the chosen one or the first, text, numbers and dates; no temporary file or open descriptor is left, also when reading stops early', async () => {
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('Клиенты').addRows([
      ['Наименование', 'Дата'],
      ['ООО «Кассиопея»', new Date(Date.UTC(2026, 0, 15))],
      ['ООО «Вега»', 46387],
    ]);
    workbook.addWorksheet('Архив').addRows([['Наименование'], ['ООО «Сириус»']]);
    const file = inMemory(Buffer.from(await workbook.xlsx.writeBuffer()));
    const before = temporaries();

    expect(await xlsxSheets(file)).to.deep.equal(['Клиенты', 'Архив']);
    const all = async (sheet: string | null) => {
      const rows: SheetRow[] = [];
      for await (const row of readRows(file, { format: 'xlsx', sheet })) rows.push(row);
      return rows;
    };
    expect(await all('Архив')).to.deep.equal([
      { row: 1, cells: ['Наименование'] },
      { row: 2, cells: ['ООО «Сириус»'] },
    ]);
    expect(await all(null)).to.deep.equal([
      { row: 1, cells: ['Наименование', 'Дата'] },
      { row: 2, cells: ['ООО «Кассиопея»', new Date(Date.UTC(2026, 0, 15))] },
      { row: 3, cells: ['ООО «Вега»', 46387] },
    ]);
    // A preview reads the first rows and stops.
    for await (const row of readRows(file, { format: 'xlsx', sheet: null })) {
      expect(row.cells[0]).to.equal('Наименование');
      break;
    }
    expect(temporaries().filter((entry) => !before.includes(entry))).to.deep.equal([]);
  });

  it('reads Cyrillic text whole wherever the unpacked chunks end: shared strings and text in the sheet itself', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Клиенты');
    const expected: string[][] = [];
    for (let n = 1; n <= 5000; n += 1) {
      // Of varied lengths, so that the chunks' edges fall inside letters somewhere.
      const name = `ООО «Сибирь-Ёлка-${n}» ${'ж'.repeat(n % 37)}`;
      const note = `Примечание: звонить ${'щ'.repeat(n % 23)} после ${n}`;
      expected.push([name, note]);
      sheet.addRow([name, { formula: `"${note}"`, result: note }]);
    }
    const file = inMemory(Buffer.from(await workbook.xlsx.writeBuffer()));
    const read: unknown[][] = [];
    for await (const row of readRows(file, { format: 'xlsx', sheet: null })) read.push(row.cells);
    expect(read.filter((cells) => JSON.stringify(cells).includes('\uFFFD'))).to.deep.equal([]);
    expect(read).to.deep.equal(expected);
  });

  it('reads a sheet of more than 200,000 rows of distinct texts: its rows and shared strings stream by, only the elements kept whole are bounded', async function () {
    this.timeout(180_000);
    const chunks: Buffer[] = [];
    const stream = new PassThrough().on('data', (chunk: Buffer) => chunks.push(chunk));
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream, useSharedStrings: true });
    const sheet = workbook.addWorksheet('Клиенты');
    const rows = 200_001;
    for (let n = 1; n <= rows; n += 1) sheet.addRow([`ООО «Клиент-${n}»`]).commit();
    sheet.commit();
    await workbook.commit();
    let read = 0;
    let last: SheetRow | null = null;
    for await (const row of readRows(inMemory(Buffer.concat(chunks)), { format: 'xlsx', sheet: null })) [read, last] = [read + 1, row];
    expect(read).to.equal(rows);
    expect(last).to.deep.equal({ row: rows, cells: [`ООО «Клиент-${rows}»`] });
  });

  it('reads a CSV of blank lines and of rows shorter than its header giving the thread back as it goes, numbering the rows as a spreadsheet does (s14 attack A4)', async () => {
    const text = `Наименование;Примечания\n${'\n'.repeat(100_000)}${'ООО «Короткая»\n'.repeat(20_000)}ООО «Последняя»;x\n`;
    // Turns of the event loop while the file is read: other requests are served in them.
    let turns = 0;
    let counting = true;
    const count = () => {
      turns += 1;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const rows: SheetRow[] = [];
    try {
      for await (const row of readRows(inMemory(Buffer.from(text)), { format: 'csv', delimiter: ';' })) rows.push(row);
    } finally {
      counting = false;
    }
    expect(rows.length).to.equal(20_002);
    expect(rows[0]).to.deep.equal({ row: 1, cells: ['Наименование', 'Примечания'] });
    expect(rows[1]).to.deep.equal({ row: 100_002, cells: ['ООО «Короткая»', null] });
    expect(rows.at(-1)).to.deep.equal({ row: 120_002, cells: ['ООО «Последняя»', 'x'] });
    // About 400,000 characters, given to the parser a few thousand at a time.
    expect(turns).to.be.above(50);
  });

  it('reads a link over a range (B2:B4) as every cell of the range’s, as Excel opens it; a sheet of more than 200,000 links is refused in words of links (s14 re-attack B3)', async function () {
    this.timeout(120_000);
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Клиенты');
    sheet.addRows([
      ['Наименование', 'Сайт'],
      ['ООО «Один»', { text: 'www.odin.ru', hyperlink: 'https://sites.example/' }],
      ['ООО «Два»', 'www.dva.ru'],
      ['ООО «Три»', 'www.tri.ru'],
      ['ООО «Четыре»', 'www.chetyre.ru'],
    ]);
    const written = Buffer.from(await workbook.xlsx.writeBuffer());
    const sheetXml = await (await JSZip.loadAsync(written)).file('xl/worksheets/sheet1.xml')!.async('string');
    expect(sheetXml).to.match(/<hyperlink ref="B2"/);
    const linksOf = async (content: Buffer) => {
      const rows: (string | null)[] = [];
      for await (const row of readRows(inMemory(content), { format: 'xlsx', sheet: null })) rows.push(row.links?.get(1) ?? null);
      return rows;
    };
    const overRange = await withPart(written, 'xl/worksheets/sheet1.xml', sheetXml.replace('<hyperlink ref="B2"', '<hyperlink ref="B4:B2"'));
    expect(await linksOf(overRange)).to.deep.equal([null, 'https://sites.example/', 'https://sites.example/', 'https://sites.example/', null]);

    const rId = /<hyperlink ref="B2" r:id="(\w+)"/.exec(sheetXml)![1];
    const manyLinks = `<hyperlinks>${Array.from({ length: 200_001 }, (_, n) => `<hyperlink ref="C${n + 1}" r:id="${rId}"/>`).join('')}</hyperlinks>`;
    const refusal = await linksOf(await withPart(written, 'xl/worksheets/sheet1.xml', sheetXml.replace(/<hyperlinks>.*<\/hyperlinks>/, manyLinks))).catch(
      (error: unknown) => error,
    );
    expect(refusal).to.be.instanceOf(SheetRefusal);
    const [most, excel] = [(200_000).toLocaleString('ru-RU'), (65_530).toLocaleString('ru-RU')];
    expect((refusal as SheetRefusal).text.ru).to.equal(
      `В листе больше ${most} ссылок (Excel пишет не больше ${excel} на лист): файл повреждён или собран не в Excel — разделите его на несколько`,
    );
  });

  it('reads a row shorter than the header as the header’s cells, the missing ones empty, and a longer one whole; a title line above keeps its one cell', async () => {
    const text = `Клиенты\nНаименование;Примечания;ИНН\nООО «Первая»;\nООО «Вторая»;заметка;7707083893;лишнее\nООО «Третья»\n`;
    const rows: SheetRow[] = [];
    for await (const row of readRows(inMemory(Buffer.from(text)), { format: 'csv', delimiter: ';' })) rows.push(row);
    expect(rows.map((row) => row.cells)).to.deep.equal([
      ['Клиенты'],
      ['Наименование', 'Примечания', 'ИНН'],
      ['ООО «Первая»', null, null],
      ['ООО «Вторая»', 'заметка', '7707083893', 'лишнее'],
      ['ООО «Третья»', null, null, null],
    ]);
  });

  it('reads rows of only spaces and separators as the blank lines they are, the rows after them numbered as before — but not such a line inside a quoted cell (s14 re-attack A4)', async () => {
    const text = `Наименование;Примечания;ИНН\r\nООО «Первая»;"строка\r\n ; \r\nещё";7707083893\r\n${' ;\r\n'.repeat(20_000)} ; ; \t;\r\nООО «Последняя»;x;1\r\n ;`;
    const rows: SheetRow[] = [];
    for await (const row of readRows(inMemory(Buffer.from(text)), { format: 'csv', delimiter: ';' })) rows.push(row);
    expect(rows).to.deep.equal([
      { row: 1, cells: ['Наименование', 'Примечания', 'ИНН'] },
      { row: 2, cells: ['ООО «Первая»', 'строка\r\n ; \r\nещё', '7707083893'] },
      { row: 20_004, cells: ['ООО «Последняя»', 'x', '1'] },
    ]);
  });

  it('takes the separator from the header: one-cell lines after it say nothing of it (s14 re-attack A4: a file of mostly such lines became one column)', async () => {
    expect(detectDelimiter(`Наименование;Примечания;ИНН\n${'x\n'.repeat(30)}`)).to.equal(';');
    expect(detectDelimiter(`\nНаименование,Адрес;ИНН\nООО «Альфа»,Москва;7707083893\nООО «Бета»;7707083894\n`)).to.equal(';');
    const file = inMemory(Buffer.from(`Наименование;Примечания;ИНН\nООО «Первая»;заметка;7707083893\n${'x\n'.repeat(600_000)}ООО «Последняя»;y;z\n`));
    let first: SheetRow | null = null;
    for await (const row of readRows(file, { format: 'csv' })) {
      first = row;
      break;
    }
    expect(first).to.deep.equal({ row: 1, cells: ['Наименование', 'Примечания', 'ИНН'] });
  });

  it('lets reads of .xlsx files hold shared strings up to a budget: one that does not fit waits its turn until another gives its part back', async () => {
    const budget = new MemoryBudget(150);
    const admitted: string[] = [];
    const first = await budget.take(100);
    const second = budget.take(100).then((release) => (admitted.push('second'), release));
    const third = budget.take(40).then((release) => (admitted.push('third'), release));
    await new Promise((resolve) => setImmediate(resolve));
    // The third would fit, but waits behind the second: big reads are not passed over for ever.
    expect(admitted).to.deep.equal([]);
    first();
    (await second)();
    (await third)();
    expect(admitted).to.deep.equal(['second', 'third']);
    // More than the whole budget is let in alone.
    (await budget.take(1000))();
  });

  it('finds the header under a merged title and names columns without a header by their letters', () => {
    const header = findHeader([
      { row: 1, cells: ['Реестр клиентов', null, null] },
      { row: 2, cells: ['Наименование', 'ИНН', null] },
      { row: 3, cells: ['ООО «Кассиопея»', '7707083893', 'заметка'] },
    ]);
    expect(header).to.deep.equal({ row: 2, columns: ['Наименование', 'ИНН', 'C'] });
  });

  it('guesses the mapping from headers against labels and keys (case, spaces and «ё» ignored), each field once', () => {
    expect(headerKey(' Ответственный  МЕНЕДЖЁР ')).to.equal(headerKey('ответственный менеджер'));
    const guess = guessMapping(['НАИМЕНОВАНИЕ', 'inn', 'E-mail', 'Наименование', 'Комментарий'], counterparty, null);
    expect(guess.columns).to.deep.equal(['name', 'inn', 'email', null, null]);
    expect(guess.matchField).to.equal('inn');
  });

  it('guesses headers people write another way: another name of the kind, a word’s other ending, the beginnings of the label’s words', () => {
    const guess = guessMapping(['Наименование', 'Эл. почта', 'Примечание', 'Юр. адрес', 'Ответственный', 'Тел.', 'Оборот, руб.', '№ п/п'], counterparty, null);
    expect(guess.columns).to.deep.equal(['name', 'email', 'notes', 'legalAddress', 'manager', 'phone', null, null]);
    // Rubles written out read as the «₽» of a label.
    const withRevenue = { ...counterparty, fields: [...counterparty.fields, { key: 'revenue', kind: 'money', label: { ru: 'Выручка, ₽', en: 'Revenue, ₽' } } as FieldDefinition] };
    for (const header of ['Выручка, руб.', 'Выручка (руб)', 'Выручка в рублях', 'Выручка, р.', 'ВЫРУЧКА РУБ']) {
      expect(guessMapping(['Наименование', header], withRevenue, null).columns, header).to.deep.equal(['name', 'revenue']);
    }
    expect(headerKey('Рубрика')).to.equal('рубрика');
    // A loose name two fields answer to is left for the person to choose.
    expect(
      guessMapping(
        ['ИНН', 'Адрес'],
        { ...counterparty, fields: [...counterparty.fields, { key: 'postAddress', kind: 'text', label: { ru: 'Почтовый адрес', en: 'Postal address' } }] },
        null,
      ).columns,
    ).to.deep.equal(['inn', null]);
  });

  it('maps the site column however a client list names it — «Сайт компании» too, the example the API itself gives (s14 re-attack B3)', () => {
    for (const header of ['Сайт компании', 'Сайт', 'Веб-сайт', 'Website', 'URL', 'Company website', 'Сайт организации']) {
      expect(guessMapping(['Наименование', header], counterparty, null).columns, header).to.deep.equal(['name', 'website']);
    }
    expect(guessMapping(['Наименование компании', 'Телефон организации', 'E-mail фирмы'], counterparty, null).columns).to.deep.equal(['name', 'phone', 'email']);
  });
});

describe('the bulk-reading alarm’s threshold', () => {
  it('takes the usual volume as the median of the daily peaks over each of the days looked at, before today, a day without reading counting as 0', () => {
    const today = 20_000;
    const days = (peak: (back: number) => number, count: number) => Object.fromEntries(Array.from({ length: count }, (_, n) => [today - 1 - n, peak(n)]));
    expect(usualPerWindow({}, today, 14)).to.equal(0);
    // Reading on every day: the middle of the peaks, one busy day does not move it.
    expect(
      usualPerWindow(
        days((n) => (n === 0 ? 5000 : 100 + n), 14),
        today,
        14,
      ),
    ).to.equal(108);
    // One burst (just under the floor) on a new account is not the usual: the threshold stays the floor the next day.
    expect(usualPerWindow({ [today - 1]: 4999 }, today, 14)).to.equal(0);
    // Reading on 8 of 14 days (working days): their peak; on 7 of 14, halfway to none.
    expect(
      usualPerWindow(
        days(() => 200, 8),
        today,
        14,
      ),
    ).to.equal(200);
    expect(
      usualPerWindow(
        days(() => 200, 7),
        today,
        14,
      ),
    ).to.equal(100);
    // Today (the window being judged) and days past the 14 do not count.
    expect(usualPerWindow({ ...days(() => 10, 14), [today]: 9000, [today - 15]: 5000 }, today, 14)).to.equal(10);
  });

  it('is the floor or the factor times the usual volume, whichever is larger', () => {
    expect(alarmThreshold(5000, 5, 0)).to.equal(5000);
    expect(alarmThreshold(5000, 5, 800)).to.equal(5000);
    expect(alarmThreshold(5000, 5, 1200)).to.equal(6000);
    expect(alarmThreshold(10, 2.5, 7)).to.equal(18);
  });
});
