import { expect } from 'chai';
import { Types } from 'mongoose';
import { buildActor } from '../../server/src/access/actor';
import { User, type UserDoc } from '../../server/src/access/structure';
import { Card } from '../../server/src/cards/model';
import { everySearchMatch } from '../../server/src/cards/queries';
import { generateCounterparties } from '../../seeds/generate';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createDepartment, createUser } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';

const PASSWORD = 'secret-password-1';

type Audit = { kind: string; summary: string; after: Record<string, unknown> | null };

/**
 * An export of a search with more matches than a search looks at (s15 U6, #15): «Найдено не менее
 * 5000» exported the first 5,000 cards looked at, and neither the file nor the audit said so. Every
 * match the exporter may read and export is written, counted before the first row (the daily limit
 * and the audit take the true count).
 */
describe('export of a search beyond the cards a search looks at (API)', function () {
  this.timeout(300_000);
  let server: RunningServer;
  let admin: ApiClient;
  let natasha: ApiClient;
  let foreign: Types.ObjectId[];

  const post = async (client: ApiClient, body: unknown) => {
    const response = await fetch(`${server.url}/transfer/export`, {
      method: 'POST',
      headers: { cookie: client.cookieHeader(), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
  };

  before(async () => {
    server = await startTestServer({ EXPORT_DAILY_ROWS: '6000' });
    admin = await signedIn(server);
    const departmentId = await createDepartment(admin, 'Кассиопея');
    const natashaId = await createUser(admin, { login: 'natasha', fullName: 'Наталья Вакуленко', password: PASSWORD, departmentId });
    // Every generated counterparty's address is on «ул. Заводская»: 5,100 she may export, 60 she may only read, 33 of
    // other departments she does not see (she reads 2 folders of 6).
    const exported = await generateCounterparties({ count: 5100, folderName: 'Клиенты', grantUserIds: [natashaId] });
    await generateCounterparties({ count: 60, folderName: 'Только чтение', grantUserIds: [natashaId] });
    foreign = [];
    for (const [name, count] of [
      ['Чужие', 30],
      ['Чужие 2', 1],
      ['Чужие 3', 1],
      ['Чужие 4', 1],
    ] as const)
      foreign.push(new Types.ObjectId(await generateCounterparties({ count, folderName: name })));
    await admin.data('mutation($id: ID!, $e: AccessEntryInput!) { grantFolderAccess(id: $id, entry: $e) { id } }', {
      id: exported,
      e: { principalType: 'user', principalId: natashaId, level: 'full', export: true },
    });
    natasha = await signedIn(server, 'natasha', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('writes every match she may export, not the first 5,000 looked at; the audit and the daily limit take the true count', async () => {
    const found = await natasha.data<{ searchResults: { totalCount: number; totalExact: boolean } }>(
      'query($q: String!) { searchResults(query: $q, first: 10) { totalCount totalExact } }',
      { q: 'Заводская' },
    );
    // The results page counts a lower bound: the search looks at 5,000 cards at most.
    expect(found.searchResults.totalExact).to.equal(false);

    // What the export reads by the search's words: her 5,160 cards, none of the other departments' 33 (s16: it read every card of the installation).
    const actor = await buildActor((await User.findOne({ login: 'natasha' }).lean<UserDoc>())!, '127.0.0.1');
    const every = (await everySearchMatch(actor, 'Заводская', { exact: false }))!;
    expect(await Card.countDocuments(every.filter)).to.equal(5160);
    expect(await Card.countDocuments({ $and: [every.filter, { folderId: { $in: foreign } }] })).to.equal(0);

    const csv = await post(natasha, { search: 'Заводская', format: 'csv' });
    expect(csv.status, csv.body.toString()).to.equal(200);
    const rows = csv.body
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .split('\r\n')
      .filter(Boolean)
      .slice(1);
    expect(rows).to.have.length(5100);
    expect(new Set(rows).size).to.equal(5100);
    expect(rows.every((row) => row.includes('ул. Заводская'))).to.equal(true);

    let exported: Audit[] = [];
    await waitFor(
      async () =>
        (exported = (
          await admin.data<{ auditLog: { edges: { node: Audit }[] } }>('{ auditLog(kind: "cards-exported") { edges { node { kind summary after } } } }')
        ).auditLog.edges.map((edge) => edge.node)).length === 1,
      'the export in the audit log',
    );
    expect(exported[0].summary).to.equal('Поиск «Заводская»: 5100 карточек в csv');
    expect(exported[0].after).to.deep.include({ search: 'Заводская', found: 5160, leftOutWithoutRight: 60, rows: 5100, complete: true });

    // The day's count holds the 5,100 written: the same search again is refused before a row, naming the true count.
    const again = await post(natasha, { search: 'Заводская', format: 'xlsx' });
    expect(again.status).to.equal(403);
    expect((JSON.parse(again.body.toString()) as { error: string }).error).to.contain('Сегодня выгружено: 5100, в этом списке: 5100, можно ещё: 900');
  });
});
