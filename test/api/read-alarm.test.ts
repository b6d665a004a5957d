import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { ReadBaseline } from '../../server/src/transfer/read-alarm';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder, createLibrary, setFolderAccess } from '../support/fixtures';
import { downloadFile, memoType, pdfWithText, uploadFile } from '../support/files';
import { signedIn, startTestServer } from '../support/server';
import { SseSubscription } from '../support/sse';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const LIST = 'query($f: ID!) { cards(folderId: $f, first: 50) { edges { node { id values } } } }';

type Alarm = { readAlarms: { login: string; fullName: string; cards: number; threshold: number; usual: number; windowMinutes: number } };
type Audit = {
  auditLog: { edges: { node: { actorLogin: string; targetId: string; summary: string; after: { cards: number; threshold: number; usual: number; windowMinutes: number } } }[] };
};

/** READ_ALARM_CARDS=5 within READ_ALARM_MINUTES=60: a sixth card sent to one user in the hour raises the alarm. */
describe('the bulk-reading alarm (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let natasha: ApiClient;
  let tanya: ApiClient;
  let folderId: string;
  let userIds: Record<string, string>;

  const alarmsInAudit = async () => (await admin.data<Audit>('{ auditLog(kind: "bulk-reading") { edges { node { actorLogin targetId summary after } } } }')).auditLog.edges;

  before(async () => {
    server = await startTestServer({ READ_ALARM_CARDS: '5', READ_ALARM_MINUTES: '60' });
    admin = await signedIn(server);
    ({ folderId, userIds } = await createCorrespondents(admin, PASSWORD, [
      { login: 'tanya', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'natasha', fullName: 'Наталья Вакуленко', level: 'read' },
      { login: 'oleg', fullName: 'Олег Сверкин', level: 'read' },
    ]));
    tanya = await signedIn(server, 'tanya', PASSWORD);
    natasha = await signedIn(server, 'natasha', PASSWORD);
    for (const name of ['ООО «Альфа»', 'ООО «Бета»', 'ООО «Гамма»']) {
      await tanya.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: folderId, v: { name } });
    }
  });
  after(async () => {
    await server?.stop();
  });

  it('refuses the alarms stream to anyone but administrators', async () => {
    const stream = new SseSubscription<Alarm>(server.url, natasha.cookieHeader(), 'subscription { readAlarms { login } }');
    await stream.ended;
    expect(stream.errors[0]?.extensions?.code).to.equal('FORBIDDEN');
  });

  it('records an audit entry and tells administrators at once when a user is sent more cards than the threshold, once per window', async () => {
    const stream = new SseSubscription<Alarm>(server.url, admin.cookieHeader(), 'subscription { readAlarms { login fullName cards threshold windowMinutes } }');
    await stream.ready;
    try {
      // Татьяна reads the folder once: 3 cards, under the threshold.
      await tanya.data(LIST, { f: folderId });
      // Наталья reads it twice: 6 cards.
      await natasha.data(LIST, { f: folderId });
      await natasha.data(LIST, { f: folderId });
      await waitFor(() => stream.received.length > 0, 'the alarm on the live stream');
      expect(stream.received[0].readAlarms).to.deep.include({ login: 'natasha', fullName: 'Наталья Вакуленко', threshold: 5, windowMinutes: 60 });
      // Each card counts once per request (the page's rows are told of together): 2 × 3 cards.
      expect(stream.received[0].readAlarms.cards).to.equal(6);

      let alarms: Audit['auditLog']['edges'] = [];
      await waitFor(async () => (alarms = await alarmsInAudit()).length > 0, 'the audit entry');
      expect(alarms.map((edge) => [edge.node.actorLogin, edge.node.targetId])).to.deep.equal([['natasha', userIds.natasha]]);
      expect(alarms[0].node.summary).to.match(/^Массовое чтение: Наталья Вакуленко получил\(а\) \d+ карточек за 60 мин \(порог — 5\)$/);
      expect(alarms[0].node.after).to.include({ threshold: 5, windowMinutes: 60 });

      // Reading on does not raise it again within the window; Татьяна passing the threshold raises hers.
      await natasha.data(LIST, { f: folderId });
      await tanya.data(LIST, { f: folderId });
      await waitFor(async () => (alarms = await alarmsInAudit()).length > 1, 'Татьяна’s alarm');
      expect(alarms.map((edge) => edge.node.actorLogin)).to.deep.equal(['tanya', 'natasha']);
      expect(stream.received.map((alarm) => alarm.readAlarms.login)).to.deep.equal(['natasha', 'tanya']);
    } finally {
      stream.close();
    }
  });

  it('counts a card whose title alone is sent (the client base is its names), and a card read as of a moment from its history', async () => {
    const alarmOf = async (login: string) => (await alarmsInAudit()).filter((edge) => edge.node.actorLogin === login);
    // Олег pages the folder's names twice: 6 cards, though no values went out.
    const oleg = await signedIn(server, 'oleg', PASSWORD);
    const titles = 'query($f: ID!) { cards(folderId: $f, first: 50) { edges { node { id title } } } }';
    await oleg.data(titles, { f: folderId });
    await oleg.data(titles, { f: folderId });
    await waitFor(async () => (await alarmOf('oleg')).length > 0, 'Олег’s alarm for titles');

    // The administrator rebuilds cards as of tomorrow (today's values) from their history, one card a request.
    const ids = (await admin.data<{ cards: { edges: { node: { id: string } }[] } }>('query($f: ID!) { cards(folderId: $f) { edges { node { id } } } }', { f: folderId })).cards
      .edges;
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    for (const { node } of [...ids, ...ids]) {
      await admin.data('query($id: ID!, $at: DateTime!) { cardAsOf(cardId: $id, at: $at) { values } }', { id: node.id, at: tomorrow });
    }
    await waitFor(async () => (await alarmOf('admin')).length > 0, 'the alarm for cards read from history');
  });

  it('counts a card whose page cursor alone is sent (a cursor carries its sort value: the title, a field’s value), in a folder and in search results', async () => {
    const alarmOf = async (login: string) => (await alarmsInAudit()).filter((edge) => edge.node.actorLogin === login);
    for (const login of ['vera', 'gleb']) {
      const id = (
        await admin.data<{ createUser: { id: string } }>('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
          input: {
            login,
            fullName: login === 'vera' ? 'Вера Курсорова' : 'Глеб Поисков',
            password: PASSWORD,
            departmentId: (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id,
          },
        })
      ).createUser.id;
      await admin.data('mutation($id: ID!, $e: AccessEntryInput!) { grantFolderAccess(id: $id, entry: $e) { id } }', {
        id: folderId,
        e: { principalType: 'user', principalId: id, level: 'read' },
      });
    }
    // Вера pages the folder sorted by title asking only for cursors: 6 cards in two passes.
    const vera = await signedIn(server, 'vera', PASSWORD);
    const cursors = 'query($f: ID!) { cards(folderId: $f, first: 50, sortBy: "title") { edges { cursor } } }';
    await vera.data(cursors, { f: folderId });
    await vera.data(cursors, { f: folderId });
    await waitFor(async () => (await alarmOf('vera')).length > 0, 'Вера’s alarm for cursors');
    // Глеб asks the search's results for their cursors only.
    const gleb = await signedIn(server, 'gleb', PASSWORD);
    const found = 'query { searchResults(query: "ООО") { edges { cursor } } }';
    await gleb.data(found);
    await gleb.data(found);
    await waitFor(async () => (await alarmOf('gleb')).length > 0, 'Глеб’s alarm for search cursors');
  });

  it('counts the cards an import’s unique check tells of — in a folder the importer cannot read too: a dry run of INNs is not a quiet oracle', async () => {
    const alarmOf = async (login: string) => (await alarmsInAudit()).filter((edge) => edge.node.actorLogin === login);
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    const probeId = (
      await admin.data<{ createUser: { id: string } }>('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
        input: { login: 'probe', fullName: 'Пётр Сверяев', password: PASSWORD, departmentId },
      })
    ).createUser.id;
    // Six companies in a folder closed to him; a folder of his own to import into.
    const libraryId = await createLibrary(admin, 'Закрытая');
    const hidden = await createFolder(admin, { libraryId, name: 'Закрытые клиенты', allowedCardTypes: ['counterparty'] });
    const own = await createFolder(admin, { libraryId, name: 'Черновик Петра', allowedCardTypes: ['counterparty'] });
    await admin.data('mutation($id: ID!, $e: AccessEntryInput!) { grantFolderAccess(id: $id, entry: $e) { id } }', {
      id: own,
      e: { principalType: 'user', principalId: probeId, level: 'full' },
    });
    const inns = ['7707083893', '7728168971', '7736050003', '7725038124', '7710140679', '7740000076'];
    for (const [n, inn] of inns.entries()) {
      await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', {
        f: hidden,
        v: { name: `ООО «Тайна ${n}»`, inn },
      });
    }

    // He checks a file of those INNs as a dry run: nothing is written, nothing listed — but every
    // row refused as taken told him a card is there.
    const probe = await signedIn(server, 'probe', PASSWORD);
    const csv = ['Наименование;ИНН', ...inns.map((inn, n) => `Проба ${n};${inn}`)].join('\n');
    const uploaded = await fetch(`${server.url}/transfer/uploads?name=${encodeURIComponent('инн.csv')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', cookie: probe.cookieHeader() },
      body: new Uint8Array(Buffer.from(csv)),
    });
    const input = { uploadId: ((await uploaded.json()) as { id: string }).id, folderId: own, typeKey: 'counterparty' };
    const { startImport } = await probe.data<{ startImport: { id: string } }>(
      'mutation($input: ImportSettingsInput!, $mapping: ImportMappingInput!) { startImport(input: $input, mapping: $mapping, dryRun: true) { id } }',
      { input, mapping: { columns: ['name', 'inn'], onMatch: 'skip' } },
    );
    let result: { refused: number } | null = null;
    await waitFor(async () => {
      const { job } = await probe.data<{ job: { state: string; result: { refused: number } | null } }>('query($id: ID!) { job(id: $id) { state result } }', { id: startImport.id });
      result = job.result;
      return job.state === 'succeeded';
    }, 'the dry run');
    expect(result).to.deep.include({ refused: 6 });
    await waitFor(async () => (await alarmOf('probe')).length > 0, 'Пётр’s alarm for the cards his dry run told of');
  });

  it('counts every INN a dry run looks up, though few hit a hidden card, and audits every dry run with its rows and hidden hits (s10 re-attack A2)', async () => {
    const alarmOf = async (login: string) => (await alarmsInAudit()).filter((edge) => edge.node.actorLogin === login);
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    const sonarId = (
      await admin.data<{ createUser: { id: string } }>('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
        input: { login: 'sonar', fullName: 'Семён Эхолотов', password: PASSWORD, departmentId },
      })
    ).createUser.id;
    const libraryId = await createLibrary(admin, 'Секрет');
    const hidden = await createFolder(admin, { libraryId, name: 'Секретные клиенты', allowedCardTypes: ['counterparty'] });
    const own = await createFolder(admin, { libraryId, name: 'Черновик Семёна', allowedCardTypes: ['counterparty'] });
    await admin.data('mutation($id: ID!, $e: AccessEntryInput!) { grantFolderAccess(id: $id, entry: $e) { id } }', {
      id: own,
      e: { principalType: 'user', principalId: sonarId, level: 'full' },
    });
    // Eight INNs of a region; one of them is a client in a folder closed to him.
    const inns = ['7705000108', '7705000115', '7705000122', '7705000130', '7705000147', '7705000154', '7705000161', '7705000179'];
    await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', {
      f: hidden,
      v: { name: 'ООО «Тайна»', inn: inns[5] },
    });
    const sonar = await signedIn(server, 'sonar', PASSWORD);
    const csv = ['Наименование;ИНН', ...inns.map((inn, n) => `Проба ${n};${inn}`)].join('\n');
    const uploaded = await fetch(`${server.url}/transfer/uploads?name=${encodeURIComponent('регион.csv')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', cookie: sonar.cookieHeader() },
      body: new Uint8Array(Buffer.from(csv)),
    });
    const input = { uploadId: ((await uploaded.json()) as { id: string }).id, folderId: own, typeKey: 'counterparty' };
    const { startImport } = await sonar.data<{ startImport: { id: string } }>(
      'mutation($input: ImportSettingsInput!, $mapping: ImportMappingInput!) { startImport(input: $input, mapping: $mapping, dryRun: true) { id } }',
      { input, mapping: { columns: ['name', 'inn'], onMatch: 'skip' } },
    );
    await waitFor(
      async () => (await sonar.data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id: startImport.id })).job.state === 'succeeded',
      'the dry run',
    );
    // Eight INNs looked up (the floor is 5): the alarm, though only one hit a hidden card.
    await waitFor(async () => (await alarmOf('sonar')).length > 0, 'Семён’s alarm for the INNs his dry run looked up');
    type Entry = { actorLogin: string; targetId: string; summary: string; after: Record<string, unknown> };
    const checked = (
      await admin.data<{ auditLog: { edges: { node: Entry }[] } }>('{ auditLog(kind: "import-checked") { edges { node { actorLogin targetId summary after } } } }')
    ).auditLog.edges
      .map((edge) => edge.node)
      .filter((entry) => entry.actorLogin === 'sonar');
    expect(checked).to.have.length(1);
    expect(checked[0].targetId).to.equal(own);
    expect(checked[0].summary).to.equal(
      'Проверка (ничего не записано) регион.csv: строк 8, создано 7, обновлено 0, пропущено 0, отклонено 1; значение занято карточкой в закрытой для пользователя папке — 1',
    );
    expect(checked[0].after).to.include({ jobId: startImport.id, fileName: 'регион.csv', total: 8, refused: 1, hiddenMatches: 1 });
  });

  it('counts a contract read through its file — the text preview, a page image — like an opened card: six contracts previewed raise the alarm (s15 attack A5)', async () => {
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: memoType });
    const contracts = await createFolder(admin, { libraryId: await createLibrary(admin, 'Договоры'), name: 'Договоры 2026', allowedCardTypes: ['memo'] });
    await setFolderAccess(admin, contracts, [
      { principalId: userIds.tanya, level: 'full' },
      { principalId: userIds.oleg, level: 'read' },
    ]);
    const files: string[] = [];
    for (let n = 1; n <= 6; n += 1) {
      const uploaded = await uploadFile(
        tanya,
        server.url,
        { folderId: contracts, typeKey: 'memo', field: 'attachment' },
        { name: `Договор ${n}.pdf`, content: await pdfWithText(`Contract ${n}`) },
      );
      expect(uploaded.status, JSON.stringify(uploaded.body)).to.equal(201);
      const file = uploaded.body.file!;
      await tanya.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "memo", values: $v) { id } }', {
        f: contracts,
        v: { title: `Договор ${n}`, attachment: file.id },
      });
      files.push(file.url);
    }
    // Олег reads none of the cards through GraphQL: only their documents, as a reader without «Экспорт» sees them.
    const oleg = await signedIn(server, 'oleg', PASSWORD);
    for (const [n, url] of files.entries()) {
      const seen = await downloadFile(oleg, server.url, n % 2 === 0 ? `${url}/preview` : `${url}/pages/1`);
      expect(seen.status, url).to.equal(200);
    }
    let alarms: Audit['auditLog']['edges'] = [];
    await waitFor(async () => (alarms = await alarmsInAudit()).some((edge) => edge.node.actorLogin === 'oleg'), 'Олег’s alarm');
    expect(alarms.find((edge) => edge.node.actorLogin === 'oleg')!.node.after.cards).to.equal(6);
  });
});

