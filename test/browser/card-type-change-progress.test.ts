import { expect } from 'chai';
import { Types } from 'mongoose';
import type { Browser, Page } from 'playwright-core';
import { Card } from '../../server/src/cards/model';
import type { RunningServer } from '../../server/src/server';
import { generateCounterparties } from '../../seeds/generate';
import { describeInBrowser, screenshot } from '../support/browser';
import { TEST_ADMIN } from '../support/server';
import { expectText, field, signInThroughUi, startBrowserSuite } from './ui';

const CARDS = 300;

/** An administrator adds a required field to «Контрагент» while 300 counterparties exist: the save answers at once, the designer follows the job to the end. */
describeInBrowser('card type designer: a change applied to many cards, with progress (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let folderId: string;

  before(async () => {
    ({ server, browser } = await startBrowserSuite());
    folderId = await generateCounterparties({ count: CARDS, folderName: 'Большая папка' });
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a new required «Сегмент» with a value to fill in: the dry run counts the 300 cards, the save shows the job’s progress and its end; a reload finds nothing pending', async () => {
    await page.goto(`${server.url}/admin/card-types/counterparty`);
    await page.getByTestId('field-editor-0').waitFor();
    const fields = await page.locator('[data-test^="field-editor-"]').count();
    await page.getByTestId('add-field').click();
    const added = page.getByTestId(`field-editor-${fields}`);
    await field(added, 'label-ru').fill('Сегмент');
    await added.getByTestId('field-required').locator('input').check();
    await page.getByTestId('save-type').click();
    await expectText(page, 'error-required', `Карточек без значения: ${CARDS}. Поле станет обязательным — решите, как быть с ними.`);
    await field(added, 'fill-missing').fill('малый бизнес');
    await page.getByTestId('save-type').click();

    await page.getByTestId('type-saved').waitFor();
    const progress = page.getByTestId('type-change-progress');
    await progress.waitFor();
    await expectText(page, 'type-change-applied', `Изменение применено ко всем карточкам: ${CARDS}`);
    expect(await progress.getByTestId('job-percent').textContent()).to.equal('100 %');
    expect(await progress.getByTestId('job-done').textContent()).to.contain(`${CARDS} из ${CARDS}`);
    expect(await progress.getByTestId('job-state').textContent()).to.equal('Готово');
    await screenshot(page, 'designer-12-change-applied');
    expect(await Card.countDocuments({ folderId: new Types.ObjectId(folderId), 'values.segment': 'малый бизнес' })).to.equal(CARDS);

    await page.reload();
    await page.getByTestId('type-form').waitFor();
    expect(await page.getByTestId('type-change-progress').count()).to.equal(0);
  });
});
