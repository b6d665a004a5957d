/**
 * bench:live — how long a change takes to reach the colleagues watching its folder over
 * server-sent events: from the writer sending createCard to each watcher receiving the event,
 * through the whole stack (HTTP, GraphQL, the transaction, the bus, the per-subscriber filter).
 *   npm run bench:live [-- --watchers 50 --changes 40]
 */
import { parseArgs } from 'node:util';
import { ApiClient } from '../test/support/api-client';
import { createFolder, createLibrary, createUser, setFolderAccess } from '../test/support/fixtures';
import { SseSubscription } from '../test/support/sse';
import { waitFor } from '../test/support/wait';
import { BENCH_ADMIN, benchDatabaseUri, ms, percentile, printMachine, startBenchServer } from './support';

const { values: args } = parseArgs({ options: { watchers: { type: 'string', default: '50' }, changes: { type: 'string', default: '40' } } });
const WATCHERS = Number(args.watchers);
const CHANGES = Number(args.changes);
const PASSWORD = 'bench-password-1';
const EVENTS = 'subscription { cardEvents { cardId } }';

printMachine();
const database = await benchDatabaseUri();
const server = await startBenchServer(database.uri);
console.log(`database: ${database.kind}; ${WATCHERS} watchers of one folder, ${CHANGES} cards created one after another`);

async function signIn(login: string, password: string): Promise<ApiClient> {
  const client = new ApiClient(server.url);
  await client.data('mutation($l: String!, $p: String!) { signIn(login: $l, password: $p) { user { id } } }', { l: login, p: password });
  return client;
}

try {
  const admin = await signIn(BENCH_ADMIN.login, BENCH_ADMIN.password);
  const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
  const folder = await createFolder(admin, { libraryId: await createLibrary(admin, 'Живая библиотека'), name: 'Общая' });
  const writerId = await createUser(admin, { login: 'writer', fullName: 'Автор', password: PASSWORD, departmentId });
  const watcherIds: string[] = [];
  for (let i = 0; i < WATCHERS; i += 1) watcherIds.push(await createUser(admin, { login: `watcher${i}`, fullName: `Наблюдатель ${i}`, password: PASSWORD, departmentId }));
  await setFolderAccess(admin, folder, [{ principalId: writerId, level: 'edit' }, ...watcherIds.map((principalId) => ({ principalId, level: 'read' as const }))]);

  const writer = await signIn('writer', PASSWORD);
  const streams: SseSubscription<{ cardEvents: { cardId: string } }>[] = [];
  for (let i = 0; i < WATCHERS; i += 1) streams.push(new SseSubscription(server.url, (await signIn(`watcher${i}`, PASSWORD)).cookieHeader(), EVENTS));
  await Promise.all(streams.map((stream) => stream.ready));

  // A stream may not be listening yet when its response starts: warm up until each has an event,
  // then wait for a marker everywhere, so no warm-up event is still on its way.
  const create = (name: string) =>
    writer.data<{ createCard: { id: string } }>('mutation($f: ID!, $n: String!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: $n }) { id } }', {
      f: folder,
      n: name,
    });
  for (let warmUp = 1; ; warmUp += 1) {
    await create(`ООО «Разминка ${warmUp}»`);
    if (
      await Promise.all(streams.map((stream) => stream.waitFor(1, 2000))).then(
        () => true,
        () => false,
      )
    )
      break;
  }
  const marker = (await create('ООО «Метка»')).createCard.id;
  await Promise.all(streams.map((stream) => waitFor(() => stream.received.some((event) => event.cardEvents.cardId === marker), 'the marker on every stream', 60_000)));

  const delivery: number[] = [];
  const lastWatcher: number[] = [];
  for (let change = 0; change < CHANGES; change += 1) {
    const seen = streams.map((stream) => stream.received.length);
    const started = performance.now();
    const arrived = streams.map((stream, i) => stream.waitFor(seen[i] + 1, 60_000).then(() => performance.now() - started));
    await create(`ООО «Изменение ${change}»`);
    const times = await Promise.all(arrived);
    delivery.push(...times);
    lastWatcher.push(Math.max(...times));
  }
  for (const stream of streams) stream.close();

  console.log(
    `event delivery, per watcher (${delivery.length} deliveries): p50 ${ms(percentile(delivery, 50))}, p95 ${ms(percentile(delivery, 95))}, max ${ms(Math.max(...delivery))}`,
  );
  console.log(`a change reaching all ${WATCHERS} watchers: p50 ${ms(percentile(lastWatcher, 50))}, p95 ${ms(percentile(lastWatcher, 95))}, max ${ms(Math.max(...lastWatcher))}`);
} finally {
  await server.stop();
  await database.stop();
}
