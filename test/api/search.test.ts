import { expect } from 'chai';
import mongoose, { Types } from 'mongoose';
import { Card } from '../../server/src/cards/model';
import { wordCandidates } from '../../server/src/cards/search';
import { searchWordsStep } from '../../server/src/migrations/search-words';
import { createLogger } from '../../server/src/logger';
import { loadConfig } from '../../server/src/config';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createFolder, createLibrary, createUser, setFolderAccess } from '../support/fixtures';
import { storeCounterparties } from '../support/search-work';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const SEARCH = 'query($q: String!, $first: Int) { search(query: $q, first: $first) { exact card { id title } } }';

describe('search by words (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  /** Reads one folder of three (searched folder by folder). */
  let narrow: ApiClient;
  /** Reads two folders of three (searched in the whole index, each card checked). */
  let broad: ApiClient;
  const folders: Record<string, { id: string; libraryId: string }> = {};
  let authorId: string;

  const titles = async (client: ApiClient, q: string, first?: number) =>
    (await client.data<{ search: { exact: boolean; card: { title: string } }[] }>(SEARCH, { q, first })).search.map((hit) => hit.card.title);

  /** Cards stored in bulk as the card service stores them (title, words), `count` at a time. */
  const store = (folder: { id: string; libraryId: string }, names: string[], extra: Record<string, unknown> = {}) =>
    storeCounterparties({ folderId: folder.id, libraryId: folder.libraryId }, names, authorId, extra);

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    const narrowId = await createUser(admin, { login: 'narrow', fullName: 'Узкий читатель', password: PASSWORD, departmentId });
    const broadId = await createUser(admin, { login: 'broad', fullName: 'Широкий читатель', password: PASSWORD, departmentId });
    authorId = broadId;
    const libraryId = await createLibrary(admin, 'Контрагенты');
    for (const name of ['Свои', 'Общие', 'Закрытые']) folders[name] = { id: await createFolder(admin, { libraryId, name, allowedCardTypes: ['counterparty'] }), libraryId };
    await setFolderAccess(admin, folders['Свои'].id, [
      { principalId: narrowId, level: 'read' },
      { principalId: broadId, level: 'read' },
    ]);
    await setFolderAccess(admin, folders['Общие'].id, [{ principalId: broadId, level: 'edit' }]);
    narrow = await signedIn(server, 'narrow', PASSWORD);
    broad = await signedIn(server, 'broad', PASSWORD);

    const create = (folderId: string, values: Record<string, unknown>) =>
      broad.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: folderId, v: values });
    await create(folders['Общие'].id, { name: 'ООО «Заводская звезда»', legalAddress: 'Москва, ул. Заводская, д. 5' });
    await create(folders['Общие'].id, { name: 'ООО «Ёлка»', legalAddress: 'Казань, ул. Заводская, д. 7' });
    await create(folders['Общие'].id, { name: 'АО «Прогресс»', notes: 'Поставщик: ООО «Север» рекомендовал' });
    await create(folders['Общие'].id, { name: 'ООО «Север»' });
    // Many cards sharing a word, in folders the narrow reader cannot read.
    await store(
      folders['Закрытые'],
      Array.from({ length: 300 }, (_, i) => `ООО «Гранит-${i}»`),
    );
    await store(
      folders['Общие'],
      Array.from({ length: 40 }, (_, i) => `ООО «Гранит-общий-${i}»`),
    );
    await store(folders['Свои'], ['ООО «Гранит-свой-1»', 'ООО «Гранит-свой-2»', 'ООО «Гранит-свой-3»']);
  });
  after(async () => {
    await server?.stop();
  });

  it('finds cards having every word, in any case, ё as е, with Russian endings of the query dropped', async () => {
    expect(await titles(broad, 'ЁЛКА')).to.deep.equal(['ООО «Ёлка»']);
    expect(await titles(broad, 'елк')).to.deep.equal(['ООО «Ёлка»']);
    // «ул. Заводской» finds the address «ул. Заводская»: both cards; with the city, only the one there.
    expect(await titles(broad, 'ул. Заводской')).to.have.members(['ООО «Заводская звезда»', 'ООО «Ёлка»']);
    expect(await titles(broad, 'Заводская Москва')).to.deep.equal(['ООО «Заводская звезда»']);
    expect(await titles(broad, 'Заводская Пермь')).to.deep.equal([]);
    expect(await titles(broad, 'квокка')).to.deep.equal([]);
  });

  it('puts cards with the words in their title before cards that only mention them', async () => {
    expect(await titles(broad, 'север')).to.deep.equal(['ООО «Север»', 'АО «Прогресс»']);
  });

  it('returns only cards the reader may read, however many others share the word, up to the number asked for', async () => {
    expect(await titles(narrow, 'гранит')).to.have.members(['ООО «Гранит-свой-1»', 'ООО «Гранит-свой-2»', 'ООО «Гранит-свой-3»']);
    const broadHits = await titles(broad, 'гранит', 100);
    expect(broadHits).to.have.length(43);
    expect(broadHits.every((title) => /Гранит-(общий|свой)/.test(title))).to.equal(true);
    expect(await titles(admin, 'гранит', 20)).to.have.length(20);
    // The rarest word leads: one card among hundreds sharing «гранит».
    expect(await titles(admin, 'ООО Гранит-217')).to.deep.equal(['ООО «Гранит-217»']);
    expect(await titles(narrow, 'ООО Гранит-217')).to.deep.equal([]);
  });

  it("reads only the cards having the searched word, not every card of the reader's folders", async () => {
    // More cards with the word than a planner's trial counts (101), among many more without it:
    // a plan by folder reads all 600, the word's plan the 150 that have it.
    const folder = {
      id: await createFolder(admin, { libraryId: folders['Свои'].libraryId, name: 'Много', allowedCardTypes: ['counterparty'] }),
      libraryId: folders['Свои'].libraryId,
    };
    await store(folder, [...Array.from({ length: 150 }, (_, i) => `ООО «Вектор-${i}»`), ...Array.from({ length: 450 }, (_, i) => `ООО «Прочее-${i}»`)]);
    const explained = (await Card.find(wordCandidates({ folderId: { $in: [new Types.ObjectId(folder.id)] } }, 'вектор')).explain('executionStats')) as unknown as {
      executionStats: { nReturned: number; totalDocsExamined: number };
    };
    expect(explained.executionStats.nReturned).to.equal(150);
    expect(explained.executionStats.totalDocsExamined).to.equal(150);
    // A trashed card is not found (the walk's filter leaves the trash flag to the walk).
    expect(await titles(admin, 'Вектор-149')).to.deep.equal(['ООО «Вектор-149»']);
    await Card.updateOne({ title: 'ООО «Вектор-149»' }, { $set: { inTrash: true } });
    expect(await titles(admin, 'Вектор-149')).to.deep.equal([]);
  });

  it('gives the words to cards stored before word search, in a background job queued by the data-model step, saying meanwhile that results may be incomplete', async () => {
    const folder = folders['Свои'];
    const db = mongoose.connection.db!;
    // As an older Kartoteka stored a card: search text, no words; and its text index.
    await db.collection('cards').insertOne({
      typeKey: 'counterparty',
      folderId: new Types.ObjectId(folder.id),
      libraryId: new Types.ObjectId(folder.libraryId),
      title: 'ООО «Старожил»',
      values: { name: 'ООО «Старожил»' },
      searchText: 'ооо «старожил»',
      searchKeys: [],
      version: 1,
      inTrash: false,
      createdBy: new Types.ObjectId(authorId),
      updatedBy: new Types.ObjectId(authorId),
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    await db.collection('cards').createIndex({ searchText: 'text' }, { default_language: 'none' });
    expect(await titles(narrow, 'старожил')).to.deep.equal([]);

    const indexing = async () => (await narrow.data<{ searchIndexing: { percent: number | null } | null }>('{ searchIndexing { percent } }')).searchIndexing;
    expect(await indexing()).to.equal(null);

    // The runner held back: the job stays queued, and the search says its results may be incomplete.
    await server.jobs.stop();
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
    await searchWordsStep.up(db, createLogger(config));
    const indexes = await db.collection('cards').indexes();
    expect(indexes.filter((index) => Object.values(index.key).includes('text'))).to.deep.equal([]);
    expect(await indexing()).to.deep.equal({ percent: null });
    expect(await titles(narrow, 'старожил')).to.deep.equal([]);

    server.jobs.start();
    await waitFor(async () => (await titles(narrow, 'старожил')).length > 0, 'the job to give the stored card its words');
    expect(await titles(narrow, 'Старожил')).to.deep.equal(['ООО «Старожил»']);
    await waitFor(async () => (await indexing()) === null, 'the search to stop saying its results may be incomplete');
    // The card did not change for its readers: no new change time, the same version.
    const stored = await Card.findOne({ title: 'ООО «Старожил»' }).lean();
    expect(stored?.version).to.equal(1);
  });
});
