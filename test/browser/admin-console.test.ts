import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../../server/src/server';
import { describeInBrowser, screenshot } from '../support/browser';
import { TEST_ADMIN } from '../support/server';
import { expectText, field, signInThroughUi, startBrowserSuite } from './ui';

const PASSWORD = 'kartoteka-demo';
const TATIANA = { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко' };
const NATALIA = { login: 'nvakulenko', fullName: 'Наталья Вакуленко' };
const LIBRARY = 'Корреспонденты и контакты';
const FOLDER = 'Корреспонденты';

/** One administrator session builds the scenario step by step; the tests run in order. */
describeInBrowser("administrator's console: the Кассиопея scenario (browser)", function () {
  this.timeout(120_000);
  let server: RunningServer;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;

  before(async () => {
    ({ server, browser } = await startBrowserSuite());
    admin = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await admin.newPage();
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function createUser(user: { login: string; fullName: string }): Promise<void> {
    await page.getByTestId('new-user').click();
    const dialog = page.getByTestId('user-dialog');
    await field(dialog, 'login').fill(user.login);
    await field(dialog, 'fullName').fill(user.fullName);
    await field(dialog, 'password').fill(PASSWORD);
    await dialog.getByTestId('user-save').click();
    await page.getByTestId(`user-${user.login}`).waitFor();
  }

  it('creates the department «Кассиопея» with Татьяна Гончаренко and Наталья Вакуленко', async () => {
    await page.getByTestId('nav-admin').click();
    await page.waitForURL(`${server.url}/admin/people`);
    await page.getByTestId('new-department').click();
    const dialog = page.getByTestId('department-dialog');
    await dialog.getByTestId('department-save').click();
    await expectText(page, 'error-name', 'Обязательное поле');
    // The refused field takes the focus, not «Сохранить»; Escape gives it back to «Новое подразделение».
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-invalid') === 'true');
    expect(await field(dialog, 'name').evaluate((input) => input === document.activeElement)).to.equal(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-test'))).to.equal('new-department');
    await page.getByTestId('new-department').click();
    await field(dialog, 'name').fill('Кассиопея');
    await dialog.getByTestId('department-save').click();
    await page.getByTestId('department-Кассиопея').waitFor();
    await screenshot(page, 'admin-1-department');

    await createUser(TATIANA);
    await createUser(NATALIA);
    expect(await page.getByTestId(`user-${TATIANA.login}`).textContent()).to.contain(TATIANA.fullName);
    await screenshot(page, 'admin-2-users');
  });

  it('marks the required user fields and shows a taken login at the login field', async () => {
    await page.getByTestId('new-user').click();
    const dialog = page.getByTestId('user-dialog');
    await dialog.getByTestId('user-save').click();
    await expectText(page, 'error-login', 'Обязательное поле');
    await expectText(page, 'error-fullName', 'Обязательное поле');
    await expectText(page, 'error-password', 'Обязательное поле');
    await field(dialog, 'login').fill(TATIANA.login);
    await field(dialog, 'fullName').fill('Татьяна Другая');
    await field(dialog, 'password').fill(PASSWORD);
    await dialog.getByTestId('user-save').click();
    await expectText(page, 'error-login', `Логин «${TATIANA.login}» уже занят`);
    await screenshot(page, 'admin-3-login-taken');
    await dialog.getByRole('button', { name: 'Отмена' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('creates the library «Корреспонденты и контакты» with the folder «Корреспонденты»', async () => {
    await page.getByTestId('admin-tab-libraries').click();
    const newLibrary = page.getByTestId('new-library');
    await newLibrary.locator('input').fill(LIBRARY);
    await newLibrary.getByRole('button').click();
    await page.getByTestId(`admin-library-${LIBRARY}`).waitFor();
    const newFolder = page.getByTestId('new-folder');
    await newFolder.locator('input').fill(FOLDER);
    await newFolder.getByRole('button').click();
    await page.getByTestId(`admin-folder-${FOLDER}`).waitFor();
    await page.getByTestId('folder-form').waitFor();
    await screenshot(page, 'admin-4-library-and-folder');
  });

  it('gives Татьяна and Наталья «Полный доступ» on «Корреспонденты»', async () => {
    const access = page.getByTestId('access-editor');
    for (const user of [TATIANA, NATALIA]) {
      await access.getByTestId('user-search').fill(user.fullName.split(' ')[0]);
      await access.getByTestId(`user-option-${user.fullName}`).click();
      await access.getByTestId('new-entry-level').selectOption('full');
      await access.getByTestId('access-add-submit').click();
      await access.getByTestId(`entry-${user.fullName}`).waitFor();
    }
    const effective = access.getByTestId(`effective-${TATIANA.fullName}`);
    await effective.waitFor();
    expect(await effective.getByTestId('effective-level').textContent()).to.equal('Полный доступ');
    expect(await access.getByTestId(`effective-${NATALIA.fullName}`).getByTestId('effective-level').textContent()).to.equal('Полный доступ');
    await screenshot(page, 'admin-5-folder-access');
  });

  it('adds Наталья to «Операторы чтения истории», a system group that cannot be renamed', async () => {
    await page.getByTestId('admin-tab-groups').click();
    await page.getByTestId('group-Операторы чтения истории').click();
    await page.getByTestId('system-group').waitFor();
    expect(await page.getByTestId('rename-group').count()).to.equal(0);
    await page.getByTestId('group-details').getByTestId('user-search').fill('Наталья');
    await page.getByTestId(`user-option-${NATALIA.fullName}`).click();
    await page.getByTestId(`member-${NATALIA.fullName}`).waitFor();
    await screenshot(page, 'admin-6-history-readers');
  });

  it('Татьяна, in a second browser, sees «Корреспонденты» in her tree with full access', async () => {
    const tatiana = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const her = await tatiana.newPage();
      await signInThroughUi(her, server.url, TATIANA.login, PASSWORD);
      await expectText(her, 'current-user', new RegExp(TATIANA.fullName));
      expect(await her.getByTestId('nav-admin').count()).to.equal(0);
      await her.getByTestId(`library-${LIBRARY}`).waitFor();
      await her.getByTestId(`folder-${FOLDER}`).click();
      await expectText(her, 'folder-name', FOLDER);
      await expectText(her, 'my-access', 'Ваш доступ: Полный доступ');
      await her.getByTestId('cards-empty').waitFor();
      await screenshot(her, 'admin-7-tatiana-folder');
      await her.getByTestId('tab-access').click();
      await her.getByTestId(`entry-${NATALIA.fullName}`).waitFor();
      await screenshot(her, 'admin-8-tatiana-folder-access');
    } finally {
      await tatiana.close();
    }
  });
});
