import { expect } from 'chai';
import { Types } from 'mongoose';
import { MAX_CARD_SIZE, messages, valuesSize } from '../../card-types';
import { Card } from '../../server/src/cards/model';
import type { RunningServer } from '../../server/src/server';
import { refusalFields, type ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE_TYPE = 'mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version } }';
const UPDATE = 'mutation($id: ID!, $version: Int!, $v: JSON!) { updateCard(id: $id, version: $version, values: $v) { id version values } }';
const MERGE = `mutation($s: CardVersionInput!, $m: [CardVersionInput!]!, $c: [MergeChoiceInput!]!) {
  mergeCards(survivor: $s, merged: $m, choices: $c) { survivor { id values } } }`;
const PAGE = 'query($f: ID!, $after: String) { cards(folderId: $f, first: 200, after: $after) { totalCount edges { node { id values } } pageInfo { hasNextPage endCursor } } }';

const tagList = (count: number, prefix = 'метка') => Array.from({ length: count }, (_, i) => `${prefix} ${i}`);

describe('what a card may hold, and a page of fat cards (s15 B2, API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let editor: ApiClient;
  let folderId: string;
  let notesFolder: string;
  let admin: ApiClient;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    ({ folderId } = await createCorrespondents(admin, PASSWORD, [{ login: 'editor', fullName: 'Редактор', level: 'full' }]));
    const notes = Array.from({ length: 11 }, (_, i) => ({ key: `n${i}`, kind: 'text', label: { ru: `Заметка ${i}`, en: `Note ${i}` } }));
    const name = { key: 'name', kind: 'string', label: { ru: 'Название', en: 'Name' }, required: true };
    await admin.data(CREATE_TYPE, {
      d: { key: 'notes', names: { ru: 'Заметки', en: 'Notes' }, titleTemplate: '{name}', historyEnabled: false, origin: 'admin', fields: [name, ...notes] },
    });
    // Inside the editor's folder: its access is inherited.
    notesFolder = await createFolder(admin, { parentId: folderId, name: 'Заметки', allowedCardTypes: ['notes'] });
    editor = await signedIn(server, 'editor', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  const create = (values: Record<string, unknown>) => editor.request<{ createCard: { id: string; version: number } }>(CREATE, { f: folderId, t: 'counterparty', v: values });

  it('refuses a card with more than 100 tags, or bigger than 200,000 characters in all, with a message at the field', async () => {
    expect(refusalFields(await create({ name: 'ООО «Метки»', tags: tagList(101) }))).to.deep.equal({ tags: 'Не больше 100 значений' });
    expect((await create({ name: 'ООО «Сто меток»', tags: tagList(100) })).errors).to.equal(undefined);

    // Eleven notes of 20,000 characters: each within its field's limit, together past the card's.
    const notes = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`n${i}`, 'з'.repeat(20_000)]));
    const full = { name: 'Толстая', ...notes(11) };
    const big = await editor.request(CREATE, { f: notesFolder, t: 'notes', v: full });
    expect(refusalFields(big)).to.deep.equal({ n0: messages.cardTooLarge(valuesSize(full), MAX_CARD_SIZE).ru });
    expect((await editor.request(CREATE, { f: notesFolder, t: 'notes', v: { name: 'Почти', ...notes(10), n9: 'з'.repeat(19_000) } })).errors).to.equal(undefined);
  });

  it('keeps a card over the bounds from before them editable: a save that does not make it bigger passes, one that grows it is refused at the field it grows', async () => {
    const { id } = (await editor.data<{ createCard: { id: string } }>(CREATE, { f: notesFolder, t: 'notes', v: { name: 'Старая' } })).createCard;
    const stored = { name: 'Старая', ...Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`n${i}`, 'з'.repeat(20_000)])) };
    await Card.updateOne({ _id: new Types.ObjectId(id) }, { $set: { values: stored }, $inc: { version: 1 } });
    const edited = await editor.request(UPDATE, { id, version: 2, v: { n1: 'з'.repeat(19_000) } });
    expect(edited.errors).to.equal(undefined);
    const grown = await editor.request(UPDATE, { id, version: 3, v: { n1: 'з'.repeat(20_000) } });
    expect(refusalFields(grown)).to.deep.equal({ n1: messages.cardTooLarge(valuesSize(stored), MAX_CARD_SIZE).ru });
  });

  it('keeps a card with thousands of tags from before the bound readable and editable: a save that does not add tags passes', async () => {
    const { id } = (await create({ name: 'ООО «Старая»', tags: ['опт'] })).data!.createCard;
    // As stored before the bounds existed: 3,000 tags.
    await Card.updateOne({ _id: new Types.ObjectId(id) }, { $set: { 'values.tags': tagList(3_000) }, $inc: { version: 1 } });
    const page = await editor.data<{ cards: { edges: { node: { id: string; values: { tags?: string[] } } }[] } }>(PAGE, { f: folderId });
    expect(page.cards.edges.find((edge) => edge.node.id === id)!.node.values.tags).to.have.length(3_000);

    const renamed = await editor.request<{ updateCard: { version: number } }>(UPDATE, { id, version: 2, v: { name: 'ООО «Старая-2»' } });
    expect(renamed.errors).to.equal(undefined);
    const shrunk = await editor.request<{ updateCard: { version: number; values: { tags: string[] } } }>(UPDATE, { id, version: 3, v: { tags: tagList(2_000) } });
    expect(shrunk.data!.updateCard.values.tags).to.have.length(2_000);
    const grown = await editor.request(UPDATE, { id, version: 4, v: { tags: tagList(2_001) } });
    expect(refusalFields(grown)).to.deep.equal({ tags: 'Не больше 100 значений' });
  });

  it('refuses a merge whose united tags would pass 100, at the tags field', async () => {
    const a = (await create({ name: 'ООО «Слияние-А»', tags: tagList(60, 'а') })).data!.createCard;
    const b = (await create({ name: 'ООО «Слияние-Б»', tags: tagList(60, 'б') })).data!.createCard;
    const merged = await editor.request(MERGE, { s: { id: a.id, version: a.version }, m: [{ id: b.id, version: b.version }], c: [] });
    expect(refusalFields(merged)).to.deep.equal({ tags: 'Не больше 100 значений' });
  });

  it('ends a page of fat cards early and goes on from there: every card comes once, a page of usual cards is whole', async () => {
    const fatFolder = await createFolder(admin, { parentId: folderId, name: 'Толстые', allowedCardTypes: ['notes'] });
    const fat = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`n${i}`, `${i}`.repeat(20_000)]));
    const created: string[] = [];
    for (let i = 0; i < 14; i++)
      created.push((await editor.data<{ createCard: { id: string } }>(CREATE, { f: fatFolder, t: 'notes', v: { name: `Толстая ${i}`, ...fat } })).createCard.id);
    type Page = { cards: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
    const pages: number[] = [];
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: Page = await editor.data<Page>(PAGE, { f: fatFolder, after });
      pages.push(page.cards.edges.length);
      seen.push(...page.cards.edges.map((edge) => edge.node.id));
      after = page.cards.pageInfo.hasNextPage ? page.cards.pageInfo.endCursor : null;
    } while (after);
    // 180,000 characters a card: 11 of them pass the 2,000,000 a page carries.
    expect(pages).to.deep.equal([11, 3]);
    expect([...seen].sort()).to.deep.equal([...created].sort());

    const usual = await editor.data<Page & { cards: { totalCount: number } }>(PAGE, { f: folderId });
    expect(usual.cards.totalCount).to.be.greaterThan(3);
    expect(usual.cards.edges).to.have.length(usual.cards.totalCount);
    expect(usual.cards.pageInfo.hasNextPage).to.equal(false);
  });

  it('ends every other list of fat cards at the budget and goes on from there: cards by id (in any order), a related tab, search results, the trash (s16 re-attack B2)', async () => {
    type Page = { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    /** Reads a list page after page: the cards of each reply, and the largest reply's length. */
    const everyPage = async (read: (after: string | null) => Promise<Page>) => {
      const pages: string[][] = [];
      let largest = 0;
      let after: string | null = null;
      do {
        const page: Page = await read(after);
        largest = Math.max(largest, JSON.stringify(page).length);
        pages.push(page.edges.map((edge) => edge.node.id));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after && pages.length < 50);
      return { sizes: pages.map((page) => page.length), ids: pages.flat(), largest };
    };
    const company = (await create({ name: 'ООО «Толстяки»' })).data!.createCard.id;
    const contacts: string[] = [];
    for (let i = 0; i < 14; i++) {
      const made = await editor.data<{ createCard: { id: string } }>(CREATE, {
        f: folderId,
        t: 'contact-person',
        v: { fullName: `Толстяков ${String(i).padStart(2, '0')}`, counterparty: company },
      });
      contacts.push(made.createCard.id);
    }
    // Stored before the bounds: 180,000 characters each (eleven fit a reply's 2,000,000).
    await Card.updateMany({ _id: { $in: contacts.map((id) => new Types.ObjectId(id)) } }, { $set: { 'values.notes': 'ж'.repeat(180_000) } });
    const sorted = (ids: string[]) => [...ids].sort();

    const BY_IDS = 'query($ids: [ID!]!, $after: String) { cards(ids: $ids, after: $after) { edges { node { id values } } pageInfo { hasNextPage endCursor } } }';
    const missing = new Types.ObjectId().toHexString();
    for (const asked of [[...contacts, missing], [missing, ...contacts].reverse()]) {
      const read = await everyPage(async (after) => (await editor.data<{ cards: Page }>(BY_IDS, { ids: asked, after })).cards);
      expect(read.sizes).to.deep.equal([11, 3]);
      // In the order asked, each once; the missing id is left out.
      expect(read.ids).to.deep.equal(asked.filter((id) => id !== missing));
      expect(read.largest).to.be.within(1_900_000, 2_100_000);
    }

    // Each reply counts the cards found of all the ids asked; a cursor of one list is refused with another (s17 guard L4, L5).
    type Counted = { cards: Page & { totalCount: number } };
    const COUNTED = 'query($ids: [ID!]!, $after: String) { cards(ids: $ids, after: $after) { totalCount edges { node { id values } } pageInfo { hasNextPage endCursor } } }';
    const first = (await editor.data<Counted>(COUNTED, { ids: [...contacts, missing] })).cards;
    expect([first.edges.length, first.totalCount]).to.deep.equal([11, 14]);
    expect((await editor.data<Counted>(COUNTED, { ids: [...contacts, missing], after: first.pageInfo.endCursor })).cards.totalCount).to.equal(14);
    const other = await editor.request(COUNTED, { ids: [company, ...contacts], after: first.pageInfo.endCursor });
    expect(refusalFields(other)).to.deep.equal({ after: 'Неверный курсор страницы: откройте список с начала' });

    // A reply that carries no values spends none of the budget: ids and folders of all 14 come at once (s17 guard M2).
    const FOLDERS_BY_IDS = 'query($ids: [ID!]!, $after: String) { cards(ids: $ids, after: $after) { edges { node { id folderId } } pageInfo { hasNextPage endCursor } } }';
    const folders = await everyPage(async (after) => (await editor.data<{ cards: Page }>(FOLDERS_BY_IDS, { ids: contacts, after })).cards);
    expect(folders.sizes).to.deep.equal([14]);
    expect(folders.ids).to.deep.equal(contacts);

    const RELATED =
      'query($id: ID!, $after: String) { relatedCards(cardId: $id, tab: "contacts", first: 500, after: $after) { edges { node { id values } } pageInfo { hasNextPage endCursor } } }';
    const related = await everyPage(async (after) => (await editor.data<{ relatedCards: Page }>(RELATED, { id: company, after })).relatedCards);
    expect(related.sizes).to.deep.equal([11, 3]);
    expect(related.ids).to.deep.equal(contacts);
    expect(related.largest).to.be.below(2_100_000);
    const TITLES =
      'query($id: ID!, $after: String) { relatedCards(cardId: $id, tab: "contacts", first: 500, after: $after) { edges { node { id title } } pageInfo { hasNextPage endCursor } } }';
    const titles = await everyPage(async (after) => (await editor.data<{ relatedCards: Page }>(TITLES, { id: company, after })).relatedCards);
    expect(titles.sizes).to.deep.equal([14]);
    expect(titles.largest).to.be.below(10_000);

    const RESULTS =
      'query($after: String) { searchResults(query: "Толстяков", first: 100, after: $after) { edges { node { card { id values } } } pageInfo { hasNextPage endCursor } } }';
    type Results = { edges: { node: { card: { id: string } } }[]; pageInfo: Page['pageInfo'] };
    const results = await everyPage(async (after) => {
      const page = (await editor.data<{ searchResults: Results }>(RESULTS, { after })).searchResults;
      return { ...page, edges: page.edges.map((edge) => ({ node: edge.node.card })) };
    });
    // The company «Толстяки» is found too: a small card, then eleven fat ones.
    expect(results.sizes).to.deep.equal([12, 3]);
    expect(sorted(results.ids)).to.deep.equal(sorted([company, ...contacts]));
    expect(results.largest).to.be.below(2_100_000);
    // As one types: the best hits as far as the budget goes («Все результаты» goes on).
    const typed = await editor.data<{ search: unknown[] }>('{ search(query: "Толстяков", first: 100) { card { id values } } }');
    expect(typed.search).to.have.length(12);

    for (const id of contacts) await editor.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id });
    const TRASH = 'query($after: String) { trashPage(first: 200, after: $after, search: "Толстяков") { edges { node { id values } } pageInfo { hasNextPage endCursor } } }';
    const trash = await everyPage(async (after) => (await editor.data<{ trashPage: Page }>(TRASH, { after })).trashPage);
    expect(trash.sizes).to.deep.equal([11, 3]);
    expect(trash.ids).to.deep.equal([...contacts].reverse());
    const TRASH_TITLES =
      'query($after: String) { trashPage(first: 200, after: $after, search: "Толстяков") { edges { node { id title trashedAt } } pageInfo { hasNextPage endCursor } } }';
    expect((await everyPage(async (after) => (await editor.data<{ trashPage: Page }>(TRASH_TITLES, { after })).trashPage)).sizes).to.deep.equal([14]);
    const list = await editor.data<{ trash: unknown[] }>('{ trash(first: 200) { id values } }');
    expect(list.trash).to.have.length(11);
  });
});
