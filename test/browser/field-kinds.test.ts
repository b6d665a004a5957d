import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { fieldKinds, type FieldDefinition } from '../../card-types';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { describeInBrowser, screenshot } from '../support/browser';
import { createDepartment, createFolder, createLibrary, createUser, setFolderAccess } from '../support/fixtures';
import { PNG_1PX, uploadFile } from '../support/files';
import { signedIn } from '../support/server';
import { signInThroughUi, startBrowserSuite } from './ui';

const PASSWORD = 'secret-password-1';
const TYPE = 'all-kinds';
const label = (text: string) => ({ ru: text, en: text });
const row = (title: string) => `[data-test="card-row"][data-title="${title}"]`;

/** One listed field of every registered kind (the settings a kind needs, and nothing else). */
function everyKind(): FieldDefinition[] {
  const needs: Record<string, Partial<FieldDefinition>> = {
    enum: {
      options: [
        { value: 'a', label: label('Вариант А') },
        { value: 'b', label: label('Вариант Б') },
      ],
    },
    reference: { targets: [TYPE] },
  };
  return fieldKinds().map((kind) => ({
    key: `f${kind.key[0]!.toUpperCase()}${kind.key.slice(1)}`,
    kind: kind.key,
    label: label(kind.labels.ru),
    listed: true,
    ...needs[kind.key],
  }));
}

/**
 * Every built-in field kind drawn by its client component, from the kernel's registry: its input in
 * the card form, its display on the card page and in the list, its filter in the list's header.
 * Then «Оценка» in use: stars clicked, shown and filtered by «not less than»; and a single reference
 * stored as one id.
 */
