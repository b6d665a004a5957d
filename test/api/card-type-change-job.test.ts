import { expect } from 'chai';
import { Types } from 'mongoose';
import { findCardType, saveCardType } from '../../server/src/card-types/registry';
import { Card } from '../../server/src/cards/model';
import { typeChangeJob, type TypeChangeParams } from '../../server/src/cards/type-change';
import { loadConfig } from '../../server/src/config';
import { HistoryEntry } from '../../server/src/history/model';
import { Job } from '../../server/src/jobs/model';
import { JobInterrupted } from '../../server/src/jobs/runner';
import { createLogger } from '../../server/src/logger';
import { User } from '../../server/src/people/models';
import type { RunningServer } from '../../server/src/server';
import { generateCounterparties } from '../../seeds/generate';
import type { ApiClient } from '../support/api-client';
import { addToSystemGroup, createDepartment, createUser, typeChangeApplied, versioned } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';
import { SseSubscription } from '../support/sse';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const CARDS = 300;
const UPDATE = 'mutation($d: CardTypeInput!) { updateCardType(definition: $d) { key changeJob { id state progress { done total } } } }';
const PREVIEW = 'query($d: CardTypeInput!) { cardTypeChangePreview(definition: $d) { safe fields { key safe updates missingCount } } }';
const HISTORY = 'query($id: ID!) { cardHistory(cardId: $id) { edges { node { action via actorName changes { key before after } } } } }';
const EDIT = 'mutation($id: ID!, $version: Int!, $v: JSON!) { updateCard(id: $id, version: $version, values: $v) { version values } }';

type JobEvent = { jobEvents: { id: string; state: string; progress: { done: number; total: number | null } } };
type HistoryNode = { action: string; via: string | null; actorName: string; changes: { key: string; before: unknown; after: unknown }[] };

const counterpartyChange = (fields: Record<string, unknown>[]) => ({
  key: 'counterparty',
  names: { ru: 'Контрагент', en: 'Counterparty' },
  titleTemplate: '{name}',
  historyEnabled: true,
  origin: 'code',
  fields,
});

