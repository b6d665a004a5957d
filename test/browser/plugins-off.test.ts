import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import { describeInBrowser, launchChromium } from '../support/browser';
import { startTestServer, TEST_ADMIN } from '../support/server';
import { signInThroughUi, useDataTestAttribute } from './ui';

const UNAVAILABLE = 'Вид поля недоступен: модуль «russian-requisites» не включён';

/**
 * With PLUGINS=none «Контрагент» keeps its INN, KPP and OGRN fields, whose kinds nothing provides:
 * the type designer and the list's filter say which module to enable, instead of an empty kind
 * select or a filter the server refuses.
 */
describeInBrowser('a plugin switched off (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    useDataTestAttribute();
    await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
    server = await startTestServer({ PLUGINS: 'none', SEED_DEMO_DATA: 'true' });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the designer shows «Вид поля недоступен: модуль «russian-requisites» не включён» for INN, KPP and OGRN, in Russian and English', async () => {
    await page.goto(`${server.url}/admin/card-types/counterparty`);
    for (const key of ['inn', 'kpp', 'ogrn']) {
      const editor = page.locator(`[data-test^="field-editor-"][data-key="${key}"]`);
      expect(await editor.getByTestId('kind-unavailable').textContent(), key).to.equal(UNAVAILABLE);
      expect(await editor.getByTestId('field-kind').locator('select').count(), key).to.equal(0);
    }
    // Kinds that are there keep their select.
    expect(await page.locator('[data-test^="field-editor-"][data-key="phone"]').getByTestId('field-kind').locator('select').inputValue()).to.equal('phone');
    await page.getByTestId('language').selectOption('en');
    await page
      .locator('[data-test^="field-editor-"][data-key="inn"]')
      .getByTestId('kind-unavailable')
      .filter({ hasText: 'Field kind unavailable: the module “russian-requisites” is not enabled' })
      .waitFor();
    await page.getByTestId('language').selectOption('ru');
  });

  it('the list’s INN column says the same in place of a filter', async () => {
    await page.getByTestId('folder-Корреспонденты').click();
    await page.locator('[data-test="card-row"]').first().waitFor();
    expect(await page.getByTestId('filter-inn').textContent()).to.equal(UNAVAILABLE);
    expect(await page.getByTestId('filter-inn').locator('input, select').count()).to.equal(0);
    // Other columns still filter.
    expect(await page.getByTestId('filter-phone').locator('input').count()).to.equal(1);
  });
});
