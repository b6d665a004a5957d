import { expect } from 'chai';
import mongoose from 'mongoose';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { importCsv, serverWithImporter } from '../support/import';

const GROUPS = '{ duplicateGroups(typeKey: "counterparty", first: 50) { edges { node { cards { title } } } } }';

/** Key documents the database sends back while `work` runs (the finds' and their cursors' batches). */
async function keyDocumentsReadDuring(work: () => Promise<unknown>): Promise<number> {
  let documents = 0;
  const client = mongoose.connection.getClient();
  const listener = (event: { commandName: string; reply: { cursor?: { ns?: string; firstBatch?: unknown[]; nextBatch?: unknown[] } } }) => {
    const cursor = event.reply?.cursor;
    if (!['find', 'getMore'].includes(event.commandName) || !cursor?.ns?.endsWith('.duplicate_keys')) return;
    documents += (cursor.firstBatch ?? cursor.nextBatch ?? []).length;
  };
  client.on('commandSucceeded', listener);
  try {
    await work();
    return documents;
  } finally {
    client.off('commandSucceeded', listener);
  }
}

/**
 * Rows sharing a phone with hundreds of cards (a business centre's switchboard) cost 4.5× the
 * others on an installation holding such cards (s15 R3, #15): the duplicates' refresh of each batch
 * read every card holding the phone. Such a phone joins no cards (a common value); its holders are
 * counted, not read — while duplicates by name are still found.
 */
describe('duplicates of imported rows sharing a phone with hundreds of cards (API)', function () {
  this.timeout(300_000);
  let server: RunningServer;
  let tanya: ApiClient;
  let folderId: string;

  before(async () => {
    ({ server, importer: tanya, folderId } = await serverWithImporter());
  });
  after(async () => {
    await server?.stop();
  });

  it('a row with a phone 300 cards share reads no more than one with its own phone; the phone joins none of them', async () => {
    const switchboard = '+7 495 700-00-00';
    const tenants = ['Наименование;Телефон', ...Array.from({ length: 300 }, (_, n) => `ООО «Арендатор ${n + 1}»;${switchboard}`)].join('\r\n');
    expect(await importCsv(server, tanya, { folderId, typeKey: 'counterparty', csv: tenants, columns: ['name', 'phone'] })).to.equal('succeeded');

    /** Key documents read while 20 new clients named `word`, each with an e-mail of its own, are imported, with the phone each row gets. */
    const readImporting = async (word: string, mailbox: string, phone: (n: number) => string) => {
      const csv = ['Наименование;Телефон;E-mail', ...Array.from({ length: 20 }, (_, n) => `ЗАО «${word} ${n + 1}»;${phone(n)};${mailbox}${n + 1}@example.ru`)].join('\r\n');
      let state = '';
      const read = await keyDocumentsReadDuring(async () => {
        state = await importCsv(server, tanya, { folderId, typeKey: 'counterparty', csv, columns: ['name', 'phone', 'email'] });
      });
      expect(state).to.equal('succeeded');
      return read;
    };
    const ownPhones = await readImporting('Переезд', 'pereezd', (n) => `+7 495 710-00-${String(n).padStart(2, '0')}`);
    const sharedPhone = await readImporting('Новосёл', 'novosel', () => switchboard);
    // Before, the duplicates' refresh read every card holding the switchboard (300 more).
    expect(sharedPhone).to.be.at.most(ownPhones + 20);

    const groups = (await tanya.data<{ duplicateGroups: { edges: { node: { cards: { title: string }[] } }[] } }>(GROUPS)).duplicateGroups.edges.map((edge) =>
      edge.node.cards.map((card) => card.title),
    );
    expect(groups.filter((titles) => titles.some((title) => /Новосёл|Арендатор/.test(title)))).to.deep.equal([]);
  });
});
