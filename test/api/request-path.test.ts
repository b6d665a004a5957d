import { expect } from 'chai';
import mongoose, { Types } from 'mongoose';
import { buildActor } from '../../server/src/access/actor';
import { User, type UserDoc } from '../../server/src/access/structure';
import type { CardDoc } from '../../server/src/cards/model';
import { findCards } from '../../server/src/cards/service';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { databaseCommandsDuring, type SentCommand } from '../support/commands';
import { createCorrespondents, createFolder, createUser, setFolderAccess } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';
import { SseSubscription } from '../support/sse';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id version } }';
const UPDATE = 'mutation($id: ID!, $version: Int!, $v: JSON!) { updateCard(id: $id, version: $version, values: $v) { id version } }';
const COUNTS = '{ unreadCounts { folderId count } }';
// The client's own queries (client/src/workspace/api.ts).
const ROW_FIELDS = 'id typeKey title values version createdAt updatedAt unread { isNew changedFields } references { fieldKey id title accessible }';
const CARD_PAGE = `query CardPage($folderId: ID!, $first: Int, $after: String, $sortBy: String, $descending: Boolean, $filters: [CardFilterInput!]) {
  cards(folderId: $folderId, first: $first, after: $after, sortBy: $sortBy, descending: $descending, filters: $filters) {
    pageInfo { hasNextPage endCursor } edges { node { ${ROW_FIELDS} } } } }`;

/**
 * What the server does on its own clock, whatever the requests: polling the access version, the job
 * runner, the card-type registry re-reading its definitions once its short cache expires, the
 * bulk-reading alarm adding the cards read to its counts by a timer (transfer/read-alarm.ts).
 */
const BACKGROUND_COLLECTIONS = new Set(['jobs', 'locks', 'cardtypes', 'read_counts', 'read_baselines']);
const background = (command: SentCommand) => (command.name === 'find' && command.collection === 'meta') || BACKGROUND_COLLECTIONS.has(command.collection);

/** The database commands the server sends while `work` runs (its background work left out). */
const commandsDuring = async (work: () => Promise<unknown>): Promise<SentCommand[]> => (await databaseCommandsDuring(work)).commands.filter((command) => !background(command));

const describeCommands = (commands: SentCommand[]) => commands.map((c) => `${c.name} ${c.collection}`).join(', ');
/**
 * Without the session lookup, which an instance skips while it found the session less than a second ago, and the
 * duplicate settings, cached for 2 s: under load their refresh falls into either of two compared requests.
 */
const beyondSession = (commands: SentCommand[]) =>
  describeCommands(commands.filter((c) => !(c.name === 'find' && (c.collection === 'sessions' || c.collection === 'duplicate_settings'))));

