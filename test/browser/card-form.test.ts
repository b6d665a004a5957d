import { expect } from 'chai';
import type { Page } from 'playwright-core';
import type { RunningServer } from '../../server/src/server';
import { innFromStem } from '../../seeds/demo-cards';
import type { ApiClient } from '../support/api-client';
import { describeInBrowser } from '../support/browser';
import { startDemoSuite, stopDemoSuite, type DemoSuite } from './ui';

const COUNTERPARTY = 'ООО «Кассиопея»';
const RED = 'rgb(179, 38, 30)';

/**
 * The card form as a person meets it on the demo data (issue 14, items 6 and 7, and the form's
 * accessibility): a new card from a related tab asks for the folder; whatever the server refuses
 * is shown in the form; an invalid required field is red and takes the focus; the controls expose
 * required, invalid and their message to assistive technology; the card's tabs and the folder
 * tree answer the arrow keys; the unread badge is read in words.
 */
describeInBrowser('card form: folder choice, errors, focus, keyboard (browser)', function () {
  this.timeout(180_000);
  let suite: DemoSuite;
  let server: RunningServer;
  let admin: ApiClient;
  let page: Page;
  let folderIds: Record<string, string>;

  async function setAllowedTypes(folder: string, types: string[]): Promise<void> {
    await admin.data('mutation($id: ID!, $input: FolderInput!) { updateFolder(id: $id, input: $input) { id } }', {
      id: folderIds[folder],
      input: { allowedCardTypes: types, defaultCardType: types[0] },
    });
  }
  async function openCounterparty(): Promise<void> {
    await page.goto(`${server.url}/search?q=${encodeURIComponent(COUNTERPARTY)}`);
    await page.getByTestId('search-hit').filter({ hasText: COUNTERPARTY }).first().click();
    await page.getByTestId('card-fields').waitFor();
  }
  async function newProposalFromCounterparty(): Promise<void> {
    await openCounterparty();
    await page.getByTestId('card-tab-proposals').click();
    await page.getByTestId('related-new').click();
    await page.getByTestId('card-form').waitFor();
  }
  const focusedTestId = () => page.evaluate(() => document.activeElement?.getAttribute('data-test') ?? null);
  const focusedName = () => page.evaluate(() => document.activeElement?.querySelector('.tree__library-name')?.textContent?.trim() ?? null);

  before(async () => {
    suite = await startDemoSuite('tgoncharenko');
    ({ server, admin, page, folderIds } = suite);
  });
  after(() => stopDemoSuite(suite));

  it("«Новая карточка» on a counterparty's proposals tab asks which folder, offers the one that takes proposals, and saves there", async () => {
    await newProposalFromCounterparty();
    const select = page.getByTestId('input-folder');
    expect(await select.locator('option:checked').textContent()).to.equal('Договоры / Коммерческие предложения');
    // Only folders that take proposals are offered.
    expect(await select.locator('option').allTextContents()).to.deep.equal(['Договоры / Коммерческие предложения']);
    expect(await page.getByTestId('folder-hint').textContent()).to.contain('Коммерческое предложение');
    await page.getByTestId('input-number').fill('КП-14/6');
    await page.getByTestId('save').click();
    // Back on the counterparty's tab, the proposal is listed.
    await page.getByTestId('related-row').filter({ hasText: 'КП-14/6' }).waitFor();
    const found = await admin.data<{ search: { card: { title: string; folderId: string } }[] }>('query { search(query: "КП-14/6") { card { title folderId } } }');
    const created = found.search.filter((hit) => hit.card.title.startsWith('КП-14/6 '));
    expect(created.map((hit) => hit.card.folderId)).to.deep.equal([folderIds['Коммерческие предложения']]);
  });

  it("the server's reason for refusing the folder is shown at the folder, which takes the focus", async () => {
    await newProposalFromCounterparty();
    await page.getByTestId('input-number').fill('КП-14/6-2');
    // Meanwhile an administrator stops the folder taking proposals.
    await setAllowedTypes('Коммерческие предложения', ['contract']);
    try {
      await page.getByTestId('save').click();
      await page.getByTestId('error-folder').waitFor();
      expect(await page.getByTestId('error-folder').textContent()).to.equal('В этой папке нельзя создавать карточки типа «Коммерческое предложение»');
      expect(await page.getByTestId('form-error').textContent()).to.contain('Проверьте заполнение полей');
      expect(await focusedTestId()).to.equal('input-folder');
      const describedBy = await page.getByTestId('input-folder').getAttribute('aria-describedby');
      expect(await page.locator(`[id="${describedBy}"]`).textContent()).to.contain('нельзя создавать');
    } finally {
      await setAllowedTypes('Коммерческие предложения', ['commercial-proposal']);
    }
  });

  it('a refusal the form has no field for is listed in the form, named by what it is about', async () => {
    await page.goto(`${server.url}/folders/${folderIds['Корреспонденты']}`);
    await page.getByTestId('create').click();
    await page.getByTestId('create-contact-person').click();
    await page.getByTestId('card-form').waitFor();
    // The folder takes contact persons: no folder to choose.
    expect(await page.getByTestId('field-folder').count()).to.equal(0);
    await page.getByTestId('input-fullName').fill('Пётр Петров');
    await setAllowedTypes('Корреспонденты', ['counterparty']);
    try {
      await page.getByTestId('save').click();
      await page.getByTestId('error-typeKey').waitFor();
      expect(await page.getByTestId('error-typeKey').textContent()).to.equal('Тип карточки: В этой папке нельзя создавать карточки типа «Контактное лицо»');
      expect(await focusedTestId()).to.equal('form-error');
    } finally {
      await setAllowedTypes('Корреспонденты', ['counterparty', 'contact-person']);
    }
  });

  it('an empty required field turns red (not green), says why, and takes the focus; its state is exposed', async () => {
    await openCounterparty();
    await page.getByTestId('edit').click();
    await page.getByTestId('card-form').waitFor();
    const name = page.getByTestId('input-name');
    expect(await name.getAttribute('aria-required')).to.equal('true');
    expect(await name.getAttribute('aria-invalid')).to.equal(null);
    // Green while fine.
    expect(await name.evaluate((el) => getComputedStyle(el).borderTopColor)).to.not.equal(RED);
    await name.fill('');
    await page.getByTestId('input-phone').focus();
    await page.getByTestId('save').click();
    await page.getByTestId('error-name').waitFor();
    expect(await name.evaluate((el) => getComputedStyle(el).borderTopColor)).to.equal(RED);
    expect(await focusedTestId()).to.equal('input-name');
    expect(await name.getAttribute('aria-invalid')).to.equal('true');
    const describedBy = await name.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).to.contain('Обязательное поле');
    // The «*» is only seen; the label read is the field's name.
    expect(await page.getByRole('textbox', { name: 'Наименование', exact: true }).count()).to.equal(1);
    // Switching to English turns the messages English at once, without another save.
    await page.getByTestId('language').selectOption('en');
    await page
      .getByTestId('error-name')
      .filter({ hasText: /^Required$/ })
      .waitFor();
    await page.getByTestId('form-error').filter({ hasText: 'Please check the fields' }).waitFor();
    await page.getByTestId('language').selectOption('ru');
    await page
      .getByTestId('error-name')
      .filter({ hasText: /^Обязательное поле$/ })
      .waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('cancel').click();
    await page.getByTestId('card-fields').waitFor();
  });

  it('a value another card already has names that card, with a link to it', async () => {
    const inn = innFromStem('770999141');
    const other = await admin.data<{ createCard: { id: string } }>(
      'mutation($folderId: ID!, $values: JSON!) { createCard(folderId: $folderId, typeKey: "counterparty", values: $values) { id } }',
      {
        folderId: folderIds['Корреспонденты'],
        values: { name: 'ООО «Дубль 11»', inn },
      },
    );
    await openCounterparty();
    await page.getByTestId('edit').click();
    await page.getByTestId('input-inn').fill(inn);
    await page.getByTestId('save').click();
    await page.getByTestId('error-inn').waitFor();
    expect(await page.getByTestId('error-inn').textContent()).to.contain('Такое значение уже есть в карточке «ООО «Дубль 11»»');
    const link = page.getByTestId('same-value-inn');
    expect(await link.textContent()).to.contain('Открыть «ООО «Дубль 11»»');
    expect(await link.getAttribute('href')).to.equal(`/folders/${folderIds['Корреспонденты']}/cards/${other.createCard.id}`);
    expect(await focusedTestId()).to.equal('input-inn');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('cancel').click();
    await page.getByTestId('card-fields').waitFor();
  });

  it("the card's tabs: the current one is selected, ←/→ move between them", async () => {
    await openCounterparty();
    const fields = page.getByTestId('card-tab-fields');
    expect(await fields.getAttribute('aria-selected')).to.equal('true');
    await fields.focus();
    await page.keyboard.press('ArrowRight');
    await page.getByTestId('related-contacts').waitFor();
    expect(await page.getByTestId('card-tab-contacts').getAttribute('aria-selected')).to.equal('true');
    expect(await fields.getAttribute('aria-selected')).to.equal('false');
    expect(await focusedTestId()).to.equal('card-tab-contacts');
    await page.keyboard.press('ArrowLeft');
    await page.getByTestId('card-fields').waitFor();
    expect(await focusedTestId()).to.equal('card-tab-fields');
    await page.keyboard.press('End');
    expect(await page.getByRole('tab', { selected: true }).getAttribute('data-test')).to.equal(await page.getByRole('tab').last().getAttribute('data-test'));
  });

  it('the folder tree answers the arrow keys: down and up, ← closes a library, → opens it, Enter opens a folder', async () => {
    await page.goto(`${server.url}/`);
    const tree = page.getByRole('tree');
    await tree.waitFor();
    const library = tree.getByRole('treeitem', { name: 'Договоры', exact: true });
    await tree.getByRole('treeitem').first().focus();
    expect(await focusedName()).to.equal('Корреспонденты и контакты');
    await page.keyboard.press('ArrowDown');
    expect(await focusedTestId()).to.equal('folder-Корреспонденты');
    await page.keyboard.press('ArrowDown');
    expect(await focusedName()).to.equal('Договоры');
    expect(await library.getAttribute('aria-expanded')).to.equal('true');
    await page.keyboard.press('ArrowLeft');
    expect(await library.getAttribute('aria-expanded')).to.equal('false');
    expect(await page.getByTestId('folder-Договоры 2026').count()).to.equal(0);
    await page.keyboard.press('ArrowRight');
    expect(await library.getAttribute('aria-expanded')).to.equal('true');
    await page.keyboard.press('ArrowRight');
    expect(await focusedTestId()).to.equal('folder-Договоры 2026');
    await page.keyboard.press('Enter');
    await page.getByTestId('folder-name').filter({ hasText: 'Договоры 2026' }).waitFor();
    expect(await page.getByTestId('folder-Договоры 2026').getAttribute('aria-selected')).to.equal('true');
    // Only one item of the tree is in the Tab order.
    expect(await tree.locator('[tabindex="0"]').count()).to.equal(1);
  });

  it('the unread badge is read as words: «N непрочитанных»', async () => {
    for (const name of ['ООО «Ромашка» 14', 'ООО «Лютик» 14']) {
      await admin.data('mutation($folderId: ID!, $values: JSON!) { createCard(folderId: $folderId, typeKey: "counterparty", values: $values) { id } }', {
        folderId: folderIds['Корреспонденты'],
        values: { name },
      });
    }
    const item = page.getByTestId('folder-Корреспонденты');
    // Each created card arrives as its own live event: wait for both, not for the first badge.
    await page.waitForFunction(() => Number(document.querySelector('[data-test="folder-Корреспонденты"] [data-test="unread-count"]')?.textContent) >= 2);
    const count = Number(await item.getByTestId('unread-count').textContent());
    expect(count).to.be.at.least(2);
    const words = count % 10 === 1 && count % 100 !== 11 ? 'непрочитанная' : 'непрочитанных';
    expect(await item.getByTestId('unread-words').textContent()).to.equal(`${count} ${words}`);
    // The number alone is hidden from screen readers; the tree item's name carries the words.
    expect(await item.getByTestId('unread-count').getAttribute('aria-hidden')).to.equal('true');
    expect(await page.getByRole('treeitem', { name: `Корреспонденты ${count} ${words}` }).count()).to.equal(1);
  });
});
