import { expect } from 'chai';
import { Types, type Aggregate, type PipelineStage } from 'mongoose';
import { setTimeout as sleep } from 'node:timers/promises';
import { accessSnapshot } from '../../server/src/access/snapshot';
import { registerCardHooks } from '../../server/src/cards/lifecycle';
import { Card } from '../../server/src/cards/model';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createFolder, createCorrespondents, createLibrary, setFolderAccess } from '../support/fixtures';
import { importCsv } from '../support/import';
import { signedIn, startTestServer } from '../support/server';
import { SseSubscription } from '../support/sse';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const COUNTS = '{ unreadCounts { folderId count } }';
type Counts = { folderId: string; count: number }[];
const asMap = (counts: Counts) => Object.fromEntries(counts.map((c) => [c.folderId, c.count]));

/**
 * Holds the card event of the next batch stored in a folder between its commit and its publication
 * (after-commit hooks run before it), as a slow after-commit step does under load.
 */
let heldBatch: { folderId: string; stored: () => void; released: Promise<void> } | null = null;
registerCardHooks({
  name: 'test: hold a batch between its commit and its event',
  async afterCommitBatch(changes) {
    const hold = heldBatch;
    if (!hold || !changes.some((change) => String(change.after.folderId) === hold.folderId)) return;
    heldBatch = null;
    hold.stored();
    await hold.released;
  },
});

/**
 * Holds the next count of all a reader's folders in one aggregate (more than one folder's range,
 * no receipt's point) before it reads or after it has read, as a count slowed by load is held.
 */
type HeldCount = { at: 'before' | 'after'; reached: () => void; released: Promise<void>; ended: () => void };
let heldCount: HeldCount | null = null;
const heldAggregates = new WeakMap<object, HeldCount>();
const countsFolders = (pipeline: PipelineStage[]): boolean => {
  const branches = (pipeline[0] as { $match?: { $or?: Record<string, unknown>[] } }).$match?.$or;
  return branches !== undefined && branches.length > 1 && branches.every((branch) => !('_id' in branch));
};
// Mongoose's aggregate middleware, added to the compiled model (a schema's hooks are taken when it is compiled).
const cardHooks = (
  Card as unknown as {
    hooks: { pre(name: string, fn: (this: Aggregate<unknown>) => Promise<void>): void; post(name: string, fn: (this: Aggregate<unknown>, result: unknown) => Promise<void>): void };
  }
).hooks;
cardHooks.pre('aggregate', async function () {
  const hold = heldCount;
  if (!hold || !countsFolders(this.pipeline())) return;
  heldCount = null;
  heldAggregates.set(this, hold);
  if (hold.at === 'before') {
    hold.reached();
    await hold.released;
  }
});
cardHooks.post('aggregate', async function (_result) {
  const hold = heldAggregates.get(this);
  if (!hold) return;
  if (hold.at === 'after') {
    hold.reached();
    await hold.released;
  }
  hold.ended();
});

/**
 * Unread state and live streams when changes and reads interleave: the orders are built
 * step by step (a card stamped before «mark folder read» but stored after it looked, a change stored
 * before its event reaches a stream), not raced.
 */
