import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Whether a process with this id is still there (a zombie reaped by init counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 100));
}

// The application starts the built-in database as connect.ts does: a child with an IPC channel.
const APPLICATION = `
import { spawn } from 'node:child_process';
const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/db/memory/cli.ts', '--port', '0', '--dbpath', process.argv[1]], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
child.stdout.on('data', (chunk) => { if (/mongodb:/.test(String(chunk))) console.log('database ' + child.pid); });
`;

describe('the built-in database process', function () {
  // Two Node processes start through tsx and the database opens its files: slow on a busy machine.
  this.timeout(120_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-dbproc-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stops when the application that started it is killed, and a signal to the whole group does not stop it while the application lives', async () => {
    const application = spawn(process.execPath, ['--input-type=module', '-e', APPLICATION, path.join(dir, 'memory')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const databasePid = await new Promise<number>((resolve, reject) => {
      let output = '';
      application.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const found = /database (\d+)/.exec(output);
        if (found) resolve(Number(found[1]));
      });
      application.once('exit', (code) => reject(new Error(`the application exited (${code}) before its database was ready`)));
    });
    // Ctrl-C reaches the database too; the application decides when it stops.
    process.kill(databasePid, 'SIGINT');
    process.kill(databasePid, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(alive(databasePid), 'the database stopped on a signal meant for the application').to.equal(true);

    application.kill('SIGKILL');
    await until(() => !alive(databasePid));
    expect(alive(databasePid)).to.equal(false);
  });
});
