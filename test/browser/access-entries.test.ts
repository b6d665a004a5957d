import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { describeInBrowser, screenshot } from '../support/browser';
import { createDepartment, createFolder, createLibrary, createUser } from '../support/fixtures';
import { signedIn, TEST_ADMIN } from '../support/server';
import { signInThroughUi, startBrowserSuite } from './ui';

const PASSWORD = 'secret-password-1';
const TATIANA = 'Татьяна Гончаренко';
const NATALIA = 'Наталья Вакуленко';

type Entry = { principalId: string; level: string };

/** Issue 14, «API»: two administrators editing one folder's access at once both keep their change. */
describeInBrowser('folder access one entry at a time, from the console (browser)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let other: ApiClient;
  const ids: Record<string, string> = {};

  const entries = async () =>
    Object.fromEntries(
      (
        await other.data<{ folder: { accessEntries: Entry[] } }>('query($id: ID!) { folder(id: $id) { accessEntries { principalId level } } }', { id: ids.folder })
      ).folder.accessEntries.map((entry) => [entry.principalId, entry.level]),
    );

  before(async () => {
    ({ server, browser } = await startBrowserSuite());
    other = await signedIn(server);
    const department = await createDepartment(other, 'Кассиопея');
    ids.tatiana = await createUser(other, { login: 'tgoncharenko', fullName: TATIANA, password: PASSWORD, departmentId: department });
    ids.natalia = await createUser(other, { login: 'nvakulenko', fullName: NATALIA, password: PASSWORD, departmentId: department });
    const library = await createLibrary(other, 'Договоры');
    ids.folder = await createFolder(other, { libraryId: library, name: 'Договоры 2026' });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('an entry added in the console while another administrator added one keeps both; a removal removes only its own', async () => {
    await page.getByTestId('nav-admin').click();
    await page.getByTestId('admin-tab-libraries').click();
    await page.getByTestId('admin-library-Договоры').click();
    await page.getByTestId('admin-folder-Договоры 2026').click();
    const access = page.getByTestId('access-editor');
    await access.getByTestId('access-entries').waitFor();

    // The page was loaded before the other administrator's change and does not show it yet.
    await other.data('mutation($id: ID!, $e: AccessEntryInput!) { grantFolderAccess(id: $id, entry: $e) { id } }', {
      id: ids.folder,
      e: { principalType: 'user', principalId: ids.natalia, level: 'read' },
    });
    expect(await access.getByTestId(`entry-${NATALIA}`).count()).to.equal(0);

    await access.getByTestId('user-search').fill('Татьяна');
    await access.getByTestId(`user-option-${TATIANA}`).click();
    await access.getByTestId('new-entry-level').selectOption('edit');
    await access.getByTestId('access-add-submit').click();
    await access.getByTestId(`entry-${TATIANA}`).waitFor();
    await access.getByTestId(`entry-${NATALIA}`).waitFor();
    expect(await entries()).to.deep.equal({ [ids.natalia]: 'read', [ids.tatiana]: 'edit' });
    await screenshot(page, 'access-1-both-entries');

    // Meanwhile the other administrator raises Наталья; removing Татьяна in the console leaves that alone.
    await other.data('mutation($id: ID!, $e: AccessEntryInput!) { grantFolderAccess(id: $id, entry: $e) { id } }', {
      id: ids.folder,
      e: { principalType: 'user', principalId: ids.natalia, level: 'full' },
    });
    await access.getByTestId(`entry-${TATIANA}`).getByTestId('entry-remove').click();
    await page.waitForFunction((name) => !document.querySelector(`[data-test="entry-${name}"]`), TATIANA);
    expect(await entries()).to.deep.equal({ [ids.natalia]: 'full' });
    expect(await access.getByTestId(`entry-${NATALIA}`).getByTestId('entry-level').inputValue()).to.equal('full');
  });
});
