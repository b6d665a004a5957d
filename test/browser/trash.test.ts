import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/src/server';
import { describeInBrowser } from '../support/browser';
import { createFolder, createLibrary } from '../support/fixtures';
import { signedIn, TEST_ADMIN } from '../support/server';
import { signInThroughUi, startBrowserSuite } from './ui';

/**
 * «Корзина» at a real size (issue 14, s9 user U18): a card deleted before many others is reached by
 * «Показать ещё» or by the trash's search, and restored from there.
 */
describeInBrowser('the trash page: count, more, search (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    ({ server, browser } = await startBrowserSuite());
    const admin = await signedIn(server);
    const folder = await createFolder(admin, { libraryId: await createLibrary(admin, 'Клиенты'), name: 'Архив сделок', allowedCardTypes: ['counterparty'] });
    for (const name of ['ООО «Самая ранняя»', ...Array.from({ length: 60 }, (_, index) => `ООО «Чистка ${index + 1}»`)]) {
      const created = await admin.data<{ createCard: { id: string } }>('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', {
        f: folder,
        v: { name },
      });
      await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: created.createCard.id });
    }
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const rows = () => page.getByTestId('trash-row');

  it('says how many cards there are and shows the earlier ones with «Показать ещё»', async () => {
    await page.goto(`${server.url}/trash`);
    await page.getByTestId('trash-count').filter({ hasText: 'В корзине карточек: 61' }).waitFor();
    expect(await rows().count()).to.equal(50);
    expect(await rows().filter({ hasText: 'Самая ранняя' }).count()).to.equal(0);
    await page.getByTestId('trash-more').click();
    await rows().nth(60).waitFor();
    expect(await rows().nth(60).textContent()).to.contain('ООО «Самая ранняя»');
    expect(await page.getByTestId('trash-more').count()).to.equal(0);
  });

  it('finds the earliest by its words and restores it from there', async () => {
    await page.reload();
    await page.getByTestId('trash-search').fill('самая ранняя');
    await page.getByTestId('trash-count').filter({ hasText: 'В корзине карточек: 1' }).waitFor();
    expect(await rows().count()).to.equal(1);
    await rows().getByTestId('trash-restore').click();
    await page.getByRole('status').filter({ hasText: 'Карточка «ООО «Самая ранняя»» восстановлена' }).waitFor();
    await page.getByTestId('trash-empty').filter({ hasText: 'В корзине нет таких карточек' }).waitFor();
  });
});
