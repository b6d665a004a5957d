import type net from 'node:net';
import { deserialize, serialize } from 'bson';

export const OP_MSG = 2013;

/** An OP_MSG with one body section: `command` run against `db`. */
export function opMsg(requestId: number, command: Record<string, unknown>, db = 'admin'): Buffer {
  const body = serialize({ ...command, $db: db });
  const header = Buffer.alloc(21);
  header.writeInt32LE(21 + body.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(0, 8);
  header.writeInt32LE(OP_MSG, 12);
  header.writeUInt32LE(0, 16);
  header[20] = 0;
  return Buffer.concat([header, body]);
}

/** The replies read from `socket` until `count` have arrived: which request each answers, and its body. */
export function replies(socket: net.Socket, count: number): Promise<{ responseTo: number; body: Record<string, unknown> }[]> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const got: { responseTo: number; body: Record<string, unknown> }[] = [];
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= buffered.readInt32LE(0)) {
        const length = buffered.readInt32LE(0);
        got.push({ responseTo: buffered.readInt32LE(8), body: deserialize(buffered.subarray(21, length)) });
        buffered = buffered.subarray(length);
      }
      if (got.length >= count) resolve(got);
    });
  });
}
