import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { SseSubscription } from '../support/sse';
import { signedIn, startTestServer } from '../support/server';

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

  it('delivers a colleague’s change within a second, and nothing to a user without access', async () => {
    const admin = await signedIn(server);
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    const userIds: Record<string, string> = {};
    for (const login of ['writer', 'watcher', 'stranger']) {
      userIds[login] = (await admin.data<{ createUser: { id: string } }>('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
        input: { login, fullName: login, password: PASSWORD, departmentId },
      })).createUser.id;
    }
    const library = (await admin.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Живая") { id } }')).createLibrary.id;
    const folder = (await admin.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', { input: { libraryId: library, name: 'Общая' } })).createFolder.id;
    await admin.data('mutation($id: ID!, $e: [AccessEntryInput!]!) { setFolderAccess(id: $id, entries: $e) { id } }', {
      id: folder,
      e: [
        { principalType: 'user', principalId: userIds.writer, level: 'edit' },
        { principalType: 'user', principalId: userIds.watcher, level: 'read' },
      ],
    });
    const writer = await signedIn(server, 'writer', PASSWORD);
    const watcher = await signedIn(server, 'watcher', PASSWORD);
    const stranger = await signedIn(server, 'stranger', PASSWORD);

    const watcherEvents = new SseSubscription<{ cardEvents: { cardId: string; action: string; actorName: string } }>(server.url, watcher.cookieHeader(), 'subscription { cardEvents { cardId action actorName } }');
    const watcherCounts = new SseSubscription<{ unreadCounts: { folderId: string; count: number }[] }>(server.url, watcher.cookieHeader(), 'subscription { unreadCounts { folderId count } }');
    const strangerEvents = new SseSubscription<unknown>(server.url, stranger.cookieHeader(), 'subscription { cardEvents { cardId } }');
    subscriptions.push(watcherEvents, watcherCounts, strangerEvents);
    await Promise.all([watcherEvents.ready, watcherCounts.ready, strangerEvents.ready]);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const started = Date.now();
    const created = await writer.data<{ createCard: { id: string } }>('mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Живое»" }) { id } }', { f: folder });
    const [event] = await watcherEvents.waitFor(1, 1000);
    expect(Date.now() - started).to.be.below(1000);
    expect(event.cardEvents).to.deep.equal({ cardId: created.createCard.id, action: 'create', actorName: 'writer' });
    const [counts] = await watcherCounts.waitFor(1, 1000);
    expect(counts.unreadCounts).to.deep.equal([{ folderId: folder, count: 1 }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(strangerEvents.received).to.deep.equal([]);
  });
});
