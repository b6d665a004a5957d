import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { expect } from 'chai';
import { selectors, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { Job } from '../../server/src/jobs/model';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { describeInBrowser, launchChromium, screenshot } from '../support/browser';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const FOLDER = 'Корреспонденты';
const NAMES = ['ООО «Альфа»', 'ООО «Бета»', 'ООО «Гамма»'];
const row = (title: string, unread?: boolean) => `[data-test="card-row"][data-title="${title}"]${unread === undefined ? '' : `[data-unread="${unread}"]`}`;

describeInBrowser('staff workspace: the scenario with two colleagues side by side (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let tatiana: Page;
  let natalia: Page;
  const ids: Record<string, string> = {};

  async function signIn(login: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${server.url}/signin`);
    await page.getByTestId('signin-login').fill(login);
    await page.getByTestId('signin-password').fill(PASSWORD);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('folder-tree').waitFor();
    return page;
  }

  const badge = (page: Page) => page.getByTestId(`folder-${FOLDER}`).getByTestId('unread-count');
  async function openFolder(page: Page): Promise<void> {
    await page.getByTestId(`folder-${FOLDER}`).click();
    await page.getByTestId('card-grid').waitFor();
  }
  async function openCard(page: Page, title: string): Promise<void> {
    await page.locator(row(title)).getByTestId('card-link').click();
    await page.getByTestId('card-title').filter({ hasText: title }).waitFor();
  }

  before(async () => {
    selectors.setTestIdAttribute('data-test');
    await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'nvakulenko', fullName: 'Наталья Вакуленко', level: 'full' },
      { login: 'reader', fullName: 'Читатель Только', level: 'read' },
    ]);
    Object.assign(ids, scenario.userIds, { folder: scenario.folderId });
    browser = await launchChromium();
    tatiana = await signIn('tgoncharenko');
    natalia = await signIn('nvakulenko');
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.stop();
  });

  it('Татьяна creates three counterparties through the form; the required name is enforced at the field', async () => {
    await openFolder(tatiana);
    await tatiana.getByTestId('cards-empty').waitFor();
    for (const [index, name] of NAMES.entries()) {
      await tatiana.getByTestId('create').click();
      await tatiana.getByTestId('create-counterparty').click();
      await tatiana.getByTestId('card-form').waitFor();
      if (index === 0) {
        expect(await tatiana.getByTestId('field-name').getAttribute('class')).to.contain('ws-field--required');
        await tatiana.getByTestId('save').click();
        expect(await tatiana.getByTestId('error-name').textContent()).to.equal('Обязательное поле');
        await screenshot(tatiana, 'workspace-01-required-name');
      }
      await tatiana.getByTestId('input-name').fill(name);
      await tatiana.getByTestId('input-phone').fill('+7 495 111-11-11');
      await tatiana.getByTestId('save').click();
      await tatiana.getByTestId('card-title').filter({ hasText: name }).waitFor();
      await tatiana.getByTestId('back').click();
      await tatiana.locator(row(name, false)).waitFor();
    }
    await tatiana.getByTestId('card-count').filter({ hasText: 'Карточек: 3' }).waitFor();
    await screenshot(tatiana, 'workspace-02-tatiana-list');
  });

  it('Наталья sees the count 3 in her tree without reloading, and the three cards bold', async () => {
    await badge(natalia).filter({ hasText: '3' }).waitFor();
    await screenshot(natalia, 'workspace-03-natalia-count-3');
    await openFolder(natalia);
    for (const name of NAMES) await natalia.locator(row(name, true)).waitFor();
    expect(await natalia.locator(row(NAMES[0])).evaluate((el) => getComputedStyle(el).fontWeight)).to.equal('700');
    expect(await natalia.locator(row(NAMES[0])).getByTestId('unread-marker').textContent()).to.contain('новая');
    await screenshot(natalia, 'workspace-04-natalia-bold');
  });

  it('opening one makes it normal and the count 2; the keyboard moves and opens', async () => {
    await natalia.getByTestId('card-grid').focus();
    await natalia.keyboard.press('ArrowDown');
    const selected = await natalia.locator('[data-test="card-row"][aria-selected="true"]').getAttribute('data-title');
    await natalia.keyboard.press('Enter');
    await natalia.getByTestId('card-title').filter({ hasText: selected! }).waitFor();
    await natalia.getByTestId('card-new').waitFor();
    await badge(natalia).filter({ hasText: '2' }).waitFor();
    await natalia.getByTestId('back').click();
    await natalia.locator(row(selected!, false)).waitFor();
    expect(await natalia.locator('[data-test="card-row"][aria-selected="true"]').getAttribute('data-title')).to.equal(selected);
    ids.opened = selected!;
    await screenshot(natalia, 'workspace-05-natalia-opened-one');
  });

  it('Татьяна edits the phone: Наталья sees the card bold again and the phone highlighted', async () => {
    const title = ids.opened;
    await openCard(tatiana, title);
    await tatiana.getByTestId('edit').click();
    await tatiana.getByTestId('input-phone').fill('+7 495 222-22-22');
    await tatiana.getByTestId('save').click();
    await tatiana.getByTestId('value-phone').filter({ hasText: '222' }).waitFor();
    await natalia.locator(row(title, true)).waitFor();
    expect(await natalia.locator(row(title)).getByTestId('unread-marker').textContent()).to.contain('изменена');
    await badge(natalia).filter({ hasText: '3' }).waitFor();
    await screenshot(natalia, 'workspace-06-natalia-changed-bold');
    await openCard(natalia, title);
    expect(await natalia.getByTestId('view-phone').getAttribute('data-changed')).to.equal('true');
    expect(await natalia.getByTestId('view-name').getAttribute('data-changed')).to.equal(null);
    await screenshot(natalia, 'workspace-07-natalia-phone-highlighted');
  });

  it("«Отметить папку прочитанной» asks first; confirmed, the folder's cards are normal and its count gone", async () => {
    const boldRows = natalia.locator('[data-test="card-row"][data-unread="true"]');
    await openFolder(natalia);
    await boldRows.first().waitFor();
    const bold = await boldRows.count();
    natalia.once('dialog', (dialog) => void dialog.dismiss());
    await natalia.getByTestId('mark-folder-read').click();
    await badge(natalia).waitFor();
    expect(await boldRows.count()).to.equal(bold);
    let asked = '';
    natalia.once('dialog', (dialog) => {
      asked = dialog.message();
      void dialog.accept();
    });
    await natalia.getByTestId('mark-folder-read').click();
    for (const name of NAMES) await natalia.locator(row(name, false)).waitFor();
    await badge(natalia).waitFor({ state: 'detached' });
    await natalia.getByTestId('mark-folder-read').waitFor({ state: 'detached' });
    expect(asked).to.contain('Отметить прочитанными все карточки папки');
    // The next steps go on from the card Татьяна edited.
    await openCard(natalia, ids.opened);
  });

  it('with history on and Наталья a history reader, her «История» tab shows the phone change old → new', async () => {
    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { historyEnabled } }');
    const group = (await admin.data<{ groups: { id: string; systemRole: string | null }[] }>('{ groups { id systemRole } }')).groups.find(
      (g) => g.systemRole === 'history-readers',
    )!;
    await admin.data('mutation($id: ID!, $u: [ID!]) { changeGroupMembers(id: $id, add: $u) { id } }', { id: group.id, u: [ids.nvakulenko] });
    // Татьяна's card page also reloads types, so her next save is recorded.
    await tatiana.reload();
    await tatiana.getByTestId('edit').click();
    await tatiana.getByTestId('input-phone').fill('+7 495 333-33-33');
    await tatiana.getByTestId('save').click();
    await tatiana.getByTestId('value-phone').filter({ hasText: '333' }).waitFor();
    // Her rights changed on the server: Наталья's page picks them up on the next load.
    await natalia.reload();
    await natalia.getByTestId('card-tab-history').click();
    const change = natalia.getByTestId('history-change-phone').first();
    await change.waitFor();
    expect((await change.getByTestId('history-before').textContent())!.replace(/\D/g, '')).to.equal('74952222222');
    expect((await change.getByTestId('history-after').textContent())!.replace(/\D/g, '')).to.equal('74953333333');
    expect(await natalia.getByTestId('history-entry').first().textContent()).to.contain('Татьяна Гончаренко');
    await screenshot(natalia, 'workspace-08-natalia-history');
  });

  it('a read-only user sees no edit, create or delete controls', async () => {
    const reader = await signIn('reader');
    await openFolder(reader);
    await reader.locator(row(NAMES[1])).waitFor();
    expect(await reader.getByTestId('create').count()).to.equal(0);
    await openCard(reader, NAMES[1]);
    await reader.getByTestId('card-fields').waitFor();
    for (const control of ['edit', 'move', 'delete', 'related-new']) expect(await reader.getByTestId(control).count(), control).to.equal(0);
    await reader.getByTestId('card-tab-contacts').click();
    await reader.getByTestId('related-contacts').waitFor();
    expect(await reader.getByTestId('related-new').count()).to.equal(0);
    await screenshot(reader, 'workspace-09-read-only');
  });

  it("a contact person created from the counterparty's «Контактные лица» tab appears in that tab", async () => {
    const title = ids.opened;
    await tatiana.getByTestId('card-tab-contacts').click();
    await tatiana.getByTestId('related-empty').waitFor();
    await tatiana.getByTestId('related-new').click();
    await tatiana.getByTestId('card-form').waitFor();
    await tatiana.getByTestId('picked-counterparty').filter({ hasText: title }).waitFor();
    await tatiana.getByTestId('input-fullName').fill('Иван Петров');
    await tatiana.getByTestId('input-position').fill('Директор');
    await screenshot(tatiana, 'workspace-10-new-contact-prefilled');
    await tatiana.getByTestId('save').click();
    await tatiana.getByTestId('card-title').filter({ hasText: title }).waitFor();
    await tatiana.getByTestId('related-row').filter({ hasText: 'Иван Петров' }).waitFor();
    expect(await tatiana.getByTestId('related-row').first().textContent()).to.contain('Директор');
    await screenshot(tatiana, 'workspace-11-contact-in-tab');
  });

  it('after the counterparty goes to the trash, its contact shows it as such and still saves', async () => {
    const counterparty = ids.opened;
    const found = await admin.data<{ search: { card: { id: string; title: string } }[] }>('query($q: String!) { search(query: $q) { card { id title } } }', { q: counterparty });
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: found.search.find((hit) => hit.card.title === counterparty)!.card.id });
    await tatiana.getByTestId('back').click();
    await openCard(tatiana, 'Иван Петров');
    await tatiana
      .getByTestId('value-counterparty')
      .filter({ hasText: `${counterparty} (в корзине)` })
      .waitFor();
    await tatiana.getByTestId('edit').click();
    await tatiana.getByTestId('input-position').fill('Генеральный директор');
    await tatiana.getByTestId('save').click();
    await tatiana.getByTestId('value-position').filter({ hasText: 'Генеральный директор' }).waitFor();
    expect(await tatiana.getByTestId('value-counterparty').textContent()).to.contain('(в корзине)');
    await screenshot(tatiana, 'workspace-12-reference-in-trash');
  });

  it('in the history of a card moved out of a folder Наталья cannot see, that folder reads «нет доступа»', async () => {
    const libraryId = (await admin.data<{ libraries: { id: string }[] }>('{ libraries { id } }')).libraries[0].id;
    const closed = await createFolder(admin, { libraryId, name: 'Закрытая папка', allowedCardTypes: ['counterparty'] });
    const card = await admin.data<{ createCard: { id: string; version: number } }>(
      'mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Переезд»" }) { id version } }',
      { f: closed },
    );
    await admin.data('mutation($id: ID!, $f: ID!, $v: Int!) { moveCard(id: $id, folderId: $f, version: $v) { id } }', {
      id: card.createCard.id,
      f: ids.folder,
      v: card.createCard.version,
    });
    await natalia.getByTestId('back').click();
    await openCard(natalia, 'ООО «Переезд»');
    await natalia.getByTestId('card-tab-history').click();
    const change = natalia.getByTestId('history-change-folder').first();
    await change.waitFor();
    expect(await change.getByTestId('history-before').textContent()).to.equal('нет доступа');
    expect(await change.getByTestId('history-after').textContent()).to.equal(FOLDER);
    expect(await natalia.getByTestId('history').textContent()).to.not.contain('Закрытая папка');
    await screenshot(natalia, 'workspace-13-history-hidden-folder');
  });

  it('while cards stored before an upgrade are still given their words, search says its results may be incomplete', async () => {
    // The search-words job as another instance runs it (its lease held): this server leaves it be.
    const job = await Job.create({
      type: 'search-words',
      state: 'running',
      progress: { done: 250, total: 1000 },
      lease: { holder: 'another-instance', until: new Date(Date.now() + 3_600_000) },
    });
    await natalia.goto(`${server.url}/search?q=${encodeURIComponent('Переезд')}`);
    await natalia.getByTestId('search-hit').filter({ hasText: 'ООО «Переезд»' }).waitFor();
    const note = natalia.getByTestId('search-indexing');
    expect(await note.textContent())
      .to.contain('(25 %)')
      .and.contain('результаты могут быть неполными');
    await screenshot(natalia, 'workspace-14-search-indexing');

    await Job.updateOne({ _id: job._id }, { $set: { state: 'succeeded', 'lease.holder': null, 'lease.until': null } });
    await natalia.getByTestId('search-page-input').fill('ООО');
    await note.waitFor({ state: 'detached' });
    expect(await natalia.getByTestId('search-hit').count()).to.be.greaterThan(0);
  });

  it('«Переместить» is unavailable, with the reason, while no other folder takes the card; given one, it moves there', async () => {
    const tatianaAlone = await signIn('tgoncharenko');
    await openFolder(tatianaAlone);
    await openCard(tatianaAlone, 'ООО «Переезд»');
    const move = tatianaAlone.getByTestId('move');
    // «Закрытая папка» takes counterparties but is not hers; no other folder of hers takes them.
    await tatianaAlone.locator('[data-test="move"][disabled]').waitFor();
    const reason = 'Переместить некуда: нет другой папки для карточек этого типа, где вы можете их создавать';
    expect(await move.getAttribute('title')).to.equal(reason);
    const describedBy = (await move.getAttribute('aria-describedby'))!;
    expect(await tatianaAlone.locator(`[id="${describedBy}"]`).textContent()).to.equal(reason);
    const libraryId = (await admin.data<{ libraries: { id: string }[] }>('{ libraries { id } }')).libraries[0].id;
    const spare = await createFolder(admin, { libraryId, name: 'Запасная', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, spare, [{ principalId: ids.tgoncharenko!, level: 'edit' }]);
    // The new folder reaches her tree live; the button follows.
    await tatianaAlone.getByTestId('folder-Запасная').waitFor();
    await tatianaAlone.locator('[data-test="move"]:not([disabled])').waitFor();
    expect(await move.getAttribute('title')).to.equal(null);
    await move.click();
    const dialog = tatianaAlone.getByTestId('move-dialog');
    await dialog.waitFor();
    const offered = (await dialog.locator('option').allTextContents()).filter((text) => text.trim() !== '');
    expect(offered).to.have.length(1);
    expect(offered[0]).to.match(/ \/ Запасная$/);
    await dialog.getByTestId('move-target').selectOption(spare);
    await dialog.getByTestId('move-submit').click();
    await dialog.waitFor({ state: 'detached' });
    const moved = await admin.data<{ search: { card: { title: string; folderId: string } }[] }>('query($q: String!) { search(query: $q) { card { title folderId } } }', {
      q: 'ООО «Переезд»',
    });
    expect(moved.search.find((hit) => hit.card.title === 'ООО «Переезд»')?.card.folderId).to.equal(spare);
  });
});
