/**
 * `npm run bench:http` — the request path end to end, as a user's browser drives it: the real
 * server in production mode (dist/server, built first) and the built-in database in a process of
 * its own (its production bundle, as the server starts it), the client's own GraphQL queries over HTTP with a real
 * session cookie, driven by autocannon. For each installation size it prints req/s, p50, p99,
 * errors, CPU ms per request of the server and of the database process, and their RSS; then the
 * server process's own RSS at idle before the load, its peak under it, and at idle after it.
 * The server is started with the node flags of `npm run start:prod` (its heap limit among them).
 *
 *   npm run bench:http -- [--dbpath DIR] [--sizes 10000,1000000] [--seconds 10] [--streams 400] [--profile] [--only "folder page,streams"] [--prepare]
 *
 * Installations are generated once per size with `npm run seed` and kept under DIR/<size>
 * (default data/bench); later runs reuse them, unless the seed's generator changed since
 * (`GENERATOR` in seeds/generate.ts). `--prepare` only makes each installation ready — generated,
 * and the background jobs the server queues at its first start done — and measures nothing:
 * a 1M installation takes a quarter of an hour, so it can be made ahead of a quiet-machine run. With MONGODB_URI set, that database is used
 * instead of the built-in one (database per size: kartoteka_bench_<size>). --profile writes CPU
 * profiles of both processes and prints where the server's time goes. Numbers depend on what
 * else runs on the machine: the load average is printed with them.
 */
import pLimit from 'p-limit';
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MongoClient, ObjectId } from 'mongodb';
import { GENERATOR, type Dataset } from '../seeds/generate';
import { printProfile } from './profile';
import { cpuMs, printMachine } from './support';

const { values: args } = parseArgs({
  options: {
    dbpath: { type: 'string', default: 'data/bench' },
    sizes: { type: 'string', default: '10000,1000000' },
    seconds: { type: 'string', default: '10' },
    streams: { type: 'string', default: '400' },
    profile: { type: 'boolean', default: false },
    only: { type: 'string', default: '' },
    prepare: { type: 'boolean', default: false },
  },
});
const SIZES = args.sizes.split(',').map(Number);
const SECONDS = Number(args.seconds);
const STREAMS = Number(args.streams);
const ROOT = path.resolve(args.dbpath);
/** Scenarios to run, by the start of their names (e.g. "folder page,streams"); all when empty. */
const ONLY = args.only
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const PROFILE_DIR = path.resolve('data/bench-profiles');

// ---------- the client's queries (client/src/workspace/api.ts, client/src/workspace/live.ts) ----------

const ROW_FIELDS = 'id typeKey title values version createdAt updatedAt unread { isNew changedFields } references { fieldKey id title accessible inTrash }';
const CARD_FIELDS = `${ROW_FIELDS} folderId createdAt inTrash createdBy { fullName } updatedBy { fullName }`;
const QUERIES = {
  cardPage: `query CardPage($folderId: ID!, $first: Int, $after: String, $sortBy: String, $descending: Boolean, $filters: [CardFilterInput!]) {
      cards(folderId: $folderId, first: $first, after: $after, sortBy: $sortBy, descending: $descending, filters: $filters) {
        pageInfo { hasNextPage endCursor } edges { node { ${ROW_FIELDS} } } } }`,
  cards: `query Cards($ids: [ID!]!) { cards(ids: $ids) { edges { node { ${CARD_FIELDS} } } } }`,
  openCard: `mutation OpenCard($id: ID!) { openCard(id: $id) { ${CARD_FIELDS} } }`,
  updateCard: `mutation UpdateCard($id: ID!, $version: Int!, $values: JSON!) { updateCard(id: $id, version: $version, values: $values) { ${CARD_FIELDS} } }`,
  unreadCounts: 'query UnreadCounts { unreadCounts { folderId count } }',
  search:
    'query Search($query: String!, $libraryId: ID, $first: Int) { search(query: $query, libraryId: $libraryId, first: $first) { exact card { id title typeKey folderId values } foundInFiles { id name } } searchIndexing { percent } }',
  // Nothing but what every request pays: HTTP, the middleware, the session, GraphQL's pipeline.
  signedIn: '{ __typename }',
  signIn: 'mutation SignIn($login: String!, $password: String!) { signIn(login: $login, password: $password) { user { id } } }',
  live: 'subscription Live { live { cardEvent { cardId folderId previousFolderId action actorId actorName } unreadCounts { folderId count } } }',
};

