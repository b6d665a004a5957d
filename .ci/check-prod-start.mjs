// CI: the production start from a fresh clone. Clones this checkout, copies in the build output
// (`npm run build` must have run, as in the Dockerfile's build stage), installs production
// dependencies only, then checks that `npm run start:prod` refuses to start without a database
// setting, and that with EMBEDDED_DB=true it answers /healthz, serves the client and lets the
// first administrator sign in with the password from the frame it printed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const clone = await mkdtemp(path.join(tmpdir(), 'kartoteka-prod-'));
const STARTUP_LIMIT_MS = 120_000;

function check(condition, what) {
  if (!condition) throw new Error(`production start: ${what}`);
  console.log(`  ✔ ${what}`);
}

/**
 * Runs `npm run start:prod` in the clone (a process group: npm, the server and its database
 * process). `result` resolves with the output once `until` matches it, or when all of them are
 * gone; `closed` when the last one has closed its output.
 */
function startProd(env, until) {
  const child = spawn('npm', ['run', '--silent', 'start:prod'], { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const closed = new Promise((resolve) => child.on('close', (exitCode) => resolve(exitCode)));
  const result = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${STARTUP_LIMIT_MS} ms:\n${output}`)), STARTUP_LIMIT_MS);
    const seen = (chunk) => {
      output += chunk;
      if (until?.test(output)) {
        clearTimeout(timer);
        resolve({ output, exitCode: null });
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    void closed.then((exitCode) => {
      clearTimeout(timer);
      resolve({ output, exitCode });
    });
  });
  let done = false;
  void closed.then(() => (done = true));
  /** SIGTERM to the whole group, then waits until every process of it is gone. */
  const stop = async () => {
    if (!done) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch (error) {
        if (error.code !== 'ESRCH') throw error;
      }
    }
    await closed;
  };
  return { result, stop, output: () => output };
}

let server;
try {
  console.log(`Production start from a fresh clone in ${clone}`);
  execFileSync('git', ['clone', '--quiet', root, clone], { stdio: 'inherit' });
  for (const built of ['dist', 'client/dist']) await cp(path.join(root, built), path.join(clone, built), { recursive: true });
  execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: clone, stdio: 'inherit' });
  check(!existsSync(path.join(clone, 'node_modules/tsx')) && !existsSync(path.join(clone, 'node_modules/vite')), 'the install has no development packages (tsx, vite)');

  const env = { ...process.env, SESSION_SECRET: randomBytes(32).toString('hex'), HOST: '127.0.0.1', PORT: '0', DATA_DIR: path.join(clone, 'data'), LOG_LEVEL: 'info' };
  for (const name of ['NODE_ENV', 'MONGODB_URI', 'EMBEDDED_DB', 'ADMIN_PASSWORD', 'REDIS_URL']) delete env[name];

  const refused = await startProd(env).result;
  check(refused.exitCode !== 0 && refused.output.includes('MONGODB_URI: required in production'), 'without MONGODB_URI it refuses to start and says why');

  // Behind its HTTPS proxy (deploy/Caddyfile), as production runs: the session cookie is Secure.
  const serverEnv = { ...env, EMBEDDED_DB: 'true', TRUST_PROXY: 'true' };
  server = startProd(serverEnv, /"msg":"Kartoteka is listening"/);
  const { output } = await server.result;
  const url = JSON.parse(output.split('\n').find((line) => line.includes('"msg":"Kartoteka is listening"'))).url;
  const password = /│ password: (\S+)/.exec(output)?.[1];
  check(Boolean(password), 'the generated administrator password is printed in a frame');

  const health = await fetch(`${url}/healthz`);
  check(health.status === 200 && (await health.json()).status === 'ok', 'GET /healthz answers 200 ok');
  const healthcheck = (port) => spawnSync('node', ['dist/server/healthcheck.js'], { cwd: clone, env: { ...serverEnv, NODE_ENV: 'production', PORT: port } }).status;
  check(healthcheck(new URL(url).port) === 0, "the image's health check (dist/server/healthcheck.js) passes");
  const page = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
  check(page.status === 200 && (await page.text()).includes('<div id="app">'), 'the built client is served');
  const signIn = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-forwarded-proto': 'https' },
    body: JSON.stringify({
      query: 'mutation ($login: String!, $password: String!) { signIn(login: $login, password: $password) { user { login } } }',
      variables: { login: 'admin', password },
    }),
  });
  const signedIn = await signIn.json();
  check(signedIn.data?.signIn?.user?.login === 'admin', `the administrator signs in with that password (${JSON.stringify(signedIn.errors ?? 'ok')})`);

  await server.stop();
  check(server.output().includes('"msg":"Kartoteka stopped"'), 'SIGTERM stops it cleanly');
  check(healthcheck(new URL(url).port) === 1, 'the health check fails once it is stopped');
} catch (error) {
  if (server) console.error(server.output());
  throw error;
} finally {
  await server?.stop();
  await rm(clone, { recursive: true, force: true });
}
