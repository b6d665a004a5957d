/** Command dispatch: turns a decoded command document into a MongoDB-shaped reply. */
import { createHash } from 'node:crypto';
import { Binary, Long, ObjectId, Timestamp } from 'bson';
import { Aggregator } from 'mingo/aggregator';
import { compareValues, keyString } from './bson-order';
import { Cursors, NO_LEASE, type ViewLease, type Within } from './cursors';
import { asCommandError, badValue, CommandError, commandNotFound, indexNotFound, invalidNamespace, noSuchTransaction, typeMismatch } from './errors';
import { normalizeIndexSpec, TextIndex, type Doc, type IndexSpec } from './indexes';
import {
  compileFilter,
  countDocs,
  countGroups,
  explainFind,
  isPlainObject,
  findPlan,
  openCursor,
  openRawCursor,
  projectDocs,
  withTimeLimit,
  selectDocs,
  validateSort,
  type ExecutionStats,
  type SelectOptions,
  closeIterators,
} from './query';
import type { ReadTxn } from './storage';
import { ID_INDEX_SPEC, LockWait, requireCollection, splitNamespace, Transaction, TRANSACTION_SLICE_MS, type Collection, type ReadView, type Store } from './store';
import { valuesAtPath } from './text';
import { deleteDocuments, insertDocument, updateDocuments, type WriteContext } from './writes';
import { MINGO_OPTIONS } from './operators';
import { rawProjection } from './raw-projection';
import { decodedStatement } from './wire';

export interface ServerIdentity {
  /** `host:port` as clients reach it. */
  address: string;
  setName: string;
  electionId: ObjectId;
  /** Changes only when the process restarts (a new processId): one node, no elections or reconfigurations. */
  topologyVersion: { processId: ObjectId; counter: Long };
  startedAt: Date;
}

interface SessionState {
  /** The session id document as the driver sent it (`{ id: UUID }`). */
  lsid: Doc;
  txn?: Transaction;
  lastUse: Date;
  /** A snapshot session's read view (read concern "snapshot"): fixed at its first read. */
  snapshot?: { txn: ReadTxn; at: Timestamp; lastUse: number };
  /** The session's last retryable write (a write outside a transaction with a `txnNumber`) and its reply. */
  retryable?: { txnNumber: number; reply: Doc | Promise<Doc> };
}

/**
 * Collations other than the simple (binary) one are refused — in a command, its statements
 * (`updates`, `deletes`) and index specifications (`indexes`) — rather than ignored: the server
 * compares strings by their bytes only, and answering with another order or another idea of a
 * duplicate than the one asked for would be silently wrong.
 */
function refuseCollations(body: Doc): void {
  const parts = [body, ...['updates', 'deletes', 'indexes'].flatMap((field) => (Array.isArray(body[field]) ? (body[field] as unknown[]) : []))];
  for (const part of parts) {
    const collation = isPlainObject(part) ? part.collation : undefined;
    if (collation === undefined || (isPlainObject(collation) && collation.locale === 'simple' && Object.keys(collation).length === 1)) continue;
    throw new CommandError(
      238,
      'NotImplemented',
      "Kartoteka's built-in database compares strings by their bytes only: a collation other than {locale: 'simple'} is not supported (use MongoDB for collations)",
    );
  }
}

/** How long one slice of a write command's statements runs before other requests are answered (ms). */
const WRITE_SLICE_MS = 50;

/** The writes a driver retries with the same `txnNumber` when their reply was lost. */
const RETRYABLE_WRITES = new Set(['insert', 'update', 'delete', 'findAndModify', 'findandmodify']);

interface Request {
  name: string;
  body: Doc;
  db: string;
  txn?: Transaction;
  /** How the command reads: the transaction's snapshot and writes, or committed state. */
  view: ReadView;
  connectionId: number;
  /** When the server read the request (`maxTimeMS` counts from it). */
  arrivedAt: number;
}

type Handler = (request: Request) => Doc | Promise<Doc>;

/** What the statements of a write command gave: each one's result by its index (none for a failed one), and the failures. */
interface Statements<R> {
  results: (R | undefined)[];
  writeErrors: Doc[];
}

/** The sum of `count` over the statements that ran. */
function sum<R>(results: (R | undefined)[], count: (result: R) => number): number {
  let total = 0;
  for (const result of results) if (result !== undefined) total += count(result);
  return total;
}

function int(value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const n = Number(value instanceof Long ? value.toNumber() : value);
  return Number.isFinite(n) ? n : fallback;
}

function collectionName(request: Request): string {
  const name = request.body[request.name];
  if (typeof name !== 'string' || name.length === 0) throw invalidNamespace(`collection name has invalid type ${typeof name}`);
  return name;
}

function asDoc(value: unknown, what: string): Doc {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw typeMismatch(`${what} must be an object`);
  return value;
}

export class CommandProcessor {
  private readonly sessions = new Map<string, SessionState>();
  readonly cursors = new Cursors();
  private readonly handlers: Record<string, Handler>;
  /** MongoDB's `transactionLifetimeLimitSeconds`: older open transactions are aborted, releasing their locks. */
  private transactionLifetimeMs = 60_000;
  /** Set by KARTOTEKA_MEMORY_DEBUG=1: logs each command name, to learn what drivers send. */
  private readonly debug = process.env.KARTOTEKA_MEMORY_DEBUG === '1';

  constructor(
    private readonly store: Store,
    private readonly identity: ServerIdentity,
  ) {
    const hello: Handler = (request) => this.hello(request);
    this.handlers = {
      hello,
      ismaster: hello,
      isMaster: hello,
      ping: () => ({ ok: 1 }),
      buildInfo: () => this.buildInfo(),
      buildinfo: () => this.buildInfo(),
      getParameter: (request) => this.getParameter(request.body),
      setParameter: (request) => this.setParameter(request.body),
      getCmdLineOpts: () => ({ argv: ['kartoteka-memory'], parsed: {}, ok: 1 }),
      hostInfo: () => ({ system: { currentTime: new Date(), hostname: this.identity.address }, os: {}, extra: {}, ok: 1 }),
      serverStatus: () => this.serverStatus(),
      connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
      replSetGetStatus: () => this.replSetGetStatus(),
      whatsmyuri: () => ({ you: '127.0.0.1', ok: 1 }),
      endSessions: (request) => this.endSessions(request.body.endSessions),
      killSessions: (request) => this.endSessions(request.body.killSessions),
      refreshSessions: () => ({ ok: 1 }),
      startSession: () => ({ id: { id: new Binary(Buffer.from(new ObjectId().toHexString().padEnd(32, '0'), 'hex'), 4) }, timeoutMinutes: 30, ok: 1 }),
      listDatabases: (request) => this.listDatabases(request.body),
      dbStats: (request) => this.dbStats(request.db),
      collStats: (request) => this.collStats(request),
      listCollections: (request) => this.listCollections(request),
      create: (request) => this.create(request),
      drop: (request) => this.drop(request),
      dropDatabase: (request) => this.dropDatabase(request.db),
      renameCollection: (request) => this.renameCollection(request.body),
      collMod: (request) => (requireCollection(this.store, request.db, collectionName(request)), { ok: 1 }),
      insert: (request) => this.insert(request),
      update: (request) => this.update(request),
      delete: (request) => this.delete(request),
      findAndModify: (request) => this.findAndModify(request),
      findandmodify: (request) => this.findAndModify(request),
      find: (request) => this.find(request),
      explain: (request) => this.explain(request),
      getMore: (request) => this.getMore(request),
      killCursors: (request) => this.cursors.kill(((request.body.cursors as unknown[]) ?? []).map((id) => int(id, 0))),
      aggregate: (request) => this.aggregate(request),
      count: (request) => this.count(request),
      distinct: (request) => this.distinct(request),
      createIndexes: (request) => this.createIndexes(request),
      listIndexes: (request) => this.listIndexes(request),
      dropIndexes: (request) => this.dropIndexes(request),
      deleteIndexes: (request) => this.dropIndexes(request),
      commitTransaction: (request) => this.commitTransaction(request),
      abortTransaction: (request) => this.abortTransaction(request),
    };
  }

