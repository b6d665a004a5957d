import { once } from 'node:events';
import { connect } from 'node:net';

/**
 * Sends a request whose body does not end — `head` (request line and headers), then `start` and
 * spaces for as long as the server takes them, at most `ceiling` bytes; chunked unless the head says
 * a Content-Length — and answers what was sent before the server closed the connection and what it
 * answered (the raw response). Writes fail once the server has closed (ECONNRESET, EPIPE): expected.
 */
export async function sendEndlessBody(serverUrl: string, head: string, options: { start?: string; ceiling?: number } = {}): Promise<{ sent: number; answer: string }> {
  const { port } = new URL(serverUrl);
  const ceiling = options.ceiling ?? 64 * 1024 * 1024;
  const chunked = !/\r\ncontent-length:/i.test(head);
  const socket = connect(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  socket.on('data', (data: Buffer) => (answer += data.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let open = true;
  void closed.then(() => (open = false));
  socket.write(head);
  const write = (data: Buffer) => socket.write(chunked ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data);
  if (options.start) write(Buffer.from(options.start));
  let sent = 0;
  const part = Buffer.alloc(64 * 1024, 0x20);
  while (open && sent < ceiling) {
    sent += part.length;
    if (!write(part)) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closed]);
  }
  socket.destroy();
  return { sent, answer };
}
