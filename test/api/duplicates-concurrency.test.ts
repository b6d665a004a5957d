import { expect } from 'chai';
import { pino } from 'pino';
import type { RunningServer } from '../../server/src/server';
import { DuplicateDismissal, Merge } from '../../server/src/duplicates/model';
import { duplicateScanJob } from '../../server/src/duplicates/scan';
import { refusalFields, type ApiClient } from '../support/api-client';
import { createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version } }';
const UPDATE = 'mutation($id: ID!, $n: Int!, $v: JSON!) { updateCard(id: $id, version: $n, values: $v) { id version } }';
const GROUPS = '{ duplicateGroups(first: 100) { edges { node { id cards { id } } } } }';
const PAIRS = 'query($t: String!) { duplicateGroups(typeKey: $t, first: 10) { edges { node { cards { id } pairs { a b } } } } }';
const MERGE = `mutation($s: CardVersionInput!, $m: [CardVersionInput!]!) {
  mergeCards(survivor: $s, merged: $m, choices: []) { merge { id references } } }`;
const CARD = 'query($id: ID!) { card(id: $id) { id values } }';

/**
 * Duplicates while several people work at once: concurrent saves, a scan running meanwhile, a
 * reference made during a merge. The interleavings are made deterministic by running the second
 * action at a known point of the first (never by waiting a while).
 */
