import { expect } from 'chai';
import { Decimal128, MongoClient, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

type Row = { _id: number; t: string; g?: string; a?: string; b?: string };

/** Strings in MongoDB's order without a collation: by their UTF-8 bytes. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

// Index keys keep the first kilobyte of a string: strings sharing it must still be found by range
// bounds and come back in their order, whatever the index or the direction.
describe('db conformance: strings over a kilobyte that share their first kilobyte', function () {
  let client: MongoClient;
  let db: Db;
  const shared = 'п'.repeat(600); // 1,200 bytes: every key of these strings is cut inside it
  // Suffixes in no particular order, so the record ids say nothing about the order of the values.
  const suffixes = ['m', 'b', 'z', 'a', 'q', 'c', 'y', 'k', 'd', 'x', 'e', 'w', 'f', 'v', 'g', 'u', 'h', 't', 'i', 's'];
  const rows: Row[] = suffixes.map((s, i) => ({ _id: i, t: shared + s, g: i % 2 ? 'odd' : 'even' }));
  rows.push({ _id: 100, t: shared }, { _id: 101, t: 'short' }, { _id: 102, t: shared.slice(0, 599) + 'я' });

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('long_keys'));
    const up = db.collection<Row>('up');
    await up.createIndex({ t: 1 });
    await up.createIndex({ g: 1, t: 1, _id: 1 });
    await up.insertMany(rows);
    const down = db.collection<Row>('down');
    await down.createIndex({ g: 1, t: -1, _id: -1 });
    await down.insertMany(rows);
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  const ids = (docs: { _id: number }[]) => docs.map((doc) => doc._id);
  const sorted = (keep: (row: Row) => boolean, dir: 1 | -1) => ids(rows.filter(keep).sort((x, y) => dir * (byBytes(x.t, y.t) || x._id - y._id)));

  it('range bounds inside the shared kilobyte return exactly the matching documents, and count them', async () => {
    const up = db.collection<Row>('up');
    for (const [filter, keep] of [
      [{ t: { $gt: shared + 'k' } }, (r: Row) => byBytes(r.t, shared + 'k') > 0],
      [{ t: { $gte: shared + 'k' } }, (r: Row) => byBytes(r.t, shared + 'k') >= 0],
      [{ t: { $lt: shared + 'k' } }, (r: Row) => byBytes(r.t, shared + 'k') < 0],
      [{ t: { $gt: shared + 'c', $lte: shared + 'q' } }, (r: Row) => byBytes(r.t, shared + 'c') > 0 && byBytes(r.t, shared + 'q') <= 0],
      [{ t: shared + 'q' }, (r: Row) => r.t === shared + 'q'],
    ] as const) {
      const expected = sorted(keep, 1);
      expect(ids(await up.find(filter).sort({ t: 1 }).toArray()), JSON.stringify(filter).slice(-40)).to.deep.equal(expected);
      expect(ids(await up.find(filter).sort({ t: -1 }).toArray())).to.deep.equal([...expected].reverse());
      expect(await up.countDocuments(filter)).to.equal(expected.length);
    }
  });

  it('sorts, skips and pages them in value order through ascending and descending indexes', async () => {
    for (const name of ['up', 'down']) {
      const c = db.collection<Row>(name);
      for (const dir of [1, -1] as const) {
        const expected = sorted((r) => r.g === 'even', dir);
        const all = await c.find({ g: 'even' }).sort({ t: dir, _id: dir }).toArray();
        expect(ids(all), `${name} ${dir}`).to.deep.equal(expected);
        const skipped = await c.find({ g: 'even' }).sort({ t: dir, _id: dir }).skip(4).limit(3).toArray();
        expect(ids(skipped), `${name} ${dir} skip`).to.deep.equal(expected.slice(4, 7));
        // Keyset pages: after (title, id) in the sort order.
        const seen: number[] = [];
        let after: Row | undefined;
        for (;;) {
          const beyond = dir === 1 ? '$gt' : '$lt';
          const keyset = after ? { $or: [{ t: { [beyond]: after.t } }, { t: after.t, _id: { [beyond]: after._id } }] } : {};
          const page = await c
            .find({ $and: [{ g: 'even' }, keyset] })
            .sort({ t: dir, _id: dir })
            .limit(3)
            .toArray();
          if (page.length === 0) break;
          seen.push(...ids(page));
          after = page[page.length - 1];
        }
        expect(seen, `${name} ${dir} keyset`).to.deep.equal(expected);
      }
    }
    // Both groups merged into one order (`$in` on the first field).
    const merged = await db
      .collection<Row>('up')
      .find({ g: { $in: ['even', 'odd'] } })
      .sort({ t: 1, _id: 1 })
      .toArray();
    expect(ids(merged)).to.deep.equal(sorted((r) => r.g !== undefined, 1));
  });

  it('orders long strings after a decimal no double equals (a number key with its fraction bytes) in the same compound key', async () => {
    const c = db.collection<{ _id: number; d: Decimal128; t: string }>('decimal_then_text');
    await c.createIndex({ d: 1, t: 1 });
    const d = Decimal128.fromString('0.1');
    await c.insertMany(rows.map((row) => ({ _id: row._id, d, t: row.t })));
    expect(ids(await c.find({ d }).sort({ t: 1 }).toArray())).to.deep.equal(sorted(() => true, 1));
    expect(
      ids(
        await c
          .find({ d, t: { $gt: shared + 'k' } })
          .sort({ t: -1 })
          .toArray(),
      ),
    ).to.deep.equal(sorted((r) => byBytes(r.t, shared + 'k') > 0, -1));
  });

  it('a compound key over the key limit still finds and orders the second field', async () => {
    const c = db.collection<Row>('pairs');
    await c.createIndex({ a: 1, b: 1 });
    const a = 'a'.repeat(1000);
    const b = (tail: string) => 'm'.repeat(900) + tail.repeat(100);
    await c.insertMany([
      { _id: 1, t: '', a, b: b('z') },
      { _id: 2, t: '', a, b: 'n' },
      { _id: 3, t: '', a, b: 'l' },
      { _id: 4, t: '', a, b: b('c') },
    ]);
    expect(
      ids(
        await c
          .find({ a, b: { $gt: b('a') } })
          .sort({ b: 1 })
          .toArray(),
      ),
    ).to.deep.equal([4, 1, 2]);
    expect(
      ids(
        await c
          .find({ a, b: { $lt: 'm'.repeat(950) } })
          .sort({ b: -1 })
          .toArray(),
      ),
    ).to.deep.equal([4, 3]);
    expect(await c.countDocuments({ a, b: { $gt: b('a') } })).to.equal(3);
  });
});