  /**
   * Runs one command; never throws: failures become `{ ok: 0, ... }` replies. A write outside a
   * transaction that meets a record locked by an open one runs again once that transaction ends
   * (as MongoDB makes it wait), so the reply may be a promise.
   */
  execute(body: Doc, connectionId: number, arrivedAt = Date.now()): Doc | Promise<Doc> {
    const name = Object.keys(body)[0] ?? '';
    if (this.debug) process.stderr.write(`[kartoteka-memory] ${name} ${JSON.stringify(body[name])}\n`);
    let txn: Transaction | undefined;
    try {
      const db = typeof body.$db === 'string' ? body.$db : 'admin';
      const handler = Object.hasOwn(this.handlers, name) ? this.handlers[name] : undefined;
      if (!handler) throw commandNotFound(name);
      this.expireTransactions();
      txn = this.transactionFor(name, body);
      refuseCollations(body);
      const retried = txn ? undefined : this.retriedWrite(name, body);
      if (retried) return retried;
      const snapshot = txn ? undefined : this.snapshotFor(body);
      const view = txn ? txn.view : { store: this.store, snapshot: snapshot?.txn };
      let result = withTimeLimit(body.maxTimeMS, () => handler({ name, body, db, txn, view, connectionId, arrivedAt }), arrivedAt);
      if (!txn) this.rememberRetryable(name, body, result);
      if (snapshot && !(result instanceof Promise)) result = withAtClusterTime(result, snapshot.at);
      if (!(result instanceof Promise)) return this.withClusterTime(result);
      const statementTxn = txn;
      return result.then(
        (reply) => this.withClusterTime(snapshot ? withAtClusterTime(reply, snapshot.at) : reply),
        (error: unknown) => this.failed(error, statementTxn, name, body, connectionId, arrivedAt),
      );
    } catch (error) {
      return this.failed(error, txn, name, body, connectionId, arrivedAt);
    }
  }

  private failed(error: unknown, txn: Transaction | undefined, name: string, body: Doc, connectionId: number, arrivedAt: number): Doc | Promise<Doc> {
    if (error instanceof LockWait) return error.holder.finished.then(() => this.execute(body, connectionId, arrivedAt));
    // A failed statement aborts its transaction, as in MongoDB.
    if (txn && name !== 'commitTransaction') txn.abort();
    return this.withClusterTime(asCommandError(error).toReply());
  }

  /** Aborts transactions open longer than the lifetime limit. */
  expireTransactions(): void {
    const now = Date.now();
    for (const txn of [...this.store.openTransactions]) if (now - txn.startedAt > this.transactionLifetimeMs) txn.abort();
  }

  /**
   * What the server calls every second: besides transactions, it closes cursors and releases
   * snapshot sessions' read views idle longer than the cursor time-out (a read view left open
   * keeps LMDB from reusing the pages written after it). A session whose view was released reads
   * a fresh one, or is told SnapshotTooOld when it asks for the old time.
   */
  expireIdle(): void {
    this.expireTransactions();
    const now = Date.now();
    this.cursors.expire(now);
    for (const session of this.sessions.values()) {
      if (session.snapshot && now - session.snapshot.lastUse > this.cursors.timeoutMs) {
        session.snapshot.txn.done();
        session.snapshot = undefined;
      }
    }
  }

  private withClusterTime(reply: Doc): Doc {
    const clusterTime = new Timestamp({ t: Math.floor(Date.now() / 1000), i: this.store.seq % 0xffffffff || 1 });
    reply.$clusterTime = { clusterTime, signature: { hash: new Binary(Buffer.alloc(20), 0), keyId: Long.fromNumber(0) } };
    reply.operationTime = clusterTime;
    return reply;
  }

  private transactionFor(name: string, body: Doc): Transaction | undefined {
    if (!isPlainObject(body.lsid)) return undefined;
    const sessionKey = keyString(body.lsid.id);
    let session = this.sessions.get(sessionKey);
    if (!session) {
      if (this.sessions.size >= MAX_SESSIONS) this.forgetIdleSessions();
      this.sessions.set(sessionKey, (session = { lsid: body.lsid, lastUse: new Date() }));
    }
    session.lastUse = new Date();
    if (body.autocommit !== false) return undefined;
    const txnNumber = int(body.txnNumber, -1);
    if (body.startTransaction === true) {
      if (session.txn && session.txn.txnNumber >= txnNumber) {
        throw new CommandError(
          225,
          'TransactionTooOld',
          `Cannot start transaction ${txnNumber} on session because a newer transaction ${session.txn.txnNumber} has already started`,
        );
      }
      session.txn?.abort();
      session.txn = new Transaction(this.store, txnNumber);
      return session.txn;
    }
    const txn = session.txn;
    if (!txn || txn.txnNumber !== txnNumber) throw noSuchTransaction(txnNumber);
    if (txn.state === 'aborted' && name !== 'abortTransaction') throw noSuchTransaction(txnNumber);
    if (txn.state === 'committed' && name !== 'commitTransaction') {
      throw new CommandError(256, 'TransactionCommitted', `Transaction with { txnNumber: ${txnNumber} } has been committed.`);
    }
    return txn;
  }

  /**
   * A retryable write sent again with its session's last `txnNumber` (the driver retries once when
   * the reply was lost): answered with the first execution's reply, not applied twice, as MongoDB
   * does; an older `txnNumber` is refused. Replies are kept in memory only (not across a restart).
   */
  private retriedWrite(name: string, body: Doc): Doc | Promise<Doc> | undefined {
    if (!RETRYABLE_WRITES.has(name) || !isPlainObject(body.lsid) || body.txnNumber === undefined) return undefined;
    const session = this.sessions.get(keyString(body.lsid.id));
    const last = session?.retryable;
    if (!last) return undefined;
    const txnNumber = int(body.txnNumber, -1);
    if (txnNumber === last.txnNumber) return last.reply;
    if (txnNumber < last.txnNumber) {
      throw new CommandError(
        225,
        'TransactionTooOld',
        `Retryable write with txnNumber ${txnNumber} is prohibited on session because a newer retryable write with txnNumber ${last.txnNumber} has already started on this session.`,
      );
    }
    return undefined;
  }

  /** Keeps a retryable write's reply for a retry (a failed command is not kept: its retry runs again). */
  private rememberRetryable(name: string, body: Doc, result: Doc | Promise<Doc>): void {
    if (!RETRYABLE_WRITES.has(name) || !isPlainObject(body.lsid) || body.txnNumber === undefined) return;
    const session = this.sessions.get(keyString(body.lsid.id));
    if (!session) return;
    const entry: NonNullable<SessionState['retryable']> = { txnNumber: int(body.txnNumber, -1), reply: result };
    session.retryable = entry;
    const forgetIfFailed = (reply: Doc) => {
      if (reply.ok !== 1 && session.retryable === entry) session.retryable = undefined;
    };
    if (result instanceof Promise) result.then(forgetIfFailed, () => forgetIfFailed({ ok: 0 }));
    else forgetIfFailed(result);
  }

