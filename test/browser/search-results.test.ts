import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/src/server';
import { generateCounterparties } from '../../seeds/generate';
import { describeInBrowser, screenshot } from '../support/browser';
import { TEST_ADMIN } from '../support/server';
import { expectText, signInThroughUi, startBrowserSuite } from './ui';

const CARDS = 130;

/** «Все результаты» (#14): the page says how many cards were found and shows them 50 at a time. */
describeInBrowser('search: all results, with their total and the next pages (browser)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    ({ server, browser } = await startBrowserSuite());
    // Every generated counterparty's address is on «ул. Заводская».
    await generateCounterparties({ count: CARDS, folderName: 'Большая папка' });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('«Заводская»: «Все результаты» says 130 were found, shows 50, and «Показать ещё» brings the rest; no card twice', async () => {
    await page.getByTestId('search-input').fill('Заводская');
    await page.getByRole('link', { name: 'Все результаты' }).click();
    await page.waitForURL((url) => url.pathname === '/search');
    const total = (shown: number) =>
      page
        .getByTestId('search-total')
        .filter({ hasText: `Найдено: 130 · показано: ${shown}` })
        .waitFor();
    await expectText(page, 'search-total', 'Найдено: 130 · показано: 50');
    expect(await page.getByTestId('search-hit').count()).to.equal(50);
    await page.getByTestId('search-more').click();
    await total(100);
    await page.getByTestId('search-more').click();
    await total(130);
    expect(await page.getByTestId('search-more').count()).to.equal(0);
    const titles = await page.getByTestId('search-hit').allTextContents();
    expect(new Set(titles).size).to.equal(CARDS);
    await screenshot(page, 'search-all-results');
  });
});
