import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient, MongoServerError, type Collection } from 'mongodb';
import { startMemoryServer, type MemoryServer } from '../../server/src/db/memory';

interface Card {
  _id: number;
  folder: number;
  body: string;
}

const CARDS = 2000;
const MAX_ROUNDS = 80;
const STEADY_ROUNDS = 5;

/**
 * Rewrites every card (same keys, new bodies) round after round until the LMDB file has not grown
 * for STEADY_ROUNDS rounds, which happens only when the pages freed by earlier rounds are reused.
 * A read snapshot pinned for good makes every round take fresh pages, so the file never settles.
 */
async function rewriteUntilSteady(cards: Collection<Card>, dbpath: string): Promise<{ steady: boolean; growth: number }> {
  const file = path.join(dbpath, 'data.mdb');
  const first = statSync(file).size;
  const sizes: number[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    await cards.bulkWrite(
      Array.from({ length: CARDS }, (_, i) => ({ replaceOne: { filter: { _id: i }, replacement: { folder: i % 10, body: `${round}:${i}:`.padEnd(300, 'x') } } })),
    );
    sizes.push(statSync(file).size);
    const at = sizes.length - 1;
    if (at >= STEADY_ROUNDS && sizes[at] === sizes[at - STEADY_ROUNDS]) return { steady: true, growth: sizes[at]! / first };
  }
  return { steady: false, growth: sizes.at(-1)! / first };
}

describe('built-in database: reads do not keep written pages from being reused', function () {
  this.timeout(120_000);
  let dbpath: string;
  let server: MemoryServer;
  let client: MongoClient;
  let cards: Collection<Card>;

  beforeEach(async () => {
    dbpath = mkdtempSync(path.join(tmpdir(), 'kartoteka-memory-'));
    server = await startMemoryServer({ dbpath, log: () => {} });
    client = await new MongoClient(server.uri).connect();
    cards = client.db('pages').collection<Card>('cards');
    await cards.createIndex({ folder: 1 });
    await cards.insertMany(Array.from({ length: CARDS }, (_, i) => ({ _id: i, folder: i % 10, body: 'start'.padEnd(300, 'x') })));
  });

  afterEach(async () => {
    await client.close();
    await server.stop();
    rmSync(dbpath, { recursive: true, force: true });
  });

  it('a findOne that stops an index scan early leaves no snapshot behind: rewriting the data reuses its pages', async () => {
    expect(await cards.findOne({ folder: { $gte: 3 } })).to.include({ folder: 3 });
    const { steady, growth } = await rewriteUntilSteady(cards, dbpath);
    expect(steady, `the file grew ${growth.toFixed(1)}× over ${MAX_ROUNDS} rewrites`).to.equal(true);
  });

  it('a cursor a client abandons is closed after cursorTimeoutMillis and then pins nothing', async () => {
    const admin = client.db('admin');
    // MongoDB's 10 minutes: an export's download may pause that long (s16 attack A4).
    expect(await admin.command({ getParameter: 1, cursorTimeoutMillis: 1 })).to.include({ cursorTimeoutMillis: 600_000 });
    await admin.command({ setParameter: 1, cursorTimeoutMillis: 200 });
    const reply = await client.db('pages').command({ find: 'cards', filter: { folder: { $gte: 0 } }, batchSize: 2 });
    const id = reply.cursor.id;
    expect(reply.cursor.firstBatch).to.have.length(2);

    const { steady, growth } = await rewriteUntilSteady(cards, dbpath);
    expect(steady, `the file grew ${growth.toFixed(1)}× over ${MAX_ROUNDS} rewrites`).to.equal(true);
    // Idle cursors are closed by the server's sweep, once a second: on a quiet machine the file
    // settles sooner than that (the cursor pins no snapshot between getMores).
    await sleep(1500);
    const error = await client
      .db('pages')
      .command({ getMore: id, collection: 'cards' })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).to.be.instanceOf(MongoServerError);
    expect((error as MongoServerError).codeName).to.equal('CursorNotFound');
  });

  it('a cursor read batch by batch while the data is rewritten pins nothing between its getMores (a duplicate scan over all cards)', async () => {
    const reply = await client.db('pages').command({ find: 'cards', filter: { folder: { $gte: 0 } }, sort: { folder: 1, _id: 1 }, batchSize: 2 });
    const id = reply.cursor.id;
    const getMore = () => client.db('pages').command({ getMore: id, collection: 'cards', batchSize: 2 });
    const file = path.join(dbpath, 'data.mdb');
    const first = statSync(file).size;
    const sizes: number[] = [];
    let read = reply.cursor.firstBatch.length;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      await cards.bulkWrite(
        Array.from({ length: CARDS }, (_, i) => ({ replaceOne: { filter: { _id: i }, replacement: { folder: i % 10, body: `${round}:${i}:`.padEnd(300, 'x') } } })),
      );
      read += ((await getMore()).cursor.nextBatch as unknown[]).length;
      sizes.push(statSync(file).size);
      const at = sizes.length - 1;
      if (at >= STEADY_ROUNDS && sizes[at] === sizes[at - STEADY_ROUNDS]) break;
    }
    const at = sizes.length - 1;
    expect(sizes[at] === sizes[at - STEADY_ROUNDS], `the file grew ${(sizes[at]! / first).toFixed(1)}× over ${sizes.length} rewrites`).to.equal(true);
    expect(read).to.equal(2 * (sizes.length + 1));
  });

  for (const direction of [1, -1] as const) {
    it(`a getMore reads on in the latest state after the last card given out (${direction === 1 ? 'ascending' : 'descending'}): none deleted meanwhile, none skipped`, async () => {
      const order = Array.from({ length: 10 }, (_, i) => (direction === 1 ? i : 9 - i));
      const folder = client.db('pages').collection<{ _id: number; n: number }>('ordered');
      await folder.createIndex({ n: 1 });
      await folder.insertMany(order.map((n) => ({ _id: n, n })));
      const reply = await client.db('pages').command({ find: 'ordered', filter: { n: { $gte: 0 } }, sort: { n: direction }, batchSize: 2 });
      expect(reply.cursor.firstBatch.map((doc: { n: number }) => doc.n)).to.deep.equal(order.slice(0, 2));
      // The first batch read one card ahead (to tell whether more follow); the two after it are
      // deleted and the next one changes: the next batch goes on from there in the latest state.
      await folder.deleteMany({ n: { $in: [order[3]!, order[4]!] } });
      await folder.updateOne({ _id: order[5]! }, { $set: { changed: true } });
      const next = await client.db('pages').command({ getMore: reply.cursor.id, collection: 'ordered', batchSize: 2 });
      expect(next.cursor.nextBatch).to.deep.equal([
        { _id: order[2], n: order[2] },
        { _id: order[5], n: order[5], changed: true },
      ]);
    });
  }

  it('a snapshot session left idle gives its snapshot up after the time-out', async () => {
    await client.db('admin').command({ setParameter: 1, cursorTimeoutMillis: 200 });
    const session = client.startSession({ snapshot: true });
    try {
      expect(await cards.countDocuments({ folder: 1 }, { session })).to.equal(CARDS / 10);
      const { steady, growth } = await rewriteUntilSteady(cards, dbpath);
      expect(steady, `the file grew ${growth.toFixed(1)}× over ${MAX_ROUNDS} rewrites`).to.equal(true);
    } finally {
      await session.endSession();
    }
  });
});
