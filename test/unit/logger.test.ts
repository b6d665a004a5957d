import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { expect } from 'chai';
import { boxed, createLogger } from '../../server/src/logger';
import type { Config } from '../../server/src/config';
import { waitFor } from '../support/wait';

/** A stream standing in for standard output, a terminal or not; collects what is written. */
function output(isTTY: boolean): PassThrough & { isTTY: boolean; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return Object.assign(stream, { text: () => text });
}

function logOnce(nodeEnv: Config['nodeEnv'], isTTY: boolean): ReturnType<typeof output> {
  const out = output(isTTY);
  createLogger({ logLevel: 'info', nodeEnv }, out).info({ folder: 'Корреспонденты' }, 'card created');
  return out;
}

describe('logs', () => {
  it('are JSON lines when not attached to a terminal, in development too', async () => {
    const out = logOnce('development', false);
    await waitFor(() => out.text().includes('\n'));
    expect(JSON.parse(out.text())).to.include({ msg: 'card created', folder: 'Корреспонденты', service: 'kartoteka', level: 30 });
  });

  it('are JSON lines in production even on a terminal', async () => {
    const out = logOnce('production', true);
    await waitFor(() => out.text().includes('\n'));
    expect(JSON.parse(out.text())).to.include({ msg: 'card created' });
  });

  it('are readable lines, not JSON, in development on a terminal', async () => {
    const out = logOnce('development', true);
    await waitFor(() => out.text().includes('Корреспонденты'));
    const text = stripVTControlCharacters(out.text());
    expect(text).to.match(/INFO.*card created/);
    expect(text).to.contain('folder: "Корреспонденты"');
    expect(() => JSON.parse(text)).to.throw();
  });

  it('frame a notice so it stands out among them', () => {
    const lines = boxed(['login:    admin', 'password: s3cret-Пароль']).trimEnd().split('\n');
    expect(lines).to.have.length(4);
    expect(lines[2]).to.contain('password: s3cret-Пароль');
    expect(new Set(lines.map((line) => line.length)).size, 'every line of the frame is as wide').to.equal(1);
    expect(lines[0]).to.match(/^┌─+┐$/);
    expect(lines[3]).to.match(/^└─+┘$/);
  });
});
