import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { refusalFields, type ApiClient } from '../support/api-client';
import { createCorrespondents, typeChangeApplied, versioned } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const REQUIRED = 'Обязательное поле';

const PREVIEW = `query($d: CardTypeInput!) { cardTypeChangePreview(definition: $d) {
  safe hiddenFields restoredFields removedTabs { key }
  fields { key safe missing missingCount firstTwo: missing(first: 2) missingAccepted updates failures { cardId } failureCount duplicates { cardIds } duplicateCount } } }`;
const UPDATE = 'mutation($d: CardTypeInput!) { updateCardType(definition: $d) { key fields { key required requiredFor hidden } relatedTabs { key } changeJob { id } } }';
const CREATE_TYPE = 'mutation($d: CardTypeInput!) { createCardType(definition: $d) { key names { ru en } fields { key label { ru en } } } }';
const CARD = 'query($id: ID!) { card(id: $id) { title values hiddenValues } }';
const UPDATE_CARD = 'mutation($id: ID!, $version: Int!, $v: JSON!) { updateCard(id: $id, version: $version, values: $v) { version values } }';
const AUDIT = 'query($kind: String!) { auditLog(kind: $kind) { edges { node { kind actorLogin targetType targetId summary before after } } } }';

type Preview = {
  safe: boolean;
  hiddenFields: string[];
  restoredFields: string[];
  removedTabs: { key: string }[];
  fields: { key: string; safe: boolean; missing: string[]; missingCount: number; firstTwo: string[]; missingAccepted: boolean; updates: number }[];
};
type AuditNode = {
  kind: string;
  actorLogin: string;
  targetType: string;
  targetId: string;
  summary: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
};

/** «Контрагент» as an administrator sends a change of it: only what changes, the rest completed from the stored type. */
const counterpartyChange = (fields: Record<string, unknown>[], more: Record<string, unknown> = {}) => ({
  key: 'counterparty',
  names: { ru: 'Контрагент', en: 'Counterparty' },
  titleTemplate: '{name}',
  historyEnabled: false,
  origin: 'code',
  fields,
  ...more,
});
/** «Сегмент», the field issue 14 added; English label left out (it falls back to the Russian). */
const segment = (more: Record<string, unknown> = {}) => ({ key: 'segment', kind: 'string', label: { ru: 'Сегмент' }, required: true, ...more });

