import { expect } from 'chai';
import { Types } from 'mongoose';
import { renderTitle, searchIndexOf } from '../../card-types';
import { builtInCardTypes } from '../../card-types/built-in';
import { Card } from '../../server/src/cards/model';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { databaseCommandsDuring } from '../support/commands';
import { createFolder, createLibrary } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const counterparty = builtInCardTypes.find((type) => type.key === 'counterparty')!;
const SEARCH = 'query($q: String!, $first: Int) { search(query: $q, first: $first) { exact card { id title } } }';

/** The prefix a word search's walk reads: the lower bound of its `$elemMatch` on `searchWords`. */
function walkedPrefix(command: Record<string, unknown>): string | undefined {
  const filter = command.filter as { searchWords?: { $elemMatch?: { $gte?: string } } } | undefined;
  return filter?.searchWords?.$elemMatch?.$gte;
}

/**
 * A search by name walks the cards of its rarest word. The words' counts were capped at 50, so
 * among words that all reach 50 the longest was walked: «ООО Вектор 474» walked the 405 cards with
 * «вектор» for the 5 having all three words, rather than the 125 beginning with «474».
 */
describe('search by words walks the rarest word (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    admin = await signedIn(server);
    const libraryId = await createLibrary(admin, 'Контрагенты');
    const folderId = await createFolder(admin, { libraryId, name: 'Все', allowedCardTypes: ['counterparty'] });
    const adminId = (await admin.data<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }')).viewer.user.id;
    const now = new Date();
    const names = [
      ...Array.from({ length: 400 }, (_, i) => `ООО «Вектор-${i}»`),
      ...Array.from({ length: 120 }, (_, i) => `ООО «Гранит-474${i}»`),
      ...Array.from({ length: 5 }, (_, i) => `ООО «Вектор-474-${i}»`),
    ];
    await Card.insertMany(
      names.map((name) => {
        const values = { name };
        const title = renderTitle(counterparty, values, 'ru');
        return {
          typeKey: 'counterparty',
          folderId: new Types.ObjectId(folderId),
          libraryId: new Types.ObjectId(libraryId),
          title,
          values,
          ...searchIndexOf(counterparty, title, values),
          createdBy: new Types.ObjectId(adminId),
          updatedBy: new Types.ObjectId(adminId),
          createdAt: now,
          updatedAt: now,
        };
      }),
    );
  });
  after(async () => {
    await server?.stop();
  });

  it('«ООО Вектор 474» walks the 125 cards beginning with «474», not the 405 with «вектор», and finds the 5 having all three words', async () => {
    const { result, commands } = await databaseCommandsDuring(() =>
      admin.data<{ search: { exact: boolean; card: { title: string } }[] }>(SEARCH, { q: 'ООО Вектор 474', first: 30 }),
    );
    expect(result.search.map((hit) => hit.card.title).sort()).to.deep.equal(Array.from({ length: 5 }, (_, i) => `ООО «Вектор-474-${i}»`));
    const walks = commands.filter((command) => command.name === 'find' && command.collection === 'cards' && walkedPrefix(command.command) !== undefined);
    expect(walks.map((walk) => walkedPrefix(walk.command))).to.deep.equal(['474']);
    // The walk's filter reads the rarest word's cards and no other.
    const explained = (await Card.find(walks[0]!.command.filter as Record<string, unknown>).explain('executionStats')) as unknown as {
      executionStats: { nReturned: number; totalDocsExamined: number };
    };
    expect(explained.executionStats.totalDocsExamined).to.equal(125);
    // Counted up to 50, then up to 200, where «474» stays below: two rounds of the three words.
    const counts = commands.filter((command) => command.name === 'aggregate' && command.collection === 'cards');
    expect(counts).to.have.length(6);
  });

  it('a word below the first cap is walked after one round of counts, whatever the order of the words', async () => {
    const { result, commands } = await databaseCommandsDuring(() => admin.data<{ search: { card: { title: string } }[] }>(SEARCH, { q: 'ООО 4741 Гранит', first: 100 }));
    // «Гранит-4741», «Гранит-47410» … «Гранит-47419» and «Гранит-474100» … «Гранит-474119»: 31 cards.
    const expected = Array.from({ length: 120 }, (_, i) => `474${i}`).filter((word) => word.startsWith('4741'));
    expect(expected).to.have.length(31);
    expect(result.search.map((hit) => hit.card.title).sort()).to.deep.equal(expected.map((word) => `ООО «Гранит-${word}»`).sort());
    const walks = commands.filter((command) => command.name === 'find' && command.collection === 'cards' && walkedPrefix(command.command) !== undefined);
    expect(walks.map((walk) => walkedPrefix(walk.command))).to.deep.equal(['4741']);
    expect(commands.filter((command) => command.name === 'aggregate' && command.collection === 'cards')).to.have.length(3);
  });
});
