import { expect } from 'chai';
import { Types } from 'mongoose';
import { findCardType } from '../../server/src/card-types/registry';
import { Card } from '../../server/src/cards/model';
import type { RunningServer } from '../../server/src/server';
import { innFromStem } from '../../seeds/demo-cards';
import { generateCounterparties } from '../../seeds/generate';
import { refusalFields, type ApiClient } from '../support/api-client';
import { databaseCommandsDuring } from '../support/commands';
import { createCorrespondents, createFolder, setFolderAccess, typeChangeApplied, versioned } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const PREVIEW =
  'query($d: CardTypeInput!) { cardTypeChangePreview(definition: $d) { safe checkId fields { key safe missing missingCount missingAccepted updates duplicateCount } } }';
const UPDATE = 'mutation($d: CardTypeInput!, $check: ID) { updateCardType(definition: $d, checkId: $check) { key fields { key required requiredFor } } }';

type Preview = {
  safe: boolean;
  checkId: string | null;
  fields: { key: string; safe: boolean; missing: string[]; missingCount: number; missingAccepted: boolean; updates: number; duplicateCount: number }[];
};

/** The commands the server sends to the cards collection while `work` runs (their filter or pipeline as text). */
async function cardCommandsDuring(work: () => Promise<unknown>): Promise<{ name: string; filter: string }[]> {
  const { commands } = await databaseCommandsDuring(work);
  return (
    commands
      // (Listing the collection's indexes reads no card: the index budget and unique fields' indexes are checked that way.)
      .filter((command) => command.collection === 'cards' && command.name !== 'listIndexes')
      .map((command) => ({ name: command.name, filter: JSON.stringify(command.command.filter ?? command.command.pipeline ?? null) }))
  );
}

/**
 * Making «ИНН» of an administrator's «Поставщик» required (#14; a built-in type's requirement comes
 * from its code): the dry run asks the database, and the save trusts a dry run that still holds.
 */
