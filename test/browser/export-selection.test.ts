import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { describeInBrowser, downloaded, screenshot } from '../support/browser';
import { addToSystemGroup, createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { signedIn, TEST_ADMIN } from '../support/server';
import { sheetRows } from '../support/xlsx';
import { signInThroughUi, startBrowserSuite } from './ui';

const PASSWORD = 'secret-password-1';

const csvTitles = (content: Buffer) =>
  content
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .split('\r\n')
    .filter(Boolean)
    .slice(1)
    .map((line) => line.split(';')[0]);

describeInBrowser('export of selected cards and of search results (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let browser: Browser;
  let admin: ApiClient;
  let folderId: string;
  let anyTypeFolderId: string;

  before(async () => {
    ({ server, browser } = await startBrowserSuite());
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'tanya', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'natasha', fullName: 'Наталья Вакуленко', level: 'read' },
    ]);
    folderId = scenario.folderId;
    await addToSystemGroup(admin, 'exporters', [scenario.userIds.tanya]);
    for (const name of ['ООО «Вектор Один»', 'ООО «Вектор Два»', 'ООО «Прочее»']) {
      await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: folderId, v: { name } });
    }
    anyTypeFolderId = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Клиенты из Excel' });
    await setFolderAccess(admin, anyTypeFolderId, [{ principalId: scenario.userIds.tanya, level: 'full' }]);
    await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', {
      f: anyTypeFolderId,
      v: { name: 'ООО «Из Excel»', kpp: '773601001', notes: 'клиент с 2019 года' },
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('Татьяна ticks cards in the folder and exports only those; on the search page she exports what the search found', async () => {
    const page = await (await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } })).newPage();
    await signInThroughUi(page, server.url, 'tanya', PASSWORD);
    await page.goto(`${server.url}/folders/${folderId}`);
    const row = (title: string) => page.locator(`[data-test="card-row"][data-title="${title}"]`);
    await row('ООО «Прочее»').waitFor();

    await row('ООО «Вектор Два»').getByTestId('select-card').check();
    await page.getByTestId('selected-count').filter({ hasText: 'Выбрано: 1' }).waitFor();
    await page.getByTestId('export').click();
    // The whole list stays offered next to the selection.
    expect(await page.getByTestId('export-csv').count()).to.equal(1);
    expect(await page.getByTestId('export-selected-csv').textContent()).to.contain('Выбранные (1)');
    await screenshot(page, 'export-selected-menu');
    expect(csvTitles(await downloaded(page, () => page.getByTestId('export-selected-csv').click()))).to.deep.equal(['ООО «Вектор Два»']);

    // «Select all» ticks every loaded card; the selection goes when cleared.
    await page.getByTestId('select-all').check();
    await page.getByTestId('selected-count').filter({ hasText: 'Выбрано: 3' }).waitFor();
    await page.getByTestId('export').click();
    const all = await sheetRows(await downloaded(page, () => page.getByTestId('export-selected-xlsx').click()));
    expect(all.slice(1).map((cells) => cells[(all[0] as string[]).indexOf('Наименование')])).to.have.members(['ООО «Вектор Один»', 'ООО «Вектор Два»', 'ООО «Прочее»']);
    // The list's columns first, then the cards' other fields — КПП and notes too, so the file imports back equal (s13 user U4).
    const header = all[0] as string[];
    expect(header).to.include.members(['Наименование', 'Должность', 'КПП', 'Примечания']);
    expect(Math.max(header.indexOf('Наименование'), header.indexOf('E-mail'), header.indexOf('Должность'))).to.be.lessThan(header.indexOf('КПП'));
    await page.getByTestId('clear-selection').click();
    await page.getByTestId('selected-count').waitFor({ state: 'detached' });
    expect(await row('ООО «Вектор Один»').getByTestId('select-card').isChecked()).to.equal(false);

    // A folder open to any type exports the fields of the types its cards have — not a column for every type there is.
    await page.goto(`${server.url}/folders/${anyTypeFolderId}`);
    await row('ООО «Из Excel»').waitFor();
    await page.getByTestId('export').click();
    const fromExcel = await sheetRows(await downloaded(page, () => page.getByTestId('export-xlsx').click()));
    const anyTypeHeader = fromExcel[0] as string[];
    expect(anyTypeHeader).to.include.members(['Наименование', 'КПП', 'Примечания']);
    expect(anyTypeHeader).not.to.include('Должность');
    expect(fromExcel[1][anyTypeHeader.indexOf('КПП')]).to.equal('773601001');

    await page.goto(`${server.url}/search?q=${encodeURIComponent('Вектор')}`);
    await page.getByTestId('search-total').waitFor();
    await page.getByTestId('export').click();
    expect(await page.getByTestId('export-selected-csv').count()).to.equal(0);
    expect(csvTitles(await downloaded(page, () => page.getByTestId('export-csv').click()))).to.have.members(['ООО «Вектор Один»', 'ООО «Вектор Два»']);
    await screenshot(page, 'export-search');
  });

  it('the administrator reads in the audit log what was exported (the search, the selection) and who was made a trusted person', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
    await page.goto(`${server.url}/admin/audit?kind=cards-exported`);
    const details = page.getByTestId('audit-details');
    await details.first().waitFor();
    const texts = await details.allTextContents();
    expect(
      texts.some((text) => text.startsWith('Поиск: «Вектор» (найдено 2)')),
      texts.join('\n'),
    ).to.equal(true);
    expect(
      texts.some((text) => text.startsWith('Выбранные карточки: 1')),
      texts.join('\n'),
    ).to.equal(true);
    await screenshot(page, 'audit-export-details');
    await page.goto(`${server.url}/admin/audit?kind=group-members-changed`);
    await page.getByTestId('audit-details').filter({ hasText: 'Добавлены: Татьяна Гончаренко (tanya)' }).waitFor();
  });

  it('Наталья, without «Экспорт», has no checkboxes in the list and no export on the search page', async () => {
    const page = await (await browser.newContext()).newPage();
    await signInThroughUi(page, server.url, 'natasha', PASSWORD);
    await page.goto(`${server.url}/folders/${folderId}`);
    await page.locator('[data-test="card-row"][data-title="ООО «Прочее»"]').waitFor();
    await page.getByTestId('card-count').waitFor();
    expect(await page.getByTestId('select-card').count()).to.equal(0);
    expect(await page.getByTestId('select-all').count()).to.equal(0);
    await page.goto(`${server.url}/search?q=${encodeURIComponent('Вектор')}`);
    await page.getByTestId('search-total').waitFor();
    expect(await page.getByTestId('export').count()).to.equal(0);
  });
});
