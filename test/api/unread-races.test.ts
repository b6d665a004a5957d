import { expect } from 'chai';
import { Types } from 'mongoose';
import { registerCardHooks } from '../../server/src/cards/lifecycle';
import { Card } from '../../server/src/cards/model';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createFolder, createCorrespondents, setFolderAccess } from '../support/fixtures';
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
