import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { groupLimits } from '../../server/src/duplicates/groups';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }';
const GROUPS = 'query($s: String, $c: ID) { duplicateGroups(search: $s, cardId: $c, first: 10) { edges { node { size cards(first: 10) { id } } } } }';

describe('duplicates: the groups a scan stores — bounded in size, and namesakes linked past a «Не дубликат» mark (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folderId = '';

  const create = async (name: string) => (await admin.data<{ createCard: { id: string } }>(CREATE, { f: folderId, v: { name } })).createCard.id;
  const groupsOf = async (filter: { s?: string; c?: string }) =>
    (await admin.data<{ duplicateGroups: { edges: { node: { size: number; cards: { id: string }[] } }[] } }>(GROUPS, filter)).duplicateGroups.edges.map((edge) => edge.node);
  const scan = async () => {
    const job = (await admin.data<{ findDuplicates: { id: string } }>('mutation { findDuplicates { id } }')).findDuplicates;
    await waitFor(async () => (await admin.data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id: job.id })).job.state === 'succeeded', 'the scan');
  };

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    folderId = (await createCorrespondents(admin, PASSWORD, [])).folderId;
  });
  after(async () => {
    await server?.stop();
  });

  it('keeps cards of one name in groups of at most the limit, as they are saved and after a scan', async () => {
    const limit = groupLimits.cards;
    groupLimits.cards = 3;
    try {
      for (const name of ['ООО «Лира»', 'Лира, ООО', 'Лира ООО', 'ООО "Лира"', 'лира']) await create(name);
      expect((await groupsOf({ s: 'Лира' })).map((group) => group.size).sort()).to.deep.equal([2, 3]);
      await scan();
      const sizes = (await groupsOf({ s: 'Лира' })).map((group) => group.size);
      expect(sizes.length).to.be.above(0);
      expect(Math.max(...sizes)).to.equal(3);
    } finally {
      groupLimits.cards = limit;
    }
  });

  it('a name’s first card set apart by «Не дубликат» keeps its namesakes linked to the alike name after a scan (the scan finds what each save finds)', async () => {
    const first = await create('ООО «Кассиопея»');
    const namesake = await create('Кассиопея, ООО');
    const alike = await create('Касиопея');
    await admin.data('mutation($c: ID!, $o: [ID!]!) { markNotDuplicates(cardId: $c, otherIds: $o) }', { c: alike, o: [first] });
    const cardsOf = async () => (await groupsOf({ c: namesake })).map((group) => group.cards.map((card) => card.id).sort());
    const refreshed = await cardsOf();
    expect(refreshed).to.deep.equal([[first, namesake, alike].sort()]);
    await scan();
    expect(await cardsOf()).to.deep.equal(refreshed);
  });
});
