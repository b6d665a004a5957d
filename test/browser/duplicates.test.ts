import { expect } from 'chai';
import { selectors, type Browser, type Page } from 'playwright-core';
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { describeInBrowser, launchChromium, screenshot } from '../support/browser';
import { addToSystemGroup, createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { pdfWithText, uploadFile } from '../support/files';
import { signInThroughUi } from './ui';
import { signedIn, startTestServer, TEST_ADMIN } from '../support/server';
import { waitFor } from '../support/wait';
import { holdMergeJobs } from '../support/merge-jobs';
import { holdJobs } from '../support/held-jobs';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }';

describeInBrowser('duplicates: the warning in the form, the «Дубликаты» page, the merge dialog and undo (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let tatiana: ApiClient;
  let admin: ApiClient;
  const ids: Record<string, string> = {};

  const group = () => page.getByTestId('duplicate-group').filter({ has: page.locator('[data-test="group-card"][data-title="ООО \\"Ромашка\\""]') });

  before(async () => {
    selectors.setTestIdAttribute('data-test');
    await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'reader', fullName: 'Игорь Орлов', level: 'read' },
    ]);
    ids.folder = scenario.folderId;
    ids.library = scenario.libraryId;
    ids.tatiana = scenario.userIds.tgoncharenko;
    tatiana = await signedIn(server, 'tgoncharenko', PASSWORD);
    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { historyEnabled } }');
    await addToSystemGroup(admin, 'history-readers', [scenario.userIds.tgoncharenko]);
    const create = async (type: string, values: Record<string, unknown>) =>
      (await tatiana.data<{ createCard: { id: string } }>(CREATE, { f: ids.folder, t: type, v: values })).createCard.id;
    ids.a = await create('counterparty', { name: 'ООО "Ромашка"', inn: '7707083893', phone: '+7 495 111-11-11', tags: ['VIP'] });
    ids.b = await create('counterparty', { name: 'Ромашка ООО', email: 'info@romashka.ru', phone: '+7 495 222-22-22', tags: ['опт'] });
    ids.contact = await create('contact-person', { fullName: 'Иванов Иван', counterparty: ids.b });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signInThroughUi(page, server.url, 'tgoncharenko', PASSWORD);
    await page.getByTestId('folder-tree').waitFor();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('warns of «Похожие карточки» while a name is typed, each a link, and still saves', async () => {
    await page.goto(`${server.url}/folders/${ids.folder}/cards/new?type=counterparty`);
    await page.getByTestId('card-form').waitFor();
    await page.getByTestId('input-name').fill('ромашка');
    const region = page.getByRole('region', { name: 'Похожие карточки' });
    await region.getByTestId('similar-card').nth(1).waitFor();
    // One level below the form's title (s11 user U5: an h3 with no h2 above it).
    expect(await region.getByRole('heading', { level: 2 }).textContent()).to.equal('Похожие карточки');
    const links = await region.getByTestId('similar-card-link').evaluateAll((list) => list.map((a) => [a.textContent?.trim(), a.getAttribute('href')]));
    expect(links).to.have.deep.members([
      ['ООО "Ромашка"', `/folders/${ids.folder}/cards/${ids.a}`],
      ['Ромашка ООО', `/folders/${ids.folder}/cards/${ids.b}`],
    ]);
    expect(await region.getByTestId('similar-card').first().textContent())
      .to.contain('Наименование: похоже')
      .and.contain('сходство 100 %');
    await screenshot(page, 'duplicates-01-warning');
    expect(await region.getByTestId('similar-hint').textContent()).to.contain('Сохранить всё равно можно');
    // The same INN as a card holds: the warning says the save will be refused, and why.
    await page.getByTestId('input-inn').fill('7707083893');
    await region.getByTestId('similar-refused').waitFor();
    expect(await region.getByTestId('similar-refused-by').textContent()).to.contain('уже есть: ИНН — сохранение будет отклонено');
    await page.getByTestId('input-inn').fill('');
    await region.getByTestId('similar-hint').waitFor();
    await page.getByTestId('input-name').fill('Ромашка, ООО');
    await page.getByTestId('save').click();
    await page.getByTestId('card-title').filter({ hasText: 'Ромашка, ООО' }).waitFor();
  });

  it('lists the group on the «Дубликаты» page with its score and rule', async () => {
    await page.getByTestId('nav-duplicates').click();
    await page.getByRole('heading', { name: 'Дубликаты', level: 1 }).waitFor();
    await group().waitFor();
    // The page's two search landmarks are told apart by name (s11 user U5).
    expect(await page.getByRole('search', { name: 'Поиск групп дубликатов' }).count()).to.equal(1);
    expect(await page.getByRole('search', { name: 'Поиск по карточкам' }).count()).to.equal(1);
    expect(await group().getByTestId('group-card').count()).to.equal(3);
    // Each group is told apart by its first card's title, in its heading and in its «Объединить…» button's name.
    const first = await group().getByTestId('group-card').first().getAttribute('data-title');
    expect(await group().getByRole('heading').textContent()).to.equal(`«${first}» и похожие: Контрагент, сходство 100 %`);
    expect(
      await group()
        .getByRole('button', { name: `Объединить… группу «${first}»` })
        .textContent(),
    ).to.equal('Объединить…');
    expect(await group().getByTestId('group-rules').textContent()).to.equal('Совпадение: Наименование: похоже');
    await screenshot(page, 'duplicates-02-groups');
  });

  it('«Найти дубликаты» from the page, for administrators: its progress gives way to a result line, and the button can start the next scan', async () => {
    // An editor is told groups are kept current and who starts the search among all cards; no button.
    expect(await page.getByTestId('find-duplicates').count()).to.equal(0);
    expect(await page.getByTestId('find-duplicates-admin-only').textContent()).to.equal(
      'Группы обновляются сами при каждом изменении карточек; поиск по всем карточкам заново запускает администратор.',
    );
    const adminPage = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signInThroughUi(adminPage, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
    await adminPage.goto(`${server.url}/duplicates`);
    const find = adminPage.getByTestId('find-duplicates');
    await find.click();
    const result = adminPage.getByTestId('scan-result');
    await result.waitFor();
    expect(await result.textContent()).to.match(/^Поиск дубликатов закончен: проверено карточек \d+$/);
    expect(await adminPage.getByTestId('scan-progress').count()).to.equal(0);
    expect(await find.isEnabled()).to.equal(true);
    const status = adminPage.getByTestId('scan-status').locator('li');
    const statusLine = (pattern: string) =>
      adminPage.waitForFunction((source) => [...document.querySelectorAll('[data-test="scan-status"] li')].some((li) => new RegExp(source).test(li.textContent ?? '')), pattern);
    await statusLine('^Контрагент: проверено ');
    // The next scan starts from the same button; while it runs, the lines say so, not when the previous one ended.
    const releaseScan = holdJobs('duplicate-scan');
    try {
      await find.click();
      await adminPage.getByTestId('scan-progress').waitFor();
      await statusLine('^Контрагент: идёт полная проверка');
      const running = await status.allTextContents();
      expect(running.filter((line) => line.startsWith('Контрагент'))).to.deep.equal(['Контрагент: идёт полная проверка, групп сейчас: 1']);
      expect(running.some((line) => /проверено|закончен/.test(line))).to.equal(false);
      expect(await adminPage.getByTestId('scan-result').count()).to.equal(0);
    } finally {
      releaseScan();
    }
    await adminPage.getByTestId('scan-result').waitFor();
    expect(await find.isEnabled()).to.equal(true);
    expect((await status.allTextContents()).find((line) => line.startsWith('Контрагент'))).to.match(/^Контрагент: проверено .+, групп: 1$/);
    // Why a switchboard of many cards makes no group: the rule is on the page.
    expect(await adminPage.getByTestId('common-rule').textContent()).to.include('больше чем у 20 карточек одного типа');
    await adminPage.context().close();
    await group().waitFor();
  });

  it('merges in the dialog: the survivor, a value per field, tags united; the merged cards are marked in the trash', async () => {
    await group().getByTestId('merge').click();
    const dialog = page.getByRole('dialog', { name: 'Объединение карточек' });
    await dialog.getByTestId(`merge-survivor-${ids.a}`).check();
    await dialog.getByTestId(`merge-choice-email-${ids.b}`).waitFor();
    expect(await dialog.getByTestId(`merge-choice-email-${ids.b}`).isChecked()).to.equal(true);
    expect(await dialog.getByTestId('merge-field-tags').getByTestId('merge-united').textContent()).to.equal('объединяются: VIP, опт');
    // The keyboard reaches the choices: the phone of «Ромашка ООО» is taken with Space.
    await dialog.getByLabel('Значение «Телефон» из карточки «Ромашка ООО»').focus();
    await page.keyboard.press('Space');
    await screenshot(page, 'duplicates-03-merge-dialog');
    await dialog.getByTestId('merge-submit').click();
    await page.getByTestId('duplicates-notice').filter({ hasText: 'Карточки объединены в «ООО "Ромашка"»; ссылок перенаправлено: 1' }).waitFor();
    await page.getByTestId('duplicates-empty').waitFor();
    await screenshot(page, 'duplicates-04-merged');

    await page.getByTestId('merge-survivor-link').click();
    await page.getByTestId('card-title').filter({ hasText: 'ООО "Ромашка"' }).waitFor();
    expect(await page.getByTestId('card-changed').count(), 'her own merge is not news to her').to.equal(0);
    expect(await page.getByTestId('value-tags').textContent())
      .to.contain('VIP')
      .and.contain('опт');
    expect(await page.getByTestId('value-phone').textContent()).to.contain('222');
    expect(await page.getByTestId('value-email').textContent()).to.contain('info@romashka.ru');
    // The survivor's history names the merged cards by their titles, not by their ids.
    await page.getByTestId('card-tab-history').click();
    const joined = page.getByTestId('history-change-mergedFrom').first();
    await joined.waitFor();
    const after = (await joined.getByTestId('history-after').textContent()) ?? '';
    expect(after).to.contain('Ромашка ООО').and.contain('Ромашка, ООО');
    expect(after).to.not.match(/[0-9a-f]{24}/);

    await page.getByTestId('nav-trash').click();
    const merged = page.getByTestId('trash-row').filter({ hasText: 'Ромашка, ООО' });
    expect(await merged.getByTestId('trash-merged').textContent())
      .to.contain('Карточка объединена с')
      .and.contain('ООО "Ромашка"');

    // A reader of the folder opens the merged card: the mark and the link, no undo.
    const readerPage = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    try {
      await signInThroughUi(readerPage, server.url, 'reader', PASSWORD);
      await readerPage.goto(`${server.url}/folders/${ids.folder}/cards/${ids.b}`);
      await readerPage.getByTestId('merged-into-link').waitFor();
      expect(await readerPage.getByTestId('merged-into').textContent()).to.contain('Карточка объединена с');
      expect(await readerPage.getByTestId('merged-into-link').textContent()).to.equal('ООО "Ромашка"');
      expect(await readerPage.getByTestId('undo-merge').count()).to.equal(0);
      await screenshot(readerPage, 'duplicates-05-merged-card-reader');
    } finally {
      await readerPage.context().close();
    }
  });

  it('undoes the merge from the merged card: both cards and the contact person’s «Контрагент» come back, and so does the group', async () => {
    await page.goto(`${server.url}/folders/${ids.folder}/cards/${ids.b}`);
    await page.getByTestId('card-in-trash').waitFor();
    expect(await page.getByTestId('merged-into-link').textContent()).to.equal('ООО "Ромашка"');
    await screenshot(page, 'duplicates-05-merged-card');
    // «Восстановить» would leave the merge half-undone: it says to undo the merge instead.
    await page.getByTestId('restore').click();
    const refusal = page.getByRole('alert').filter({ hasText: 'Отменить объединение' });
    await refusal.waitFor();
    expect(await refusal.textContent()).to.equal(
      'Карточка объединена с «ООО "Ромашка"»: чтобы вернуть её, нажмите «Отменить объединение» на странице карточки — вернутся и её значения, файлы и ссылки',
    );
    expect(await page.getByTestId('card-in-trash').isVisible()).to.equal(true);
    await page.getByTestId('undo-merge').click();
    await page.getByTestId('card-actions').waitFor();
    expect(await page.getByTestId('card-title').textContent()).to.equal('Ромашка ООО');
    const contact = (await tatiana.data<{ card: { values: { counterparty: string } } }>('query($id: ID!) { card(id: $id) { values } }', { id: ids.contact })).card;
    expect(contact.values.counterparty).to.equal(ids.b);
    await page.getByTestId('nav-duplicates').click();
    await group().waitFor();
    expect(await group().getByTestId('group-card').count()).to.equal(3);
    await screenshot(page, 'duplicates-06-undone');
  });

  /** Each of these contact persons refers to the card. */
  const expectCounterparty = async (contacts: string[], id: string) => {
    for (const contact of contacts) {
      const found = (await tatiana.data<{ card: { values: { counterparty: string } } }>('query($id: ID!) { card(id: $id) { values } }', { id: contact })).card;
      expect(found.values.counterparty).to.equal(id);
    }
  };

  it('marks look-alike letters in the merge dialog; a large merge and its undo show their progress, the undo’s not stoppable halfway', async () => {
    const create = async (type: string, values: Record<string, unknown>) =>
      (await tatiana.data<{ createCard: { id: string } }>(CREATE, { f: ids.folder, t: type, v: values })).createCard.id;
    const cyrillic = await create('counterparty', { name: 'ООО «Комета»' });
    // «OOO «Koмeтa»»: Latin O, K, e and a among the Cyrillic letters.
    const latin = await create('counterparty', { name: 'OOO «Ko\u043ce\u0442a»' });
    const contacts: string[] = [];
    for (let i = 1; i <= 3; i += 1) contacts.push(await create('contact-person', { fullName: `Сотрудник Кометы ${i}`, counterparty: latin }));
    await page.goto(`${server.url}/duplicates`);
    const comet = page.getByTestId('duplicate-group').filter({ has: page.locator('[data-test="group-card"][data-title="ООО «Комета»"]') });
    // The group list marks the look-alike letters too, the hint describing the card's link.
    const listed = comet.getByTestId(`group-lookalike-${latin}`);
    await listed.waitFor();
    const hint = 'отличается: латинская O, латинская K, латинская o, латинская e, латинская a';
    expect(await listed.getByTestId('look-alike-hint').textContent()).to.equal(hint);
    expect(await listed.getByTestId('look-alike-char').allTextContents()).to.deep.equal(['O', 'O', 'O', 'K', 'o', 'e', 'a']);
    const described = await listed.getByRole('link', { name: 'OOO «Koмeтa»' }).getAttribute('aria-describedby');
    expect(await page.locator(`[id="${described}"]`).textContent()).to.equal(hint);
    expect(await comet.getByTestId(`group-lookalike-${cyrillic}`).getByTestId('look-alike-hint').textContent()).to.contain('кириллическая О');
    await comet.getByTestId('merge').click();
    const dialog = page.getByRole('dialog', { name: 'Объединение карточек' });
    const latinName = dialog.getByTestId(`merge-lookalike-name-${latin}`);
    await latinName.waitFor();
    expect(await latinName.getByTestId('look-alike-hint').textContent()).to.equal('отличается: латинская O, латинская K, латинская o, латинская e, латинская a');
    expect(await latinName.getByTestId('look-alike-char').allTextContents()).to.deep.equal(['O', 'O', 'O', 'K', 'o', 'e', 'a']);
    expect(await dialog.getByTestId(`merge-lookalike-name-${cyrillic}`).getByTestId('look-alike-hint').textContent()).to.contain('кириллическая О');
    expect(await dialog.getByTestId(`merge-lookalike-title-${latin}`).getByTestId('look-alike-hint').textContent()).to.contain('латинская a');
    await screenshot(page, 'duplicates-07-look-alikes');

    // More references than a merge re-points within the request (lowered for the test): a job, with progress.
    let release = holdMergeJobs('card-unmerge', 2);
    try {
      await dialog.getByTestId(`merge-survivor-${cyrillic}`).check();
      await dialog.getByTestId(`merge-choice-name-${cyrillic}`).check();
      await dialog.getByTestId('merge-submit').click();
      await page.getByTestId('duplicates-notice').filter({ hasText: 'Карточки объединены в «ООО «Комета»»; ссылок перенаправлено: 3' }).waitFor();
      await page.getByTestId('undo-merge').click();
      // The undo's job is held running: its progress is shown, and why it cannot be stopped.
      const progress = page.getByRole('group', { name: 'Возвращение ссылок' });
      await progress.getByTestId('job-not-cancellable').waitFor();
      expect(await progress.getByTestId('job-not-cancellable').textContent()).to.contain('нельзя остановить на полпути');
      expect(await page.getByTestId('duplicates-notice').textContent()).to.contain('ссылок на них много, они возвращаются в фоне');
      await screenshot(page, 'duplicates-08-undo-progress');
    } finally {
      release();
    }
    await page.getByTestId('duplicates-notice').filter({ hasText: 'Объединение отменено: карточки и ссылки восстановлены' }).waitFor();
    await page.getByTestId('undo-progress').waitFor({ state: 'detached' });
    await expectCounterparty(contacts, latin);

    // Merged again, and undone from the merged card's page: the notice shows the job's progress
    // until the references are back, the card itself shown restored at once.
    const version = async (id: string) => (await tatiana.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id })).card.version;
    const MERGE = 'mutation($s: CardVersionInput!, $m: [CardVersionInput!]!) { mergeCards(survivor: $s, merged: $m, choices: []) { job { id } } }';
    release = holdMergeJobs('card-unmerge', 2);
    try {
      const started = await tatiana.data<{ mergeCards: { job: { id: string } | null } }>(MERGE, {
        s: { id: cyrillic, version: await version(cyrillic) },
        m: [{ id: latin, version: await version(latin) }],
      });
      const JOB = 'query($id: ID!) { job(id: $id) { state } }';
      await waitFor(async () => (await tatiana.data<{ job: { state: string } }>(JOB, { id: started.mergeCards.job!.id })).job.state === 'succeeded', 'the merge job');
      await page.goto(`${server.url}/folders/${ids.folder}/cards/${latin}`);
      await page.getByTestId('undo-merge').click();
      const notice = page.getByTestId('merged-into');
      await notice.getByTestId('undo-progress').getByTestId('job-not-cancellable').waitFor();
      expect(await notice.getByTestId('undo-in-progress').textContent()).to.contain('они возвращаются в фоне');
      await screenshot(page, 'duplicates-09-undo-progress-on-card');
    } finally {
      release();
    }
    await page.getByTestId('merged-into').waitFor({ state: 'detached' });
    // The restored card's own actions come back once its page has read it again.
    await page.getByTestId('card-actions').waitFor();
    await expectCounterparty(contacts, latin);
    // The group of the two leaves the page as it was for the next test.
    await tatiana.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: latin });
  });

  it('shows both contracts’ scans by name in the merge dialog, unites them in the survivor, and the undo gives each its own', async () => {
    const contracts = await createFolder(admin, { libraryId: ids.library, name: 'Договоры', allowedCardTypes: ['contract', 'counterparty'] });
    await setFolderAccess(admin, contracts, [{ principalId: ids.tatiana, level: 'full' }]);
    await admin.data('mutation { setDuplicateRules(typeKey: "contract", threshold: 0.85, rules: [{ id: "number", fields: ["number"], mode: exact }]) { typeKey } }');
    const counterparty = (await tatiana.data<{ createCard: { id: string } }>(CREATE, { f: contracts, t: 'counterparty', v: { name: 'АО «Вектор»' } })).createCard.id;
    const contract = async (name: string, date: string) => {
      const upload = await uploadFile(tatiana, server.url, { folderId: contracts, typeKey: 'contract', field: 'scan' }, { name, content: await pdfWithText(`Scan of ${date}`) });
      expect(upload.status).to.equal(201);
      return (await tatiana.data<{ createCard: { id: string } }>(CREATE, { f: contracts, t: 'contract', v: { number: 'Д-17', date, counterparty, scan: [upload.body.file!.id] } }))
        .createCard.id;
    };
    const first = await contract('Договор Д-17.pdf', '2026-11-02');
    const second = await contract('Договор Д-17 подписанный.pdf', '2026-11-03');
    await page.goto(`${server.url}/duplicates`);
    // Only the contracts' groups: the pair is found without paging through the others.
    await page.getByTestId('duplicates-type').selectOption({ label: 'Договор' });
    const pair = page.getByTestId('duplicate-group').filter({ hasText: 'Д-17' });
    await pair.waitFor();
    await waitFor(async () => (await page.getByTestId('duplicate-group').count()) === 1, 'the list to show the contracts’ group alone');
    await pair.getByTestId('merge').click();
    const dialog = page.getByRole('dialog', { name: 'Объединение карточек' });
    const scans = dialog.getByTestId('merge-field-scan').getByTestId('merge-united');
    await scans.filter({ hasText: 'Договор Д-17 подписанный.pdf' }).waitFor();
    // The survivor's files first, then the other's.
    await dialog.getByTestId(`merge-survivor-${first}`).check();
    expect(await scans.textContent()).to.equal('объединяются: Договор Д-17.pdf, Договор Д-17 подписанный.pdf');
    await dialog.getByTestId('merge-submit').click();
    await page.getByTestId('duplicates-notice').filter({ hasText: 'Карточки объединены' }).waitFor();

    await page.goto(`${server.url}/folders/${contracts}/cards/${first}`);
    const files = page.getByTestId('card-fields');
    await files.getByText('Договор Д-17 подписанный.pdf').first().waitFor();
    await files.getByText('Договор Д-17.pdf', { exact: true }).first().waitFor();
    await page.goto(`${server.url}/folders/${contracts}/cards/${second}`);
    await page.getByTestId('undo-merge').click();
    await page.getByTestId('merged-into').waitFor({ state: 'detached' });
    await page.getByTestId('card-actions').waitFor();
    await page.getByTestId('card-fields').getByText('Договор Д-17 подписанный.pdf').first().waitFor();
    const survivor = await tatiana.data<{ card: { files: { name: string }[] } }>('query($id: ID!) { card(id: $id) { files { name } } }', { id: first });
    expect(survivor.card.files.map((file) => file.name)).to.deep.equal(['Договор Д-17.pdf']);
    // The group of the two leaves the page as it was for the next test.
    await tatiana.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: second });
  });

  it('keeps the pages shown after a merge: the list does not jump back to its first page', async () => {
    const pairs = 33;
    const create = async (name: string) => (await tatiana.data<{ createCard: { id: string } }>(CREATE, { f: ids.folder, t: 'counterparty', v: { name } })).createCard.id;
    let last = '';
    for (let i = 1; i <= pairs; i += 1) {
      await create(`ООО «Пара ${i}»`);
      last = await create(`Пара ${i}, ООО`);
    }
    await page.goto(`${server.url}/duplicates`);
    await page.getByTestId('duplicate-group').first().waitFor();
    await page.getByTestId('duplicates-more').click();
    const lastGroup = page.getByTestId('duplicate-group').filter({ has: page.locator(`[data-test="group-card"][data-title="Пара ${pairs}, ООО"]`) });
    await lastGroup.waitFor();
    const shown = await page.getByTestId('duplicate-group').count();
    expect(shown).to.equal(pairs + 1);
    await lastGroup.getByTestId('merge').click();
    const dialog = page.getByRole('dialog', { name: 'Объединение карточек' });
    await dialog.getByTestId(`merge-survivor-${last}`).check();
    await dialog.getByTestId('merge-submit').click();
    const notice = page.getByTestId('duplicates-notice').filter({ hasText: 'Карточки объединены в «Пара' });
    await notice.waitFor();
    // The merged group is gone at once, the other pages stay, and the outcome with its undo is where the user is: focused, in view.
    expect(await lastGroup.count()).to.equal(0);
    expect(await page.getByTestId('duplicate-group').count()).to.equal(shown - 1);
    expect(await notice.evaluate((el) => document.activeElement === el)).to.equal(true);
    const inView = await notice.evaluate((el) => {
      const box = el.getBoundingClientRect();
      return box.top >= 0 && box.bottom <= window.innerHeight;
    });
    expect(inView).to.equal(true);
    expect(await notice.getByTestId('undo-merge').isVisible()).to.equal(true);
  });

  /** A group mixing one man entered twice (his company, his phone) with two namesakes of other companies (s10 verify U13). */
  const namesakes: Record<string, string> = {};
  const namesakeGroup = () => page.getByTestId('duplicate-group').filter({ has: page.locator(`[data-test="group-card"] a[href$="${namesakes.a}"]`) });
  const groupCardIds = () =>
    namesakeGroup()
      .getByTestId('group-card')
      .evaluateAll((list) => list.map((li) => li.querySelector('a')?.getAttribute('href')?.split('/').at(-1)));

  it('«Не дубликат» at a namesake in a larger group, named by what tells it apart, sets it apart from all the others: the rest stays a group, as a new scan finds it', async () => {
    const create = async (type: string, values: Record<string, unknown>) =>
      (await tatiana.data<{ createCard: { id: string } }>(CREATE, { f: ids.folder, t: type, v: values })).createCard.id;
    const deneb = await create('counterparty', { name: 'ООО «Денеб»' });
    const procyon = await create('counterparty', { name: 'ООО «Процион»' });
    const vega = await create('counterparty', { name: 'ООО «Вега-Трейд»' });
    namesakes.a = await create('contact-person', { fullName: 'Петров Иван', counterparty: deneb, phone: '+7 916 100-00-11' });
    namesakes.b = await create('contact-person', { fullName: 'Иван Петров', counterparty: deneb, phone: '8 (916) 100-00-11' });
    namesakes.c = await create('contact-person', { fullName: 'Иван Петров', counterparty: procyon, phone: '+7 916 101-00-17' });
    namesakes.d = await create('contact-person', { fullName: 'Иван Петров', counterparty: vega, phone: '+7 916 102-00-21' });
    await page.goto(`${server.url}/duplicates?card=${namesakes.a}`);
    await namesakeGroup().getByTestId('group-card').nth(3).waitFor();
    // Every card of a group of more than two has the button, named by the card's company and phone.
    expect(await namesakeGroup().getByTestId('not-duplicate').count()).to.equal(4);
    await namesakeGroup().getByRole('button', { name: '«Иван Петров (ООО «Вега-Трейд» · +7 916 102 00 21)» — не дубликат остальных карточек группы' }).click();
    await page
      .getByTestId('duplicates-notice')
      .filter({ hasText: '«Иван Петров (ООО «Вега-Трейд» · +7 916 102 00 21)» больше не будет предлагаться как дубликат остальных карточек группы (3)' })
      .waitFor();
    await waitFor(async () => (await namesakeGroup().getByTestId('group-card').count()) === 3, 'the namesake to leave the group');
    expect((await groupCardIds()).sort()).to.deep.equal([namesakes.a, namesakes.b, namesakes.c].sort());
    await screenshot(page, 'duplicates-07-namesake-set-apart');
    // A new scan finds the same group, without the namesake.
    const job = (await admin.data<{ findDuplicates: { id: string } }>('mutation { findDuplicates { id } }')).findDuplicates;
    await waitFor(async () => (await admin.data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id: job.id })).job.state === 'succeeded', 'the scan');
    const scanned = await tatiana.data<{ duplicateGroups: { edges: { node: { cards: { id: string }[] } }[] } }>(
      'query($c: ID) { duplicateGroups(cardId: $c) { edges { node { cards { id } } } } }',
      { c: namesakes.a },
    );
    expect(scanned.duplicateGroups.edges.map((edge) => edge.node.cards.map((card) => card.id).sort())).to.deep.equal([[namesakes.a, namesakes.b, namesakes.c].sort()]);
  });

  it('leaves a namesake out of the merge: the dialog warns of different companies until it is unticked, two cards stay at least, and the one left out stays as it was', async () => {
    await namesakeGroup().getByTestId('merge').click();
    const dialog = page.getByRole('dialog', { name: 'Объединение карточек' });
    const warning = dialog.getByTestId('merge-warning');
    await warning.waitFor();
    expect(await warning.getByTestId('merge-warning-counterparty').textContent()).to.match(/^\s*Разные значения «Контрагент»: ООО «(Денеб|Процион)»; ООО «(Денеб|Процион)»\s*$/);
    expect(await warning.textContent()).to.contain('оставьте в объединении только настоящие дубликаты');
    await screenshot(page, 'duplicates-08-merge-namesakes');
    await dialog.getByTestId(`merge-include-${namesakes.c}`).uncheck();
    await warning.waitFor({ state: 'detached' });
    // The namesake is neither a column of values nor a choice of which card stays.
    expect(await dialog.getByTestId(`merge-survivor-${namesakes.c}`).count()).to.equal(0);
    expect(await dialog.locator('thead th').count()).to.equal(3);
    // Two cards are left: neither can be unticked.
    expect(await dialog.getByTestId(`merge-include-${namesakes.a}`).isDisabled()).to.equal(true);
    expect(await dialog.getByTestId(`merge-include-${namesakes.b}`).isDisabled()).to.equal(true);
    await dialog.getByTestId(`merge-survivor-${namesakes.a}`).check();
    await dialog.getByTestId('merge-submit').click();
    await page.getByTestId('duplicates-notice').filter({ hasText: 'Карточки объединены в «Петров Иван»' }).waitFor();
    const left = (await tatiana.data<{ card: { inTrash: boolean; mergedInto: unknown } }>('query($id: ID!) { card(id: $id) { inTrash mergedInto { id } } }', { id: namesakes.c }))
      .card;
    expect(left).to.deep.equal({ inTrash: false, mergedInto: null });
    const merged = (
      await tatiana.data<{ card: { inTrash: boolean; mergedInto: { id: string } } }>('query($id: ID!) { card(id: $id) { inTrash mergedInto { id } } }', { id: namesakes.b })
    ).card;
    expect(merged).to.deep.equal({ inTrash: true, mergedInto: { id: namesakes.a } });
    // The survivor and the namesake left out are still alike: offered as a pair.
    await page.reload();
    await waitFor(async () => (await namesakeGroup().getByTestId('group-card').count()) === 2, 'the survivor and the namesake as a pair');
    expect((await groupCardIds()).sort()).to.deep.equal([namesakes.a, namesakes.c].sort());
  });
});
