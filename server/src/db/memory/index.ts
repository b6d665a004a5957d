/**
 * Kartoteka's MongoDB-compatible server: the wire protocol over an LMDB environment, presenting
 * itself as the primary of a single-node replica set (MongoDB 7.0, wire version 21). Durable
 * under `dbpath`; without one, a temporary environment deleted when it stops.
 */
import net from 'node:net';
import { calculateObjectSize, Long, ObjectId } from 'bson';
import { CommandProcessor } from './commands';
import { asCommandError, objectTooLarge } from './errors';
import { convertLegacyData, hasLegacyData } from './legacy';
import { KEY_FORMAT } from './keys';
import { Storage } from './storage';
import { Store } from './store';
import { completeMessageLength, encodeReply, parseMessage, type IncomingMessage } from './wire';

export interface MemoryServerOptions {
  port?: number;
  host?: string;
  dbpath?: string;
  /** Where start-up notes go (the conversion of old data); stderr by default. */
  log?: (line: string) => void;
}

export interface MemoryServer {
  uri: string;
  port: number;
  dbpath?: string;
  stop(): Promise<void>;
}

const REPLICA_SET = 'rs0';
const MAX_QUEUED = 8;

/** Resolves once the socket's buffered output has been written (or the socket closed). */
function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

export async function startMemoryServer(options: MemoryServerOptions = {}): Promise<MemoryServer> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? ((line: string) => process.stderr.write(`kartoteka-memory: ${line}\n`));
  const storage = Storage.open(options.dbpath);
  let store: Store;
  try {
    store = new Store(storage);
  } catch (error) {
    await storage.close();
    throw error;
  }
  try {
    if (store.leftovers > 0) log(`deleting the entries of ${store.leftovers} collections or indexes whose drop or build was interrupted (in the background)`);
    if (options.dbpath && hasLegacyData(options.dbpath)) log(await convertLegacyData(store, options.dbpath));
    for (const index of await store.recheckMultikey()) log(`index ${index} holds arrays along its path: marked multikey`);
    for (const rebuilt of await store.upgradeKeyFormat()) log(`key format ${KEY_FORMAT} (decimals and longs beyond 2^53 keyed by their exact value): ${rebuilt}`);
  } catch (error) {
    await store.close();
    throw error;
  }

  const sockets = new Set<net.Socket>();
  const identity = {
    address: '',
    setName: REPLICA_SET,
    electionId: new ObjectId('7fffffff0000000000000001'),
    topologyVersion: { processId: new ObjectId(), counter: Long.fromNumber(0) },
    startedAt: new Date(),
  };
  const processor = new CommandProcessor(store, identity);
  let nextConnectionId = 1;

  const expiry = setInterval(() => processor.expireIdle(), 1000);
  expiry.unref();

  /**
   * Executes one request; the reply to a write comes once it is on disk. A reply that cannot be
   * encoded (over the BSON size limit) is answered with BSONObjectTooLarge, as MongoDB does, not
   * thrown: one client's request never stops the server. The next request of the connection waits
   * until this reply has left (a client that sends without reading holds only its own requests).
   */
  async function handle(socket: net.Socket, message: IncomingMessage, connectionId: number, arrivedAt: number): Promise<void> {
    if (isAwaitableHello(message.command)) return streamHello(socket, message, connectionId);
    let reply: Record<string, unknown>;
    try {
      const result = processor.execute(message.command, connectionId, arrivedAt);
      reply = result instanceof Promise ? await result : result;
    } catch (error) {
      reply = asCommandError(error).toReply();
    }
    if (message.moreToCome || socket.destroyed) return;
    let bytes: Buffer;
    try {
      bytes = encodeReply(message, reply);
    } catch {
      bytes = encodeReply(message, objectTooLarge(calculateObjectSize(reply)).toReply());
    }
    if (!socket.write(bytes)) await drained(socket);
  }

  /**
   * The awaitable hello of a driver's monitor (streaming protocol, as MongoDB 4.4+ answers it): the
   * reply waits until the topology changes — here only a restart does, which the client's older
   * processId shows, answered at once — or maxAwaitTimeMS has passed. With exhaustAllowed the
   * replies go on unasked (moreToCome) every maxAwaitTimeMS until the connection closes. The monitor
   * is thus always reading and sees at once when this server goes away; a polling monitor could
   * start its next hello on a connection the server had just closed and wait on it forever (s14 U5).
   */
  async function streamHello(socket: net.Socket, message: IncomingMessage, connectionId: number): Promise<void> {
    const asked = message.command.topologyVersion as { processId?: unknown; counter?: unknown };
    const current = identity.topologyVersion;
    const maxAwaitTimeMS = Number(message.command.maxAwaitTimeMS);
    const unchanged = asked.processId instanceof ObjectId && asked.processId.equals(current.processId) && Number(asked.counter) === current.counter.toNumber();
    if (unchanged) await waitUnlessClosed(socket, maxAwaitTimeMS);
    let request: Pick<IncomingMessage, 'requestId' | 'opCode'> = message;
    while (!socket.destroyed) {
      const bytes = encodeReply(request, await processor.execute(message.command, connectionId), message.exhaustAllowed);
      if (!socket.write(bytes)) await drained(socket);
      if (!message.exhaustAllowed) return;
      // Each pushed reply answers the one before it.
      request = { requestId: bytes.readInt32LE(4), opCode: message.opCode };
      await waitUnlessClosed(socket, maxAwaitTimeMS);
    }
  }

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const connectionId = nextConnectionId++;
    let pending: Buffer = Buffer.alloc(0);
    // Chunks that arrived after `pending`, joined to it only once the message at its front is whole:
    // joining at every chunk copied a large insert (20,000 cards, ~20 MB) hundreds of times.
    const arriving: Buffer[] = [];
    let arrivingBytes = 0;
    /** The length of the message at the front of `pending` once its header has arrived, else 0. */
    let needed = 0;
    // Requests on one connection are answered in order, one at a time; reading stops while
    // MAX_QUEUED of them wait (MongoDB reads the next request only after answering one).
    let chain = Promise.resolve();
    let queued = 0;
    socket.on('data', (chunk: Buffer) => {
      arriving.push(chunk);
      arrivingBytes += chunk.length;
      if (pending.length + arrivingBytes < needed) return;
      pending = pending.length === 0 && arriving.length === 1 ? chunk : Buffer.concat([pending, ...arriving]);
      arriving.length = 0;
      arrivingBytes = 0;
      try {
        for (let length = completeMessageLength(pending); length > 0; length = completeMessageLength(pending)) {
          const message = parseMessage(pending.subarray(0, length));
          const arrivedAt = Date.now();
          pending = pending.subarray(length);
          queued++;
          if (queued >= MAX_QUEUED) socket.pause();
          chain = chain.then(async () => {
            await handle(socket, message, connectionId, arrivedAt);
            if (--queued < MAX_QUEUED) socket.resume();
          });
        }
        // completeMessageLength has refused a length out of bounds by now.
        needed = pending.length >= 4 ? pending.readInt32LE(0) : 0;
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  const advertisedHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  identity.address = `${advertisedHost}:${port}`;

  let stopped: Promise<void> | null = null;
  return {
    uri: `mongodb://${identity.address}/?replicaSet=${REPLICA_SET}`,
    port,
    dbpath: options.dbpath,
    stop() {
      stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await closed;
        clearInterval(expiry);
        processor.cursors.closeAll();
        processor.closeSessions();
        for (const txn of [...store.openTransactions]) txn.abort();
        await store.close();
      })();
      return stopped;
    },
  };
}

function isAwaitableHello(command: Record<string, unknown>): boolean {
  const name = Object.keys(command)[0];
  return (
    (name === 'hello' || name === 'ismaster' || name === 'isMaster') &&
    typeof command.topologyVersion === 'object' &&
    command.topologyVersion !== null &&
    Number.isFinite(Number(command.maxAwaitTimeMS))
  );
}

/** Resolves after `ms`, or as soon as the socket closes. */
function waitUnlessClosed(socket: net.Socket, ms: number): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      socket.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    socket.once('close', done);
  });
}
