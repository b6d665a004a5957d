import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../../server/src/server';
import { describeInBrowser, screenshot } from '../support/browser';
import { signedIn, TEST_ADMIN } from '../support/server';
import { expectText, signInThroughUi, startBrowserSuite } from './ui';

const CLERK = { login: 'iorlov', fullName: 'Игорь Орлов', password: 'orlov-password-1' };

describeInBrowser('sign-in and the guarded console (browser)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    ({ server, browser } = await startBrowserSuite());
    const admin = await signedIn(server);
    const { createDepartment } = await admin.data<{ createDepartment: { id: string } }>('mutation { createDepartment(input: { name: "Отдел продаж" }) { id } }');
    await admin.data('mutation CreateUser($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { login: CLERK.login, fullName: CLERK.fullName, password: CLERK.password, departmentId: createDepartment.id },
    });
  });
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
  });
  afterEach(async () => {
    await context?.close();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('refuses a wrong password with a clear message, then signs in and returns to the page asked for', async () => {
    await page.goto(`${server.url}/admin`);
    await page.waitForURL((url) => url.pathname === '/signin' && url.searchParams.get('redirect') === '/admin/people');
    await page.getByTestId('signin-submit').click();
    await expectText(page, 'error-login', 'Обязательное поле');
    await page.getByTestId('signin-login').fill(TEST_ADMIN.login);
    await page.getByTestId('signin-password').fill('not-the-password');
    await page.getByTestId('signin-submit').click();
    await expectText(page, 'signin-error', 'Неверный логин или пароль.');
    await screenshot(page, 'sign-in-wrong-password');

    await page.getByTestId('signin-password').fill(TEST_ADMIN.password);
    await page.getByTestId('signin-submit').click();
    await page.waitForURL(`${server.url}/admin/people`);
    await expectText(page, 'admin-title', 'Администрирование');
    expect(await page.getByTestId('current-user').textContent()).to.not.equal('Вход не выполнен');
    await screenshot(page, 'sign-in-success-admin-console');
  });

  it('signs out from the user menu', async () => {
    await signInThroughUi(page, server.url, CLERK.login, CLERK.password);
    await expectText(page, 'current-user', /Игорь Орлов/);
    await page.getByTestId('current-user').click();
    await page.getByTestId('menu-sign-out').click();
    await page.waitForURL(`${server.url}/signin`);
    await expectText(page, 'current-user', 'Вход не выполнен');
  });

  it('shows «Нет доступа» to a non-administrator who types the console address', async () => {
    await signInThroughUi(page, server.url, CLERK.login, CLERK.password);
    expect(await page.getByTestId('nav-admin').count()).to.equal(0);
    await page.goto(`${server.url}/admin/people`);
    await expectText(page, 'no-access', 'Нет доступа');
    expect(page.url()).to.equal(`${server.url}/admin/people`);
    expect(await page.getByTestId('admin-title').count()).to.equal(0);
    await screenshot(page, 'admin-no-access');
  });
});
