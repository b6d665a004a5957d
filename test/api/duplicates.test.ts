import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { scanLimits } from '../../server/src/duplicates/groups';
import { duplicateScanJob } from '../../server/src/duplicates/scan';
import { createLogger } from '../../server/src/logger';
import { refusalFields, type ApiClient } from '../support/api-client';
import { databaseCommandsDuring } from '../support/commands';
import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version values } }';
const SIMILAR =
  'query($t: String!, $v: JSON!, $x: ID) { similarCards(typeKey: $t, values: $v, excludeId: $x) { card { id title } score refusedBy refusedFields rules { id label } } }';
const GROUPS = '{ duplicateGroups(first: 40) { edges { node { id typeKey score canMerge cards(first: 10) { id title } pairs(first: 10) { a b score rule { id label } } } } } }';
const MERGE = `mutation($s: CardVersionInput!, $m: [CardVersionInput!]!, $c: [MergeChoiceInput!]!) {
  mergeCards(survivor: $s, merged: $m, choices: $c) { merge { id references canUndo } survivor { id version values } } }`;
const UNDO = 'mutation($id: ID!) { undoMerge(id: $id) { id undoneAt } }';
const CARD = 'query($id: ID!) { card(id: $id) { id version inTrash values mergedInto { id title } merge { id } } }';
const HISTORY = 'query($id: ID!) { cardHistory(cardId: $id) { edges { node { action changes { key before after afterTitles beforeTitles } } } } }';

interface Group {
  id: string;
  typeKey: string;
  score: number;
  canMerge: boolean;
  cards: { id: string; title: string }[];
  pairs: { a: string; b: string; score: number; rule: { id: string; label: string } }[];
}
interface HistoryChange {
  key: string;
  before: unknown;
  after: unknown;
  afterTitles: Record<string, string | null> | null;
  beforeTitles: Record<string, string | null> | null;
}

