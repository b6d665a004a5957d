import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../../server/src/server';
import { axeViolations, describeViolations } from '../support/axe';
import { describeInBrowser, launchChromium } from '../support/browser';
import { createFolder } from '../support/fixtures';
import { signedIn, startTestServer, TEST_ADMIN } from '../support/server';
import { signInThroughUi, useDataTestAttribute } from './ui';
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { createLogger } from '../../server/src/logger';

const COUNTERPARTY = 'ООО «Кассиопея»';

/**
 * axe-core on every main page of the demo (sign-in, home, folder list and access, the card page
 * with each of its tabs and its form, search, trash, every page of the console, the dialogs):
 * no violation anywhere, of any impact (minor and moderate ones such as a skipped heading level or
 * an unnamed table column included). What axe reports per page is printed at the end.
 */
describeInBrowser('accessibility: axe-core on every main page (browser)', function () {
  this.timeout(240_000);
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const report: string[] = [];
  const folderIds = new Map<string, string>();

  async function check(name: string): Promise<void> {
    // Nothing still loading (the live stream keeps the network busy, so no waiting for it to idle).
    await page.locator('[data-test="loading"]').first().waitFor({ state: 'detached' });
    const { all } = await axeViolations(page);
    report.push(`${name.padEnd(34)} violations: ${all.length}${all.length ? ` (${all.map((v) => `${v.id}:${v.impact}`).join(', ')})` : ''}`);
    if (all.length) failures.push(`${name}\n${describeViolations(all)}`);
  }
  // Every page of a test is checked before the test fails, so one run names them all.
  let failures: string[] = [];
  function expectAllClean(): void {
    const found = failures;
    failures = [];
    expect(found, found.join('\n\n')).to.deep.equal([]);
  }

  before(async () => {
    useDataTestAttribute();
    await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
    server = await startTestServer({ SEED_DEMO_DATA: 'true' });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    // A card in the trash, so the trash page has a row.
    const admin = await signedIn(server);
    const found = await admin.data<{ search: { card: { id: string; title: string } }[] }>('query { search(query: "Денеб") { card { id title } } }');
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: found.search.find((hit) => hit.card.title === 'ООО «Денеб»')!.card.id });
    // A second folder for counterparties, so «Переместить» has somewhere to offer.
    const library = (await admin.data<{ libraries: { id: string; name: string }[] }>('{ libraries { id name } }')).libraries.find((l) => l.name === 'Корреспонденты и контакты')!;
    await createFolder(admin, { libraryId: library.id, name: 'Архив контрагентов', allowedCardTypes: ['counterparty'] });
    for (const folder of (await admin.data<{ folders: { id: string; name: string }[] }>('{ folders { id name } }')).folders) folderIds.set(folder.name, folder.id);
  });
  after(async () => {
    if (report.length) console.log(`      axe-core results per page:\n${report.map((line) => `        ${line}`).join('\n')}`);
    await context?.close();
    await browser?.close();
    await server?.stop();
  });

  it('sign-in page', async () => {
    await page.goto(`${server.url}/signin`);
    await page.getByTestId('signin-form').waitFor();
    await check('sign-in');
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('error-login').waitFor();
    await check('sign-in with errors');
    expectAllClean();
  });

  it('home page', async () => {
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
    await page.getByTestId('folder-Корреспонденты').waitFor();
    await check('home');
    expectAllClean();
  });

  it('folder: card list and access', async () => {
    await page.getByTestId('folder-Корреспонденты').click();
    await page.locator('[data-test="card-row"]').first().waitFor();
    await check('folder list');
    await page.getByTestId('tab-access').click();
    await page.getByTestId('access-editor').waitFor();
    await check('folder access');
    // The amount column's from–to filter: two inputs one above the other, each a 24-px target.
    await page.goto(`${server.url}/folders/${folderIds.get('Коммерческие предложения')}`);
    await page.locator('[data-test="card-row"]').first().waitFor();
    const bound = page.getByRole('textbox', { name: 'Фильтр по «Сумма, ₽»: от' });
    await bound.scrollIntoViewIfNeeded();
    expect((await bound.boundingBox())?.height).to.be.at.least(24);
    await check('folder list with range filters');
    expectAllClean();
  });

  it('import: the preview of a dry run', async () => {
    await page.goto(`${server.url}/folders/${folderIds.get('Корреспонденты')}/import`);
    await page.locator('[data-test="import-file"]:enabled').waitFor();
    // An address without spaces makes the preview table wider than the page, so its box scrolls sideways.
    const address = 'Москва,'.repeat(80);
    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'клиенты.csv', mimeType: 'text/csv', buffer: Buffer.from(`Наименование;Юридический адрес\nООО «Ширь»;${address}\n`) });
    await page.getByTestId('import-dry-run').click();
    await page.locator('[data-test="import-result"][data-dry-run="true"]').waitFor();
    // The box that scrolls is a named region reached by Tab.
    const scroll = page.getByRole('region', { name: 'Первые строки, как они будут сохранены' });
    expect(await scroll.evaluate((box) => box.scrollWidth > box.clientWidth)).to.equal(true);
    await scroll.focus();
    expect(await scroll.evaluate((box) => box === document.activeElement)).to.equal(true);
    await check('import: dry-run preview');
    expectAllClean();
  });

  it('card page: every tab, the form and a new card', async () => {
    await page.goto(`${server.url}/search?q=${encodeURIComponent(COUNTERPARTY)}`);
    await page.getByTestId('search-hit').filter({ hasText: COUNTERPARTY }).first().click();
    await page.getByTestId('card-fields').waitFor();
    await check('card: fields');
    const tabs = await page.getByRole('tab').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-test') ?? ''));
    for (const tab of tabs.filter((key) => key !== 'card-tab-fields')) {
      await page.getByTestId(tab).click();
      await page.waitForURL((url) => url.searchParams.has('tab'));
      await check(`card: ${tab.replace('card-tab-', '')}`);
    }
    await page.getByTestId('card-tab-fields').click();
    await page.getByTestId('edit').click();
    await page.getByTestId('card-form').waitFor();
    await page.getByTestId('input-name').fill('');
    await page.getByTestId('save').click();
    await page.getByTestId('error-name').waitFor();
    await check('card: form with an error');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('cancel').click();
    await page.getByTestId('card-fields').waitFor();
    await page.getByTestId('move').click();
    await page.getByTestId('move-dialog').waitFor();
    await check('card: move dialog');
    await page.keyboard.press('Escape');
    await page.getByTestId('back').click();
    await page.getByTestId('create').click();
    await page.getByTestId('create-contact-person').click();
    await page.getByTestId('card-form').waitFor();
    await check('new card form');
    expectAllClean();
  });

  it('search and trash', async () => {
    await page.goto(`${server.url}/search?q=${encodeURIComponent('Кассиопея')}`);
    await page.locator('[data-test="search-hit"]').first().waitFor();
    await check('search');
    await page.getByTestId('nav-trash').click();
    await page.getByTestId('trash-row').first().waitFor();
    await check('trash');
    await page.getByTestId('nav-about').click();
    await page.getByTestId('about-title').waitFor();
    await check('about');
    expectAllClean();
  });

  it('every page of the console, with its dialogs', async () => {
    await page.getByTestId('nav-admin').click();
    await page.getByTestId('admin-title').waitFor();
    const tabs = await page
      .getByRole('tablist')
      .getByRole('tab')
      .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-test') ?? ''));
    expect(tabs.length).to.be.at.least(6);
    for (const tab of tabs) {
      await page.getByTestId(tab).click();
      await page.waitForURL((url) => url.pathname.startsWith('/admin/'));
      await check(`console: ${tab.replace('admin-tab-', '')}`);
    }
    await page.getByTestId('admin-tab-people').click();
    await page.getByTestId('department-Кассиопея').click();
    await page.getByTestId('user-tgoncharenko').waitFor();
    await check('console: department with users');
    await page.getByTestId('new-department').click();
    await page.getByRole('dialog', { name: 'Новое подразделение' }).waitFor();
    await page.getByTestId('department-save').click();
    await page.getByTestId('error-name').waitFor();
    await check('console: department dialog');
    await page.keyboard.press('Escape');
    await page.getByTestId('new-user').click();
    await page.getByRole('dialog', { name: 'Новый пользователь' }).waitFor();
    await check('console: user dialog');
    await page.keyboard.press('Escape');
    await page.getByTestId('admin-tab-groups').click();
    await page.getByTestId('group-Операторы чтения истории').click();
    await page.getByTestId('group-members').waitFor();
    await check('console: group');
    await page.getByTestId('admin-tab-libraries').click();
    await page.getByTestId('admin-folder-Корреспонденты').click();
    await page.getByTestId('folder-form').waitFor();
    await check('console: folder');
    await page.getByTestId('admin-library-Договоры').click();
    await page.getByTestId('access-editor').waitFor();
    await check('console: library');
    await page.getByTestId('admin-tab-card-types').click();
    await page.getByTestId('card-type-counterparty').getByTestId('card-type-link').click();
    await page.waitForURL((url) => url.pathname.endsWith('/counterparty'));
    await check('console: card type designer');
    // A new type: its form preview shows the field not named yet with a label.
    await page.goto(`${server.url}/admin/card-types/new`);
    await page.getByTestId('add-field').click();
    await page.getByTestId('form-preview').locator('input').first().waitFor();
    await check('console: new card type');
    expectAllClean();
  });
});
