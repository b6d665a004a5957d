import { expect } from 'chai';
import { Writable } from 'node:stream';
import type { RunningServer } from '../../server/src/server';
import { startTestServer } from '../support/server';

/**
 * PLUGINS=none switches off «russian-requisites» while «Контрагент» keeps its INN, KPP and OGRN
 * fields: the start log says which plugins are loaded and names the types and fields whose kinds
 * no enabled plugin provides, with the setting that brings them back.
 */
describe('start log with a plugin switched off (API)', function () {
  this.timeout(60_000);
  let server: RunningServer | undefined;
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];

  before(async () => {
    const logTo = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
        done();
      },
    });
    server = await startTestServer({ LOG_LEVEL: 'info', PLUGINS: 'none' }, { logTo });
  });
  after(async () => {
    await server?.stop();
  });

  it('says «plugins: none» and warns that «Контрагент»: inn, kpp, ogrn need PLUGINS=russian-requisites', () => {
    expect(lines.map((line) => line.msg)).to.include('plugins: none');
    const warning = lines.find((line) => line.level === 40 && line.cardType === 'counterparty');
    expect(warning?.msg).to.equal('«Контрагент»: inn, kpp, ogrn — field kinds no enabled plugin provides (values kept, not checked); enable PLUGINS=russian-requisites');
    expect(warning).to.include({ cardType: 'counterparty' });
    expect(warning?.plugins).to.deep.equal(['russian-requisites']);
    // Types whose kinds are all there are not named.
    expect(lines.filter((line) => line.level === 40 && typeof line.cardType === 'string').map((line) => line.cardType)).to.deep.equal(['counterparty']);
  });
});
