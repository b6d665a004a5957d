import { expect } from 'chai';
import { Types } from 'mongoose';
import type { Browser, Page } from 'playwright-core';
import { Card } from '../../server/src/cards/model';
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { describeInBrowser, launchChromium, screenshot } from '../support/browser';
import { createFolder, createLibrary } from '../support/fixtures';
import { signedIn, startTestServer, TEST_ADMIN } from '../support/server';
import { expectText, field, signInThroughUi, useDataTestAttribute } from './ui';

const label = (ru: string, en: string) => ({ ru, en });

/**
 * What the designer tells an administrator about values the database does not keep unique, and
 * about a kind change that would change how values read («007» becoming 7) before it is saved.
 */
describeInBrowser('card type designer: uniqueness not enforced, values a conversion changes (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let api: ApiClient;
  let browser: Browser;
  let page: Page;
  let folderId: string;

  const createCard = async (typeKey: string, values: Record<string, unknown>) =>
    (
      await api.data<{ createCard: { id: string } }>('mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }', {
        f: folderId,
        t: typeKey,
        v: values,
      })
    ).createCard.id;
  const valuesOf = async (id: string) => (await api.data<{ card: { values: Record<string, unknown> } }>('query($id: ID!) { card(id: $id) { values } }', { id })).card.values;
  const openType = async (key: string) => {
    await page.goto(`${server.url}/admin/card-types/${key}`);
    await page.getByTestId('type-form').waitFor();
  };

  before(async () => {
    useDataTestAttribute();
    await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
    server = await startTestServer();
    api = await signedIn(server);
    await api.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', {
      d: {
        key: 'passes',
        names: label('Пропуск', 'Pass'),
        titleTemplate: '{name}',
        historyEnabled: false,
        origin: 'admin',
        fields: [
          { key: 'name', kind: 'string', label: label('Владелец', 'Holder'), required: true },
          { key: 'number', kind: 'string', label: label('Номер пропуска', 'Pass number'), unique: true },
          { key: 'code', kind: 'string', label: label('Код', 'Code') },
        ],
      },
    });
    folderId = await createFolder(api, { libraryId: await createLibrary(api, 'Охрана'), name: 'Пропуска', allowedCardTypes: ['passes'] });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('says how many of the cards collection’s indexes are taken, and counts a new list column once saved', async () => {
    const taken = async () => (await Card.collection.indexes()).length;
    const before = await taken();
    await openType('passes');
    const use = page.getByTestId('index-use');
    await use.filter({ hasText: `занято ${before} из 60` }).waitFor();
    expect(await use.textContent()).to.contain('Каждое «Уникальное» поле и каждая «Колонка в списке карточек»');

    await page.getByTestId('field-editor-2').getByTestId('field-listed').locator('input').check();
    await page.getByTestId('save-type').click();
    await use.filter({ hasText: `занято ${before + 1} из 60` }).waitFor();
    expect(await taken()).to.equal(before + 1);
  });

  it('says «Уникальность не обеспечена» with the reason on the type and on the field, in Russian and in English', async () => {
    await createCard('passes', { name: 'Иванов', number: 'П-1' });
    const second = await createCard('passes', { name: 'Петров', number: 'П-2' });
    // As after a start that found cards sharing a value: the unique index is missing.
    await Card.collection.dropIndex('unique_passes_number');
    await Card.collection.updateOne({ _id: new Types.ObjectId(second) }, { $set: { 'values.number': 'П-1' } });

    await openType('passes');
    const notice = page.getByTestId('unique-not-enforced');
    await notice.waitFor();
    expect(await notice.textContent()).to.contain('Уникальность не обеспечена для полей «Номер пропуска» (number): в карточках уже есть повторяющиеся значения');
    const onField = page.getByTestId('field-editor-1').getByTestId('field-unique-not-enforced');
    expect(await onField.textContent()).to.contain('Уникальность не обеспечена: в карточках уже есть повторяющиеся значения');
    expect(await page.getByTestId('field-editor-2').getByTestId('field-unique-not-enforced').count()).to.equal(0);
    await screenshot(page, 'designer-limits-1-unique-not-enforced');

    await page.getByTestId('language').selectOption('en');
    expect(await notice.textContent()).to.contain('Uniqueness is not enforced for fields “Pass number” (number): cards already share values');
    expect(await onField.textContent()).to.contain('Uniqueness is not enforced: cards already share values');
    await page.getByTestId('language').selectOption('ru');

    // Saving lists the repeats instead of saving over them.
    await page.getByTestId('save-type').click();
    const report = page.getByTestId('change-report');
    await report.waitFor();
    expect(await report.getByTestId('report-duplicates').textContent()).to.contain('П-1');
  });

  it('a text → whole number change shows the values it would change («007» → «7») and saves them only once confirmed', async () => {
    const zeros = await createCard('passes', { name: 'Сидоров', code: '007' });
    const plain = await createCard('passes', { name: 'Кузнецов', code: '42' });
    await openType('passes');
    await page.getByTestId('field-editor-1').getByTestId('field-unique').locator('input').uncheck();
    await page.getByTestId('field-editor-2').locator('select').first().selectOption('integer');
    await page.getByTestId('save-type').click();

    const report = page.getByTestId('change-report');
    await report.waitFor();
    expect(await report.getByTestId('report-altered').textContent()).to.contain('«007» → «7» (карточек: 1)');
    expect(await report.getByTestId('report-altered').textContent()).to.not.contain('42');
    expect(await page.getByTestId('type-saved').count()).to.equal(0);
    expect(await valuesOf(zeros)).to.include({ code: '007' });
    await report.scrollIntoViewIfNeeded();
    await screenshot(page, 'designer-limits-2-altered-values');

    await report.getByTestId('confirm-save').click();
    await page.getByTestId('type-saved').waitFor();
    await page.getByTestId('type-change-applied').waitFor();
    expect(await valuesOf(zeros)).to.include({ code: 7 });
    expect(await valuesOf(plain)).to.include({ code: 42 });
  });

  it('a fill-in value that is not valid for the field is said under it, kept, and saved once corrected', async () => {
    const cards = (
      await api.data<{ cards: { edges: { node: { id: string } }[] } }>('query($f: ID!) { cards(folderId: $f) { edges { node { id } } } }', { f: folderId })
    ).cards.edges.map((edge) => edge.node.id);
    expect(cards).to.have.length(4);
    await openType('passes');
    await page.getByTestId('add-field').click();
    const mail = page.getByTestId('field-editor-3');
    await field(mail, 'label-ru').fill('Почта');
    await mail.locator('select').first().selectOption('email');
    await mail.getByTestId('field-required').locator('input').check();
    await page.getByTestId('save-type').click();
    await mail.getByTestId('field-missing').waitFor();
    await field(mail, 'fill-missing').fill('нет почты');
    await page.getByTestId('save-type').click();
    // The box the dry run opened stays with what was typed, and says what is wrong with it.
    await expectText(page, 'error-fill-missing', 'Введите корректный e-mail');
    expect(await field(mail, 'fill-missing').inputValue()).to.equal('нет почты');
    await page.getByTestId('save-type').click();
    await expectText(page, 'error-fill-missing', 'Введите корректный e-mail');
    await mail.getByTestId('field-missing').scrollIntoViewIfNeeded();
    await screenshot(page, 'designer-limits-3-fill-in-not-valid');

    await field(mail, 'fill-missing').fill('nobody@example.com');
    expect(await page.getByTestId('error-fill-missing').count()).to.equal(0);
    await page.getByTestId('save-type').click();
    await page.getByTestId('type-saved').waitFor();
    await expectText(page, 'type-change-applied', `Изменение применено ко всем карточкам: ${cards.length}`);
    for (const id of cards) expect(await valuesOf(id)).to.have.property('pochta', 'nobody@example.com');
  });
});
