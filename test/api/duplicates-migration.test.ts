import { expect } from 'chai';
import mongoose from 'mongoose';
import pino from 'pino';
import { dismissalPlacesStep } from '../../server/src/migrations/dismissal-places';
import { mergeSurvivorsStep } from '../../server/src/migrations/merge-survivors';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id version } }';
const MERGE = 'mutation($s: CardVersionInput!, $m: [CardVersionInput!]!) { mergeCards(survivor: $s, merged: $m, choices: []) { merge { id } } }';
const MARK = 'query($id: ID!) { card(id: $id) { mergedIntoTitle merge { survivorTitle survivorDeleted } } }';

describe('duplicates: data-model steps (merges whose survivor was deleted for good, «Не дубликат» marks without their folders)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let folderId: string;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'editor', fullName: 'Татьяна Гончаренко', level: 'edit' }]);
    folderId = scenario.folderId;
    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { historyEnabled } }');
    editor = await signedIn(server, 'editor', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  /** A merge of two counterparties whose survivor is then deleted for good, stored as merges were before `survivorGone` was kept. */
  async function oldMerge(name: string): Promise<{ survivor: string; merged: string; mergeId: string }> {
    const create = async (values: Record<string, unknown>) =>
      (await editor.data<{ createCard: { id: string } }>(CREATE, { f: folderId, t: 'counterparty', v: values })).createCard.id;
    const survivor = await create({ name });
    const merged = await create({ name: `${name} ООО` });
    const mergeId = (await editor.data<{ mergeCards: { merge: { id: string } } }>(MERGE, { s: { id: survivor, version: 1 }, m: [{ id: merged, version: 1 }] })).mergeCards.merge.id;
    await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: survivor });
    await admin.data('mutation($id: ID!) { purgeCard(id: $id) }', { id: survivor });
    await mongoose.connection.db!.collection('merges').updateOne({ _id: new mongoose.Types.ObjectId(mergeId) }, { $unset: { survivorGone: '' } });
    return { survivor, merged, mergeId };
  }
  const mark = async (id: string) =>
    (await editor.data<{ card: { mergedIntoTitle: string | null; merge: { survivorTitle: string | null; survivorDeleted: boolean } } }>(MARK, { id })).card;

  it('takes the title and folder from the purge’s audit record, or else from the histories; what no record tells stays unnamed', async () => {
    const audited = await oldMerge('ООО «Альтаир»');
    const fromHistory = await oldMerge('ООО «Вега»');
    const untold = await oldMerge('ООО «Денеб»');
    // Records as an older installation may lack them: no purge entry (and, for the last, no history either).
    const db = mongoose.connection.db!;
    await db.collection('auditentries').deleteMany({ kind: 'card-purged', targetId: { $in: [fromHistory.survivor, untold.survivor] } });
    await db.collection('history').deleteMany({ cardId: { $in: [untold.survivor, untold.merged].map((id) => new mongoose.Types.ObjectId(id)) } });
    expect((await mark(audited.merged)).mergedIntoTitle).to.equal(null);

    await mergeSurvivorsStep.up(db, pino({ level: 'silent' }));
    expect(await mark(audited.merged)).to.deep.equal({ mergedIntoTitle: 'ООО «Альтаир»', merge: { survivorTitle: 'ООО «Альтаир»', survivorDeleted: true } });
    expect((await mark(fromHistory.merged)).mergedIntoTitle).to.equal('ООО «Вега»');
    expect((await mark(untold.merged)).mergedIntoTitle).to.equal(null);
    // Run again, it changes nothing.
    await mergeSurvivorsStep.up(db, pino({ level: 'silent' }));
    expect((await mark(audited.merged)).mergedIntoTitle).to.equal('ООО «Альтаир»');
  });

  it('gives «Не дубликат» marks made before they kept their cards’ folders those folders, so that the marks are listed (and drops marks of cards gone)', async () => {
    const create = async (name: string) => (await editor.data<{ createCard: { id: string } }>(CREATE, { f: folderId, t: 'counterparty', v: { name } })).createCard.id;
    const [a, b, c] = [await create('ООО «Сириус»'), await create('Сириус ООО'), await create('ООО Сириус')];
    await editor.data('mutation($c: ID!, $o: [ID!]!) { markNotDuplicates(cardId: $c, otherIds: $o) }', { c: a, o: [b, c] });
    const db = mongoose.connection.db!;
    await db.collection('duplicate_dismissals').updateMany({}, { $unset: { cardIds: '', folderId: '', libraryId: '' } });
    await db.collection('cards').deleteOne({ _id: new mongoose.Types.ObjectId(c) });
    const listed = async () =>
      (
        await editor.data<{ duplicateDismissals: { edges: { node: { cards: { title: string }[] } }[] } }>('{ duplicateDismissals { edges { node { cards { title } } } } }')
      ).duplicateDismissals.edges.map((edge) => edge.node.cards.map((card) => card.title).sort());
    expect(await listed()).to.deep.equal([]);
    await dismissalPlacesStep.up(db, pino({ level: 'silent' }));
    expect(await listed()).to.deep.equal([['Сириус ООО', 'ООО «Сириус»'].sort()]);
    expect(await db.collection('duplicate_dismissals').countDocuments()).to.equal(1);
  });
});