describe('a card type change with many cards is applied by a background job, with progress', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let folderId: string;
  let ids: string[];

  const card = async (id: string) =>
    (await editor.data<{ card: { version: number; values: Record<string, unknown> } }>('query($id: ID!) { card(id: $id) { version values } }', { id })).card;
  const history = async (id: string) => (await admin.data<{ cardHistory: { edges: { node: HistoryNode }[] } }>(HISTORY, { id })).cardHistory.edges.map((edge) => edge.node);
  const edit = async (id: string, values: Record<string, unknown>) =>
    editor.data<{ updateCard: { values: Record<string, unknown> } }>(EDIT, { id, version: (await card(id)).version, v: values });
  /** A change adding required `field`, saved by `authorId`, whose job got through half of the cards before the database refused a batch: its id. */
  const failedHalfway = async (authorId: string, field: { key: string; kind: string; label: { ru: string; en: string }; required: boolean }, fill: string) => {
    const stored = (await findCardType('counterparty'))!;
    await saveCardType({ ...stored, fields: [...stored.fields, field] });
    const half = CARDS / 2;
    await Card.updateMany({ _id: { $in: ids.slice(0, half).map((id) => new Types.ObjectId(id)) } }, { $set: { [`values.${field.key}`]: fill } });
    const params: TypeChangeParams = { typeKey: 'counterparty', fields: [{ from: null, to: field, fill }], ip: '127.0.0.1' };
    const [job] = await Job.create([
      {
        type: 'card-type-change',
        ownerId: authorId,
        params,
        state: 'failed',
        error: 'MongoServerError: WriteConflict error: this operation conflicted with another operation',
        progress: { done: half, total: CARDS },
        checkpoint: { trash: false, after: ids[half - 1], cards: half, changed: half, kept: 0 },
        finishedAt: new Date(),
      },
    ]);
    return String(job._id);
  };

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const departmentId = await createDepartment(admin, 'Кассиопея');
    const editorId = await createUser(admin, { login: 'nvakulenko', fullName: 'Наталья Вакуленко', password: PASSWORD, departmentId });
    editor = await signedIn(server, 'nvakulenko', PASSWORD);
    folderId = await generateCounterparties({ count: CARDS, folderName: 'Большая папка', grantUserIds: [editorId] });
    ids = (
      await Card.find({ folderId: new Types.ObjectId(folderId) }, { _id: 1 })
        .sort({ _id: 1 })
        .lean()
    ).map((doc) => String(doc._id));
    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { historyEnabled } }');
  });
  after(async () => {
    await server?.stop();
  });

  it('the dry run counts the cards; the save answers at once with its job, whose progress streams to the administrator until every card holds the value', async () => {
    const change = counterpartyChange([{ key: 'segment', kind: 'string', label: { ru: 'Сегмент' }, required: true, fillMissing: 'малый бизнес' }]);
    const dryRun = (await admin.data<{ cardTypeChangePreview: { safe: boolean; fields: { key: string; updates: number; missingCount: number }[] } }>(PREVIEW, { d: change }))
      .cardTypeChangePreview;
    expect(dryRun.safe).to.equal(true);
    expect(dryRun.fields).to.deep.include({ key: 'segment', safe: true, updates: CARDS, missingCount: 0 });

    const events = new SseSubscription<JobEvent>(server.url, admin.cookieHeader(), 'subscription { jobEvents { id state progress { done total } } }');
    await events.ready;
    const saved = (await admin.data<{ updateCardType: { changeJob: { id: string; state: string } | null } }>(UPDATE, { d: await versioned(admin, change) })).updateCardType;
    expect(saved.changeJob).to.not.equal(null);
    const jobId = saved.changeJob!.id;
    await waitFor(() => events.received.some((event) => event.jobEvents.id === jobId && event.jobEvents.state === 'succeeded'), 'the job to succeed', 120_000);
    events.close();
    const seen = events.received.filter((event) => event.jobEvents.id === jobId).map((event) => event.jobEvents);
    // A batch at a time: the administrator sees part of the cards done before all of them.
    expect(seen.some((event) => event.state === 'running' && event.progress.total === CARDS && event.progress.done > 0 && event.progress.done < CARDS)).to.equal(true);
    expect(seen.at(-1)?.progress).to.deep.equal({ done: CARDS, total: CARDS });
    expect((await typeChangeApplied(admin, { id: jobId }))?.result).to.deep.equal({ cards: CARDS, changed: CARDS, kept: 0 });

    expect(await Card.countDocuments({ typeKey: 'counterparty', 'values.segment': 'малый бизнес' })).to.equal(CARDS);
    expect((await card(ids[CARDS - 1])).values).to.include({ segment: 'малый бизнес' });
    // Each card's history says the type change filled it in, in the administrator's name.
    const [entry] = await history(ids[0]);
    expect(entry).to.deep.include({ action: 'update', via: 'type-change' });
    expect(entry.changes).to.deep.equal([{ key: 'segment', before: null, after: 'малый бизнес' }]);
    // A change touching no card completes at once, without a job.
    const relabelled = (
      await admin.data<{ updateCardType: { changeJob: unknown } }>(UPDATE, {
        d: await versioned(admin, counterpartyChange([{ key: 'segment', kind: 'string', label: { ru: 'Сегмент рынка' }, required: true }])),
      })
    ).updateCardType;
    expect(relabelled.changeJob).to.equal(null);
  });

  it('an interrupted job resumes after its last batch; cards edited meanwhile keep their edits, and no card is changed twice', async () => {
    const region = { key: 'region', kind: 'string', label: { ru: 'Регион', en: 'Region' }, required: true };
    const stored = (await findCardType('counterparty'))!;
    await saveCardType({ ...stored, fields: [...stored.fields, region] });
    const params: TypeChangeParams = { typeKey: 'counterparty', fields: [{ from: null, to: region, fill: 'Москва' }], ip: '127.0.0.1' };
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const logger = createLogger(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }));
    // The job as stored while another instance runs it: what an edit made meanwhile looks for.
    const [job] = await Job.create([
      { type: 'card-type-change', ownerId: adminId, params, state: 'running', lease: { holder: 'another instance', until: new Date(Date.now() + 3_600_000) } },
    ]);
    const jobId = String(job._id);
    const run = (resumeFrom: unknown, stopAtFirstCheckpoint: boolean) => {
      const controller = new AbortController();
      let saved: unknown = null;
      const running = typeChangeJob.run({
        jobId,
        ownerId: adminId,
        params,
        resumeFrom: resumeFrom as never,
        signal: controller.signal,
        logger,
        progress: () => {},
        checkpoint: async (value) => {
          saved = value;
          if (stopAtFirstCheckpoint) controller.abort(new JobInterrupted('shutdown'));
        },
      });
      return running.then(
        (result) => ({ result, checkpoint: saved }),
        (error: unknown) => ({ error, checkpoint: saved }),
      );
    };
    const first = await run(null, true);
    expect(first).to.have.property('error').that.is.instanceOf(JobInterrupted);
    const done = await Card.countDocuments({ typeKey: 'counterparty', 'values.region': 'Москва' });
    expect(done).to.be.greaterThan(0).and.lessThan(CARDS);

    // Meanwhile Наталья edits a card the job has done, and two it has not reached: the required
    // «Регион» she never touched does not refuse her edit; the card gets the value the change fills in.
    await edit(ids[0], { phone: '+7 495 111-22-33' });
    expect((await edit(ids[CARDS - 1], { phone: '+7 495 444-55-66' })).updateCard.values).to.include({ phone: '+7 495 444 55 66', region: 'Москва' });
    await edit(ids[CARDS - 2], { region: 'Казань' });
    const resumed = await run(first.checkpoint, false);
    await Job.updateOne({ _id: job._id }, { $set: { state: 'succeeded', 'lease.holder': null } });
    expect(resumed).to.have.property('result').that.deep.includes({ cards: CARDS, kept: 0 });
    expect(await Card.countDocuments({ typeKey: 'counterparty', 'values.region': { $exists: true } })).to.equal(CARDS);
    expect((await card(ids[0])).values).to.include({ phone: '+7 495 111 22 33', region: 'Москва' });
    expect((await card(ids[CARDS - 1])).values).to.include({ phone: '+7 495 444 55 66', region: 'Москва' });
    expect((await card(ids[CARDS - 2])).values).to.include({ region: 'Казань' });
    // One entry per card for the region: the resumed job did not write the cards of the first batch again.
    const regionEntries = async (id: string) => (await history(id)).filter((node) => node.via === 'type-change' && node.changes.some((change) => change.key === 'region'));
    expect(await regionEntries(ids[0])).to.have.length(1);
    expect(await regionEntries(ids[CARDS - 3])).to.have.length(1);
    expect(await regionEntries(ids[CARDS - 2])).to.have.length(0);
    expect(await regionEntries(ids[CARDS - 1])).to.have.length(0);
  });

  it('a type change cannot be cancelled: the job says why beforehand, cancelJob is refused with that reason, and the change still reaches every card', async () => {
    const change = counterpartyChange([{ key: 'branch', kind: 'string', label: { ru: 'Филиал' }, required: true, fillMissing: 'Центральный' }]);
    const jobId = (await admin.data<{ updateCardType: { changeJob: { id: string } } }>(UPDATE, { d: await versioned(admin, change) })).updateCardType.changeJob.id;
    const shown = (await admin.data<{ job: { cancellable: boolean; cancelRefusal: string } }>('query($id: ID!) { job(id: $id) { cancellable cancelRefusal } }', { id: jobId })).job;
    expect(shown.cancellable).to.equal(false);
    expect(shown.cancelRefusal).to.match(/^Изменение типа нельзя отменить: определение типа уже сохранено/);
    const refused = await admin.request('mutation($id: ID!) { cancelJob(id: $id) { id state } }', { id: jobId });
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    expect(refused.errors?.[0].message).to.equal(shown.cancelRefusal);
    const done = await typeChangeApplied(admin, { id: jobId });
    expect(done?.state).to.equal('succeeded');
    expect(await Card.countDocuments({ typeKey: 'counterparty', 'values.branch': 'Центральный' })).to.equal(CARDS);
  });

  it('a failed type change says in words what happened and what to do (ru, en), keeps the technical error for administrators, and continues from where it stopped', async () => {
    const zone = { key: 'zone', kind: 'string', label: { ru: 'Зона', en: 'Zone' }, required: true };
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const jobId = await failedHalfway(adminId, zone, 'Север');
    const JOB = 'query($id: ID!) { job(id: $id) { state error errorMessage retryable } }';
    type Failed = { job: { state: string; error: string | null; errorMessage: string | null; retryable: boolean } };
    const inRussian = (await admin.data<Failed>(JOB, { id: jobId })).job;
    expect(inRussian.errorMessage).to.equal(
      `Изменение типа применено не ко всем карточкам: 150 из 300. Тип сохранён; изменённые карточки сохранены, остальные пока в прежнем виде и доступны. Нажмите «Продолжить с места остановки»: уже изменённые карточки повторно не затрагиваются. Если сбой повторится, сообщите администратору сервера номер задания ${jobId}: подробности записаны в журнал сервера.`,
    );
    expect(inRussian.error).to.match(/^MongoServerError: WriteConflict/);
    expect(inRussian.retryable).to.equal(true);
    // The designer finds the failed change when it opens the type.
    const types = (await admin.data<{ cardTypes: { key: string; changeJob: { id: string } | null }[] }>('{ cardTypes { key changeJob { id } } }')).cardTypes;
    expect(types.find((type) => type.key === 'counterparty')?.changeJob?.id).to.equal(jobId);
    await admin.data('mutation { setMyLocale(locale: en) { id } }');
    try {
      expect((await admin.data<Failed>(JOB, { id: jobId })).job.errorMessage).to.match(
        /^The type change reached only some of the cards: 150 of 300\. .* Press “Continue from where it stopped”/,
      );
    } finally {
      await admin.data('mutation { setMyLocale(locale: ru) { id } }');
    }

    const retried = (await admin.data<{ retryJob: { state: string } }>('mutation($id: ID!) { retryJob(id: $id) { state } }', { id: jobId })).retryJob;
    expect(retried.state).to.be.oneOf(['queued', 'running']);
    const done = await typeChangeApplied(admin, { id: jobId });
    expect(done?.state).to.equal('succeeded');
    expect(await Card.countDocuments({ typeKey: 'counterparty', 'values.zone': 'Север' })).to.equal(CARDS);
    // Continued, not started over: the cards done before the failure got no second entry.
    const zoneEntries = async (id: string) => (await history(id)).filter((node) => node.via === 'type-change' && node.changes.some((change) => change.key === 'zone'));
    expect(await zoneEntries(ids[0])).to.have.length(0);
    expect(await zoneEntries(ids[CARDS - 1])).to.have.length(1);
    // A job that succeeded cannot be retried; the type no longer shows a change under way.
    const again = await admin.request('mutation($id: ID!) { retryJob(id: $id) { id } }', { id: jobId });
    expect(again.errors?.[0].extensions?.code).to.equal('CONFLICT');
    const after = (await admin.data<{ cardTypes: { key: string; changeJob: { id: string } | null }[] }>('{ cardTypes { key changeJob { id } } }')).cardTypes;
    expect(after.find((type) => type.key === 'counterparty')?.changeJob).to.equal(null);
  });

  it('a failed change whose author was deactivated, or deleted, since is continued by another administrator, and the history of the cards written then names them', async () => {
    const departmentId = await createDepartment(admin, 'Администрация');
    const viewer = (await admin.data<{ viewer: { user: { id: string; fullName: string } } }>('{ viewer { user { id fullName } } }')).viewer.user;
    const continued = async (jobId: string, key: string, fill: string) => {
      await admin.data('mutation($id: ID!) { retryJob(id: $id) { state } }', { id: jobId });
      expect((await typeChangeApplied(admin, { id: jobId }))?.state).to.equal('succeeded');
      expect(await Card.countDocuments({ typeKey: 'counterparty', [`values.${key}`]: fill })).to.equal(CARDS);
      const [entry] = await history(ids[CARDS - 1]);
      expect(entry).to.deep.include({ action: 'update', via: 'type-change', actorName: viewer.fullName });
      expect(entry.changes).to.deep.equal([{ key, before: null, after: fill }]);
    };

    // Ольга saved the change, then left: her account is deactivated.
    const olga = await createUser(admin, { login: 'opetrova', fullName: 'Ольга Петрова', password: PASSWORD, departmentId });
    await addToSystemGroup(admin, 'administrators', [olga]);
    const district = { key: 'district', kind: 'string', label: { ru: 'Округ', en: 'District' }, required: true };
    const first = await failedHalfway(olga, district, 'Центральный');
    await admin.data('mutation($id: ID!) { setUserActive(id: $id, active: false) { active } }', { id: olga });
    await continued(first, 'district', 'Центральный');

    // Игорь saved the next one, and his account was removed altogether.
    const igor = await createUser(admin, { login: 'isidorov', fullName: 'Игорь Сидоров', password: PASSWORD, departmentId });
    await addToSystemGroup(admin, 'administrators', [igor]);
    const channel = { key: 'channel', kind: 'string', label: { ru: 'Канал', en: 'Channel' }, required: true };
    const second = await failedHalfway(igor, channel, 'выставка');
    await User.deleteOne({ _id: new Types.ObjectId(igor) });
    await continued(second, 'channel', 'выставка');
  });

  it('a card saved while the job has read it but not written it yet keeps the edit: the job reads it again instead of writing over it', async () => {
    const size = { key: 'size', kind: 'string', label: { ru: 'Размер', en: 'Size' }, required: true };
    const stored = (await findCardType('counterparty'))!;
    await saveCardType({ ...stored, fields: [...stored.fields, size] });
    const params: TypeChangeParams = { typeKey: 'counterparty', fields: [{ from: null, to: size, fill: 'средний' }], ip: '127.0.0.1' };
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const [job] = await Job.create([
      { type: 'card-type-change', ownerId: adminId, params, state: 'running', lease: { holder: 'another instance', until: new Date(Date.now() + 3_600_000) } },
    ]);
    const edited = ids[CARDS - 10];
    const versionBefore = (await card(edited)).version;
    let edits = 0;
    const result = await typeChangeJob.run({
      jobId: String(job._id),
      ownerId: adminId,
      params,
      resumeFrom: null,
      signal: new AbortController().signal,
      logger: createLogger(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' })),
      progress: () => {},
      // After the first batch is written, the second one has been read: Наталья saves one of its cards now.
      checkpoint: async () => {
        if (edits++ === 0) await edit(edited, { phone: '+7 495 222-33-44' });
      },
    });
    await Job.updateOne({ _id: job._id }, { $set: { state: 'succeeded', 'lease.holder': null } });
    expect(result).to.deep.include({ cards: CARDS, kept: 0 });
    const after = await card(edited);
    expect(after.values).to.include({ phone: '+7 495 222 33 44', size: 'средний' });
    expect(after.version).to.equal(versionBefore + 1);
    const sizeEntries = (await history(edited)).filter((node) => node.changes.some((change) => change.key === 'size'));
    expect(sizeEntries).to.have.length(1);
    expect(sizeEntries[0]).to.deep.include({ via: null, actorName: 'Наталья Вакуленко' });
    expect(await Card.countDocuments({ typeKey: 'counterparty', 'values.size': 'средний' })).to.equal(CARDS);
  });

  it('the job writes each card as a card write does: one version more, one history entry in the administrator’s name, and nothing turns unread for a colleague who had read the folder', async () => {
    await editor.data('mutation($f: ID!) { markFolderRead(folderId: $f) }', { f: folderId });
    const unreadInFolder = async () =>
      (await editor.data<{ unreadCounts: { folderId: string; count: number }[] }>('{ unreadCounts { folderId count } }')).unreadCounts.find((entry) => entry.folderId === folderId)
        ?.count ?? 0;
    expect(await unreadInFolder()).to.equal(0);
    const inFolder = { folderId: new Types.ObjectId(folderId) };
    const versions = async () => new Map((await Card.find(inFolder, { version: 1 }).lean()).map((doc) => [String(doc._id), doc.version]));
    const before = await versions();
    const readBefore = await card(ids[1]);

    const change = counterpartyChange([{ key: 'industry', kind: 'string', label: { ru: 'Отрасль' }, required: true, fillMissing: 'торговля' }]);
    const jobId = (await admin.data<{ updateCardType: { changeJob: { id: string } } }>(UPDATE, { d: await versioned(admin, change) })).updateCardType.changeJob.id;
    expect((await typeChangeApplied(admin, { id: jobId }))?.result).to.deep.equal({ cards: CARDS, changed: CARDS, kept: 0 });

    expect(await Card.countDocuments({ ...inFolder, 'values.industry': 'торговля' })).to.equal(CARDS);
    expect(Object.fromEntries(await versions())).to.deep.equal(Object.fromEntries([...before].map(([id, version]) => [id, version + 1])));
    expect(await HistoryEntry.countDocuments({ via: 'type-change', viaId: jobId })).to.equal(CARDS);
    const adminName = (await admin.data<{ viewer: { user: { fullName: string } } }>('{ viewer { user { fullName } } }')).viewer.user.fullName;
    for (const id of [ids[0], ids[CARDS / 2], ids[CARDS - 1]]) {
      const [entry] = await history(id);
      expect(entry).to.deep.equal({ action: 'update', via: 'type-change', actorName: adminName, changes: [{ key: 'industry', before: null, after: 'торговля' }] });
    }
    // The cards' change time stays: nothing is new to Наталья, and the card she opened before reads as read.
    expect(await unreadInFolder()).to.equal(0);
    expect((await editor.data<{ card: { unread: unknown } }>('query($id: ID!) { card(id: $id) { unread { __typename } } }', { id: ids[1] })).card.unread).to.equal(null);
    // Her form, opened before the change, saves over a version that is no longer the card's: refused, not overwritten.
    const stale = await editor.request(EDIT, { id: ids[1], version: readBefore.version, v: { phone: '+7 495 777-88-99' } });
    expect(stale.errors?.[0].extensions?.code).to.equal('CONFLICT');
  });
});
