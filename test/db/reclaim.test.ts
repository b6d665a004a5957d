import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient, MongoServerError } from 'mongodb';
import { startMemoryServer } from '../../server/src/db/memory';
import { BTreeIndex } from '../../server/src/db/memory/indexes';
import { idKeyOf } from '../../server/src/db/memory/keys';
import { Storage } from '../../server/src/db/memory/storage';
import { Store } from '../../server/src/db/memory/store';

/** Every document and index entry the environment holds (all collections, all indexes). */
function keysIn(storage: Storage): { docs: number; index: number } {
  return { docs: storage.docs.getKeysCount(), index: storage.index.getKeysCount() };
}

/** Opens the environment under `dbpath`, waits until nothing dropped is left in it, and counts its keys. */
async function keysAfterReclaim(dbpath: string): Promise<{ leftovers: number; keys: { docs: number; index: number } }> {
  const store = new Store(Storage.open(dbpath));
  try {
    await store.reclaimed();
    return { leftovers: store.leftovers, keys: keysIn(store.storage) };
  } finally {
    await store.close();
  }
}

describe('built-in database: dropped collections and indexes free their space', function () {
  this.timeout(60_000);
  let dbpath: string;

  beforeEach(() => {
    dbpath = mkdtempSync(path.join(tmpdir(), 'kartoteka-memory-'));
  });
  afterEach(() => rmSync(dbpath, { recursive: true, force: true }));

  it('drops a large collection at once and deletes its documents and index entries, leaving the rest', async () => {
    const server = await startMemoryServer({ dbpath, log: () => {} });
    const client = await new MongoClient(server.uri).connect();
    try {
      const db = client.db('reclaim');
      const big = db.collection<{ _id: number; folder?: number; tags?: string[]; fresh?: boolean }>('big');
      await big.createIndexes([{ key: { folder: 1, _id: 1 } }, { key: { tags: 1 } }]);
      for (let offset = 0; offset < 12_000; offset += 4000) {
        await big.insertMany(Array.from({ length: 4000 }, (_, i) => ({ _id: offset + i, folder: (offset + i) % 10, tags: [`a${i % 5}`, `b${i % 7}`] })));
      }
      const kept = db.collection<{ _id: string; n: number }>('kept');
      await kept.createIndex({ n: 1 });
      await kept.insertMany([
        { _id: 'one', n: 1 },
        { _id: 'two', n: 2 },
      ]);

      expect(await big.drop()).to.equal(true);
      expect((await db.listCollections().toArray()).map((c) => c.name)).to.deep.equal(['kept']);
      expect(await big.countDocuments()).to.equal(0);
      expect(await big.find({ folder: 3 }).toArray()).to.deep.equal([]);
      // A collection of the same name starts empty, with only its own indexes.
      await big.insertOne({ _id: 1, fresh: true });
      expect(await big.find().toArray()).to.deep.equal([{ _id: 1, fresh: true }]);
      expect(await big.find({ tags: 'a1' }).toArray()).to.deep.equal([]);
      expect((await big.listIndexes().toArray()).map((index) => index.name)).to.deep.equal(['_id_']);
      expect(
        await kept
          .find({ n: { $gte: 1 } })
          .sort({ n: 1 })
          .toArray(),
      ).to.deep.equal([
        { _id: 'one', n: 1 },
        { _id: 'two', n: 2 },
      ]);
    } finally {
      await client.close();
      await server.stop();
    }
    // Whatever the stop interrupted is finished at the next start: what is left is the live data only.
    const { keys } = await keysAfterReclaim(dbpath);
    expect(keys).to.deep.equal({ docs: 3, index: 2 });
  });

  it('deletes the entries of a dropped index and of a failed unique index build', async () => {
    const server = await startMemoryServer({ dbpath, log: () => {} });
    const client = await new MongoClient(server.uri).connect();
    try {
      const c = client.db('reclaim').collection<{ _id: number; n: number; code: string }>('cards');
      await c.insertMany(Array.from({ length: 5000 }, (_, i) => ({ _id: i, n: i, code: i === 4999 ? 'c0' : `c${i}` })));
      await c.createIndex({ n: 1 }, { name: 'n' });
      await c.createIndex({ n: -1, _id: 1 }, { name: 'n_desc' });
      await c.dropIndex('n');
      const clash = (await c.createIndex({ code: 1 }, { unique: true, name: 'code' }).catch((e: unknown) => e)) as MongoServerError;
      expect(clash.code).to.equal(11000);
      expect((await c.listIndexes().toArray()).map((index) => index.name)).to.deep.equal(['_id_', 'n_desc']);
      expect(
        await c
          .find({ n: { $lt: 3 } })
          .sort({ n: -1, _id: 1 })
          .toArray(),
      ).to.deep.equal([2, 1, 0].map((i) => ({ _id: i, n: i, code: `c${i}` })));
    } finally {
      await client.close();
      await server.stop();
    }
    const { keys } = await keysAfterReclaim(dbpath);
    expect(keys).to.deep.equal({ docs: 5000, index: 5000 });
  });

  it('at start-up deletes the partial entries of an index build a crash interrupted, and says so', async () => {
    // The state a kill -9 leaves in the middle of a build: entries of an index the catalog never got.
    const server = await startMemoryServer({ dbpath, log: () => {} });
    const client = await new MongoClient(server.uri).connect();
    await client
      .db('reclaim')
      .collection<{ _id: number; n: number }>('cards')
      .insertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: i, n: i })));
    await client.close();
    await server.stop();
    const store = new Store(Storage.open(dbpath));
    await store.write(() => {
      const interrupted = new BTreeIndex(store.storage.nextId(), { v: 2, key: { n: 1 }, name: 'n_1' }, false);
      for (let i = 0; i < 2000; i++) {
        const idKey = idKeyOf(i);
        for (const ikey of interrupted.keysOf({ _id: i, n: i }).keys) store.storage.index.putSync(interrupted.entryKey(ikey, idKey), idKey);
      }
    });
    expect(keysIn(store.storage)).to.deep.equal({ docs: 3000, index: 2000 });
    await store.close();

    const logged: string[] = [];
    const again = await startMemoryServer({ dbpath, log: (line) => logged.push(line) });
    const check = await new MongoClient(again.uri).connect();
    try {
      const cards = check.db('reclaim').collection<{ _id: number; n: number }>('cards');
      expect((await cards.listIndexes().toArray()).map((index) => index.name)).to.deep.equal(['_id_']);
      // Building the index again gives every record its entry, once.
      await cards.createIndex({ n: 1 });
      expect(await cards.countDocuments({ n: { $gte: 0 } })).to.equal(3000);
      expect(await cards.find({ n: { $gte: 1990, $lt: 1993 } }).toArray()).to.deep.equal([1990, 1991, 1992].map((i) => ({ _id: i, n: i })));
    } finally {
      await check.close();
      await again.stop();
    }
    expect(logged.join('\n')).to.contain('deleting the entries of 1 collections or indexes whose drop or build was interrupted');
    const { keys } = await keysAfterReclaim(dbpath);
    expect(keys).to.deep.equal({ docs: 3000, index: 3000 });
  });
});