describe('the request path costs what the user touches (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let tatiana: ApiClient;
  let natalia: ApiClient;
  const ids: Record<string, string> = {};

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'nvakulenko', fullName: 'Наталья Вакуленко', level: 'full' },
    ]);
    Object.assign(ids, scenario.userIds, { folder: scenario.folderId, library: scenario.libraryId, department: scenario.departmentId });
    tatiana = await signedIn(server, 'tgoncharenko', PASSWORD);
    natalia = await signedIn(server, 'nvakulenko', PASSWORD);
    for (const name of ['ООО «Альфа»', 'ООО «Бета»', 'ООО «Гамма»']) await tatiana.data(CREATE, { f: ids.folder, v: { name } });
  });
  after(async () => {
    await server?.stop();
  });

  it('builds a signed-in user’s permissions without a database round trip beyond the session', async () => {
    await natalia.data('{ folders { id } }');
    const commands = await commandsDuring(() => natalia.data('{ folders { id myAccess } libraries { id } }'));
    // The session itself, unless this instance found it less than a second ago.
    expect(['', 'find sessions']).to.include(describeCommands(commands));
  });

  it('serves a folder page (the client’s CardPage query) in at most 4 round trips, and renews the session without a write each time', async () => {
    let page: { cards: { edges: { node: { title: string; unread: { isNew: boolean } | null } }[] } } | undefined;
    await natalia.data(CARD_PAGE, { folderId: ids.folder, first: 50 });
    const commands = await commandsDuring(async () => {
      page = await natalia.data(CARD_PAGE, { folderId: ids.folder, first: 50 });
    });
    expect(page!.cards.edges.map((e) => e.node.unread?.isNew)).to.deep.equal([true, true, true]);
    expect(commands.length, describeCommands(commands)).to.be.at.most(4);
    expect(
      commands.filter((c) => c.collection === 'sessions' && c.name !== 'find'),
      describeCommands(commands),
    ).to.deep.equal([]);
  });

  it('reads a page’s or a batch’s cards without the authors and trash date the query does not ask for, and shows them when asked (fragments too)', async () => {
    type Row = { id: string; title: string; createdBy?: { fullName: string }; updatedBy?: { fullName: string }; trashedAt?: string | null };
    type Page = { cards: { edges: { node: Row }[] } };
    const cardsRead = (commands: SentCommand[]) => commands.filter((c) => c.name === 'find' && c.collection === 'cards');
    let page: Page | undefined;
    const plain = cardsRead(await commandsDuring(async () => (page = await natalia.data<Page>(CARD_PAGE, { folderId: ids.folder, first: 50 }))));
    expect(plain).to.have.length(1);
    expect(plain[0]!.command.projection).to.include({ searchText: 0, createdBy: 0, updatedBy: 0, trashedAt: 0, trashedBy: 0 });
    expect(page!.cards.edges.map((e) => e.node.title)).to.have.members(['ООО «Альфа»', 'ООО «Бета»', 'ООО «Гамма»']);
    const cardIds = page!.cards.edges.map((e) => e.node.id);

    // No values asked: none read (s17 guard M2).
    const authors = `query($f: ID!) { cards(folderId: $f) { edges { node { title ...Authors ... on Card { trashedAt } } } } }
      fragment Authors on Card { createdBy { fullName } updatedBy { fullName } }`;
    const shown = cardsRead(await commandsDuring(async () => (page = await natalia.data<Page>(authors, { f: ids.folder }))));
    expect(shown[0]!.command.projection).to.deep.equal({ searchText: 0, searchWords: 0, searchKeys: 0, trashedBy: 0, values: 0 });
    expect(page!.cards.edges.map((e) => [e.node.createdBy?.fullName, e.node.updatedBy?.fullName, e.node.trashedAt])).to.deep.equal(
      page!.cards.edges.map(() => ['Татьяна Гончаренко', 'Татьяна Гончаренко', null]),
    );

    const byIds = `query($ids: [ID!]!) { cards(ids: $ids) { edges { node { id title updatedBy { fullName } } } } }`;
    let batch: Page | undefined;
    const read = cardsRead(await commandsDuring(async () => (batch = await natalia.data<Page>(byIds, { ids: cardIds }))));
    expect(read[0]!.command.projection).to.include({ createdBy: 0, trashedAt: 0 }).and.not.have.property('updatedBy');
    expect(batch!.cards.edges.map((e) => e.node.updatedBy?.fullName)).to.deep.equal(cardIds.map(() => 'Татьяна Гончаренко'));
  });

  it('counts unread cards of all the user’s folders from index keys, reading only the cards the user marked unread', async () => {
    const second = await createFolder(admin, { libraryId: ids.library, name: 'Вторая' });
    await setFolderAccess(admin, second, [
      { principalId: ids.tgoncharenko, level: 'full' },
      { principalId: ids.nvakulenko, level: 'read' },
    ]);
    const delta = await tatiana.data<{ createCard: { id: string } }>(CREATE, { f: second, v: { name: 'ООО «Дельта»' } });
    let counts: { unreadCounts: { folderId: string; count: number }[] } | undefined;
    const countsOf = () => Object.fromEntries(counts!.unreadCounts.map((c) => [c.folderId, c.count]));
    let commands = await commandsDuring(async () => {
      counts = await natalia.data(COUNTS);
    });
    expect(countsOf()).to.deep.equal({ [ids.folder]: 3, [second]: 1 });
    expect(
      commands.filter((c) => c.collection === 'cards').map((c) => c.name),
      describeCommands(commands),
    ).to.deep.equal(['aggregate']);
    // Besides the session, the user's read state, unless the instance read it less than a second ago;
    // and, the first question since the start, the counts stored by the last count of all folders
    // (none here), the count then storing what it found.
    expect([[], ['find reads']]).to.deep.include(commands.filter((c) => !['cards', 'sessions', 'unreadcounts'].includes(c.collection)).map((c) => `${c.name} ${c.collection}`));
    expect([['find'], ['find', 'update']]).to.deep.include(commands.filter((c) => c.collection === 'unreadcounts').map((c) => c.name));

    // A card read one by one: its folder's count drops, and its index key alone tells that it did not change since (no card is read).
    await natalia.data('mutation($id: ID!) { markCardRead(id: $id) }', { id: delta.createCard.id });
    commands = await commandsDuring(async () => {
      counts = await natalia.data(COUNTS);
    });
    expect(countsOf()).to.deep.equal({ [ids.folder]: 3 });
    expect(
      commands.filter((c) => c.collection === 'cards').map((c) => c.name),
      describeCommands(commands),
    ).to.deep.equal(['aggregate', 'aggregate']);
    // Marked unread again: that card alone is read (it counts whether or not it changed).
    await natalia.data('mutation($id: ID!) { markCardUnread(id: $id) }', { id: delta.createCard.id });
    commands = await commandsDuring(async () => {
      counts = await natalia.data(COUNTS);
    });
    expect(countsOf()).to.deep.equal({ [ids.folder]: 3, [second]: 1 });
    expect(
      commands.filter((c) => c.collection === 'cards').map((c) => c.name),
      describeCommands(commands),
    ).to.deep.equal(['aggregate', 'find']);
  });

  it('answers unread counts asked again from what it counted, counting again only the folders where something changed since', async () => {
    type Counts = { unreadCounts: { folderId: string; count: number }[] };
    const other = await createFolder(admin, { libraryId: ids.library, name: 'Соседняя' });
    await setFolderAccess(admin, other, [
      { principalId: ids.tgoncharenko, level: 'full' },
      { principalId: ids.nvakulenko, level: 'read' },
    ]);
    const countsNow = async () => Object.fromEntries((await natalia.data<Counts>(COUNTS)).unreadCounts.map((c) => [c.folderId, c.count]));
    type Pipeline = { $match: { $or: { folderId: unknown }[] } }[];
    /**
     * The counts after `change`, and the folders of the `$or` branches the cards' aggregates sent;
     * null when they counted all folders, as they do a second after the last such count (under
     * load that second can end between two questions: nothing to compare then).
     */
    let partial = 0;
    const countsAfter = async (change: () => Promise<unknown>) => {
      await countsNow();
      await change();
      let counts: Record<string, number> = {};
      const commands = await commandsDuring(async () => (counts = await countsNow()));
      const cards = commands.filter((c) => c.collection === 'cards');
      const branches = cards.flatMap((c) => (c.command.pipeline as Pipeline)[0]!.$match.$or.map((b) => String(b.folderId)));
      const afresh = branches.some((folderId) => folderId !== other);
      if (!afresh) partial += 1;
      return { counts, described: describeCommands(cards), branches: afresh ? null : branches };
    };
    const before = await countsNow();
    // Nothing changed: the counts come without a card read.
    let asked = await countsAfter(async () => undefined);
    expect(asked.counts).to.deep.equal(before);
    if (asked.branches) expect(asked.branches, asked.described).to.deep.equal([]);
    // A colleague's new card in one folder: that folder alone is counted again, and its count includes the card.
    asked = await countsAfter(() => tatiana.data(CREATE, { f: other, v: { name: 'ООО «Соседи»' } }));
    expect(asked.counts).to.deep.equal({ ...before, [other]: 1 });
    if (asked.branches) expect(asked.branches, asked.described).to.deep.equal([other]);
    // The user's own read there: the same (its changed cards, and the receipt).
    const page = await natalia.data<{ cards: { edges: { node: { id: string } }[] } }>(CARD_PAGE, { folderId: other, first: 50 });
    asked = await countsAfter(() => natalia.data('mutation($id: ID!) { markCardRead(id: $id) }', { id: page.cards.edges[0]!.node.id }));
    expect(asked.counts).to.deep.equal(before);
    if (asked.branches) expect(asked.branches, asked.described).to.deep.equal([other, other]);
    expect(partial, 'questions answered without counting all folders').to.be.above(0);
  });

  it('reads the user’s read state once for a folder page’s bold rows and the unread counts asked with it', async () => {
    // The read state the instance keeps for a second has expired.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    let answer: { cards: { edges: { node: { unread: { isNew: boolean } | null } }[] }; unreadCounts: { folderId: string; count: number }[] } | undefined;
    const commands = await commandsDuring(async () => {
      answer = await natalia.data(`query($f: ID!) { cards(folderId: $f, first: 50) { edges { node { unread { isNew } } } } unreadCounts { folderId count } }`, { f: ids.folder });
    });
    const bold = answer!.cards.edges.filter((edge) => edge.node.unread).length;
    expect(answer!.unreadCounts.find((c) => c.folderId === ids.folder)?.count).to.equal(bold);
    expect(
      commands.filter((c) => c.collection === 'reads').map((c) => c.name),
      describeCommands(commands),
    ).to.deep.equal(['find']);
  });

  it('recounts a folder once for all of a user’s open tabs when they read a card in it, and each tab gets the new count', async () => {
    type Update = { live: { unreadCounts: { folderId: string; count: number }[] | null } };
    const tabs = Array.from({ length: 3 }, () => new SseSubscription<Update>(server.url, natalia.cookieHeader(), 'subscription { live { unreadCounts { folderId count } } }'));
    try {
      await Promise.all(tabs.map((tab) => tab.ready));
      const created = await tatiana.data<{ createCard: { id: string } }>(CREATE, { f: ids.folder, v: { name: 'ООО «Три вкладки»' } });
      const now = (await natalia.data<{ unreadCounts: { folderId: string; count: number }[] }>(COUNTS)).unreadCounts.find((c) => c.folderId === ids.folder)!.count;
      const countIn = (tab: SseSubscription<Update>) =>
        tab.received
          .filter((update) => update.live.unreadCounts)
          .at(-1)
          ?.live.unreadCounts?.find((c) => c.folderId === ids.folder)?.count;
      await waitFor(() => tabs.every((tab) => countIn(tab) === now), 'each tab’s count with the new card');
      const commands = await commandsDuring(async () => {
        await natalia.data('mutation($id: ID!) { markCardRead(id: $id) }', { id: created.createCard.id });
        await waitFor(() => tabs.every((tab) => countIn(tab) === now - 1), 'each tab’s count after the card was read');
      });
      // One recount of the folder: its changed cards and the receipts (two aggregates sent together), not one per tab.
      expect(commands.filter((c) => c.collection === 'cards' && c.name === 'aggregate').length, describeCommands(commands)).to.equal(2);
    } finally {
      for (const tab of tabs) tab.close();
    }
  });

  it('answers a user’s concurrent unread counts with at most two recounts, and a count asked after a change includes it', async () => {
    const folders = (await natalia.data<{ folders: { id: string }[] }>('{ folders { id } }')).folders.length;
    let answers: { unreadCounts: { folderId: string; count: number }[] }[] = [];
    const commands = await commandsDuring(async () => {
      answers = await Promise.all(Array.from({ length: 6 }, () => natalia.data<{ unreadCounts: { folderId: string; count: number }[] }>(COUNTS)));
    });
    expect(new Set(answers.map((answer) => JSON.stringify(answer)))).to.have.property('size', 1);
    // The running recount, and one more for all who asked after it started reading.
    expect(commands.filter((c) => c.collection === 'cards' && c.name === 'count').length, describeCommands(commands)).to.be.at.most(2 * folders);
    const before = answers[0]!.unreadCounts.find((c) => c.folderId === ids.folder)?.count ?? 0;
    await tatiana.data(CREATE, { f: ids.folder, v: { name: 'ООО «Эпсилон»' } });
    const after = (await natalia.data<{ unreadCounts: { folderId: string; count: number }[] }>(COUNTS)).unreadCounts.find((c) => c.folderId === ids.folder)?.count;
    expect(after).to.equal(before + 1);
  });

  it('grants access to a folder at the same cost whether it holds 1 card or 40, and the new reader finds them all new', async () => {
    const newcomerId = await createUser(admin, { login: 'newcomer', fullName: 'Новенькая', password: PASSWORD, departmentId: ids.department });
    const small = await createFolder(admin, { libraryId: ids.library, name: 'Малая' });
    const large = await createFolder(admin, { libraryId: ids.library, name: 'Большая' });
    await setFolderAccess(admin, small, [{ principalId: ids.tgoncharenko, level: 'full' }]);
    await setFolderAccess(admin, large, [{ principalId: ids.tgoncharenko, level: 'full' }]);
    await tatiana.data(CREATE, { f: small, v: { name: 'ООО «Одна»' } });
    for (let i = 0; i < 40; i += 1) await tatiana.data(CREATE, { f: large, v: { name: `ООО «Номер ${i}»` } });
    const grant = async (folderId: string) => {
      // The access snapshot reloads once after every change, whatever the change: not what is compared here.
      await admin.data('{ folders { id } }');
      return commandsDuring(() =>
        setFolderAccess(admin, folderId, [
          { principalId: ids.tgoncharenko, level: 'full' },
          { principalId: newcomerId, level: 'read' },
        ]),
      );
    };
    const forSmall = await grant(small);
    const forLarge = await grant(large);
    expect(beyondSession(forLarge)).to.equal(beyondSession(forSmall));
    const newcomer = await signedIn(server, 'newcomer', PASSWORD);
    const counts = await newcomer.data<{ unreadCounts: { folderId: string; count: number }[] }>(COUNTS);
    expect(Object.fromEntries(counts.unreadCounts.map((c) => [c.folderId, c.count]))).to.deep.equal({ [small]: 1, [large]: 40 });
  });

  it('writes a card change at the same cost whether 1 or 25 colleagues read the folder, and all of them see it bold', async () => {
    const alone = await createFolder(admin, { libraryId: ids.library, name: 'Для одного' });
    const crowded = await createFolder(admin, { libraryId: ids.library, name: 'Для многих' });
    const readers: string[] = [];
    for (let i = 0; i < 25; i += 1) readers.push(await createUser(admin, { login: `reader${i}`, fullName: `Читатель ${i}`, password: PASSWORD, departmentId: ids.department }));
    await setFolderAccess(admin, alone, [
      { principalId: ids.tgoncharenko, level: 'full' },
      { principalId: readers[0], level: 'read' },
    ]);
    await setFolderAccess(admin, crowded, [{ principalId: ids.tgoncharenko, level: 'full' }, ...readers.map((id) => ({ principalId: id, level: 'read' as const }))]);
    const cards: Record<string, { id: string; version: number }> = {};
    for (const [key, folder] of [
      ['alone', alone],
      ['crowded', crowded],
    ] as const)
      cards[key] = (await tatiana.data<{ createCard: { id: string; version: number } }>(CREATE, { f: folder, v: { name: `ООО «${key}»` } })).createCard;
    // Each card gets a phone of its own: the same phone would make the second a probable duplicate of the first (counterparties match by phone).
    const phones: Record<string, string> = { alone: '+7 495 111-22-33', crowded: '+7 495 444-55-66' };
    const update = async (key: string) => {
      await tatiana.data('{ folders { id } }');
      return commandsDuring(() => tatiana.data(UPDATE, { id: cards[key].id, version: cards[key].version, v: { phone: phones[key] } }));
    };
    const forOne = await update('alone');
    const forMany = await update('crowded');
    expect(beyondSession(forMany)).to.equal(beyondSession(forOne));
    const last = await signedIn(server, 'reader24', PASSWORD);
    const card = await last.data<{ card: { unread: { isNew: boolean; changedFields: string[] } } }>('query($id: ID!) { card(id: $id) { unread { isNew changedFields } } }', {
      id: cards.crowded.id,
    });
    expect(card.card.unread).to.deep.equal({ isNew: true, changedFields: ['phone'] });
  });

  it('takes in an access change written by another instance within the staleness bound, even when its event is lost', async () => {
    const hidden = await createFolder(admin, { libraryId: ids.library, name: 'Из другого экземпляра' });
    const sees = async () => (await natalia.data<{ folders: { id: string }[] }>('{ folders { id } }')).folders.some((f) => f.id === hidden);
    expect(await sees()).to.equal(false);
    // What another instance does: write the entry and move the version counter; its bus event never arrives here.
    const db = mongoose.connection.db!;
    await db
      .collection('folders')
      .updateOne(
        { _id: new Types.ObjectId(hidden) },
        { $set: { accessEntries: [{ principalType: 'user', principalId: new Types.ObjectId(ids.nvakulenko), includeSubdepartments: false, level: 'read' }] } },
      );
    await db.collection<{ _id: string; value: number }>('meta').updateOne({ _id: 'access-version' }, { $inc: { value: 1 } });
    const deadline = Date.now() + 10_000;
    while (!(await sees())) {
      if (Date.now() > deadline) throw new Error('the change never arrived');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await sees()).to.equal(true);
  });

  it('reads cards whose reply passes the 16 MB of one database reply in one session, in the order asked; a page of them by id or of the folder ends at its budget and goes on', async () => {
    // Six cards of 3 MB each (notes as long as a pasted document), written as stored data is.
    const folderId = await createFolder(admin, { parentId: ids.folder, name: 'Договоры с приложениями' });
    const notes = 'Приложение к договору. '.repeat(70_000);
    const at = Date.now();
    const stored = Array.from({ length: 6 }, (_, index) => {
      const when = new Date(at - index * 1000);
      const name = `ООО «Большая ${index + 1}»`;
      return {
        _id: new Types.ObjectId(),
        typeKey: 'counterparty',
        folderId: new Types.ObjectId(folderId),
        libraryId: new Types.ObjectId(ids.library),
        title: name,
        values: { name, notes },
        version: 1,
        createdBy: new Types.ObjectId(ids.tgoncharenko),
        updatedBy: new Types.ObjectId(ids.tgoncharenko),
        inTrash: false,
        trashedAt: null,
        trashedBy: null,
        createdAt: when,
        updatedAt: when,
        arrivedAt: when,
      };
    });
    await mongoose.connection.collection('cards').insertMany(stored);
    // Read whole, as the server's own checks read cards by id (findCards: a file's card, a plugin's cards).
    const actor = await buildActor((await User.findById(ids.nvakulenko).lean<UserDoc>())!, '127.0.0.1');
    let found: CardDoc[] = [];
    const commands = (
      await commandsDuring(
        async () =>
          (found = await findCards(
            actor,
            stored.map((card) => String(card._id)),
          )),
      )
    ).filter((c) => c.collection === 'cards');
    expect(found.map((card) => card.title)).to.deep.equal(stored.map((card) => card.title));
    expect(found.every((card) => card.values.notes === notes)).to.equal(true);
    expect(commands.map((c) => c.name)).to.include('getMore');
    expect(new Set(commands.map((c) => JSON.stringify(c.command.lsid))).size, 'one session for the find and its getMore').to.equal(1);

    // By id over the API, a reply holds cards up to its budget of values (s16 re-attack B2): one such card a reply, then the same ids after its cursor.
    type Batch = { cards: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { title: string; values: { notes?: string } } }[] } };
    const byId: string[] = [];
    let next: string | null = null;
    do {
      const batch: Batch = await natalia.data<Batch>(
        'query($ids: [ID!]!, $after: String) { cards(ids: $ids, after: $after) { pageInfo { hasNextPage endCursor } edges { node { title values } } } }',
        {
          ids: stored.map((card) => String(card._id)),
          after: next,
        },
      );
      expect(batch.cards.edges).to.have.length(1);
      expect(batch.cards.edges[0].node.values.notes).to.equal(notes);
      byId.push(batch.cards.edges[0].node.title);
      next = batch.cards.pageInfo.hasNextPage ? batch.cards.pageInfo.endCursor : null;
    } while (next);
    expect(byId).to.deep.equal(stored.map((card) => card.title));

    // A page holds cards up to its budget of values (s15 B2): one such card a page, every card once, in the list's order.
    type Page = { cards: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { title: string } }[] } };
    const titles: string[] = [];
    let after: string | null = null;
    do {
      const page: Page = await natalia.data<Page>(CARD_PAGE, { folderId, first: 5, after });
      titles.push(...page.cards.edges.map((e) => e.node.title));
      after = page.cards.pageInfo.hasNextPage ? page.cards.pageInfo.endCursor : null;
    } while (after);
    expect(titles).to.deep.equal(stored.map((card) => card.title));
  });
});
