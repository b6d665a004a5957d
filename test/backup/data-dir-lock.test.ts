import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LOCK_FILE } from '../../server/src/db/memory/dir-lock';

/** Runs a command of the project's sources; its output and exit code once it exits. */
function run(args: string[], env: Record<string, string | undefined> = process.env): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => output, exited };
}

describe('one process per built-in database directory', function () {
  this.timeout(120_000);
  let dataDir: string;
  let first: ReturnType<typeof run> | null = null;

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-datadir-'));
  });
  after(async () => {
    if (first && first.child.exitCode === null) {
      first.child.kill('SIGTERM');
      await first.exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a second database process and the restore command on a directory in use, and frees it on stop', async () => {
    const dbpath = path.join(dataDir, 'memory');
    first = run(['server/src/db/memory/cli.ts', '--port', '0', '--dbpath', dbpath]);
    const started = first;
    const deadline = Date.now() + 60_000;
    while (!/mongodb:\/\//.test(started.output()) && started.child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(started.output()).to.match(/mongodb:\/\//);

    const second = run(['server/src/db/memory/cli.ts', '--port', '0', '--dbpath', dbpath]);
    expect(await second.exited).to.equal(1);
    expect(second.output()).to.contain(`kartoteka-memory: the data directory ${dbpath} is in use by another process (pid ${started.child.pid})`);

    // `npm run restore` with DATA_DIR (no server answers on PORT): refused at open, naming the directory; the data stays.
    const { MONGODB_URI: _uri, ...env } = process.env;
    const restore = run(['server/src/backup/cli.ts', 'restore', path.join(dataDir, 'any.tar.gz'), '--force'], {
      ...env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      PORT: '1',
    });
    expect(await restore.exited).to.equal(1);
    expect(restore.output()).to.contain(`the data directory ${dbpath} is in use by another process (pid ${started.child.pid})`);

    started.child.kill('SIGTERM');
    expect(await started.exited).to.equal(0);
    expect(existsSync(path.join(dbpath, LOCK_FILE))).to.equal(false);
    // Stopped: the directory opens again.
    const again = run(['server/src/db/memory/cli.ts', '--port', '0', '--dbpath', dbpath]);
    while (!/mongodb:\/\//.test(again.output()) && again.child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(again.output()).to.match(/mongodb:\/\//);
    again.child.kill('SIGTERM');
    await again.exited;
  });
});
