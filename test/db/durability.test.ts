import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient, MongoServerError } from 'mongodb';
import { startMemoryServer } from '../../server/src/db/memory';
import { encodeRecord } from '../../server/src/db/memory/legacy';

/** Starts `npm run db:memory`'s command in a child process and resolves with its printed URI. */
function startCli(dbpath: string): Promise<{ child: ChildProcess; uri: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/db/memory/cli.ts', '--port', '0', '--dbpath', dbpath], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    let errors = '';
    child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const uri = output.match(/mongodb:\/\/\S+/)?.[0];
      if (uri) resolve({ child, uri });
    });
    child.once('exit', (code) => reject(new Error(`db:memory exited with ${code} before printing its URI: ${errors}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe('db durability (--dbpath)', function () {
  this.timeout(60_000);
  let dbpath: string;

  beforeEach(() => {
    dbpath = mkdtempSync(path.join(tmpdir(), 'kartoteka-memory-'));
  });
  afterEach(() => rmSync(dbpath, { recursive: true, force: true }));

  it('keeps every acknowledged write after kill -9 in the middle of a write burst', async () => {
    const first = await startCli(dbpath);
    const client = await new MongoClient(first.uri, { serverSelectionTimeoutMS: 1000, retryWrites: false }).connect();
    const c = client.db('durable').collection<{ _id: string; worker: number }>('burst');
    await c.createIndex({ worker: 1 });
    const acknowledged: string[] = [];
    let counterAcks = 0;
    let running = true;
    const worker = async (id: number) => {
      for (let i = 0; running; i++) {
        try {
          await c.insertOne({ _id: `${id}-${i}`, worker: id });
          acknowledged.push(`${id}-${i}`);
          await client
            .db('durable')
            .collection<{ _id: string; n: number }>('counter')
            .updateOne({ _id: 'hits' }, { $inc: { n: 1 } }, { upsert: true });
          counterAcks++;
        } catch {
          return;
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    // Kill in the middle of the burst, once it has acknowledged a good number of writes.
    while (acknowledged.length < 100) await new Promise((resolve) => setTimeout(resolve, 10));
    first.child.kill('SIGKILL');
    await exited(first.child);
    running = false;
    await Promise.all(workers);
    await client.close(true);
    expect(acknowledged.length).to.be.at.least(100);

    const second = await startCli(dbpath);
    const again = await new MongoClient(second.uri).connect();
    const stored = new Set(
      (
        await again
          .db('durable')
          .collection('burst')
          .find({}, { projection: { _id: 1 } })
          .toArray()
      ).map((d) => String(d._id)),
    );
    const lost = acknowledged.filter((id) => !stored.has(id));
    expect(lost).to.deep.equal([]);
    const counter = await again.db('durable').collection<{ _id: string; n: number }>('counter').findOne({ _id: 'hits' });
    expect(counter!.n).to.be.at.least(counterAcks);
    const indexes = await again.db('durable').collection('burst').listIndexes().toArray();
    expect(indexes.map((i) => i.name)).to.include('worker_1');
    await again.close();
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).to.equal(0);
  });

  it('converts data of the old journal engine on first start, leaving out a torn or corrupt last record', async () => {
    // The files the journal engine left: a snapshot (header, operations, end marker) and a journal.
    writeFileSync(
      path.join(dbpath, 'snapshot.kdb'),
      Buffer.concat([
        encodeRecord([{ generation: 1 }]),
        encodeRecord([
          { op: 'createCollection', ns: 't.docs', options: {} },
          { op: 'createIndex', ns: 't.docs', spec: { v: 2, key: { k: 1 }, name: 'k_1', unique: true } },
          { op: 'put', ns: 't.docs', doc: { _id: 1, k: 'a' } },
          { op: 'put', ns: 't.docs', doc: { _id: 2, k: 'b' } },
        ]),
        encodeRecord([{ end: true }]),
      ]),
    );
    const torn = encodeRecord([{ op: 'put', ns: 't.docs', doc: { _id: 'torn', k: 't' } }]);
    const corrupt = Buffer.from(encodeRecord([{ op: 'put', ns: 't.docs', doc: { _id: 'corrupt', k: 'c' } }]));
    corrupt[corrupt.length - 2]! ^= 0xff;
    writeFileSync(
      path.join(dbpath, 'journal.kdb'),
      Buffer.concat([
        encodeRecord([{ generation: 1 }]),
        encodeRecord([
          { op: 'put', ns: 't.docs', doc: { _id: 3, k: 'c' } },
          { op: 'del', ns: 't.docs', id: 1 },
        ]),
        corrupt,
        torn.subarray(0, torn.length - 5),
      ]),
    );
    const logged: string[] = [];
    const server = await startMemoryServer({ dbpath, log: (line) => logged.push(line) });
    const client = await new MongoClient(server.uri).connect();
    const docs = client.db('t').collection('docs');
    expect(await docs.find().sort({ _id: 1 }).toArray()).to.deep.equal([
      { _id: 2, k: 'b' },
      { _id: 3, k: 'c' },
    ]);
    expect((await docs.listIndexes().toArray()).map((index) => index.name)).to.deep.equal(['_id_', 'k_1']);
    expect(((await docs.insertOne({ _id: 4, k: 'b' } as never).catch((e: unknown) => e)) as MongoServerError).code).to.equal(11000);
    await client.close();
    await server.stop();
    expect(logged.join('\n')).to.match(/converted 2 documents in 1 collections from the old journal format; the old files are kept in .*converted-journal-/);
    // The old files are kept aside, and a second start converts nothing again.
    const kept = readdirSync(dbpath).find((name) => name.startsWith('converted-journal-'))!;
    expect(readdirSync(path.join(dbpath, kept)).sort()).to.deep.equal(['journal.kdb', 'snapshot.kdb']);
    const again = await startMemoryServer({ dbpath, log: (line) => logged.push(line) });
    const check = await new MongoClient(again.uri).connect();
    expect(await check.db('t').collection('docs').countDocuments()).to.equal(2);
    await check.close();
    await again.stop();
    expect(logged).to.have.length(1);
  });

  it('refuses to start over old journal files it cannot convert, changing nothing', async () => {
    writeFileSync(path.join(dbpath, 'snapshot.kdb'), encodeRecord([{ generation: 1 }]));
    const failure = (await startMemoryServer({ dbpath, log: () => {} }).catch((e: unknown) => e)) as Error;
    expect(failure.message).to.match(/cannot read the old journal files in .*: .*snapshot\.kdb is incomplete.*Nothing was changed/);
    expect(readdirSync(dbpath)).to.include('snapshot.kdb');
  });

  it('refuses bad command-line arguments with a clear message', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/db/memory/cli.ts', '--port', 'nope'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exited(child)).to.equal(2);
    expect(stderr).to.match(/--port must be an integer/);
  });
});
