import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