/**
 * READ_ALARM_CARDS=5 is only the floor: with READ_ALARM_FACTOR=5, a user whose usual day (window of
 * READ_ALARM_MINUTES=1440) is 4 cards is alarmed at 20, one whose usual is 2 at 10.
 */
describe('the bulk-reading alarm measured against the user’s usual volume (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folderId: string;
  let userIds: Record<string, string>;
  const DAY_MS = 24 * 3600_000;

  // Only this block's readers: the alarm's counts are the process's, and a reader of the block above
  // (another test server in this process) may still be flushed into this one's log.
  const alarmsInAudit = async () =>
    (await admin.data<Audit>('{ auditLog(kind: "bulk-reading") { edges { node { actorLogin targetId summary after } } } }')).auditLog.edges.filter((edge) =>
      ['anna', 'boris'].includes(edge.node.actorLogin),
    );
  const today = () => Math.floor(Date.now() / DAY_MS);
  const peaksOf = async (userId: string) => ((await ReadBaseline.findById(userId).lean<{ peaks: Record<string, number> }>())?.peaks ?? {}) as Record<string, number>;
  /** Reads the folder's 3 cards `times` times as `client`. */
  const readFolder = async (client: ApiClient, times: number) => {
    for (let pass = 0; pass < times; pass += 1) await client.data(LIST, { f: folderId });
  };
  /** Waits until the user's count for today reached the database (at least `cards`). */
  const counted = (userId: string, cards: number) => waitFor(async () => ((await peaksOf(userId))[today()] ?? 0) >= cards, `${cards} cards counted`, 30_000);

  before(async () => {
    server = await startTestServer({ READ_ALARM_CARDS: '5', READ_ALARM_MINUTES: '1440', READ_ALARM_FACTOR: '5', READ_ALARM_DAYS: '14' });
    admin = await signedIn(server);
    ({ folderId, userIds } = await createCorrespondents(admin, PASSWORD, [
      { login: 'anna', fullName: 'Анна Усердная', level: 'full' },
      { login: 'boris', fullName: 'Борис Редкий', level: 'read' },
    ]));
    const anna = await signedIn(server, 'anna', PASSWORD);
    for (const name of ['ООО «Альфа»', 'ООО «Бета»', 'ООО «Гамма»']) {
      await anna.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: folderId, v: { name } });
    }
    // Their last 14 days: Анна read on ten of them, peaking at 3 to 9 cards (usual 4; the 100 of
    // three weeks ago is past the 14 days looked at), Борис on ten with 1 or 2 (usual 2).
    const day = today();
    const daily = (peaks: number[]) => Object.fromEntries(peaks.map((peak, n) => [day - 1 - n, peak]));
    await ReadBaseline.create({ _id: userIds.anna, peaks: { ...daily([9, 4, 3, 4, 4, 4, 5, 4, 3, 4]), [day - 21]: 100 } });
    await ReadBaseline.create({ _id: userIds.boris, peaks: daily([2, 1, 2, 2, 2, 2, 1, 2, 2, 2]) });
  });
  after(async () => {
    await server?.stop();
  });

  it('a heavy reader is not flagged at the floor; a light one reading 5× their usual is, once per window; each at their own threshold', async () => {
    const subscription = new SseSubscription<Alarm>(server.url, admin.cookieHeader(), 'subscription { readAlarms { login fullName cards threshold usual windowMinutes } }');
    const stream = {
      get received() {
        return subscription.received.filter((alarm) => ['anna', 'boris'].includes(alarm.readAlarms.login));
      },
      close: () => subscription.close(),
    };
    await subscription.ready;
    const anna = await signedIn(server, 'anna', PASSWORD);
    const boris = await signedIn(server, 'boris', PASSWORD);
    try {
      // Анна is sent 6 cards, over the floor of 5 but under her own 20: counted, no alarm.
      await readFolder(anna, 2);
      await counted(userIds.anna, 6);
      // Борис is sent 12 cards, six times his usual 2 and over his threshold of 10: alarmed.
      await readFolder(boris, 4);
      await waitFor(() => stream.received.length > 0, 'Борис’s alarm');
      expect(stream.received[0].readAlarms).to.deep.include({ login: 'boris', threshold: 10, usual: 2, windowMinutes: 1440 });
      expect(stream.received[0].readAlarms.cards).to.be.at.least(10);
      const [entry] = await alarmsInAudit();
      expect(entry.node.actorLogin).to.equal('boris');
      expect(entry.node.summary).to.match(/^Массовое чтение: Борис Редкий получил\(а\) \d+ карточек за 1440 мин \(обычно — 2, порог — 10\)$/);
      expect(entry.node.after).to.include({ threshold: 10, usual: 2, windowMinutes: 1440 });

      // Борис reads on within the window: no second alarm. Анна passes her own 20: hers comes.
      await readFolder(boris, 2);
      await counted(userIds.boris, 18);
      await readFolder(anna, 5);
      await waitFor(() => stream.received.length > 1, 'Анна’s alarm');
      expect(stream.received.map((alarm) => alarm.readAlarms.login)).to.deep.equal(['boris', 'anna']);
      expect(stream.received[1].readAlarms).to.deep.include({ threshold: 20, usual: 4 });
      expect((await alarmsInAudit()).map((edge) => edge.node.actorLogin)).to.deep.equal(['anna', 'boris']);
      // Days past the ones looked at leave the user's record.
      expect(Object.keys(await peaksOf(userIds.anna)).map(Number)).to.have.members([today(), ...Array.from({ length: 10 }, (_, n) => today() - 1 - n)]);
    } finally {
      stream.close();
    }
  });
});
