import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `npm run seed -- …` is `node --import tsx seeds/cli.ts …`: its answers to options it cannot run with. */
describe('seed command line', function () {
  this.timeout(60_000);

  it('prints its usage for --help and exits without touching a database', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'seeds/cli.ts', '--help'], { env: { ...process.env, MONGODB_URI: 'mongodb://127.0.0.1:1/none' } });
    expect(stdout).to.contain('Usage: npm run seed -- [options]');
    expect(stdout).to.contain('--cards N');
    expect(stdout).to.contain('--reader-folders N');
  });

  it('names an unknown option and shows the usage, exiting with an error', async () => {
    const failure = await run(process.execPath, ['--import', 'tsx', 'seeds/cli.ts', '--bogus'], { env: { ...process.env, MONGODB_URI: 'mongodb://127.0.0.1:1/none' } }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).to.equal(2);
    expect(failure?.stderr).to.contain("Unknown option '--bogus'");
    expect(failure?.stderr).to.contain('Usage: npm run seed -- [options]');
  });
});
