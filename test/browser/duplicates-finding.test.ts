import { expect } from 'chai';
import { selectors, type Browser, type Page } from 'playwright-core';
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { searchLimits } from '../../server/src/duplicates/groups';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { describeInBrowser, launchChromium, screenshot } from '../support/browser';
import { createCorrespondents } from '../support/fixtures';
import { signInThroughUi } from './ui';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }';

describeInBrowser('duplicates: a card’s group from its page, the search on «Дубликаты», «Не дубликат» listed and taken back (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let tatiana: ApiClient;
  const ids: Record<string, string> = {};

  const create = async (name: string) => (await tatiana.data<{ createCard: { id: string } }>(CREATE, { f: ids.folder, v: { name } })).createCard.id;
  const groupTitles = () => page.getByTestId('duplicate-group').evaluateAll((groups) => groups.map((group) => group.querySelector('h2')?.textContent ?? ''));

  before(async () => {
    selectors.setTestIdAttribute('data-test');
    await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
    server = await startTestServer();
    const admin: ApiClient = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', level: 'edit' }]);
    ids.folder = scenario.folderId;
    tatiana = await signedIn(server, 'tgoncharenko', PASSWORD);
    ids.a = await create('ООО «Ромашка»');
    ids.b = await create('Ромашка, ООО');
    ids.c = await create('Северный ветер');
    ids.d = await create('Северный ветерок');
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signInThroughUi(page, server.url, 'tgoncharenko', PASSWORD);
    await page.getByTestId('folder-tree').waitFor();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('gives an editor who is no administrator «Дубликаты» in the navigation, with the groups of their folders; the search among all cards is said to be an administrator’s', async () => {
    await page.getByTestId('nav-duplicates').click();
    await page.getByRole('heading', { name: 'Дубликаты', level: 1 }).waitFor();
    await page.getByTestId('duplicate-group').nth(1).waitFor();
    expect(await page.getByTestId('find-duplicates').count()).to.equal(0);
    expect(await page.getByTestId('find-duplicates-admin-only').textContent()).to.include('поиск по всем карточкам заново запускает администратор');
  });

  it('(s11 A4) says in the merge dialog why the editor, who may not delete, merges only the group’s cards', async () => {
    const romashka = page.getByTestId('duplicate-group').filter({ hasText: 'Ромашка' });
    await romashka.getByTestId('merge').click();
    const dialog = page.getByRole('dialog', { name: 'Объединение карточек' });
    const note = dialog.getByTestId(`merge-undeletable-${ids.b}`);
    await note.waitFor();
    expect(await note.textContent()).to.contain(
      'удалять карточки в папке «Корреспонденты» вы не можете, поэтому её можно объединить только с её возможными дубликатами — карточками этой группы',
    );
    expect(await dialog.getByTestId(`merge-undeletable-${ids.a}`).count()).to.equal(1);
    await screenshot(page, 'duplicates-finding-00-merge-undeletable');
    await dialog.getByTestId('merge-cancel').click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('leads from a card to its group: «Возможные дубликаты (1)», then back to all groups', async () => {
    await page.goto(`${server.url}/folders/${ids.folder}/cards/${ids.c}`);
    const link = page.getByTestId('card-duplicates-link');
    await link.waitFor();
    expect(await link.textContent()).to.equal('Возможные дубликаты (1)');
    await link.click();
    await page.getByTestId('card-group-filter').waitFor();
    await page.getByTestId('duplicate-group').first().waitFor();
    expect(await groupTitles()).to.have.length(1);
    expect((await groupTitles())[0]).to.match(/^«Северный ветер(ок)?» и похожие: Контрагент, сходство 78 %$/);
    await screenshot(page, 'duplicates-finding-01-card-group');
    await page.getByTestId('all-groups').click();
    await page.getByTestId('duplicate-group').nth(1).waitFor();
    expect(await page.getByTestId('duplicate-group').count()).to.equal(2);
  });

  it('finds a group by a word of a title', async () => {
    await page.getByTestId('duplicates-search-input').fill('ветерок');
    await page.getByTestId('duplicates-search-submit').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-test="duplicate-group"]').length === 1);
    expect((await groupTitles())[0]).to.match(/^«Северный ветер(ок)?» и похожие/);
    await page.getByTestId('duplicates-search-input').fill('андромеда');
    await page.getByTestId('duplicates-search-submit').click();
    await page.getByTestId('duplicates-empty').waitFor();
    expect(await page.getByTestId('duplicates-empty').textContent()).to.equal('Нет групп с карточками, в названии которых есть «андромеда»');
    await page.getByTestId('duplicates-search-reset').click();
    await page.getByTestId('duplicate-group').nth(1).waitFor();
  });

  it('says when a search matched more cards than it looks at, and leads back to the search box to narrow it', async () => {
    const limit = searchLimits.cards;
    searchLimits.cards = 1;
    try {
      await page.getByTestId('duplicates-search-input').fill('Северный');
      await page.getByTestId('duplicates-search-submit').click();
      const limited = page.getByTestId('duplicates-search-limited');
      await limited.waitFor();
      expect((await limited.textContent())?.replace(/\s+/g, ' ').trim()).to.equal(
        '«Северный» есть в названиях больше чем 1 карточек: показаны только группы первых 1 из них. Уточните поиск — добавьте слово из названия или выберите тип карточек. Уточнить поиск',
      );
      await screenshot(page, 'duplicates-finding-02-search-limited');
      await page.getByTestId('duplicates-search-narrow').click();
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-test'))).to.equal('duplicates-search-input');
      await page.keyboard.type('Северный ветерок');
      await page.keyboard.press('Enter');
      await limited.waitFor({ state: 'detached' });
      await page.waitForFunction(() => document.querySelectorAll('[data-test="duplicate-group"]').length === 1);
      expect((await groupTitles())[0]).to.match(/^«Северный ветер(ок)?» и похожие/);
    } finally {
      searchLimits.cards = limit;
    }
    await page.getByTestId('duplicates-search-reset').click();
    await page.getByTestId('duplicate-group').nth(1).waitFor();
  });

  it('lists a «Не дубликат» mark with who and when, and puts the pair back into duplicates', async () => {
    const wind = page.getByTestId('duplicate-group').filter({ hasText: 'Северный ветерок' });
    await wind.getByTestId('not-duplicate').click();
    await page.getByTestId('duplicates-notice').filter({ hasText: 'больше не будут предлагаться' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-test="duplicate-group"]').length === 1);

    // The notice leads to the marked pairs, where a mistaken mark can be taken back.
    await page.getByTestId('duplicates-notice').getByRole('button', { name: 'Отмеченные пары — снять отметку' }).click();
    await page.getByTestId('view-dismissed').and(page.locator('[aria-pressed="true"]')).waitFor();
    const mark = page.getByTestId('dismissal');
    await mark.waitFor();
    expect(await mark.textContent())
      .to.contain('Северный ветер')
      .and.contain('Северный ветерок');
    expect(await mark.getByTestId('dismissal-by').textContent()).to.match(/^Отметил\(а\) Татьяна Гончаренко, \d\d\.\d\d\.\d{4}/);
    await screenshot(page, 'duplicates-finding-02-dismissed');
    await mark.getByRole('button', { name: /^Вернуть в дубликаты: «Северный ветер(ок)? \(Корреспонденты\)» и «Северный ветер(ок)? \(Корреспонденты\)»$/ }).click();
    await page.getByTestId('duplicates-notice').filter({ hasText: 'снова предлагаются как дубликаты' }).waitFor();
    await page.getByTestId('dismissals-empty').waitFor();

    await page.getByTestId('view-groups').click();
    await page.getByTestId('duplicate-group').nth(1).waitFor();
    expect((await groupTitles()).some((title) => title.startsWith('«Северный ветер'))).to.equal(true);
    // The card's page offers its group again.
    await page.goto(`${server.url}/folders/${ids.folder}/cards/${ids.d}`);
    expect(await page.getByTestId('card-duplicates-link').textContent()).to.equal('Возможные дубликаты (1)');
  });

  it('tells namesakes of a group apart: each contact with its «Контрагент» and phone (s10 verify U8)', async () => {
    const person = async (counterparty: string, phone: string) =>
      (
        await tatiana.data<{ createCard: { id: string } }>('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "contact-person", values: $v) { id } }', {
          f: ids.folder,
          v: { fullName: 'Мария Смирнова', counterparty, phone },
        })
      ).createCard.id;
    const maria = await person(ids.a, '+7 916 100-00-01');
    await person(ids.c, '+7 916 200-00-02');
    await page.goto(`${server.url}/duplicates?card=${maria}`);
    await page.getByTestId('group-card-values').nth(1).waitFor();
    expect((await page.getByTestId('group-card-values').allTextContents()).sort()).to.deep.equal([' · ООО «Ромашка» · +7 916 100 00 01', ' · Северный ветер · +7 916 200 00 02']);
  });

  it('tells namesakes apart in «Отмечены как не дубликаты» too: each card with its values and folder, also in the button’s name (s11 verify V6)', async () => {
    await page.getByTestId('not-duplicate').click();
    await page.getByTestId('duplicates-notice').filter({ hasText: 'больше не будут предлагаться' }).waitFor();
    await page.getByTestId('view-dismissed').click();
    const mark = page.getByTestId('dismissal').filter({ hasText: 'Мария Смирнова' });
    await mark.waitFor();
    expect((await mark.getByTestId('dismissal-card-values').allTextContents()).sort()).to.deep.equal([
      ' (ООО «Ромашка» · +7 916 100 00 01 · Корреспонденты)',
      ' (Северный ветер · +7 916 200 00 02 · Корреспонденты)',
    ]);
    expect(
      await mark
        .getByRole('button', { name: /^Вернуть в дубликаты: «Мария Смирнова \((ООО «Ромашка»|Северный ветер) · \+7 916 [12]00 00 0[12] · Корреспонденты\)» и «Мария Смирнова \(/ })
        .count(),
    ).to.equal(1);
    await screenshot(page, 'duplicates-finding-03-dismissed-namesakes');
  });

  it('shows what is left of a group after merging part of it, and «Найти» with the same words asks again (s11 verify V7)', async () => {
    const orbit = [await create('ООО «Орбита»'), await create('Орбита, ООО'), await create('Орбита ООО')];
    await page.getByTestId('view-groups').click();
    await page.getByTestId('duplicates-search-input').fill('Орбита');
    await page.getByTestId('duplicates-search-submit').click();
    const group = page.getByTestId('duplicate-group').filter({ hasText: 'Орбита' });
    await group.getByTestId('group-card').nth(2).waitFor();
    await group.getByTestId('merge').click();
    const dialog = page.getByRole('dialog', { name: 'Объединение карточек' });
    await dialog.getByTestId(`merge-include-${orbit[2]}`).uncheck();
    await dialog.getByTestId(`merge-survivor-${orbit[0]}`).check();
    await dialog.getByTestId('merge-submit').click();
    await page.getByTestId('duplicates-notice').filter({ hasText: 'Карточки объединены в «ООО «Орбита»»' }).waitFor();
    // The survivor and the card left out are still alike: their group is listed again, without a new search.
    await waitFor(async () => (await group.getByTestId('group-card').count()) === 2, 'what is left of the group');
    const left = await group.getByTestId('group-card').evaluateAll((list) => list.map((li) => li.querySelector('a')?.getAttribute('href')?.split('/').at(-1)));
    expect(left.sort()).to.deep.equal([orbit[0], orbit[2]].sort());
    // A card entered meanwhile shows on «Найти» with the same words.
    const another = await create('Орбита (ООО)');
    await page.getByTestId('duplicates-search-submit').click();
    await group.locator(`[data-test="group-card"] a[href$="${another}"]`).waitFor();
    expect(await group.getByTestId('group-card').count()).to.equal(3);
  });
});