/** What a browser's request carries through the HTTPS proxy production runs behind. */
const HEADERS = { 'content-type': 'application/json', 'x-forwarded-proto': 'https' };

// ---------- processes ----------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Resident memory of a process in MB: all of it, and the anonymous part (heap, buffers; not mapped files). */
function rssMb(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 };
}

/** A process's RSS after `seconds` in which nothing is asked of it. */
async function quietRss(pid: number, seconds: number): Promise<{ rss: number; anon: number }> {
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  return rssMb(pid);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT');
  });
}

/**
 * The built-in database in its own process, data kept under `dbpath`: the bundle the server starts
 * in production (dist/server/db/memory/cli.js, plain node), not its sources under tsx — tsx names
 * every function as it is made, which cost the engine's query planning twice its CPU.
 */
async function startDatabase(dbpath: string, profile: boolean): Promise<{ uri: string; child: ChildProcess }> {
  mkdirSync(dbpath, { recursive: true });
  const profiling = profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(PROFILE_DIR, 'database')}`] : [];
  // With the server's node flags, as it passes its own to the database it starts.
  const child = spawn(process.execPath, [...profiling, ...productionNodeFlags(), 'dist/server/db/memory/cli.js', '--port', '0', '--dbpath', dbpath], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const uri = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.startsWith('mongodb://'));
      if (line) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`the database exited (${code}) before it printed its address`)));
  });
  return { uri, child };
}

/** The node flags `npm run start:prod` runs the server with: the benchmark measures the server production runs. */
function productionNodeFlags(): string[] {
  const script = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts['start:prod'];
  const words = script.split(/\s+/);
  const node = words.indexOf('node');
  const main = words.indexOf('dist/server/main.js');
  if (node < 0 || main < node) throw new Error(`start:prod does not run node … dist/server/main.js: ${script}`);
  return words.slice(node + 1, main);
}
const SERVER_FLAGS = productionNodeFlags();

async function startKartoteka(uri: string, profile: boolean): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const profiling = profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(PROFILE_DIR, 'server')}`] : [];
  // Spawned directly (not through npm): its pid is the server's, whose RSS is measured.
  const child = spawn(process.execPath, [...profiling, ...SERVER_FLAGS, 'dist/server/main.js'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      MONGODB_URI: uri,
      SESSION_SECRET: 'bench-session-secret-bench-session-secret',
      // As behind the HTTPS proxy production expects: the benchmark's requests say they came over HTTPS.
      TRUST_PROXY: 'true',
      LOG_LEVEL: 'warn',
      SEED_DEMO_DATA: 'false',
      ADMIN_PASSWORD: 'bench-admin-password',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  // A first start after an upgrade migrates before it listens: at 1M cards data-model step 7 took about 3 minutes.
  for (const deadline = Date.now() + 15 * 60_000; ;) {
    if (child.exitCode !== null) throw new Error('the server exited while starting');
    const healthy = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) return { url, child };
    if (Date.now() > deadline) throw new Error('the server did not become healthy within 15 minutes');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// ---------- the installation ----------

/**
 * Building the indexes of a million cards keeps the built-in database busy for minutes at a time:
 * the seed's driver must not take that for a dead server.
 */
function patientUri(uri: string): string {
  const url = new URL(uri);
  for (const [option, value] of [
    ['connectTimeoutMS', '3600000'],
    ['socketTimeoutMS', '0'],
    ['serverSelectionTimeoutMS', '3600000'],
  ])
    url.searchParams.set(option, value);
  return url.toString();
}

/** The same server, another database name. */
function withDatabase(uri: string, dbName: string): string {
  const url = new URL(uri);
  url.pathname = `/${dbName}`;
  return url.toString();
}

function shapeOf(cards: number) {
  const folders = Math.max(10, Math.round(cards / 100));
  return { cards, folders, users: 1000, readerFolders: Math.min(200, Math.max(1, Math.floor(folders / 5))) };
}

async function datasetIn(uri: string, dbName: string, cards: number): Promise<Dataset> {
  const shape = shapeOf(cards);
  const client = await MongoClient.connect(patientUri(uri));
  try {
    const db = client.db(dbName);
    const stored = await db.collection('meta').findOne({ _id: 'bench-dataset' as never });
    if (stored && stored.generator === GENERATOR && stored.cards === shape.cards && stored.folders === shape.folders && stored.users === shape.users)
      return stored as unknown as Dataset;
    if (stored || (await db.listCollections().toArray()).length > 0) await db.dropDatabase();
  } finally {
    await client.close();
  }
  console.log(`generating ${shape.cards.toLocaleString('en')} cards, ${shape.folders.toLocaleString('en')} folders, ${shape.users.toLocaleString('en')} users (npm run seed)…`);
  const started = Date.now();
  const seeded = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'seeds/cli.ts',
      '--cards',
      String(shape.cards),
      '--folders',
      String(shape.folders),
      '--users',
      String(shape.users),
      '--reader-folders',
      String(shape.readerFolders),
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, MONGODB_URI: patientUri(withDatabase(uri, dbName)), LOG_LEVEL: 'warn', ADMIN_PASSWORD: 'bench-admin-password' },
    },
  );
  if (seeded.status !== 0) throw new Error(`npm run seed failed (${seeded.status})`);
  console.log(`generated in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return datasetIn(uri, dbName, cards);
}

/** The reader's read state in their own folder back to none, and the work cards' versions: runs stay comparable. */
async function resetWork(uri: string, dbName: string, dataset: Dataset): Promise<Map<string, number>> {
  const client = await MongoClient.connect(patientUri(uri));
  try {
    const db = client.db(dbName);
    await db.collection('reads').deleteMany({ folderId: new ObjectId(dataset.workFolderId) });
    const cards = await db
      .collection('cards')
      .find({ _id: { $in: dataset.workCardIds.map((id) => new ObjectId(id)) } }, { projection: { version: 1 } })
      .toArray();
    return new Map(cards.map((c) => [String(c._id), Number(c.version)]));
  } finally {
    await client.close();
  }
}

/** A card of the folder page: what a user would search for it by. */
async function searchTerms(uri: string, dbName: string, dataset: Dataset): Promise<{ inn: string; name: string; commonWords: string }> {
  const client = await MongoClient.connect(patientUri(uri));
  try {
    const card = await client
      .db(dbName)
      .collection('cards')
      .findOne({ folderId: new ObjectId(dataset.pageFolderId) }, { projection: { values: 1 } });
    const name = String(card!.values.name);
    return { inn: String(card!.values.inn), name, commonWords: name.replace(/[-\d«»]+/g, ' ').trim() };
  } finally {
    await client.close();
  }
}

/**
 * Background work the server queued at its start (e.g. the first duplicate scan of cards stored
 * before duplicate detection existed) runs once per installation: measured while it runs, every
 * scenario would carry its CPU. The benchmark waits for it, printing its progress.
 */
async function backgroundJobsDone(uri: string, dbName: string): Promise<void> {
  const client = await MongoClient.connect(patientUri(uri));
  try {
    const jobs = client.db(dbName).collection('jobs');
    let said = '';
    for (;;) {
      const active = await jobs.find({ state: { $in: ['queued', 'running'] } }, { projection: { type: 1, progress: 1 } }).toArray();
      if (active.length === 0) break;
      const line = active
        .map((job) => `${String(job.type)} ${Number(job.progress?.done ?? 0).toLocaleString('en')}/${Number(job.progress?.total ?? 0).toLocaleString('en')}`)
        .join(', ');
      if (!said) console.log('waiting for the background jobs the server started (once per installation):');
      if (line !== said) console.log(`  ${line}`);
      said = line;
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
  } finally {
    await client.close();
  }
}

// ---------- HTTP ----------

async function signIn(url: string, login: string, password: string): Promise<string> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { ...HEADERS, accept: 'application/json' },
    body: JSON.stringify({ query: QUERIES.signIn, variables: { login, password } }),
  });
  const body = (await response.json()) as { errors?: unknown[] };
  if (body.errors) throw new Error(`sign-in failed: ${JSON.stringify(body.errors)}`);
  return response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .filter((pair) => !pair.endsWith('='))
    .join('; ');
}

interface Measured {
  name: string;
  connections: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  serverCpuMs: number;
  dbCpuMs: number;
  serverRss: number;
  dbRss: number;
  dbAnon: number;
}

interface Scenario {
  name: string;
  connections: number;
  /** A fixed request, or one made per request from the connection's own state. */
  body?: string;
  setup?: (context: Record<string, unknown>) => string;
  onResponse?: (body: string, context: Record<string, unknown>) => void;
}

async function measure(target: { url: string; cookie: string; serverPid: number; dbPid: number | null }, scenario: Scenario, seconds = SECONDS): Promise<Measured> {
  let errors = 0;
  let peak = { server: 0, db: 0, dbAnon: 0 };
  const sample = () => {
    const server = rssMb(target.serverPid).rss;
    const db = target.dbPid ? rssMb(target.dbPid) : { rss: 0, anon: 0 };
    peak = { server: Math.max(peak.server, server), db: Math.max(peak.db, db.rss), dbAnon: Math.max(peak.dbAnon, db.anon) };
  };
  const sampler = setInterval(sample, 250);
  const cpu0 = { server: cpuMs(target.serverPid), db: target.dbPid ? cpuMs(target.dbPid) : 0 };
  const result = await autocannon({
    url: `${target.url}/graphql`,
    connections: scenario.connections,
    duration: seconds,
    method: 'POST',
    headers: { ...HEADERS, accept: 'application/json', cookie: target.cookie },
    requests: [
      {
        method: 'POST',
        ...(scenario.body ? { body: scenario.body } : {}),
        ...(scenario.setup ? { setupRequest: (request: Record<string, unknown>, context: Record<string, unknown>) => ({ ...request, body: scenario.setup!(context) }) } : {}),
        onResponse: (status: number, body: string, context: Record<string, unknown>) => {
          if (status !== 200 || body.includes('"errors"')) errors += 1;
          scenario.onResponse?.(body, context);
        },
      } as autocannon.Request,
    ],
  });
  clearInterval(sampler);
  sample();
  const cpu1 = { server: cpuMs(target.serverPid), db: target.dbPid ? cpuMs(target.dbPid) : 0 };
  const requests = result.requests.total;
  return {
    name: scenario.name,
    connections: scenario.connections,
    requests,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: errors + result.errors + result.non2xx,
    serverCpuMs: (cpu1.server - cpu0.server) / Math.max(1, requests),
    dbCpuMs: (cpu1.db - cpu0.db) / Math.max(1, requests),
    serverRss: peak.server,
    dbRss: peak.db,
    dbAnon: peak.dbAnon,
  };
}

/**
 * The reader's first unread-counts question after the start, before any other request of theirs
 * (nothing of their counts or read state is kept yet), and how long until the counts stop changing:
 * what a user signing in after a restart waits for their badges.
 */
async function firstUnreadCounts(target: { url: string; cookie: string }): Promise<{ ms: number; folders: number; againMs: number; settledMs: number }> {
  const ask = async () => {
    const t0 = performance.now();
    const response = await fetch(`${target.url}/graphql`, {
      method: 'POST',
      headers: { ...HEADERS, accept: 'application/json', cookie: target.cookie },
      body: JSON.stringify({ query: QUERIES.unreadCounts }),
    });
    const body = (await response.json()) as { data?: { unreadCounts: { folderId: string; count: number }[] }; errors?: unknown[] };
    if (!body.data) throw new Error(`unread counts failed: ${JSON.stringify(body.errors)}`);
    return { ms: performance.now() - t0, counts: JSON.stringify([...body.data.unreadCounts].sort((a, b) => (a.folderId < b.folderId ? -1 : 1))) };
  };
  const started = performance.now();
  const first = await ask();
  const again = await ask();
  let last = again.counts;
  let settledAt = performance.now();
  for (const until = started + 30_000; performance.now() < until;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const next = await ask();
    if (next.counts !== last) settledAt = performance.now();
    last = next.counts;
    if (performance.now() - settledAt > 3000) break;
  }
  return {
    ms: first.ms,
    folders: (JSON.parse(first.counts) as unknown[]).length,
    againMs: again.ms,
    settledMs: (first.counts === last ? started + first.ms : settledAt) - started,
  };
}

/**
 * Opens `count` live streams as the client's tabs do (5 per session: count / 5 sessions), reading and
 * dropping what arrives; eight at a time, as tabs opening one after another would (one user's requests
 * beyond USER_REQUESTS_AT_ONCE and its waiting line are refused).
 */
async function openStreams(url: string, dataset: Dataset, count: number): Promise<AbortController> {
  const controller = new AbortController();
  // Ten sign-ins at a time: the sign-in throttle lets at most 20 of one login and address wait (more are refused at once).
  const sessions: string[] = [];
  while (sessions.length < Math.ceil(count / 5)) {
    sessions.push(...(await Promise.all(Array.from({ length: Math.min(10, Math.ceil(count / 5) - sessions.length) }, () => signIn(url, dataset.readerLogin, dataset.password)))));
  }
  const opening = pLimit(8);
  const opened: Promise<void>[] = [];
  for (let i = 0; i < count; i += 1) {
    opened.push(
      opening(() =>
        fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { ...HEADERS, accept: 'text/event-stream', cookie: sessions[Math.floor(i / 5)] },
          body: JSON.stringify({ query: QUERIES.live }),
          signal: controller.signal,
        }).then((response) => {
          if (!response.ok || !response.body) throw new Error(`stream ${i}: HTTP ${response.status}`);
          void (async () => {
            try {
              for await (const chunk of response.body!) void chunk;
            } catch {
              // aborted at the end of the run
            }
          })();
        }),
      ),
    );
  }
  await Promise.all(opened);
  return controller;
}

/** Card changes by a colleague in the reader's folder, one after another, while `during` runs. */
async function changesDuring<T>(
  url: string,
  cookie: string,
  cards: { id: string; version: number }[],
  during: () => Promise<T>,
): Promise<{ result: T; changes: number; msPerChange: number }> {
  let running = true;
  let changes = 0;
  let spent = 0;
  const writer = (async () => {
    for (let i = 0; running; i += 1) {
      const card = cards[i % cards.length];
      const t0 = performance.now();
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { ...HEADERS, accept: 'application/json', cookie },
        body: JSON.stringify({ query: QUERIES.updateCard, variables: { id: card.id, version: card.version, values: { notes: `правка ${Date.now()}` } } }),
      });
      const body = (await response.json()) as { data?: { updateCard: { version: number } } };
      spent += performance.now() - t0;
      if (body.data) card.version = body.data.updateCard.version;
      changes += 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const result = await during();
  running = false;
  await writer;
  return { result, changes, msPerChange: spent / Math.max(1, changes) };
}

// ---------- the run ----------

const fmt = (value: number, digits = 1) => value.toFixed(digits);
const table = (rows: Measured[]) => {
  console.log(
    `  ${'scenario'.padEnd(30)} ${'conn'.padStart(4)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'errors'.padStart(6)} ${'CPU ms/req srv'.padStart(14)} ${'db'.padStart(6)} ${'RSS MB srv'.padStart(10)} ${'db'.padStart(6)} ${'db anon'.padStart(7)}`,
  );
  for (const r of rows) {
    console.log(
      `  ${r.name.padEnd(30)} ${String(r.connections).padStart(4)} ${fmt(r.rps, 0).padStart(8)} ${fmt(r.p50).padStart(7)} ${fmt(r.p99).padStart(7)} ${String(r.errors).padStart(6)} ${fmt(r.serverCpuMs, 2).padStart(14)} ${fmt(r.dbCpuMs, 2).padStart(6)} ${fmt(r.serverRss, 0).padStart(10)} ${fmt(r.dbRss, 0).padStart(6)} ${fmt(r.dbAnon, 0).padStart(7)}`,
    );
  }
};

printMachine();
console.log(
  `load average before the run: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (other work on the machine skews these numbers)`,
);
console.log('building the server bundle (npm run build:server)…');
if (spawnSync('npm', ['run', '--silent', 'build:server'], { stdio: 'inherit' }).status !== 0) throw new Error('npm run build:server failed');

const pageP50 = new Map<number, number>();
for (const size of SIZES) {
  if (args.profile) rmSync(PROFILE_DIR, { recursive: true, force: true });
  const external = process.env.MONGODB_URI;
  const dbName = external ? `kartoteka_bench_${size}` : 'kartoteka';
  const database = external ? null : await startDatabase(path.join(ROOT, String(size)), args.profile);
  const uri = external ?? database!.uri;
  let server: { url: string; child: ChildProcess } | null = null;
  try {
    const dataset = await datasetIn(uri, dbName, size);
    const versions = await resetWork(uri, dbName, dataset);
    const terms = await searchTerms(uri, dbName, dataset);
    server = await startKartoteka(withDatabase(uri, dbName), args.profile);
    await backgroundJobsDone(uri, dbName);
    if (args.prepare) {
      console.log(`${size.toLocaleString('en')} cards: the installation is ready${database ? ` in ${path.join(ROOT, String(size))}` : ''}`);
      continue;
    }
    const cookie = await signIn(server.url, dataset.readerLogin, dataset.password);
    const writerCookie = await signIn(server.url, dataset.writerLogin, dataset.password);
    const target = { url: server.url, cookie, serverPid: server.child.pid!, dbPid: database?.child.pid ?? null };
    const firstCounts = await firstUnreadCounts(target);
    const idleBefore = await quietRss(target.serverPid, 5);
    console.log(
      `\n== ${dataset.cards.toLocaleString('en')} cards, ${dataset.folders.toLocaleString('en')} folders, ${dataset.users.toLocaleString('en')} users; ` +
        `the reader reads ${dataset.readerFolders} folders with ${dataset.unread.toLocaleString('en')} unread cards; ${external ? 'MongoDB (MONGODB_URI)' : 'built-in database (its production bundle)'}; ${SECONDS} s per scenario`,
    );
    const page = JSON.stringify({
      query: QUERIES.cardPage,
      variables: { folderId: dataset.pageFolderId, first: 50, after: null, sortBy: 'updatedAt', descending: true, filters: [] },
    });
    await measure(target, { name: 'warm-up', connections: 4, body: page }, 3);
    let next = 0;
    let streamSummary = '';
    // Cards not being edited right now, and the version each last answered with: every request
    // edits an idle card with its current version (autocannon keeps no state per connection).
    const idle = dataset.workCardIds.slice(0, 100);
    const updating: Scenario = {
      name: 'updateCard',
      connections: 10,
      setup: (context) => {
        context.card = idle.shift();
        return JSON.stringify({
          query: QUERIES.updateCard,
          variables: { id: context.card, version: versions.get(context.card as string), values: { notes: `правка ${Date.now()}` } },
        });
      },
      onResponse: (body, context) => {
        // The new version, or the current one a CONFLICT reports.
        const version = /"version":(\d+)/.exec(body)?.[1];
        if (version) versions.set(context.card as string, Number(version));
        idle.push(context.card as string);
      },
    };
    // The last three cost what the unread cards or the matches cost; a slow one can keep the
    // database busy after its scenario ends, so they come after the rest.
    const scenarios: Scenario[] = [
      { name: 'signed-in { __typename }', connections: 10, body: JSON.stringify({ query: QUERIES.signedIn }) },
      { name: 'folder page (CardPage)', connections: 1, body: page },
      { name: 'folder page (CardPage)', connections: 10, body: page },
      { name: 'card by id (Cards)', connections: 10, body: JSON.stringify({ query: QUERIES.cards, variables: { ids: [dataset.workCardIds[0]] } }) },
      { name: 'openCard', connections: 10, setup: () => JSON.stringify({ query: QUERIES.openCard, variables: { id: dataset.workCardIds[next++ % dataset.workCardIds.length] } }) },
      updating,
      { name: 'streams' } as Scenario,
      { name: 'unread counts (UnreadCounts)', connections: 10, body: JSON.stringify({ query: QUERIES.unreadCounts }) },
      { name: 'search by INN (Search)', connections: 10, body: JSON.stringify({ query: QUERIES.search, variables: { query: terms.inn, libraryId: null, first: 30 } }) },
      // Full text: the name's words, one of them shared by a twelfth of all cards.
      { name: 'search by name (Search)', connections: 10, body: JSON.stringify({ query: QUERIES.search, variables: { query: terms.name, libraryId: null, first: 30 } }) },
      // The name's common words alone («ООО Вектор»): every card has one, a twelfth both.
      {
        name: 'search common words (Search)',
        connections: 10,
        body: JSON.stringify({ query: QUERIES.search, variables: { query: terms.commonWords, libraryId: null, first: 30 } }),
      },
    ];
    const rows: Measured[] = [];
    for (const scenario of scenarios.filter((s) => ONLY.length === 0 || ONLY.some((prefix) => s.name.startsWith(prefix)))) {
      if (scenario.name !== 'streams') {
        rows.push(await measure(target, scenario));
        if (scenario.name === 'folder page (CardPage)' && scenario.connections === 10) pageP50.set(size, rows.at(-1)!.p50);
        continue;
      }
      // Live streams: the same page while a colleague changes cards in the reader's folder, without and with streams open.
      const latest = await resetWork(uri, dbName, dataset);
      const changing = dataset.workCardIds.slice(100, 110).map((id) => ({ id, version: latest.get(id)! }));
      const quiet = await changesDuring(server.url, writerCookie, changing, () => measure(target, { name: 'page, 0 streams, changes', connections: 10, body: page }));
      const streams = await openStreams(server.url, dataset, STREAMS);
      const busy = await changesDuring(server.url, writerCookie, changing, () => measure(target, { name: `page, ${STREAMS} streams, changes`, connections: 10, body: page }));
      streams.abort();
      rows.push(quiet.result, busy.result);
      streamSummary = `  a colleague's change took ${fmt(quiet.msPerChange)} ms with no streams open, ${fmt(busy.msPerChange)} ms with ${STREAMS} (${quiet.changes} and ${busy.changes} changes); page p50 with ${STREAMS} streams / without: ${fmt(busy.result.p50 / Math.max(quiet.result.p50, 0.001), 2)}×`;
    }
    table(rows);
    console.log(
      `  the reader's first unread counts after the database and the server started: answered in ${fmt(firstCounts.ms, 0)} ms (${firstCounts.folders} folders counted); ` +
        `the next question ${fmt(firstCounts.againMs, 0)} ms; the counts of all folders as counted by then ${fmt(firstCounts.settledMs, 0)} ms after the first question`,
    );
    if (streamSummary) console.log(streamSummary);
    const peak = rows.reduce((top, row) => (row.serverRss > top.serverRss ? row : top), rows[0]);
    const idleAfter = await quietRss(target.serverPid, 10);
    console.log(
      `  server process RSS, ${dataset.cards.toLocaleString('en')} cards: idle ${fmt(idleBefore.rss, 0)} MB (anonymous ${fmt(idleBefore.anon, 0)}) before the load, ` +
        `peak ${fmt(peak.serverRss, 0)} MB (${peak.name}, ${peak.connections} conn), idle ${fmt(idleAfter.rss, 0)} MB (anonymous ${fmt(idleAfter.anon, 0)}) 10 s after it; ` +
        `node ${SERVER_FLAGS.join(' ')} (start:prod)`,
    );
  } finally {
    if (server) await stop(server.child);
    if (database) await stop(database.child);
  }
  if (args.profile) for (const process of ['server', 'database']) printProfile(path.join(PROFILE_DIR, process), process);
}
if (pageP50.size >= 2) {
  const [small, large] = [Math.min(...pageP50.keys()), Math.max(...pageP50.keys())];
  console.log(
    `\nfolder page p50 at 10 connections: ${large.toLocaleString('en')} cards / ${small.toLocaleString('en')} cards = ${fmt(pageP50.get(large)! / pageP50.get(small)!, 2)}×`,
  );
}
