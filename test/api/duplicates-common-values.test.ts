import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import { commonValueLimits } from '../../server/src/duplicates/keys';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }';
const SIMILAR = 'query($t: String!, $v: JSON!) { similarCards(typeKey: $t, values: $v) { card { id } score rules { id label } } }';
const GROUPS = '{ duplicateGroups(first: 40) { edges { node { score cards(first: 10) { id } pairs(first: 10) { a b score rule { id label } } } } } }';
const STATUS = '{ duplicateScan { commonValueLimit types { typeKey commonValues { rule { id label } value cards } } } }';

interface Group {
  score: number;
  cards: { id: string }[];
  pairs: { a: string; b: string; score: number; rule: { id: string; label: string } }[];
}
interface Status {
  commonValueLimit: number;
  types: { typeKey: string; commonValues: { rule: { id: string; label: string }; value: string; cards: number }[] }[];
}

describe('duplicates: counterparties by phone and e-mail, common values join no cards (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let folderId = '';
  const limit = commonValueLimits.cards;

  const create = async (typeKey: string, values: Record<string, unknown>) =>
    (await editor.data<{ createCard: { id: string } }>(CREATE, { f: folderId, t: typeKey, v: values })).createCard.id;
  const groups = async (client: ApiClient) => (await client.data<{ duplicateGroups: { edges: { node: Group }[] } }>(GROUPS)).duplicateGroups.edges.map((e) => e.node);
  const groupOf = (list: Group[], id: string) => list.find((group) => group.cards.some((card) => card.id === id));
  const similar = async (typeKey: string, values: Record<string, unknown>) =>
    (await editor.data<{ similarCards: { card: { id: string }; score: number; rules: { id: string; label: string }[] }[] }>(SIMILAR, { t: typeKey, v: values })).similarCards;

  before(async () => {
    // Three cards may share a value; the fourth makes it a common one.
    commonValueLimits.cards = 3;
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'editor', fullName: 'Татьяна Гончаренко', level: 'edit' }]);
    folderId = scenario.folderId;
    editor = await signedIn(server, 'editor', PASSWORD);
  });
  after(async () => {
    commonValueLimits.cards = limit;
    await server?.stop();
  });

  it('groups counterparties with the same phone however typed, or the same e-mail in any case, and warns while typing', async () => {
    const lira = await create('counterparty', { name: 'ООО «Лира»', phone: '8 (912) 345-67-89' });
    const lyra = await create('counterparty', { name: 'Торговый дом Север', phone: '+7 912 3456789' });
    const vega = await create('counterparty', { name: 'ООО «Вега»', email: 'Sales@Vega.ru' });
    const star = await create('counterparty', { name: 'Звезда Востока', email: 'sales@vega.ru' });
    const list = await groups(editor);
    const byPhone = groupOf(list, lira)!;
    expect(byPhone.cards.map((c) => c.id)).to.have.members([lira, lyra]);
    expect(byPhone.pairs.map((p) => [p.rule.id, p.rule.label, p.score])).to.deep.equal([['phone', 'Телефон: совпадает', 1]]);
    const byEmail = groupOf(list, vega)!;
    expect(byEmail.cards.map((c) => c.id)).to.have.members([vega, star]);
    expect(byEmail.pairs.map((p) => p.rule.label)).to.deep.equal(['E-mail: совпадает']);
    const typed = await similar('counterparty', { name: 'Совсем другое', phone: '+7-912-345-67-89' });
    expect(typed.map((m) => [m.card.id, m.rules.map((r) => r.label)]).sort()).to.deep.equal(
      [
        [lira, ['Телефон: совпадает']],
        [lyra, ['Телефон: совпадает']],
      ].sort(),
    );
  });

  it('a switchboard many cards give joins none of them (no group at 100 %), names still do; the scan lists it for administrators', async () => {
    // An office's switchboard (each contact with an extension): more contacts than the limit give it.
    const names = ['Андреев Олег', 'Борисова Анна', 'Васильев Пётр', 'Григорьева Ольга', 'Григорьева Ольга Н.'];
    const people: string[] = [];
    for (const [i, fullName] of names.entries()) people.push(await create('contact-person', { fullName, phone: `+7 495 777-00-00 доб. ${101 + i}` }));
    // Two companies in a business centre give its switchboard too (below the limit among counterparties: a pair).
    const tenant = await create('counterparty', { name: 'ООО «Гранит»', phone: '+7 495 777-00-00 доб. 300' });
    const neighbour = await create('counterparty', { name: 'ООО «Меридиан»', phone: '+7 495 777-00-00 доб. 301' });

    const check = async () => {
      const list = await groups(editor);
      // Only the two Григорьева share a group, by their name — not the switchboard of all five.
      const olga = groupOf(list, people[3])!;
      expect(olga.cards.map((c) => c.id)).to.have.members([people[3], people[4]]);
      expect(olga.pairs.map((p) => p.rule.id)).to.deep.equal(['name']);
      expect(olga.score).to.be.below(1);
      for (const id of people.slice(0, 3)) expect(groupOf(list, id), `card ${id} is in no group`).to.equal(undefined);
      // Two counterparties on one phone are still a pair.
      expect(groupOf(list, tenant)!.cards.map((c) => c.id)).to.have.members([tenant, neighbour]);
    };
    await check();
    // Typing the switchboard warns of no one; a phone of one's own still does.
    expect(await similar('contact-person', { fullName: 'Новиков Иван', phone: '+7 495 777 00 00' })).to.deep.equal([]);

    const job = (await admin.data<{ findDuplicates: { id: string } }>('mutation { findDuplicates { id } }')).findDuplicates;
    await waitFor(async () => (await admin.data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id: job.id })).job.state === 'succeeded', 'the scan');
    await check();
    const status = (await admin.data<{ duplicateScan: Status }>(STATUS)).duplicateScan;
    expect(status.commonValueLimit).to.equal(3);
    expect(status.types.find((t) => t.typeKey === 'contact-person')?.commonValues).to.deep.equal([
      { rule: { id: 'phone', label: 'Телефон: совпадает' }, value: '+7 495 777 00 00', cards: 5 },
    ]);
    expect(status.types.find((t) => t.typeKey === 'counterparty')?.commonValues).to.deep.equal([]);
    // The cards holding it are not all an editor's to read: they are told the limit, not the values.
    const editors = (await editor.data<{ duplicateScan: Status }>(STATUS)).duplicateScan;
    expect(editors.commonValueLimit).to.equal(3);
    expect(editors.types.every((t) => t.commonValues.length === 0)).to.equal(true);
  });
});