describe('duplicates under concurrent work and with many cards of one name (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let folder = '';

  const create = async (values: Record<string, unknown>, type = 'counterparty') =>
    (await editor.data<{ createCard: { id: string; version: number } }>(CREATE, { f: folder, t: type, v: values })).createCard;
  const rename = (client: ApiClient, card: { id: string; version: number }, name: string) =>
    client.data<{ updateCard: { id: string; version: number } }>(UPDATE, { id: card.id, n: card.version, v: { name } });
  const groupsOf = async (ids: string[]) =>
    (await admin.data<{ duplicateGroups: { edges: { node: { cards: { id: string }[] } }[] } }>(GROUPS)).duplicateGroups.edges
      .map((edge) => edge.node.cards.map((card) => card.id).sort())
      .filter((cards) => cards.some((id) => ids.includes(id)));

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'editor', fullName: 'Татьяна Гончаренко', level: 'edit' }]);
    folder = scenario.folderId;
    editor = await signedIn(server, 'editor', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('six people renaming six cards to one name at the same moment get one group of the six', async () => {
    const cards = [];
    for (const name of ['ООО Кедр', 'ООО Дуб', 'ООО Клён', 'ООО Ель', 'ООО Ива', 'ООО Липа']) cards.push(await create({ name }));
    const people = [admin, editor, await signedIn(server, 'editor', PASSWORD), await signedIn(server), await signedIn(server, 'editor', PASSWORD), await signedIn(server)];
    const names = ['ООО «Ясень»', 'Ясень ООО', 'ясень', 'ЯСЕНЬ, ООО', 'Ясень', 'ООО Ясень'];
    await Promise.all(cards.map((card, i) => rename(people[i], card, names[i])));
    const ids = cards.map((card) => card.id);
    expect(await groupsOf(ids)).to.deep.equal([[...ids].sort()]);
  });

  it('a scan does not bring back a pair a rename removed while it ran, and keeps the pair the rename made', async () => {
    const x = await create({ name: 'ООО «Берёзка»' });
    const y = await create({ name: 'Берёзка ООО' });
    const z = await create({ name: 'ООО «Сосна»' });
    expect(await groupsOf([x.id, y.id, z.id])).to.deep.equal([[x.id, y.id].sort()]);
    // The rename is made once the scan has read every card, before it stores its groups.
    const find = DuplicateDismissal.find.bind(DuplicateDismissal);
    let armed = true;
    const patched = DuplicateDismissal as unknown as { find: (...args: unknown[]) => unknown };
    patched.find = (...args: unknown[]) => {
      const filter = args[0] as Record<string, unknown>;
      if (!armed || !('typeKey' in filter)) return (find as (...a: unknown[]) => unknown)(...args);
      armed = false;
      return { lean: async () => (await rename(editor, y, 'Сосна ООО'), (find as (...a: unknown[]) => { lean(): unknown })(...args).lean()) };
    };
    try {
      await duplicateScanJob.run({
        jobId: 'test',
        ownerId: null,
        params: { typeKeys: ['counterparty'] },
        resumeFrom: null,
        signal: new AbortController().signal,
        progress: () => {},
        checkpoint: async () => {},
        logger: pino({ level: 'silent' }),
      });
    } finally {
      patched.find = find as (...args: unknown[]) => unknown;
    }
    expect(armed).to.equal(false);
    expect(await groupsOf([x.id, y.id, z.id])).to.deep.equal([[y.id, z.id].sort()]);
  });

  it('a contact person saved while its counterparty is being merged ends up pointing to the surviving card', async () => {
    const survivor = await create({ name: 'ООО «Гранит»' });
    const merged = await create({ name: 'Гранит ООО' });
    let contact = '';
    // The contact is saved while the merge's transaction is open (it still sees its counterparty outside the trash).
    const original = Merge.create.bind(Merge);
    const patched = Merge as unknown as { create: (...args: unknown[]) => unknown };
    patched.create = async (...args: unknown[]) => {
      patched.create = original as (...a: unknown[]) => unknown;
      contact = (await create({ fullName: 'Пётр Новиков', counterparty: merged.id }, 'contact-person')).id;
      return (original as (...a: unknown[]) => unknown)(...args);
    };
    let references: number | undefined;
    try {
      references = (await editor.data<{ mergeCards: { merge: { references: number } } }>(MERGE, { s: survivor, m: [merged] })).mergeCards.merge.references;
    } finally {
      patched.create = original as (...a: unknown[]) => unknown;
    }
    expect(contact).to.not.equal('');
    const card = (await editor.data<{ card: { values: Record<string, unknown> } }>(CARD, { id: contact })).card;
    expect(card.values.counterparty).to.equal(survivor.id);
    expect(references).to.equal(1);
  });
  it('many contact persons of one name make one group whose pairs grow with the cards, not with their square', async () => {
    const count = 60;
    for (let i = 0; i < count; i += 1) await create({ fullName: 'Бухгалтерия' }, 'contact-person');
    const found = (await admin.data<{ duplicateGroups: { edges: { node: { cards: { id: string }[]; pairs: unknown[] } }[] } }>(PAIRS, { t: 'contact-person' })).duplicateGroups
      .edges;
    expect(found).to.have.length(1);
    expect(found[0].node.cards).to.have.length(count);
    // Every pair among the first 50 (as a scan joins a block that small), then one pair for each card more.
    expect(found[0].node.pairs).to.have.length((50 * 49) / 2 + (count - 50));
  });
  it('refuses marking a card «Не дубликат» of itself written in capitals, and a page size below 1, naming the argument', async () => {
    const card = await create({ name: 'ООО «Клевер»' });
    const self = await editor.request('mutation($c: ID!, $o: [ID!]!) { markNotDuplicates(cardId: $c, otherIds: $o) }', { c: card.id, o: [card.id.toUpperCase()] });
    expect(refusalFields(self)).to.deep.equal({ otherIds: 'Карточка не может быть дубликатом самой себя' });
    for (const first of [0, -5]) {
      expect(refusalFields(await editor.request('query($n: Int!) { duplicateGroups(first: $n) { edges { node { id } } } }', { n: first }))).to.deep.equal({
        first: 'Укажите целое число от 1',
      });
      expect(refusalFields(await editor.request('query($n: Int!) { similarCards(typeKey: "counterparty", values: {}, first: $n) { score } }', { n: first }))).to.deep.equal({
        first: 'Укажите целое число от 1',
      });
    }
  });
});
