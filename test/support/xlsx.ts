import ExcelJS from 'exceljs';

/** The first sheet of an .xlsx file as rows of cell values (exceljs's: text, numbers, dates, { text, hyperlink }, { formula, result }). */
export async function sheetRows(content: Buffer): Promise<unknown[][]> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(content as unknown as ArrayBuffer);
  const rows: unknown[][] = [];
  workbook.worksheets[0].eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
  return rows;
}
