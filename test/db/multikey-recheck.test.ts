import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deserialize, serialize } from 'bson';
import { open } from 'lmdb';
import { MongoClient } from 'mongodb';
import { startMemoryServer } from '../../server/src/db/memory';

type Merge = { _id: number; merged: { cardId: number }[] | { cardId: number } };

/**
 * Rewrites a stored index's catalog record as a version before the multikey fix saved it: "not
 * multikey", without the mark that arrays along the path were looked for.
 */
async function asSavedBeforeTheFix(dbpath: string, ns: string, indexName: string): Promise<void> {
  const env = open({ path: dbpath, maxDbs: 8 });
  const catalog = env.openDB<Buffer, string>('catalog', { encoding: 'binary' });
  const entry = deserialize(catalog.get(ns)!) as { indexes: { spec: { name: string }; multikey: boolean; pathsChecked?: boolean }[] };
  const index = entry.indexes.find((candidate) => candidate.spec.name === indexName)!;
  index.multikey = false;
  delete index.pathsChecked;
  await catalog.put(ns, Buffer.from(serialize(entry)));
  await env.close();
}

// An index through an array of subdocuments (`merged.cardId`) saved before such paths made an index
// multikey must not keep answering as if each document had one key: it is re-checked once at start.
describe('db: an index saved as "not multikey" through an array of subdocuments', function () {
  this.timeout(60_000);
  let dbpath: string;

  before(() => {
    dbpath = mkdtempSync(path.join(tmpdir(), 'kartoteka-memory-'));
  });
  after(() => rmSync(dbpath, { recursive: true, force: true }));

  it('is found multikey at the next start, and finds and counts each document once', async () => {
    const docs: Merge[] = [
      { _id: 1, merged: [{ cardId: 10 }, { cardId: 11 }] },
      { _id: 2, merged: [{ cardId: 12 }] },
      { _id: 3, merged: { cardId: 13 } },
      { _id: 4, merged: [{ cardId: 14 }, { cardId: 15 }, { cardId: 16 }] },
    ];
    let server = await startMemoryServer({ dbpath, log: () => {} });
    let client = await new MongoClient(server.uri, { directConnection: true }).connect();
    const merges = client.db('app').collection<Merge>('merges');
    await merges.createIndex({ 'merged.cardId': 1 });
    await merges.insertMany(docs);
    await client.close();
    await server.stop();

    await asSavedBeforeTheFix(dbpath, 'app.merges', 'merged.cardId_1');

    const lines: string[] = [];
    server = await startMemoryServer({ dbpath, log: (line) => lines.push(line) });
    client = await new MongoClient(server.uri, { directConnection: true }).connect();
    try {
      expect(lines.join('\n')).to.include('app.merges merged.cardId_1');
      const again = client.db('app').collection<Merge>('merges');
      expect(await again.countDocuments({ 'merged.cardId': { $gte: 10 } })).to.equal(4);
      expect((await again.find({ 'merged.cardId': { $gte: 10 } }).toArray()).map((doc) => doc._id).sort()).to.deep.equal([1, 2, 3, 4]);
      expect((await again.find({ 'merged.cardId': { $gt: 10, $lt: 12 } }).toArray()).map((doc) => doc._id)).to.deep.equal([1]);
    } finally {
      await client.close();
      await server.stop();
    }
    // Checked once: the next start reads no record for it and says nothing.
    const quiet: string[] = [];
    server = await startMemoryServer({ dbpath, log: (line) => quiet.push(line) });
    await server.stop();
    expect(quiet.join('\n')).not.to.include('merged.cardId_1');
  });
});