  /**
   * The read view of a read with read concern "snapshot" outside a transaction: the session's first
   * such read fixes it (an LMDB read snapshot), later reads name it by `atClusterTime`.
   */
  private snapshotFor(body: Doc): SessionState['snapshot'] {
    const concern = body.readConcern;
    if (!isPlainObject(concern) || concern.level !== 'snapshot') return undefined;
    const session = isPlainObject(body.lsid) ? this.sessions.get(keyString(body.lsid.id)) : undefined;
    if (!session) throw new CommandError(72, 'InvalidOptions', 'read concern "snapshot" needs a session on this server');
    if (concern.atClusterTime !== undefined) {
      if (!session.snapshot || keyString(concern.atClusterTime) !== keyString(session.snapshot.at)) {
        throw new CommandError(239, 'SnapshotTooOld', 'Read timestamp is older than the snapshot this server keeps for the session');
      }
      session.snapshot.lastUse = Date.now();
      return session.snapshot;
    }
    session.snapshot?.txn.done();
    session.snapshot = {
      txn: this.store.storage.snapshot(),
      at: new Timestamp({ t: Math.floor(Date.now() / 1000), i: (this.store.committedSeq % 0xffffffff) + 1 }),
      lastUse: Date.now(),
    };
    return session.snapshot;
  }

  private forget(key: string): void {
    const session = this.sessions.get(key);
    session?.txn?.abort();
    session?.snapshot?.txn.done();
    this.sessions.delete(key);
  }

  /** Ends every session (server stop). */
  closeSessions(): void {
    for (const key of [...this.sessions.keys()]) this.forget(key);
  }

  /** Sessions unused for their timeout (30 minutes) are forgotten, their transactions aborted. */
  private forgetIdleSessions(): void {
    const cutoff = Date.now() - 30 * 60 * 1000;
    for (const [key, session] of this.sessions) if (session.lastUse.getTime() < cutoff) this.forget(key);
  }

  /** `$listLocalSessions`: the sessions this server has seen, as `{ _id: { id, uid }, lastUse }`. */
  private localSessions(spec: unknown): Doc[] {
    const options = asDoc(spec, '$listLocalSessions');
    if (options.allUsers !== undefined && options.users !== undefined) throw badValue('$listLocalSessions: allUsers and users cannot both be given');
    const uid = new Binary(createHash('sha256').update('').digest(), 0);
    return [...this.sessions.values()].map((session) => ({ _id: { id: session.lsid.id, uid }, lastUse: session.lastUse }));
  }

  private async commitTransaction(request: Request): Promise<Doc> {
    const txn = request.txn;
    if (!txn) throw badValue('commitTransaction must be run within a transaction');
    await txn.commit();
    return { ok: 1 };
  }

  private abortTransaction(request: Request): Doc {
    const txn = request.txn;
    if (!txn) throw badValue('abortTransaction must be run within a transaction');
    if (txn.state === 'committed') throw new CommandError(256, 'TransactionCommitted', 'Transaction has been committed.');
    if (txn.state === 'aborted') throw noSuchTransaction(txn.txnNumber);
    txn.abort();
    return { ok: 1 };
  }

  private endSessions(ids: unknown): Doc {
    for (const lsid of Array.isArray(ids) ? ids : []) {
      if (!isPlainObject(lsid)) continue;
      this.forget(keyString(lsid.id));
    }
    return { ok: 1 };
  }

  private hello(request: Request): Doc {
    return {
      helloOk: true,
      ismaster: true,
      isWritablePrimary: true,
      // With a topologyVersion drivers monitor with the streaming protocol, as with MongoDB 4.4+
      // (the awaitable hello is answered in index.ts: it waits on the connection).
      topologyVersion: this.identity.topologyVersion,
      hosts: [this.identity.address],
      setName: this.identity.setName,
      setVersion: 1,
      primary: this.identity.address,
      me: this.identity.address,
      secondary: false,
      electionId: this.identity.electionId,
      lastWrite: { opTime: { ts: new Timestamp({ t: Math.floor(Date.now() / 1000), i: 1 }), t: Long.fromNumber(1) }, lastWriteDate: new Date() },
      maxBsonObjectSize: 16 * 1024 * 1024,
      maxMessageSizeBytes: 48_000_000,
      maxWriteBatchSize: 100_000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: request.connectionId,
      minWireVersion: 0,
      maxWireVersion: 21,
      readOnly: false,
      ok: 1,
    };
  }

  private serverStatus(): Doc {
    const memory = process.memoryUsage();
    return {
      host: this.identity.address,
      version: '7.0.0',
      process: 'mongod',
      uptime: (Date.now() - this.identity.startedAt.getTime()) / 1000,
      localTime: new Date(),
      mem: { bits: 64, resident: Math.round(memory.rss / 2 ** 20), virtual: 0, supported: true },
      extra_info: { note: 'fields vary by platform', heap_usage_bytes: memory.heapUsed },
      ok: 1,
    };
  }

  private buildInfo(): Doc {
    return {
      version: '7.0.0',
      gitVersion: 'kartoteka-memory',
      versionArray: [7, 0, 0, 0],
      bits: 64,
      debug: false,
      maxBsonObjectSize: 16 * 1024 * 1024,
      storageEngines: ['kartoteka-memory'],
      modules: [],
      ok: 1,
    };
  }

  private setParameter(body: Doc): Doc {
    if (body.cursorTimeoutMillis !== undefined) {
      const millis = int(body.cursorTimeoutMillis, NaN);
      if (!Number.isInteger(millis) || millis < 1) throw badValue('cursorTimeoutMillis must be greater than or equal to 1');
      const was = this.cursors.timeoutMs;
      this.cursors.timeoutMs = millis;
      return { was, ok: 1 };
    }
    const seconds = body.transactionLifetimeLimitSeconds;
    if (seconds === undefined) throw badValue('only transactionLifetimeLimitSeconds and cursorTimeoutMillis can be set on this server');
    const value = int(seconds, NaN);
    if (!Number.isInteger(value) || value < 1) throw badValue('transactionLifetimeLimitSeconds must be greater than or equal to 1s');
    const was = this.transactionLifetimeMs / 1000;
    this.transactionLifetimeMs = value * 1000;
    return { was, ok: 1 };
  }

  private getParameter(body: Doc): Doc {
    const known: Doc = {
      featureCompatibilityVersion: { version: '7.0' },
      authenticationMechanisms: [],
      maxBSONDepth: 200,
      transactionLifetimeLimitSeconds: this.transactionLifetimeMs / 1000,
      cursorTimeoutMillis: this.cursors.timeoutMs,
    };
    const reply: Doc = {};
    for (const key of Object.keys(body)) if (key in known && body[key] !== undefined) reply[key] = known[key];
    if (body.getParameter === '*') Object.assign(reply, known);
    return { ...reply, ok: 1 };
  }

  private replSetGetStatus(): Doc {
    return {
      set: this.identity.setName,
      date: new Date(),
      myState: 1,
      members: [{ _id: 0, name: this.identity.address, health: 1, state: 1, stateStr: 'PRIMARY', self: true }],
      ok: 1,
    };
  }

  private listDatabases(body: Doc): Doc {
    const names = this.store.databaseNames();
    const filter = body.filter !== undefined ? compileFilter(asDoc(body.filter, 'filter')) : null;
    const databases = names
      .map((name) => ({ name, sizeOnDisk: this.store.collectionsOf(name).reduce((sum, c) => sum + c.count * 100, 0), empty: false }))
      .filter((db) => !filter || filter.test(db));
    if (body.nameOnly === true) return { databases: databases.map(({ name }) => ({ name })), ok: 1 };
    return { databases, totalSize: databases.reduce((sum, db) => sum + db.sizeOnDisk, 0), totalSizeMb: 0, ok: 1 };
  }

