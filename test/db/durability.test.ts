import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { startMemoryServer } from '../../server/src/db/memory';
import { encodeRecord } from '../../server/src/db/memory/persistence';

/** Starts `npm run db:memory`'s command in a child process and resolves with its printed URI. */
function startCli(dbpath: string): Promise<{ child: ChildProcess; uri: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/db/memory/cli.ts', '--port', '0', '--dbpath', dbpath], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const uri = output.match(/mongodb:\/\/\S+/)?.[0];
      if (uri) resolve({ child, uri });
    });
    child.once('exit', (code) => reject(new Error(`db:memory exited with ${code} before printing its URI`)));
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
          await client.db('durable').collection<{ _id: string; n: number }>('counter').updateOne({ _id: 'hits' }, { $inc: { n: 1 } }, { upsert: true });
          counterAcks++;
        } catch {
          return;
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await new Promise((resolve) => setTimeout(resolve, 700));
    first.child.kill('SIGKILL');
    await exited(first.child);
    running = false;
    await Promise.all(workers);
    await client.close(true);
    expect(acknowledged.length).to.be.greaterThan(50);

    const second = await startCli(dbpath);
    const again = await new MongoClient(second.uri).connect();
    const stored = new Set((await again.db('durable').collection('burst').find({}, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)));
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

  it('drops a torn or corrupt last journal record instead of half-applying it', async () => {
    const server = await startMemoryServer({ dbpath });
    const client = await new MongoClient(server.uri).connect();
    await client.db('t').collection('docs').insertMany([{ _id: 1 }, { _id: 2 }] as never[]);
    await client.close();
    await server.stop();

    const journal = path.join(dbpath, 'journal.kdb');
    const record = encodeRecord([{ op: 'put', ns: 't.docs', doc: { _id: 'torn' } }, { op: 'put', ns: 't.docs', doc: { _id: 'torn2' } }]);
    const intact = statSync(journal).size;
    appendFileSync(journal, record.subarray(0, record.length - 5));

    const restarted = await startMemoryServer({ dbpath });
    const check = await new MongoClient(restarted.uri).connect();
    const ids = (await check.db('t').collection('docs').find().toArray()).map((d) => d._id);
    expect(ids).to.deep.equal([1, 2]);
    await check.db('t').collection('docs').insertOne({ _id: 3 } as never);
    await check.close();
    await restarted.stop();
    expect(statSync(journal).size).to.be.greaterThan(0);

    const corrupt = Buffer.from(record);
    corrupt[corrupt.length - 2]! ^= 0xff;
    appendFileSync(journal, corrupt);
    const size = statSync(journal).size;
    const third = await startMemoryServer({ dbpath });
    const last = await new MongoClient(third.uri).connect();
    expect((await last.db('t').collection('docs').find().toArray()).map((d) => d._id)).to.deep.equal([1, 2, 3]);
    await last.close();
    await third.stop();
    expect(readFileSync(journal).length).to.be.lessThan(size);
    expect(intact).to.be.greaterThan(0);
  });

  it('refuses bad command-line arguments with a clear message', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/db/memory/cli.ts', '--port', 'nope'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exited(child)).to.equal(2);
    expect(stderr).to.match(/--port must be an integer/);
  });
});
