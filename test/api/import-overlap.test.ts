import { expect } from 'chai';
import { Card } from '../../server/src/cards/model';
import { DuplicateGroup } from '../../server/src/duplicates/model';
import type { RunningServer } from '../../server/src/server';
import { innFromStem } from '../../seeds/demo-cards';
import type { ApiClient } from '../support/api-client';
import { databaseCommandsDuring } from '../support/commands';
import { createCorrespondents } from '../support/fixtures';
import { importCsv } from '../support/import';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';

/**
 * An import's batches overlap: while the duplicates' groups around one batch's cards are found again
 * (after its commit), the next batch is already read and checked — the server's work on rows and the
 * database's on groups run side by side instead of one after the other (#15: 100,000 rows in 2 minutes).
 */
describe('import batches overlap with the duplicates refresh of the batch before (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  // The administrator imports: a right of their own is no part of what is tested here.
  let admin: ApiClient;
  let folderId = '';

  before(async () => {
    // Commands are watched: the duplicates refresh's reads of key documents are counted.
    server = await startTestServer({}, { monitorCommands: true });
    admin = await signedIn(server);
    ({ folderId } = await createCorrespondents(admin, PASSWORD, []));
  });
  after(async () => server?.stop());

  it('checks the second batch’s INNs while the first batch’s refresh is open, and ends with every row written and grouped', async () => {
    // 501 rows, two batches, of names unlike each other but the last, which repeats the first's: the
    // last batch's refresh (awaited before the job ends) finds the one group.
    const letters = 'абвгдеёжзийклмнопрстуфхцчшщъыьэюя';
    const name = (n: number) => {
      let seed = n + 1;
      return Array.from({ length: 12 }, () => letters[(seed = (seed * 48_271) % 2_147_483_647) % letters.length]).join('');
    };
    const rows = Array.from({ length: 501 }, (_, i) => `ООО «${name(i === 500 ? 0 : i)}»;${innFromStem(String(300_000_000 + i))}`);
    const csv = ['Наименование;ИНН', ...rows].join('\n');
    // The INN look-ups of the batches' unique values (one a batch), as the import asks them.
    const find = Card.find.bind(Card);
    let innLookups = 0;
    const cards = Card as unknown as { find: (...args: unknown[]) => unknown };
    cards.find = (...args: unknown[]) => {
      if (Object.hasOwn((args[0] ?? {}) as object, 'values.inn')) innLookups += 1;
      return (find as (...a: unknown[]) => unknown)(...args);
    };
    // The first refresh (after the first batch's commit) waits, open, until the second batch's look-up was asked.
    const findGroups = DuplicateGroup.find.bind(DuplicateGroup);
    const groups = DuplicateGroup as unknown as { find: (...args: unknown[]) => unknown };
    let lookupsWhileOpen = 0;
    groups.find = (...args: unknown[]) => {
      groups.find = findGroups as (...a: unknown[]) => unknown;
      return {
        lean: async () => {
          await waitFor(() => innLookups >= 2, 'the second batch’s INN look-up while the first batch’s refresh is open');
          lookupsWhileOpen = innLookups;
          return (findGroups as (...a: unknown[]) => { lean(): unknown })(...args).lean();
        },
      };
    };
    try {
      expect(await importCsv(server, admin, { folderId, typeKey: 'counterparty', csv, columns: ['name', 'inn'] })).to.equal('succeeded');
    } finally {
      cards.find = find as (...args: unknown[]) => unknown;
      groups.find = findGroups as (...args: unknown[]) => unknown;
    }
    expect(lookupsWhileOpen, 'INN look-ups asked while the first refresh was open').to.equal(2);
    const count = await admin.data<{ cards: { totalCount: number } }>('query($f: ID!) { cards(folderId: $f, first: 1) { totalCount } }', { f: folderId });
    expect(count.cards.totalCount).to.equal(501);
    const { duplicateGroups } = await admin.data<{ duplicateGroups: { edges: { node: { cards: { title: string }[] } }[] } }>(
      '{ duplicateGroups(typeKey: "counterparty", first: 10) { edges { node { cards(first: 10) { title } } } } }',
    );
    expect(duplicateGroups.edges.map((edge) => edge.node.cards.map((card) => card.title))).to.deep.equal([[`ООО «${name(0)}»`, `ООО «${name(0)}»`]]);
  });
  it('asks the key documents for each exact value of a batch once — counting its holders and finding alike cards share one read — and still groups the rows with the same phone', async () => {
    const rows = [
      `ООО «Первый поставщик»;${innFromStem('400000001')};+7 495 111-22-33`,
      `ЗАО «Совсем другое имя»;${innFromStem('400000002')};+7 812 444-55-66`,
      `ИП Ковалёв;${innFromStem('400000003')};+7 495 111-22-33`,
    ];
    const csv = ['Наименование;ИНН;Телефон', ...rows].join('\n');
    const { result: state, commands } = await databaseCommandsDuring(() => importCsv(server, admin, { folderId, typeKey: 'counterparty', csv, columns: ['name', 'inn', 'phone'] }));
    expect(state).to.equal('succeeded');
    const inn = innFromStem('400000002');
    const keyReads = commands.filter((command) => command.name === 'find' && command.collection === 'duplicate_keys' && JSON.stringify(command.command.filter).includes(inn));
    expect(keyReads.length, 'reads of duplicate_keys naming the INN of the second row').to.equal(1);
    const { duplicateGroups } = await admin.data<{ duplicateGroups: { edges: { node: { cards: { title: string }[] } }[] } }>(
      '{ duplicateGroups(typeKey: "counterparty", first: 10) { edges { node { cards(first: 10) { title } } } } }',
    );
    expect(duplicateGroups.edges.map((edge) => edge.node.cards.map((card) => card.title).sort())).to.deep.include(['ИП Ковалёв', 'ООО «Первый поставщик»']);
  });
});
