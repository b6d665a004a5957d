import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient, MongoServerError } from 'mongodb';
import { startMemoryServer } from '../../server/src/db/memory';
import { Storage } from '../../server/src/db/memory/storage';
import { Store } from '../../server/src/db/memory/store';

/** Opens the stored environment as the server does at start, refusing to count any collection's records. */
function openWithoutCounting(dbpath: string): Store {
  const storage = Storage.open(dbpath);
  storage.docs.getKeysCount = () => {
    throw new Error('the start counted records');
  };
  return new Store(storage);
}

// s16 (perf, 4): the start counted every collection's records (160 s of CPU on the 1M installation, cold cache).
describe('db: record counts kept with the records, not counted at start', function () {
  this.timeout(60_000);
  let dbpath: string;

  beforeEach(() => {
    dbpath = mkdtempSync(path.join(tmpdir(), 'kartoteka-counts-'));
  });
  afterEach(() => rmSync(dbpath, { recursive: true, force: true }));

  it('after inserts, deletes, a committed and an aborted transaction, a failed insert and a drop, a restart knows every count without counting', async () => {
    const server = await startMemoryServer({ dbpath, log: () => {} });
    const client = await new MongoClient(server.uri).connect();
    try {
      const db = client.db('counts');
      const cards = db.collection<{ _id: number; inn?: string }>('cards');
      await cards.createIndex({ inn: 1 }, { unique: true, sparse: true });
      await cards.insertMany(Array.from({ length: 5 }, (_, i) => ({ _id: i })));
      await cards.deleteOne({ _id: 0 });
      const session = client.startSession();
      await session.withTransaction(async () => {
        await cards.insertMany([{ _id: 10 }, { _id: 11 }], { session });
        await cards.deleteOne({ _id: 1 }, { session });
      });
      session.startTransaction();
      await cards.insertMany([{ _id: 20 }, { _id: 21 }, { _id: 22 }], { session });
      await session.abortTransaction();
      await session.endSession();
      // The first two go in, the third clashes with the second's INN: 2 of 3.
      const failed = await cards
        .insertMany([
          { _id: 30, inn: '1' },
          { _id: 31, inn: '2' },
          { _id: 32, inn: '2' },
        ])
        .catch((error: unknown) => error);
      expect(failed).to.be.instanceOf(MongoServerError);
      const dropped = db.collection('dropped');
      await dropped.insertMany([{ a: 1 }, { a: 2 }]);
      await dropped.drop();
      await db.collection('dropped').insertOne({ a: 3 });
      expect(await cards.estimatedDocumentCount()).to.equal(7);
    } finally {
      await client.close();
      await server.stop();
    }

    const store = openWithoutCounting(dbpath);
    try {
      expect(store.get('counts', 'cards')?.count).to.equal(7);
      expect(store.get('counts', 'dropped')?.count).to.equal(1);
    } finally {
      await store.close();
    }
  });

  it('an installation saved before counts were kept is counted once, at its first start, and then no more', async () => {
    const server = await startMemoryServer({ dbpath, log: () => {} });
    const client = await new MongoClient(server.uri).connect();
    try {
      await client
        .db('counts')
        .collection<{ _id: number }>('cards')
        .insertMany(Array.from({ length: 12 }, (_, i) => ({ _id: i })));
    } finally {
      await client.close();
      await server.stop();
    }
    // As an older version left it: no stored count.
    const older = Storage.open(dbpath);
    const id = new Store(older).get('counts', 'cards')!.id;
    older.env.transactionSync(() => older.removeCount(id));
    expect(older.storedCount(id)).to.equal(undefined);
    await older.close();

    const first = new Store(Storage.open(dbpath));
    expect(first.get('counts', 'cards')?.count).to.equal(12);
    await first.close();
    const store = openWithoutCounting(dbpath);
    try {
      expect(store.get('counts', 'cards')?.count).to.equal(12);
    } finally {
      await store.close();
    }
  });
});
