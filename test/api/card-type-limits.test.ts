import { expect } from 'chai';
import { Types } from 'mongoose';
import { Card } from '../../server/src/cards/model';
import { CARD_INDEX_BUDGET } from '../../server/src/cards/indexes';
import { syncCardTypes } from '../../server/src/cards/type-sync';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import { refusalFields, type ApiClient } from '../support/api-client';
import { createDepartment, createFolder, createLibrary, createUser, typeChangeApplied, versioned } from '../support/fixtures';
import { databaseCommandsDuring } from '../support/commands';
import { signedIn, startTestServer } from '../support/server';

const CREATE_TYPE = 'mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }';
const UPDATE_TYPE = 'mutation($d: CardTypeInput!, $accept: Boolean) { updateCardType(definition: $d, acceptAlteredValues: $accept) { key changeJob { id } } }';
const PREVIEW = `query($d: CardTypeInput!, $accept: Boolean) { cardTypeChangePreview(definition: $d, acceptAlteredValues: $accept) {
  safe checkId fields { key safe failureCount failures { cardId value reason } duplicateCount alteredCount alteredAccepted altered { value was becomes cards } } } }`;
const CREATE_CARD = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version } }';
const READ = 'query($id: ID!) { card(id: $id) { values title } }';
const TYPES = '{ cardTypes { key uniqueNotEnforced uniqueNotEnforcedReason } }';

type Preview = {
  safe: boolean;
  checkId: string | null;
  fields: {
    key: string;
    safe: boolean;
    failureCount: number;
    failures: { cardId: string; value: unknown; reason: string }[];
    duplicateCount: number;
    alteredCount: number;
    alteredAccepted: boolean;
    altered: { value: unknown; was: string; becomes: string; cards: number }[];
  }[];
};

const label = (ru: string, en = ru) => ({ ru, en });
const field = (key: string, kind: string, more: Record<string, unknown> = {}) => ({ key, kind, label: label(key), ...more });
const type = (key: string, fields: Record<string, unknown>[], more: Record<string, unknown> = {}) => ({
  key,
  names: label(`Тип ${key}`, `Type ${key}`),
  titleTemplate: '{name}',
  historyEnabled: false,
  origin: 'admin',
  fields: [field('name', 'string', { required: true }), ...fields],
  ...more,
});

