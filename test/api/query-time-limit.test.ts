import { expect } from 'chai';
import mongoose, { Types } from 'mongoose';
import { Card } from '../../server/src/cards/model';
import { limitRequestQueries, limitedLikeItsRequest } from '../../server/src/graphql/query-time-limit';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createFolder, createLibrary } from '../support/fixtures';
import { storeCounterparties } from '../support/search-work';
import { signedIn, startTestServer } from '../support/server';

/** A request's queries stop at QUERY_TIME_LIMIT_MS (here a tenth of a second), so none holds the database without end. */
describe('a request’s database queries have a time limit (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folderId = '';
  const PAGE = 'query($f: ID!, $filters: [CardFilterInput!]) { cards(folderId: $f, first: 1, filters: $filters) { totalCount edges { node { title } } } }';

  before(async () => {
    server = await startTestServer({ QUERY_TIME_LIMIT_MS: '100' });
    admin = await signedIn(server);
    const libraryId = await createLibrary(admin, 'Долгие запросы');
    folderId = await createFolder(admin, { libraryId, name: 'Большая', allowedCardTypes: ['counterparty'] });
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    // Stored outside any request: loading is not held to the limit.
    for (let batch = 0; batch < 5; batch += 1) {
      await storeCounterparties(
        { folderId, libraryId },
        Array.from({ length: 10_000 }, (_, index) => `ООО «Компания ${batch * 10_000 + index}»`),
        adminId,
      );
    }
  });
  after(async () => {
    await server?.stop();
  });

  it('stops a folder list whose filter reads all 50,000 cards with «Запрос выполнялся слишком долго…», and answers the same page without it', async () => {
    const stopped = await admin.request(PAGE, { f: folderId, filters: [{ field: 'name', op: 'contains', value: 'zqzq' }] });
    expect(stopped.data ?? null).to.equal(null);
    expect(stopped.errors?.[0].extensions?.code).to.equal('TIMEOUT');
    expect(stopped.errors?.[0].message).to.equal('Запрос выполнялся слишком долго (больше 0,1 с) и остановлен: сузьте его — фильтром, поиском, меньшим числом строк — и повторите');
    const page = await admin.request<{ cards: { totalCount: number; edges: { node: { title: string } }[] } }>(PAGE, { f: folderId, filters: [] });
    expect(page.errors).to.equal(undefined);
    expect(page.data?.cards.totalCount).to.equal(50_000);
    expect(page.data?.cards.edges).to.have.length(1);
  });

  it('gives a cursor read on a request’s behalf the request’s limit (permittedCards reads so), and none to one read outside a request (jobs)', async () => {
    const readNothingOfAll = () => limitedLikeItsRequest(Card.find({ folderId: new Types.ObjectId(folderId), 'values.name': /zqzq/ }).lean()).cursor();
    const readAll = async () => {
      const cards: unknown[] = [];
      for await (const card of readNothingOfAll()) cards.push(card);
      return cards;
    };
    const inRequest = await limitRequestQueries(100)({} as never, readAll).then(
      () => null,
      (error: unknown) => error,
    );
    expect(inRequest).to.be.instanceOf(mongoose.mongo.MongoServerError);
    expect((inRequest as { code: number }).code).to.equal(50);
    expect(await readAll()).to.deep.equal([]);
  });

  it('answers a REST route whose query ran out — an export counting its rows — with the same message and code TIMEOUT, not a failure of the server', async () => {
    const filters = encodeURIComponent(JSON.stringify([{ field: 'name', op: 'contains', value: 'zqzq' }]));
    const response = await fetch(`${server.url}/transfer/export?folderId=${folderId}&format=csv&filters=${filters}&progressId=slow-export`, {
      headers: { cookie: admin.cookieHeader() },
    });
    expect(response.status).to.equal(503);
    const body = (await response.json()) as { code: string; error: string; errors: { message: string; extensions: { code: string } }[] };
    expect(body.code).to.equal('TIMEOUT');
    expect(body.error).to.equal('Запрос выполнялся слишком долго (больше 0,1 с) и остановлен: сузьте его — фильтром, поиском, меньшим числом строк — и повторите');
    expect(body.errors[0]).to.deep.equal({ message: body.error, extensions: { code: 'TIMEOUT' } });
  });
});
