import net from 'node:net';
import { expect } from 'chai';
import { serialize } from 'bson';
import { testMongoUri } from '../support/mongo';
import { OP_MSG, opMsg, replies } from '../support/wire';

describe('db conformance: messages however the bytes arrive', function () {
  let socket: net.Socket;

  beforeEach(async () => {
    const { hostname, port } = new URL((await testMongoUri()).replace(/^mongodb:\/\/([^/,]+).*$/, 'http://$1'));
    socket = net.connect({ host: hostname, port: Number(port) });
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once('connect', resolve));
  });
  afterEach(() => {
    socket.destroy();
  });

  it('answers a message sent in pieces cut inside its length and inside its body', async () => {
    const message = opMsg(7, { ping: 1, padding: 'x'.repeat(100_000) });
    const answered = replies(socket, 1);
    for (const [from, to] of [
      [0, 2],
      [2, 30],
      [30, 50_000],
      [50_000, message.length],
    ]) {
      socket.write(message.subarray(from, to));
      // Each piece its own chunk on the server's side.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [reply] = await answered;
    expect(reply.responseTo).to.equal(7);
    expect(reply.body.ok).to.equal(1);
  });

  it('answers two messages that arrive in one chunk, the second cut short until a later one', async () => {
    const first = opMsg(1, { ping: 1 });
    const second = opMsg(2, { ping: 1 });
    const third = opMsg(3, { ping: 1 });
    const answered = replies(socket, 3);
    socket.write(Buffer.concat([first, second, third.subarray(0, 10)]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write(third.subarray(10));
    const got = await answered;
    expect(got.map((reply) => [reply.responseTo, reply.body.ok])).to.deep.equal([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
  });
  it('refuses a message whose document sequence declares length -1, and keeps answering others', async () => {
    // The body, then a kind-1 section whose length (-1) would step back onto its own kind byte.
    const body = serialize({ insert: 'w', $db: 'wire' });
    const sequence = Buffer.concat([Buffer.from([1]), Buffer.alloc(4), Buffer.from('documents\0'), serialize({ _id: 1 })]);
    sequence.writeInt32LE(-1, 1);
    const header = Buffer.alloc(21);
    header.writeInt32LE(21 + body.length + sequence.length, 0);
    header.writeInt32LE(5, 4);
    header.writeInt32LE(OP_MSG, 12);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.write(Buffer.concat([header, body, sequence]));
    await closed;

    const { hostname, port } = new URL((await testMongoUri()).replace(/^mongodb:\/\/([^/,]+).*$/, 'http://$1'));
    const next = net.connect({ host: hostname, port: Number(port) });
    try {
      await new Promise((resolve) => next.once('connect', resolve));
      const answered = replies(next, 1);
      next.write(opMsg(6, { ping: 1 }));
      const [reply] = await answered;
      expect(reply.responseTo).to.equal(6);
      expect(reply.body.ok).to.equal(1);
    } finally {
      next.destroy();
    }
  });
});