describe('issue 14: the dry run of a field becoming required is a database query, and the save reuses it while it holds', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let folderId: string;
  const withInn: string[] = [];
  const withoutInn: string[] = [];

  const supplier = {
    key: 'supplier',
    names: { ru: 'Поставщик', en: 'Supplier' },
    titleTemplate: '{name}',
    historyEnabled: false,
    origin: 'admin',
    fields: [
      { key: 'name', kind: 'string', label: { ru: 'Наименование', en: 'Name' }, required: true, listed: true },
      { key: 'inn', kind: 'inn', label: { ru: 'ИНН', en: 'INN' }, unique: true, listed: true },
    ],
  };
  const supplierChange = async (inn: Record<string, unknown>) => {
    const stored = (await findCardType('supplier'))!;
    const fields = stored.fields.map((field) => (field.key === 'inn' ? { ...field, ...inn } : field));
    return versioned(admin, { key: 'supplier', names: stored.names, titleTemplate: stored.titleTemplate, historyEnabled: false, origin: 'admin', fields });
  };
  const preview = async (definition: unknown) => (await admin.data<{ cardTypeChangePreview: Preview }>(PREVIEW, { d: definition })).cardTypeChangePreview;
  const newCounterparty = async (client: ApiClient, values: Record<string, unknown>) =>
    (
      await client.data<{ createCard: { id: string } }>('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "supplier", values: $v) { id } }', {
        f: folderId,
        v: values,
      })
    ).createCard.id;

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    admin = await signedIn(server);
    const { libraryId, userIds } = await createCorrespondents(admin, PASSWORD, [{ login: 'nvakulenko', fullName: 'Наталья Вакуленко', level: 'edit' }]);
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: supplier });
    folderId = await createFolder(admin, { libraryId, name: 'Поставщики', allowedCardTypes: ['supplier'] });
    await setFolderAccess(admin, folderId, [{ principalId: userIds.nvakulenko, level: 'edit' }]);
    editor = await signedIn(server, 'nvakulenko', PASSWORD);
    for (let n = 0; n < 6; n += 1) withInn.push(await newCounterparty(admin, { name: `ООО «Альфа-${n}»`, inn: innFromStem(String(770_000_000 + n)) }));
    for (const name of ['ООО «Бета»', 'ООО «Гамма»', 'ООО «Дельта»']) withoutInn.push(await newCounterparty(admin, { name }));
  });
  after(async () => {
    await server?.stop();
  });

  it('the cards lacking «ИНН» are counted and listed by one count and one page read, not by reading every card’s value', async () => {
    const change = await supplierChange({ required: true });
    let report: Preview | undefined;
    const commands = await cardCommandsDuring(async () => (report = await preview(change)));
    const inn = report!.fields.find((field) => field.key === 'inn')!;
    expect(report!.safe).to.equal(false);
    expect(report!.checkId).to.equal(null);
    expect(inn).to.include({ missingCount: 3, missingAccepted: false, updates: 0 });
    expect([...inn.missing].sort()).to.deep.equal([...withoutInn].sort());
    // Every command on the cards asks about the cards lacking a value; none reads the cards holding one.
    expect(commands.length).to.be.greaterThan(0);
    for (const command of commands) expect(command.filter, `${command.name} ${command.filter}`).to.contain('values.inn');
    expect(commands.map((command) => command.name)).to.not.include('getMore');

    const accepted = await preview(await supplierChange({ required: true, requiredFor: 'newAndEdited' }));
    expect(accepted.safe).to.equal(true);
    expect(accepted.fields.find((field) => field.key === 'inn')).to.include({ missingCount: 3, missingAccepted: true });
    // One INN filled into the three cards would repeat it: refused as duplicates.
    const filled = await preview(await supplierChange({ required: true, fillMissing: innFromStem('500100732') }));
    expect(filled.safe).to.equal(false);
    expect(filled.fields.find((field) => field.key === 'inn')).to.include({ missingCount: 0, updates: 3, duplicateCount: 1 });
  });

  it('a checkId is only for the definition it was made for, over the type as it is stored: anything else gets the whole check', async () => {
    const lenient = await preview(await supplierChange({ required: true, requiredFor: 'newAndEdited' }));
    expect(lenient.safe).to.equal(true);
    // The lenient dry run's checkId does not carry a stricter definition through.
    const strict = await admin.request(UPDATE, { d: await supplierChange({ required: true, requiredFor: 'all' }), check: lenient.checkId });
    expect(Object.values(refusalFields(strict)).join(' ')).to.contain('Карточек без значения: 3');
    // Not an id at all: refused at the argument.
    const malformed = await admin.request(UPDATE, { d: await supplierChange({ required: true, requiredFor: 'newAndEdited' }), check: 'not-an-id' });
    expect(refusalFields(malformed)).to.deep.equal({ checkId: 'Неверный идентификатор' });
  });

  it('the save given its dry run’s checkId looks only at the cards changed since: a card created meanwhile without «ИНН» still refuses it; with nothing in the way it saves without counting again', async () => {
    const setInn = async (id: string, inn: string) => {
      const version = (await admin.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id })).card.version;
      await admin.data('mutation($id: ID!, $version: Int!, $v: JSON!) { updateCard(id: $id, version: $version, values: $v) { id } }', { id, version, v: { inn } });
    };
    for (const [n, id] of withoutInn.entries()) await setInn(id, innFromStem(String(780_000_000 + n)));
    const everyCard = await supplierChange({ required: true });
    const dryRun = await preview(everyCard);
    expect(dryRun.safe).to.equal(true);
    expect(dryRun.checkId).to.be.a('string');

    // Before the administrator saves, Наталья adds a supplier without an INN (not required yet).
    const late = await newCounterparty(editor, { name: 'ООО «Эпсилон»' });
    const refused = await admin.request(UPDATE, { d: everyCard, check: dryRun.checkId });
    expect(Object.values(refusalFields(refused)).join(' ')).to.contain('Карточек без значения: 1');
    expect((refused.errors?.[0].extensions?.report as Preview).fields.find((field) => field.key === 'inn')?.missing).to.deep.equal([late]);

    // She fills it in; the next dry run holds at the save, which then counts nothing again.
    await setInn(late, innFromStem('781000000'));
    const holds = await preview(everyCard);
    expect(holds.safe).to.equal(true);
    let saved: { updateCardType: { fields: { key: string; required: boolean | null }[] } } | undefined;
    const commands = await cardCommandsDuring(async () => (saved = await admin.data(UPDATE, { d: everyCard, check: holds.checkId })));
    expect(saved!.updateCardType.fields.find((field) => field.key === 'inn')?.required).to.equal(true);
    expect(commands.map((command) => command.name)).to.not.include('aggregate');
    const finds = commands.filter((command) => command.name === 'find');
    expect(finds.length).to.be.greaterThan(0);
    for (const find of finds) expect(find.filter).to.contain('updatedAt');
    // And the rule is in force: a new supplier needs its INN.
    const refusedCreate = await editor.request('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "supplier", values: $v) { id } }', {
      f: folderId,
      v: { name: 'ООО «Дзета»' },
    });
    expect(refusalFields(refusedCreate)).to.have.property('inn');
  });

  it('a card restored from the trash between the dry run and the save is noticed: lacking «ИНН», it refuses the save given the dry run’s checkId', async () => {
    await admin.data(UPDATE, { d: await supplierChange({ required: false }) });
    const trashed = await newCounterparty(editor, { name: 'ООО «Ипсилон»' });
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: trashed });
    // It went to the trash a day ago: long before the dry run, out of the window of writes that may still be committing.
    const dayAgo = new Date(Date.now() - 86_400_000);
    await Card.updateOne({ _id: new Types.ObjectId(trashed) }, { $set: { updatedAt: dayAgo, trashedAt: dayAgo } }, { timestamps: false });
    const everyCard = await supplierChange({ required: true });
    // The dry run looks at the cards outside the trash: every one of them has its INN.
    const dryRun = await preview(everyCard);
    expect(dryRun.safe).to.equal(true);
    expect(dryRun.checkId).to.be.a('string');

    await admin.data('mutation($id: ID!) { restoreCard(id: $id) { id } }', { id: trashed });
    const refused = await admin.request(UPDATE, { d: everyCard, check: dryRun.checkId });
    expect(Object.values(refusalFields(refused)).join(' ')).to.contain('Карточек без значения: 1');
    expect((refused.errors?.[0].extensions?.report as Preview).fields.find((field) => field.key === 'inn')?.missing).to.deep.equal([trashed]);
    expect((await findCardType('supplier'))!.fields.find((field) => field.key === 'inn')?.required).to.not.equal(true);
  });
});

