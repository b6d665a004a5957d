import { expect } from 'chai';
import { Types } from 'mongoose';
import { filesModule } from '../../server/src/files/graphql';
import type { GraphQLContext } from '../../server/src/graphql/context';
import type { RunningServer } from '../../server/src/server';
import { startTestServer } from '../support/server';

type FoundInFiles = (hit: { card: unknown; exact: boolean; query: string }, args: unknown, context: GraphQLContext) => Promise<unknown[]>;

/**
 * A search hit says which of its card's files hold the query's words the card's own fields lack.
 * A card without shown files has none to name: its own words are not worked out again for it
 * (its phone numbers parsed, its text normalised) — 30 such cards a search, on every search.
 */
describe('the files a search hit was found in (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('names no file of a card without shown files, reading none of its other values', async () => {
    const read: string[] = [];
    const values = new Proxy<Record<string, unknown>>(
      { name: 'ООО «Вектор»', phone: '+7 495 123-45-67', email: 'office@vektor.ru' },
      {
        get(target, key, receiver) {
          if (typeof key === 'string') read.push(key);
          return Reflect.get(target, key, receiver) as unknown;
        },
      },
    );
    const foundInFiles = (filesModule.resolvers.SearchHit as { foundInFiles: FoundInFiles }).foundInFiles;
    const card = { _id: new Types.ObjectId(), typeKey: 'counterparty', title: 'ООО «Вектор»', values };
    expect(await foundInFiles({ card, exact: false, query: 'вектор 495' }, {}, {} as GraphQLContext)).to.deep.equal([]);
    expect(read.filter((key) => ['name', 'phone', 'email'].includes(key))).to.deep.equal([]);
  });
});
