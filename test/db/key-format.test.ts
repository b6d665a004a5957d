import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Decimal128, Long, MongoClient, type Document } from 'mongodb';
import { startMemoryServer } from '../../server/src/db/memory';
import type { Doc } from '../../server/src/db/memory/indexes';
import { idKeyOf } from '../../server/src/db/memory/keys';
import { Storage } from '../../server/src/db/memory/storage';
import { Store } from '../../server/src/db/memory/store';

const BIG = '9007199254740993'; // 2^53 + 1: no double holds it
const D = (text: string) => Decimal128.fromString(text);

/**
 * Key format 1 keyed a decimal by its nearest double, and a long beyond 2^53 by the double below
 * it with the remainder in the number key's 2-byte tail (the byte after the type and 8 double bytes).
 */
function formatOneValue(value: unknown): { value: unknown; tail: number } {
  // Decoded by the server's own copy of bson: told by type name, not class.
  const type = (value as { _bsontype?: string } | null)?._bsontype;
  if (type === 'Decimal128') return { value: Number(String(value)), tail: 0 };
  const big = type === 'Long' ? (value as Long).toBigInt() : 0n;
  if (big > 2n ** 53n || big < -(2n ** 53n)) {
    let floor = Number(big);
    if (BigInt(floor) > big) floor -= 2; // the doubles here are 2 apart
    return { value: floor, tail: Number(big - BigInt(floor)) };
  }
  return { value, tail: 0 };
}

/** A number key (type byte, 8 double bytes, 2 tail bytes) at `at` with format 1's tail. */
function withTail(key: Buffer, at: number, tail: number): Buffer {
  const copy = Buffer.from(key);
  copy.writeUInt16BE(tail, at + 9);
  return copy;
}

/**
 * Rewrites the stored collection as a version before key format 2 wrote it: records whose `_id`
 * and index entries whose `n` is a decimal or a big long are keyed in format 1, and the catalog
 * says no format — through the low-level API, with the server stopped.
 */
async function asWrittenInFormatOne(dbpath: string, ns: string): Promise<void> {
  const storage = Storage.open(dbpath);
  const store = new Store(storage);
  const [db, name] = [ns.slice(0, ns.indexOf('.')), ns.slice(ns.indexOf('.') + 1)];
  const collection = store.get(db, name)!;
  const index = collection.btreeIndexes.find((candidate) => candidate.name === 'n_1')!;
  await store.write(() => {
    const records = [...storage.docs.getRange({ start: collection.prefix })].filter(({ key }) => key.subarray(0, 4).equals(collection.prefix));
    for (const { key, value } of records) {
      const idKey = Buffer.from(key.subarray(4));
      const doc = store.getDoc(collection, idKey)!;
      const id = formatOneValue(doc._id);
      const oldIdKey = id.tail ? withTail(idKeyOf(id.value), 0, id.tail) : idKey;
      if (!oldIdKey.equals(idKey)) {
        storage.docs.removeSync(Buffer.from(key));
        storage.docs.putSync(collection.docKey(oldIdKey), Buffer.from(value));
      }
      const n = formatOneValue(doc.n);
      for (const ikey of index.keysOf(doc).keys) storage.index.removeSync(index.entryKey(ikey, idKey));
      for (const ikey of index.keysOf({ ...doc, n: n.value } as Doc).keys) {
        const entry = index.entryKey(ikey, oldIdKey);
        storage.index.putSync(n.tail ? withTail(entry, 4, n.tail) : entry, oldIdKey);
      }
    }
    const entry = collection.entry();
    delete entry.keyFormat;
    storage.saveCatalogEntry(entry);
  });
  await store.close();
}

// Indexes and records keyed before numbers had exact keys (a decimal between doubles, a long
// beyond 2^53) are rebuilt once at start-up, so ranges, equality and order are right again.
describe('db: keys written in an older key format', function () {
  this.timeout(60_000);
  let dbpath: string;

  before(() => {
    dbpath = mkdtempSync(path.join(tmpdir(), 'kartoteka-memory-'));
  });
  after(() => rmSync(dbpath, { recursive: true, force: true }));

  it('are rebuilt at the next start (with a log line, once), and the index gives the right ranges and order', async () => {
    const docs = [
      { _id: 'decimal', n: D('0.1') },
      { _id: 'double', n: 0.1 },
      { _id: 'two53', n: 2 ** 53 },
      { _id: 'big', n: Long.fromString(BIG) },
      { _id: 'bigger', n: Long.fromString('9007199254740995') },
      { _id: 'decimalBig', n: D(BIG) },
      { _id: Long.fromString(BIG), n: 1 },
      { _id: 'other', n: 'x' },
    ];
    let server = await startMemoryServer({ dbpath, log: () => {} });
    let client = await new MongoClient(server.uri).connect();
    await client.db('app').collection('numbers').createIndex({ n: 1 });
    await client.db('app').collection('plain').createIndex({ n: 1 });
    await client
      .db('app')
      .collection('numbers')
      .insertMany(docs as Document[]);
    await client
      .db('app')
      .collection('plain')
      .insertMany([{ n: 1 }, { n: 2.5 }]);
    await client.close();
    await server.stop();

    await asWrittenInFormatOne(dbpath, 'app.numbers');
    const lines: string[] = [];
    server = await startMemoryServer({ dbpath, log: (line) => lines.push(line) });
    client = await new MongoClient(server.uri).connect();
    const c = client.db('app').collection('numbers');
    expect(lines.filter((line) => line.includes('key format'))).to.deep.equal([
      'key format 2 (decimals and longs beyond 2^53 keyed by their exact value): app.numbers: 1 records re-keyed by their _id; indexes rebuilt: n_1',
    ]);
    for (const hint of ['n_1', { $natural: 1 }]) {
      const ids = async (filter: Document) =>
        (
          await c
            .find(filter, { projection: { _id: 1 } })
            .hint(hint)
            .toArray()
        )
          .map((doc) => String(doc._id))
          .sort();
      expect(await ids({ n: { $lt: 0.1 } }), `below the double 0.1 by ${JSON.stringify(hint)}`).to.deep.equal(['decimal']);
      expect(await ids({ n: Long.fromString(BIG) }), `the long 2^53+1 by ${JSON.stringify(hint)}`).to.deep.equal(['big', 'decimalBig']);
      expect(await ids({ n: { $gt: 2 ** 53, $lt: Long.fromString('9007199254740995') } }), `between by ${JSON.stringify(hint)}`).to.deep.equal(['big', 'decimalBig']);
    }
    const order = await c
      .find({ n: { $type: 'number' } }, { projection: { _id: 1 } })
      .sort({ n: 1 })
      .hint('n_1')
      .toArray();
    expect(order.map((doc) => String(doc._id))).to.deep.equal(['decimal', 'double', BIG, 'two53', 'big', 'decimalBig', 'bigger']);
    expect(await c.findOne({ _id: Long.fromString(BIG) } as Document)).to.deep.include({ n: 1 });
    expect(await c.countDocuments({ n: { $gte: 2 ** 53 } }, { hint: 'n_1' })).to.equal(4);
    await client.close();
    await server.stop();

    const again: string[] = [];
    server = await startMemoryServer({ dbpath, log: (line) => again.push(line) });
    await server.stop();
    expect(
      again.filter((line) => line.includes('key format')),
      'the format is saved: nothing is rebuilt twice',
    ).to.deep.equal([]);
  });
});
