import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { selectors, type Browser, type BrowserContext, type CDPSession, type Frame, type Page } from 'playwright-core';
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import { describeInBrowser, launchChromium, screenshot } from '../support/browser';
import { addToSystemGroup, createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { pdfWithText, scannedPdf, uploadFile } from '../support/files';
import type { ApiClient } from '../support/api-client';
import { signedIn, startTestServer, TEST_ADMIN } from '../support/server';
import { signInThroughUi } from './ui';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
/** An attack PDF of session 7: its object stream hides behind a comment, so the check called it plain; its opening script alerts «PWNED-cs» in Chromium's viewer. */
const ATTACK = readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'hostile-pdf', 'cmt_stream.pdf'));

/** Whether Chromium's PDF viewer in the page has loaded its document whole (its toolbar shows the pages and full progress). */
async function viewerLoaded(page: Page): Promise<boolean> {
  for (const viewer of page.frames().filter((frame: Frame) => frame.url().startsWith('chrome-extension://'))) {
    const loaded = await viewer
      .evaluate(() => {
        const toolbar = document.querySelector('pdf-viewer')?.shadowRoot?.querySelector('viewer-toolbar') as (Element & { docLength?: number; loadProgress?: number }) | null;
        return (toolbar?.docLength ?? 0) > 0 && toolbar?.loadProgress === 100;
      })
      .catch(() => false);
    if (loaded) return true;
  }
  return false;
}

/** Drops files onto an element as a person dragging them from their desktop would. */
async function dropFiles(page: Page, testId: string, files: { name: string; content: Buffer; type: string }[]): Promise<void> {
  const transfer = await page.evaluateHandle(
    (list) => {
      const data = new DataTransfer();
      for (const file of list) data.items.add(new File([Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0))], file.name, { type: file.type }));
      return data;
    },
    files.map((file) => ({ name: file.name, type: file.type, base64: file.content.toString('base64') })),
  );
  const target = page.getByTestId(testId);
  await target.dispatchEvent('dragenter', { dataTransfer: transfer });
  await target.dispatchEvent('drop', { dataTransfer: transfer });
}

