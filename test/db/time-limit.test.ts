import net from 'node:net';
import { expect } from 'chai';
import { deserialize, serialize } from 'bson';
import { MongoClient } from 'mongodb';
import { startMemoryServer, type MemoryServer } from '../../server/src/db/memory';

const OP_MSG = 2013;
const CARDS = 20_000;

/** An OP_MSG with one body section. */
function opMsg(requestId: number, command: Record<string, unknown>): Buffer {
  const body = serialize(command);
  const header = Buffer.alloc(21);
  header.writeInt32LE(21 + body.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(OP_MSG, 12);
  return Buffer.concat([header, body]);
}

/** The bodies of the first `count` replies read from `socket`, by the request each answers. */
function replies(socket: net.Socket, count: number): Promise<Map<number, Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const got = new Map<number, Record<string, unknown>>();
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= buffered.readInt32LE(0)) {
        const length = buffered.readInt32LE(0);
        got.set(buffered.readInt32LE(8), deserialize(buffered.subarray(21, length)));
        buffered = buffered.subarray(length);
      }
      if (got.size >= count) resolve(got);
    });
  });
}

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
        .collection('cards')
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
    const scan = { aggregate: 'cards', pipeline: [{ $match: { body: { $regex: 'zz$' } } }, { $group: { _id: 1, n: { $sum: 1 } } }], cursor: {}, $db: 'limits' };
    const answered = replies(socket, 3);
    // Sent together: the second and third wait on the connection while the scan tests 20,000 cards.
    socket.write(
      Buffer.concat([
        opMsg(1, scan),
        opMsg(2, { find: 'cards', filter: { _id: 7 }, maxTimeMS: 1, $db: 'limits' }),
        opMsg(3, { find: 'cards', filter: { _id: 8 }, maxTimeMS: 600_000, $db: 'limits' }),
      ]),
    );
    const got = await answered;
    expect(got.get(1)).to.include({ ok: 1 });
    expect(got.get(2)).to.include({ ok: 0, code: 50, codeName: 'MaxTimeMSExpired' });
    expect(got.get(3)).to.include({ ok: 1 });
    expect((got.get(3)!.cursor as { firstBatch: { _id: number }[] }).firstBatch.map((card) => card._id)).to.deep.equal([8]);
  });
});