describe('unread and live streams under interleavings (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let writer: ApiClient;
  let reader: ApiClient;
  let writerId: string;
  let readerId: string;
  let libraryId: string;
  const subscriptions: SseSubscription<unknown>[] = [];

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'writer', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'reader', fullName: 'Наталья Вакуленко', level: 'read' },
    ]);
    libraryId = scenario.libraryId;
    writerId = scenario.userIds.writer!;
    readerId = scenario.userIds.reader!;
    writer = await signedIn(server, 'writer', PASSWORD);
    reader = await signedIn(server, 'reader', PASSWORD);
  });
  afterEach(() => {
    for (const subscription of subscriptions.splice(0)) subscription.close();
  });
  after(async () => {
    await server?.stop();
  });

  async function sharedFolder(name: string): Promise<string> {
    const folderId = await createFolder(admin, { libraryId, name, allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, folderId, [
      { principalId: writerId, level: 'full' },
      { principalId: readerId, level: 'read' },
    ]);
    return folderId;
  }

  async function create(folderId: string, name: string): Promise<{ id: string; updatedAt: string; version: number }> {
    return (
      await writer.data<{ createCard: { id: string; updatedAt: string; version: number } }>(
        'mutation($f: ID!, $n: String!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: $n }) { id updatedAt version } }',
        { f: folderId, n: name },
      )
    ).createCard;
  }

  async function boldRows(folderId: string): Promise<Record<string, boolean>> {
    const page = await reader.data<{ cards: { edges: { node: { id: string; unread: { isNew: boolean } | null } }[] } }>(
      'query($f: ID!) { cards(folderId: $f, first: 100) { edges { node { id unread { isNew } } } } }',
      { f: folderId },
    );
    return Object.fromEntries(page.cards.edges.map(({ node }) => [node.id, node.unread !== null]));
  }

  function subscribe<T>(client: ApiClient, query: string): SseSubscription<T> {
    const subscription = new SseSubscription<T>(server.url, client.cookieHeader(), query);
    subscriptions.push(subscription as SseSubscription<unknown>);
    return subscription;
  }

  it('«mark folder read» leaves unread a card stamped before it but stored after it looked', async () => {
    const folderId = await sharedFolder('Гонка отметки');
    const seen = await create(folderId, 'ООО «Увиденное»');
    // The late card's change time: after the newest card the mark will see, before the mark itself.
    const stampedAt = new Date(Date.parse(seen.updatedAt) + 1);
    await waitFor(() => Date.now() > stampedAt.getTime() + 1, 'the clock to pass the late card’s stamp');

    const marked = await reader.data<{ markFolderRead: number }>('mutation($f: ID!) { markFolderRead(folderId: $f) }', { f: folderId });
    expect(marked.markFolderRead).to.equal(1);

    // Stored only now, with the change time it took before the mark (as a transaction or an
    // import batch committing late does).
    const late = await create(folderId, 'ООО «Запоздавшее»');
    await Card.updateOne(
      { _id: new Types.ObjectId(late.id) },
      { $set: { updatedAt: stampedAt, createdAt: stampedAt, arrivedAt: stampedAt, 'fieldChangedAt.name': stampedAt } },
      { timestamps: false },
    );

    expect(await boldRows(folderId)).to.deep.equal({ [seen.id]: false, [late.id]: true });
    expect(asMap((await reader.data<{ unreadCounts: Counts }>(COUNTS)).unreadCounts)[folderId]).to.equal(1);
    // Marking again counts it and reads it.
    expect((await reader.data<{ markFolderRead: number }>('mutation($f: ID!) { markFolderRead(folderId: $f) }', { f: folderId })).markFolderRead).to.equal(1);
    expect(await boldRows(folderId)).to.deep.equal({ [seen.id]: false, [late.id]: false });
  });

  it('moving a card that was unread to its author takes it off the count of the folder it left', async () => {
    const from = await sharedFolder('Было непрочитано');
    const to = await sharedFolder('Куда перенесли');
    const later = await sharedFolder('Отметка после переноса');
    const card = (
      await admin.data<{ createCard: { id: string; version: number } }>(
        'mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Чужое»" }) { id version } }',
        {
          f: from,
        },
      )
    ).createCard;
    const stream = subscribe<{ unreadCounts: Counts }>(writer, 'subscription { unreadCounts { folderId count } }');
    await stream.ready;
    expect(asMap((await writer.data<{ unreadCounts: Counts }>(COUNTS)).unreadCounts)[from]).to.equal(1);

    await writer.data('mutation($id: ID!, $f: ID!, $v: Int!) { moveCard(id: $id, folderId: $f, version: $v) { id } }', { id: card.id, f: to, v: card.version });
    // A colleague's change after it: once its count arrives, the stream has dealt with the move.
    await admin.data('mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Следом»" }) { id } }', { f: later });
    await waitFor(() => stream.received.some((p) => asMap(p.unreadCounts)[later] === 1), 'the count of the later change');

    const query = asMap((await writer.data<{ unreadCounts: Counts }>(COUNTS)).unreadCounts);
    expect(query[from]).to.equal(undefined);
    const last = asMap(stream.received.at(-1)!.unreadCounts);
    expect([last[from], last[to], last[later]]).to.deep.equal([query[from], query[to], query[later]]);
  });

  it('a tab that opens while a colleague’s import batch is stored but not yet told counts the batch once, its badge the folder’s cards (s12 re-test R2)', async () => {
    const folderId = await sharedFolder('Импорт при открытии вкладки');
    const marker = await sharedFolder('Метка потока');
    let stored!: () => void;
    const batchStored = new Promise<void>((resolve) => (stored = resolve));
    let release!: () => void;
    heldBatch = { folderId, stored, released: new Promise<void>((resolve) => (release = resolve)) };
    const ROWS = 600;
    const csv = ['Наименование', ...Array.from({ length: ROWS }, (_, i) => `ООО «Пакет ${i}»`)].join('\n');
    const importing = importCsv(server, writer, { folderId, typeKey: 'counterparty', csv, columns: ['name'] });
    try {
      // The first batch (500 rows) is stored; its event is not out yet. The reader's tab opens now.
      await batchStored;
      const live = subscribe<{ live: { unreadCounts: Counts | null } }>(reader, 'subscription { live { unreadCounts { folderId count } } }');
      await live.ready;
      const markerCount = (n: number) => live.received.find((update) => update.live.unreadCounts && asMap(update.live.unreadCounts)[marker] === n);
      // Once a later change's count arrives, the stream is listening.
      await create(marker, 'ООО «Первая метка»');
      await waitFor(() => markerCount(1) !== undefined, 'the stream to count a change');
      release();
      expect(await importing).to.equal('succeeded');
      // A change after the import: its counts are the stream's after every batch.
      await create(marker, 'ООО «Вторая метка»');
      await waitFor(() => markerCount(2) !== undefined, 'the stream to count the change after the import');
      const badge = asMap(markerCount(2)!.live.unreadCounts!)[folderId];
      expect((await reader.data<{ cards: { totalCount: number } }>('query($f: ID!) { cards(folderId: $f, first: 1) { totalCount } }', { f: folderId })).cards.totalCount).to.equal(
        ROWS,
      );
      expect(asMap((await reader.data<{ unreadCounts: Counts }>(COUNTS)).unreadCounts)[folderId]).to.equal(ROWS);
      expect(badge, 'the live badge of the folder').to.equal(ROWS);
    } finally {
      heldBatch = null;
      release?.();
      await importing.catch(() => undefined);
    }
  });

  it('answers counts while the count of all folders runs in the background, and a change meanwhile is counted once, whether it came before or after that count read', async () => {
    const quiet = await sharedFolder('Тихая');
    const busy = await sharedFolder('Оживлённая');
    await create(quiet, 'ООО «Тишина»');
    const countsNow = async () => asMap((await reader.data<{ unreadCounts: Counts }>(COUNTS)).unreadCounts);
    const cardsIn = async (folderId: string) =>
      (await reader.data<{ cards: { totalCount: number } }>('query($f: ID!) { cards(folderId: $f, first: 1) { totalCount } }', { f: folderId })).cards.totalCount;
    // The change comes before or after the count read; the reader asks while it is held, or only after it.
    const orders = [
      { at: 'before', askedDuring: true },
      { at: 'after', askedDuring: true },
      { at: 'before', askedDuring: false },
      { at: 'after', askedDuring: false },
    ] as const;
    for (const [i, { at, askedDuring }] of orders.entries()) {
      const known = await countsNow();
      expect([known[quiet], known[busy]]).to.deep.equal([1, i === 0 ? undefined : i]);
      // The next question a second after the last count of all folders starts another.
      await sleep(1100);
      let reached!: () => void;
      let release!: () => void;
      let ended!: () => void;
      const countReached = new Promise<void>((resolve) => (reached = resolve));
      const countEnded = new Promise<void>((resolve) => (ended = resolve));
      heldCount = { at, reached, released: new Promise<void>((resolve) => (release = resolve)), ended };
      const expected = { ...known, [busy]: i + 1 };
      try {
        // Answered while that count is held: from the counts kept, not after the count.
        const answer = await Promise.race([countsNow(), sleep(15_000).then(() => 'no answer while the count of all folders was held')]);
        expect(answer, 'while the count of all folders is held').to.deep.equal(known);
        await countReached;
        await create(busy, `ООО «Пока считают ${i}»`);
        if (askedDuring) expect(await countsNow(), 'after the change, while the count of all folders is held').to.deep.equal(expected);
        release();
        await countEnded;
        await sleep(0);
        expect(await countsNow(), `after the count of all folders (change ${at} it read)`).to.deep.equal(expected);
        expect(await cardsIn(busy)).to.equal(i + 1);
      } finally {
        heldCount = null;
        release();
      }
    }
    // The next count of all folders agrees.
    await sleep(1100);
    const final = await countsNow();
    await sleep(200);
    expect(await countsNow()).to.deep.equal(final);
    expect([final[quiet], final[busy]]).to.deep.equal([1, orders.length]);
  });

  it('answers kept counts at once after an access change that leaves the reader’s folders as they were', async () => {
    await sharedFolder('Перед чужой библиотекой');
    const countsNow = async () => asMap((await reader.data<{ unreadCounts: Counts }>(COUNTS)).unreadCounts);
    const known = await countsNow();
    // A new version of the access structure; the reader reads the same folders at the same levels.
    await createLibrary(admin, 'Чужая библиотека');
    let release!: () => void;
    // Any count of all folders is held: an answer that waited for one would not come.
    heldCount = { at: 'before', reached: () => undefined, released: new Promise<void>((resolve) => (release = resolve)), ended: () => undefined };
    try {
      const answer = await Promise.race([countsNow(), sleep(15_000).then(() => 'no answer while the count of all folders was held')]);
      expect(answer).to.deep.equal(known);
    } finally {
      heldCount = null;
      release();
    }
  });

  it('a card event looks only at the kept counts of users who read its folder, and a reader’s kept count still follows', async () => {
    const shared = await sharedFolder('Общая для счёта');
    const writersOwn = await createFolder(admin, { libraryId, name: 'Только писателю', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, writersOwn, [{ principalId: writerId, level: 'full' }]);
    const counts = async () => asMap((await reader.data<{ unreadCounts: Counts }>(COUNTS)).unreadCounts);
    const before = await counts();
    await writer.data<{ unreadCounts: Counts }>(COUNTS);
    // The reader's kept counts hold the levels the snapshot memoised for them: what an event asks of them is seen.
    const levels = (await accessSnapshot()).accessOf(readerId)!.folderLevels;
    const asked: string[] = [];
    levels.has = (folderId: string) => {
      asked.push(folderId);
      return Map.prototype.has.call(levels, folderId);
    };
    try {
      await create(writersOwn, 'ООО «Не для читателя»');
      await create(shared, 'ООО «Для читателя»');
      await waitFor(async () => (await counts())[shared] === (before[shared] ?? 0) + 1, 'the reader’s kept count of the shared folder to follow the new card');
      expect(asked, 'folders asked of the reader’s levels').not.to.include(writersOwn);
    } finally {
      delete (levels as { has?: unknown }).has;
    }
  });

  it('a card moved to a folder the reader cannot read leaves their list, without naming where it went', async () => {
    const folderId = await sharedFolder('Откуда ушла');
    const hidden = await createFolder(admin, { libraryId, name: 'Закрытая', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, hidden, [{ principalId: writerId, level: 'full' }]);
    const card = await create(folderId, 'ООО «Ушедшее»');
    const cardEvents = subscribe<{ cardEvents: Record<string, unknown> }>(reader, 'subscription { cardEvents { cardId folderId previousFolderId action } }');
    const live = subscribe<{ live: { cardEvent: Record<string, unknown> | null } }>(reader, 'subscription { live { cardEvent { cardId folderId previousFolderId action } } }');
    await Promise.all([cardEvents.ready, live.ready]);

    await writer.data('mutation($id: ID!, $f: ID!, $v: Int!) { moveCard(id: $id, folderId: $f, version: $v) { id } }', { id: card.id, f: hidden, v: card.version });

    const expected = { cardId: card.id, folderId, previousFolderId: null, action: 'moved-away' };
    const [event] = await cardEvents.waitFor(1, 15_000);
    expect(event.cardEvents).to.deep.equal(expected);
    await waitFor(() => live.received.some((p) => p.live.cardEvent !== null), 'the card event on the live stream');
    expect(live.received.find((p) => p.live.cardEvent !== null)!.live.cardEvent).to.deep.equal(expected);
    expect(JSON.stringify([...cardEvents.received, ...live.received])).not.to.contain(hidden);
  });
});
