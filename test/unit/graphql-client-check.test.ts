import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLIENT_DIR, PROJECT_ROOT, SCHEMA_FILE } from '../../server/src/paths';

const run = promisify(execFile);

/** Runs `gql.tada check` (the last step of `npm run typecheck`) on a project of two client modules. */
async function check(files: Record<string, string>): Promise<{ code: number; output: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-gql-check-'));
  try {
    const tsconfig = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'ESNext',
        moduleResolution: 'Bundler',
        lib: ['ES2022', 'DOM'],
        skipLibCheck: true,
        plugins: [{ name: 'gql.tada/ts-plugin', schema: SCHEMA_FILE, tadaOutputLocation: path.join(CLIENT_DIR, 'src', 'api', 'graphql-env.d.ts') }],
      },
      include: Object.keys(files),
    };
    await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
    const cli = path.join(PROJECT_ROOT, 'node_modules', 'gql.tada', 'bin', 'cli.js');
    return await run(process.execPath, [cli, 'check', '-c', path.join(dir, 'tsconfig.json')], { cwd: dir }).then(
      ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const api = JSON.stringify(path.join(CLIENT_DIR, 'src', 'api', 'graphql.ts').replace(/\.ts$/, ''));

describe('typed client operations (gql.tada check in npm run typecheck)', function () {
  this.timeout(120_000);

  it('fails on a misspelled field in a client query and names it, and passes the same query spelled right', async () => {
    const { code, output } = await check({
      'right.ts': `import { graphql } from ${api};\nexport const Me = graphql(\`query Me { viewer { user { fullName } } }\`);\n`,
      'misspelled.ts': `import { graphql } from ${api};\nexport const Me = graphql(\`query MeAgain { viewer { user { fullNme } } }\`);\n`,
    });
    expect(code).to.not.equal(0);
    expect(output).to.include('misspelled.ts').and.include('Cannot query field "fullNme" on type "User"');
    expect(output).to.not.include('right.ts');
  });
});
