import { expect } from 'chai';
import mongoose, { Types } from 'mongoose';
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

type Hit = { search: { exact: boolean; card: { title: string } }[] };

/** The prefix a word walk reads: the lower bound of its `$elemMatch` on `searchWords`. */
function walkedPrefix(command: Record<string, unknown>): string | undefined {
  const filter = command.filter as { searchWords?: { $elemMatch?: { $gte?: string } } } | undefined;
  return filter?.searchWords?.$elemMatch?.$gte;
}

/** What `work` made the server's connection do for a word search: the words walked, the cards the walks read, the counts sent. */
async function searchWork<T>(work: () => Promise<T>): Promise<{ result: T; walked: string[]; cardsRead: number; counts: number }> {
  const client = mongoose.connection.getClient();
  const walks = new Set<number>();
  let cardsRead = 0;
  const started = (event: { commandName: string; command: Record<string, unknown>; requestId: number }) => {
    if (event.commandName === 'find' && walkedPrefix(event.command) !== undefined) walks.add(event.requestId);
    if (event.commandName === 'getMore' && event.command.collection === 'cards') walks.add(event.requestId);
  };
  const succeeded = (event: { requestId: number; reply: unknown }) => {
    if (!walks.has(event.requestId)) return;
    const cursor = (event.reply as { cursor?: { firstBatch?: unknown[]; nextBatch?: unknown[] } }).cursor;
    cardsRead += (cursor?.firstBatch ?? cursor?.nextBatch ?? []).length;
  };
  client.on('commandStarted', started);
  client.on('commandSucceeded', succeeded);
  try {
    const { result, commands } = await databaseCommandsDuring(work);
    const walked = commands.filter((command) => command.name === 'find' && walkedPrefix(command.command) !== undefined).map((command) => walkedPrefix(command.command)!);
    const counts = commands.filter((command) => command.name === 'aggregate' && command.collection === 'cards').length;
    return { result, walked, cardsRead, counts };
  } finally {
    client.off('commandStarted', started);
    client.off('commandSucceeded', succeeded);
  }
}

/**
 * A search by name reads what its rarest word costs. The words' counts were capped at 50, so
 * among words that all reach 50 the longest was walked: «ООО Вектор 474» read the 2,005 cards
 * with «вектор» for the 6 having all three words, rather than the 126 beginning with «474». The
 * words are now walked together, a card of each in turn, until the rarest one's range ends or
 * enough cards have every word.
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
      ...Array.from({ length: 2000 }, (_, i) => `ООО «Вектор-${i}»`),
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

  it('«ООО Вектор 474» reads about the 126 cards beginning with «474» once per word, not the 2,005 with «вектор», and finds the 6 having all three words', async () => {
    const { result, walked, cardsRead, counts } = await searchWork(() => admin.data<Hit>(SEARCH, { q: 'ООО Вектор 474', first: 30 }));
    expect(result.search.map((hit) => hit.card.title).sort()).to.deep.equal(['ООО «Вектор-474»', ...Array.from({ length: 5 }, (_, i) => `ООО «Вектор-474-${i}»`)].sort());
    expect(walked.sort()).to.deep.equal(['474', 'вектор', 'ооо']);
    // Three walks of at most the rarest word's 126 cards and one batch of 50 beyond; no count first.
    expect(cardsRead).to.be.at.most(3 * (126 + 50));
    expect(counts).to.equal(0);
  });

  it('a word few cards have ends the walk early, whatever the order of the words', async () => {
    const { result, walked, cardsRead } = await searchWork(() => admin.data<Hit>(SEARCH, { q: 'ООО 4741 Гранит', first: 100 }));
    // «Гранит-4741», «Гранит-47410» … «Гранит-47419» and «Гранит-474100» … «Гранит-474119»: 31 cards.
    const expected = Array.from({ length: 120 }, (_, i) => `474${i}`).filter((word) => word.startsWith('4741'));
    expect(expected).to.have.length(31);
    expect(result.search.map((hit) => hit.card.title).sort()).to.deep.equal(expected.map((word) => `ООО «Гранит-${word}»`).sort());
    expect(walked.sort()).to.deep.equal(['4741', 'гранит', 'ооо']);
    expect(cardsRead).to.be.at.most(3 * 100);
  });

  it('common words that many cards share together stop the walk once the page is full', async () => {
    const { result, cardsRead } = await searchWork(() => admin.data<Hit>(SEARCH, { q: 'ООО Вектор', first: 30 }));
    expect(result.search).to.have.length(30);
    expect(result.search.every((hit) => hit.card.title.startsWith('ООО «Вектор-'))).to.equal(true);
    expect(cardsRead).to.be.at.most(2 * 50);
  });

  it('a word no card has answers nothing', async () => {
    expect((await admin.data<Hit>(SEARCH, { q: 'ООО Вектор квокка', first: 30 })).search).to.deep.equal([]);
  });
});
