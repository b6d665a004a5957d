import { expect } from 'chai';
import { MongoClient, MongoServerError, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

describe('db conformance: sessions and transactions', function () {
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('txn'));
    await db.createCollection('accounts');
    await db.createCollection('log');
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('commits several writes atomically with withTransaction', async () => {
    const accounts = db.collection('accounts');
    await accounts.insertMany([
      { _id: 'a', balance: 100 },
      { _id: 'b', balance: 0 },
    ] as never[]);
    await client.withSession((session) =>
      session.withTransaction(async () => {
        await accounts.updateOne({ _id: 'a' } as never, { $inc: { balance: -30 } }, { session });
        await accounts.updateOne({ _id: 'b' } as never, { $inc: { balance: 30 } }, { session });
        await db.collection('log').insertOne({ moved: 30 }, { session });
        expect((await accounts.findOne({ _id: 'a' } as never, { session }))!.balance).to.equal(70);
        expect((await accounts.findOne({ _id: 'a' } as never))!.balance).to.equal(100);
      }),
    );
    expect((await accounts.find().sort({ _id: 1 }).toArray()).map((d) => d.balance)).to.deep.equal([70, 30]);
    expect(await db.collection('log').countDocuments()).to.equal(1);
  });

  it('leaves no trace of an aborted transaction or one whose callback throws', async () => {
    const c = db.collection('aborted');
    await c.insertOne({ _id: 1, v: 'original' } as never);
    const session = client.startSession();
    session.startTransaction();
    await c.insertOne({ _id: 2 } as never, { session });
    await c.updateOne({ _id: 1 } as never, { $set: { v: 'changed' } }, { session });
    await c.deleteOne({ _id: 1 } as never, { session });
    await session.abortTransaction();
    await session.endSession();
    expect(await c.find().toArray()).to.deep.equal([{ _id: 1, v: 'original' }]);
    const failed = await client
      .withSession((s) =>
        s.withTransaction(async () => {
          await c.insertOne({ _id: 3 } as never, { session: s });
          throw new Error('boom');
        }),
      )
      .catch((e: Error) => e);
    expect((failed as Error).message).to.equal('boom');
    expect(await c.countDocuments()).to.equal(1);
  });

  it('aborts the transaction on a duplicate key inside it', async () => {
    const c = db.collection('txndup');
    await c.createIndex({ k: 1 }, { unique: true });
    await c.insertOne({ k: 1 });
    const error = await client
      .withSession((s) =>
        s.withTransaction(async () => {
          await c.insertOne({ k: 2 }, { session: s });
          await c.insertOne({ k: 1 }, { session: s });
        }),
      )
      .catch((e: unknown) => e);
    expect((error as MongoServerError).code).to.equal(11000);
    expect(await c.countDocuments()).to.equal(1);
  });

  it('leaves a record writable after a transaction refused by a unique index', async () => {
    const c = db.collection('uniquelock');
    await c.createIndex({ inn: 1 }, { unique: true, name: 'inn_unique' });
    await c.insertMany([
      { _id: 1, inn: '111', name: 'first' },
      { _id: 2, inn: '222', name: 'second' },
    ] as never[]);
    const refused = (await client
      .withSession((s) =>
        s.withTransaction(async () => {
          await c.updateOne({ _id: 2 } as never, { $set: { inn: '111' } }, { session: s });
        }),
      )
      .catch((e: unknown) => e)) as MongoServerError;
    expect(refused.code).to.equal(11000);
    expect(refused.message).to.contain('inn_unique');
    // The refused record takes an ordinary write at once, outside and inside a transaction.
    await c.updateOne({ _id: 2 } as never, { $set: { name: 'renamed' } });
    let attempts = 0;
    await client.withSession((s) =>
      s.withTransaction(async () => {
        attempts++;
        await c.updateOne({ _id: 2 } as never, { $set: { name: 'renamed again' } }, { session: s });
      }),
    );
    expect(attempts).to.equal(1);
    expect(await c.find().sort({ _id: 1 }).toArray()).to.deep.equal([
      { _id: 1, inn: '111', name: 'first' },
      { _id: 2, inn: '222', name: 'renamed again' },
    ]);
  });

  it('aborts a transaction left open past transactionLifetimeLimitSeconds and frees its records', async () => {
    const admin = client.db('admin');
    const c = db.collection('abandoned');
    await c.insertOne({ _id: 1, v: 'original' } as never);
    await admin.command({ setParameter: 1, transactionLifetimeLimitSeconds: 1 });
    const abandoned = client.startSession();
    try {
      abandoned.startTransaction();
      await c.updateOne({ _id: 1 } as never, { $set: { v: 'never committed' } }, { session: abandoned });
      // Wait for the condition (the record takes a plain write), not for a time.
      let written = false;
      for (let attempt = 0; attempt < 100 && !written; attempt++) {
        written = await c.updateOne({ _id: 1 } as never, { $set: { v: 'plain write' } }, { maxTimeMS: 5000 }).then(
          () => true,
          () => false,
        );
        if (!written) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(written).to.equal(true);
      const commit = (await abandoned.commitTransaction().catch((e: unknown) => e)) as MongoServerError;
      expect(commit.code).to.equal(251);
      expect(await c.findOne({ _id: 1 } as never)).to.deep.equal({ _id: 1, v: 'plain write' });
    } finally {
      await admin.command({ setParameter: 1, transactionLifetimeLimitSeconds: 60 });
      await abandoned.endSession();
    }
  });

  it('commits a transaction that swaps two values of a unique index', async () => {
    const c = db.collection('swap');
    await c.createIndex({ k: 1 }, { unique: true });
    await c.insertMany([
      { _id: 'a', k: 1 },
      { _id: 'b', k: 2 },
    ] as never[]);
    await client.withSession((s) =>
      s.withTransaction(async () => {
        await c.updateOne({ _id: 'a' } as never, { $set: { k: 3 } }, { session: s });
        await c.updateOne({ _id: 'b' } as never, { $set: { k: 1 } }, { session: s });
        await c.updateOne({ _id: 'a' } as never, { $set: { k: 2 } }, { session: s });
      }),
    );
    expect(await c.findOne({ k: 1 })).to.deep.equal({ _id: 'b', k: 1 });
    expect(await c.findOne({ k: 2 })).to.deep.equal({ _id: 'a', k: 2 });
    expect(((await c.insertOne({ _id: 'c', k: 2 } as never).catch((e: unknown) => e)) as MongoServerError).code).to.equal(11000);
    expect(((await c.insertOne({ _id: 'd', k: 1 } as never).catch((e: unknown) => e)) as MongoServerError).code).to.equal(11000);
  });

  it('raises WriteConflict with TransientTransactionError between two open transactions', async () => {
    const c = db.collection('conflict');
    await c.insertOne({ _id: 1, n: 0 } as never);
    const first = client.startSession();
    const second = client.startSession();
    first.startTransaction();
    second.startTransaction();
    await c.updateOne({ _id: 1 } as never, { $inc: { n: 1 } }, { session: first });
    const conflict = (await c.updateOne({ _id: 1 } as never, { $inc: { n: 10 } }, { session: second }).catch((e: unknown) => e)) as MongoServerError;
    expect(conflict).to.be.instanceOf(MongoServerError);
    expect(conflict.code).to.equal(112);
    expect(conflict.hasErrorLabel('TransientTransactionError')).to.equal(true);
    await second.abortTransaction().catch(() => undefined);
    await first.commitTransaction();
    await first.endSession();
    await second.endSession();
    expect((await c.findOne({ _id: 1 } as never))!.n).to.equal(1);
  });

  it('refuses a second insert of the same unique key in one transaction at that insert, with E11000', async () => {
    const c = db.collection('txnsamekey');
    await c.createIndex({ inn: 1 }, { unique: true, name: 'inn_unique' });
    const session = client.startSession();
    session.startTransaction();
    await c.insertOne({ _id: 1, inn: '7700' } as never, { session });
    const refused = (await c.insertOne({ _id: 2, inn: '7700' } as never, { session }).catch((e: unknown) => e)) as MongoServerError;
    expect(refused).to.be.instanceOf(MongoServerError);
    expect(refused.code).to.equal(11000);
    expect(refused.message).to.contain('inn_unique');
    await session.abortTransaction().catch(() => undefined);
    await session.endSession();
    expect(await c.countDocuments()).to.equal(0);
  });

  it('a unique key written by another open transaction is a WriteConflict at the write, not an E11000 at commit', async () => {
    const c = db.collection('txnkeyconflict');
    await c.createIndex({ inn: 1 }, { unique: true });
    const first = client.startSession();
    const second = client.startSession();
    first.startTransaction();
    second.startTransaction();
    await c.insertOne({ _id: 1, inn: '7701' } as never, { session: first });
    const conflict = (await c.insertOne({ _id: 2, inn: '7701' } as never, { session: second }).catch((e: unknown) => e)) as MongoServerError;
    expect(conflict).to.be.instanceOf(MongoServerError);
    expect(conflict.code).to.equal(112);
    expect(conflict.hasErrorLabel('TransientTransactionError')).to.equal(true);
    await second.abortTransaction().catch(() => undefined);
    await first.commitTransaction();
    await Promise.all([first.endSession(), second.endSession()]);
    expect(await c.find().toArray()).to.deep.equal([{ _id: 1, inn: '7701' }]);
  });

  it('a unique key committed after the transaction began is a WriteConflict at the write', async () => {
    const c = db.collection('txnkeylater');
    await c.createIndex({ inn: 1 }, { unique: true });
    await c.insertOne({ _id: 0, inn: 'other' } as never);
    const session = client.startSession();
    session.startTransaction();
    // The transaction's snapshot is taken by its first read.
    expect(await c.countDocuments({}, { session })).to.equal(1);
    await c.insertOne({ _id: 1, inn: '7702' } as never);
    const conflict = (await c.insertOne({ _id: 2, inn: '7702' } as never, { session }).catch((e: unknown) => e)) as MongoServerError;
    expect(conflict).to.be.instanceOf(MongoServerError);
    expect(conflict.code).to.equal(112);
    expect(conflict.hasErrorLabel('TransientTransactionError')).to.equal(true);
    await session.abortTransaction().catch(() => undefined);
    await session.endSession();
    expect(await c.countDocuments()).to.equal(2);
  });

  it('a plain insert of a unique key an open transaction wrote waits for it: E11000 once it commits', async () => {
    const c = db.collection('txnkeywait');
    await c.createIndex({ inn: 1 }, { unique: true });
    const session = client.startSession();
    session.startTransaction();
    await c.insertOne({ _id: 1, inn: '7703' } as never, { session });
    let settled = false;
    const plain = c.insertOne({ _id: 2, inn: '7703' } as never).then(
      () => ((settled = true), null),
      (e: unknown) => ((settled = true), e as MongoServerError),
    );
    // Answered only after the transaction ends: a read on another connection comes back first.
    expect(await c.countDocuments({ inn: '7703' })).to.equal(0);
    expect(settled).to.equal(false);
    await session.commitTransaction();
    await session.endSession();
    expect((await plain)?.code).to.equal(11000);
    expect(await c.find().toArray()).to.deep.equal([{ _id: 1, inn: '7703' }]);
  });

  it('retries a conflicting withTransaction until it succeeds', async () => {
    const c = db.collection('retry');
    await c.insertOne({ _id: 1, n: 0 } as never);
    const blocker = client.startSession();
    blocker.startTransaction();
    await c.updateOne({ _id: 1 } as never, { $inc: { n: 1 } }, { session: blocker });
    let attempts = 0;
    const retried = client.withSession((s) =>
      s.withTransaction(async () => {
        attempts++;
        if (attempts === 2) await blocker.commitTransaction();
        await c.updateOne({ _id: 1 } as never, { $inc: { n: 1 } }, { session: s });
      }),
    );
    await retried;
    await blocker.endSession();
    expect(attempts).to.be.at.least(2);
    expect((await c.findOne({ _id: 1 } as never))!.n).to.equal(2);
  });
});
