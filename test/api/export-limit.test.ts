import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { addToSystemGroup, createCorrespondents } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';

describe('export: the daily row limit per user (EXPORT_DAILY_ROWS)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let tanya: ApiClient;
  let folderId: string;

  const exportCsv = async (client: ApiClient, filters?: unknown[]) => {
    const query = `folderId=${folderId}&format=csv${filters ? `&filters=${encodeURIComponent(JSON.stringify(filters))}` : ''}`;
    const response = await fetch(`${server.url}/transfer/export?${query}`, { headers: { cookie: client.cookieHeader() } });
    const text = await response.text();
    return { status: response.status, text, lines: text.split('\r\n').filter(Boolean) };
  };

  before(async () => {
    server = await startTestServer({ EXPORT_DAILY_ROWS: '5' });
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'tanya', fullName: 'Татьяна Гончаренко', level: 'full' }]);
    folderId = scenario.folderId;
    await addToSystemGroup(admin, 'exporters', [scenario.userIds.tanya]);
    tanya = await signedIn(server, 'tanya', PASSWORD);
    for (const name of ['ООО «Альфа»', 'ООО «Альфа-Плюс»', 'ООО «Гамма»']) {
      await tanya.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: folderId, v: { name } });
    }
  });
  after(async () => {
    await server?.stop();
  });

  it('lets a user export up to the limit, then refuses with a message saying how much is left, audited for administrators; other users keep their own count', async () => {
    const first = await exportCsv(tanya);
    expect(first.status).to.equal(200);
    expect(first.lines).to.have.length(4);

    // 3 + 3 would pass 5: refused before anything is written, with the numbers.
    const refused = await exportCsv(tanya);
    expect(refused.status).to.equal(403);
    const body = JSON.parse(refused.text) as { code: string; error: string };
    expect(body.code).to.equal('FORBIDDEN');
    expect(body.error).to.equal(
      'Превышен дневной лимит экспорта (строк на пользователя): 5. Сегодня выгружено: 3, в этом списке: 3, можно ещё: 2. Сузьте список фильтрами или продолжите завтра; администраторы об этом узнают.',
    );

    // A narrower list fits what is left; after it, even one row more is refused.
    const narrowed = await exportCsv(tanya, [{ field: 'name', op: 'contains', value: 'Альфа' }]);
    expect(narrowed.status, narrowed.text).to.equal(200);
    expect(
      narrowed.lines
        .slice(1)
        .map((line) => line.split(';')[0])
        .sort(),
    ).to.deep.equal(['ООО «Альфа-Плюс»', 'ООО «Альфа»']);
    expect((await exportCsv(tanya, [{ field: 'name', op: 'contains', value: 'Гамма' }])).status).to.equal(403);

    // The administrator's own count is untouched by Татьяна's.
    expect((await exportCsv(admin)).status).to.equal(200);

    const audit = await admin.data<{ auditLog: { edges: { node: { actorLogin: string; summary: string } }[] } }>(
      '{ auditLog(kind: "export-limit-reached") { edges { node { actorLogin summary } } } }',
    );
    expect(audit.auditLog.edges.map((edge) => edge.node.actorLogin)).to.deep.equal(['tanya', 'tanya']);
    expect(audit.auditLog.edges.map((edge) => edge.node.summary)).to.include('Папка «Корреспонденты»: запрошено строк — 3, дневной лимит — 5, сегодня уже — 3');
    const exported = await admin.data<{ auditLog: { edges: { node: { actorLogin: string } }[] } }>('{ auditLog(kind: "cards-exported") { edges { node { actorLogin } } } }');
    expect(exported.auditLog.edges.map((edge) => edge.node.actorLogin).sort()).to.deep.equal(['admin', 'tanya', 'tanya']);
  });
});
