import { expect } from 'chai';
import { Types } from 'mongoose';
import type { Browser, Page } from 'playwright-core';
import { findCardType, saveCardType } from '../../server/src/card-types/registry';
import { Card } from '../../server/src/cards/model';
import type { TypeChangeParams } from '../../server/src/cards/type-change';
import { publishJob } from '../../server/src/jobs/define';
import { Job, type JobDoc } from '../../server/src/jobs/model';
import { User } from '../../server/src/people/models';
import type { RunningServer } from '../../server/src/server';
import { generateCounterparties } from '../../seeds/generate';
import { describeInBrowser, screenshot } from '../support/browser';
import { TEST_ADMIN } from '../support/server';
import { expectText, field, signInThroughUi, startBrowserSuite } from './ui';

const CARDS = 1200;
/** How the interface writes CARDS: digits grouped with a no-break space. */
const CARDS_SHOWN = '1\u00a0200';

/** An administrator adds a required field to «Контрагент» while 1,200 counterparties exist: the save answers at once, the designer follows the job to the end. */
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

  it('a new required «Сегмент» with a value to fill in: the dry run counts the 1 200 cards (digits grouped), the save shows the job’s progress and its end; a reload finds nothing pending', async () => {
    await page.goto(`${server.url}/admin/card-types/counterparty`);
    await page.getByTestId('field-editor-0').waitFor();
    const fields = await page.locator('[data-test^="field-editor-"]').count();
    await page.getByTestId('add-field').click();
    const added = page.getByTestId(`field-editor-${fields}`);
    await field(added, 'label-ru').fill('Сегмент');
    await added.getByTestId('field-required').locator('input').check();
    await page.getByTestId('save-type').click();
    await expectText(page, 'error-required', `Карточек без значения: ${CARDS_SHOWN}. Поле станет обязательным — решите, как быть с ними.`);
    await field(added, 'fill-missing').fill('малый бизнес');
    await page.getByTestId('save-type').click();

    await page.getByTestId('type-saved').waitFor();
    const progress = page.getByTestId('type-change-progress');
    await progress.waitFor();
    await expectText(page, 'type-change-applied', `Изменение применено ко всем карточкам: ${CARDS_SHOWN}`);
    expect(await progress.getByTestId('job-percent').textContent()).to.equal('100 %');
    expect(await progress.getByTestId('job-done').textContent()).to.contain(`${CARDS_SHOWN} из ${CARDS_SHOWN}`);
    expect(await progress.getByTestId('job-state').textContent()).to.equal('Готово');
    await screenshot(page, 'designer-12-change-applied');
    expect(await Card.countDocuments({ folderId: new Types.ObjectId(folderId), 'values.segment': 'малый бизнес' })).to.equal(CARDS);

    await page.reload();
    await page.getByTestId('type-form').waitFor();
    expect(await page.getByTestId('type-change-progress').count()).to.equal(0);
  });

  it('a change under way says it cannot be cancelled and why; when it fails, the designer says in words what happened, folds the technical detail away, and continues it to the end', async () => {
    const zone = { key: 'zone', kind: 'string', label: { ru: 'Зона', en: 'Zone' }, required: true };
    const stored = (await findCardType('counterparty'))!;
    await saveCardType({ ...stored, fields: [...stored.fields, zone] });
    const ids = (
      await Card.find({ folderId: new Types.ObjectId(folderId) }, { _id: 1 })
        .sort({ _id: 1 })
        .lean()
    ).map((card) => card._id);
    const half = CARDS / 2;
    await Card.updateMany({ _id: { $in: ids.slice(0, half) } }, { $set: { 'values.zone': 'Север' } });
    const admin = await User.findOne({ loginKey: TEST_ADMIN.login }, { _id: 1 }).lean();
    const params: TypeChangeParams = { typeKey: 'counterparty', fields: [{ from: null, to: zone, fill: 'Север' }], ip: '127.0.0.1' };
    // Half done by another instance, which holds the job.
    const [job] = await Job.create([
      {
        type: 'card-type-change',
        ownerId: admin!._id,
        params,
        state: 'running',
        lease: { holder: 'another instance', until: new Date(Date.now() + 3_600_000) },
        progress: { done: half, total: CARDS },
        checkpoint: { trash: false, after: String(ids[half - 1]), cards: half, changed: half, kept: 0 },
      },
    ]);

    await page.goto(`${server.url}/admin/card-types/counterparty`);
    const progress = page.getByTestId('type-change-progress');
    await progress.waitFor();
    await expectText(page, 'job-done', `600 из ${CARDS_SHOWN}`);
    expect(await progress.getByTestId('job-not-cancellable').textContent()).to.match(/^Изменение типа нельзя отменить: определение типа уже сохранено/);
    expect(await progress.getByTestId('job-cancel').count()).to.equal(0);

    // The other instance's batch is refused by the database: the job fails.
    const failed = await Job.findByIdAndUpdate(
      job._id,
      { $set: { state: 'failed', error: 'MongoServerError: WriteConflict error: this operation conflicted with another operation', finishedAt: new Date(), 'lease.holder': null } },
      { returnDocument: 'after' },
    ).lean<JobDoc>();
    publishJob(failed!);
    const message = progress.getByTestId('job-error');
    await message.waitFor();
    expect(await message.textContent()).to.match(/^Изменение типа применено не ко всем карточкам: 600 из 1\u00a0200\. Тип сохранён;.*Нажмите «Продолжить с места остановки»/);
    expect(await message.textContent()).to.not.contain('MongoServerError');
    expect(await progress.getByTestId('job-error-detail').locator('code').isVisible()).to.equal(false);
    await progress.getByTestId('job-error-detail').locator('summary').click();
    expect(await progress.getByTestId('job-error-detail').locator('code').textContent()).to.contain('WriteConflict');
    await screenshot(page, 'designer-13-change-failed');

    await progress.getByTestId('job-retry').click();
    await expectText(page, 'type-change-applied', `Изменение применено ко всем карточкам: ${CARDS_SHOWN}`);
    expect(await page.getByTestId('job-error').count()).to.equal(0);
    expect(await Card.countDocuments({ folderId: new Types.ObjectId(folderId), 'values.zone': 'Север' })).to.equal(CARDS);
  });
});