/**
 * «Численность» of counterparties, a string, becoming an integer (#14): the dry run of a kind change
 * reads the field alone, once, in id order, and keeps only the first page of examples; the cards
 * lacking a value are the database's to count.
 */
describe('issue 14: the dry run of a kind change reads each card’s value once, the field alone, and lists the first examples', function () {
  this.timeout(120_000);
  const CARDS = 260;
  let server: RunningServer;
  let admin: ApiClient;
  let ids: string[];
  const employees = { key: 'employees', kind: 'string', label: { ru: 'Численность', en: 'Employees' } };
  const DRY_RUN = `query($d: CardTypeInput!) { cardTypeChangePreview(definition: $d) { safe fields {
    key safe updates failureCount failures { cardId value reason } missingCount missing } } }`;
  type KindChange = {
    safe: boolean;
    fields: { key: string; updates: number; failureCount: number; failures: { cardId: string; value: unknown }[]; missingCount: number; missing: string[] }[];
  };
  const toInteger = async (extra: Record<string, unknown> = {}) => {
    const stored = (await findCardType('counterparty'))!;
    return versioned(admin, {
      key: 'counterparty',
      names: stored.names,
      titleTemplate: stored.titleTemplate,
      historyEnabled: false,
      origin: 'code',
      fields: [{ ...employees, kind: 'integer', ...extra }],
    });
  };

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    admin = await signedIn(server);
    const folderId = await generateCounterparties({ count: CARDS, folderName: 'Большая папка' });
    ids = (
      await Card.find({ folderId: new Types.ObjectId(folderId) }, { _id: 1 })
        .sort({ _id: 1 })
        .lean()
    ).map((card) => String(card._id));
    const added = await admin.data<{ updateCardType: { changeJob: { id: string } | null } }>(
      'mutation($d: CardTypeInput!) { updateCardType(definition: $d) { changeJob { id } } }',
      {
        d: await versioned(admin, { ...(await toInteger()), fields: [employees] }),
      },
    );
    // The change's own job rewrites the cards: it must be done before their values are set below, or it could write over one.
    await typeChangeApplied(admin, added.updateCardType.changeJob);
    // Most say it in words; ten in digits; five have no value.
    await Card.updateMany({ _id: { $in: ids.map((id) => new Types.ObjectId(id)) } }, { $set: { 'values.employees': 'около 50' } });
    for (const [n, id] of ids.slice(0, 10).entries()) await Card.updateOne({ _id: new Types.ObjectId(id) }, { $set: { 'values.employees': String(40 + n) } });
    await Card.updateMany({ _id: { $in: ids.slice(10, 15).map((id) => new Types.ObjectId(id)) } }, { $unset: { 'values.employees': '' } });
  });
  after(async () => {
    await server?.stop();
  });

  it('counts every value that would not convert, lists the first 200 in the order of the cards, and reads the cards with one cursor over the field alone', async () => {
    const change = await toInteger();
    const { result, commands } = await databaseCommandsDuring(async () => admin.data<{ cardTypeChangePreview: KindChange }>(DRY_RUN, { d: change }));
    const report = result.cardTypeChangePreview;
    const field = report.fields.find((entry) => entry.key === 'employees')!;
    expect(report.safe).to.equal(false);
    expect(field).to.include({ updates: 10, failureCount: CARDS - 15, missingCount: 0 });
    expect(field.failures.map((failure) => failure.cardId)).to.deep.equal(ids.slice(15, 215));
    expect(field.failures[0].value).to.equal('около 50');
    // The cards: one find (and its getMores), projecting the field alone; the cards without a value are not among those it reads.
    const onCards = commands.filter((command) => command.collection === 'cards');
    const finds = onCards.filter((command) => command.name === 'find');
    expect(finds).to.have.length(1);
    expect(finds[0].command.projection).to.deep.equal({ 'values.employees': 1 });
    expect(JSON.stringify(finds[0].command.filter)).to.contain('$nor');
    // Not required, nothing filled in: the cards lacking a value are not even counted.
    // (listIndexes reads no card: whether each unique field's index exists, which decides how it is checked.)
    expect(onCards.map((command) => command.name).filter((name) => !['find', 'getMore', 'listIndexes'].includes(name))).to.deep.equal([]);
  });

  it('required: the cards lacking a value are counted and listed by the database, beside those whose value would not convert', async () => {
    const { result, commands } = await databaseCommandsDuring(async () => admin.data<{ cardTypeChangePreview: KindChange }>(DRY_RUN, { d: await toInteger({ required: true }) }));
    const field = result.cardTypeChangePreview.fields.find((entry) => entry.key === 'employees')!;
    expect(field).to.include({ updates: 10, failureCount: CARDS - 15, missingCount: 5 });
    expect(field.missing).to.deep.equal(ids.slice(10, 15));
    const onCards = commands.filter((command) => command.collection === 'cards');
    expect(onCards.filter((command) => command.name === 'find').map((command) => command.command.projection)).to.deep.equal([{ 'values.employees': 1 }, { _id: 1 }]);
    expect(onCards.filter((command) => command.name === 'aggregate')).to.have.length(1);
  });
});