describeInBrowser('files on a «Договор»: drag and drop, progress, cancel, preview, versions, search (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let cdp: CDPSession;
  let folderId: string;
  let cardId: string;
  let admin: ApiClient;
  let firstScan: Buffer;
  let counterpartyId: string;
  let editorId: string;
  /** Наталья (read only, no «Экспорт») with the same card open in a browser of her own: she sees versions come and go live. */
  let readerContext: BrowserContext | undefined;
  let colleague: Page;

  before(async () => {
    selectors.setTestIdAttribute('data-test');
    await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'nvakulenko', fullName: 'Наталья Вакуленко', level: 'read' },
    ]);
    editorId = scenario.userIds.tgoncharenko;
    folderId = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Договоры', allowedCardTypes: ['contract'] });
    // Наталья reads the contracts but has no «Экспорт».
    await setFolderAccess(admin, folderId, [
      { principalId: scenario.userIds.tgoncharenko, level: 'full' },
      { principalId: scenario.userIds.nvakulenko, level: 'read' },
    ]);
    await admin.data('mutation { setCardTypeHistory(typeKey: "contract", enabled: true) { historyEnabled } }');
    await addToSystemGroup(admin, 'history-readers', [scenario.userIds.tgoncharenko]);
    // Downloading a file is export.
    await addToSystemGroup(admin, 'exporters', [scenario.userIds.tgoncharenko]);
    const counterparty = await admin.data<{ createCard: { id: string } }>(
      'mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Ромашка»" }) { id } }',
      {
        f: scenario.folderId,
      },
    );
    counterpartyId = counterparty.createCard.id;
    const contract = await admin.data<{ createCard: { id: string } }>('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "contract", values: $v) { id } }', {
      f: folderId,
      v: { number: 'Д-17', date: '2026-11-26', counterparty: counterpartyId },
    });
    cardId = contract.createCard.id;
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await signInThroughUi(page, server.url, 'tgoncharenko', PASSWORD);
    await page.getByTestId('folder-tree').waitFor();
  });
  after(async () => {
    await readerContext?.close();
    await browser?.close();
    await server?.stop();
  });

  it('shows the progress of a dropped file and cancels it: nothing is attached', async () => {
    await page.goto(`${server.url}/folders/${folderId}/cards/${cardId}`);
    await page.getByTestId('edit').click();
    // A slow line, so the upload is seen on its way.
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 64 * 1024 });
    const big = Buffer.concat([await pdfWithText('big'), Buffer.alloc(2 * 1024 * 1024, 32)]);
    await dropFiles(page, 'files-scan', [{ name: 'большой.pdf', content: big, type: 'application/pdf' }]);
    const progress = page.getByTestId('file-progress');
    await progress.waitFor();
    await page.waitForFunction(() => Number(document.querySelector('[data-test="file-progress"]')?.getAttribute('value') ?? 0) > 0);
    await screenshot(page, 'files-01-progress');
    await page.getByTestId('file-cancel').click();
    await page.getByTestId('file-upload').waitFor({ state: 'detached' });
    expect(await page.getByTestId('file-item').count()).to.equal(0);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  });

  it('refuses a file of another type at the field, in Russian, before sending it', async () => {
    await dropFiles(page, 'files-scan', [{ name: 'письмо.docx', content: Buffer.from('PK'), type: 'application/octet-stream' }]);
    expect(await page.getByTestId('file-upload-error').textContent()).to.equal('Допустимые типы файлов: PDF, JPG, PNG, TIFF');
  });

  it('shows the server’s refusal of a file over the quota in the field, not a network error, though the server stops reading the upload and closes the connection', async () => {
    // Half a megabyte left of her 5 GB: the file passes it on its way in, and the server answers at once.
    const usage = mongoose.connection.db!.collection('fileusage');
    const user = new mongoose.Types.ObjectId(editorId);
    await usage.updateOne({ _id: user }, { $set: { bytes: 5 * 1024 ** 3 - 512 * 1024 } }, { upsert: true });
    // A slow line: Chromium is still sending when the answer comes and the connection closes.
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 512 * 1024 });
    try {
      const big = Buffer.concat([await pdfWithText('over quota'), Buffer.alloc(3 * 1024 * 1024, 32)]);
      const errors = page.getByTestId('file-upload-error');
      const shown = await errors.count();
      await dropFiles(page, 'files-scan', [{ name: 'сверх квоты.pdf', content: big, type: 'application/pdf' }]);
      await waitFor(async () => (await errors.count()) > shown, 'the upload’s outcome in the field');
      expect(await errors.last().textContent()).to.match(/^Файл не помещается в вашу квоту: занято 5[\d ,]* МБ из 5[\d ,]* МБ/);
      await screenshot(page, 'files-01-over-quota');
    } finally {
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      // Counted again from her stored files when next asked.
      await usage.deleteOne({ _id: user });
    }
  });

  it('uploads a dropped PDF, attaches it on saving, offers it for download and previews it in the card', async () => {
    firstScan = await pdfWithText('Supply of walrus tusks');
    await dropFiles(page, 'files-scan', [{ name: 'Скан Д-17.pdf', content: firstScan, type: 'application/pdf' }]);
    await page.getByTestId('file-item').filter({ hasText: 'Скан Д-17.pdf' }).waitFor();
    // Where files are uploaded, the user sees how much of their quota they use (the upload cancelled
    // above may have reached the server in part first, so its size is not assumed).
    await page
      .getByTestId('file-quota')
      .filter({ hasText: /Ваши файлы: занято [\d,]+ (?:Б|КБ|МБ) из 5 ГБ/ })
      .waitFor();
    await page.getByTestId('save').click();
    const link = page.getByTestId('file-link').filter({ hasText: 'Скан Д-17.pdf' });
    await link.waitFor();
    const href = await link.getAttribute('href');
    const response = await page.request.get(`${server.url}${href}`);
    expect(response.status()).to.equal(200);
    expect(response.headers()['content-type']).to.equal('application/pdf');
    expect((await response.body()).subarray(0, 5).toString()).to.equal('%PDF-');
    await page.getByTestId('file-preview-toggle').click();
    expect(await page.getByTestId('file-preview').getAttribute('src')).to.equal(`${href}?inline=1`);
    // Chromium's PDF viewer opens in the frame although the response sandboxes the document (its CSP).
    await waitFor(() => page.frames().some((frame) => frame.url().startsWith('chrome-extension://')), 'the PDF viewer in the preview frame');
    await screenshot(page, 'files-02-preview');
  });

  it('uploads a new version: the card shows version 2, history shows both; a colleague with the card open sees it at once', async () => {
    readerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    colleague = await readerContext.newPage();
    await signInThroughUi(colleague, server.url, 'nvakulenko', PASSWORD);
    await colleague.goto(`${server.url}/folders/${folderId}/cards/${cardId}`);
    await colleague.getByTestId('file-name').filter({ hasText: 'Скан Д-17.pdf' }).waitFor();
    expect(await colleague.getByTestId('file-versions-toggle').count(), 'one version: no list yet').to.equal(0);
    await page.getByTestId('edit').click();
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByTestId('file-new-version').click()]);
    await chooser.setFiles({ name: 'Скан Д-17.pdf', mimeType: 'application/pdf', buffer: await pdfWithText('Supply of walrus tusks, signed') });
    await page.getByTestId('file-item').filter({ hasText: 'версия 2' }).waitFor();
    await page.getByTestId('save').click();
    await page.getByTestId('value-scan').filter({ hasText: 'версия 2' }).waitFor();
    await page.getByTestId('card-tab-history').click();
    const changes = page.getByTestId('history-change-scan');
    await changes.nth(1).waitFor();
    expect(await changes.nth(0).textContent()).to.contain('Скан Д-17.pdf (v2)');
    expect(await changes.nth(1).textContent()).to.contain('Скан Д-17.pdf');
    await screenshot(page, 'files-03-history');
    // Наталья's open card follows without a reload: version 2, with its list of versions.
    await colleague.getByTestId('value-scan').filter({ hasText: 'версия 2' }).waitFor();
    await colleague.getByTestId('file-versions-toggle').click();
    await colleague.getByTestId('file-version').nth(1).waitFor();
    await colleague.getByTestId('file-version').nth(1).getByTestId('file-version-preview').click();
    await colleague.getByTestId('file-version').nth(1).getByTestId('pdf-page').waitFor();
  });

  it('lists both versions on the card with who uploaded them, previews version 1, and removes it for good', async () => {
    await page.getByTestId('card-tab-fields').click();
    await page.getByTestId('file-versions-toggle').click();
    const versions = page.getByTestId('file-version');
    await versions.nth(1).waitFor();
    expect(await versions.count()).to.equal(2);
    expect(await versions.nth(0).textContent())
      .to.contain('Версия 2')
      .and.contain('(текущая)')
      .and.contain('Татьяна Гончаренко');
    expect(await versions.nth(1).textContent())
      .to.contain('Версия 1')
      .and.contain('Татьяна Гончаренко');
    const earlier = versions.nth(1);
    const href = await earlier.getByTestId('file-version-download').getAttribute('href');
    await earlier.getByTestId('file-version-preview').click();
    expect(await earlier.getByTestId('file-preview').getAttribute('src')).to.equal(`${href}?inline=1`);
    const first = await page.request.get(`${server.url}${href}`);
    expect((await first.body()).equals(firstScan)).to.equal(true);
    await screenshot(page, 'files-04-versions');
    // The current version cannot be removed; an earlier one can, by a user with full access, after confirming.
    expect(await versions.nth(0).getByTestId('file-version-remove').count()).to.equal(0);
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.accept();
      }),
    );
    await earlier.getByTestId('file-version-remove').click();
    // The contract's type keeps history here: the dialog names both records.
    expect(await asked).to.contain('удаление записывается в историю и журнал аудита');
    await page.getByTestId('file-version-notice').filter({ hasText: 'Удалена версия 1 файла «Скан Д-17.pdf»' }).waitFor();
    await waitFor(async () => (await versions.count()) === 1, 'the list to show one version');
    expect((await page.request.get(`${server.url}${href}`)).status()).to.equal(404);
    // Наталья's open list drops version 1 and its preview without a reload.
    const hers = colleague.getByTestId('file-version');
    await waitFor(async () => (await hers.count()) === 1, 'the colleague’s list to show one version');
    expect(await hers.nth(0).textContent()).to.contain('Версия 2');
    expect(await colleague.getByTestId('pdf-pages').count()).to.equal(0);
    await page.getByTestId('card-tab-history').click();
    await page.getByTestId('history-version-removed').filter({ hasText: 'Удалена версия 1 файла «Скан Д-17.pdf»' }).waitFor();
  });

  it('finds the contract by a phrase inside its PDF', async () => {
    // The text is extracted in the background: the search answers once it is in.
    await waitFor(async () => (await admin.data<{ search: unknown[] }>('query { search(query: "walrus tusks") { exact } }')).search.length > 0, 'the PDF text to be searchable');
    const input = page.getByTestId('search-input');
    await input.fill('walrus tusks');
    const hit = page.getByTestId('search-hit').filter({ hasText: 'Д-17' }).first();
    await hit.waitFor();
    expect(await hit.getByTestId('search-hit-file').textContent()).to.equal('найдено в файле «Скан Д-17.pdf»');
    await screenshot(page, 'files-05-search');
  });

  it('names a file after its content: a PDF dropped as «Приложение» is saved as «Приложение.pdf», and the form says so', async () => {
    await page.goto(`${server.url}/folders/${folderId}/cards/${cardId}`);
    await page.getByTestId('edit').click();
    await dropFiles(page, 'files-scan', [{ name: 'Приложение', content: await pdfWithText('Annex'), type: '' }]);
    await page.getByTestId('file-renamed').filter({ hasText: 'Сохранён как «Приложение.pdf»: расширение исправлено по содержимому файла' }).waitFor();
    await page.getByTestId('save').click();
    await page
      .getByTestId('file-link')
      .filter({ hasText: /^Приложение\.pdf$/ })
      .waitFor();
  });

  it('shows a reader without «Экспорт» a scan’s pages drawn on the server, page by page, with no text layer needed', async () => {
    const author = await signedIn(server, 'tgoncharenko', PASSWORD);
    const scan = await uploadFile(author, server.url, { cardId, field: 'scan' }, { name: 'Скан подписей.pdf', content: await scannedPdf(['#c02020', '#2040c0']) });
    expect(scan.status, JSON.stringify(scan.body)).to.equal(201);
    const { card } = await author.data<{ card: { version: number; values: { scan: string[] } } }>('query($id: ID!) { card(id: $id) { version values } }', { id: cardId });
    await author.data('mutation($id: ID!, $version: Int!, $v: JSON!) { updateCard(id: $id, version: $version, values: $v) { id } }', {
      id: cardId,
      version: card.version,
      v: { scan: [...card.values.scan, scan.body.file!.id] },
    });
    // Наталья's open card shows the new file live; its preview draws the pages.
    const item = colleague.locator('li.ws-files__item').filter({ hasText: 'Скан подписей.pdf' });
    await item.waitFor();
    await item.getByTestId('file-preview-toggle').click();
    await item.getByTestId('pdf-page-number').filter({ hasText: 'Страница 1 из 2' }).waitFor();
    const picture = item.getByTestId('pdf-page');
    await picture.waitFor();
    /** The colour in the middle of the page shown, as the person sees it; null while a page is still loading. */
    const middle = () =>
      picture.evaluate((image: HTMLImageElement) => {
        if (!image.complete || image.naturalWidth === 0) return null;
        const canvas = document.createElement('canvas');
        canvas.width = 8;
        canvas.height = 8;
        const context = canvas.getContext('2d')!;
        context.drawImage(image, 0, 0, 8, 8);
        return { width: image.naturalWidth, rgb: Array.from(context.getImageData(4, 4, 1, 1).data.slice(0, 3)) };
      });
    await waitFor(async () => (await middle()) !== null, 'page 1 to be shown');
    const first = (await middle())!;
    expect(first.width).to.equal(1000);
    expect(first.rgb[0], 'page 1 is red').to.be.above(150);
    expect(await item.getByTestId('pdf-page-previous').isDisabled()).to.equal(true);
    await item.getByTestId('pdf-page-next').click();
    await item.getByTestId('pdf-page-number').filter({ hasText: 'Страница 2 из 2' }).waitFor();
    await waitFor(async () => ((await middle())?.rgb[2] ?? 0) > 150, 'page 2 (blue) to be shown');
    expect(await item.getByTestId('pdf-page-next').isDisabled()).to.equal(true);
    expect(await picture.getAttribute('alt')).to.equal('Страница 2 из 2 документа «Скан подписей.pdf»');
    await screenshot(colleague, 'files-06-scan-pages');
  });

  it('shows a reader without «Экспорт» the PDF’s text, not the original; the audit log names the card and tells previews from refusals', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const reader = await context.newPage();
      await signInThroughUi(reader, server.url, 'nvakulenko', PASSWORD);
      await reader.goto(`${server.url}/folders/${folderId}/cards/${cardId}`);
      const scan = reader.getByTestId('file-name').filter({ hasText: 'Скан Д-17.pdf' });
      await scan.waitFor();
      expect(await reader.getByTestId('file-link').count(), 'no download link without «Экспорт»').to.equal(0);
      await reader.getByTestId('file-preview-toggle').first().click();
      await reader.getByTestId('file-preview-text-only').waitFor();
      // The pages drawn on the server come first; «Текст» shows the text layer.
      await reader.getByTestId('pdf-page-number').filter({ hasText: 'Страница 1 из 1' }).waitFor();
      await reader.getByTestId('pdf-page').waitFor();
      await reader.getByTestId('file-preview-text').click();
      const frame = reader.getByTestId('file-preview');
      expect(await frame.getAttribute('src')).to.match(/^\/files\/[0-9a-f]{24}\/preview$/);
      await reader.frameLocator('[data-test="file-preview"]').getByText('Supply of walrus tusks, signed').waitFor();
      await screenshot(reader, 'files-07-text-preview');
      // The original, asked for anyway, is refused and audited.
      expect((await reader.request.get(`${server.url}${(await frame.getAttribute('src'))!.replace('/preview', '?inline=1')}`)).status()).to.equal(403);

      const { card } = await admin.data<{ card: { title: string } }>('query($id: ID!) { card(id: $id) { title } }', { id: cardId });
      const auditPage = await context.newPage();
      await context.clearCookies();
      await signInThroughUi(auditPage, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
      await auditPage.goto(`${server.url}/admin/audit`);
      const previewed = auditPage.getByTestId('audit-row').filter({ hasText: 'Просмотр файла' }).filter({ hasText: 'Наталья Вакуленко' }).first();
      await previewed.waitFor();
      expect(await previewed.getByTestId('audit-target').textContent()).to.equal(card.title);
      expect(await previewed.textContent()).to.contain('Скан Д-17.pdf');
      const refused = auditPage.getByTestId('audit-row').filter({ hasText: 'Экспорт без права «Экспорт»' }).first();
      expect(await refused.getByTestId('audit-target').textContent()).to.equal(card.title);
      const removed = auditPage.getByTestId('audit-row').filter({ hasText: 'Удалена прежняя версия файла' }).first();
      expect(await removed.textContent())
        .to.contain('Скан Д-17.pdf (v1)')
        .and.contain(card.title);
      await screenshot(auditPage, 'files-08-audit');
    } finally {
      await context.close();
    }
  });

  it('opens a PDF whose script the check missed from «Просмотр» as a safe copy: no dialog, while the uploaded bytes would raise one', async () => {
    // Another user attaches the attack PDF to a contract; Татьяна (with «Экспорт») previews it in the card.
    const uploaded = await uploadFile(admin, server.url, { folderId, typeKey: 'contract', field: 'scan' }, { name: 'Договор-атака.pdf', content: ATTACK });
    expect(uploaded.status).to.equal(201);
    const attacked = await admin.data<{ createCard: { id: string } }>('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "contract", values: $v) { id } }', {
      f: folderId,
      v: { number: 'Д-7', date: '2026-11-26', counterparty: counterpartyId, scan: [uploaded.body.file!.id] },
    });
    const dialogs: string[] = [];
    const noted = (dialog: { message(): string; dismiss(): Promise<void> }) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    };
    page.on('dialog', noted);
    try {
      await page.goto(`${server.url}/folders/${folderId}/cards/${attacked.createCard.id}`);
      await page.getByTestId('file-preview-toggle').click();
      expect(await page.getByTestId('file-preview').getAttribute('src')).to.equal(`/files/${uploaded.body.file!.id}?inline=1`);
      // The viewer's opening script runs while it loads the document, before it reports it loaded.
      await waitFor(() => viewerLoaded(page), 'the PDF viewer to load the preview', 60_000);
      await screenshot(page, 'files-09-safe-copy');
      expect(dialogs).to.deep.equal([]);

      // The control: the same bytes as uploaded, served as they are (in a fresh tab of the same browser), do run their script.
      const original = http.createServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/pdf', 'content-disposition': 'inline; filename="original.pdf"' });
        response.end(ATTACK);
      });
      original.listen(0);
      await once(original, 'listening');
      const control = await page.context().newPage();
      control.on('dialog', noted);
      try {
        await control.setContent(`<iframe src="http://localhost:${(original.address() as AddressInfo).port}/" style="width:800px;height:600px"></iframe>`);
        await waitFor(() => dialogs.length > 0, 'the original’s script to raise its dialog', 60_000);
        expect(dialogs).to.deep.equal(['PWNED-cs']);
      } finally {
        await control.close();
        original.close();
      }
    } finally {
      page.off('dialog', noted);
    }
  });
});