describeInBrowser('field kinds: input, display and filter of every kind (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let api: ApiClient;
  let browser: Browser;
  let page: Page;
  const fields = everyKind();
  const ids: Record<string, string> = {};
  const keyOf = (kind: string) => fields.find((field) => field.kind === kind)!.key;

  const createCard = async (values: Record<string, unknown>) =>
    (
      await api.data<{ createCard: { id: string } }>('mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }', {
        f: ids.folder,
        t: TYPE,
        v: values,
      })
    ).createCard.id;
  const valuesOf = async (id: string) => (await api.data<{ card: { values: Record<string, unknown> } }>('query($id: ID!) { card(id: $id) { values } }', { id })).card.values;

  before(async () => {
    ({ server, browser } = await startBrowserSuite());
    api = await signedIn(server);
    const all = [{ key: 'title', kind: 'string', label: label('Название'), required: true, listed: true }, ...fields];
    await api.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', {
      d: { key: TYPE, names: label('Все виды полей'), fields: all, titleTemplate: '{title}', historyEnabled: false, origin: 'admin' },
    });
    ids.user = await createUser(api, { login: 'kinds', fullName: 'Проверка Видов', password: PASSWORD, departmentId: await createDepartment(api, 'Отдел') });
    ids.folder = await createFolder(api, { libraryId: await createLibrary(api, 'Виды'), name: 'Все виды', allowedCardTypes: [TYPE] });
    await setFolderAccess(api, ids.folder, [{ principalId: ids.user, level: 'full' }]);
    ids.target = await createCard({ title: 'Цель ссылки' });
    const upload = await uploadFile(api, server.url, { folderId: ids.folder, typeKey: TYPE, field: keyOf('file') }, { name: 'образец.png', content: PNG_1PX });
    ids.file = upload.body.file!.id;
    // A sample of every kind: the kind's own example, a card for references, a user for users, an upload for files.
    const sample = Object.fromEntries(
      fields.map((field) => {
        const kind = fieldKinds().find((candidate) => candidate.key === field.kind)!;
        const linked = { card: ids.target, user: ids.user, file: ids.file };
        const value = kind.link ? linked[kind.link.to] : kind.sample(field, 'ru');
        return [field.key, value];
      }),
    );
    ids.sample = await createCard({ title: 'Образец', ...sample });
    page = await (await browser.newContext({ viewport: { width: 1800, height: 1000 } })).newPage();
    await signInThroughUi(page, server.url, 'kinds', PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the list shows a filter and a cell of every kind', async () => {
    await page.getByTestId('folder-Все виды').click();
    // User names arrive in a batch a moment after the rows.
    await page.locator(row('Образец')).locator('[role="gridcell"]', { hasText: 'Проверка Видов' }).waitFor();
    const cells = await page.locator(row('Образец')).locator('[role="gridcell"]').allTextContents();
    for (const field of fields) {
      const filter = page.getByTestId(`filter-${field.key}`);
      expect(await filter.locator('input, select').count(), `filter of ${field.kind}`).to.be.greaterThan(0);
    }
    // Title, one cell per field, updated-at: every field's sample shows as text.
    expect(cells).to.have.length(fields.length + 2);
    for (const [index, field] of fields.entries()) expect(cells[index + 1]!.trim(), `cell of ${field.kind}`).to.not.equal('');
    expect(cells[fields.findIndex((field) => field.kind === 'rating') + 1]).to.equal('★★★★☆');
    expect(cells[fields.findIndex((field) => field.kind === 'reference') + 1]).to.equal('Цель ссылки');
    expect(cells[fields.findIndex((field) => field.kind === 'user') + 1]).to.equal('Проверка Видов');
    await screenshot(page, 'field-kinds-1-list');
  });

  it('the card page displays every kind, and the form has an input of every kind', async () => {
    await page.locator(row('Образец')).getByTestId('card-link').click();
    await page.getByTestId('card-title').filter({ hasText: 'Образец' }).waitFor();
    await page
      .getByTestId(`value-${keyOf('user')}`)
      .filter({ hasText: 'Проверка Видов' })
      .waitFor();
    for (const field of fields) {
      const shown = (await page.getByTestId(`value-${field.key}`).textContent())?.trim();
      expect(shown, `display of ${field.kind}`).to.not.be.oneOf(['', '—', undefined]);
    }
    expect(
      await page
        .getByTestId(`value-${keyOf('email')}`)
        .locator('a')
        .getAttribute('href'),
    ).to.equal('mailto:info@example.com');
    expect(await page.getByTestId(`value-${keyOf('reference')}`).textContent()).to.equal('Цель ссылки');
    expect(await page.getByTestId(`value-${keyOf('user')}`).textContent()).to.equal('Проверка Видов');
    await screenshot(page, 'field-kinds-2-card');
    await page.getByTestId('edit').click();
    for (const field of fields) {
      const input = page.getByTestId(`field-${field.key}`).locator('input, select, textarea, button');
      expect(await input.count(), `input of ${field.kind}`).to.be.greaterThan(0);
    }
    await screenshot(page, 'field-kinds-3-form');
  });

  it('«Оценка»: two stars clicked are saved, shown as stars, and the list filters by «not less than»', async () => {
    const rating = keyOf('rating');
    await page.getByTestId(`input-${rating}`).getByTestId('star-2').click();
    expect(await page.getByTestId(`input-${rating}`).locator('[aria-checked="true"]').getAttribute('data-test')).to.equal('star-2');
    await page.getByTestId('save').click();
    await page.getByTestId(`value-${rating}`).filter({ hasText: '★★☆☆☆' }).waitFor();
    expect((await valuesOf(ids.sample))[rating]).to.equal(2);

    await page.getByTestId('back').click();
    await page.locator(row('Образец')).waitFor();
    await page.getByTestId(`filter-${rating}`).locator('select').selectOption('3');
    await page.getByTestId('cards-empty').waitFor();
    await page.getByTestId(`filter-${rating}`).locator('select').selectOption('2');
    await page.locator(row('Образец')).waitFor();
    expect(await page.locator('[data-test="card-row"]').count()).to.equal(1);
    await screenshot(page, 'field-kinds-4-rating-filter');
  });

  it('a number range filter applies as it is typed, and an unreadable bound is said, not silently ignored', async () => {
    await page.getByTestId('clear-filters').click();
    await page.locator(row('Образец')).waitFor();
    const [from, to] = [0, 1].map((nth) =>
      page
        .getByTestId(`filter-${keyOf('integer')}`)
        .locator('input')
        .nth(nth),
    );
    // «Образец» holds 42: «до 10» typed key by key, with neither Enter nor leaving the box.
    await to.pressSequentially('10', { delay: 50 });
    await page.getByTestId('cards-empty').waitFor();
    await to.fill('');
    await page.locator(row('Образец')).waitFor();
    await from.pressSequentially('abc', { delay: 50 });
    await page
      .getByTestId(`filter-${keyOf('integer')}`)
      .getByTestId('filter-unreadable')
      .filter({ hasText: 'Не удаётся прочитать «abc» — эта граница не учтена' })
      .waitFor();
    expect(await from.getAttribute('aria-invalid')).to.equal('true');
    await page.locator(row('Образец')).waitFor();
    await screenshot(page, 'field-kinds-5-range-filter');
    await from.fill('40');
    expect(
      await page
        .getByTestId(`filter-${keyOf('integer')}`)
        .getByTestId('filter-unreadable')
        .count(),
    ).to.equal(0);
    expect(await from.getAttribute('aria-invalid')).to.equal(null);
    // «от 40 до 41» leaves out 42.
    await to.pressSequentially('41', { delay: 50 });
    await page.getByTestId('cards-empty').waitFor();
  });

  it('a single reference picked in the form is stored as one id, not a list', async () => {
    const reference = keyOf('reference');
    await page.getByTestId('clear-filters').click();
    await page.locator(row('Цель ссылки')).getByTestId('card-link').click();
    await page.getByTestId('card-title').filter({ hasText: 'Цель ссылки' }).waitFor();
    await page.getByTestId('edit').click();
    await page.getByTestId(`input-${reference}`).fill('Образец');
    await page.getByTestId('pick-Образец').click();
    await page.getByTestId('save').click();
    await page.getByTestId(`value-${reference}`).filter({ hasText: 'Образец' }).waitFor();
    expect((await valuesOf(ids.target))[reference]).to.equal(ids.sample);
  });

  it('the form says what is wrong before anything is sent, in the server’s words', async () => {
    const email = keyOf('email');
    await page.getByTestId('edit').click();
    await page.getByTestId(`input-${email}`).fill('не адрес');
    let sent = 0;
    page.on('request', (request) => {
      if (request.url().endsWith('/graphql') && request.postData()?.includes('UpdateCard')) sent += 1;
    });
    await page.getByTestId('save').click();
    expect(await page.getByTestId(`error-${email}`).textContent()).to.equal('Введите корректный e-mail');
    expect(sent).to.equal(0);
  });
});
