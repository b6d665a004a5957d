import { expect } from 'chai';
import { Card } from '../../server/src/cards/model';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createFolder, createLibrary, typeChangeApplied, versioned } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const scores = {
  key: 'scores',
  names: { ru: 'Оценки', en: 'Scores' },
  titleTemplate: '{title} {n}',
  historyEnabled: true,
  origin: 'admin',
  fields: [
    { key: 'title', kind: 'string', label: { ru: 'Название', en: 'Title' }, required: true, listed: true },
    { key: 'n', kind: 'integer', label: { ru: 'Число', en: 'Number' }, listed: true },
  ],
};
const asRating = { ...scores, fields: scores.fields.map((field) => (field.key === 'n' ? { ...field, kind: 'rating' } : field)) };

const CREATE = 'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "scores", values: $v) { id version } }';
type Read = { id: string; title: string; values: Record<string, unknown>; version: number };
const READ = 'query($id: ID!) { card(id: $id) { id title values version } }';

describe('values a kind change keeps unconverted: shown, applied, restored (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folder: string;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: scores });
    folder = await createFolder(admin, { libraryId: await createLibrary(admin, 'Оценки'), name: 'Оценки', allowedCardTypes: ['scores'] });
  });
  after(async () => {
    await server?.stop();
  });

  it('integer → rating that the dry run calls safe: the job completes over a trashed 42, and restoring it keeps 42 visible while a "4" kept as text becomes 4', async () => {
    const edited = (await admin.data<{ createCard: { id: string; version: number } }>(CREATE, { f: folder, v: { title: 'Правка', n: 42 } })).createCard;
    await admin.data('mutation($id: ID!, $v: JSON!, $version: Int!) { updateCard(id: $id, values: $v, version: $version) { id } }', {
      id: edited.id,
      v: { title: 'Правка', n: 3 },
      version: edited.version,
    });
    const trashed = (await admin.data<{ createCard: { id: string } }>(CREATE, { f: folder, v: { title: 'В корзине', n: 42 } })).createCard.id;
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: trashed });
    const asText = (await admin.data<{ createCard: { id: string } }>(CREATE, { f: folder, v: { title: 'Текстом', n: 4 } })).createCard.id;
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: asText });

    const preview = await admin.data<{ cardTypeChangePreview: { safe: boolean } }>('query($d: CardTypeInput!) { cardTypeChangePreview(definition: $d) { safe } }', { d: asRating });
    expect(preview.cardTypeChangePreview.safe).to.equal(true);
    const saved = await admin.data<{ updateCardType: { changeJob: { id: string } | null } }>(
      'mutation($d: CardTypeInput!) { updateCardType(definition: $d) { changeJob { id } } }',
      { d: await versioned(admin, asRating) },
    );
    const job = await typeChangeApplied(admin, saved.updateCardType.changeJob);
    expect(job?.state, JSON.stringify(job)).to.equal('succeeded');
    expect(job?.result).to.include({ cards: 3 });

    // The history keeps the 42 the card once held; reading it works.
    const history = await admin.data<{ cardHistory: { edges: { node: { changes: { key: string; before: unknown; after: unknown }[] } }[] } }>(
      'query($id: ID!) { cardHistory(cardId: $id) { edges { node { changes { key before after } } } } }',
      { id: edited.id },
    );
    expect(history.cardHistory.edges.flatMap((edge) => edge.node.changes).some((change) => change.key === 'n' && change.before === 42)).to.equal(true);

    // A value an earlier version stored as text, as a kind change could leave it.
    await Card.updateOne({ _id: asText }, { $set: { 'values.n': '4' } });
    await admin.data('mutation($id: ID!) { restoreCard(id: $id) { id } }', { id: trashed });
    await admin.data('mutation($id: ID!) { restoreCard(id: $id) { id } }', { id: asText });
    const kept = (await admin.data<{ card: Read }>(READ, { id: trashed })).card;
    expect(kept.values.n).to.equal(42);
    expect(kept.title).to.equal('В корзине ⚠\u00a042');
    const converted = (await admin.data<{ card: Read }>(READ, { id: asText })).card;
    expect(converted.values.n).to.equal(4);
    expect(converted.title).to.equal('Текстом ★★★★☆');
    const restoreEntry = await admin.data<{ cardHistory: { edges: { node: { action: string; changes: { key: string; before: unknown; after: unknown }[] } }[] } }>(
      'query($id: ID!) { cardHistory(cardId: $id) { edges { node { action changes { key before after } } } } }',
      { id: asText },
    );
    const restore = restoreEntry.cardHistory.edges.find((edge) => edge.node.action === 'restore')!;
    expect(restore.node.changes).to.deep.include({ key: 'n', before: '4', after: 4 });

    // Every reader's folder list has all three.
    const list = await admin.data<{ cards: { edges: { node: { title: string } }[] } }>('query($f: ID!) { cards(folderId: $f, sortBy: "n") { edges { node { title } } } }', {
      f: folder,
    });
    expect(list.cards.edges.map((edge) => edge.node.title).sort()).to.deep.equal(['В корзине ⚠\u00a042', 'Правка ★★★☆☆', 'Текстом ★★★★☆']);
  });

  it('pages a folder sorted by a rating field to its end (each kind says what it stores: a rating is a number)', async () => {
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: { ...asRating, key: 'ratings', names: { ru: 'Рейтинги', en: 'Ratings' } } });
    const rated = await createFolder(admin, { libraryId: await createLibrary(admin, 'Рейтинг'), name: 'Рейтинг', allowedCardTypes: ['ratings'] });
    for (let i = 1; i <= 7; i += 1) {
      await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "ratings", values: $v) { id } }', {
        f: rated,
        v: { title: `Карточка ${i}`, n: ((i * 3) % 5) + 1 },
      });
    }
    const PAGE = 'query($f: ID!, $after: String) { cards(folderId: $f, sortBy: "n", first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { node { values } } } }';
    type Page = { cards: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { values: { n: number } } }[] } };
    const ratings: number[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page += 1) {
      const { cards }: Page = await admin.data<Page>(PAGE, { f: rated, after });
      ratings.push(...cards.edges.map((edge) => edge.node.values.n));
      if (!cards.pageInfo.hasNextPage) break;
      after = cards.pageInfo.endCursor;
    }
    expect(ratings).to.deep.equal([1, 2, 2, 3, 4, 4, 5]);
  });
});
