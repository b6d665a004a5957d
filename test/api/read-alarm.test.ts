import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';
import { SseSubscription } from '../support/sse';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const LIST = 'query($f: ID!) { cards(folderId: $f, first: 50) { edges { node { id values } } } }';

type Alarm = { readAlarms: { login: string; fullName: string; cards: number; threshold: number; windowMinutes: number } };
type Audit = { auditLog: { edges: { node: { actorLogin: string; targetId: string; summary: string; after: { cards: number; threshold: number; windowMinutes: number } } }[] } };

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
      expect(stream.received[0].readAlarms.cards).to.be.at.least(5);

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
});