  private dbStats(db: string): Doc {
    const collections = this.store.collectionsOf(db);
    const objects = collections.reduce((sum, c) => sum + c.count, 0);
    return {
      db,
      collections: collections.filter((c) => !c.isView).length,
      views: collections.filter((c) => c.isView).length,
      objects,
      indexes: collections.reduce((sum, c) => sum + c.indexes.length, 0),
      dataSize: 0,
      storageSize: 0,
      ok: 1,
    };
  }

  private collStats(request: Request): Doc {
    const collection = requireCollection(this.store, request.db, collectionName(request));
    return { ns: collection.ns, count: collection.count, size: 0, storageSize: 0, nindexes: collection.indexes.length, ok: 1 };
  }

  private listCollections(request: Request): Doc | Promise<Doc> {
    const filter = compileFilter(asDoc(request.body.filter, 'filter'));
    const nameOnly = request.body.nameOnly === true;
    const infos = this.store
      .collectionsOf(request.db)
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((collection) => ({
        name: collection.name,
        type: collection.isView ? 'view' : 'collection',
        options: collection.options,
        info: collection.isView ? { readOnly: true } : { readOnly: false, uuid: collection.uuid },
        ...(collection.isView ? {} : { idIndex: { v: 2, key: { _id: 1 }, name: '_id_' } }),
      }))
      .filter((info) => filter.test(info))
      .map((info) => (nameOnly ? { name: info.name, type: info.type } : info));
    const batchSize = isPlainObject(request.body.cursor) ? int(request.body.cursor.batchSize, 101) : undefined;
    return this.cursors.start(`${request.db}.$cmd.listCollections`, infos, batchSize, (docs) => docs);
  }

  private async create(request: Request): Promise<Doc> {
    const { create: _name, $db: _db, lsid: _lsid, $clusterTime: _ct, txnNumber: _tx, autocommit: _ac, startTransaction: _st, writeConcern: _wc, ...options } = request.body;
    if (options.viewOn !== undefined) {
      if (typeof options.viewOn !== 'string' || options.viewOn === '') throw typeMismatch("'viewOn' option must be a non-empty string");
      const pipeline = options.pipeline ?? [];
      if (!Array.isArray(pipeline) || !pipeline.every((stage) => isPlainObject(stage) && Object.keys(stage).length === 1))
        throw typeMismatch("'pipeline' option must be an array of stages");
      options.pipeline = pipeline;
      this.resolveView(request.db, { ns: `${request.db}.${collectionName(request)}`, options } as unknown as Collection);
    } else if (options.pipeline !== undefined) throw badValue("'pipeline' requires 'viewOn' to also be specified");
    await this.store.create(request.db, collectionName(request), options, true);
    return { ok: 1 };
  }

  /** The collection a view reads and the pipeline it runs on it (views of views unfolded). */
  private resolveView(db: string, view: Collection): { source: Collection | undefined; pipeline: Doc[] } {
    const pipeline: Doc[] = [];
    let current: Collection | undefined = view;
    const seen = new Set<string>();
    while (current && typeof current.options.viewOn === 'string') {
      if (seen.has(current.ns)) throw new CommandError(13, 'GraphContainsCycle', `View cycle detected: ${[...seen].join(' -> ')}`);
      seen.add(current.ns);
      pipeline.unshift(...(current.options.pipeline as Doc[]));
      current = this.store.get(db, current.options.viewOn);
    }
    return { source: current, pipeline };
  }

  /** Writes refuse views, as MongoDB does. */
  private writable(collection: Collection | undefined): void {
    if (collection?.isView) throw new CommandError(166, 'CommandNotSupportedOnView', `Namespace ${collection.ns} is a view, not a collection`);
  }

  /** Runs a write command's work: in the transaction's write set, or else in one LMDB write transaction. */
  private async writing<T>(request: Request, work: () => T): Promise<T> {
    return request.txn ? work() : this.store.write(work);
  }

  private async drop(request: Request): Promise<Doc> {
    const collection = this.store.get(request.db, collectionName(request));
    if (!collection) return { ok: 1 };
    await this.store.drop(collection);
    return { nIndexesWas: collection.indexes.length, ns: collection.ns, ok: 1 };
  }

  private async dropDatabase(db: string): Promise<Doc> {
    for (const collection of this.store.collectionsOf(db)) await this.store.drop(collection);
    return { dropped: db, ok: 1 };
  }

  private async renameCollection(body: Doc): Promise<Doc> {
    if (typeof body.renameCollection !== 'string' || typeof body.to !== 'string') throw badValue('renameCollection and to must be namespaces');
    const [fromDb, fromName] = splitNamespace(body.renameCollection);
    const [toDb, toName] = splitNamespace(body.to);
    const collection = requireCollection(this.store, fromDb, fromName);
    if (body.renameCollection === body.to) throw new CommandError(20, 'IllegalOperation', "Can't rename a collection to itself");
    await this.store.rename(collection, toDb, toName, body.dropTarget === true);
    return { ok: 1 };
  }

  private writeContextFor(request: Request): WriteContext {
    return { store: this.store, txn: request.txn };
  }

