import { expect } from 'chai';
import type { Browser, Locator, Page } from 'playwright-core';
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { axeViolations, describeViolations } from '../support/axe';
import { describeInBrowser, launchChromium, screenshot } from '../support/browser';
import { signedIn, startTestServer, TEST_ADMIN } from '../support/server';
import { expectText, field, signInThroughUi, useDataTestAttribute } from './ui';

const PASSWORD = 'secret-password-1';
const USER = { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко' };
const COUNTERPARTY = 'ООО «Альфа»';
const row = (title: string) => `[data-test="card-row"][data-title="${title}"]`;

/** The administrator designs «Техническое задание» in the console; a colleague then uses it. The tests run in order. */
describeInBrowser('card type designer: «Техническое задание» (browser)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let api: ApiClient;
  let browser: Browser;
  let page: Page;
  const ids: Record<string, string> = {};

  const createCard = async (folderId: string, typeKey: string, values: Record<string, unknown>) =>
    (
      await api.data<{ createCard: { id: string } }>('mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }', {
        f: folderId,
        t: typeKey,
        v: values,
      })
    ).createCard.id;
  const definitionOf = async (key: string) =>
    (
      await api.data<{
        cardType: {
          names: { ru: string; en: string };
          historyEnabled: boolean;
          fields: { key: string; label: { ru: string; en: string }; required: boolean; requiredFor: string | null; hidden: boolean }[];
        };
      }>('query($k: ID!) { cardType(key: $k) { names { ru en } historyEnabled fields { key label { ru en } required requiredFor hidden } } }', { k: key })
    ).cardType;
  const valuesOf = async (id: string) => (await api.data<{ card: { values: Record<string, unknown> } }>('query($id: ID!) { card(id: $id) { values } }', { id })).card.values;

  before(async () => {
    useDataTestAttribute();
    await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
    server = await startTestServer();
    api = await signedIn(server);
    const department = (await api.data<{ createDepartment: { id: string } }>('mutation { createDepartment(input: { name: "Кассиопея" }) { id } }')).createDepartment.id;
    ids.user = (
      await api.data<{ createUser: { id: string } }>('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
        input: { ...USER, password: PASSWORD, departmentId: department },
      })
    ).createUser.id;
    const library = (await api.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Корреспонденты и контакты") { id } }')).createLibrary.id;
    ids.counterparties = (
      await api.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', {
        input: { libraryId: library, name: 'Корреспонденты', allowedCardTypes: ['counterparty'] },
      })
    ).createFolder.id;
    await api.data('mutation($id: ID!, $e: [AccessEntryInput!]!) { setFolderAccess(id: $id, entries: $e) { id } }', {
      id: ids.counterparties,
      e: [{ principalType: 'user', principalId: ids.user, level: 'read' }],
    });
    ids.alpha = await createCard(ids.counterparties, 'counterparty', { name: COUNTERPARTY });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    await signInThroughUi(page, server.url, TEST_ADMIN.login, TEST_ADMIN.password);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const editor = (index: number): Locator => page.getByTestId(`field-editor-${index}`);
  /** «Тип карточек сохранён», and — when the change touches the type's cards — its job's end: «Изменение применено ко всем карточкам». */
  const saved = async (): Promise<void> => {
    await page.getByTestId('type-saved').waitFor();
    if ((await page.getByTestId('type-change-progress').count()) > 0) await page.getByTestId('type-change-applied').waitFor();
  };
  const typeForm = (): Locator => page.getByTestId('type-form');

  it('defines «Техническое задание» with a required «Название» and a reference to «Контрагент»', async () => {
    await page.getByTestId('nav-admin').click();
    await page.getByTestId('admin-tab-card-types').click();
    await page.getByTestId('card-type-counterparty').waitFor();
    await screenshot(page, 'designer-1-types');
    await page.getByTestId('new-card-type').click();
    await page.waitForURL(`${server.url}/admin/card-types/new`);

    // Nothing filled in: every problem is shown at its input in the server's words (the kernel's
    // check runs in the browser), nothing reaches the server.
    await page.getByTestId('save-type').click();
    await expectText(page, 'form-error', 'Проверьте заполнение полей');
    // The first input with a problem takes the focus, not «Сохранить».
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-invalid') === 'true');
    expect(await field(typeForm(), 'key').evaluate((input) => input === document.activeElement)).to.equal(true);
    expect(await typeForm().getByTestId('error-key').first().textContent()).to.contain('contact-person');
    await expectText(page, 'error-names-ru', 'Заполните');
    await expectText(page, 'error-titleTemplate', 'Заполните');
    expect(await editor(0).getByTestId('error-key').textContent()).to.contain('legalAddress');
    await screenshot(page, 'designer-2-errors');

    await field(typeForm(), 'key').fill('tech-spec');
    await field(page, 'names-ru').fill('Техническое задание');
    await field(page, 'names-en').fill('Technical specification');
    await field(page, 'titleTemplate').fill('{title}');
    await expectText(page, 'error-titleTemplate', 'В шаблоне неизвестное поле «title»');
    await field(editor(0), 'key').fill('title');
    await field(editor(0), 'label-ru').fill('Название');
    await field(editor(0), 'label-en').fill('Title');
    await editor(0).getByTestId('field-required').locator('input').check();

    await page.getByTestId('add-field').click();
    await field(editor(1), 'key').fill('counterparty');
    await field(editor(1), 'kind').selectOption('reference');
    await field(editor(1), 'label-ru').fill('Контрагент');
    await field(editor(1), 'label-en').fill('Counterparty');
    await expectText(page, 'error-targets', 'Укажите, на карточки каких типов ссылается поле');
    await editor(1).getByTestId('target-counterparty').locator('input').check();

    // The live preview is the workspace's own form; the title example follows what is typed there.
    const preview = page.getByTestId('form-preview');
    expect(await preview.getByTestId('field-title').getAttribute('class')).to.contain('ws-field--required');
    await preview.getByTestId('field-counterparty').waitFor();
    await expectText(page, 'title-example', 'Название');
    await preview.getByTestId('input-title').fill('Портал заказов');
    await expectText(page, 'title-example', 'Портал заказов');
    await screenshot(page, 'designer-3-filled');

    await page.getByTestId('save-type').click();
    await page.waitForURL(`${server.url}/admin/card-types/tech-spec`);
    await page.getByTestId('type-saved').waitFor();
    const saved = await definitionOf('tech-spec');
    expect(saved.fields.map((f) => [f.key, f.required === true])).to.deep.equal([
      ['title', true],
      ['counterparty', false],
    ]);
    await screenshot(page, 'designer-4-saved');
  });

  it('a library «Проекты» gets a folder «ТЗ» for the new type (through the API)', async () => {
    const library = (await api.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Проекты") { id } }')).createLibrary.id;
    ids.specs = (
      await api.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', {
        input: { libraryId: library, name: 'ТЗ', allowedCardTypes: ['tech-spec'] },
      })
    ).createFolder.id;
    await api.data('mutation($id: ID!, $e: [AccessEntryInput!]!) { setFolderAccess(id: $id, entries: $e) { id } }', {
      id: ids.specs,
      e: [{ principalType: 'user', principalId: ids.user, level: 'full' }],
    });
  });

  it('turns history on for «Контрагент» at once', async () => {
    await page.getByTestId('back-to-types').click();
    await page.getByTestId('card-type-counterparty').getByTestId('card-type-link').click();
    await page.waitForURL(`${server.url}/admin/card-types/counterparty`);
    const toggle = page.getByTestId('history-toggle').locator('input');
    expect(await toggle.isChecked()).to.equal(false);
    await toggle.check();
    await page.waitForFunction(() => !document.querySelector('[data-test="history-toggle"] input')?.hasAttribute('disabled'));
    expect((await definitionOf('counterparty')).historyEnabled).to.equal(true);
    await page.getByTestId('back-to-types').click();
    await expectText(page, 'card-type-counterparty', /ведётся/);
    await screenshot(page, 'designer-5-history-on');
    // Auditors see who switched it, in the console's audit log.
    await page.getByTestId('admin-tab-audit').click();
    await page.getByTestId('audit-kind').selectOption('card-type-history-switched');
    await page.getByTestId('audit-apply').click();
    const row = page.getByTestId('audit-row').filter({ hasText: 'Контрагент: история изменений включена' });
    await row.waitFor();
    expect(await row.textContent()).to.contain('Переключена история изменений типа');
    // Who: the administrator by name (the audit log shows names), the login on hover.
    expect(await row.getByTestId('audit-actor').getAttribute('title')).to.equal(TEST_ADMIN.login);
    await page.getByTestId('admin-tab-card-types').click();
  });

  it('making «Контрагент» required while a card has none shows the dry run and changes nothing', async () => {
    const empty = await createCard(ids.specs, 'tech-spec', { title: 'Без контрагента' });
    await createCard(ids.specs, 'tech-spec', { title: 'С контрагентом', counterparty: ids.alpha });
    await page.getByTestId('card-type-tech-spec').getByTestId('card-type-link').click();
    await editor(1).getByTestId('field-required').locator('input').check();
    await page.getByTestId('save-type').click();
    const report = page.getByTestId('change-report');
    await report.waitFor();
    expect(await report.getByTestId('report-counterparty').textContent()).to.contain('Контрагент');
    // The cards lacking a value are named by their titles and open in the workspace.
    const missing = report.getByTestId(`missing-${empty}`).getByRole('link', { name: 'Без контрагента' });
    await missing.waitFor();
    expect(await missing.getAttribute('href')).to.equal(`/folders/${ids.specs}/cards/${empty}`);
    expect(await report.getByTestId('report-missing').textContent()).to.not.contain('С контрагентом');
    expect(await page.getByTestId('type-saved').count()).to.equal(0);
    expect((await definitionOf('tech-spec')).fields.find((f) => f.key === 'counterparty')?.required).to.not.equal(true);
    await report.scrollIntoViewIfNeeded();
    await screenshot(page, 'designer-6-dry-run-report');
    ids.withoutCounterparty = empty;
  });

  it('«required for new and edited cards only» saves it; the card lacking a value keeps it', async () => {
    await editor(1).getByTestId('field-missing').waitFor();
    await editor(1).getByTestId('field-required-for').locator('input').check();
    await page.getByTestId('save-type').click();
    await page.getByTestId('type-saved').waitFor();
    expect((await definitionOf('tech-spec')).fields.find((f) => f.key === 'counterparty')).to.include({ required: true, requiredFor: 'newAndEdited' });
    expect(await valuesOf(ids.withoutCounterparty)).to.deep.equal({ title: 'Без контрагента' });
  });

  it('a removed field is hidden, keeps its values and comes back', async () => {
    await page.reload();
    await page.getByTestId('field-editor-1').waitFor();
    await editor(1).getByTestId('field-remove').click();
    await page.getByTestId('hidden-counterparty').waitFor();
    expect(await page.getByTestId('form-preview').getByTestId('field-counterparty').count()).to.equal(0);
    await page.getByTestId('save-type').click();
    // The dry run says what hiding means, and nothing is saved until the administrator confirms.
    await expectText(page, 'report-hidden', /Поле «Контрагент» \(counterparty\)/);
    expect(await page.getByTestId('type-saved').count()).to.equal(0);
    expect((await definitionOf('tech-spec')).fields.find((f) => f.key === 'counterparty')).to.include({ hidden: false });
    await screenshot(page, 'designer-7-confirm-hiding');
    const { blocking } = await axeViolations(page);
    expect(blocking, describeViolations(blocking)).to.deep.equal([]);
    await page.getByTestId('confirm-save').click();
    await saved();
    expect((await definitionOf('tech-spec')).fields.find((f) => f.key === 'counterparty')).to.include({ hidden: true });
    await screenshot(page, 'designer-7-field-hidden');
    await page.getByTestId('hidden-counterparty').getByTestId('restore-field').click();
    await page.getByTestId('save-type').click();
    await saved();
    expect((await definitionOf('tech-spec')).fields.find((f) => f.key === 'counterparty')).to.not.include({ hidden: true });
    await page.getByTestId('form-preview').getByTestId('field-counterparty').waitFor();
  });

  it('a new required «Этап» on a type with cards: its key comes from the label, a catastrophic pattern is refused, the cards lacking it get the value given', async () => {
    await page.getByTestId('add-field').click();
    await field(editor(2), 'label-ru').fill('Этап');
    expect(await field(editor(2), 'key').inputValue()).to.equal('etap');
    await editor(2).getByTestId('field-required').locator('input').check();
    await field(editor(2), 'pattern').fill('(а+)+$');
    await page.getByTestId('save-type').click();
    await expectText(page, 'error-pattern', /^Шаблон может проверяться очень долго/);
    await field(editor(2), 'pattern').fill('');

    await page.getByTestId('save-type').click();
    const report = page.getByTestId('change-report');
    await report.getByTestId('report-etap').waitFor();
    // The links get their titles once the report's cards are read: wait for both.
    await report.getByTestId('report-missing').locator('a').nth(1).waitFor();
    expect(await report.getByTestId('report-missing').locator('a').allTextContents()).to.have.members(['Без контрагента', 'С контрагентом']);
    await expectText(page, 'error-required', 'Карточек без значения: 2. Поле станет обязательным — решите, как быть с ними.');
    // The keyboard is where the decision is: on the value to fill in, not left on the page's start.
    await page.waitForFunction(() => document.activeElement?.closest('[data-test="field-fill-missing"]') != null);
    expect(await field(editor(2), 'fill-missing').evaluate((input) => input === document.activeElement)).to.equal(true);
    await field(editor(2), 'fill-missing').fill('черновик');
    await screenshot(page, 'designer-8-fill-missing');
    const { blocking } = await axeViolations(page);
    expect(blocking, describeViolations(blocking)).to.deep.equal([]);
    await page.getByTestId('save-type').click();
    await saved();
    expect((await definitionOf('tech-spec')).fields.find((f) => f.key === 'etap')).to.include({ required: true, requiredFor: 'all' });
    await expectText(page, 'type-change-applied', 'Изменение применено ко всем карточкам: 2');
    expect(await valuesOf(ids.withoutCounterparty)).to.deep.equal({ title: 'Без контрагента', etap: 'черновик' });
  });

  it('a new type takes its key from the Russian name, needs no English, and may not repeat another type’s name', async () => {
    await page.getByTestId('back-to-types').click();
    await page.getByTestId('new-card-type').click();
    await field(page, 'names-ru').fill('Контрагент');
    // Said as it is typed, before saving.
    await expectText(page, 'error-names-ru', 'Тип «Контрагент» уже есть — выберите другое название');
    await field(page, 'names-ru').fill('Счёт поставщика');
    expect(await page.getByTestId('error-names-ru').count()).to.equal(0);
    expect(await field(typeForm(), 'key').inputValue()).to.equal('schyot-postavschika');
    expect(await field(page, 'names-en').getAttribute('placeholder')).to.equal('Счёт поставщика');
    await field(editor(0), 'label-ru').fill('Номер счёта');
    expect(await field(editor(0), 'key').inputValue()).to.equal('nomerSchyota');
    await field(editor(0), 'key').fill('number');
    await field(editor(0), 'label-ru').fill('Номер');
    expect(await field(editor(0), 'key').inputValue()).to.equal('number');
    await field(page, 'titleTemplate').fill('Счёт {number}');
    await page.getByTestId('save-type').click();
    await page.waitForURL(`${server.url}/admin/card-types/schyot-postavschika`);
    await page.getByTestId('type-saved').waitFor();
    const saved = await definitionOf('schyot-postavschika');
    expect(saved.names).to.deep.equal({ ru: 'Счёт поставщика', en: 'Счёт поставщика' });
    expect(saved.fields[0]).to.deep.include({ key: 'number', label: { ru: 'Номер', en: 'Номер' } });
  });

  it('in English the designer heads each field with its English label (the Russian where there is none)', async () => {
    await page.getByTestId('language').selectOption('en');
    await page.getByTestId('back-to-types').click();
    await page.getByTestId('card-type-tech-spec').getByTestId('card-type-link').click();
    await expectText(page, 'field-heading', '1. Title');
    expect((await editor(2).getByTestId('field-heading').textContent())?.trim()).to.equal('3. Этап');
    await screenshot(page, 'designer-9-english');
    await page.getByTestId('language').selectOption('ru');
    await expectText(page, 'field-heading', '1. Название');
  });

  it('Татьяна creates a «Техническое задание» referencing «ООО «Альфа»» in «ТЗ» and sees it in the list', async () => {
    const colleague = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await signInThroughUi(colleague, server.url, USER.login, PASSWORD);
    await colleague.getByTestId('folder-ТЗ').click();
    await colleague.getByTestId('card-grid').waitFor();
    // «ТЗ» allows one type, so «Создать» opens its form at once.
    await colleague.getByTestId('create').click();
    await colleague.getByTestId('card-form').waitFor();
    await colleague.getByTestId('save').click();
    await expectText(colleague, 'error-title', 'Обязательное поле');
    await colleague.getByTestId('input-title').fill('Интеграция с 1С');
    await colleague.getByTestId('input-counterparty').fill('Альфа');
    await colleague.getByTestId(`pick-${COUNTERPARTY}`).click();
    await colleague.getByTestId('picked-counterparty').filter({ hasText: COUNTERPARTY }).waitFor();
    await colleague.getByTestId('input-etap').fill('в работе');
    await screenshot(colleague, 'designer-10-colleague-form');
    await colleague.getByTestId('save').click();
    await colleague.getByTestId('card-title').filter({ hasText: 'Интеграция с 1С' }).waitFor();
    await colleague.getByTestId('back').click();
    await colleague.locator(row('Интеграция с 1С')).waitFor();
    await screenshot(colleague, 'designer-11-colleague-list');

    // «Контрагент» binds new and edited cards only: an edit of another field of a card without one is saved.
    await colleague.locator(row('Без контрагента')).getByTestId('card-link').click();
    await colleague.getByTestId('card-title').filter({ hasText: 'Без контрагента' }).waitFor();
    await colleague.getByTestId('edit').click();
    await colleague.getByTestId('input-title').fill('Без контрагента (черновик)');
    await colleague.getByTestId('save').click();
    await colleague.getByTestId('card-title').filter({ hasText: 'Без контрагента (черновик)' }).waitFor();
    expect(await valuesOf(ids.withoutCounterparty)).to.deep.equal({ title: 'Без контрагента (черновик)', etap: 'черновик' });
  });

  it('a save from a form another administrator saved over meanwhile shows the conflict and keeps their change', async () => {
    await page.goto(`${server.url}/admin/card-types/tech-spec`);
    await field(editor(0), 'label-ru').waitFor();
    // Another administrator renames «Название» while this form is open.
    const other = await signedIn(server);
    const { cardType } = await other.data<{ cardType: { version: number } }>('{ cardType(key: "tech-spec") { version } }');
    await other.data('mutation($d: CardTypeInput!) { updateCardType(definition: $d) { key } }', {
      d: {
        key: 'tech-spec',
        names: { ru: 'Техническое задание', en: 'Technical specification' },
        titleTemplate: '{title}',
        historyEnabled: false,
        origin: 'admin',
        version: cardType.version,
        fields: [{ key: 'title', kind: 'string', label: { ru: 'Наименование', en: 'Title' }, required: true, listed: true }],
      },
    });
    await field(editor(0), 'label-en').fill('Name');
    await page.getByTestId('save-type').click();
    await expectText(
      page,
      'form-error',
      'Тип карточки уже изменил другой администратор, пока вы его редактировали. Откройте тип заново, чтобы увидеть его изменения, и внесите свои ещё раз',
    );
    expect(await page.getByTestId('type-saved').count()).to.equal(0);
    expect((await definitionOf('tech-spec')).fields.find((f) => f.key === 'title')?.label).to.deep.equal({ ru: 'Наименование', en: 'Title' });
  });

  it('a rating field’s default is picked with the stars (no text box), the preview lights as many, and it is saved as the number', async () => {
    await page.goto(`${server.url}/admin/card-types/new`);
    await field(typeForm(), 'key').fill('review');
    await field(page, 'names-ru').fill('Отзыв');
    await field(page, 'titleTemplate').fill('{title}');
    await field(editor(0), 'key').fill('title');
    await field(editor(0), 'label-ru').fill('Название');
    await page.getByTestId('add-field').click();
    await field(editor(1), 'key').fill('score');
    await field(editor(1), 'kind').selectOption('rating');
    await field(editor(1), 'label-ru').fill('Оценка');
    const defaultStars = editor(1).getByTestId('field-default').getByTestId('default-input');
    await defaultStars.getByTestId('star-4').click();
    expect(await editor(1).getByTestId('field-default').locator('input[type="text"]').count()).to.equal(0);
    expect(await defaultStars.locator('[aria-checked="true"]').getAttribute('data-test')).to.equal('star-4');
    const previewStars = page.getByTestId('form-preview').getByTestId('input-score');
    await previewStars.locator('[aria-checked="true"][data-test="star-4"]').waitFor();
    expect(await previewStars.locator('.ws-rating__star--on').count()).to.equal(4);
    await page.getByTestId('save-type').click();
    await page.waitForURL(`${server.url}/admin/card-types/review`);
    await page.getByTestId('type-saved').waitFor();
    const stored = await api.data<{ cardType: { fields: { key: string; default: unknown }[] } }>('query { cardType(key: "review") { fields { key default } } }');
    expect(stored.cardType.fields.find((f) => f.key === 'score')?.default).to.equal(4);
    // Saved, the field offers only kinds its values convert to: rating → integer is marked and cannot be chosen.
    const kinds = field(editor(1), 'kind');
    await kinds.locator('option[value="integer"][disabled]').waitFor({ state: 'attached' });
    expect(await kinds.locator('option[value="integer"]').textContent()).to.equal('Целое число — значения не преобразуются');
    expect(await kinds.locator('option[value="string"]').getAttribute('disabled')).to.equal(null);
    expect(await kinds.locator('option[value="rating"]').getAttribute('disabled')).to.equal(null);
  });
});