describe('issue 14: what changing a card type does to existing cards, seen through the API', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let folderId: string;
  const counterparties: string[] = [];

  /** Saves a change and waits, as the designer does, until it is applied to the cards. */
  const save = async <T extends { updateCardType: object }>(definition: unknown) => {
    const saved = await admin.data<T & { updateCardType: { changeJob: { id: string } | null } }>(UPDATE, { d: await versioned(admin, definition) });
    await typeChangeApplied(admin, saved.updateCardType.changeJob);
    return saved;
  };
  const preview = async (definition: unknown) => (await admin.data<{ cardTypeChangePreview: Preview }>(PREVIEW, { d: definition })).cardTypeChangePreview;
  const card = async (client: ApiClient, id: string) =>
    (await client.data<{ card: { title: string; values: Record<string, unknown>; hiddenValues: Record<string, unknown> | null } }>(CARD, { id })).card;
  const version = async (id: string) => (await admin.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id })).card.version;
  const newCounterparty = (client: ApiClient, values: Record<string, unknown>) =>
    client.request<{ createCard: { id: string } }>('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', {
      f: folderId,
      v: values,
    });
  const edit = async (client: ApiClient, id: string, values: Record<string, unknown>) =>
    client.request<{ updateCard: { version: number; values: Record<string, unknown> } }>(UPDATE_CARD, { id, version: await version(id), v: values });
  const audit = async (kind: string) => (await admin.data<{ auditLog: { edges: { node: AuditNode }[] } }>(AUDIT, { kind })).auditLog.edges.map((edge) => edge.node);
  const search = async (client: ApiClient, query: string) =>
    (await client.data<{ search: { card: { id: string } }[] }>('query($q: String!) { search(query: $q) { card { id } } }', { q: query })).search.map((hit) => hit.card.id);

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    ({ folderId } = await createCorrespondents(admin, PASSWORD, [{ login: 'nvakulenko', fullName: 'Наталья Вакуленко', level: 'edit' }]));
    editor = await signedIn(server, 'nvakulenko', PASSWORD);
    for (const name of ['ООО «Альфа»', 'ООО «Бета»', 'ООО «Гамма»', 'ООО «Дельта»', 'ООО «Эпсилон»']) {
      counterparties.push((await newCounterparty(admin, { name })).data!.createCard.id);
    }
  });
  after(async () => {
    await server?.stop();
  });

  it('item 1: a new required «Сегмент» lists the five counterparties lacking it, and is refused without a value to fill in', async () => {
    const change = counterpartyChange([segment()]);
    const dryRun = await preview(change);
    expect(dryRun.safe).to.equal(false);
    const report = dryRun.fields.find((field) => field.key === 'segment')!;
    expect(report).to.include({ safe: false, missingAccepted: false });
    expect([...report.missing].sort()).to.deep.equal([...counterparties].sort());
    expect(report.missingCount).to.equal(5);
    expect(report.firstTwo).to.deep.equal(report.missing.slice(0, 2));

    const refused = await admin.request(UPDATE, { d: await versioned(admin, change) });
    const carried = (refused.errors?.[0].extensions?.report as { fields: { key: string; missingCount: number; missing: string[] }[] }).fields.find(
      (field) => field.key === 'segment',
    );
    expect(carried).to.deep.include({ missingCount: 5 });
    expect(refusalFields(refused)).to.deep.equal({
      'fields.0.required': 'Карточек без значения: 5. Укажите значение для них или примите «обязательно для новых и изменяемых карточек»',
    });
    const stored = await admin.data<{ cardType: { fields: { key: string }[] } }>('{ cardType(key: "counterparty") { fields { key } } }');
    expect(stored.cardType.fields.map((field) => field.key)).to.not.include('segment');
    // Nothing broke for people editing the counterparties meanwhile.
    expect((await edit(editor, counterparties[0], { phone: '+7 495 123-45-67' })).errors).to.equal(undefined);
  });

  it('item 1: accepted as «required for new and edited cards only», an edit that leaves «Сегмент» alone is not refused; new cards and edits of it are', async () => {
    const saved = await save<{ updateCardType: { fields: { key: string; required: boolean; requiredFor: string | null }[]; relatedTabs: { key: string }[] } }>(
      counterpartyChange([segment({ requiredFor: 'newAndEdited' })]),
    );
    expect(saved.updateCardType.fields.find((field) => field.key === 'segment')).to.deep.equal({ key: 'segment', required: true, requiredFor: 'newAndEdited', hidden: false });
    expect(saved.updateCardType.fields.find((field) => field.key === 'name')).to.include({ required: true, requiredFor: 'all' });

    const edited = await edit(editor, counterparties[1], { phone: '+7 495 765-43-21' });
    expect(edited.errors).to.equal(undefined);
    expect(edited.data?.updateCard.values).to.include({ name: 'ООО «Бета»' }).and.not.have.property('segment');

    expect(refusalFields(await edit(editor, counterparties[1], { segment: '' }))).to.deep.equal({ segment: REQUIRED });
    expect(refusalFields(await newCounterparty(editor, { name: 'ООО «Зета»' }))).to.deep.equal({ segment: REQUIRED });
    const zeta = await newCounterparty(editor, { name: 'ООО «Зета»', segment: 'опт' });
    expect(zeta.errors).to.equal(undefined);
    counterparties.push(zeta.data!.createCard.id);
    expect((await edit(editor, counterparties[1], { segment: 'розница' })).data?.updateCard.values).to.include({ segment: 'розница' });
  });

  it('item 1: fillMissing writes its value into every card lacking one, is checked like a card value, and is not stored', async () => {
    const tooLong = await admin.request(UPDATE, { d: await versioned(admin, counterpartyChange([segment({ fillMissing: 'x'.repeat(501) })])) });
    expect(refusalFields(tooLong)).to.deep.equal({ 'fields.0.fillMissing': 'Не больше 500 символов' });

    const filled = counterpartyChange([segment({ fillMissing: 'малый бизнес' })]);
    const dryRun = await preview(filled);
    expect(dryRun.safe).to.equal(true);
    expect(dryRun.fields.find((field) => field.key === 'segment')).to.include({ updates: 4, safe: true });
    const saved = await save<{ updateCardType: { fields: { key: string; requiredFor: string | null }[] } }>(filled);
    expect(saved.updateCardType.fields.find((field) => field.key === 'segment')?.requiredFor).to.equal('all');
    const segments = await Promise.all(counterparties.map(async (id) => (await card(admin, id)).values.segment));
    expect(segments).to.deep.equal(['малый бизнес', 'розница', 'малый бизнес', 'малый бизнес', 'малый бизнес', 'опт']);
    const field = await admin.request('{ cardType(key: "counterparty") { fields { key fillMissing } } }');
    expect(field.errors?.[0].message).to.match(/fillMissing/);
    expect(await search(editor, 'малый бизнес')).to.have.members(counterparties.filter((_, index) => ![1, 5].includes(index)));
  });

  it('item 3: a partial definition keeps the fields and the «Контактные лица» tab it leaves out; the dry run lists every hidden field and removed tab', async () => {
    const relabelled = counterpartyChange([{ key: 'notes', kind: 'text', label: { ru: 'Заметки', en: 'Notes' } }]);
    expect(await preview(relabelled)).to.deep.include({ safe: true, hiddenFields: [], restoredFields: [], removedTabs: [] });
    const saved = await save<{ updateCardType: { fields: { key: string; hidden: boolean }[]; relatedTabs: { key: string }[] } }>(relabelled);
    expect(saved.updateCardType.relatedTabs.map((tab) => tab.key)).to.deep.equal(['contacts', 'proposals', 'contracts']);
    expect(saved.updateCardType.fields.filter((field) => field.hidden)).to.deep.equal([]);
    expect(saved.updateCardType.fields.map((field) => field.key)).to.include.members(['name', 'inn', 'phone', 'segment', 'notes']);

    const hidingAndDropping = counterpartyChange([segment({ hidden: true }), { key: 'website', kind: 'url', label: { ru: 'Сайт' }, hidden: true }], {
      relatedTabs: [{ key: 'contacts', label: { ru: 'Контактные лица', en: 'Contact persons' }, cardType: 'contact-person', referenceField: 'counterparty' }],
    });
    const dryRun = await preview(hidingAndDropping);
    expect(dryRun.hiddenFields).to.deep.equal(['segment', 'website']);
    expect(dryRun.removedTabs.map((tab) => tab.key)).to.deep.equal(['proposals', 'contracts']);
    expect(dryRun.safe).to.equal(true);
  });

  it('item 4: values of a hidden field leave Card.values, search and titles (administrators read them in hiddenValues); they cannot be written', async () => {
    await save(counterpartyChange([segment()], { titleTemplate: '{name} {segment}' }));
    expect((await card(editor, counterparties[5])).title).to.equal('ООО «Зета» опт');
    expect(await search(editor, 'опт')).to.deep.equal([counterparties[5]]);

    const hidden = await save<{ updateCardType: { fields: { key: string; hidden: boolean }[] } }>(
      counterpartyChange([segment({ hidden: true })], { titleTemplate: '{name} {segment}' }),
    );
    expect(hidden.updateCardType.fields.find((field) => field.key === 'segment')?.hidden).to.equal(true);
    const seenByEditor = await card(editor, counterparties[5]);
    expect(seenByEditor).to.deep.equal({ title: 'ООО «Зета»', values: { name: 'ООО «Зета»' }, hiddenValues: null });
    expect((await card(admin, counterparties[5])).hiddenValues).to.deep.equal({ segment: 'опт' });
    expect(await search(editor, 'опт')).to.deep.equal([]);
    // Nor can a list be filtered or sorted by it: the count of «contains "о"» would spell the value out letter by letter.
    const LIST = 'query($f: ID!, $s: String, $filters: [CardFilterInput!]) { cards(folderId: $f, sortBy: $s, filters: $filters) { totalCount } }';
    expect(refusalFields(await editor.request(LIST, { f: folderId, filters: [{ field: 'segment', op: 'contains', value: 'о' }] }))).to.deep.equal({
      'filters.0': 'Нет такого поля',
    });
    expect(refusalFields(await editor.request(LIST, { f: folderId, s: 'segment' }))).to.deep.equal({ sortBy: 'Нет такого поля' });
    // Nor does the card «as of» a later moment (today's card) show it, to history readers or administrators.
    const asOf = await admin.data<{ cardAsOf: { values: Record<string, unknown> } }>('query($id: ID!, $at: DateTime!) { cardAsOf(cardId: $id, at: $at) { values } }', {
      id: counterparties[5],
      at: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(asOf.cardAsOf.values).to.deep.equal({ name: 'ООО «Зета»' });

    expect(refusalFields(await edit(editor, counterparties[5], { segment: 'розница' }))).to.deep.equal({
      segment: 'Поле скрыто администратором: его значения хранятся, но не меняются',
    });
    // An ordinary edit keeps the hidden value as it is.
    const renamed = await edit(editor, counterparties[5], { name: 'ООО «Зета-М»' });
    expect(renamed.errors).to.equal(undefined);
    expect((await card(admin, counterparties[5])).hiddenValues).to.deep.equal({ segment: 'опт' });
  });

  it('item 2: showing the hidden required «Сегмент» again lists the cards created while it was hidden', async () => {
    const created = await newCounterparty(editor, { name: 'ООО «Эта»' });
    expect(created.errors).to.equal(undefined);
    const eta = created.data!.createCard.id;
    const shown = counterpartyChange([segment()], { titleTemplate: '{name}' });
    const dryRun = await preview(shown);
    expect(dryRun.restoredFields).to.deep.equal(['segment']);
    expect(dryRun.safe).to.equal(false);
    expect(dryRun.fields.find((field) => field.key === 'segment')?.missing).to.deep.equal([eta]);
    expect(refusalFields(await admin.request(UPDATE, { d: await versioned(admin, shown) })))
      .to.have.property('fields.0.required')
      .that.match(/^Карточек без значения: 1\./);

    await save(counterpartyChange([segment({ fillMissing: 'опт' })], { titleTemplate: '{name}' }));
    expect((await card(editor, eta)).values).to.deep.equal({ name: 'ООО «Эта»', segment: 'опт' });
    expect((await card(editor, counterparties[5])).values).to.deep.equal({ name: 'ООО «Зета-М»', segment: 'опт' });
  });

  it('item 5: creating and changing a type, switching its history and purging a card are in the audit log, with who and before/after', async () => {
    const updates = await audit('card-type-updated');
    expect(updates.length).to.be.at.least(5);
    const first = updates.at(-1)!;
    expect(first).to.include({ actorLogin: 'admin', targetType: 'CardType', targetId: 'counterparty', summary: 'Контрагент' });
    const keys = (definition: Record<string, unknown> | null) => (definition?.fields as { key: string }[]).map((field) => field.key);
    expect(keys(first.before)).to.not.include('segment');
    expect(keys(first.after)).to.include('segment');

    await admin.data(CREATE_TYPE, {
      d: {
        key: 'invoice',
        names: { ru: 'Счёт' },
        titleTemplate: '{number}',
        historyEnabled: false,
        origin: 'admin',
        fields: [{ key: 'number', kind: 'string', label: { ru: 'Номер' }, required: true }],
      },
    });
    const [created] = await audit('card-type-created');
    expect(created).to.include({ actorLogin: 'admin', targetId: 'invoice', summary: 'Счёт' });
    expect(created.before).to.equal(null);
    expect(created.after).to.include({ key: 'invoice' });

    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { historyEnabled } }');
    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: false) { historyEnabled } }');
    const switches = await audit('card-type-history-switched');
    expect(switches.map((entry) => [entry.actorLogin, entry.targetId, entry.summary, entry.before, entry.after])).to.deep.equal([
      ['admin', 'counterparty', 'Контрагент: история изменений выключена', { historyEnabled: true }, { historyEnabled: false }],
      ['admin', 'counterparty', 'Контрагент: история изменений включена', { historyEnabled: false }, { historyEnabled: true }],
    ]);

    const gone = counterparties[4];
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: gone });
    expect((await admin.data<{ purgeCard: boolean }>('mutation($id: ID!) { purgeCard(id: $id) }', { id: gone })).purgeCard).to.equal(true);
    const [purged] = await audit('card-purged');
    expect(purged).to.include({ actorLogin: 'admin', targetType: 'Card', targetId: gone, summary: 'ООО «Эпсилон»' });
    expect(purged.before).to.deep.include({ title: 'ООО «Эпсилон»', values: { name: 'ООО «Эпсилон»', segment: 'малый бизнес' } });
    expect((await admin.data<{ card: null }>(CARD, { id: gone })).card).to.equal(null);
  });

  it('item 15: a type may not take the name of another; English names and labels may be left out and read as the Russian', async () => {
    const namesake = await admin.request(CREATE_TYPE, {
      d: {
        key: 'supplier',
        names: { ru: 'контрагент', en: 'Supplier' },
        titleTemplate: '{name}',
        historyEnabled: false,
        origin: 'admin',
        fields: [{ key: 'name', kind: 'string', label: { ru: 'Название' } }],
      },
    });
    expect(refusalFields(namesake)).to.deep.equal({ 'names.ru': 'Тип «Контрагент» уже есть — выберите другое название' });
    const invoice = await admin.data<{ cardType: { names: { ru: string; en: string }; fields: { label: { ru: string; en: string } }[] } }>(
      '{ cardType(key: "invoice") { names { ru en } fields { label { ru en } } } }',
    );
    expect(invoice.cardType.names).to.deep.equal({ ru: 'Счёт', en: 'Счёт' });
    expect(invoice.cardType.fields[0].label).to.deep.equal({ ru: 'Номер', en: 'Номер' });
  });

  it('a pattern that could backtrack catastrophically is refused at its field; a value over 1,000 characters is not matched against a pattern', async () => {
    const withPattern = (pattern: string) => ({
      key: 'invoice',
      names: { ru: 'Счёт' },
      titleTemplate: '{number}',
      historyEnabled: false,
      origin: 'admin',
      fields: [
        { key: 'number', kind: 'string', label: { ru: 'Номер' }, required: true },
        { key: 'comment', kind: 'text', label: { ru: 'Комментарий' }, pattern },
      ],
    });
    for (const pattern of ['(a+)+b', '(\\w|\\d)*$', '\\d+\\s?\\d+\\s?\\d+']) {
      const refused = refusalFields(await admin.request(UPDATE, { d: await versioned(admin, withPattern(pattern)) }));
      expect(refused, pattern)
        .to.have.property('fields.1.pattern')
        .that.match(/^Шаблон может проверяться очень долго/);
    }
    await save(withPattern('.*счёт.*'));
    const library = (await admin.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Бухгалтерия") { id } }')).createLibrary.id;
    const folder = (
      await admin.data<{ createFolder: { id: string } }>('mutation($i: FolderInput!) { createFolder(input: $i) { id } }', {
        i: { libraryId: library, name: 'Счета', allowedCardTypes: ['invoice'] },
      })
    ).createFolder.id;
    const create = (comment: string) =>
      admin.request('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "invoice", values: $v) { id } }', { f: folder, v: { number: '1', comment } });
    expect((await create(`${'а'.repeat(500)} счёт ${'б'.repeat(490)}`)).errors).to.equal(undefined);
    expect(refusalFields(await create(`${'а'.repeat(600)} счёт ${'б'.repeat(600)}`))).to.deep.equal({ comment: 'Значение поля с шаблоном — не больше 1000 символов' });
  });
});