  /**
   * Runs the statements of a write command, collecting per-statement errors as MongoDB does, and
   * returns each statement's result (by its index; none for a failed one). In a transaction they
   * run into its write set in slices of `TRANSACTION_SLICE_MS`, other requests answered between. Outside one they run in slices of about `WRITE_SLICE_MS`,
   * each slice in its own LMDB write transaction, and the requests of other clients (the driver's
   * heartbeat, small reads) are answered between slices: a 20,000-card insert held the server for
   * seconds (past the driver's 10 s server monitor on a busy machine). As in MongoDB, every
   * statement is atomic and the command as a whole is not. The reply waits until every slice is
   * on disk. A slice that meets a record locked by a transaction is undone and runs again from
   * its first statement once that transaction ends; the slices before it stay.
   */
  private async runStatements<T, R>(request: Request, items: T[], ordered: boolean, run: (item: T, index: number) => R): Promise<Statements<R>> {
    const done: Statements<R> = { results: [], writeErrors: [] };
    let next = 0;
    const runUntil = (deadline: number): void => {
      while (next < items.length) {
        const i = next++;
        try {
          done.results[i] = run(items[i]!, i);
        } catch (error) {
          if (error instanceof LockWait) throw error;
          const failure = asCommandError(error);
          // Transaction-level failures (WriteConflict) fail the whole command so the driver can retry.
          if (failure.errorLabels.length > 0) throw failure;
          done.writeErrors.push({ index: i, code: failure.code, codeName: failure.codeName, errmsg: failure.message, ...failure.extra });
          request.txn?.abort();
          if (request.txn || ordered) next = items.length;
        }
        if (performance.now() >= deadline) return;
      }
    };
    if (request.txn) {
      // Into the transaction's write set, in slices too: a 500-card insert of an import batch was one stretch.
      const txn = request.txn;
      for (runUntil(performance.now() + TRANSACTION_SLICE_MS); next < items.length; runUntil(performance.now() + TRANSACTION_SLICE_MS)) {
        await new Promise((resolve) => setImmediate(resolve));
        // Aborted meanwhile (its time limit): the rest of the statements are not run.
        if (txn.state !== 'open') throw noSuchTransaction(txn.txnNumber);
      }
      return done;
    }
    const commits: Promise<void>[] = [];
    try {
      while (next < items.length) {
        const first = next;
        let ranSlice!: (error?: unknown) => void;
        const ran = new Promise<unknown>((resolve) => (ranSlice = resolve));
        const commit = this.store.write(() => {
          try {
            runUntil(performance.now() + WRITE_SLICE_MS);
          } catch (error) {
            ranSlice(error);
            throw error;
          }
          ranSlice();
        });
        // Known once the slice has run in its write transaction; its commit and flush overlap the next slice.
        const error = await Promise.race([ran, commit]);
        if (error instanceof LockWait) {
          await commit.catch(() => {});
          next = first;
          done.results.length = first;
          done.writeErrors = done.writeErrors.filter((written) => (written.index as number) < first);
          await error.holder.finished;
          continue;
        }
        commits.push(commit);
        if (error !== undefined) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      await Promise.allSettled(commits);
    }
    await Promise.all(commits);
    return done;
  }

  private async insert(request: Request): Promise<Doc> {
    const documents = request.body.documents;
    if (!Array.isArray(documents)) throw typeMismatch('documents must be an array');
    this.writable(this.store.get(request.db, collectionName(request)));
    const collection = await this.store.create(request.db, collectionName(request));
    const { results, writeErrors } = await this.runStatements(request, documents as Doc[], request.body.ordered !== false, (doc) => {
      insertDocument(this.writeContextFor(request), collection, asDoc(decodedStatement(doc), 'document'));
      return 1;
    });
    const n = sum(results, (inserted) => inserted);
    return writeErrors.length ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  }

  private async update(request: Request): Promise<Doc> {
    const updates = request.body.updates;
    if (!Array.isArray(updates)) throw typeMismatch('updates must be an array');
    const name = collectionName(request);
    // MongoDB 7.0 has no `sort` for update and replace statements (8.0 added it).
    if (updates.some((statement) => isPlainObject(statement) && statement.sort !== undefined)) {
      throw new CommandError(40415, 'Location40415', "BSON field 'update.updates.sort' is an unknown field.");
    }
    this.writable(this.store.get(request.db, name));
    const anyUpsert = updates.some((statement) => isPlainObject(statement) && statement.upsert === true);
    const collection = anyUpsert ? await this.store.create(request.db, name) : this.store.get(request.db, name);
    const { results, writeErrors } = await this.runStatements(request, updates as Doc[], request.body.ordered !== false, (statement) => {
      const spec = asDoc(statement, 'update statement');
      const update = spec.u;
      if (!isPlainObject(update) && !Array.isArray(update)) throw failedUpdate();
      if (!collection) {
        compileFilter(asDoc(spec.q, 'q'));
        return { matched: 0, modified: 0 };
      }
      return updateDocuments(this.writeContextFor(request), collection, {
        filter: asDoc(spec.q, 'q'),
        update,
        multi: spec.multi === true,
        upsert: spec.upsert === true,
        arrayFilters: spec.arrayFilters as Doc[] | undefined,
        hint: spec.hint,
      });
    });
    const upserted = results.flatMap((outcome, index) => (outcome?.upsertedId !== undefined ? [{ index, _id: outcome.upsertedId }] : []));
    const reply: Doc = { n: sum(results, (outcome) => outcome.matched) + upserted.length, nModified: sum(results, (outcome) => outcome.modified) };
    if (upserted.length) reply.upserted = upserted;
    if (writeErrors.length) reply.writeErrors = writeErrors;
    return { ...reply, ok: 1 };
  }

  private async delete(request: Request): Promise<Doc> {
    const deletes = request.body.deletes;
    if (!Array.isArray(deletes)) throw typeMismatch('deletes must be an array');
    const collection = this.store.get(request.db, collectionName(request));
    this.writable(collection);
    const { results, writeErrors } = await this.runStatements(request, deletes as Doc[], request.body.ordered !== false, (statement) => {
      const spec = asDoc(statement, 'delete statement');
      const limit = int(spec.limit, 0);
      if (limit !== 0 && limit !== 1) throw new CommandError(9, 'FailedToParse', `The limit field in delete objects must be 0 or 1. Got ${limit}`);
      const filter = asDoc(spec.q, 'q');
      if (!collection) {
        compileFilter(filter);
        return 0;
      }
      return deleteDocuments(this.writeContextFor(request), collection, filter, { limit, hint: spec.hint }).length;
    });
    const n = sum(results, (deleted) => deleted);
    return writeErrors.length ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  }

  private async findAndModify(request: Request): Promise<Doc> {
    const body = request.body;
    const filter = asDoc(body.query, 'query');
    const sort = validateSort(body.sort);
    const fields = body.fields === undefined ? undefined : asDoc(body.fields, 'fields');
    const name = collectionName(request);
    const ctx = this.writeContextFor(request);
    const project = (doc: Doc | undefined) => (doc ? projectDocs([doc], fields, null, filter)[0]! : null);
    if (body.remove === true) {
      if (body.update !== undefined) throw new CommandError(9, 'FailedToParse', 'Cannot specify both an update and remove=true');
      const collection = this.store.get(request.db, name);
      this.writable(collection);
      const removed = collection ? await this.writing(request, () => deleteDocuments(ctx, collection, filter, { limit: 1, sort, hint: body.hint })) : (compileFilter(filter), []);
      return { lastErrorObject: { n: removed.length }, value: project(removed[0]), ok: 1 };
    }
    const update = body.update;
    if (!isPlainObject(update) && !Array.isArray(update)) throw new CommandError(9, 'FailedToParse', 'Either an update or remove=true must be specified');
    const upsert = body.upsert === true;
    this.writable(this.store.get(request.db, name));
    const collection = upsert ? await this.store.create(request.db, name) : this.store.get(request.db, name);
    if (!collection) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
    const outcome = await this.writing(request, () =>
      updateDocuments(ctx, collection, { filter, update, multi: false, upsert, arrayFilters: body.arrayFilters as Doc[] | undefined, sort, hint: body.hint }),
    );
    const returnNew = body.new === true;
    if (outcome.upsertedId !== undefined) {
      return { lastErrorObject: { n: 1, updatedExisting: false, upserted: outcome.upsertedId }, value: returnNew ? project(outcome.after) : null, ok: 1 };
    }
    return { lastErrorObject: { n: outcome.matched, updatedExisting: outcome.matched > 0 }, value: project(returnNew ? outcome.after : outcome.before), ok: 1 };
  }

  /**
   * A read view for a command whose cursor may outlive it: a snapshot for each batch. Outside a
   * transaction or snapshot session a getMore reads the latest state (as MongoDB's cursors do after
   * yielding), the scans going on after the last key they gave out: a cursor read for minutes (a
   * duplicate scan over a million cards while it writes their keys) kept its first snapshot, and
   * with it every page written since, from being reused — the 1M installation's file grew to 39 GiB
   * for 11 GiB of data.
   */
  private cursorView(request: Request): { view: ReadView; lease: ViewLease } {
    if (request.txn || request.view.snapshot) return { view: request.view, lease: NO_LEASE };
    const view: ReadView = { store: this.store, snapshot: this.store.storage.snapshot(), generation: 0 };
    return {
      view,
      lease: {
        hold: () => {
          view.snapshot ??= this.store.storage.snapshot();
          view.generation!++;
        },
        release: () => {
          view.snapshot?.done();
          view.snapshot = undefined;
        },
      },
    };
  }

  private find(request: Request): Doc | Promise<Doc> {
    const body = request.body;
    const name = collectionName(request);
    const filter = asDoc(body.filter, 'filter');
    const sort = validateSort(body.sort);
    const projection = body.projection === undefined ? undefined : asDoc(body.projection, 'projection');
    const skip = int(body.skip, 0);
    const limit = int(body.limit, 0);
    if (skip < 0) throw badValue('skip value must be non-negative');
    if (limit < 0) throw badValue('limit value must be non-negative');
    const hint = body.hint;
    const singleBatch = body.singleBatch === true;
    const noTimeout = body.noCursorTimeout === true;
    let batchSize = body.batchSize === undefined ? undefined : int(body.batchSize, 101);
    if (singleBatch && limit > 0) batchSize = limit;
    const ns = `${request.db}.${name}`;
    const collection = this.store.get(request.db, name);
    if (collection?.isView) {
      const stages: Doc[] = [{ $match: filter }];
      if (sort) stages.push({ $sort: sort });
      if (skip) stages.push({ $skip: skip });
      if (limit) stages.push({ $limit: limit });
      if (projection && Object.keys(projection).length) stages.push({ $project: projection });
      const { docs, lease } = this.runPipeline(request, collection, stages, hint);
      return this.cursors.start(ns, docs, batchSize, (batch) => batch, singleBatch, lease, noTimeout, paced(request));
    }
    const { view, lease } = this.cursorView(request);
    let cursor;
    try {
      const plan = findPlan(collection, view, filter, { sort, hint });
      // Stored BSON goes out as it is, or with top-level fields kept or left out by copying bytes.
      const projected = projection && Object.keys(projection).length > 0;
      const projectRaw = projected ? rawProjection(projection) : null;
      const raw = !projected || projectRaw ? openRawCursor(collection, view, filter, { sort, skip, limit, hint, plan, project: projectRaw ?? undefined }) : null;
      if (raw) return this.cursors.start(ns, raw, batchSize, (batch) => batch, singleBatch, lease, noTimeout, paced(request));
      cursor = openCursor(collection, view, filter, { sort, skip, limit, hint, plan, pausable: true });
    } catch (error) {
      lease.release();
      throw error;
    }
    const scores = cursor.scores;
    return this.cursors.start(ns, cursor.docs, batchSize, (batch) => projectDocs(batch, projection, scores, filter), singleBatch, lease, noTimeout, paced(request));
  }

  /**
   * `explain` of a find, count or aggregate: the winning plan names its stages and index; with
   * `executionStats` (or `allPlansExecution`) verbosity the query runs and reports what it read.
   */
  private explain(request: Request): Doc {
    const inner = asDoc(request.body.explain, 'explain');
    const command = Object.keys(inner)[0];
    let name: unknown;
    let filter: Doc = {};
    let sort: Doc | undefined;
    let skip = 0;
    let limit = 0;
    let counted: CountStage | null = null;
    if (command === 'find') {
      name = inner.find;
      filter = asDoc(inner.filter ?? {}, 'filter');
      sort = validateSort(inner.sort);
      skip = int(inner.skip, 0);
      limit = Math.abs(int(inner.limit, 0));
    } else if (command === 'count') {
      name = inner.count;
      filter = asDoc(inner.query ?? {}, 'query');
      skip = int(inner.skip, 0);
      limit = Math.abs(int(inner.limit, 0));
    } else if (command === 'aggregate' && Array.isArray(inner.pipeline)) {
      name = inner.aggregate;
      const stages = [...(inner.pipeline as Doc[])];
      if (stages[0] && isPlainObject(stages[0].$match)) filter = stages.shift()!.$match as Doc;
      if (stages[0] && isPlainObject(stages[0].$sort)) sort = validateSort(stages.shift()!.$sort);
      // `$skip` and `$limit` after them go into the scan, as the aggregate runs them (countDocuments with a limit).
      if (stages[0] && typeof stages[0].$skip === 'number') skip = int(stages.shift()!.$skip, 0);
      if (stages[0] && typeof stages[0].$limit === 'number') limit = int(stages.shift()!.$limit, 0);
      if (!sort) counted = countStage(stages);
    } else throw new CommandError(115, 'CommandNotSupported', `explain is supported for find, count and aggregate, not ${command}`);
    if (typeof name !== 'string') throw invalidNamespace('explain needs a collection name');
    const collection = this.store.get(request.db, name);
    const source = collection?.isView ? undefined : collection;
    const hint = inner.hint;
    if (command === 'count') counted = { id: null, field: 'n' };
    // Run once to learn whether the count comes from the index keys alone (no FETCH in the plan).
    const probe: ExecutionStats = { keys: 0, docs: 0 };
    const covered = counted !== null && countRows(source, request.view, filter, counted, { skip, limit, hint, stats: probe }) !== null && probe.docs === 0;
    const { winningPlan, rejectedPlans } = explainFind(source, request.view, filter, sort, hint, covered ? (counted!.by === undefined ? 'COUNT' : 'GROUP') : undefined);
    const reply: Doc = { queryPlanner: { namespace: `${request.db}.${name}`, winningPlan, rejectedPlans }, ok: 1 };
    if (request.body.verbosity === 'executionStats' || request.body.verbosity === 'allPlansExecution') {
      const stats: ExecutionStats = { keys: 0, docs: 0 };
      const started = performance.now();
      const rows = counted && countRows(source, request.view, filter, counted, { skip, limit, hint, stats });
      const nReturned =
        command === 'count' ? Number(rows?.[0]?.n ?? 0) : (rows?.length ?? drain(openCursor(source, request.view, filter, { sort, skip, limit, hint, stats }).docs).length);
      reply.executionStats = {
        executionSuccess: true,
        nReturned,
        executionTimeMillis: Math.round(performance.now() - started),
        totalKeysExamined: stats.keys,
        totalDocsExamined: stats.docs,
        executionStages: winningPlan,
      };
    }
    return reply;
  }

  private getMore(request: Request): Doc | Promise<Doc> {
    const id = int(request.body.getMore, 0);
    const name = request.body.collection;
    if (typeof name !== 'string') throw typeMismatch('collection must be a string');
    return this.cursors.more(id, `${request.db}.${name}`, request.body.batchSize === undefined ? undefined : int(request.body.batchSize, 0), paced(request));
  }

  /** Documents of a collection (or view) in the same database, as the command sees them ($lookup, $unionWith). */
  private resolver(request: Request): (name: string) => Doc[] {
    return (name) => {
      const collection = this.store.get(request.db, name);
      if (!collection?.isView) return selectDocs(collection, request.view, {}).docs;
      const { docs, lease } = this.runPipeline(request, collection, []);
      const all = drain(docs);
      lease.release();
      return all;
    };
  }

  /**
   * Runs `pipeline` on a collection or view. A leading `$match`, `$sort`, `$skip` and `$limit` go
   * through the query planner (indexes, `$text`, pushed-down limits); a count stage that follows
   * (`$group` of a constant `_id` summing 1, as countDocuments sends) counts without loading
   * documents when it can. Without further stages the result streams.
   */
  private runPipeline(request: Request, target: Collection | undefined, userPipeline: Doc[], hint?: unknown): { docs: Doc[] | Iterator<Doc>; lease: ViewLease } {
    let collection = target;
    let pipeline = [...userPipeline];
    if (collection?.isView) {
      const resolved = this.resolveView(request.db, collection);
      collection = resolved.source;
      pipeline = [...resolved.pipeline, ...pipeline];
    }
    let filter: Doc = {};
    if (pipeline[0] && isPlainObject(pipeline[0].$match)) filter = pipeline.shift()!.$match as Doc;
    let sort: Doc | undefined;
    if (pipeline[0] && isPlainObject(pipeline[0].$sort) && !Object.values(pipeline[0].$sort).some(isPlainObject)) sort = validateSort(pipeline.shift()!.$sort);
    let skip = 0;
    let limit = 0;
    if (pipeline[0] && typeof pipeline[0].$skip === 'number') skip = int(pipeline.shift()!.$skip, 0);
    if (pipeline[0] && typeof pipeline[0].$limit === 'number') limit = int(pipeline.shift()!.$limit, 0);
    const counted = countStage(pipeline);
    const rows = counted && !sort && !isPlainObject(filter.$text) ? countRows(collection, request.view, filter, counted, { skip, limit, hint }) : null;
    if (rows) return { docs: rows, lease: NO_LEASE };
    const { view, lease } = this.cursorView(request);
    let input: Doc[];
    let scores: Map<Doc, number> | null;
    try {
      const cursor = openCursor(collection, view, filter, { sort, skip, limit, hint });
      if (pipeline.length === 0) return { docs: cursor.docs, lease };
      input = [...iterate(cursor.docs)];
      scores = cursor.scores;
    } catch (error) {
      lease.release();
      throw error;
    }
    lease.release();
    if (scores) {
      const textScores = scores;
      input = input.map((doc) => ({ ...doc, ...textScoreField(textScores.get(doc)) }));
      rewriteTextScoreMeta(pipeline);
    }
    return { docs: runAggregation(pipeline, input, this.resolver(request)), lease: NO_LEASE };
  }

  private aggregate(request: Request): Doc {
    const body = request.body;
    if (!Array.isArray(body.pipeline)) throw typeMismatch("'pipeline' option must be specified as an array");
    if (!isPlainObject(body.cursor) && body.explain !== true)
      throw new CommandError(9, 'FailedToParse', "The 'cursor' option is required, except for aggregate with the explain argument");
    const pipeline = [...(body.pipeline as Doc[])];
    for (const stage of pipeline) {
      if (!isPlainObject(stage) || Object.keys(stage).length !== 1)
        throw new CommandError(40323, 'Location40323', 'A pipeline stage specification object must contain exactly one field.');
      const op = Object.keys(stage)[0]!;
      if (op === '$out' || op === '$merge') throw new CommandError(115, 'CommandNotSupported', `${op} is not supported by this server`);
      if (op === '$listLocalSessions' && stage !== pipeline[0]) throw new CommandError(40602, 'Location40602', '$listLocalSessions is only valid as the first stage in a pipeline');
    }
    const name = typeof body.aggregate === 'string' ? body.aggregate : null;
    const batchSize = isPlainObject(body.cursor) ? int(body.cursor.batchSize, 101) : undefined;
    const ns = `${request.db}.${name ?? '$cmd.aggregate'}`;
    if (name === null) {
      const first = pipeline[0];
      if (!first || !('$listLocalSessions' in first || '$documents' in first))
        throw invalidNamespace('{aggregate: 1} is not valid for this pipeline; it needs $listLocalSessions or $documents first');
      const input = '$listLocalSessions' in first ? this.localSessions(pipeline.shift()!.$listLocalSessions) : [];
      return this.cursors.start(ns, runAggregation(pipeline, input, this.resolver(request)), batchSize, (docs) => docs);
    }
    const { docs, lease } = this.runPipeline(request, this.store.get(request.db, name), pipeline, body.hint);
    return this.cursors.start(ns, docs, batchSize, (batch) => batch.map(stripTextScoreField), false, lease);
  }

  private count(request: Request): Doc {
    const body = request.body;
    const collection = this.store.get(request.db, collectionName(request));
    const query = asDoc(body.query, 'query');
    const skip = int(body.skip, 0);
    const limit = Math.abs(int(body.limit, 0));
    if (collection?.isView) {
      const stages: Doc[] = [{ $match: query }];
      if (skip) stages.push({ $skip: skip });
      if (limit) stages.push({ $limit: limit });
      stages.push({ $group: { _id: 1, n: { $sum: 1 } } });
      const { docs, lease } = this.runPipeline(request, collection, stages, body.hint);
      const [row] = drain(docs);
      lease.release();
      return { n: Number(row?.n ?? 0), ok: 1 };
    }
    return { n: countDocs(collection, request.view, query, { skip, limit, hint: body.hint }), ok: 1 };
  }

  private distinct(request: Request): Doc {
    const body = request.body;
    if (typeof body.key !== 'string') throw typeMismatch("'key' must be of type String");
    const collection = this.store.get(request.db, collectionName(request));
    const query = asDoc(body.query, 'query');
    let docs: Iterable<Doc>;
    if (collection?.isView) {
      const result = this.runPipeline(request, collection, [{ $match: query }], body.hint);
      docs = drain(result.docs);
      result.lease.release();
    } else docs = selectDocs(collection, request.view, query, { hint: body.hint }).docs;
    const seen = new Map<string, unknown>();
    for (const doc of docs) {
      for (const value of valuesAtPath(doc, body.key).flatMap((v) => (Array.isArray(v) ? v : [v]))) {
        const key = keyString(value);
        if (!seen.has(key)) seen.set(key, value);
      }
    }
    return { values: [...seen.values()].sort(compareValues), ok: 1 };
  }

  private async createIndexes(request: Request): Promise<Doc> {
    const specs = request.body.indexes;
    if (!Array.isArray(specs) || specs.length === 0) throw badValue('Must specify at least one index to create');
    this.writable(this.store.get(request.db, collectionName(request)));
    const collection = await this.store.create(request.db, collectionName(request));
    // Builds on one collection run one after another; the next one sees what the last one built.
    while (collection.build) await collection.build.catch(() => undefined);
    const before = collection.indexes.length + 1;
    // Checked against the existing indexes and those asked for before it; then all built together.
    const wanted: IndexSpec[] = [];
    for (const raw of specs) {
      const spec = normalizeIndexSpec(raw);
      const known = [...collection.indexes.map((index) => ({ name: index.name, spec: index.spec })), ...wanted.map((other) => ({ name: other.name, spec: other }))];
      if (spec.name === ID_INDEX_SPEC.name || keyString(spec.key) === keyString(ID_INDEX_SPEC.key)) {
        if (spec.unique === true) throw badValue("The field 'unique' is not valid for an _id index specification");
        if (spec.name !== ID_INDEX_SPEC.name || keyString(spec.key) !== keyString(ID_INDEX_SPEC.key)) {
          throw new CommandError(85, 'IndexOptionsConflict', `Index already exists with a different name: ${ID_INDEX_SPEC.name}`);
        }
        continue;
      }
      if (Object.values(spec.key).includes('text')) {
        const requested = new TextIndex(0, spec);
        const existing = collection.textIndex ?? wanted.filter((other) => Object.values(other.key).includes('text')).map((other) => new TextIndex(0, other))[0];
        if (existing) {
          // The same text index asked for again (in either form, as restores give listIndexes' form back) is there already.
          if (existing.name === spec.name && existing.identity() === requested.identity()) continue;
          throw new CommandError(
            85,
            'IndexOptionsConflict',
            `An equivalent index already exists with a different name and options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(existing.describe())}`,
          );
        }
      }
      const sameName = known.find((index) => index.name === spec.name);
      const sameKey = known.find((index) => keyString(index.spec.key) === keyString(spec.key) && sameOptions(index.spec, spec));
      if (sameName && keyString(sameName.spec.key) !== keyString(spec.key)) {
        throw new CommandError(
          86,
          'IndexKeySpecsConflict',
          `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`,
        );
      }
      if (sameName && !sameOptions(sameName.spec, spec)) {
        throw new CommandError(
          85,
          'IndexOptionsConflict',
          `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`,
        );
      }
      if (sameName) continue;
      if (sameKey) {
        throw new CommandError(85, 'IndexOptionsConflict', `Index already exists with a different name: ${sameKey.name}`);
      }
      if (spec.key._id !== undefined && Object.keys(spec.key).length === 1 && spec.unique === true)
        throw badValue("The field 'unique' is not valid for an _id index specification");
      wanted.push(spec);
    }
    if (wanted.length > 0) await this.store.addIndexes(collection, wanted);
    return { numIndexesBefore: before, numIndexesAfter: collection.indexes.length + 1, createdCollectionAutomatically: false, ok: 1 };
  }

  private listIndexes(request: Request): Doc {
    const collection = requireCollection(this.store, request.db, collectionName(request));
    if (collection.isView) throw new CommandError(166, 'CommandNotSupportedOnView', `Namespace ${collection.ns} is a view, not a collection`);
    const specs = [ID_INDEX_SPEC, ...collection.indexes.map((index) => (index instanceof TextIndex ? index.describe() : index.spec))];
    const batchSize = isPlainObject(request.body.cursor) ? int(request.body.cursor.batchSize, 101) : undefined;
    return this.cursors.start(`${collection.ns}`, specs, batchSize, (docs) => docs);
  }

  private async dropIndexes(request: Request): Promise<Doc> {
    const collection = requireCollection(this.store, request.db, collectionName(request));
    const target = request.body.index;
    const nIndexesWas = collection.indexes.length + 1;
    const names: string[] = [];
    if (target === '*') names.push(...collection.indexes.map((index) => index.name));
    else if (Array.isArray(target)) names.push(...target.map(String));
    else if (typeof target === 'string') names.push(target);
    else if (isPlainObject(target)) {
      const found = [{ name: ID_INDEX_SPEC.name, spec: ID_INDEX_SPEC }, ...collection.indexes].find((index) => keyString(index.spec.key) === keyString(target));
      if (!found) throw indexNotFound(`can't find index with key: ${JSON.stringify(target)}`);
      names.push(found.name);
    } else throw badValue('index must be a string, array or key pattern');
    for (const name of names) {
      if (name === '_id_') throw new CommandError(72, 'InvalidOptions', 'cannot drop _id index');
      if (!collection.indexes.some((index) => index.name === name)) throw indexNotFound(`index not found with name [${name}]`);
    }
    for (const name of names) await this.store.dropIndex(collection, name);
    return { nIndexesWas, ok: 1 };
  }
}

const MAX_SESSIONS = 100_000;

/** Stored documents as a raw projection makes them; ending it ends the scan. */
function* iterate(docs: Iterator<Doc>): Generator<Doc> {
  try {
    for (let next = docs.next(); !next.done; next = docs.next()) yield next.value;
  } finally {
    closeIterators([docs]);
  }
}

function drain(docs: Doc[] | Iterator<Doc>): Doc[] {
  return Array.isArray(docs) ? docs : [...iterate(docs)];
}

/** A snapshot read's reply names its moment, which the driver sends back with the session's next reads. */
/**
 * How a cursor's batches give other commands their turn (`Cursors`): each turn within the command's
 * time limit; none inside a transaction, whose statements may come at once and read its writes.
 */
function paced(request: Request): Within | undefined {
  if (request.txn) return undefined;
  return (run) => withTimeLimit(request.body.maxTimeMS, run, request.arrivedAt);
}

function withAtClusterTime(reply: Doc, at: Timestamp): Doc {
  if (isPlainObject(reply.cursor)) reply.cursor.atClusterTime = at;
  reply.atClusterTime = at;
  return reply;
}

function runAggregation(pipeline: Doc[], input: Doc[], resolver: (name: string) => Doc[]): Doc[] {
  if (pipeline.length === 0) return input;
  try {
    // Documents keep their number types: the server's expressions compute with them (operators.ts).
    return new Aggregator(pipeline, { ...MINGO_OPTIONS, collectionResolver: resolver }).run(input) as Doc[];
  } catch (error) {
    throw asCommandError(error);
  }
}

/** A count stage: `_id` a constant (`id`) or a field path (`by`), and the field holding the count. */
interface CountStage {
  id?: unknown;
  by?: string;
  field: string;
}

/**
 * `[{ $group: { _id: <constant>, <field>: { $sum: 1 } } }]`, a plain count (as countDocuments
 * sends it), or `[{ $group: { _id: '$<field>', <field>: { $sum: 1 } } }]`, a count per value.
 */
function countStage(pipeline: Doc[]): CountStage | null {
  if (pipeline.length !== 1 || !isPlainObject(pipeline[0]!.$group)) return null;
  const group = pipeline[0]!.$group as Doc;
  const keys = Object.keys(group);
  if (keys.length !== 2 || keys[0] !== '_id') return null;
  const id = group._id;
  if (isPlainObject(id) || Array.isArray(id)) return null;
  if (typeof id === 'string' && id.startsWith('$') && !/^\$[^$.][^$]*$/.test(id)) return null;
  const field = keys[1]!;
  const accumulator = group[field];
  if (!isPlainObject(accumulator) || Object.keys(accumulator).length !== 1 || accumulator.$sum !== 1) return null;
  return typeof id === 'string' && id.startsWith('$') ? { by: id.slice(1), field } : { id, field };
}

/** The rows a count stage gives after a `$match`, from the index keys alone; null when documents must be read. */
function countRows(collection: Collection | undefined, view: ReadView, filter: Doc, counted: CountStage, options: SelectOptions): Doc[] | null {
  if (counted.by === undefined) {
    const n = countDocs(collection, view, filter, options);
    return n > 0 ? [{ _id: counted.id, [counted.field]: n }] : [];
  }
  if (options.skip || options.limit) return null;
  return countGroups(collection, view, filter, counted.by, options)?.map(({ value, n }) => ({ _id: value, [counted.field]: n })) ?? null;
}

function failedUpdate(): CommandError {
  return new CommandError(9, 'FailedToParse', 'Update argument must be either an object or an array');
}

const INDEX_OPTIONS = ['unique', 'sparse', 'partialFilterExpression', 'expireAfterSeconds', 'collation', 'weights'];

function sameOptions(a: IndexSpec, b: IndexSpec): boolean {
  return INDEX_OPTIONS.every(
    (option) =>
      keyString(a[option] ?? (option === 'unique' || option === 'sparse' ? false : null)) === keyString(b[option] ?? (option === 'unique' || option === 'sparse' ? false : null)),
  );
}

/** `$text` scores travel through the pipeline in a hidden field that `{ $meta: "textScore" }` reads. */
const TEXT_SCORE_FIELD = '__kartotekaTextScore';

function textScoreField(score: number | undefined): Doc {
  return { [TEXT_SCORE_FIELD]: score ?? 0 };
}

function rewriteTextScoreMeta(pipeline: Doc[]): void {
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (!isPlainObject(value)) return value;
    if (value.$meta === 'textScore' && Object.keys(value).length === 1) return `$${TEXT_SCORE_FIELD}`;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
  };
  for (let i = 0; i < pipeline.length; i++) {
    const stage = pipeline[i]!;
    if (isPlainObject(stage.$sort)) {
      const sort = stage.$sort;
      pipeline[i] = { $sort: Object.fromEntries(Object.entries(sort).map(([k, v]) => (isPlainObject(v) && v.$meta === 'textScore' ? [TEXT_SCORE_FIELD, -1] : [k, v]))) };
    } else pipeline[i] = rewrite(stage) as Doc;
  }
}

function stripTextScoreField(doc: Doc): Doc {
  if (!(TEXT_SCORE_FIELD in doc)) return doc;
  const { [TEXT_SCORE_FIELD]: _score, ...rest } = doc;
  return rest;
}
