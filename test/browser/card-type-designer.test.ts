import { expect } from 'chai';
import type { Browser, Locator, Page } from 'playwright-core';
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { describeInBrowser, launchChromium, screenshot } from '../support/browser';
import { signedIn, startTestServer, TEST_ADMIN } from '../support/server';
import { expectText, field, signInThroughUi, useDataTestAttribute } from './ui';

const PASSWORD = 'secret-password-1';
const USER = { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко' };
const COUNTERPARTY = 'ООО «Альфа»';
const row = (title: string) => `[data-test="card-row"][data-title="${title}"]`;

/** The administrator designs «Техническое задание» in the console; a colleague then uses it. The tests run in order. */
describeInBrowser('card type designer: «Техническое задание» (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let api: ApiClient;
  let browser: Browser;
  let page: Page;
  const ids: Record<string, string> = {};

  const createCard = async (folderId: string, typeKey: string, values: Record<string, unknown>) =>
    (await api.data<{ createCard: { id: string } }>('mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }', { f: folderId, t: typeKey, v: values }))
      .createCard.id;
  const definitionOf = async (key: string) =>
    (await api.data<{ cardType: { historyEnabled: boolean; fields: { key: string; required: boolean; hidden: boolean }[] } }>('query($k: ID!) { cardType(key: $k) { historyEnabled fields { key required hidden } } }', { k: key }))
      .cardType;

  before(async () => {
    useDataTestAttribute();
    await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
    server = await startTestServer();
    api = await signedIn(server);
    const department = (await api.data<{ createDepartment: { id: string } }>('mutation { createDepartment(input: { name: "Кассиопея" }) { id } }')).createDepartment.id;
    ids.user = (await api.data<{ createUser: { id: string } }>('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { ...USER, password: PASSWORD, departmentId: department },
    })).createUser.id;
    const library = (await api.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Корреспонденты и контакты") { id } }')).createLibrary.id;
    ids.counterparties = (await api.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', {
      input: { libraryId: library, name: 'Корреспонденты', allowedCardTypes: ['counterparty'] },
    })).createFolder.id;
    await api.data('mutation($id: ID!, $e: [AccessEntryInput!]!) { setFolderAccess(id: $id, entries: $e) { id } }', {
      id: ids.counterparties,
      e: [{ principalType: 'user', principalId: ids.user, level: 'read' }],
    });
    ids.alpha = await createCard(ids.counterparties, 'counterparty', { name: COUNTERPARTY });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const editor = (index: number): Locator => page.getByTestId(`field-editor-${index}`);
  const typeForm = (): Locator => page.getByTestId('type-form');

  it('defines «Техническое задание» with a required «Название» and a reference to «Контрагент»', async () => {
    await page.getByTestId('nav-admin').click();
    await page.getByTestId('admin-tab-card-types').click();
    await page.getByTestId('card-type-counterparty').waitFor();
    await screenshot(page, 'designer-1-types');
    await page.getByTestId('new-card-type').click();
    await page.waitForURL(`${server.url}/admin/card-types/new`);

    // Nothing filled in: every problem is shown at its input in the server's words (the kernel's
    // check runs in the browser), nothing reaches the server.
    await page.getByTestId('save-type').click();
    await expectText(page, 'form-error', 'Исправьте отмеченные поля');
    expect(await typeForm().getByTestId('error-key').first().textContent()).to.contain('contact-person');
    await expectText(page, 'error-names-ru', 'Заполните');
    await expectText(page, 'error-titleTemplate', 'Заполните');
    expect(await editor(0).getByTestId('error-key').textContent()).to.contain('legalAddress');
    await screenshot(page, 'designer-2-errors');

    await field(typeForm(), 'key').fill('tech-spec');
    await field(page, 'names-ru').fill('Техническое задание');
    await field(page, 'names-en').fill('Technical specification');
    await field(page, 'titleTemplate').fill('{title}');
    await expectText(page, 'error-titleTemplate', 'В шаблоне неизвестное поле «title»');
    await field(editor(0), 'key').fill('title');
    await field(editor(0), 'label-ru').fill('Название');
    await field(editor(0), 'label-en').fill('Title');
    await editor(0).getByTestId('field-required').locator('input').check();

    await page.getByTestId('add-field').click();
    await field(editor(1), 'key').fill('counterparty');
    await field(editor(1), 'kind').selectOption('reference');
    await field(editor(1), 'label-ru').fill('Контрагент');
    await field(editor(1), 'label-en').fill('Counterparty');
    await expectText(page, 'error-targets', 'Укажите, на карточки каких типов ссылается поле');
    await editor(1).getByTestId('target-counterparty').locator('input').check();

    // The live preview is the workspace's own form; the title example follows what is typed there.
    const preview = page.getByTestId('form-preview');
    expect(await preview.getByTestId('field-title').getAttribute('class')).to.contain('ws-field--required');
    await preview.getByTestId('field-counterparty').waitFor();
    await expectText(page, 'title-example', 'Название');
    await preview.getByTestId('input-title').fill('Портал заказов');
    await expectText(page, 'title-example', 'Портал заказов');
    await screenshot(page, 'designer-3-filled');

    await page.getByTestId('save-type').click();
    await page.waitForURL(`${server.url}/admin/card-types/tech-spec`);
    await page.getByTestId('type-saved').waitFor();
    const saved = await definitionOf('tech-spec');
    expect(saved.fields.map((f) => [f.key, f.required === true])).to.deep.equal([['title', true], ['counterparty', false]]);
    await screenshot(page, 'designer-4-saved');
  });

  it('a library «Проекты» gets a folder «ТЗ» for the new type (through the API)', async () => {
    const library = (await api.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Проекты") { id } }')).createLibrary.id;
    ids.specs = (await api.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', {
      input: { libraryId: library, name: 'ТЗ', allowedCardTypes: ['tech-spec'] },
    })).createFolder.id;
    await api.data('mutation($id: ID!, $e: [AccessEntryInput!]!) { setFolderAccess(id: $id, entries: $e) { id } }', {
      id: ids.specs,
      e: [{ principalType: 'user', principalId: ids.user, level: 'full' }],
    });
  });

  it('turns history on for «Контрагент» at once', async () => {
    await page.getByTestId('back-to-types').click();
    await page.getByTestId('card-type-counterparty').getByTestId('card-type-link').click();
    await page.waitForURL(`${server.url}/admin/card-types/counterparty`);
    const toggle = page.getByTestId('history-toggle').locator('input');
    expect(await toggle.isChecked()).to.equal(false);
    await toggle.check();
    await page.waitForFunction(() => !document.querySelector('[data-test="history-toggle"] input')?.hasAttribute('disabled'));
    expect((await definitionOf('counterparty')).historyEnabled).to.equal(true);
    await page.getByTestId('back-to-types').click();
    await expectText(page, 'card-type-counterparty', /ведётся/);
    await screenshot(page, 'designer-5-history-on');
  });

  it('making «Контрагент» required while a card has none shows the dry run and changes nothing', async () => {
    const empty = await createCard(ids.specs, 'tech-spec', { title: 'Без контрагента' });
    await createCard(ids.specs, 'tech-spec', { title: 'С контрагентом', counterparty: ids.alpha });
    await page.getByTestId('card-type-tech-spec').getByTestId('card-type-link').click();
    await editor(1).getByTestId('field-required').locator('input').check();
    await page.getByTestId('save-type').click();
    const report = page.getByTestId('change-report');
    await report.waitFor();
    expect(await report.getByTestId('report-counterparty').textContent()).to.contain('Контрагент');
    expect(await report.getByTestId('report-missing').textContent()).to.contain(empty);
    expect(await page.getByTestId('type-saved').count()).to.equal(0);
    expect((await definitionOf('tech-spec')).fields.find((f) => f.key === 'counterparty')?.required).to.not.equal(true);
    await report.scrollIntoViewIfNeeded();
    await screenshot(page, 'designer-6-dry-run-report');
  });

  it('a removed field is hidden, keeps its values and comes back', async () => {
    await page.reload();
    await page.getByTestId('field-editor-1').waitFor();
    await editor(1).getByTestId('field-remove').click();
    await page.getByTestId('hidden-counterparty').waitFor();
    expect(await page.getByTestId('form-preview').getByTestId('field-counterparty').count()).to.equal(0);
    await page.getByTestId('save-type').click();
    await page.getByTestId('type-saved').waitFor();
    expect((await definitionOf('tech-spec')).fields.find((f) => f.key === 'counterparty')).to.include({ hidden: true });
    await screenshot(page, 'designer-7-field-hidden');
    await page.getByTestId('hidden-counterparty').getByTestId('restore-field').click();
    await page.getByTestId('save-type').click();
    await page.getByTestId('type-saved').waitFor();
    expect((await definitionOf('tech-spec')).fields.find((f) => f.key === 'counterparty')).to.not.include({ hidden: true });
    await page.getByTestId('form-preview').getByTestId('field-counterparty').waitFor();
  });

  it('Татьяна creates a «Техническое задание» referencing «ООО «Альфа»» in «ТЗ» and sees it in the list', async () => {
    const colleague = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await signInThroughUi(colleague, server.url, USER.login, PASSWORD);
    await colleague.getByTestId('folder-ТЗ').click();
    await colleague.getByTestId('card-grid').waitFor();
    // «ТЗ» allows one type, so «Создать» opens its form at once.
    await colleague.getByTestId('create').click();
    await colleague.getByTestId('card-form').waitFor();
    await colleague.getByTestId('save').click();
    await expectText(colleague, 'error-title', 'Обязательное поле');
    await colleague.getByTestId('input-title').fill('Интеграция с 1С');
    await colleague.getByTestId('input-counterparty').fill('Альфа');
    await colleague.getByTestId(`pick-${COUNTERPARTY}`).click();
    await colleague.getByTestId('picked-counterparty').filter({ hasText: COUNTERPARTY }).waitFor();
    await screenshot(colleague, 'designer-8-colleague-form');
    await colleague.getByTestId('save').click();
    await colleague.getByTestId('card-title').filter({ hasText: 'Интеграция с 1С' }).waitFor();
    await colleague.getByTestId('back').click();
    await colleague.locator(row('Интеграция с 1С')).waitFor();
    await screenshot(colleague, 'designer-9-colleague-list');
  });
});