describe('duplicates: warnings, groups, «Не дубликат», merge and undo (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let reader: ApiClient;
  const ids: Record<string, string> = {};
  const versions: Record<string, number> = {};

  const create = async (client: ApiClient, folder: string, type: string, values: Record<string, unknown>, name: string) => {
    const card = (await client.data<{ createCard: { id: string; version: number } }>(CREATE, { f: folder, t: type, v: values })).createCard;
    ids[name] = card.id;
    versions[name] = card.version;
    return card.id;
  };
  const groups = async (client: ApiClient) => (await client.data<{ duplicateGroups: { edges: { node: Group }[] } }>(GROUPS)).duplicateGroups.edges.map((e) => e.node);
  const groupOf = (list: Group[], id: string) => list.find((group) => group.cards.some((card) => card.id === id));
  const card = async (client: ApiClient, id: string) =>
    (
      await client.data<{
        card: {
          id: string;
          version: number;
          inTrash: boolean;
          values: Record<string, unknown>;
          mergedInto: { id: string; title: string } | null;
          merge: { id: string } | null;
        } | null;
      }>(CARD, { id })
    ).card;
  const history = async (id: string) =>
    (await admin.data<{ cardHistory: { edges: { node: { action: string; changes: HistoryChange[] } }[] } }>(HISTORY, { id })).cardHistory.edges.map((e) => e.node);

  before(async () => {
    // Commands are watched: a page of cards asking for their groups reads the groups once.
    server = await startTestServer({}, { monitorCommands: true });
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'editor', fullName: 'Татьяна Гончаренко', level: 'edit' },
      { login: 'reader', fullName: 'Игорь Орлов', level: 'read' },
    ]);
    ids.folder = scenario.folderId;
    ids.library = scenario.libraryId;
    ids.editorId = scenario.userIds.editor;
    ids.readerId = scenario.userIds.reader;
    ids.closed = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Закрытая', allowedCardTypes: ['counterparty', 'contract'] });
    ids.proposals = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Предложения', allowedCardTypes: ['commercial-proposal'] });
    await setFolderAccess(admin, ids.proposals, [{ principalId: scenario.userIds.editor, level: 'edit' }]);
    for (const type of ['counterparty', 'contact-person', 'commercial-proposal', 'contract']) {
      await admin.data('mutation($t: String!) { setCardTypeHistory(typeKey: $t, enabled: true) { historyEnabled } }', { t: type });
    }
    editor = await signedIn(server, 'editor', PASSWORD);
    reader = await signedIn(server, 'reader', PASSWORD);

    await create(editor, ids.folder, 'counterparty', { name: 'ООО "Ромашка"', inn: '7707083893', phone: '+7 495 111-22-33', tags: ['VIP'] }, 'a');
    await create(editor, ids.folder, 'counterparty', { name: 'Ромашка ООО', email: 'info@romashka.ru', tags: ['опт'] }, 'b');
    await create(editor, ids.folder, 'counterparty', { name: 'ООО Ромашка-Плюс' }, 'c');
    await create(editor, ids.folder, 'counterparty', { name: 'ООО «Кассиопея»' }, 'd');
    await create(editor, ids.folder, 'counterparty', { name: 'Касиопея, ООО' }, 'e');
    await create(admin, ids.closed, 'counterparty', { name: 'РОМАШКА' }, 'hidden');
    await create(editor, ids.folder, 'contact-person', { fullName: 'Иванов Иван', counterparty: ids.b, email: 'ivanov@romashka.ru' }, 'contact');
    await create(editor, ids.proposals, 'commercial-proposal', { number: 'КП-1', date: '2026-03-01', counterparty: ids.b, amount: '1000' }, 'proposal');
    await create(admin, ids.closed, 'contract', { number: 'Д-7', date: '2026-03-02', counterparty: ids.b }, 'contract');
  });
  after(async () => {
    await server?.stop();
  });

  it('warns while typing: the same INN, a similar name after normalisation, among readable cards only', async () => {
    const byName = (
      await editor.data<{ similarCards: { card: { id: string }; score: number; refusedBy: string[]; rules: { id: string; label: string }[] }[] }>(SIMILAR, {
        t: 'counterparty',
        v: { name: 'ромашка, ооо' },
      })
    ).similarCards;
    expect(byName.map((m) => m.card.id).sort()).to.deep.equal([ids.a, ids.b].sort());
    expect(byName[0].score).to.equal(1);
    expect(byName[0].rules[0]).to.deep.equal({ id: 'name', label: 'Наименование: похоже' });
    expect(byName.map((m) => m.refusedBy)).to.deep.equal([[], []]);
    const byInn = (
      await editor.data<{ similarCards: { card: { id: string; title: string }; rules: { id: string }[]; refusedBy: string[]; refusedFields: string[] }[] }>(SIMILAR, {
        t: 'counterparty',
        v: { name: 'Совсем другое', inn: '7707083893' },
      })
    ).similarCards;
    // The INN is unique: saving it would be refused, and the warning says so (by key too, for the client to name it in its interface language).
    expect(byInn.map((m) => [m.card.title, m.rules.map((r) => r.id), m.refusedBy, m.refusedFields])).to.deep.equal([['ООО "Ромашка"', ['inn'], ['ИНН'], ['inn']]]);
    // The administrator sees the card in the folder the editor cannot read.
    const all = (await admin.data<{ similarCards: { card: { id: string } }[] }>(SIMILAR, { t: 'counterparty', v: { name: 'Ромашка' } })).similarCards;
    expect(all.map((m) => m.card.id)).to.include(ids.hidden);
    // The card being edited is not its own duplicate; a reader is warned too.
    const editing = (await reader.data<{ similarCards: { card: { id: string } }[] }>(SIMILAR, { t: 'counterparty', v: { name: 'Ромашка' }, x: ids.a })).similarCards;
    expect(editing.map((m) => m.card.id)).to.deep.equal([ids.b]);
  });

  it('matches contact persons by a normalised phone or e-mail', async () => {
    const byEmail = (
      await editor.data<{ similarCards: { card: { id: string }; rules: { id: string }[] }[] }>(SIMILAR, {
        t: 'contact-person',
        v: { fullName: 'Петров', email: 'IVANOV@romashka.ru' },
      })
    ).similarCards;
    expect(byEmail.map((m) => [m.card.id, m.rules[0].id])).to.deep.equal([[ids.contact, 'email']]);
    await editor.data('mutation($id: ID!, $v: JSON!) { updateCard(id: $id, version: 1, values: $v) { id } }', { id: ids.contact, v: { phone: '8 (912) 345-67-89' } });
    const byPhone = (await editor.data<{ similarCards: { card: { id: string }; rules: { id: string }[] }[] }>(SIMILAR, { t: 'contact-person', v: { phone: '+7 912 3456789' } }))
      .similarCards;
    expect(byPhone.map((m) => [m.card.id, m.rules[0].id])).to.deep.equal([[ids.contact, 'phone']]);
  });

  it('keeps groups current as cards are saved: the editor sees readable cards only, the administrator everything', async () => {
    const mine = await groups(editor);
    const romashka = groupOf(mine, ids.a)!;
    expect(romashka.cards.map((c) => c.id).sort()).to.deep.equal([ids.a, ids.b].sort());
    expect(romashka.score).to.equal(1);
    expect(romashka.pairs[0].rule.label).to.equal('Наименование: похоже');
    expect(romashka.canMerge).to.equal(true);
    expect(groupOf(mine, ids.c), 'Ромашка-Плюс is below the threshold').to.equal(undefined);
    const cassiopeia = groupOf(mine, ids.d)!;
    expect(cassiopeia.cards.map((c) => c.id).sort()).to.deep.equal([ids.d, ids.e].sort());
    expect(cassiopeia.score).to.be.within(0.7, 0.8);
    const everything = await groups(admin);
    expect(groupOf(everything, ids.a)!.cards.map((c) => c.id)).to.have.members([ids.a, ids.b, ids.hidden]);
  });

  it('gives the «Дубликаты» view to those with editing rights only', async () => {
    const result = await reader.request(GROUPS);
    expect(result.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
  });

  it('finds the same groups with the scan job, with progress, its memory split into buckets of cards (the rest on disk)', async () => {
    const perBucket = scanLimits.cardsPerBucket;
    // Two cards a bucket: the six counterparties' keys and names spread over three, grouped one at a time.
    scanLimits.cardsPerBucket = 2;
    // An editor may not start it: the scan reads (and counts) every card of the installation.
    const refused = await editor.request('mutation { findDuplicates { id } }');
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    expect(refused.errors?.[0].message).to.include('поиск дубликатов по всем карточкам запускает администратор');
    const job = (await admin.data<{ findDuplicates: { id: string } }>('mutation { findDuplicates { id } }')).findDuplicates;
    let state = '';
    try {
      await waitFor(async () => {
        state = (await admin.data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id: job.id })).job.state;
        return state === 'succeeded' || state === 'failed';
      }, 'the scan');
    } finally {
      scanLimits.cardsPerBucket = perBucket;
    }
    expect(state).to.equal('succeeded');
    const done = (
      await admin.data<{ job: { progress: { done: number; total: number; stage: string }; result: { types: { typeKey: string; cards: number; rounds: number }[] } } }>(
        'query($id: ID!) { job(id: $id) { progress { done total stage } result } }',
        { id: job.id },
      )
    ).job;
    expect(done.result.types.find((t) => t.typeKey === 'counterparty')).to.include({ cards: 6, rounds: 1, buckets: 3 });
    // The bar counts its last stage's work, at its end.
    expect(done.progress).to.include({ stage: 'grouping' });
    expect(done.progress.done).to.equal(done.progress.total);
    const mine = await groups(editor);
    expect(
      groupOf(mine, ids.a)!
        .cards.map((c) => c.id)
        .sort(),
    ).to.deep.equal([ids.a, ids.b].sort());
    // Similar names, not the same (their trigrams compared within a bucket of the scan), found too.
    expect(
      groupOf(mine, ids.d)!
        .cards.map((c) => c.id)
        .sort(),
    ).to.deep.equal([ids.d, ids.e].sort());
    const scan = (await editor.data<{ duplicateScan: { types: { typeKey: string; scannedAt: string | null }[] } }>('{ duplicateScan { types { typeKey scannedAt } } }'))
      .duplicateScan;
    expect(scan.types.find((t) => t.typeKey === 'counterparty')?.scannedAt).to.be.a('string');
  });

  it('names the scan’s stages — reading, indexing, comparing, grouping — each counted on its own up to its total, so 100 % is not shown while cards are still compared (s10 U15)', async () => {
    const perBucket = scanLimits.cardsPerBucket;
    scanLimits.cardsPerBucket = 2;
    const reported: { stage: string; done: number; total: number | null }[] = [];
    try {
      await duplicateScanJob.run({
        jobId: 'stages',
        ownerId: null,
        continuedBy: null,
        params: { typeKeys: ['counterparty'] },
        resumeFrom: null,
        signal: new AbortController().signal,
        logger: createLogger({ logLevel: 'warn' }),
        stage: (stage, total) => reported.push({ stage, done: 0, total }),
        progress: (done, total) => reported.push({ stage: reported.at(-1)?.stage ?? '', done, total: total === undefined ? (reported.at(-1)?.total ?? null) : total }),
        checkpoint: async () => {},
      });
    } finally {
      scanLimits.cardsPerBucket = perBucket;
    }
    const stages = [...new Set(reported.map((report) => report.stage))];
    expect(stages).to.deep.equal(['reading', 'indexing', 'comparing', 'grouping']);
    // The six counterparties made before the tests.
    const counterparties = 6;
    for (const stage of stages) {
      const own = reported.filter((report) => report.stage === stage);
      const last = own.at(-1)!;
      // Each stage ends at its total (known by then), and never goes back or past it.
      expect(last.total, stage).to.be.a('number');
      expect(last.done, stage).to.equal(last.total);
      own.forEach((report, at) => {
        if (report.total !== null) expect(report.done, stage).to.be.at.most(report.total);
        if (at > 0) expect(report.done, stage).to.be.at.least(own[at - 1].done);
      });
    }
    expect(reported.find((report) => report.stage === 'reading')!.total).to.equal(counterparties);
    // Comparing counts the blocking records of the buckets: more than the cards.
    expect(reported.filter((report) => report.stage === 'comparing').at(-1)!.total).to.be.above(counterparties);
  });

  it('«Не дубликат»: a pair marked so is not offered again, not even by a new scan', async () => {
    expect(refusalFields(await reader.request('mutation($c: ID!, $o: [ID!]!) { markNotDuplicates(cardId: $c, otherIds: $o) }', { c: ids.d, o: [ids.d] }))).to.have.key('otherIds');
    const refused = await reader.request('mutation($c: ID!, $o: [ID!]!) { markNotDuplicates(cardId: $c, otherIds: $o) }', { c: ids.d, o: [ids.e] });
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    await editor.data('mutation($c: ID!, $o: [ID!]!) { markNotDuplicates(cardId: $c, otherIds: $o) }', { c: ids.d, o: [ids.e] });
    expect(groupOf(await groups(editor), ids.d)).to.equal(undefined);
    // Auditors see who set which cards apart.
    const audit = await admin.data<{ auditLog: { edges: { node: { actorLogin: string; targetId: string; after: { notDuplicatesOf: { id: string }[] } } }[] } }>(
      '{ auditLog(kind: "duplicates-dismissed", first: 1) { edges { node { actorLogin targetId after } } } }',
    );
    expect(audit.auditLog.edges[0].node).to.deep.include({ targetId: ids.d });
    expect(audit.auditLog.edges[0].node.after.notDuplicatesOf.map((other) => other.id)).to.deep.equal([ids.e]);
    expect(audit.auditLog.edges[0].node.actorLogin).to.not.equal('');
    const job = (await admin.data<{ findDuplicates: { id: string } }>('mutation { findDuplicates { id } }')).findDuplicates;
    await waitFor(async () => (await admin.data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id: job.id })).job.state === 'succeeded', 'the scan');
    expect(groupOf(await groups(admin), ids.d)).to.equal(undefined);
  });

  it('shows an editor the groups of folders they edit, not those of folders they only read', async () => {
    const archive = await createFolder(admin, { libraryId: ids.library, name: 'Архив', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, archive, [{ principalId: ids.editorId, level: 'read' }]);
    await create(admin, archive, 'counterparty', { name: 'ООО «Орион»' }, 'orion1');
    await create(admin, archive, 'counterparty', { name: 'Орион, ООО' }, 'orion2');
    await waitFor(async () => Boolean(groupOf(await groups(admin), ids.orion1)), 'the administrator to see the archive’s group');
    expect(groupOf(await groups(editor), ids.orion1), 'nothing the editor could merge or mark').to.equal(undefined);
    // They still see those cards when they type the name.
    const similar = await editor.data<{ similarCards: { card: { id: string } }[] }>(SIMILAR, { t: 'counterparty', v: { name: 'Орион' } });
    expect(similar.similarCards.map((m) => m.card.id)).to.have.members([ids.orion1, ids.orion2]);
  });

  it('splits a group held together only through a card hidden from the editor into the parts their pairs join', async () => {
    const personal = await createFolder(admin, { libraryId: ids.library, name: 'Личные контакты', allowedCardTypes: ['contact-person'] });
    await create(editor, ids.folder, 'counterparty', { name: 'АО «Звезда»' }, 'zvezda');
    const person = (name: string, phone: string | null, email: string | null) => ({ fullName: name, counterparty: ids.zvezda, ...(phone && { phone }), ...(email && { email }) });
    await create(editor, ids.folder, 'contact-person', person('Альфа Антонов', '+7 900 100-00-01', null), 'alpha');
    await create(editor, ids.folder, 'contact-person', person('Вектор Власов', '+7 900 100-00-01', null), 'alpha2');
    await create(admin, personal, 'contact-person', person('Борис Бахметьев', '+7 900 100-00-01', 'link@zvezda.ru'), 'bridge');
    await create(editor, ids.folder, 'contact-person', person('Григорий Гусев', null, 'link@zvezda.ru'), 'gamma');
    await create(editor, ids.folder, 'contact-person', person('Дмитрий Донской', null, 'LINK@zvezda.ru'), 'gamma2');
    await create(editor, ids.folder, 'contact-person', person('Евгений Ежов', null, 'solo@zvezda.ru'), 'lonely');
    await create(admin, personal, 'contact-person', person('Жанна Жукова', '+7 900 100-00-09', 'solo@zvezda.ru'), 'lonelyTwin');
    await waitFor(async () => groupOf(await groups(admin), ids.alpha)?.cards.length === 5, 'the administrator to see the five cards as one group');

    const result = await editor.request<{ duplicateGroups: { edges: { node: Group }[] } }>(GROUPS);
    expect(result.errors, 'the view answers').to.equal(undefined);
    const mine = result.data!.duplicateGroups.edges.map((e) => e.node);
    const phones = groupOf(mine, ids.alpha)!;
    const emails = groupOf(mine, ids.gamma)!;
    expect(phones.cards.map((c) => c.id)).to.have.members([ids.alpha, ids.alpha2]);
    expect(phones.pairs.map((p) => p.rule.id)).to.deep.equal(['phone']);
    expect(emails.cards.map((c) => c.id)).to.have.members([ids.gamma, ids.gamma2]);
    expect(emails.score).to.equal(1);
    expect(phones.id).to.not.equal(emails.id);
    expect(groupOf(mine, ids.lonely), 'a card alike only to a hidden one is no group for the editor').to.equal(undefined);
  });

  it('counts for each viewer only the groups they see: not those of folders they only read or cannot read', async () => {
    const COUNTS = '{ duplicateScan { types { typeKey groups moreGroups } } }';
    const counts = async (client: ApiClient) =>
      Object.fromEntries(
        (await client.data<{ duplicateScan: { types: { typeKey: string; groups: number; moreGroups: boolean }[] } }>(COUNTS)).duplicateScan.types.map((type) => [
          type.typeKey,
          type.groups,
        ]),
      );
    const listed = async (client: ApiClient, typeKey: string) => (await groups(client)).filter((group) => group.typeKey === typeKey).length;
    const mine = await counts(editor);
    const all = await counts(admin);
    for (const typeKey of ['counterparty', 'contact-person']) {
      expect(mine[typeKey], `the editor's ${typeKey} groups`).to.equal(await listed(editor, typeKey));
      expect(all[typeKey], `the administrator's ${typeKey} groups`).to.equal(await listed(admin, typeKey));
    }
    expect(all.counterparty, 'the archive’s group is the administrator’s only').to.equal(mine.counterparty + 1);
  });

  it('refuses a merge to a reader (FORBIDDEN) and of a card hidden from the user (NOT_FOUND)', async () => {
    const asReader = await reader.request(MERGE, { s: { id: ids.a, version: versions.a }, m: [{ id: ids.b, version: versions.b }], c: [] });
    expect(asReader.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    const hidden = await editor.request(MERGE, { s: { id: ids.a, version: versions.a }, m: [{ id: ids.hidden, version: 1 }], c: [] });
    expect(hidden.errors?.[0].extensions?.code).to.equal('NOT_FOUND');
    const stale = await editor.request(MERGE, { s: { id: ids.a, version: versions.a + 5 }, m: [{ id: ids.b, version: versions.b }], c: [] });
    expect(stale.errors?.[0].extensions?.code).to.equal('CONFLICT');
    const mixed = await editor.request(MERGE, { s: { id: ids.a, version: versions.a }, m: [{ id: ids.contact, version: 2 }], c: [] });
    expect(refusalFields(mixed)).to.have.key('merged');
    expect((await card(admin, ids.b))!.inTrash).to.equal(false);
  });

  it('merges: chosen values stay, tags are united, references are re-pointed in every folder, the merged card goes to the trash, both histories record it', async () => {
    const result = (
      await editor.data<{
        mergeCards: { merge: { id: string; references: number; canUndo: boolean }; survivor: { id: string; version: number; values: Record<string, unknown> } };
      }>(MERGE, {
        s: { id: ids.a, version: versions.a },
        m: [{ id: ids.b, version: versions.b }],
        c: [{ field: 'email', cardId: ids.b }],
      })
    ).mergeCards;
    ids.merge = result.merge.id;
    // The contract in the folder the editor cannot read was re-pointed too, but is not counted for them.
    expect(result.merge).to.include({ references: 2, canUndo: true });
    const REFERENCES = 'query($id: ID!) { cardMerge(id: $id) { references } }';
    expect((await admin.data<{ cardMerge: { references: number } }>(REFERENCES, { id: ids.merge })).cardMerge.references).to.equal(3);
    expect(result.survivor.values).to.deep.include({ name: 'ООО "Ромашка"', inn: '7707083893', email: 'info@romashka.ru', tags: ['VIP', 'опт'], phone: '+7 495 111 22 33' });

    const merged = await card(admin, ids.b);
    expect(merged).to.deep.include({ inTrash: true, mergedInto: { id: ids.a, title: 'ООО "Ромашка"' }, merge: { id: ids.merge } });
    // Their own change is not new to the one who merged; a colleague sees what changed.
    const UNREAD = 'query($id: ID!) { card(id: $id) { unread { isNew changedFields } } }';
    expect((await editor.data<{ card: { unread: unknown } }>(UNREAD, { id: ids.a })).card.unread).to.equal(null);
    expect((await reader.data<{ card: { unread: { changedFields: string[] } | null } }>(UNREAD, { id: ids.a })).card.unread?.changedFields).to.include('email');
    for (const name of ['contact', 'proposal', 'contract']) expect((await card(admin, ids[name]))!.values.counterparty, name).to.equal(ids.a);
    // The reader sees the result, not the button.
    const asReader = await reader.data<{ cardMerge: { canUndo: boolean; survivor: { id: string } } }>('query($id: ID!) { cardMerge(id: $id) { canUndo survivor { id } } }', {
      id: ids.merge,
    });
    expect(asReader.cardMerge).to.deep.equal({ canUndo: false, survivor: { id: ids.a } });
    // A reader opens the merged card itself: «объединена с …» and the link, not the trash.
    const opened = await reader.data<{
      card: { inTrash: boolean; mergedInto: { id: string } | null; merge: { canUndo: boolean; undoObstacle: string | null; references: number } | null } | null;
    }>('query($id: ID!) { card(id: $id) { inTrash mergedInto { id } merge { canUndo undoObstacle references } } }', { id: ids.b });
    expect(opened.card).to.deep.equal({ inTrash: true, mergedInto: { id: ids.a }, merge: { canUndo: false, undoObstacle: null, references: 1 } });
    const trash = await reader.data<{ trash: { id: string }[] }>('{ trash { id } }');
    expect(trash.trash.map((c) => c.id)).to.not.include(ids.b);
    const restore = await reader.request('mutation($id: ID!) { restoreCard(id: $id) { id } }', { id: ids.b });
    expect(restore.errors?.[0].extensions?.code).to.equal('FORBIDDEN');

    const [survivorEntry] = await history(ids.a);
    expect(survivorEntry.action).to.equal('merge');
    const byKey = Object.fromEntries(survivorEntry.changes.map((c) => [c.key, c]));
    expect(byKey.email).to.deep.include({ before: null, after: 'info@romashka.ru' });
    expect(byKey.tags).to.deep.include({ before: ['VIP'], after: ['VIP', 'опт'] });
    expect(byKey.mergedFrom.afterTitles).to.deep.equal({ [ids.b]: 'Ромашка ООО' });
    const [mergedEntry] = await history(ids.b);
    expect(mergedEntry.action).to.equal('merge');
    expect(mergedEntry.changes.find((c) => c.key === 'mergedInto')?.afterTitles).to.deep.equal({ [ids.a]: 'ООО "Ромашка"' });
    const [contactEntry] = await history(ids.contact);
    expect(contactEntry.changes).to.deep.include({
      key: 'counterparty',
      before: ids.b,
      after: ids.a,
      beforeTitles: { [ids.b]: 'Ромашка ООО' },
      afterTitles: { [ids.a]: 'ООО "Ромашка"' },
    });

    expect(groupOf(await groups(editor), ids.a), 'the merged card left its group').to.equal(undefined);
    const reverse = await editor.data<{ relatedCards: { edges: { node: { id: string } }[] } }>(
      'query($id: ID!) { relatedCards(cardId: $id, tab: "contacts") { edges { node { id } } } }',
      { id: ids.a },
    );
    expect(reverse.relatedCards.edges.map((edge) => edge.node.id)).to.deep.equal([ids.contact]);
    ids.afterMerge = new Date().toISOString();
  });

  it('undoes a merge: both cards and every reference come back, and the histories say so; not twice', async () => {
    const refused = await reader.request(UNDO, { id: ids.merge });
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    await editor.data(UNDO, { id: ids.merge });
    const survivor = (await card(admin, ids.a))!;
    expect(survivor.values).to.deep.equal({ name: 'ООО "Ромашка"', inn: '7707083893', phone: '+7 495 111 22 33', tags: ['VIP'] });
    const back = (await card(admin, ids.b))!;
    expect(back).to.deep.include({ inTrash: false, mergedInto: null, merge: null });
    expect(back.values).to.deep.equal({ name: 'Ромашка ООО', email: 'info@romashka.ru', tags: ['опт'] });
    for (const name of ['contact', 'proposal', 'contract']) expect((await card(admin, ids[name]))!.values.counterparty, name).to.equal(ids.b);
    expect((await history(ids.a))[0].action).to.equal('unmerge');
    expect((await history(ids.b))[0].action).to.equal('unmerge');
    expect((await history(ids.contact))[0].changes).to.deep.include({
      key: 'counterparty',
      before: ids.a,
      after: ids.b,
      beforeTitles: { [ids.a]: 'ООО "Ромашка"' },
      afterTitles: { [ids.b]: 'Ромашка ООО' },
    });
    expect(
      groupOf(await groups(editor), ids.a)!
        .cards.map((c) => c.id)
        .sort(),
    ).to.deep.equal([ids.a, ids.b].sort());
    const again = await editor.request(UNDO, { id: ids.merge });
    expect(again.errors?.[0].extensions?.code).to.equal('CONFLICT');
  });

  it('after the undo, the survivor can still be reverted to its merged values from history (the merge marks are no values)', async () => {
    const merged = { name: 'ООО "Ромашка"', inn: '7707083893', email: 'info@romashka.ru', tags: ['VIP', 'опт'], phone: '+7 495 111 22 33' };
    const asOf = await admin.data<{ cardAsOf: { values: Record<string, unknown> } }>('query($id: ID!, $at: DateTime!) { cardAsOf(cardId: $id, at: $at) { values } }', {
      id: ids.a,
      at: ids.afterMerge,
    });
    expect(asOf.cardAsOf.values).to.deep.equal(merged);
    const reverted = await admin.data<{ revertCard: { values: Record<string, unknown>; version: number } }>(
      'mutation($id: ID!, $at: DateTime!, $v: Int!) { revertCard(cardId: $id, at: $at, version: $v) { values version } }',
      { id: ids.a, at: ids.afterMerge, v: (await card(admin, ids.a))!.version },
    );
    expect(reverted.revertCard.values).to.deep.equal(merged);
    expect((await history(ids.a))[0].action).to.equal('revert');
  });

  it('says a merge can no longer be undone once its survivor changed or went to the trash, and refuses the undo with that reason', async () => {
    const OBSTACLE = 'query($id: ID!) { cardMerge(id: $id) { canUndo undoObstacle } }';
    const merge = async (names: [string, string]) => {
      const x = await create(editor, ids.folder, 'counterparty', { name: names[0] }, `${names[0]}-x`);
      const y = await create(editor, ids.folder, 'counterparty', { name: names[1] }, `${names[0]}-y`);
      const done = await editor.data<{ mergeCards: { merge: { id: string; canUndo: boolean }; survivor: { id: string; version: number } } }>(MERGE, {
        s: { id: x, version: 1 },
        m: [{ id: y, version: 1 }],
        c: [],
      });
      expect(done.mergeCards.merge.canUndo).to.equal(true);
      return { id: done.mergeCards.merge.id, survivor: done.mergeCards.survivor };
    };
    const edited = await merge(['ООО «Лира»', 'Лира ООО']);
    await editor.data('mutation($id: ID!, $n: Int!, $v: JSON!) { updateCard(id: $id, version: $n, values: $v) { id } }', {
      id: edited.survivor.id,
      n: edited.survivor.version,
      v: { name: 'ООО «Лира»', phone: '+7 495 000-00-01' },
    });
    const reason = 'Отменить объединение нельзя: карточку «ООО «Лира»» изменили после него, и отмена стёрла бы это изменение';
    expect((await editor.data<{ cardMerge: unknown }>(OBSTACLE, { id: edited.id })).cardMerge).to.deep.equal({ canUndo: false, undoObstacle: reason });
    const refused = await editor.request(UNDO, { id: edited.id });
    expect(refused.errors?.[0]).to.deep.include({ message: reason });
    expect(refused.errors?.[0].extensions?.code).to.equal('CONFLICT');

    const trashed = await merge(['ООО «Вега»', 'Вега ООО']);
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: trashed.survivor.id });
    expect((await editor.data<{ cardMerge: unknown }>(OBSTACLE, { id: trashed.id })).cardMerge).to.deep.equal({
      canUndo: false,
      undoObstacle: 'Отменить объединение нельзя: карточку «ООО «Вега»» после него удалили в корзину',
    });
    expect((await admin.request(UNDO, { id: trashed.id })).errors?.[0].message).to.equal('Отменить объединение нельзя: карточку «ООО «Вега»» после него удалили в корзину');
  });

  it('names the folder where the user only reads when a merge or its undo is refused for want of rights', async () => {
    const readOnly = await createFolder(admin, { libraryId: ids.library, name: 'Только чтение', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, readOnly, [
      { principalId: ids.editorId, level: 'read' },
      { principalId: ids.readerId, level: 'read' },
    ]);
    const x = await create(editor, ids.folder, 'counterparty', { name: 'ООО «Альтаир»' }, 'altairX');
    const y = await create(editor, ids.folder, 'counterparty', { name: 'Альтаир ООО' }, 'altairY');
    const done = await editor.data<{ mergeCards: { merge: { id: string }; survivor: { version: number } } }>(MERGE, {
      s: { id: x, version: 1 },
      m: [{ id: y, version: 1 }],
      c: [],
    });
    const mergeId = done.mergeCards.merge.id;
    // The survivor is moved where the editor only reads.
    await admin.data('mutation($id: ID!, $f: ID!, $v: Int!) { moveCard(id: $id, folderId: $f, version: $v) { id } }', { id: x, f: readOnly, v: done.mergeCards.survivor.version });
    const reason = 'Отменить объединение нельзя: в папке «Только чтение» у вас только право чтения';
    const STATE = 'query($id: ID!) { cardMerge(id: $id) { canUndo undoObstacle } }';
    expect((await editor.data<{ cardMerge: unknown }>(STATE, { id: mergeId })).cardMerge).to.deep.equal({ canUndo: false, undoObstacle: reason });
    const MARK = 'query($id: ID!) { card(id: $id) { merge { canUndo undoObstacle } } }';
    expect((await editor.data<{ card: unknown }>(MARK, { id: y })).card).to.deep.equal({ merge: { canUndo: false, undoObstacle: reason } });
    const refused = await editor.request(UNDO, { id: mergeId });
    expect(refused.errors?.[0]).to.deep.include({ message: reason });
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    // A reader of both folders is not told (it is not theirs to undo).
    expect((await reader.data<{ cardMerge: unknown }>(STATE, { id: mergeId })).cardMerge).to.deep.equal({ canUndo: false, undoObstacle: null });

    const z = await create(admin, readOnly, 'counterparty', { name: 'Альтаир, ООО' }, 'altairZ');
    const refusedMerge = await editor.request(MERGE, { s: { id: z, version: 1 }, m: [{ id: ids.c, version: versions.c }], c: [] });
    expect(refusedMerge.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    expect(refusedMerge.errors?.[0].message).to.equal('Недостаточно прав: объединение карточек — в папке «Только чтение» у вас только право чтения');
    // Which card of those asked for: the survivor here.
    expect(refusedMerge.errors?.[0].extensions?.fields).to.deep.equal({ survivor: 'в папке «Только чтение» у вас только право чтения' });
  });

  it('a merged card whose survivor was deleted for good still says what it was merged into, the undo says why not, and it is restored as an ordinary card', async () => {
    const x = await create(editor, ids.folder, 'counterparty', { name: 'ООО «Сириус»', inn: '7736207543' }, 'siriusX');
    const y = await create(editor, ids.folder, 'counterparty', { name: 'Сириус ООО', email: 'info@sirius.ru' }, 'siriusY');
    const done = await editor.data<{ mergeCards: { merge: { id: string } } }>(MERGE, { s: { id: x, version: 1 }, m: [{ id: y, version: 1 }], c: [] });
    const mergeId = done.mergeCards.merge.id;
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: x });
    expect((await admin.data<{ purgeCard: boolean }>('mutation($id: ID!) { purgeCard(id: $id) }', { id: x })).purgeCard).to.equal(true);

    const reason = 'Отменить объединение нельзя: основная карточка удалена навсегда';
    const MARK = 'query($id: ID!) { card(id: $id) { inTrash mergedInto { id } mergedIntoTitle merge { id survivorTitle survivorDeleted canUndo undoObstacle } } }';
    expect((await editor.data<{ card: unknown }>(MARK, { id: y })).card).to.deep.equal({
      inTrash: true,
      mergedInto: null,
      mergedIntoTitle: 'ООО «Сириус»',
      merge: { id: mergeId, survivorTitle: 'ООО «Сириус»', survivorDeleted: true, canUndo: false, undoObstacle: reason },
    });
    // The reader of the folder sees the mark too (no undo, but the same reason: nobody can undo it now).
    expect((await reader.data<{ card: { mergedIntoTitle: string | null } }>(MARK, { id: y })).card.mergedIntoTitle).to.equal('ООО «Сириус»');
    const trash = await admin.data<{ trash: { id: string; mergedInto: unknown; mergedIntoTitle: string | null }[] }>('{ trash { id mergedInto { id } mergedIntoTitle } }');
    expect(trash.trash.find((c) => c.id === y)).to.deep.equal({ id: y, mergedInto: null, mergedIntoTitle: 'ООО «Сириус»' });

    const refused = await editor.request(UNDO, { id: mergeId });
    expect(refused.errors?.[0]).to.deep.include({ message: reason });
    expect(refused.errors?.[0].extensions?.code).to.equal('CONFLICT');
    await admin.data('mutation { setMyLocale(locale: en) { id } }');
    try {
      expect((await admin.request(UNDO, { id: mergeId })).errors?.[0].message).to.equal('The merge cannot be undone: the card they were merged into was deleted for good');
    } finally {
      await admin.data('mutation { setMyLocale(locale: ru) { id } }');
    }

    // Restored from the trash, it is an ordinary card again: no mark, its own values, in the list.
    await admin.data('mutation($id: ID!) { restoreCard(id: $id) { id } }', { id: y });
    expect(await card(editor, y)).to.deep.include({ inTrash: false, mergedInto: null, merge: null, values: { name: 'Сириус ООО', email: 'info@sirius.ru' } });
    const listed = await editor.data<{ cards: { edges: { node: { id: string } }[] } }>('query($f: ID!) { cards(folderId: $f, first: 200) { edges { node { id } } } }', {
      f: ids.folder,
    });
    expect(listed.cards.edges.map((e) => e.node.id)).to.include(y);
  });

  it('gives the references a purged survivor took back to the cards merged into it: restored, a counterparty has its contact persons again (s10 A7 remainder)', async () => {
    const x = await create(editor, ids.folder, 'counterparty', { name: 'ООО «Фомальгаут»' }, 'fomalhautX');
    const y = await create(editor, ids.folder, 'counterparty', { name: 'Фомальгаут ООО' }, 'fomalhautY');
    const contact = await create(editor, ids.folder, 'contact-person', { fullName: 'Сергеев Пётр', counterparty: y }, 'fomalhautContact');
    await editor.data(MERGE, { s: { id: x, version: 1 }, m: [{ id: y, version: 1 }], c: [] });
    expect((await card(editor, contact))!.values.counterparty).to.equal(x);
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: x });
    expect((await admin.data<{ purgeCard: boolean }>('mutation($id: ID!) { purgeCard(id: $id) }', { id: x })).purgeCard).to.equal(true);
    // The contact points to the merged card again (a job queued by the purge), and its history says so.
    await waitFor(async () => (await card(editor, contact))!.values.counterparty === y, 'the reference given back to the merged card');
    const back = (await history(contact)).find((entry) => entry.action === 'unmerge');
    expect(back?.changes.find((change) => change.key === 'counterparty')).to.deep.include({ before: x, after: y });
    await admin.data('mutation($id: ID!) { restoreCard(id: $id) { id } }', { id: y });
    const tab = await editor.data<{ relatedCards: { edges: { node: { id: string } }[] } }>(
      'query($id: ID!) { relatedCards(cardId: $id, tab: "contacts") { edges { node { id } } } }',
      { id: y },
    );
    expect(tab.relatedCards.edges.map((edge) => edge.node.id)).to.deep.equal([contact]);
  });

  it('names look-alike characters of values for the merge dialog, and refuses too many or too long values at `values`, and readers', async () => {
    const LOOK = 'query($v: [String!]!) { lookAlikeValues(values: $v) { value parts { text hint invisible } } }';
    // Someone who may merge nothing has no merge dialog to show them in.
    expect((await reader.request(LOOK, { v: ['ООО Ромашкa', 'ООО Ромашка'] })).errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    const found = await editor.data<{ lookAlikeValues: { value: string; parts: { text: string; hint: string | null }[] }[] }>(LOOK, {
      v: ['ООО Ромашкa', 'ООО Ромашка', 'Кассиопея'],
    });
    expect(found.lookAlikeValues.map((v) => [v.value, v.parts.filter((p) => p.hint).map((p) => p.hint)])).to.deep.equal([
      ['ООО Ромашкa', ['латинская a']],
      ['ООО Ромашка', ['кириллическая а']],
    ]);
    expect(refusalFields(await editor.request(LOOK, { v: Array.from({ length: 22 }, (_, i) => `Имя ${i}`) }))).to.deep.equal({ values: 'Не больше 21 значений' });
    expect(refusalFields(await editor.request(LOOK, { v: ['а'.repeat(2_001), 'б'] }))).to.deep.equal({ values: 'Значение длиннее 2\u00a0000 символов' });
  });

  it('marks the titles of a group that differ only by look-alike letters, in the viewer’s language', async () => {
    const cyrillic = await create(editor, ids.folder, 'counterparty', { name: 'ЗАО «Лотос»' }, 'lotus');
    // Latin A, O, o and c among the Cyrillic letters.
    const latin = await create(editor, ids.folder, 'counterparty', { name: 'ЗAO «Лoтoc»' }, 'lotusLatin');
    const LOOK = '{ duplicateGroups(first: 100) { edges { node { cards(first: 10) { id } lookAlikeTitles { value parts { text hint invisible } } } } } }';
    type Found = { duplicateGroups: { edges: { node: { cards: { id: string }[]; lookAlikeTitles: { value: string; parts: { text: string; hint: string | null }[] }[] } }[] } };
    const hints = async (client: ApiClient) => {
      const node = (await client.data<Found>(LOOK)).duplicateGroups.edges.map((e) => e.node).find((n) => n.cards.some((c) => c.id === cyrillic))!;
      expect(node.cards.map((c) => c.id)).to.have.members([cyrillic, latin]);
      return new Map(node.lookAlikeTitles.map((v) => [v.value, v.parts.filter((p) => p.hint).map((p) => `${p.text}: ${p.hint}`)]));
    };
    expect(await hints(editor)).to.deep.equal(
      new Map([
        ['ЗАО «Лотос»', ['А: кириллическая А', 'О: кириллическая О', 'о: кириллическая о', 'о: кириллическая о', 'с: кириллическая с']],
        ['ЗAO «Лoтoc»', ['A: латинская A', 'O: латинская O', 'o: латинская o', 'o: латинская o', 'c: латинская c']],
      ]),
    );
    await admin.data('mutation { setMyLocale(locale: en) { id } }');
    try {
      expect((await hints(admin)).get('ЗAO «Лoтoc»')).to.deep.equal(['A: Latin A', 'O: Latin O', 'o: Latin o', 'o: Latin o', 'c: Latin c']);
    } finally {
      await admin.data('mutation { setMyLocale(locale: ru) { id } }');
    }
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: latin });
  });

  it('lets administrators set rules and the threshold per type (then groups are found again)', async () => {
    const SET =
      'mutation($t: String!, $th: Float!, $r: [DuplicateRuleInput!]!) { setDuplicateRules(typeKey: $t, threshold: $th, rules: $r) { threshold customized rules { id mode fields label } } }';
    const asEditor = await editor.request(SET, { t: 'counterparty', th: 0.6, r: [] });
    expect(asEditor.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    const bad = await admin.request(SET, {
      t: 'counterparty',
      th: 2,
      r: [
        { fields: ['nope'], mode: 'exact' },
        { fields: ['tags'], mode: 'similar' },
      ],
    });
    expect(refusalFields(bad)).to.have.keys(['threshold', 'rules.0.fields', 'rules.1.fields']);
    const set = (
      await admin.data<{ setDuplicateRules: { threshold: number; customized: boolean; rules: { id: string; label: string }[] } }>(SET, {
        t: 'counterparty',
        th: 0.6,
        r: [
          { id: 'inn', fields: ['inn'], mode: 'exact' },
          { id: 'name', fields: ['name'], mode: 'similar' },
          { fields: ['phone'], mode: 'exact' },
        ],
      })
    ).setDuplicateRules;
    expect(set).to.deep.include({ threshold: 0.6, customized: true });
    expect(set.rules.map((r) => r.label)).to.deep.equal(['ИНН: совпадает', 'Наименование: похоже', 'Телефон: совпадает']);
    await waitFor(async () => {
      const found = groupOf(await groups(editor), ids.c);
      return Boolean(found && found.cards.some((c) => c.id === ids.a));
    }, 'Ромашка-Плюс to join the group at 0.6');
  });

  it('refuses a merge that would give two cards one unique value, naming the type and field, and changes nothing', async () => {
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', {
      d: {
        key: 'loyalty-card',
        names: { ru: 'Карта лояльности', en: 'Loyalty card' },
        titleTemplate: '{number}',
        historyEnabled: false,
        origin: 'admin',
        fields: [
          { key: 'number', kind: 'string', label: { ru: 'Номер', en: 'Number' }, required: true, listed: true },
          { key: 'holder', kind: 'reference', label: { ru: 'Держатель', en: 'Holder' }, targets: ['counterparty'], unique: true },
        ],
      },
    });
    const cardsFolder = await createFolder(admin, { libraryId: ids.library, name: 'Карты', allowedCardTypes: ['loyalty-card'] });
    const x = await create(editor, ids.folder, 'counterparty', { name: 'ООО «Вектор»' }, 'x');
    const y = await create(editor, ids.folder, 'counterparty', { name: 'Вектор, ООО', email: 'info@vektor.ru' }, 'y');
    await create(admin, cardsFolder, 'loyalty-card', { number: 'К-1', holder: x }, 'k1');
    await create(admin, cardsFolder, 'loyalty-card', { number: 'К-2', holder: y }, 'k2');
    const refused = await editor.request(MERGE, { s: { id: x, version: versions.x }, m: [{ id: y, version: versions.y }], c: [{ field: 'email', cardId: y }] });
    expect(refusalFields(refused)).to.deep.equal({
      merged: 'Две карточки «Карта лояльности» получили бы одно и то же значение поля «Держатель», а оно уникально: ничего не изменено',
    });
    // One transaction: the merged card, the survivor and the other references are as they were.
    expect(await card(admin, y)).to.deep.include({ inTrash: false, version: versions.y, mergedInto: null, merge: null });
    expect(await card(admin, x)).to.deep.include({ version: versions.x, values: { name: 'ООО «Вектор»' } });
    expect((await card(admin, ids.k2))!.values.holder).to.equal(y);
  });

  it('leaves namesakes out of a group: «Не дубликат» sets one card apart from all the others, a merge takes only the cards chosen (two at least) (s10 U13)', async () => {
    const company = (name: string) => create(editor, ids.folder, 'counterparty', { name }, name);
    const deneb = await company('ООО «Денеб»');
    const procyon = await company('ООО «Процион»');
    const vega = await company('ООО «Вега-Трейд»');
    const person = (name: string, values: Record<string, unknown>) => create(editor, ids.folder, 'contact-person', values, name);
    // Two entries of one man (his company, his phone), and two namesakes of other companies.
    const a = await person('petrovA', { fullName: 'Петров Иван', counterparty: deneb, phone: '+7 916 100-00-11' });
    const b = await person('petrovB', { fullName: 'Иван Петров', counterparty: deneb, phone: '8 (916) 100-00-11' });
    const c = await person('petrovC', { fullName: 'Иван Петров', counterparty: procyon, phone: '+7 916 101-00-17' });
    const d = await person('petrovD', { fullName: 'Иван Петров', counterparty: vega, phone: '+7 916 102-00-21' });
    const members = async () => (groupOf(await groups(editor), a)?.cards.map((member) => member.id) ?? []).sort();
    expect(await members()).to.deep.equal([a, b, c, d].sort());

    // «Не дубликат» at one card of the group: it is set apart from each of the others, which stay a group.
    await editor.data('mutation($c: ID!, $o: [ID!]!) { markNotDuplicates(cardId: $c, otherIds: $o) }', { c: d, o: [a, b, c] });
    expect(await members()).to.deep.equal([a, b, c].sort());
    expect(groupOf(await groups(editor), d)).to.equal(undefined);
    // A new scan finds the same: the namesake set apart, the rest a group.
    const scan = (await admin.data<{ findDuplicates: { id: string } }>('mutation { findDuplicates { id } }')).findDuplicates;
    await waitFor(async () => (await admin.data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id: scan.id })).job.state === 'succeeded', 'the scan');
    expect(await members()).to.deep.equal([a, b, c].sort());

    // A merge needs two cards at least, said at `merged`.
    expect(refusalFields(await editor.request(MERGE, { s: { id: a, version: versions.petrovA }, m: [], c: [] }))).to.deep.equal({
      merged: 'Выберите хотя бы две карточки: ту, что остаётся, и ещё одну',
    });
    // Two of the three are merged; the namesake left out is untouched and stays alike to the survivor.
    await editor.data(MERGE, { s: { id: a, version: versions.petrovA }, m: [{ id: b, version: versions.petrovB }], c: [] });
    expect(await card(editor, b)).to.deep.include({ inTrash: true, mergedInto: { id: a, title: 'Петров Иван' } });
    expect(await card(editor, c)).to.deep.include({ inTrash: false, version: versions.petrovC, mergedInto: null });
    expect(await members()).to.deep.equal([a, c].sort());
  });

  it('lists a group of any size by a bounded page: its first cards and best pairs, `size` for the rest; a page of cards each asking its group’s cards is refused by its cost (s11 attack A3)', async () => {
    // The built-in rules again (a test above set the administrator's own); then the scan they start is awaited.
    await admin.data('mutation { resetDuplicateRules(typeKey: "counterparty") { customized } }');
    await waitFor(
      async () => (await admin.data<{ duplicateScan: { job: { state: string } | null } }>('{ duplicateScan { job { state } } }')).duplicateScan.job?.state === 'succeeded',
      'the scan',
    );
    // A chain: each card shares a phone with the one before and an e-mail with the one after — one group of them all.
    const chain: string[] = [];
    for (let i = 0; i < 60; i += 1) {
      const phone = `+7 495 300-${String(Math.floor(i / 2)).padStart(2, '0')}-00`;
      chain.push(await create(editor, ids.folder, 'counterparty', { name: `Звено ${i}`, phone, email: `c${Math.ceil(i / 2)}@chain.example` }, `chain${i}`));
    }
    const GROUP =
      'query($c: ID, $f: Int, $p: Int) { duplicateGroups(cardId: $c, first: 1) { edges { node { size cards(first: $f) { id } pairs(first: $p) { a } rules { id } } } } }';
    const node = async (variables: Record<string, unknown>) =>
      (
        await editor.data<{ duplicateGroups: { edges: { node: { size: number; cards: unknown[]; pairs: unknown[]; rules: { id: string }[] } }[] } }>(GROUP, {
          c: chain[0],
          ...variables,
        })
      ).duplicateGroups.edges[0].node;
    const listed = await node({});
    expect([listed.size, listed.cards.length, listed.rules.map((rule) => rule.id).sort()]).to.deep.equal([60, 21, ['email', 'phone']]);
    const most = await node({ f: 100, p: 100 });
    expect([most.cards.length, most.pairs.length]).to.deep.equal([50, 59]);
    expect((await node({ p: 10 })).pairs).to.have.length(10);
    // The cost counts the rows asked for: a page of 200 cards each with 50 of its group's cards is refused before it runs.
    const flood = await editor.request('query($f: ID!) { cards(folderId: $f, first: 200) { edges { node { id duplicateGroup { cards(first: 50) { id title values } } } } } }', {
      f: ids.folder,
    });
    expect(flood.errors?.[0].extensions?.code).to.equal('TOO_COSTLY');

    // A page of the chain's cards each asking its group reads the groups in one query and works the group out
    // once (s11 re-attack of A3: 200 cards of one 1,500-card group built it 200 times, 8 s a request).
    const { result: page, commands } = await databaseCommandsDuring(() =>
      editor.data<{ cards: { edges: { node: { id: string; duplicateGroup: { id: string; size: number } | null } }[] } }>(
        'query($f: ID!) { cards(folderId: $f, first: 200, filters: [{ field: "name", op: contains, value: "Звено" }]) { edges { node { id duplicateGroup { id size } } } } }',
        { f: ids.folder },
      ),
    );
    const groups = page.cards.edges.map((edge) => edge.node.duplicateGroup);
    expect(groups).to.have.length(60);
    expect(new Set(groups.map((group) => `${group?.id}:${group?.size}`))).to.deep.equal(new Set([`${groups[0]?.id}:60`]));
    expect(commands.filter((command) => command.collection === 'duplicate_groups').map((command) => command.name)).to.deep.equal(['find']);
  });

  it('a save claims its blocking keys’ buckets in one statement once they are stored (an import batch’s ~2,300 claims were as many upserts) and finds its group', async () => {
    const values = { name: 'ООО «Гелиос»', phone: '+7 495 777-10-20', email: 'office@helios.example' };
    const first = await create(editor, ids.folder, 'counterparty', values, 'helios');
    // The same values again: the same buckets, each stored by the first save's refresh.
    const { result: second, commands } = await databaseCommandsDuring(() => create(editor, ids.folder, 'counterparty', values, 'heliosAgain'));
    const claims = commands.filter((command) => command.collection === 'duplicate_claims');
    expect(
      claims.map((command) => [
        command.name,
        (command.command.updates as { upsert?: boolean; multi?: boolean }[]).map((statement) => [statement.multi ?? false, statement.upsert ?? false]),
      ]),
    ).to.deep.equal([['update', [[true, false]]]]);
    expect(
      groupOf(await groups(editor), second)
        ?.cards.map((member) => member.id)
        .sort(),
    ).to.deep.equal([first, second].sort());
  });
});
