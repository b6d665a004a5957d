import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { startMemoryServer, type MemoryServer } from '../../server/src/db/memory';

// s14 U5: the database stopped and started again on the same port while the application stayed up.
describe('db restart on the same port', function () {
  this.timeout(120_000);
  let dbpath: string;
  let server: MemoryServer | undefined;
  let client: MongoClient | undefined;

  beforeEach(() => {
    dbpath = mkdtempSync(path.join(tmpdir(), 'kartoteka-restart-'));
  });
  afterEach(async () => {
    await client?.close();
    await server?.stop();
    rmSync(dbpath, { recursive: true, force: true });
  });

  it('a client that stayed up reads and writes again after each of several restarts, its monitor streaming as with MongoDB', async () => {
    const quiet = () => undefined;
    server = await startMemoryServer({ dbpath, log: quiet });
    const { port } = server;
    // As server/src/db/connect.ts connects: the driver's defaults but the selection timeout.
    client = await new MongoClient(server.uri, { serverSelectionTimeoutMS: 10_000 }).connect();
    const streamed: boolean[] = [];
    client.on('serverHeartbeatSucceeded', (event) => streamed.push(event.awaited));
    const cards = client.db('restart').collection<{ _id: number }>('cards');
    await cards.insertOne({ _id: 0 });
    for (let round = 1; round <= 6; round++) {
      // The monitor's next hello is due while the server is away or just back.
      await delay(200 * round);
      await server.stop();
      server = undefined;
      await delay(300);
      server = await startMemoryServer({ port, dbpath, log: quiet });
      await cards.insertOne({ _id: round });
      expect(await cards.countDocuments()).to.equal(round + 1);
    }
    // The awaitable hello is answered (topologyVersion, maxAwaitTimeMS, exhaust): the monitor is
    // always reading its connection and sees a server that went away at once.
    expect(streamed).to.include(true);
  });
});