describe('card type limits, references named by settings, and conversions that change values (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folderId: string;
  const card = async (typeKey: string, values: Record<string, unknown>) =>
    (await admin.data<{ createCard: { id: string; version: number } }>(CREATE_CARD, { f: folderId, t: typeKey, v: values })).createCard;
  const values = async (id: string) => (await admin.data<{ card: { values: Record<string, unknown> } }>(READ, { id })).card.values;
  const preview = async (definition: unknown, accept = false) => (await admin.data<{ cardTypeChangePreview: Preview }>(PREVIEW, { d: definition, accept })).cardTypeChangePreview;
  const indexCount = async () => (await Card.collection.indexes()).length;

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    admin = await signedIn(server);
    await admin.data(CREATE_TYPE, { d: type('deal', [field('party', 'reference', { targets: ['counterparty'] }), field('owner', 'user')]) });
    await admin.data(CREATE_TYPE, { d: type('codes', [field('code', 'string'), field('score', 'integer')]) });
    await admin.data(CREATE_TYPE, { d: type('tickets', [field('number', 'string', { unique: true })]) });
    folderId = await createFolder(admin, { libraryId: await createLibrary(admin, 'Пределы'), name: 'Пределы', allowedCardTypes: ['counterparty', 'deal', 'codes', 'tickets'] });
  });
  after(async () => {
    await server?.stop();
  });

  it('refuses a type of more than 200 fields at its fields, before anything is stored', async () => {
    const wide = type(
      'wide',
      Array.from({ length: 200 }, (_, index) => field(`f${index}`, 'string')),
    );
    expect(refusalFields(await admin.request(CREATE_TYPE, { d: wide }))).to.deep.equal({
      fields: 'В типе карточек не больше 200 полей, включая скрытые (сейчас 201): уберите лишние или заведите ещё один тип',
    });
    const { cardType } = await admin.data<{ cardType: unknown }>('query { cardType(key: "wide") { key } }');
    expect(cardType).to.equal(null);
  });

  it('refuses reference targets that are no card type, and a reference default', async () => {
    const fields = refusalFields(await admin.request(CREATE_TYPE, { d: type('orders', [field('party', 'reference', { targets: ['counterparty', 'no-such-type'] })]) }));
    expect(fields).to.deep.equal({ 'fields.1.targets.1': 'Нет типа карточек «no-such-type»' });
    const withDefault = refusalFields(
      await admin.request(CREATE_TYPE, { d: type('orders', [field('party', 'reference', { targets: ['counterparty'], default: '0123456789abcdef01234567' })]) }),
    );
    expect(withDefault).to.deep.equal({ 'fields.1.default': 'Не применяется к полям этого типа' });
  });

  it('fills in a reference only with a card of its target type outside the trash, and a user field only with a user that exists', async () => {
    const party = await card('counterparty', { name: 'ООО «Ромашка»' });
    const trashed = await card('counterparty', { name: 'ООО «Ушедшее»' });
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: trashed.id });
    const other = await card('codes', { name: 'Не контрагент' });
    const deal = await card('deal', { name: 'Сделка без контрагента' });
    const change = async (key: 'party' | 'owner', fillMissing: string) =>
      versioned(admin, {
        ...type('deal', []),
        fields: [field(key, key === 'party' ? 'reference' : 'user', { ...(key === 'party' && { targets: ['counterparty'] }), required: true, fillMissing })],
      });
    const refused = async (key: 'party' | 'owner', id: string) => refusalFields(await admin.request(UPDATE_TYPE, { d: await change(key, id) }))['fields.0.fillMissing'];

    const nowhere = '0123456789abcdef01234567';
    expect(await refused('party', nowhere)).to.equal(`Нет карточки с идентификатором ${nowhere} (или она в корзине)`);
    expect(await refused('party', trashed.id)).to.equal(`Нет карточки с идентификатором ${trashed.id} (или она в корзине)`);
    expect(await refused('party', other.id)).to.equal(`Карточка ${other.id} — типа «Тип codes», а поле ссылается на карточки типа «Контрагент»`);
    expect(await refused('owner', nowhere)).to.equal(`Нет пользователя с идентификатором ${nowhere}`);
    // The dry run says the same, at the same place.
    expect(refusalFields(await admin.request(PREVIEW, { d: await change('party', other.id) }))).to.have.property('fields.0.fillMissing');
    expect(await values(deal.id)).to.not.have.property('party');

    const saved = await admin.data<{ updateCardType: { changeJob: { id: string } | null } }>(UPDATE_TYPE, { d: await change('party', party.id) });
    expect((await typeChangeApplied(admin, saved.updateCardType.changeJob))?.state).to.equal('succeeded');
    expect(await values(deal.id)).to.include({ party: party.id });

    const userId = await createUser(admin, { login: 'owner', fullName: 'Ольга Владелец', password: 'secret-password-1', departmentId: await createDepartment(admin, 'Продажи') });
    const owned = await admin.data<{ updateCardType: { changeJob: { id: string } | null } }>(UPDATE_TYPE, { d: await change('owner', userId) });
    expect((await typeChangeApplied(admin, owned.updateCardType.changeJob))?.state).to.equal('succeeded');
    expect(await values(deal.id)).to.include({ owner: userId });
  });

  it('reports text → whole number that changes what a person reads («007», «1 000», «12.0») as changing values, with examples, and saves it only when accepted', async () => {
    const ids = {
      plain: (await card('codes', { name: 'Простой', code: '42' })).id,
      zeros: (await card('codes', { name: 'С нулями', code: '007' })).id,
      spaced: (await card('codes', { name: 'С пробелом', code: '1 000' })).id,
      fraction: (await card('codes', { name: 'С дробью', code: '12.0' })).id,
      again: (await card('codes', { name: 'Снова с нулями', code: '007' })).id,
    };
    const asNumber = async () => versioned(admin, { ...type('codes', []), fields: [field('code', 'integer')] });

    const dryRun = await preview(await asNumber());
    expect(dryRun.safe).to.equal(false);
    expect(dryRun.checkId).to.equal(null);
    const code = dryRun.fields.find((entry) => entry.key === 'code')!;
    expect(code).to.include({ safe: false, failureCount: 0, alteredCount: 4, alteredAccepted: false });
    expect(code.altered.map(({ was, becomes, cards }) => ({ was, becomes, cards }))).to.have.deep.members([
      { was: '007', becomes: '7', cards: 2 },
      { was: '1 000', becomes: '1\u00a0000', cards: 1 },
      { was: '12.0', becomes: '12', cards: 1 },
    ]);

    const refusal = await admin.request(UPDATE_TYPE, { d: await asNumber() });
    expect(refusalFields(refusal)['fields.0.kind']).to.match(/^Преобразование изменит значения в карточках: 4 \(например, «.+» станет «.+»\)\. Проверьте примеры/);
    expect(await values(ids.zeros)).to.include({ code: '007' });

    const accepted = await preview(await asNumber(), true);
    expect(accepted.safe).to.equal(true);
    expect(accepted.fields.find((entry) => entry.key === 'code')).to.include({ safe: true, alteredAccepted: true });
    const saved = await admin.data<{ updateCardType: { changeJob: { id: string } | null } }>(UPDATE_TYPE, { d: await asNumber(), accept: true });
    expect((await typeChangeApplied(admin, saved.updateCardType.changeJob))?.state).to.equal('succeeded');
    expect(await values(ids.plain)).to.include({ code: 42 });
    expect(await values(ids.zeros)).to.include({ code: 7 });
    expect(await values(ids.spaced)).to.include({ code: 1000 });
    expect(await values(ids.fraction)).to.include({ code: 12 });
  });

  it('lists whole numbers outside 1–5 that would not become a rating, refuses the save, and keeps them as they were', async () => {
    const low = await card('codes', { name: 'Ноль', score: 0 });
    const high = await card('codes', { name: 'Семь', score: 7 });
    const good = await card('codes', { name: 'Четыре', score: 4 });
    const asRating = async () => versioned(admin, { ...type('codes', []), fields: [field('score', 'rating')] });

    const score = (await preview(await asRating())).fields.find((entry) => entry.key === 'score')!;
    expect(score).to.include({ safe: false, failureCount: 2 });
    expect(score.failures).to.have.deep.members([
      { cardId: low.id, value: 0, reason: 'Оценка — от 1 до 5' },
      { cardId: high.id, value: 7, reason: 'Оценка — от 1 до 5' },
    ]);
    expect(refusalFields(await admin.request(UPDATE_TYPE, { d: await asRating(), accept: true }))).to.deep.equal({
      'fields.0.kind': 'Не преобразуются значения в карточках: 2',
    });
    expect(await values(high.id)).to.include({ score: 7 });
    expect(await values(low.id)).to.include({ score: 0 });
    expect(await values(good.id)).to.include({ score: 4 });
  });

  it('names a unique field the database does not keep unique, with the reason, lists the repeats on the next save, and enforces it once they are gone', async () => {
    const first = await card('tickets', { name: 'Первая', number: 'A-1' });
    const second = await card('tickets', { name: 'Вторая', number: 'A-2' });
    // As after a restore or a start that found duplicates: the index is missing and two cards share a value.
    await Card.collection.dropIndex('unique_tickets_number');
    await Card.collection.updateOne({ _id: new (await import('mongoose')).Types.ObjectId(second.id) }, { $set: { 'values.number': 'A-1' } });
    const listed = async () => (await admin.data<{ cardTypes: { key: string; uniqueNotEnforced: string[]; uniqueNotEnforcedReason: string | null }[] }>(TYPES)).cardTypes;
    expect((await listed()).find((entry) => entry.key === 'tickets')).to.deep.include({ uniqueNotEnforced: ['number'], uniqueNotEnforcedReason: 'DUPLICATES' });
    expect((await listed()).find((entry) => entry.key === 'deal')).to.deep.include({ uniqueNotEnforced: [], uniqueNotEnforcedReason: null });

    const same = async () => versioned(admin, type('tickets', [field('number', 'string', { unique: true })]));
    const dryRun = await preview(await same());
    expect(dryRun.safe).to.equal(false);
    expect(dryRun.fields.find((entry) => entry.key === 'number')).to.include({ duplicateCount: 1 });
    expect(refusalFields(await admin.request(UPDATE_TYPE, { d: await same() }))).to.deep.equal({ 'fields.1.unique': 'Повторяющихся значений: 1' });

    const current = await admin.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id: second.id });
    await admin.data('mutation($id: ID!, $v: JSON!, $version: Int!) { updateCard(id: $id, values: $v, version: $version) { id } }', {
      id: second.id,
      v: { number: 'A-2' },
      version: current.card.version,
    });
    await admin.data(UPDATE_TYPE, { d: await same() });
    expect((await listed()).find((entry) => entry.key === 'tickets')).to.deep.include({ uniqueNotEnforced: [], uniqueNotEnforcedReason: null });
    expect(refusalFields(await admin.request(CREATE_CARD, { f: folderId, t: 'tickets', v: { name: 'Третья', number: 'A-1' } }))).to.have.property('number');
    expect(first.id).to.be.a('string');
  });

  it('refuses making a field unique when cards written after the check repeat its values (an import running), at the field, and keeps it not unique (s16 A2)', async () => {
    await admin.data(CREATE_TYPE, { d: type('serials', [field('serial', 'string')]) });
    const serials = await createFolder(admin, { libraryId: await createLibrary(admin, 'Серийные'), name: 'Серийные', allowedCardTypes: ['serials'] });
    await admin.data(CREATE_CARD, { f: serials, t: 'serials', v: { name: 'Первый', serial: 'S-1' } });
    const before = await indexCount();
    const collection = Card.collection;
    const createIndex = collection.createIndex.bind(collection);
    // A card written with a repeated value between the save's check and its index, as a running import writes one.
    collection.createIndex = (async (...args: Parameters<typeof createIndex>) => {
      if (String(args[1]?.name) === 'unique_serials_serial')
        await Card.collection.insertOne({ ...(await Card.collection.findOne({ typeKey: 'serials' }))!, _id: new Types.ObjectId() });
      return createIndex(...args);
    }) as typeof collection.createIndex;
    try {
      // With a listed field too: its sorting index, made before the refusal, is dropped with it (s17 attack M1).
      const unique = await versioned(admin, type('serials', [field('serial', 'string', { unique: true }), field('shelf', 'string', { listed: true })]));
      const answer = await admin.request(UPDATE_TYPE, { d: unique });
      expect(refusalFields(answer)).to.deep.equal({
        'fields.1.unique':
          'Пока тип сохранялся, в карточках появились повторяющиеся значения этого поля (например, идёт импорт): уникальность не включена. Дождитесь окончания записи и сохраните снова — проверка покажет повторы',
      });
    } finally {
      collection.createIndex = createIndex;
    }
    const { cardType } = await admin.data<{ cardType: { version: number; fields: { key: string; unique: boolean | null }[] } }>(
      'query { cardType(key: "serials") { version fields { key unique } } }',
    );
    expect(cardType.fields.find((f) => f.key === 'serial')?.unique).to.equal(false);
    expect(cardType.fields.map((f) => f.key)).to.not.include('shelf');
    const names = (await Card.collection.indexes()).map((index) => index.name);
    expect(names).to.not.include('unique_serials_serial');
    expect(names).to.not.include('sort_shelf');
    expect(await indexCount()).to.equal(before);
  });

  it('makes the sorting indexes of a type of 12 listed fields in one pass over the cards, not one pass each (s16 re-attack: ~7 minutes under the index lock)', async () => {
    for (let i = 0; i < 30; i++) await card('codes', { name: `Код ${i}` });
    const listed = Array.from({ length: 12 }, (_, index) => field(`column${index}`, 'string', { listed: true }));
    const { commands } = await databaseCommandsDuring(() => admin.data(CREATE_TYPE, { d: type('wide', listed) }));
    const builds = commands.filter((command) => command.name === 'createIndexes' && command.collection === 'cards');
    expect(builds.map((command) => (command.command.indexes as { name: string }[]).map((index) => index.name))).to.deep.equal([listed.map((entry) => `sort_${entry.key}`)]);
    const names = new Set((await Card.collection.indexes()).map((index) => index.name));
    expect(listed.filter((entry) => !names.has(`sort_${entry.key}`))).to.deep.equal([]);
    // The budget tests below count from the indexes the file's other types made.
    for (const entry of listed) await Card.collection.dropIndex(`sort_${entry.key}`);
  });

  it("drops the sorting index of the save another administrator beat (CONFLICT) and keeps the winner's, whose field sorts (s17 attack M1: each lost save kept its index, until the budget was full)", async () => {
    await admin.data(CREATE_TYPE, { d: type('pair', [field('note', 'string')]) });
    const pairs = await createFolder(admin, { libraryId: await createLibrary(admin, 'Пары'), name: 'Пары', allowedCardTypes: ['pair'] });
    const before = await indexCount();
    const second = await signedIn(server);
    const from = await versioned(admin, type('pair', [field('note', 'string')]));
    const withColumn = (key: string) => ({ ...from, fields: [...from.fields, field(key, 'string', { listed: true })] });
    const answers = await Promise.all([admin.request(UPDATE_TYPE, { d: withColumn('shelfp') }), second.request(UPDATE_TYPE, { d: withColumn('shelfq') })]);
    expect(answers.map((answer) => answer.errors?.[0]?.extensions?.code ?? 'ok').sort()).to.deep.equal(['CONFLICT', 'ok']);
    const winner = answers[0].errors ? 'shelfq' : 'shelfp';
    const loser = winner === 'shelfp' ? 'shelfq' : 'shelfp';
    const names = (await Card.collection.indexes()).map((index) => index.name);
    expect(names).to.include(`sort_${winner}`);
    expect(names).to.not.include(`sort_${loser}`);
    expect(await indexCount()).to.equal(before + 1);
    for (const [name, value] of [
      ['А', 'в'],
      ['Б', 'а'],
      ['В', 'б'],
    ])
      await admin.data(CREATE_CARD, { f: pairs, t: 'pair', v: { name, [winner]: value } });
    const LIST = 'query($f: ID!, $s: String) { cards(folderId: $f, sortBy: $s) { edges { node { title } } } }';
    const sorted = await admin.data<{ cards: { edges: { node: { title: string } }[] } }>(LIST, { f: pairs, s: winner });
    expect(sorted.cards.edges.map((edge) => edge.node.title)).to.deep.equal(['Б', 'В', 'А']);
    // A save that stops listing the field drops its index: no type wants it any more.
    const unlisted = await versioned(admin, type('pair', [field('note', 'string'), field(winner, 'string', { listed: false })]));
    await typeChangeApplied(admin, (await admin.data<{ updateCardType: { changeJob: { id: string } | null } }>(UPDATE_TYPE, { d: unlisted })).updateCardType.changeJob);
    expect((await Card.collection.indexes()).map((index) => index.name)).to.not.include(`sort_${winner}`);
    expect(await indexCount()).to.equal(before);
  });

  it('drops at start the type indexes no stored type wants (a crash mid-save left them), keeping the ones a type wants', async () => {
    const start = () => syncCardTypes(createLogger({ logLevel: 'silent' }));
    await start();
    const before = await indexCount();
    await Card.collection.createIndex({ folderId: 1, inTrash: 1, 'values.stray': 1, _id: 1 }, { name: 'sort_stray' });
    await Card.collection.createIndex({ 'values.strayref': 1, typeKey: 1 }, { name: 'ref_strayref' });
    await start();
    const names = (await Card.collection.indexes()).map((index) => index.name);
    expect(names).to.not.include('sort_stray');
    expect(names).to.not.include('ref_strayref');
    expect(names).to.include.members(['ref_party', 'unique_tickets_number', 'sort_column0']);
    expect(await indexCount()).to.equal(before);
    // The budget tests below count from the indexes the file's other types made.
    for (let index = 0; index < 12; index++) await Card.collection.dropIndex(`sort_column${index}`);
  });

  it('refuses the change that would take the cards collection past its index budget, at the fields asking, saying how many are in use', async () => {
    const room = CARD_INDEX_BUDGET - (await indexCount());
    expect(room).to.be.above(1);
    const unique = (count: number, from = 0) => Array.from({ length: count }, (_, index) => field(`u${from + index}`, 'string', { unique: true }));
    await admin.data(CREATE_TYPE, { d: type('registry', unique(room)) });
    expect(await indexCount()).to.equal(CARD_INDEX_BUDGET);
    // What the designer shows before anything is refused.
    expect((await admin.data<{ cardIndexUse: unknown }>('{ cardIndexUse { inUse budget } }')).cardIndexUse).to.deep.equal({ inUse: CARD_INDEX_BUDGET, budget: CARD_INDEX_BUDGET });

    const more = await versioned(admin, type('registry', [...unique(room), field('extra', 'string', { unique: true }), field('sorted', 'string', { listed: true })]));
    const expected = `Не хватает индексов: у коллекции карточек их ${CARD_INDEX_BUDGET}, а типам карточек доступно не больше ${CARD_INDEX_BUDGET} (MongoDB допускает 64 на коллекцию, 4 оставлены самой Картотеке); это изменение добавило бы ещё 2. Снимите «Уникальное» или «Колонка в списке карточек» с полей, где они не нужны`;
    expect(refusalFields(await admin.request(UPDATE_TYPE, { d: more }))).to.deep.equal({ [`fields.${room + 1}.unique`]: expected, [`fields.${room + 2}.listed`]: expected });
    expect(refusalFields(await admin.request(PREVIEW, { d: more }))).to.have.property(`fields.${room + 1}.unique`);
    expect(await indexCount()).to.equal(CARD_INDEX_BUDGET);

    // Trading one unique field for another fits; so does a listed field whose sorting index another type made already (shared).
    const traded = await versioned(admin, type('registry', [...unique(room - 1), field(`u${room - 1}`, 'string'), field('extra', 'string', { unique: true, listed: false })]));
    const saved = await admin.data<{ updateCardType: { changeJob: { id: string } | null } }>(UPDATE_TYPE, { d: traded });
    await typeChangeApplied(admin, saved.updateCardType.changeJob);
    expect(await indexCount()).to.equal(CARD_INDEX_BUDGET);
    const types = (await admin.data<{ cardTypes: { key: string; uniqueNotEnforced: string[] }[] }>(TYPES)).cardTypes;
    expect(types.find((entry) => entry.key === 'registry')?.uniqueNotEnforced).to.deep.equal([]);
  });

  it('lets only one of two administrators saving at once take the last index the budget leaves: the other is refused at its field', async () => {
    const { cardTypes } = await admin.data<{ cardTypes: { key: string; fields: { key: string; unique: boolean | null }[] }[] }>('{ cardTypes { key fields { key unique } } }');
    const registry = cardTypes.find((entry) => entry.key === 'registry')!;
    const uniqueKeys = registry.fields.filter((entry) => entry.unique).map((entry) => entry.key);
    // One unique field less frees one index.
    const [freed, ...kept] = uniqueKeys;
    await admin.data(UPDATE_TYPE, { d: await versioned(admin, type('registry', [field(freed, 'string'), ...kept.map((key) => field(key, 'string', { unique: true }))])) });
    expect(await indexCount()).to.equal(CARD_INDEX_BUDGET - 1);

    const second = await signedIn(server);
    const answers = await Promise.all([
      admin.request(CREATE_TYPE, { d: type('racea', [field('code', 'string', { unique: true })]) }),
      second.request(CREATE_TYPE, { d: type('raceb', [field('code', 'string', { unique: true })]) }),
    ]);
    expect(answers.filter((answer) => !answer.errors)).to.have.length(1);
    const refused = answers.filter((answer) => answer.errors).map((answer) => refusalFields(answer)['fields.1.unique']);
    expect(refused).to.have.length(1);
    expect(refused[0]).to.have.string(`Не хватает индексов: у коллекции карточек их ${CARD_INDEX_BUDGET},`);
    expect(await indexCount()).to.equal(CARD_INDEX_BUDGET);
    const { cardTypes: after } = await admin.data<{ cardTypes: { key: string; uniqueNotEnforced: string[] }[] }>(TYPES);
    const raced = after.filter((entry) => entry.key.startsWith('race'));
    expect(raced).to.have.length(1);
    expect(raced[0].uniqueNotEnforced).to.deep.equal([]);
  });

  it('refuses a fill-in value for a file field (a file belongs to one card) and saves it required for new and edited cards only', async () => {
    const code = await card('codes', { name: 'Без скана' });
    const scanRequired = async (more: Record<string, unknown>) => versioned(admin, { ...type('codes', []), fields: [field('scan', 'file', { required: true, ...more })] });
    const fill = '0123456789abcdef01234567';
    const refusal = 'У каждой карточки свои файлы: поле с файлами не заполняется одним значением. Отметьте «Обязательно только для новых и изменяемых карточек»';
    expect(refusalFields(await admin.request(UPDATE_TYPE, { d: await scanRequired({ fillMissing: fill }) }))['fields.0.fillMissing']).to.equal(refusal);
    expect(refusalFields(await admin.request(PREVIEW, { d: await scanRequired({ fillMissing: fill }) }))['fields.0.fillMissing']).to.equal(refusal);
    expect(await values(code.id)).to.not.have.property('scan');

    await admin.data(UPDATE_TYPE, { d: await scanRequired({ requiredFor: 'newAndEdited' }) });
    expect(await values(code.id)).to.not.have.property('scan');
  });
});
