import { expect } from 'chai';
import ExcelJS from 'exceljs';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { axeViolations, describeViolations } from '../support/axe';
import { describeInBrowser, downloaded, screenshot } from '../support/browser';
import { addToSystemGroup, createCorrespondents, createFolder, createUser, setFolderAccess } from '../support/fixtures';
import { signedIn, TEST_ADMIN } from '../support/server';
import { failJobsAt, holdJobs } from '../support/held-jobs';
import { waitFor } from '../support/wait';
import { sheetRows } from '../support/xlsx';
import { signInThroughUi, startBrowserSuite } from './ui';

const PASSWORD = 'secret-password-1';

async function clientsWorkbook(): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Клиенты');
  sheet.addRow(['Наименование', 'ИНН', 'Телефон', 'E-mail']);
  sheet.addRow(['ООО «Кассиопея»', '7707083893', '+7 495 123-45-67', 'info@cassiopeia.ru']);
  sheet.addRow(['ИП Ёлкин', 500100732259, '', '']);
  sheet.addRow(['АО «Ошибка»', '7728168971', '', 'не-почта']);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

describeInBrowser('import and export, as a person does them (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let browser: Browser;
  let admin: ApiClient;
  let folderId: string;
  let exportersGroupId: string;
  let natashaId: string;
  let tanyaId: string;
  let departmentId: string;
  let libraryId: string;

  before(async () => {
    // A daily export limit of 3 rows per user: the folder's 2 cards pass once, not twice. The
    // bulk-reading alarm at 5 cards an hour.
    ({ server, browser } = await startBrowserSuite({ EXPORT_DAILY_ROWS: '3', READ_ALARM_CARDS: '5' }));
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'tanya', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'natasha', fullName: 'Наталья Вакуленко', level: 'read' },
    ]);
    folderId = scenario.folderId;
    ({ departmentId, libraryId } = scenario);
    const groups = await admin.data<{ groups: { id: string; systemRole: string | null }[] }>('{ groups { id systemRole } }');
    const exporters = groups.groups.find((group) => group.systemRole === 'exporters')!;
    exportersGroupId = exporters.id;
    natashaId = scenario.userIds.natasha;
    tanyaId = scenario.userIds.tanya;
    await admin.data('mutation($id: ID!, $add: [ID!]) { changeGroupMembers(id: $id, add: $add) { id } }', { id: exporters.id, add: [scenario.userIds.tanya] });
    // Татьяна reads history too: an imported card's history says where its values came from.
    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { historyEnabled } }');
    await addToSystemGroup(admin, 'history-readers', [scenario.userIds.tanya]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Татьяна imports a CSV of names into the folder through the API (another tab, a script) → her client and the import's id. */
  async function importElsewhere(folder: string, name: string, csv: string): Promise<{ tanya: ApiClient; importId: string }> {
    const tanya = await signedIn(server, 'tanya', PASSWORD);
    const uploaded = await fetch(`${server.url}/transfer/uploads?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', cookie: tanya.cookieHeader() },
      body: new Uint8Array(Buffer.from(csv)),
    });
    const input = { uploadId: ((await uploaded.json()) as { id: string }).id, folderId: folder, typeKey: 'counterparty' };
    const started = await tanya.data<{ startImport: { id: string } }>(
      'mutation($input: ImportSettingsInput!, $mapping: ImportMappingInput!) { startImport(input: $input, mapping: $mapping, dryRun: false) { id } }',
      { input, mapping: { columns: ['name'], onMatch: 'skip' } },
    );
    return { tanya, importId: started.startImport.id };
  }

  /** A new folder where Татьяна has full access, and her page on its «Импорт», ready for a file. */
  async function importPageOfNewFolder(name: string): Promise<{ folder: string; page: Page }> {
    const folder = await createFolder(admin, { libraryId, name, allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, folder, [{ principalId: tanyaId, level: 'full' }]);
    const page = await (await browser.newContext()).newPage();
    await signInThroughUi(page, server.url, 'tanya', PASSWORD);
    await page.goto(`${server.url}/folders/${folder}/import`);
    // The file can be chosen once the page knows the folder.
    await page.locator('[data-test="import-file"]:enabled').waitFor();
    return { folder, page };
  }

  it('Татьяна uploads an xlsx, checks the mapping, runs a dry run, imports with the progress bar, downloads the refused rows, exports the folder and undoes the import', async () => {
    const page = await (await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } })).newPage();
    await signInThroughUi(page, server.url, 'tanya', PASSWORD);
    await page.goto(`${server.url}/folders/${folderId}`);
    await page.getByTestId('cards-empty').waitFor();
    await page.getByTestId('import-link').click();
    // The file can be chosen once the page knows the folder.
    await page.locator('[data-test="import-file"]:enabled').waitFor();

    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'клиенты.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: await clientsWorkbook() });
    // Each column's choice is named by its column for a screen reader (s10 user U11: all were «Поле карточки»).
    const columnField = (name: string) => page.getByRole('combobox', { name: `Поле карточки для столбца «${name}»`, exact: true });
    await columnField('ИНН').waitFor();
    expect(await columnField('Наименование').inputValue()).to.equal('name');
    expect(await columnField('ИНН').inputValue()).to.equal('inn');
    expect(await columnField('E-mail').inputValue()).to.equal('email');
    // The phone column is left out on purpose; a constant tag marks every imported card.
    await columnField('Телефон').selectOption({ label: '— не загружать —' });
    await page.getByTestId('import-constant-add').click();
    await page.getByTestId('import-constant-field').selectOption('tags');
    await page.getByTestId('import-constant-value').fill('импорт 2026-11');
    // What to do with a card found by a unique field is a named group of choices (s10 user U11).
    await page.getByTestId('import-match-field').selectOption({ label: 'ИНН' });
    expect(await page.getByRole('radiogroup', { name: 'Если карточка уже есть' }).getByRole('radio').count()).to.equal(3);
    await page.getByTestId('import-match-field').selectOption({ label: '— не искать, всегда создавать —' });

    await page.getByTestId('import-dry-run').click();
    const result = page.getByTestId('import-result');
    await page.locator('[data-test="import-result"][data-dry-run="true"]').waitFor();
    expect(await result.getByTestId('import-count-created').textContent()).to.equal('2');
    expect(await result.getByTestId('import-count-refused').textContent()).to.equal('1');
    expect(await page.getByTestId('import-preview-row').count()).to.equal(3);
    // A dry run speaks of what would be done …
    expect(await page.getByTestId('import-preview-title').textContent()).to.equal('Первые строки, как они будут сохранены');
    expect(await page.locator('[data-test="import-preview-row"][data-outcome="created"]').first().textContent()).to.contain('создать');
    const refusedRow = page.getByTestId('import-refused-row').first();
    expect(await refusedRow.textContent())
      .to.contain('4')
      .and.contain('E-mail');
    await screenshot(page, 'import-dry-run');
    // The result has no serious or critical accessibility problem, also where its preview scrolls sideways.
    await page.setViewportSize({ width: 640, height: 900 });
    const { blocking } = await axeViolations(page);
    expect(blocking, describeViolations(blocking)).to.deep.equal([]);
    await page.setViewportSize({ width: 1280, height: 900 });
    // The refused rows of the check can be downloaded and fixed before anything is imported.
    const checked = await sheetRows(await downloaded(page, () => page.getByTestId('import-report').click()));
    expect(checked.slice(1).map((row) => row[0])).to.deep.equal(['АО «Ошибка»']);

    await page.getByTestId('import-run').click();
    await page.getByTestId('job-progress').waitFor();
    await page.locator('[data-test="import-result"][data-dry-run="false"]').waitFor();
    expect(await page.locator('[data-test="job-progress"]').getAttribute('data-state')).to.equal('succeeded');
    expect(await page.getByTestId('job-done').textContent()).to.match(/3\s*из\s*3/);
    expect(await result.getByTestId('import-count-created').textContent()).to.equal('2');
    // … the import of what was; and «Ваши импорты» lists it at once, its result and undo left to the page above.
    expect(await page.getByTestId('import-preview-title').textContent()).to.equal('Первые строки, как они сохранены');
    const listed = page.locator('[data-test="import-earlier"][data-file="клиенты.xlsx"]');
    await listed.getByTestId('import-earlier-counts').filter({ hasText: 'создано 2' }).waitFor();
    expect(await listed.getByTestId('import-earlier-shown').textContent()).to.equal('итог и отмена — выше');
    expect(await listed.getByTestId('import-earlier-undo').count()).to.equal(0);
    expect(await page.locator('[data-test="import-preview-row"][data-outcome="created"]').first().textContent()).to.contain('создана');
    await screenshot(page, 'import-done');

    const report = await sheetRows(await downloaded(page, () => page.getByTestId('import-report').click()));
    expect(report[0]).to.deep.equal(['Наименование', 'ИНН', 'Телефон', 'E-mail', 'Строка файла', 'Причина']);
    expect(report[1][0]).to.equal('АО «Ошибка»');

    // A second tab on the folder: the cards are there, and the list exports as it is on the screen.
    const list = await page.context().newPage();
    await list.goto(`${server.url}/folders/${folderId}`);
    await list.locator('[data-test="card-row"][data-title="ООО «Кассиопея»"]').waitFor();
    await list.locator('[data-test="card-row"][data-title="ИП Ёлкин"]').waitFor();
    await list.getByTestId('export').click();
    // While the file comes, a line says how much has arrived, in the interface's language (s10 user U9: «… получено 0,9 MB»).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await list.route('**/transfer/export', async (route) => {
      await held;
      await route.continue();
    });
    const file = downloaded(list, () => list.getByTestId('export-xlsx').click());
    await list.getByTestId('export-progress').waitFor();
    expect(await list.getByTestId('export-bytes').textContent()).to.equal('Выгрузка списка… получено 0 Б');
    release();
    const exported = await sheetRows(await file);
    await list.unroute('**/transfer/export');
    const nameAt = (exported[0] as string[]).indexOf('Наименование');
    expect(nameAt).to.be.at.least(0);
    expect(
      exported
        .slice(1)
        .map((row) => row[nameAt])
        .sort(),
    ).to.deep.equal(['ИП Ёлкин', 'ООО «Кассиопея»']);
    const tagsAt = (exported[0] as string[]).indexOf('Метки');
    expect(exported[1][tagsAt]).to.equal('импорт 2026-11');
    // The same list again would pass the daily limit: the reason is shown, nothing is downloaded.
    await list.getByTestId('export').click();
    await list.getByTestId('export-csv').click();
    await list.getByTestId('export-failure').waitFor();
    expect(await list.getByTestId('export-failure').textContent()).to.equal(
      'Экспорт не выполнен: Превышен дневной лимит экспорта (строк на пользователя): 3. Сегодня выгружено: 2, в этом списке: 2, можно ещё: 1. Сузьте список фильтрами или продолжите завтра; администраторы об этом узнают.',
    );
    // The card's history tells an import from a hand edit (s10 user U16).
    const cardPath = await list.locator('[data-test="card-row"][data-title="ООО «Кассиопея»"]').getByTestId('card-link').getAttribute('href');
    await list.goto(`${server.url}${cardPath}`);
    await list.getByTestId('card-tab-history').click();
    const created = list.getByTestId('history-entry').last();
    await created.waitFor();
    expect(await created.getByTestId('history-via').textContent()).to.equal('импорт из файла');

    // Undo asks first, in the application's dialog: named by its question, «Отмена» focused (Enter
    // does not undo by chance), Escape closes it with nothing done and gives the focus back.
    let dialogs = 0;
    page.on('dialog', () => void (dialogs += 1));
    await page.getByTestId('import-undo').click();
    const ask = page.getByRole('dialog', { name: 'Отменить импорт файла «клиенты.xlsx»?' });
    await ask.waitFor();
    expect(await ask.getByTestId('confirm-contents').textContent()).to.contain('уйдут в корзину');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-test'))).to.equal('confirm-cancel');
    await page.keyboard.press('Escape');
    await ask.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-test'))).to.equal('import-undo');
    expect(await page.getByTestId('import-undo-job').count()).to.equal(0);
    // Undone: the imported cards go to the trash.
    await page.getByTestId('import-undo').click();
    await ask.getByTestId('confirm-delete').click();
    await page.getByTestId('import-undone').waitFor();
    expect(dialogs, 'no native confirm()').to.equal(0);
    // Said apart from a cancelled import («Импорт отменён: записанное до отмены сохранено»).
    expect(await page.getByTestId('import-undone').textContent()).to.match(/^Импорт откатан: в корзину — 2,/);
    await list.goto(`${server.url}/folders/${folderId}`);
    await list.getByTestId('cards-empty').waitFor();
  });

  it('in a folder open to every type, a client file starts at «Контрагент», the type its headers fit, with its columns mapped; a type she picks herself is kept for the next file (s12 user U3)', async () => {
    const folder = await createFolder(admin, { libraryId, name: 'Клиенты 2026 (любые типы)' });
    await setFolderAccess(admin, folder, [{ principalId: tanyaId, level: 'full' }]);
    const page = await (await browser.newContext()).newPage();
    await signInThroughUi(page, server.url, 'tanya', PASSWORD);
    await page.goto(`${server.url}/folders/${folder}/import`);
    await page.locator('[data-test="import-file"]:enabled').waitFor();
    const clients = Buffer.from('ИНН;Наименование;Телефон;Эл. почта\n7707083893;ООО «Вектор»;+7 495 123-45-67;info@vector.ru\n');
    await page.getByTestId('import-file').setInputFiles({ name: 'клиенты.csv', mimeType: 'text/csv', buffer: clients });
    const innField = page.locator('[data-test="import-column"][data-column="ИНН"]').getByTestId('import-column-field');
    await innField.waitFor();
    expect(await page.getByTestId('import-type').inputValue()).to.equal('counterparty');
    expect(await innField.inputValue()).to.equal('inn');
    expect(await page.locator('[data-test="import-column"][data-column="Эл. почта"]').getByTestId('import-column-field').inputValue()).to.equal('email');

    await page.getByTestId('import-type').selectOption('contact-person');
    await page.getByTestId('import-file').setInputFiles({ name: 'клиенты-2.csv', mimeType: 'text/csv', buffer: clients });
    await innField.waitFor();
    expect(await page.getByTestId('import-type').inputValue()).to.equal('contact-person');
  });

  it('Татьяна leaves the page after an import and, back on «Импорт», finds it under «Ваши импорты в эту папку» and undoes it there', async () => {
    const { page } = await importPageOfNewFolder('Отменить позже');
    await page.getByTestId('import-file').setInputFiles({ name: 'ошибочный.csv', mimeType: 'text/csv', buffer: Buffer.from('Наименование;ИНН\nООО «Лишний»;\nООО «Ненужный»;\n') });
    await page.locator('[data-test="import-column"][data-column="Наименование"]').getByTestId('import-column-field').waitFor();
    await page.getByTestId('import-run').click();
    await page.locator('[data-test="import-result"][data-dry-run="false"]').waitFor();
    await page.getByTestId('import-done').click();
    await page.locator('[data-test="card-row"][data-title="ООО «Лишний»"]').waitFor();

    await page.getByTestId('import-link').click();
    const run = page.locator('[data-test="import-earlier"][data-file="ошибочный.csv"]');
    await run.waitFor();
    expect(await run.getByTestId('import-earlier-counts').textContent()).to.contain('создано 2');
    await run.getByTestId('import-earlier-undo').click();
    await page
      .getByRole('dialog', { name: /^Отменить импорт файла «ошибочный\.csv» от .+\?$/ })
      .getByTestId('confirm-delete')
      .click();
    await run.getByTestId('import-earlier-undone').waitFor();
    expect(await run.getByTestId('import-earlier-undone').textContent()).to.contain('в корзину — 2');
    expect(await run.getByTestId('import-earlier-undo').count()).to.equal(0);
    await screenshot(page, 'import-runs-undone');
    await page.getByTestId('import-back').click();
    await page.getByTestId('cards-empty').waitFor();
  });

  it('a row whose INN a card of another folder holds: the dry run refuses it naming that folder; with «только в этой папке» unticked it would update the card there, and the result names the folder', async () => {
    const otherFolder = await createFolder(admin, { libraryId, name: 'Старая база', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, otherFolder, [{ principalId: tanyaId, level: 'full' }]);
    await admin.data('mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Меридиан»", inn: "7704357909" }) { id } }', { f: otherFolder });
    const { page } = await importPageOfNewFolder('Филиалы');
    await page.getByTestId('import-file').setInputFiles({ name: 'филиалы.csv', mimeType: 'text/csv', buffer: Buffer.from('Наименование;ИНН\nООО «Байкал»;7704357909\n') });
    await page.getByTestId('import-match-field').selectOption({ label: 'ИНН' });
    await page.getByTestId('import-on-match-overwrite').check();
    const ownFolderOnly = page.getByRole('checkbox', { name: 'Искать совпадения только в этой папке' });
    expect(await ownFolderOnly.isChecked()).to.equal(true);
    // The required name left unmapped is said before the run, not found as every row refused (s11 user U1).
    const nameColumn = page.locator('[data-test="import-column"][data-column="Наименование"]').getByTestId('import-column-field');
    await nameColumn.selectOption({ label: '— не загружать —' });
    expect(await page.getByTestId('import-required-unmapped').textContent()).to.contain(
      'Не выбрано обязательное поле (Наименование): строки, для которых не найдётся карточка по полю «ИНН», будут отклонены.',
    );
    await nameColumn.selectOption('name');
    expect(await page.getByTestId('import-required-unmapped').count()).to.equal(0);

    await page.getByTestId('import-dry-run').click();
    await page.locator('[data-test="import-result"][data-dry-run="true"]').waitFor();
    expect(await page.getByTestId('import-count-refused').textContent()).to.equal('1');
    expect(await page.getByTestId('import-refused-row').textContent()).to.contain('в другой папке — «Старая база»');
    expect(await page.getByTestId('import-matched-folder').textContent()).to.match(/Старая база:\s*будет обновлено 0, пропущено 0, отклонено 1/);

    // The keyboard's focus lands on the result's heading, and the run was told in a live region (s11 user U7).
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-test') === 'import-result-title');
    expect(await page.getByTestId('import-job').getAttribute('aria-live')).to.equal('polite');

    await ownFolderOnly.uncheck();
    await page.getByTestId('import-match-other-hint').waitFor();
    await page.getByTestId('import-dry-run').click();
    await page.locator('[data-test="import-result"][data-dry-run="true"]').waitFor();
    expect(await page.getByTestId('import-count-updated').textContent()).to.equal('1');
    expect(await page.getByTestId('import-matched-folder').textContent()).to.match(/Старая база:\s*будет обновлено 1, пропущено 0, отклонено 0/);
    expect(await page.getByTestId('import-preview-found').textContent()).to.equal('«ООО «Меридиан»» в папке «Старая база»');
    await screenshot(page, 'import-matched-elsewhere');

    await page.getByTestId('import-run').click();
    await page.locator('[data-test="import-result"][data-dry-run="false"]').waitFor();
    expect(await page.getByTestId('import-matched-folder').textContent()).to.match(/Старая база:\s*обновлено 1, пропущено 0, отклонено 0/);
    await page.getByTestId('import-matched-folder').getByRole('link', { name: 'Старая база' }).click();
    await page.locator('[data-test="card-row"][data-title="ООО «Байкал»"]').waitFor();
  });

  it('choosing another sheet finds that sheet’s own header row, under a merged title, not the first sheet’s (s11 user U1)', async () => {
    const book = new ExcelJS.Workbook();
    book.addWorksheet('Инструкция').addRow(['Заполните лист «Клиенты»']);
    const clients = book.addWorksheet('Клиенты');
    clients.addRow(['Клиенты отдела продаж']);
    clients.mergeCells('A1:D1');
    clients.addRow(['Наименование', 'ИНН', 'Телефон', 'E-mail']);
    clients.addRow(['ООО «Лист»', '7705000154', '+7 495 123-45-67', 'list@example.ru']);
    const { page } = await importPageOfNewFolder('Два листа');
    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'два-листа.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: Buffer.from(await book.xlsx.writeBuffer()) });
    await page.getByTestId('import-sheet').waitFor();
    expect(await page.getByTestId('import-header-row').inputValue()).to.equal('1');
    await page.getByTestId('import-sheet').selectOption('Клиенты');
    await page.locator('[data-test="import-column"][data-column="ИНН"]').waitFor();
    expect(await page.getByTestId('import-header-row').inputValue()).to.equal('2');
    expect(await page.getByTestId('import-column').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-column')))).to.deep.equal([
      'Наименование',
      'ИНН',
      'Телефон',
      'E-mail',
    ]);
  });

  it('a «Сайт» of hyperlink cells shows in the mapping as the sites the links lead to; mapped to the notes, as the text shown (s13 user U1)', async () => {
    const book = new ExcelJS.Workbook();
    const clients = book.addWorksheet('Клиенты');
    clients.addRow(['Наименование', 'ИНН', 'Сайт']);
    clients.addRow(['ООО «Берёза-1»', '7705000154', { text: 'Сайт компании', hyperlink: 'https://www.bereza-1.ru/' }]);
    const { page } = await importPageOfNewFolder('Сайты ссылками');
    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'сайты.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: Buffer.from(await book.xlsx.writeBuffer()) });
    const site = page.locator('[data-test="import-column"][data-column="Сайт"]');
    await site.waitFor();
    expect(await site.getByTestId('import-column-field').inputValue()).to.equal('website');
    expect(await site.getByTestId('import-column-samples').textContent()).to.equal('https://www.bereza-1.ru/');
    await site.getByTestId('import-column-field').selectOption('notes');
    expect(await site.getByTestId('import-column-samples').textContent()).to.equal('Сайт компании');
  });

  it('«Ваши импорты в эту папку» follows the imports live on the app’s one stream: one run from elsewhere appears with its counts when it ends, and shows its undo once undone, without a reload', async () => {
    const { folder: liveFolder, page } = await importPageOfNewFolder('Живой список');
    // The live streams the page opens (a session may hold five): the app's one, and a progress bar's own for its one job.
    const streams: string[] = [];
    page.on('request', (request) => {
      if (!request.headers().accept?.includes('text/event-stream')) return;
      const { query, variables } = request.postDataJSON() as { query: string; variables?: { id?: string } };
      streams.push(`${/subscription\s+(\w+)/.exec(query)?.[1]}${variables?.id ? ' of one job' : ''}`);
    });
    await page.reload();
    await page.locator('[data-test="import-file"]:enabled').waitFor();
    expect(await page.getByTestId('import-runs').count()).to.equal(0);

    // Meanwhile the same user imports into the folder from elsewhere (another tab, a script).
    const { tanya, importId } = await importElsewhere(liveFolder, 'из другой вкладки.csv', 'Наименование\nООО «Раз»\nООО «Два»\n');
    const run = page.locator('[data-test="import-earlier"][data-file="из другой вкладки.csv"]');
    await run.getByTestId('import-earlier-counts').filter({ hasText: 'создано 2' }).waitFor();
    await run.getByTestId('import-earlier-undo').waitFor();

    await tanya.data('mutation($id: ID!) { undoImport(importId: $id) { id } }', { id: importId });
    await run.getByTestId('import-earlier-undone').waitFor();
    expect(await run.getByTestId('import-earlier-undone').textContent()).to.contain('в корзину — 2');
    expect(await run.getByTestId('import-earlier-undo').count()).to.equal(0);
    expect(streams.filter((stream) => stream !== 'JobEvents of one job')).to.deep.equal(['Live']);
  });

  it('back on the import page while her import runs, she finds it in «Ваши импорты» with its progress and «Отменить», and stops it there', async () => {
    const { folder, page } = await importPageOfNewFolder('Идёт импорт');
    const release = holdJobs('import');
    try {
      await importElsewhere(folder, 'долгий.csv', 'Наименование\nООО «Долгое»\n');
      const run = page.locator('[data-test="import-earlier"][data-file="долгий.csv"]');
      await run.locator('[data-test="job-progress"][data-state="running"]').waitFor();
      await run.getByTestId('job-cancel').click();
      await run.getByTestId('job-state').filter({ hasText: 'Отменяется…' }).waitFor();
    } finally {
      release();
    }
    await page.locator('[data-test="import-earlier"][data-file="долгий.csv"]').filter({ hasText: 'Отменено' }).waitFor();
  });

  it('an import that failed on the way says why in words and how far it got in «Ваши импорты», and «Продолжить с места остановки» takes it to its end (s12 re-test R3)', async () => {
    const { folder, page } = await importPageOfNewFolder('Импорт со сбоем');
    // Its first run meets a fault after its first batch, in the driver's English.
    const restore = failJobsAt('import', 500, () => new Error('connection <monitor> to 127.0.0.1:4501 timed out'));
    const run = page.locator('[data-test="import-earlier"][data-file="сбой.csv"]');
    try {
      const names = Array.from({ length: 600 }, (_, index) => `ООО «Сбой ${index + 1}»`);
      await importElsewhere(folder, 'сбой.csv', ['Наименование', ...names].join('\n'));
      await run.locator('[data-test="job-progress"][data-state="failed"]').waitFor();
    } finally {
      restore();
    }
    const reason = (await run.getByTestId('job-error').textContent()) ?? '';
    expect(reason).to.match(/^Импорт остановился на строке 500 из 600: сбой на сервере/);
    expect(reason).to.not.contain('timed out');
    expect(await run.getByTestId('job-error-detail').count()).to.equal(0);
    await screenshot(page, 'import-runs-failed');
    await run.getByTestId('job-retry').click();
    await run.getByTestId('import-earlier-counts').filter({ hasText: 'создано 600' }).waitFor();
    expect(await run.getByTestId('job-retry').count()).to.equal(0);
  });

  it('an import that ends before the page listens to its progress still shows as ended, with its result', async () => {
    const lateFolder = await createFolder(admin, { libraryId, name: 'Поздние', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, lateFolder, [{ principalId: tanyaId, level: 'full' }]);
    const tanya = await signedIn(server, 'tanya', PASSWORD);
    const page = await (await browser.newContext()).newPage();
    await signInThroughUi(page, server.url, 'tanya', PASSWORD);
    // The page's live stream of the job reaches the server only once the job has ended: its end
    // is published before anyone listens (what a busy server or a slow network can do).
    await page.route('**/graphql', async (route) => {
      const body = route.request().postData() ?? '';
      if (!body.includes('subscription JobEvents')) return route.fallback();
      const { id } = (JSON.parse(body) as { variables: { id: string } }).variables;
      const stateOf = async () => (await tanya.data<{ job: { state: string } | null }>('query($id: ID!) { job(id: $id) { state } }', { id })).job?.state;
      await waitFor(async () => ['succeeded', 'failed', 'cancelled'].includes((await stateOf()) ?? ''), 'the import to end', 60_000);
      await route.continue();
    });
    await page.goto(`${server.url}/folders/${lateFolder}/import`);
    // The file can be chosen once the page knows the folder.
    await page.locator('[data-test="import-file"]:enabled').waitFor();
    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'поздние.csv', mimeType: 'text/csv', buffer: Buffer.from('Наименование;Телефон\nООО «Поздний»;\nООО «Запоздалый»;\n') });
    await page.locator('[data-test="import-column"][data-column="Наименование"]').getByTestId('import-column-field').waitFor();
    await page.getByTestId('import-run').click();
    await page.locator('[data-test="import-result"][data-dry-run="false"]').waitFor();
    expect(await page.getByTestId('job-progress').getAttribute('data-state')).to.equal('succeeded');
    expect(await page.getByTestId('job-done').textContent()).to.match(/2\s*из\s*2/);
    expect(await page.getByTestId('import-count-created').textContent()).to.equal('2');
  });

  it('the administrator ticks «Экспорт» on Наталья’s entry in the folder’s access editor: she gets the export in that folder, and loses it when it is unticked', async () => {
    const adminPage = await (await browser.newContext()).newPage();
    await signInThroughUi(adminPage, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
    await adminPage.goto(`${server.url}/folders/${folderId}/access`);
    const entry = adminPage.locator('[data-test="entry-Наталья Вакуленко"]');
    const effective = adminPage.locator('[data-test="effective-Наталья Вакуленко"] [data-test="effective-export"]');
    await effective.filter({ hasText: 'нет' }).waitFor();
    await entry.getByTestId('entry-export').check();
    await effective.filter({ hasText: 'да' }).waitFor();

    const page = await (await browser.newContext()).newPage();
    await signInThroughUi(page, server.url, 'natasha', PASSWORD);
    await page.goto(`${server.url}/folders/${folderId}`);
    await page.getByTestId('export').waitFor();

    // Unticked: the control leaves her open page without a reload.
    await entry.getByTestId('entry-export').uncheck();
    await effective.filter({ hasText: 'нет' }).waitFor();
    await page.getByTestId('export').waitFor({ state: 'detached' });
    await page.getByTestId('card-count').waitFor();
    await screenshot(adminPage, 'access-editor-export');
  });

  it('«Экспорт» withdrawn while her page was still opening its live stream is not missed: the page reads its rights once the stream is open', async () => {
    const veraId = await createUser(admin, { login: 'vera', fullName: 'Вера Опоздалова', password: PASSWORD, departmentId });
    const folder = await createFolder(admin, { libraryId, name: 'Выгрузка Веры', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, folder, [{ principalId: veraId, level: 'read', export: true }]);
    const page = await (await browser.newContext()).newPage();
    await signInThroughUi(page, server.url, 'vera', PASSWORD);
    // Her page's live stream reaches the server only after the administrator took the right away
    // (what a busy server setting the stream up, or a slow network, can do).
    let release: () => void = () => undefined;
    const withdrawn = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/graphql', async (route) => {
      if (!(route.request().postData() ?? '').includes('subscription Live')) return route.fallback();
      await withdrawn;
      await route.continue();
    });
    await page.goto(`${server.url}/folders/${folder}`);
    await page.getByTestId('export').waitFor();
    await setFolderAccess(admin, folder, [{ principalId: veraId, level: 'read', export: false }]);
    release();
    await page.getByTestId('export').waitFor({ state: 'detached' });
  });

  it('Наталья, a reader, sees no import; the export appears only once the administrator makes her a trusted person', async () => {
    const page = await (await browser.newContext()).newPage();
    await signInThroughUi(page, server.url, 'natasha', PASSWORD);
    await page.goto(`${server.url}/folders/${folderId}`);
    await page.getByTestId('cards-empty').waitFor();
    await page.getByTestId('my-access').waitFor();
    await page.getByTestId('card-count').waitFor();
    expect(await page.getByTestId('export').count()).to.equal(0);
    expect(await page.getByTestId('import-link').count()).to.equal(0);

    // Her open page learns of it live: no reload.
    await admin.data('mutation($id: ID!, $add: [ID!]) { changeGroupMembers(id: $id, add: $add) { id } }', { id: exportersGroupId, add: [natashaId] });
    await page.getByTestId('export').waitFor();
    expect(await page.getByTestId('import-link').count()).to.equal(0);
  });
  it('Наталья, a reader, who follows a link to the folder’s «Импорт» is told at once that she may not import, with no file to choose', async () => {
    const page = await (await browser.newContext()).newPage();
    await signInThroughUi(page, server.url, 'natasha', PASSWORD);
    await page.goto(`${server.url}/folders/${folderId}/import`);
    const notice = page.getByTestId('import-not-allowed');
    await notice.waitFor();
    expect(await notice.textContent()).to.contain('Импортировать в эту папку может тот, кто создаёт в ней карточки; ваш доступ к ней — «Чтение»');
    expect(await page.getByTestId('import-file').count()).to.equal(0);
  });

  it('an administrator in the console is told at once when a colleague reads far more cards than usual, and finds it in the audit log', async () => {
    const reconciliation = await createFolder(admin, { libraryId, name: 'Сверка', allowedCardTypes: ['counterparty'] });
    const olegId = await createUser(admin, { login: 'oleg', fullName: 'Олег Сверкин', password: PASSWORD, departmentId });
    await setFolderAccess(admin, reconciliation, [{ principalId: olegId, level: 'read' }]);
    for (const name of ['ООО «Один»', 'ООО «Два»', 'ООО «Три»']) {
      await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: reconciliation, v: { name } });
    }
    const adminPage = await (await browser.newContext()).newPage();
    await signInThroughUi(adminPage, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
    // The console listens for alarms from the start (the stream's answer has come).
    const listening = adminPage.waitForResponse((response) => response.url().endsWith('/graphql') && (response.request().postData() ?? '').includes('readAlarms'));
    await adminPage.goto(`${server.url}/admin`);
    await listening;

    // Олег's script walks the folder through the API: 6 cards within the hour.
    const oleg = await signedIn(server, 'oleg', PASSWORD);
    for (let pass = 0; pass < 2; pass += 1) await oleg.data('query($f: ID!) { cards(folderId: $f, first: 50) { edges { node { values } } } }', { f: reconciliation });
    const alarm = adminPage.locator('[data-test="read-alarm"]').filter({ hasText: 'Олег Сверкин (oleg)' });
    await alarm.waitFor();
    expect(await alarm.textContent()).to.match(/Массовое чтение: Олег Сверкин \(oleg\) получил\(а\) \d+ карточек за 60 мин \(порог — 5\)\./);
    await screenshot(adminPage, 'read-alarm');
    await alarm.getByTestId('read-alarm-audit').click();
    await adminPage.getByTestId('audit').locator('tr', { hasText: 'Олег Сверкин' }).filter({ hasText: 'Массовое чтение карточек' }).first().waitFor();
    expect(await adminPage.getByTestId('audit-kind').inputValue()).to.equal('bulk-reading');
  });
});
