import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createFolder, createLibrary, createUser, setFolderAccess } from '../support/fixtures';
import { SseSubscription } from '../support/sse';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const VIEWER = '{ viewer { user { login } } }';
// A folder page reads the database, so requests overlap in flight as a browser's do.
const PAGE = 'query($folderId: ID!) { cards(folderId: $folderId, first: 50) { totalCount } }';

describe('requests one user has in flight (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let flooder: ApiClient;
  let colleague: ApiClient;
  let folderId: string;
  const subscriptions: SseSubscription<unknown>[] = [];

  before(async () => {
    // One request at a time per user, eight more waiting: a flood of a few dozen passes that at once.
    server = await startTestServer({ USER_REQUESTS_AT_ONCE: '1' });
    const admin = await signedIn(server);
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    const userIds: string[] = [];
    for (const login of ['flooder', 'colleague']) userIds.push(await createUser(admin, { login, fullName: login, password: PASSWORD, departmentId }));
    folderId = await createFolder(admin, { libraryId: await createLibrary(admin, 'Клиенты'), name: 'Клиенты' });
    await setFolderAccess(
      admin,
      folderId,
      userIds.map((principalId) => ({ principalId, level: 'read' as const })),
    );
    flooder = await signedIn(server, 'flooder', PASSWORD);
    colleague = await signedIn(server, 'colleague', PASSWORD);
  });
  after(async () => {
    for (const subscription of subscriptions) subscription.close();
    await server?.stop();
  });

  it('refuses what passes one user’s line at once with a message, while a colleague is served', async () => {
    const flood = Array.from({ length: 80 }, () => flooder.request<{ cards: { totalCount: number } }>(PAGE, { folderId }));
    const colleagues = await colleague.request<{ cards: { totalCount: number } }>(PAGE, { folderId });
    const answers = await Promise.all(flood);

    expect(colleagues.data?.cards.totalCount).to.equal(0);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused.length, 'refused at once').to.be.above(0);
    expect(refused[0].errors?.[0].extensions?.code).to.equal('TOO_MANY_REQUESTS');
    expect(refused[0].errors?.[0].message).to.match(/^Слишком много одновременных запросов от вас \(больше 9\)/);
    const served = answers.filter((answer) => answer.status !== 429);
    expect(served.length, 'the one running and the eight waiting are served').to.be.at.least(9);
    for (const answer of served) expect(answer.data?.cards.totalCount).to.equal(0);
    // The line empties once the flood is answered.
    expect((await flooder.data<{ viewer: { user: { login: string } } }>(VIEWER)).viewer.user.login).to.equal('flooder');
  });

  it('open live streams, which last as long as the page, do not hold the user’s line', async () => {
    for (let i = 0; i < 3; i++) {
      const stream = new SseSubscription<unknown>(server.url, colleague.cookieHeader(), 'subscription { unreadCounts { folderId count } }');
      subscriptions.push(stream);
      await stream.ready;
    }
    expect((await colleague.data<{ viewer: { user: { login: string } } }>(VIEWER)).viewer.user.login).to.equal('colleague');
  });
});
