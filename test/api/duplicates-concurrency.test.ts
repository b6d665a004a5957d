import { expect } from 'chai';
import { pino } from 'pino';
import type { RunningServer } from '../../server/src/server';
import { scanLimits } from '../../server/src/duplicates/groups';
import { mergeLimits } from '../../server/src/duplicates/merge';
import { jobDefinition } from '../../server/src/jobs/define';
import { DuplicateDismissal, DuplicateGroup, Merge } from '../../server/src/duplicates/model';
import { duplicateScanJob, type ScanResult } from '../../server/src/duplicates/scan';
import { refusalFields, type ApiClient } from '../support/api-client';
import { createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';
import { holdMergeJobs } from '../support/merge-jobs';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version } }';
const UPDATE = 'mutation($id: ID!, $n: Int!, $v: JSON!) { updateCard(id: $id, version: $n, values: $v) { id version } }';
const GROUPS = '{ duplicateGroups(first: 100) { edges { node { id cards(first: 10) { id } } } } }';
const PAIRS = 'query($t: String!) { duplicateGroups(typeKey: $t, first: 10) { edges { node { size } } } }';
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

  /** Runs the scan job's code here; `meanwhile` runs once, after it has read every card and before it stores its groups. */
  const scanWith = async (meanwhile: () => Promise<unknown>): Promise<ScanResult> => {
    const find = DuplicateDismissal.find.bind(DuplicateDismissal);
    let armed = true;
    const patched = DuplicateDismissal as unknown as { find: (...args: unknown[]) => unknown };
    patched.find = (...args: unknown[]) => {
      const filter = args[0] as Record<string, unknown>;
      if (!armed || !('typeKey' in filter)) return (find as (...a: unknown[]) => unknown)(...args);
      armed = false;
      return { lean: async () => (await meanwhile(), (find as (...a: unknown[]) => { lean(): unknown })(...args).lean()) };
    };
    try {
      return await duplicateScanJob.run({
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
      expect(armed, 'the scan reached the point where it stores its groups').to.equal(false);
    }
  };

  it('a scan does not bring back a pair a rename removed while it ran, and keeps the pair the rename made', async () => {
    const x = await create({ name: 'ООО «Берёзка»' });
    const y = await create({ name: 'Берёзка ООО' });
    const z = await create({ name: 'ООО «Сосна»' });
    expect(await groupsOf([x.id, y.id, z.id])).to.deep.equal([[x.id, y.id].sort()]);
    // The rename is made once the scan has read every card, before it stores its groups.
    await scanWith(() => rename(editor, y, 'Сосна ООО'));
    expect(await groupsOf([x.id, y.id, z.id])).to.deep.equal([[y.id, z.id].sort()]);
  });

  it('a scan that more cards changed during than it lists reads the type again, and finds their groups', async () => {
    const cards: { id: string; version: number }[] = [];
    for (const name of ['ООО «Аргон»', 'ООО «Неон»', 'ООО «Криптон»']) cards.push(await create({ name }));
    const twins: { id: string; version: number }[] = [];
    for (const name of ['Аргон-Н ООО', 'Неон-Н ООО', 'Криптон-Н ООО']) twins.push(await create({ name }));
    const limit = scanLimits.dirty;
    scanLimits.dirty = 2;
    let result: ScanResult;
    try {
      result = await scanWith(() => Promise.all(cards.map((card, i) => rename(editor, card, ['Аргон-Н', 'Неон-Н', 'Криптон-Н'][i]))));
    } finally {
      scanLimits.dirty = limit;
    }
    expect(result.types[0]).to.include({ typeKey: 'counterparty', rounds: 2 });
    const ids = [...cards, ...twins].map((card) => card.id);
    expect(await groupsOf(ids)).to.have.deep.members(cards.map((card, i) => [card.id, twins[i].id].sort()));
  });

  it('a refresh does not wait for another of unrelated cards (claims are per blocking key, not per type)', async () => {
    const held = await create({ name: 'ООО «Меридиан»', inn: '7728168971' });
    const one = await create({ name: 'ООО «Полюс»' });
    const two = await create({ name: 'ООО «Экватор»' });
    // The refresh after «Меридиан» is renamed stays open, its claims written, until the unrelated
    // rename of «Экватор» has found its group.
    const find = DuplicateGroup.find.bind(DuplicateGroup);
    const patched = DuplicateGroup as unknown as { find: (...args: unknown[]) => unknown };
    let unrelated: Promise<unknown> | undefined;
    let seenWhileOpen = false;
    patched.find = (...args: unknown[]) => {
      patched.find = find as (...a: unknown[]) => unknown;
      return {
        lean: async () => {
          unrelated = rename(editor, two, 'Полюс ООО');
          await waitFor(async () => (await groupsOf([one.id, two.id])).length === 1, 'the unrelated rename’s group while the other refresh is open');
          seenWhileOpen = true;
          return (find as (...a: unknown[]) => { lean(): unknown })(...args).lean();
        },
      };
    };
    try {
      await rename(editor, held, 'ООО «Меридиан-Восток»');
    } finally {
      patched.find = find as (...args: unknown[]) => unknown;
    }
    await unrelated;
    expect(seenWhileOpen, 'the unrelated group was stored while the other refresh was open').to.equal(true);
    expect(await groupsOf([one.id, two.id, held.id])).to.deep.equal([[one.id, two.id].sort()]);
  });

  it('«Найти дубликаты» asked by several administrators at once starts one scan, which they all get', async () => {
    const people = await Promise.all(Array.from({ length: 6 }, () => signedIn(server)));
    const jobs = await Promise.all(people.map((client) => client.data<{ findDuplicates: { id: string } }>('mutation { findDuplicates { id } }')));
    expect(new Set(jobs.map((job) => job.findDuplicates.id)).size).to.equal(1);
    const id = jobs[0].findDuplicates.id;
    await waitFor(async () => (await admin.data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id })).job.state === 'succeeded', 'the scan');
    const next = await admin.data<{ findDuplicates: { id: string } }>('mutation { findDuplicates { id } }');
    expect(next.findDuplicates.id, 'once finished, a new request starts a new scan').to.not.equal(id);
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
  it('a merge with many references re-points them in a background job with progress; its undo points them back in one too, not cancelled nor merged again meanwhile', async () => {
    const survivor = await create({ name: 'ООО «Базальт»' });
    const merged = await create({ name: 'Базальт ООО' });
    const contacts: string[] = [];
    for (let i = 1; i <= 5; i += 1) contacts.push((await create({ fullName: `Сотрудник ${i}`, counterparty: merged.id }, 'contact-person')).id);
    // One the editor has not read (a colleague wrote it); the administrator has read everything so far.
    const unreadByEditor = (await admin.data<{ createCard: { id: string } }>(CREATE, { f: folder, t: 'contact-person', v: { fullName: 'Сотрудник 6', counterparty: merged.id } }))
      .createCard.id;
    await admin.data('mutation($f: ID!) { markFolderRead(folderId: $f) }', { f: folder });
    const limit = mergeLimits.inRequest;
    mergeLimits.inRequest = 3;
    let started: { merge: { id: string }; job: { id: string } | null };
    try {
      started = (
        await editor.data<{ mergeCards: typeof started }>(
          'mutation($s: CardVersionInput!, $m: [CardVersionInput!]!) { mergeCards(survivor: $s, merged: $m, choices: []) { merge { id } job { id } } }',
          { s: survivor, m: [merged] },
        )
      ).mergeCards;
    } finally {
      mergeLimits.inRequest = limit;
    }
    expect(started.job, 'a job re-points the references').to.not.equal(null);
    const JOB = 'query($id: ID!) { job(id: $id) { state type progress { done total } result } }';
    let job = { state: '', type: '', progress: { done: 0, total: 0 }, result: null as unknown };
    await waitFor(async () => {
      job = (await editor.data<{ job: typeof job }>(JOB, { id: started.job!.id })).job;
      return job.state === 'succeeded' || job.state === 'failed';
    }, 'the merge job');
    expect(job).to.deep.include({ state: 'succeeded', type: 'card-merge', progress: { done: 6, total: 6 }, result: { cards: 6 } });
    for (const id of contacts) expect((await editor.data<{ card: { values: Record<string, unknown> } }>(CARD, { id })).card.values.counterparty).to.equal(survivor.id);
    // The merger's own change is not new to them; what they had not read stays unread; a colleague sees the change.
    const UNREAD = 'query($id: ID!) { card(id: $id) { unread { isNew changedFields } } }';
    const unread = async (client: ApiClient, id: string) =>
      (await client.data<{ card: { unread: { isNew: boolean; changedFields: string[] } | null } }>(UNREAD, { id })).card.unread;
    for (const id of contacts) {
      expect(await unread(editor, id), 'a re-pointed card the merger had read').to.equal(null);
      expect(await unread(admin, id), 'a colleague').to.deep.equal({ isNew: false, changedFields: ['counterparty'] });
    }
    expect((await unread(editor, unreadByEditor))?.isNew, 'a card the merger had never read').to.equal(true);
    const MERGE_STATE = 'query($id: ID!) { cardMerge(id: $id) { references canUndo undoObstacle } }';
    expect((await editor.data<{ cardMerge: unknown }>(MERGE_STATE, { id: started.merge.id })).cardMerge).to.deep.equal({ references: 6, canUndo: true, undoObstacle: null });

    // The undo of so large a merge points the references back in a job too; it is held running
    // (its code waits for `release`) while the merge's cards are tried again.
    const definition = jobDefinition('card-unmerge')!;
    const original = definition.run;
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    definition.run = async (ctx) => {
      held = true;
      await released;
      return original(ctx);
    };
    let undoJob: { id: string };
    try {
      mergeLimits.inRequest = 3;
      const undone = await editor.data<{ undoMerge: { undoneAt: string | null; undoJob: { id: string } | null } }>(
        'mutation($id: ID!) { undoMerge(id: $id) { undoneAt undoJob { id } } }',
        { id: started.merge.id },
      );
      mergeLimits.inRequest = limit;
      expect(undone.undoMerge.undoneAt, 'the cards themselves are back at once').to.be.a('string');
      undoJob = undone.undoMerge.undoJob!;
      expect(undoJob, 'a job points the references back').to.not.equal(null);
      await waitFor(async () => held, 'the undo job to start');
      const running = (
        await editor.data<{ job: { type: string; state: string; cancellable: boolean; cancelRefusal: string } }>(
          'query($id: ID!) { job(id: $id) { type state cancellable cancelRefusal } }',
          { id: undoJob.id },
        )
      ).job;
      expect(running).to.deep.include({ type: 'card-unmerge', state: 'running', cancellable: false });
      const cancel = await editor.request('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id: undoJob.id });
      expect(cancel.errors?.[0].message).to.equal(running.cancelRefusal).and.contain('нельзя остановить на полпути');
      const card = async (id: string) => (await editor.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id })).card;
      const again = await editor.request(MERGE, {
        s: { id: survivor.id, version: (await card(survivor.id)).version },
        m: [{ id: merged.id, version: (await card(merged.id)).version }],
      });
      expect(again.errors?.[0].extensions?.code).to.equal('CONFLICT');
      expect(again.errors?.[0].message).to.equal('Объединить нельзя: отмена прошлого объединения этих карточек ещё возвращает ссылки — дождитесь окончания');
      const twice = await editor.request('mutation($id: ID!) { undoMerge(id: $id) { id } }', { id: started.merge.id });
      expect(twice.errors?.[0].message).to.equal('Это объединение уже отменено');
    } finally {
      mergeLimits.inRequest = limit;
      definition.run = original;
      release();
    }
    await waitFor(async () => {
      job = (await editor.data<{ job: typeof job }>(JOB, { id: undoJob.id })).job;
      return job.state === 'succeeded' || job.state === 'failed';
    }, 'the undo job');
    expect(job).to.deep.include({ state: 'succeeded', type: 'card-unmerge', progress: { done: 6, total: 6 }, result: { cards: 6 } });
    for (const id of [...contacts, unreadByEditor])
      expect((await editor.data<{ card: { values: Record<string, unknown> } }>(CARD, { id })).card.values.counterparty).to.equal(merged.id);
    expect(await unread(editor, contacts[0]), 'pointed back by the one who undid it: still read for them').to.equal(null);
  });

  it('many contact persons of one name make one group whose pairs grow with the cards, not with their square', async () => {
    const count = 60;
    for (let i = 0; i < count; i += 1) await create({ fullName: 'Бухгалтерия' }, 'contact-person');
    const found = (await admin.data<{ duplicateGroups: { edges: { node: { size: number } }[] } }>(PAIRS, { t: 'contact-person' })).duplicateGroups.edges;
    expect(found.map((edge) => edge.node.size)).to.deep.equal([count]);
    // Every pair among the first 50 (as a scan joins a block that small), then one pair for each card more (the API lists a group's best 100).
    const stored = await DuplicateGroup.find({ typeKey: 'contact-person' }, { edges: 1 }).lean<{ edges: unknown[] }[]>();
    expect(stored.map((group) => group.edges.length)).to.deep.equal([(50 * 49) / 2 + (count - 50)]);
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

  it('refuses to merge a card again while its earlier merge’s job still re-points references to it, so none end at a card in the trash', async () => {
    const [x, y, z] = [await create({ name: 'ООО «Гранит»' }), await create({ name: 'Гранит ООО' }), await create({ name: 'Гранит, ООО' })];
    const contacts: string[] = [];
    for (let i = 1; i <= 3; i += 1) contacts.push((await create({ fullName: `Сотрудник Гранита ${i}`, counterparty: y.id }, 'contact-person')).id);
    // The first merge's job is held until the second merge was tried.
    const release = holdMergeJobs('card-merge', 1);
    let jobId = '';
    try {
      const first = await editor.data<{ mergeCards: { job: { id: string } | null } }>(
        'mutation($s: CardVersionInput!, $m: [CardVersionInput!]!) { mergeCards(survivor: $s, merged: $m, choices: []) { job { id } } }',
        { s: { id: x.id, version: x.version }, m: [{ id: y.id, version: y.version }] },
      );
      jobId = first.mergeCards.job!.id;
      const current = (await editor.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id: x.id })).card.version;
      const refused = await editor.request(MERGE, { s: { id: z.id, version: z.version }, m: [{ id: x.id, version: current }] });
      expect(refused.errors?.[0].extensions?.code).to.equal('CONFLICT');
      expect(refused.errors?.[0].message).to.equal('Объединить нельзя: прошлое объединение этих карточек ещё перенаправляет ссылки — дождитесь окончания');
    } finally {
      release();
    }
    const JOB = 'query($id: ID!) { job(id: $id) { state } }';
    await waitFor(async () => (await editor.data<{ job: { state: string } }>(JOB, { id: jobId })).job.state === 'succeeded', 'the first merge’s job');
    for (const contact of contacts) expect((await editor.data<{ card: { values: { counterparty: string } } }>(CARD, { id: contact })).card.values.counterparty).to.equal(x.id);
    // Once it is done, the survivor merges on.
    const current = (await editor.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id: x.id })).card.version;
    await editor.data(MERGE, { s: { id: z.id, version: z.version }, m: [{ id: x.id, version: current }] });
    for (const contact of contacts) expect((await editor.data<{ card: { values: { counterparty: string } } }>(CARD, { id: contact })).card.values.counterparty).to.equal(z.id);
  });
  it('refuses to purge a merge’s survivor while the merge’s job still re-points references to it (s10 security A7), and purges it once they are all there', async () => {
    const [x, y] = [await create({ name: 'ООО «Фомальгаут»' }), await create({ name: 'Фомальгаут, ООО' })];
    const contacts: string[] = [];
    for (let i = 1; i <= 3; i += 1) contacts.push((await create({ fullName: `Сотрудник Фомальгаута ${i}`, counterparty: x.id }, 'contact-person')).id);
    const PURGE = 'mutation($id: ID!) { purgeCard(id: $id) }';
    const release = holdMergeJobs('card-merge', 1);
    let jobId = '';
    try {
      const merged = await editor.data<{ mergeCards: { job: { id: string } | null } }>(
        'mutation($s: CardVersionInput!, $m: [CardVersionInput!]!) { mergeCards(survivor: $s, merged: $m, choices: []) { job { id } } }',
        { s: { id: y.id, version: y.version }, m: [{ id: x.id, version: x.version }] },
      );
      jobId = merged.mergeCards.job!.id;
      await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: y.id });
      const refused = await admin.request(PURGE, { id: y.id });
      expect(refused.errors?.[0].extensions?.code).to.equal('CONFLICT');
      expect(refused.errors?.[0].message).to.equal('Удалить навсегда нельзя: объединение с этой карточкой ещё перенаправляет ссылки — дождитесь окончания');
      expect((await admin.data<{ card: { id: string } | null }>(CARD, { id: y.id })).card?.id, 'the survivor is still there, in the trash').to.equal(y.id);
    } finally {
      release();
    }
    await waitFor(
      async () => (await editor.data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id: jobId })).job.state === 'succeeded',
      'the merge’s job',
    );
    for (const contact of contacts) expect((await admin.data<{ card: { values: { counterparty: string } } }>(CARD, { id: contact })).card.values.counterparty).to.equal(y.id);
    expect((await admin.data<{ purgeCard: boolean }>(PURGE, { id: y.id })).purgeCard).to.equal(true);
  });
});
