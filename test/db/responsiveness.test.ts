import { expect } from 'chai';
import { MongoBulkWriteError, MongoClient, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

/**
 * A bulk load must not hold the server: other clients (the driver's server monitor sends `hello`
 * on a connection of its own; the application reads) are answered while a large insert runs.
 * Each document of an insert is atomic, the command as a whole is not (as in MongoDB).
 */
describe('db conformance: answering other clients during a bulk write', function () {
  let loader: MongoClient;
  let prober: MongoClient;
  let db: Db;
  let probeDb: Db;

  before(async () => {
    const uri = await testMongoUri();
    loader = await new MongoClient(uri).connect();
    prober = await new MongoClient(uri, { maxPoolSize: 1 }).connect();
    db = loader.db(uniqueDbName('responsiveness'));
    probeDb = prober.db(db.databaseName);
  });
  after(async () => {
    await db.dropDatabase();
    await Promise.all([loader.close(), prober.close()]);
  });

  it('answers pings and counts from another client while a 30,000-document insert runs, and the counts see part of it', async () => {
    const cards = db.collection('cards');
    await cards.createIndex({ folder: 1, title: 1 });
    await cards.createIndex({ words: 1 });
    const docs = Array.from({ length: 30_000 }, (_, i) => ({ folder: i % 10, title: `Card ${i}`, words: ['alpha', `w${i}`, `x${i % 100}`] }));
    let inserted = false;
    const insert = cards.insertMany(docs, { ordered: false }).then((result) => {
      inserted = true;
      return result;
    });
    const countsBeforeTheInsertAnswered: number[] = [];
    let pingsBeforeTheInsertAnswered = 0;
    while (!inserted) {
      const ping = await probeDb.command({ ping: 1 });
      if (!inserted && ping.ok === 1) pingsBeforeTheInsertAnswered++;
      const count = await probeDb.collection('cards').countDocuments({});
      if (!inserted) countsBeforeTheInsertAnswered.push(count);
    }
    expect((await insert).insertedCount).to.equal(docs.length);
    expect(pingsBeforeTheInsertAnswered).to.be.greaterThan(0);
    // A count between none and all: it was answered while the insert was part way through.
    expect(
      countsBeforeTheInsertAnswered.some((count) => count > 0 && count < docs.length),
      `counts seen: ${countsBeforeTheInsertAnswered.join(', ')}`,
    ).to.equal(true);
    expect(await cards.countDocuments({ words: 'alpha' })).to.equal(docs.length);
  });

  it('answers other clients while a large transaction inserts and commits, and they see none of its documents until all of them', async () => {
    const notes = db.collection('notes');
    await notes.createIndex({ folder: 1, title: 1 });
    await notes.createIndex({ words: 1 });
    await notes.createIndex({ text: 'text' });
    const docs = Array.from({ length: 20_000 }, (_, i) => ({ folder: i % 10, title: `Note ${i}`, words: [`w${i}`, `x${i % 100}`], text: `договор поставки номер ${i}` }));
    const session = loader.startSession();
    session.startTransaction();
    let inserted = false;
    const insert = notes.insertMany(docs, { session }).then(() => (inserted = true));
    const countsWhileInserting: number[] = [];
    while (!inserted) countsWhileInserting.push(await probeDb.collection('notes').countDocuments({}));
    await insert;
    // The statements ran into the transaction's write set in slices, other clients answered between.
    expect(countsWhileInserting.length, `reads answered while inserting: ${countsWhileInserting.length}`).to.be.at.least(3);
    expect([...new Set(countsWhileInserting)]).to.deep.equal([0]);
    let committed = false;
    const commit = session.commitTransaction().then(() => (committed = true));
    const countsWhileCommitting: number[] = [];
    while (!committed) {
      const count = await probeDb.collection('notes').countDocuments({});
      if (!committed) countsWhileCommitting.push(count);
    }
    await commit;
    await session.endSession();
    // None saw part of the transaction (a read between its commit and the reply's arrival sees all of it) …
    expect(countsWhileCommitting.filter((count) => count !== 0 && count !== docs.length)).to.deep.equal([]);
    // … and the commit's work was sliced: several reads were answered before it, not one long wait.
    const before = countsWhileCommitting.filter((count) => count === 0).length;
    expect(before, `reads answered before the commit: ${before}`).to.be.at.least(3);
    expect(await probeDb.collection('notes').countDocuments({ words: 'x7' })).to.equal(200);
    expect(await probeDb.collection('notes').countDocuments({ $text: { $search: 'поставки' } })).to.equal(docs.length);
  });

  it('an insert that meets a record of an open transaction waits for it and then goes on where it stopped', async () => {
    const marks = db.collection<{ _id: number; by?: string }>('marks');
    await marks.insertOne({ _id: -1 });
    const session = prober.startSession();
    session.startTransaction();
    // The locked record comes last of 60,000: slices of about 50 ms store the ones before it in many
    // pieces however fast the server (a slice that meets the lock is undone and waits whole).
    await probeDb.collection<{ _id: number; by?: string }>('marks').insertOne({ _id: 59_999, by: 'transaction' }, { session });
    const docs = Array.from({ length: 60_000 }, (_, i) => ({ _id: i, by: 'load' }));
    let inserted = false;
    const insert = marks.insertMany(docs, { ordered: false }).then(
      (result) => ((inserted = true), result),
      (error: unknown) => ((inserted = true), error),
    );
    // Documents before the locked one are stored while the load waits for the transaction.
    while ((await probeDb.collection('marks').countDocuments({ by: 'load' })) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(inserted).to.equal(false);
    await session.commitTransaction();
    await session.endSession();
    const outcome = await insert;
    expect(outcome).to.be.instanceOf(MongoBulkWriteError);
    const failure = outcome as MongoBulkWriteError;
    expect((failure.writeErrors as unknown as { index: number; code: number }[]).map(({ index, code }) => [index, code])).to.deep.equal([[59_999, 11000]]);
    expect(failure.insertedCount).to.equal(59_999);
    expect(await marks.countDocuments({ by: 'load' })).to.equal(59_999);
    expect(await marks.findOne({ _id: 59_999 })).to.deep.equal({ _id: 59_999, by: 'transaction' });
  });

  it("answers a colleague's short query while a long scan finds few documents («содержит» over a large folder), the scan giving its turn back between parts of it", async () => {
    const cards = db.collection<{ folder: number; title: string; body: string }>('scanned');
    await cards.createIndex({ folder: 1, title: 1 });
    const docs = Array.from({ length: 60_000 }, (_, i) => ({
      folder: i % 10,
      title: `Card ${i}`,
      body: `${i % 20_000 === 7 ? 'needle ' : ''}${'договор поставки оборудования '.repeat(8)}${i}`,
    }));
    for (let i = 0; i < docs.length; i += 10_000) await cards.insertMany(docs.slice(i, i + 10_000), { ordered: false });
    let scanned = false;
    const scan = cards
      .find({ body: { $regex: 'NEEDLE', $options: 'i' } }, { projection: { title: 1, _id: 0 } })
      .toArray()
      .then((found) => {
        scanned = true;
        return found;
      });
    const pages: string[][] = [];
    while (!scanned) {
      const page = await probeDb
        .collection<{ title: string }>('scanned')
        .find({ folder: 3 }, { projection: { title: 1, _id: 0 } })
        .sort({ title: 1 })
        .limit(2)
        .toArray();
      if (!scanned) pages.push(page.map((card) => card.title));
    }
    expect((await scan).map((card) => card.title)).to.deep.equal(['Card 7', 'Card 20007', 'Card 40007']);
    // More than the one page that may have come before the scan began: pages were answered while it ran.
    expect(pages.length).to.be.greaterThan(2);
    expect(pages[0]).to.deep.equal(['Card 10003', 'Card 10013']);
  });
});
