import { expect } from 'chai';
import mongoose, { Types } from 'mongoose';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { Session } from '../../server/src/people/models';
import { createFolder, createLibrary, createUser, setFolderAccess } from '../support/fixtures';
import { importCsv } from '../support/import';
import { SseSubscription } from '../support/sse';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';

describe('live updates over server-sent events (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  const subscriptions: SseSubscription<unknown>[] = [];

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const subscription of subscriptions) subscription.close();
    await server?.stop();
  });

  it('delivers a colleague’s change at once, and nothing to a user without access', async () => {
    const admin = await signedIn(server);
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    const userIds: Record<string, string> = {};
    for (const login of ['writer', 'watcher', 'stranger']) {
      userIds[login] = (
        await admin.data<{ createUser: { id: string } }>('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
          input: { login, fullName: login, password: PASSWORD, departmentId },
        })
      ).createUser.id;
    }
    const library = (await admin.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Живая") { id } }')).createLibrary.id;
    const folder = (
      await admin.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', { input: { libraryId: library, name: 'Общая' } })
    ).createFolder.id;
    await admin.data('mutation($id: ID!, $e: [AccessEntryInput!]!) { setFolderAccess(id: $id, entries: $e) { id } }', {
      id: folder,
      e: [
        { principalType: 'user', principalId: userIds.writer, level: 'edit' },
        { principalType: 'user', principalId: userIds.watcher, level: 'read' },
      ],
    });
    // A folder the stranger may read, for a later change that does reach them.
    const strangersFolder = await createFolder(admin, { libraryId: library, name: 'Своя' });
    await setFolderAccess(admin, strangersFolder, [
      { principalId: userIds.writer, level: 'edit' },
      { principalId: userIds.stranger, level: 'read' },
    ]);
    const writer = await signedIn(server, 'writer', PASSWORD);
    const watcher = await signedIn(server, 'watcher', PASSWORD);
    const stranger = await signedIn(server, 'stranger', PASSWORD);

    const watcherEvents = new SseSubscription<{ cardEvents: { cardId: string; action: string; actorName: string } }>(
      server.url,
      watcher.cookieHeader(),
      'subscription { cardEvents { cardId action actorName } }',
    );
    const watcherCounts = new SseSubscription<{ unreadCounts: { folderId: string; count: number }[] }>(
      server.url,
      watcher.cookieHeader(),
      'subscription { unreadCounts { folderId count } }',
    );
    const strangerEvents = new SseSubscription<unknown>(server.url, stranger.cookieHeader(), 'subscription { cardEvents { cardId } }');
    subscriptions.push(watcherEvents, watcherCounts, strangerEvents);
    await Promise.all([watcherEvents.ready, watcherCounts.ready, strangerEvents.ready]);

    const create = async (f: string, name: string) =>
      (
        await writer.data<{ createCard: { id: string } }>('mutation($f: ID!, $n: String!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: $n }) { id } }', {
          f,
          n: name,
        })
      ).createCard.id;
    const created = await create(folder, 'ООО «Живое»');
    const [event] = await watcherEvents.waitFor(1, 15_000);
    expect(event.cardEvents).to.deep.equal({ cardId: created, action: 'create', actorName: 'writer' });
    const [counts] = await watcherCounts.waitFor(1, 15_000);
    expect(counts.unreadCounts).to.deep.equal([{ folderId: folder, count: 1 }]);
    // Events reach a stream in order: when a later change the stranger may see arrives, anything
    // about the first card would have come before it.
    const visible = await create(strangersFolder, 'ООО «Своё»');
    await strangerEvents.waitFor(1, 15_000);
    expect(strangerEvents.received).to.deep.equal([{ cardEvents: { cardId: visible } }]);
  });

  describe('streams follow their session and the subscriber’s access', () => {
    const EVENTS = 'subscription { cardEvents { cardId folderId previousFolderId action } }';
    const COUNTS = 'subscription { unreadCounts { folderId count } }';
    const CREATE = 'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id version } }';
    type EventPayload = { cardEvents: { cardId: string; folderId: string; previousFolderId: string | null; action: string } };
    let admin: ApiClient;
    let departmentId: string;
    let libraryId: string;
    let user = 0;

    before(async () => {
      admin = await signedIn(server);
      departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
      libraryId = await createLibrary(admin, 'Потоки');
    });

    const open = (client: ApiClient, query = EVENTS) => {
      const subscription = new SseSubscription<EventPayload>(server.url, client.cookieHeader(), query);
      subscriptions.push(subscription as SseSubscription<unknown>);
      return subscription;
    };

    /** A writer and a watcher sharing a new folder, each signed in. */
    async function pair(): Promise<{ folder: string; writer: ApiClient; watcher: ApiClient; watcherId: string; watcherLogin: string; writerId: string }> {
      user += 1;
      const writerId = await createUser(admin, { login: `writer${user}`, fullName: `Автор ${user}`, password: PASSWORD, departmentId });
      const watcherId = await createUser(admin, { login: `watcher${user}`, fullName: `Наблюдатель ${user}`, password: PASSWORD, departmentId });
      const folder = await createFolder(admin, { libraryId, name: `Папка ${user}` });
      await setFolderAccess(admin, folder, [
        { principalId: writerId, level: 'full' },
        { principalId: watcherId, level: 'read' },
      ]);
      return {
        folder,
        writerId,
        watcherId,
        watcherLogin: `watcher${user}`,
        writer: await signedIn(server, `writer${user}`, PASSWORD),
        watcher: await signedIn(server, `watcher${user}`, PASSWORD),
      };
    }

    it('refuses a user’s 21st stream over all their sessions, whatever session asks (s15 attack A8)', async () => {
      const { watcher, watcherLogin } = await pair();
      const sessions = [watcher, ...(await Promise.all(Array.from({ length: 3 }, () => signedIn(server, watcherLogin, PASSWORD))))];
      const twenty = sessions.flatMap((session) => Array.from({ length: 5 }, () => open(session)));
      await Promise.all(twenty.map((s) => s.ready));
      const fifth = await signedIn(server, watcherLogin, PASSWORD);
      const refused = open(fifth);
      await refused.waitForEnd(5000);
      expect(refused.errors.map((e) => [e.extensions?.code, e.message])).to.deep.equal([
        [
          'TOO_MANY_REQUESTS',
          'Открыто слишком много потоков обновлений под вашей учётной записью (не больше 20 во всех сеансах). Закройте лишние вкладки Картотеки или выйдите на других устройствах.',
        ],
      ]);
      expect(twenty.every((s) => s.isOpen)).to.equal(true);
      // One closed makes room in any session, once the server has seen it close.
      twenty[0]!.close();
      await waitFor(async () => {
        const stream = open(fifth);
        const ended = await Promise.race([stream.ready.then(() => new Promise((r) => setTimeout(() => r(!stream.isOpen), 300))), stream.ended.then(() => true)]);
        if (ended) return false;
        stream.close();
        return true;
      }, 'a stream accepted after one closed');
      for (const stream of twenty) stream.close();
    });

    it('refuses a sixth stream of one session with a clear message, while another session still opens one', async () => {
      const { folder, writer, watcher, watcherLogin } = await pair();
      const five = Array.from({ length: 5 }, () => open(watcher));
      await Promise.all(five.map((s) => s.ready));
      const sixth = open(watcher);
      await sixth.waitForEnd(5000);
      expect(sixth.errors.map((e) => [e.extensions?.code, e.message])).to.deep.equal([
        ['TOO_MANY_REQUESTS', 'Открыто слишком много потоков обновлений для этого сеанса (не больше 5). Закройте лишние вкладки Картотеки.'],
      ]);
      expect(five.every((s) => s.isOpen)).to.equal(true);
      const elsewhere = open(await signedIn(server, watcherLogin, PASSWORD));
      await elsewhere.ready;
      expect(elsewhere.isOpen).to.equal(true);
      // A stream that closes makes room for a new one, once the server has seen it close: until
      // then a new stream is refused and ends; an accepted one receives the next change.
      five[0].close();
      let again: SseSubscription<EventPayload> | undefined;
      await waitFor(async () => {
        const stream = open(watcher);
        await stream.ready;
        await writer.data(CREATE, { f: folder, v: { name: 'ООО «Место есть?»' } });
        const accepted = await Promise.race([stream.waitFor(1, 15_000).then(() => true), stream.ended.then(() => false)]).catch(() => false);
        if (accepted) again = stream;
        return accepted;
      }, 'a new stream accepted after one closed');
      expect([again!.isOpen, again!.errors]).to.deep.equal([true, []]);
    });

    it('a user who loses access to the folder stops receiving its events at once', async () => {
      const { folder, writer, watcher, writerId } = await pair();
      const stream = open(watcher);
      await stream.ready;
      const first = (await writer.data<{ createCard: { id: string } }>(CREATE, { f: folder, v: { name: 'ООО «До»' } })).createCard.id;
      await stream.waitFor(1, 5000);
      await setFolderAccess(admin, folder, [{ principalId: writerId, level: 'full' }]);
      const control = open(writer);
      await control.ready;
      const second = (await writer.data<{ createCard: { id: string } }>(CREATE, { f: folder, v: { name: 'ООО «После»' } })).createCard.id;
      await control.waitFor(1, 5000);
      expect(control.received.map((e) => e.cardEvents.cardId)).to.deep.equal([second]);
      expect(stream.received.map((e) => e.cardEvents.cardId)).to.deep.equal([first]);
    });

    it('never tells a subscriber the id of a folder they may not read: a card moved in from a hidden folder', async () => {
      const { folder, writer, watcher, writerId } = await pair();
      const hidden = await createFolder(admin, { libraryId, name: `Скрытая ${user}` });
      await setFolderAccess(admin, hidden, [{ principalId: writerId, level: 'full' }]);
      const card = (await writer.data<{ createCard: { id: string; version: number } }>(CREATE, { f: hidden, v: { name: 'ООО «Тайное»' } })).createCard;
      const watching = open(watcher);
      const writing = open(writer);
      await Promise.all([watching.ready, writing.ready]);
      await writer.data('mutation($id: ID!, $f: ID!, $v: Int!) { moveCard(id: $id, folderId: $f, version: $v) { id } }', { id: card.id, f: folder, v: card.version });
      const [seen] = await watching.waitFor(1, 5000);
      const [own] = await writing.waitFor(1, 5000);
      expect(seen.cardEvents).to.deep.equal({ cardId: card.id, folderId: folder, previousFolderId: null, action: 'move' });
      expect(own.cardEvents).to.deep.equal({ cardId: card.id, folderId: folder, previousFolderId: hidden, action: 'move' });
    });

    it('closes open streams when the session ends: sign-out, password reset, password change elsewhere, deactivation, an allow-list that leaves the address out', async () => {
      const cases: [string, (p: Awaited<ReturnType<typeof pair>>) => Promise<void>][] = [
        ['sign-out', async ({ watcher }) => void (await watcher.data('mutation { signOut }'))],
        ['password reset', async ({ watcherId }) => void (await admin.data('mutation($id: ID!) { resetPassword(id: $id, newPassword: "another-password-1") }', { id: watcherId }))],
        [
          'password change in another session',
          async ({ watcherLogin }) => {
            const other = await signedIn(server, watcherLogin, PASSWORD);
            await other.data('mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }', { o: PASSWORD, n: 'another-password-2' });
          },
        ],
        ['deactivation', async ({ watcherId }) => void (await admin.data('mutation($id: ID!) { setUserActive(id: $id, active: false) { id } }', { id: watcherId }))],
        [
          'allow-list',
          async ({ watcherId }) => void (await admin.data('mutation($id: ID!) { updateUser(id: $id, input: { ipAllowList: ["10.200.0.0/16"] }) { id } }', { id: watcherId })),
        ],
      ];
      for (const [reason, end] of cases) {
        const subject = await pair();
        const events = open(subject.watcher);
        const counts = open(subject.watcher, COUNTS);
        await Promise.all([events.ready, counts.ready]);
        await end(subject);
        await events.waitForEnd(5000).catch((error: Error) => {
          throw new Error(`${reason}: ${error.message}`);
        });
        await counts.waitForEnd(5000).catch((error: Error) => {
          throw new Error(`${reason} (unread counts): ${error.message}`);
        });
      }
    });

    it('closes open streams within a second or so when their session ended on another instance whose event this one missed', async () => {
      const subject = await pair();
      const events = open(subject.watcher);
      const counts = open(subject.watcher, COUNTS);
      await Promise.all([events.ready, counts.ready]);
      // Another instance's sign-out (or password reset): the session's document is gone, and this instance heard nothing.
      await mongoose.connection.collection('sessions').deleteMany({ userId: new Types.ObjectId(subject.watcherId) });
      await events.waitForEnd(5000);
      await counts.waitForEnd(5000);
      expect([events.isOpen, counts.isOpen]).to.deep.equal([false, false]);
    });

    it('keeps a stream whose session began while the once-a-second session check was under way (s11 re-attack: 383 of 3,000 live streams closed)', async () => {
      const { folder, writer, watcher, watcherLogin } = await pair();
      const earlier = open(watcher);
      await earlier.ready;
      // The next check of the open streams' sessions is held until a stream of a new session is open.
      let checkHeld!: () => void;
      const checking = new Promise<void>((resolve) => (checkHeld = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const find = Session.find;
      Session.find = function (this: typeof Session, ...args: Parameters<typeof Session.find>) {
        const query = find.apply(this, args);
        if (!(args[0] as { tokenHash?: { $in?: unknown } } | undefined)?.tokenHash?.$in) return query;
        const exec = query.exec.bind(query);
        query.exec = async () => {
          checkHeld();
          await released;
          return exec();
        };
        return query;
      } as typeof Session.find;
      try {
        await checking;
        const newSession = await signedIn(server, watcherLogin, PASSWORD);
        const later = open(newSession);
        await later.ready;
        Session.find = find;
        release();
        // A card created after two more checks arrives on the stream opened during the held one.
        await new Promise((resolve) => setTimeout(resolve, 2500));
        const card = (await writer.data<{ createCard: { id: string } }>(CREATE, { f: folder, v: { name: 'ООО «Новый сеанс»' } })).createCard.id;
        await later.waitFor(1, 15_000);
        expect([later.isOpen, later.received.map((e) => e.cardEvents.cardId)]).to.deep.equal([true, [card]]);
      } finally {
        Session.find = find;
        release();
      }
    });

    it('a password change keeps the stream of the session that made it', async () => {
      const { folder, writer, watcher } = await pair();
      const stream = open(watcher);
      await stream.ready;
      await watcher.data('mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }', { o: PASSWORD, n: 'another-password-3' });
      // Still delivering after the change: a card created afterwards arrives on it.
      const card = (await writer.data<{ createCard: { id: string } }>(CREATE, { f: folder, v: { name: 'ООО «После смены пароля»' } })).createCard.id;
      await stream.waitFor(1, 15_000);
      expect([stream.isOpen, stream.received.map((e) => e.cardEvents.cardId)]).to.deep.equal([true, [card]]);
    });

    it('keeps unread counts right as colleagues change cards and the user reads them', async () => {
      const { folder, writer, watcher } = await pair();
      const counts = new SseSubscription<{ unreadCounts: { folderId: string; count: number }[] }>(server.url, watcher.cookieHeader(), COUNTS);
      subscriptions.push(counts as SseSubscription<unknown>);
      await counts.ready;
      const latest = async (n: number) => (await counts.waitFor(n, 5000))[n - 1].unreadCounts.find((c) => c.folderId === folder)?.count ?? 0;
      const a = (await writer.data<{ createCard: { id: string; version: number } }>(CREATE, { f: folder, v: { name: 'ООО «А»' } })).createCard;
      expect(await latest(1)).to.equal(1);
      const b = (await writer.data<{ createCard: { id: string; version: number } }>(CREATE, { f: folder, v: { name: 'ООО «Б»' } })).createCard;
      expect(await latest(2)).to.equal(2);
      await watcher.data('mutation($id: ID!) { openCard(id: $id) { id } }', { id: a.id });
      expect(await latest(3)).to.equal(1);
      // A change to a card already unread changes no count; one to the card just read does.
      await writer.data('mutation($id: ID!, $v: Int!) { updateCard(id: $id, version: $v, values: { phone: "+7 495 000-00-01" }) { id } }', { id: b.id, v: b.version });
      await writer.data('mutation($id: ID!, $v: Int!) { updateCard(id: $id, version: $v, values: { phone: "+7 495 000-00-02" }) { id } }', { id: a.id, v: a.version });
      expect(await latest(4)).to.equal(2);
      expect(counts.received).to.have.length(4);
      await watcher.data('mutation($f: ID!) { markFolderRead(folderId: $f) }', { f: folder });
      expect(await latest(5)).to.equal(0);
    });

    it('tells a tab when the viewer’s rights change, and only then: joining the history readers, a folder shared with them', async () => {
      const { watcher, watcherId } = await pair();
      const live = new SseSubscription<{ live: { accessChanged: boolean } }>(server.url, watcher.cookieHeader(), 'subscription { live { accessChanged } }');
      subscriptions.push(live as SseSubscription<unknown>);
      await live.ready;
      const { groups } = await admin.data<{ groups: { id: string; systemRole: string | null }[] }>('{ groups { id systemRole } }');
      const readers = groups.find((group) => group.systemRole === 'history-readers')!.id;
      await admin.data('mutation($id: ID!, $add: [ID!]) { changeGroupMembers(id: $id, add: $add) { id } }', { id: readers, add: [watcherId] });
      const [joined] = await live.waitFor(1, 5000);
      expect(joined.live).to.deep.equal({ accessChanged: true });
      // A folder nobody gave them changes nothing for them; the next one, shared with them, does.
      await createFolder(admin, { libraryId, name: `Чужая папка ${user}` });
      const shared = await createFolder(admin, { libraryId, name: `Общая папка ${user}` });
      await setFolderAccess(admin, shared, [{ principalId: watcherId, level: 'read' }]);
      const [, given] = await live.waitFor(2, 5000);
      expect(given.live).to.deep.equal({ accessChanged: true });
      expect(live.received).to.have.length(2);
    });

    it('one live stream per tab carries both a colleague’s change and the new unread counts', async () => {
      const { folder, writer, watcher } = await pair();
      type Update = { live: { cardEvent: { cardId: string; action: string } | null; unreadCounts: { folderId: string; count: number }[] | null } };
      const live = new SseSubscription<Update>(server.url, watcher.cookieHeader(), 'subscription { live { cardEvent { cardId action } unreadCounts { folderId count } } }');
      subscriptions.push(live as SseSubscription<unknown>);
      await live.ready;
      const card = (await writer.data<{ createCard: { id: string } }>(CREATE, { f: folder, v: { name: 'ООО «Вместе»' } })).createCard.id;
      const [update] = await live.waitFor(1, 5000);
      expect(update.live).to.deep.equal({ cardEvent: { cardId: card, action: 'create' }, unreadCounts: [{ folderId: folder, count: 1 }] });
      // The user's own reading changes only the counts.
      await watcher.data('mutation($id: ID!) { openCard(id: $id) { id } }', { id: card });
      const [, read] = await live.waitFor(2, 5000);
      expect(read.live).to.deep.equal({ cardEvent: null, unreadCounts: [] });
    });

    it('tells a tab of every card a colleague adds in a burst, and of the unread counts a few times, the last one right (s10 re-test V3)', async () => {
      const { folder, writer, watcher } = await pair();
      type Update = { live: { cardEvent: { cardId: string } | null; unreadCounts: { folderId: string; count: number }[] | null } };
      const live = new SseSubscription<Update>(server.url, watcher.cookieHeader(), 'subscription { live { cardEvent { cardId } unreadCounts { folderId count } } }');
      subscriptions.push(live as SseSubscription<unknown>);
      await live.ready;
      const created = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => (await writer.data<{ createCard: { id: string } }>(CREATE, { f: folder, v: { name: `ООО «Пачка ${i}»` } })).createCard.id),
      );
      const countsOf = (update: Update) => update.live.unreadCounts?.find((c) => c.folderId === folder)?.count;
      await waitFor(
        () => live.received.filter((update) => update.live.cardEvent).length === 40 && live.received.some((update) => countsOf(update) === 40),
        'every card and the count of 40',
      );
      expect(new Set(live.received.map((update) => update.live.cardEvent?.cardId).filter(Boolean))).to.deep.equal(new Set(created));
      const countUpdates = live.received.filter((update) => update.live.unreadCounts);
      expect(countsOf(countUpdates.at(-1)!)).to.equal(40);
      expect(countUpdates.length, 'updates carrying the counts').to.be.at.most(20);
    });

    it('tells a tab of a colleague’s import once a batch, not once a card: every card in the batches, the count following to all of them, the rows bold', async () => {
      const { folder, writer, watcher } = await pair();
      type Update = {
        live: { cardEvent: { cardId: string } | null; cardBatch: { cardIds: string[]; folderIds: string[] } | null; unreadCounts: { folderId: string; count: number }[] | null };
      };
      const live = new SseSubscription<Update>(
        server.url,
        watcher.cookieHeader(),
        'subscription { live { cardEvent { cardId } cardBatch { cardIds folderIds } unreadCounts { folderId count } } }',
      );
      subscriptions.push(live as SseSubscription<unknown>);
      await live.ready;
      const ROWS = 1200;
      const csv = ['Наименование', ...Array.from({ length: ROWS }, (_, i) => `ООО «Импорт ${i}»`)].join('\n');
      expect(await importCsv(server, writer, { folderId: folder, typeKey: 'counterparty', csv, columns: ['name'] })).to.equal('succeeded');
      const batches = () => live.received.flatMap((update) => (update.live.cardBatch ? [update.live.cardBatch] : []));
      const countOf = (update: Update) => update.live.unreadCounts?.find((c) => c.folderId === folder)?.count;
      await waitFor(
        () => batches().reduce((cards, batch) => cards + batch.cardIds.length, 0) === ROWS && live.received.some((update) => countOf(update) === ROWS),
        'every imported card and the count of 1,200',
      );
      // 500 rows a batch: three updates carry the cards, none a card alone.
      expect(batches().length).to.equal(3);
      expect(batches().every((batch) => batch.folderIds.length === 1 && batch.folderIds[0] === folder)).to.equal(true);
      expect(live.received.filter((update) => update.live.cardEvent)).to.deep.equal([]);
      expect(countOf(live.received.filter((update) => update.live.unreadCounts).at(-1)!)).to.equal(ROWS);
      // The list the tab reads again shows the imported cards new to the watcher (bold).
      const page = await watcher.data<{ cards: { totalCount: number; edges: { node: { id: string; unread: { isNew: boolean } | null } }[] } }>(
        'query($f: ID!) { cards(folderId: $f, first: 50) { totalCount edges { node { id unread { isNew } } } } }',
        { f: folder },
      );
      expect(page.cards.totalCount).to.equal(ROWS);
      expect(page.cards.edges.every((edge) => edge.node.unread?.isNew === true)).to.equal(true);
      expect(new Set(batches().flatMap((batch) => batch.cardIds))).to.include.members(page.cards.edges.map((edge) => edge.node.id));
    });
  });
});
