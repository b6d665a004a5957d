import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import { describeInBrowser, launchChromium, screenshot } from '../support/browser';
import { startTestServer, TEST_ADMIN } from '../support/server';
import { expectText, signInThroughUi, useDataTestAttribute } from './ui';

describeInBrowser('console page «Резервные копии» (browser)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let dir: string;

  before(async () => {
    useDataTestAttribute();
    dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-backups-ui-'));
    await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
    server = await startTestServer({ SEED_DEMO_DATA: 'true', BACKUP_DIR: dir, BACKUP_SCHEDULE: '0 3 * * *' });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page = await context.newPage();
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a backup now with its progress, lists it verified with size and duration, and downloads it', async () => {
    await page.getByTestId('nav-admin').click();
    await page.getByTestId('admin-tab-backups').click();
    await page.waitForURL(`${server.url}/admin/backups`);
    await expectText(page, 'backup-table', /Резервных копий ещё нет/);
    expect(await page.getByTestId('backup-settings').textContent()).to.contain('По расписанию «0 3 * * *», хранятся: 7d,4w,12m.');

    await page.getByTestId('backup-create').click();
    const progress = page.getByTestId('job-progress');
    await progress.locator('[data-test="job-state"]', { hasText: 'Готово' }).waitFor();
    expect(await progress.getByTestId('job-percent').textContent()).to.equal('100 %');
    expect(await progress.getByTestId('job-done').textContent()).to.match(/^\s*(\d[\d\s\u00a0]*) из \1\s*$/);
    await page.locator('[data-test="backup-row"][data-state="succeeded"]').waitFor();
    const row = page.getByTestId('backup-row').first();
    expect(await row.getByTestId('backup-verification').textContent()).to.equal('проверена');
    expect(await row.getByTestId('backup-state').textContent()).to.contain('готова');
    expect(await row.getByTestId('backup-size').textContent()).to.match(/^\d+ КБ$/);
    expect(await row.getByTestId('backup-duration').textContent()).to.match(/^[\d,]+ с$/);
    expect(await row.textContent()).to.contain('вручную');
    await screenshot(page, 'backups-1-created');

    const [download] = await Promise.all([page.waitForEvent('download'), row.getByTestId('backup-download').click()]);
    expect(download.suggestedFilename()).to.match(/^kartoteka-backup-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.tar\.gz$/);
    expect(await download.failure()).to.equal(null);
  });

  it('speaks English when the interface does', async () => {
    await page.getByTestId('language').selectOption('en');
    await expectText(page, 'backup-create', 'Back up now');
    expect(await page.getByTestId('backup-row').first().getByTestId('backup-verification').textContent()).to.equal('verified');
    await page.getByTestId('language').selectOption('ru');
  });
});
