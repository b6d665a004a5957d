import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/src/server';
import { describeInBrowser, downloaded } from '../support/browser';
import { addToSystemGroup, createCorrespondents } from '../support/fixtures';
import { storeCounterparties } from '../support/search-work';
import { signedIn } from '../support/server';
import { signInThroughUi, startBrowserSuite } from './ui';

const PASSWORD = 'secret-password-1';
const CARDS = 3000;

describeInBrowser('a large export shows its rows of the total, and can be cancelled (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    ({ server, browser } = await startBrowserSuite());
    const admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'tanya', fullName: 'Татьяна Гончаренко', level: 'read' }]);
    await addToSystemGroup(admin, 'exporters', [scenario.userIds.tanya]);
    await storeCounterparties(
      scenario,
      Array.from({ length: CARDS }, (_, n) => `ООО «Клиент ${n + 1}»`),
      scenario.userIds.tanya,
    );
    page = await (await browser.newContext()).newPage();
    await signInThroughUi(page, server.url, 'tanya', PASSWORD);
    await page.goto(`${server.url}/folders/${scenario.folderId}`);
    await page.locator('[data-test="card-row"]').first().waitFor();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the bar fills with the rows the server wrote, up to all of them at 100 %, and goes once the file is saved', async () => {
    // Every value the bar shows, as the page draws it.
    await page.evaluate(() => {
      const shown: string[] = [];
      (window as unknown as { barShown: string[] }).barShown = shown;
      new MutationObserver(() => {
        const bar = document.querySelector('[data-test="export-bar"]');
        const value = bar?.getAttribute('value');
        if (value && shown.at(-1) !== `${value}/${bar!.getAttribute('max')}`) shown.push(`${value}/${bar!.getAttribute('max')}`);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['value', 'max'] });
    });
    // The whole file is written by the server before the page gets any of it: the rows arrive on the live stream alone.
    let fulfil!: () => Promise<void>;
    const fetched = new Promise<void>((resolve) => {
      void page.route('**/transfer/export', async (route) => {
        const response = await route.fetch();
        fulfil = () => route.fulfill({ response });
        resolve();
      });
    });
    await page.getByTestId('export').click();
    const file = downloaded(page, () => page.getByTestId('export-csv').click());
    await fetched;
    await page
      .getByTestId('export-rows')
      .filter({ hasText: /^Выгрузка списка: 3\s000 из 3\s000 строк · 100 %$/ })
      .waitFor();
    await fulfil();
    const lines = (await file).toString('utf8').trim().split('\r\n');
    expect(lines).to.have.length(CARDS + 1);
    await page.getByTestId('export-progress').waitFor({ state: 'detached' });
    await page.unroute('**/transfer/export');
    const shown = await page.evaluate(() => (window as unknown as { barShown: string[] }).barShown);
    const values = shown.map((pair) => pair.split('/').map(Number));
    expect(shown.at(-1)).to.equal(`${CARDS}/${CARDS}`);
    expect(values.every(([value, max]) => max === CARDS && value <= max)).to.equal(true);
    expect(values.map(([value]) => value)).to.deep.equal(values.map(([value]) => value).sort((a, b) => a - b));
  });

  it('«Отменить выгрузку» stops the download: nothing is saved, and the page says it was cancelled', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/transfer/export', async (route) => {
      await held;
      await route.continue().catch(() => undefined);
    });
    let saved = false;
    page.on('download', () => (saved = true));
    await page.getByTestId('export').click();
    await page.getByTestId('export-xlsx').click();
    await page.getByTestId('export-cancel').click();
    await page.getByTestId('export-cancelled').waitFor();
    expect(await page.getByTestId('export-cancelled').textContent()).to.equal('Выгрузка отменена');
    expect(await page.getByTestId('export-progress').count()).to.equal(0);
    expect(await page.getByTestId('export-failure').count()).to.equal(0);
    release();
    await page.unroute('**/transfer/export');
    // The menu is offered again, and no file came.
    await page.locator('[data-test="export"]:enabled').waitFor();
    expect(saved).to.equal(false);
  });
});
