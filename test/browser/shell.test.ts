import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/src/server';
import { describeInBrowser, screenshot } from '../support/browser';
import { TEST_ADMIN } from '../support/server';
import { signInThroughUi, startBrowserSuite } from './ui';

describeInBrowser('client shell (browser)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    ({ server, browser } = await startBrowserSuite());
  });
  beforeEach(async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  afterEach(async () => {
    await page?.close();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('loads the shell in Russian; the server panel names the product to anyone and what it runs on to administrators', async () => {
    await page.goto(server.url);
    expect(await page.getByTestId('product-name').textContent()).to.equal('Картотека');
    await page.getByTestId('server-product').filter({ hasText: 'Картотека' }).waitFor();
    await page.getByTestId('server-details-admins').waitFor();
    expect(await page.getByTestId('server-version').count()).to.equal(0);
    await screenshot(page, 'shell-home');
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
    await page.goto(`${server.url}/about`);
    const version = page.getByTestId('server-version');
    await version.waitFor();
    expect(await version.textContent()).to.match(/^\d+\.\d+\.\d+/);
    expect(await page.getByTestId('database-kind').textContent()).to.equal('MongoDB');
    await screenshot(page, 'shell-about-administrator');
  });

  it('keeps a client-side route after a reload', async () => {
    await page.goto(server.url);
    await page.getByTestId('nav-about').click();
    await page.waitForURL(`${server.url}/about`);
    await page.reload();
    expect(await page.getByTestId('about-title').textContent()).to.equal('О системе');
    await page.getByTestId('server-product').waitFor();
    await screenshot(page, 'shell-about-after-reload');
  });

  it('switches to English and remembers the choice', async () => {
    await page.goto(server.url);
    await page.getByTestId('language').selectOption('en');
    expect(await page.getByTestId('product-name').textContent()).to.equal('Kartoteka');
    await page.reload();
    expect(await page.getByTestId('product-name').textContent()).to.equal('Kartoteka');
    expect(await page.locator('html').getAttribute('lang')).to.equal('en');
    await screenshot(page, 'shell-english');
  });

  it('shows a not-found page for an unknown client route', async () => {
    await page.goto(`${server.url}/no/such/page`);
    expect(await page.getByTestId('not-found').textContent()).to.equal('Страница не найдена');
  });
});
