import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { describeInBrowser } from '../support/browser';
import { createDepartment, createUser } from '../support/fixtures';
import { signedIn, TEST_ADMIN } from '../support/server';
import { waitFor } from '../support/wait';
import { signInThroughUi, startBrowserSuite } from './ui';

/**
 * A first-time administrator at 1280×800 (issue 14, items 10, 12, 13, 14): the empty home page
 * leads to the console; deleting a department, library or folder asks first, naming it and what
 * is inside (and says when it cannot be deleted); the user row's actions stay on the page; the
 * audit log names people and targets, with links, the ids on hover; the folder form ticks card types
 * by name; console forms and tabs expose required, messages and the arrow keys.
 */
describeInBrowser('console for a first-time administrator: the way in, confirmations, user actions (browser)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let admin: ApiClient;

  before(async () => {
    ({ server, browser } = await startBrowserSuite());
    admin = await signedIn(server);
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
  });

  const confirm = () => page.getByTestId('confirm-dialog');
  async function createThroughForm(testId: string, name: string): Promise<void> {
    const form = page.getByTestId(testId);
    await form.locator('input').fill(name);
    await form.getByRole('button').click();
  }

  it('with no libraries yet, the home page offers «Создайте библиотеку», which opens the console', async () => {
    await page.getByTestId('tree-empty').waitFor();
    expect(await page.getByTestId('home-pick-folder').count()).to.equal(0);
    expect(await page.getByTestId('home-first-library').textContent()).to.contain('библиотек пока нет');
    await page.getByTestId('home-create-library').click();
    await page.waitForURL(`${server.url}/admin/libraries`);
    await page.getByTestId('new-library').waitFor();
  });

  it('deleting a library that holds a folder names both and cannot go ahead; the library stays', async () => {
    await createThroughForm('new-library', 'Библиотека 12');
    await page.getByTestId('admin-library-Библиотека 12').waitFor();
    await createThroughForm('new-folder', 'Папка 12');
    await page.getByTestId('admin-folder-Папка 12').waitFor();
    await page.getByTestId('admin-library-Библиотека 12').click();
    await page.getByTestId('delete-library').click();
    await page.getByRole('dialog', { name: 'Удалить библиотеку «Библиотека 12»?' }).waitFor();
    expect(await confirm().getByTestId('confirm-contents').textContent()).to.contain('Папок в ней: 1');
    expect(await confirm().getByTestId('confirm-blocked').textContent()).to.contain('Удалить нельзя');
    expect(await confirm().getByTestId('confirm-delete').count()).to.equal(0);
    await confirm().getByTestId('confirm-cancel').click();
    await confirm().waitFor({ state: 'detached' });
    expect(await page.getByTestId('admin-library-Библиотека 12').count()).to.equal(1);
  });

  it('deleting an empty folder asks first: «Отмена» keeps it, «Удалить» deletes it', async () => {
    await page.getByTestId('admin-folder-Папка 12').click();
    await page.getByTestId('delete-folder').click();
    await page.getByRole('dialog', { name: 'Удалить папку «Папка 12»?' }).waitFor();
    expect(await confirm().getByTestId('confirm-contents').textContent()).to.contain('Внутри ничего нет');
    // The safe choice has the focus: Enter does not delete.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-test'))).to.equal('confirm-cancel');
    await page.keyboard.press('Escape');
    await confirm().waitFor({ state: 'detached' });
    expect(await page.getByTestId('admin-folder-Папка 12').count()).to.equal(1);
    await page.getByTestId('delete-folder').click();
    await confirm().getByTestId('confirm-delete').click();
    await page.getByTestId('admin-folder-Папка 12').waitFor({ state: 'detached' });
    const left = await admin.data<{ libraries: { name: string; folders: { name: string }[] }[] }>('query { libraries { name folders { name } } }');
    expect(left.libraries.find((library) => library.name === 'Библиотека 12')?.folders).to.deep.equal([]);
  });

  it('deleting a folder that holds cards says how many and cannot go ahead', async () => {
    const folders = await admin.data<{ libraries: { id: string; name: string }[] }>('query { libraries { id name } }');
    const libraryId = folders.libraries.find((library) => library.name === 'Библиотека 12')!.id;
    const { createFolder } = await admin.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', {
      input: { libraryId, name: 'Папка с карточками' },
    });
    for (const name of ['ООО «Один»', 'ООО «Два»']) {
      await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: createFolder.id, v: { name } });
    }
    await page.reload();
    await page.getByTestId('admin-folder-Папка с карточками').click();
    await page.getByTestId('delete-folder').click();
    await page.getByRole('dialog', { name: 'Удалить папку «Папка с карточками»?' }).waitFor();
    expect(await confirm().getByTestId('confirm-contents').textContent()).to.contain('Карточек в ней (кроме корзины): 2');
    expect(await confirm().getByTestId('confirm-delete').count()).to.equal(0);
    await confirm().getByTestId('confirm-cancel').click();
  });

  it('deleting a department names its users; an empty one is deleted after «Удалить»', async () => {
    const departmentId = await createDepartment(admin, 'Отдел 12');
    await createUser(admin, { login: 'user12', fullName: 'Пользователь Двенадцатый', password: 'secret-password-12', departmentId });
    await createDepartment(admin, 'Пустой отдел 12');
    await page.getByTestId('admin-tab-people').click();
    await page.getByTestId('department-Отдел 12').click();
    await page.getByTestId('user-user12').waitFor();
    await page.getByTestId('delete-department').click();
    await page.getByRole('dialog', { name: 'Удалить подразделение «Отдел 12»?' }).waitFor();
    expect(await confirm().getByTestId('confirm-contents').textContent()).to.contain('Пользователей в нём: 1');
    expect(await confirm().getByTestId('confirm-delete').count()).to.equal(0);
    await confirm().getByTestId('confirm-cancel').click();
    await page.getByTestId('department-Пустой отдел 12').click();
    await page.getByTestId('delete-department').click();
    expect(await confirm().getByTestId('confirm-contents').textContent()).to.contain('Внутри ничего нет');
    await confirm().getByTestId('confirm-delete').click();
    await page.getByTestId('department-Пустой отдел 12').waitFor({ state: 'detached' });
    expect(await page.getByTestId('department-Отдел 12').count()).to.equal(1);
  });

  it('at 1280 px every action of a user row, «Сбросить пароль» included, is on the page and can be clicked', async () => {
    await page.getByTestId('department-Отдел 12').click();
    const row = page.getByTestId('user-user12');
    await row.waitFor();
    for (const action of ['edit-user', 'toggle-active', 'reset-password']) {
      const button = row.getByTestId(action);
      const box = (await button.boundingBox())!;
      expect(box.x + box.width, action).to.be.at.most(1280);
      // Nothing covers or clips it: the element at its centre is the button itself.
      expect(
        await button.evaluate((element) => {
          const rect = element.getBoundingClientRect();
          return element.contains(document.elementFromPoint(rect.x + rect.width / 2, rect.y + rect.height / 2));
        }),
        action,
      ).to.equal(true);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(1280);
    await row.getByTestId('reset-password').click();
    await page.getByTestId('reset-password-save').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('reset-password-dialog').waitFor({ state: 'detached' });
  });

  it('the audit log names who did what to which, with links; the ids show on hover', async () => {
    const { viewer } = await admin.data<{ viewer: { user: { id: string; fullName: string } } }>('query { viewer { user { id fullName } } }');
    const departments = await admin.data<{ departments: { id: string; name: string }[] }>('query { departments { id name } }');
    const department = departments.departments.find((d) => d.name === 'Отдел 12')!;
    await page.getByTestId('admin-tab-audit').click();
    const created = page
      .getByTestId('audit-row')
      .filter({ hasText: 'Создано подразделение' })
      .filter({ has: page.getByTestId('audit-target').filter({ hasText: /^Отдел 12$/ }) });
    await created.waitFor();
    // No raw ids in the text.
    expect(await created.textContent()).to.not.contain(department.id);
    const actor = created.getByTestId('audit-actor');
    expect(await actor.textContent()).to.equal(viewer.user.fullName);
    expect(await actor.getAttribute('title')).to.equal(TEST_ADMIN.login);
    const target = created.getByTestId('audit-target');
    expect(await target.textContent()).to.equal('Отдел 12');
    expect(await target.getAttribute('title')).to.equal(`Подразделение ${department.id}`);
    // A deleted department keeps its name, without a link.
    const deleted = page.getByTestId('audit-row').filter({ hasText: 'Удалено подразделение' }).first();
    expect(await deleted.getByTestId('audit-target').textContent()).to.equal('Пустой отдел 12');
    expect(await deleted.locator('a[data-test="audit-target"]').count()).to.equal(0);
    // The user created is linked to their department's page, where their row is.
    const userRow = page.getByTestId('audit-row').filter({ hasText: 'Пользователь Двенадцатый' }).first();
    await userRow.getByTestId('audit-target').click();
    await page.waitForURL((url) => url.pathname === '/admin/people');
    await page.getByTestId('user-user12').waitFor();
    await page.getByTestId('admin-tab-audit').click();
    await created.getByTestId('audit-target').click();
    await page.getByTestId('user-user12').waitFor();
    expect(await page.getByTestId('department-users').locator('h2').first().textContent()).to.equal('Отдел 12');
  });

  it('a folder takes card types ticked by name; the default is one of them; after a reload no raw key shows', async () => {
    await page.getByTestId('admin-tab-libraries').click();
    await page.getByTestId('admin-folder-Папка с карточками').click();
    const types = page.getByTestId('field-allowedCardTypes');
    await types.getByRole('checkbox', { name: 'Контрагент', exact: true }).check();
    await types.getByRole('checkbox', { name: 'Договор', exact: true }).check();
    expect(await types.locator('input[type="text"]').count()).to.equal(0);
    const select = page.getByTestId('default-type');
    expect(await select.locator('option').allTextContents()).to.have.members(['— не задан —', 'Контрагент', 'Договор']);
    await select.selectOption({ label: 'Договор' });
    await page.getByTestId('folder-save').click();
    const read = async () => {
      const { libraries } = await admin.data<{ libraries: { folders: { name: string; allowedCardTypes: string[]; defaultCardType: string | null }[] }[] }>(
        'query { libraries { folders { name allowedCardTypes defaultCardType } } }',
      );
      return libraries.flatMap((library) => library.folders).find((folder) => folder.name === 'Папка с карточками')!;
    };
    await waitFor(async () => (await read()).defaultCardType === 'contract');
    expect([...(await read()).allowedCardTypes].sort()).to.deep.equal(['contract', 'counterparty']);

    // After a reload, while the type names are on their way, the form shows no key.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/graphql', async (route) => {
      if (route.request().postData()?.includes('query CardTypes')) await held;
      await route.continue();
    });
    await page.reload();
    await page.getByTestId('admin-folder-Папка с карточками').click();
    await page.getByTestId('folder-form').waitFor();
    expect(await page.getByTestId('folder-form').textContent()).to.not.match(/\bcontract\b|\bcounterparty\b/);
    expect(await page.getByTestId('types-loading').count()).to.equal(1);
    release();
    await page.getByTestId('default-type').locator('option:checked').filter({ hasText: 'Договор' }).waitFor({ state: 'attached' });
    expect(await page.getByTestId('field-allowedCardTypes').getByRole('checkbox', { checked: true }).count()).to.equal(2);
    await page.unroute('**/graphql');
  });

  it('console forms and tabs speak to assistive technology: required and the message link to the field, tabs answer ←/→', async () => {
    await page.goto(`${server.url}/admin/people`);
    await page.getByTestId('new-department').click();
    const dialog = page.getByRole('dialog', { name: 'Новое подразделение' });
    await dialog.getByTestId('department-save').click();
    await dialog.getByTestId('error-name').waitFor();
    const name = dialog.getByRole('textbox', { name: 'Название', exact: true });
    expect(await name.getAttribute('aria-required')).to.equal('true');
    expect(await name.getAttribute('aria-invalid')).to.equal('true');
    const describedBy = await name.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).to.equal('Обязательное поле');
    // The message is not part of the label (a screen reader reads it once, as the description).
    expect(await dialog.getByTestId('field-name').locator('label').textContent()).to.not.contain('Обязательное поле');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    const people = page.getByTestId('admin-tab-people');
    expect(await people.getAttribute('aria-selected')).to.equal('true');
    await people.focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForURL((url) => url.pathname === '/admin/groups');
    expect(await page.getByTestId('admin-tab-groups').getAttribute('aria-selected')).to.equal('true');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-test'))).to.equal('admin-tab-groups');
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL((url) => url.pathname === '/admin/people');
  });

  it('a folder made the ordinary way (no type ticked: any type) offers «Создать» with every type, and a card is saved in it', async () => {
    await page.goto(`${server.url}/admin/libraries`);
    await createThroughForm('new-library', 'Клиенты 12');
    await page.getByTestId('admin-library-Клиенты 12').waitFor();
    await createThroughForm('new-folder', 'Москва 12');
    await page.getByTestId('admin-folder-Москва 12').waitFor();
    const made = await admin.data<{ libraries: { name: string; folders: { id: string; name: string; allowedCardTypes: string[] }[] }[] }>(
      'query { libraries { name folders { id name allowedCardTypes } } }',
    );
    const folder = made.libraries.find((library) => library.name === 'Клиенты 12')!.folders[0];
    expect(folder.allowedCardTypes).to.deep.equal([]);
    await page.goto(`${server.url}/folders/${folder.id}`);
    // Its list shows the title, the type and the time, not every type's fields.
    await page.locator('[data-test="card-list"] [role="columnheader"]').first().waitFor();
    const headers = await page.locator('[data-test="card-list"] [role="columnheader"]').evaluateAll((heads) => heads.map((head) => head.getAttribute('data-column')));
    expect(headers.filter((key) => key !== null)).to.deep.equal(['title', 'typeKey', 'updatedAt']);
    await page.getByTestId('create').click();
    const offered = await page.getByRole('menuitem').allTextContents();
    expect(offered.map((name) => name.trim())).to.include.members(['Контрагент', 'Контактное лицо', 'Коммерческое предложение', 'Договор']);
    // The menu answers the keyboard: the first item has the focus, ↓ moves on, Escape gives the focus back to «Создать».
    const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
    await page.waitForFunction(() => document.activeElement?.getAttribute('role') === 'menuitem');
    expect(await focused()).to.equal(offered[0].trim());
    await page.keyboard.press('ArrowDown');
    expect(await focused()).to.equal(offered[1].trim());
    await page.keyboard.press('End');
    expect(await focused()).to.equal(offered.at(-1)!.trim());
    await page.keyboard.press('Escape');
    await page.getByRole('menu').waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-test'))).to.equal('create');
    await page.keyboard.press('Enter');
    await page.getByTestId('create-counterparty').click();
    await page.getByTestId('input-name').fill('ООО «Первая»');
    await page.getByTestId('save').click();
    await page.getByTestId('card-title').filter({ hasText: 'ООО «Первая»' }).waitFor();
    const saved = await admin.data<{ cards: { edges: { node: { title: string } }[] } }>('query($id: ID!) { cards(folderId: $id) { edges { node { title } } } }', { id: folder.id });
    expect(saved.cards.edges.map((edge) => edge.node.title)).to.deep.equal(['ООО «Первая»']);
  });
});
