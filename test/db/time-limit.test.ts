import net from 'node:net';
import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { startMemoryServer, type MemoryServer } from '../../server/src/db/memory';
import { opMsg, replies } from '../support/wire';

const CARDS = 20_000;

// s15 A3: the limit counted only the command's own run, so requests queued behind a long scan were
// answered whenever their turn came (after 58–93 s with a 20 s limit). Built-in database only: a
// real MongoDB reads a connection's next request only after answering the one before.
describe('built-in database: maxTimeMS counts from the arrival of the request', function () {
  this.timeout(120_000);
  let server: MemoryServer;
  let socket: net.Socket;

  before(async () => {
    server = await startMemoryServer({ log: () => {} });
    const client = await new MongoClient(server.uri).connect();
    try {
      await client
        .db('limits')
        .collection<{ _id: number; body: string }>('cards')
        .insertMany(Array.from({ length: CARDS }, (_, i) => ({ _id: i, body: `card ${i} `.padEnd(200, 'x') })));
    } finally {
      await client.close();
    }
  });
  after(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    socket = net.connect({ host: '127.0.0.1', port: server.port });
    await new Promise((resolve) => socket.once('connect', resolve));
  });
  afterEach(() => {
    socket.destroy();
  });

  it('a request that waited behind a scan longer than its maxTimeMS is answered MaxTimeMSExpired; within its limit it is answered', async () => {
    const scan = { aggregate: 'cards', pipeline: [{ $match: { body: { $regex: 'zz$' } } }, { $group: { _id: 1, n: { $sum: 1 } } }], cursor: {} };
    const answered = replies(socket, 3);
    // Sent together: the second and third wait on the connection while the scan tests 20,000 cards.
    socket.write(
      Buffer.concat([
        opMsg(1, scan, 'limits'),
        opMsg(2, { find: 'cards', filter: { _id: 7 }, maxTimeMS: 1 }, 'limits'),
        opMsg(3, { find: 'cards', filter: { _id: 8 }, maxTimeMS: 600_000 }, 'limits'),
      ]),
    );
    const got = new Map((await answered).map(({ responseTo, body }) => [responseTo, body]));
    expect(got.get(1)).to.include({ ok: 1 });
    expect(got.get(2)).to.include({ ok: 0, code: 50, codeName: 'MaxTimeMSExpired' });
    expect(got.get(3)).to.include({ ok: 1 });
    expect((got.get(3)!.cursor as { firstBatch: { _id: number }[] }).firstBatch.map((card) => card._id)).to.deep.equal([8]);
  });
});
