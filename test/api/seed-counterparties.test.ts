import { expect } from 'chai';
import { Types } from 'mongoose';
import { generateCounterparties } from '../../seeds/generate';
import { Card } from '../../server/src/cards/model';
import { Folder } from '../../server/src/folders/models';
import type { RunningServer } from '../../server/src/server';
import { createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const FOLDER_PAGE = 'query($f: ID!) { cards(folderId: $f, first: 5) { totalCount } }';

/** `npm run seed -- --cards N` (s10 verify U1): a load that stopped half-way leaves cards people see, and the next run adds to them. */
describe('seed: generated counterparties after a run that stopped half-way', function () {
  this.timeout(180_000);
  let server: RunningServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('grants the folder before its cards are loaded, and numbers a second run after the highest card, not the count (gaps left by a failed run)', async () => {
    const admin = await signedIn(server);
    const { userIds } = await createCorrespondents(admin, PASSWORD, [{ login: 'nvakulenko', fullName: 'Наталья Вакуленко', level: 'read' }]);
    const grantedWhileLoading: Promise<unknown>[] = [];
    const first = await generateCounterparties({
      count: 30,
      folderName: 'Большая папка',
      grantUserIds: [userIds.nvakulenko],
      // As the cards are stored, the folder is already hers: a load stopped here leaves it visible.
      onProgress: () => grantedWhileLoading.push(Folder.findOne({ name: 'Большая папка' }, { accessEntries: 1 }).lean()),
    });
    const granted = (await Promise.all(grantedWhileLoading)) as { accessEntries: { principalId: Types.ObjectId }[] }[];
    expect(granted.length).to.be.above(0);
    for (const folder of granted) expect(folder.accessEntries.map((entry) => String(entry.principalId))).to.deep.equal([userIds.nvakulenko]);

    // A failed run's unordered inserts leave gaps: fewer cards than the highest number.
    const stored = await Card.find({ folderId: new Types.ObjectId(first) }, { _id: 1 }).lean();
    await Card.deleteMany({ _id: { $in: stored.slice(5, 15).map((card) => card._id) } });
    const second = await generateCounterparties({ count: 30, folderName: 'Большая папка', grantUserIds: [userIds.nvakulenko] });
    const inns = (await Card.find({ typeKey: 'counterparty' }, { 'values.inn': 1 }).lean<{ values: { inn?: unknown } }[]>()).map((card) => String(card.values.inn));
    expect(inns).to.have.length(50);
    expect(new Set(inns).size).to.equal(50);
    const natalia = await signedIn(server, 'nvakulenko', PASSWORD);
    for (const [folderId, count] of [
      [first, 20],
      [second, 30],
    ] as const) {
      expect((await natalia.data<{ cards: { totalCount: number } }>(FOLDER_PAGE, { f: folderId })).cards.totalCount).to.equal(count);
    }
  });
});
