/**
 * A 50-card page of a folder, sorted by a field, with a filter: server time p50/p99, database
 * round trips per page, and the index the query uses — at 1,000 and at 100,000 cards.
 * What it leaves out: it calls listFolderCards with an actor built beforehand, so HTTP, GraphQL
 * (parsing, execution, the JSON answer), the session, the permissions and the unread flags are not
 * in its numbers — `npm run bench:http` measures the page as a browser asks for it.
 * Run: npm run bench:cards   (MONGODB_URI=… to measure against a real MongoDB)
 */
import { buildActor } from '../server/src/access/actor';
import { Card } from '../server/src/cards/model';
import { listFolderCards, type Connection } from '../server/src/cards/queries';
import type { CardDoc } from '../server/src/cards/model';
import { User, type UserDoc } from '../server/src/people/models';
import { generateCounterparties } from '../seeds/generate';
import { benchDatabaseUri, countRoundTrips, ms, percentile, printMachine, startBenchServer } from './support';

const SIZES = [1_000, 100_000];
const RUNS = 60;
const OPTIONS = { first: 50, sortBy: 'name', descending: false, filters: [{ field: 'tags', op: 'tags' as const, values: ['опт'] }] };

printMachine();
console.log('service level only: no HTTP, GraphQL, session, permissions or unread flags (npm run bench:http has them)');
const database = await benchDatabaseUri();
const server = await startBenchServer(database.uri);
console.log(`database: ${database.kind}`);
try {
  const admin = (await User.findOne({ loginKey: 'admin' }).lean<UserDoc>())!;
  const results: Record<number, number> = {};
  for (const size of SIZES) {
    const started = Date.now();
    const folderId = await generateCounterparties({ count: size, folderName: `Папка ${size}` });
    console.log(`\n${size.toLocaleString('en')} cards generated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const freshActor = await buildActor(admin, '127.0.0.1');
    const times: number[] = [];
    const countTimes: number[] = [];
    let roundTrips: string[] = [];
    let cursor: string | null = null;
    for (let run = 0; run < RUNS; run += 1) {
      // Alternate first pages and pages deeper in, following the cursor.
      const after: string | null = run % 2 === 0 ? null : cursor;
      const t0 = performance.now();
      const { result, commands }: { result: Connection<CardDoc>; commands: string[] } = await countRoundTrips(() => listFolderCards(freshActor, folderId, { ...OPTIONS, after }));
      times.push(performance.now() - t0);
      roundTrips = commands;
      if (result.edges.length !== OPTIONS.first) throw new Error(`a page held ${result.edges.length} cards, not ${OPTIONS.first}`);
      cursor = result.pageInfo.endCursor;
      const c0 = performance.now();
      await result.totalCount();
      countTimes.push(performance.now() - c0);
    }
    const plan = await Card.find({ folderId, inTrash: false, 'values.tags': { $all: ['опт'] } })
      .sort({ 'values.name': 1, _id: 1 })
      .limit(51)
      .explain('queryPlanner')
      .catch((error: Error) => ({ error: error.message }));
    const winning = JSON.stringify(plan).match(/"indexName":"([^"]+)"/)?.[1] ?? JSON.stringify(plan).slice(0, 200);
    results[size] = percentile(times, 50);
    console.log(`page of 50 sorted by name, filter tags ∋ «опт»: p50 ${ms(percentile(times, 50))}, p99 ${ms(percentile(times, 99))} over ${RUNS} pages`);
    console.log(`round trips per page: ${roundTrips.length} (${roundTrips.join(', ')})`);
    console.log(
      `total count of the filtered folder (one more round trip, only when the client asks): p50 ${ms(percentile(countTimes, 50))}, p99 ${ms(percentile(countTimes, 99))}`,
    );
    console.log(`index used: ${winning}`);
  }
  console.log(`\nratio p50 at ${SIZES[1].toLocaleString('en')} / at ${SIZES[0].toLocaleString('en')}: ${(results[SIZES[1]] / results[SIZES[0]]).toFixed(2)}×`);
} finally {
  await server.stop();
  await database.stop();
}
