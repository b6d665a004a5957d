import { expect } from 'chai';
import type { Aggregate, PipelineStage } from 'mongoose';
import { setTimeout as sleep } from 'node:timers/promises';
import { Card } from '../../server/src/cards/model';
import type { RunningServer } from '../../server/src/server';
import { StoredCounts } from '../../server/src/unread/model';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents } from '../support/fixtures';
import { uniqueDbName } from '../support/mongo';
import { signedIn, startTestServer } from '../support/server';
import { SseSubscription } from '../support/sse';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const COUNTS = '{ unreadCounts { folderId count } }';
type Counts = { folderId: string; count: number }[];
const asMap = (counts: Counts) => Object.fromEntries(counts.map((c) => [c.folderId, c.count]));

/** Holds the cards' aggregates that count folders' ranges (not receipts' points) while `held` is set, as a cold count is slow. */
let held: Promise<void> | null = null;
const countsFolders = (pipeline: PipelineStage[]): boolean => {
  const branches = (pipeline[0] as { $match?: { $or?: Record<string, unknown>[] } }).$match?.$or;
  return branches !== undefined && branches.every((branch) => !('_id' in branch));
};
(Card as unknown as { hooks: { pre(name: string, fn: (this: Aggregate<unknown>) => Promise<void>): void } }).hooks.pre('aggregate', async function () {
  if (held && countsFolders(this.pipeline())) await held;
});

/**
 * After a restart nothing of a user's counts is kept in the instance, and counting all their folders
 * from cold index pages took seconds at a million cards: the first question is answered from the
 * counts the last count of all folders stored, the count runs in the background, and what it finds
 * reaches the next questions and the user's live streams.
 */
describe('the first unread counts after a restart (API)', function () {
  this.timeout(120_000);
  const dbName = uniqueDbName('kartoteka-restart');
  let server: RunningServer | null = null;
  let subscription: SseSubscription<{ unreadCounts: Counts }> | null = null;

  afterEach(async () => {
    held = null;
    subscription?.close();
    await server?.stop();
  });

  it('answers from the stored counts at once, and the count made in the background follows on the next question and the stream', async () => {
    server = await startTestServer({}, { dbName });
    const admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'writer', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'reader', fullName: 'Наталья Вакуленко', level: 'read' },
    ]);
    const folderId = scenario.folderId;
    const readerId = scenario.userIds.reader!;
    const create = (client: ApiClient, name: string) =>
      client.data('mutation($f: ID!, $n: String!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: $n }) { id } }', { f: folderId, n: name });
    let writer = await signedIn(server, 'writer', PASSWORD);
    let reader = await signedIn(server, 'reader', PASSWORD);
    await create(writer, 'ООО «Первое»');
    await create(writer, 'ООО «Второе»');
    expect(asMap((await reader.data<{ unreadCounts: Counts }>(COUNTS)).unreadCounts)).to.deep.equal({ [folderId]: 2 });
    await waitFor(async () => (await StoredCounts.findById(readerId).lean())?.counts?.[folderId] === 2, 'the reader’s counts stored');
    await server.stop();

    server = await startTestServer({}, { dbName });
    writer = await signedIn(server, 'writer', PASSWORD);
    reader = await signedIn(server, 'reader', PASSWORD);
    // Stored after the last count: not in the stored counts.
    await create(writer, 'ООО «Третье»');
    let release!: () => void;
    held = new Promise<void>((resolve) => (release = resolve));
    try {
      const answer = await Promise.race([reader.data<{ unreadCounts: Counts }>(COUNTS), sleep(15_000).then(() => 'no answer while the count of all folders was held')]);
      expect(answer, 'the first question while the count is held').to.deep.equal({ unreadCounts: [{ folderId, count: 2 }] });
      subscription = new SseSubscription<{ unreadCounts: Counts }>(server.url, reader.cookieHeader(), 'subscription { unreadCounts { folderId count } }');
      await subscription.ready;
    } finally {
      release();
      held = null;
    }
    await waitFor(() => subscription!.received.some((payload) => asMap(payload.unreadCounts)[folderId] === 3), 'the stream to send the counted 3');
    expect(asMap((await reader.data<{ unreadCounts: Counts }>(COUNTS)).unreadCounts)).to.deep.equal({ [folderId]: 3 });
  });
});
