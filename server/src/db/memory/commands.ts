/** Command dispatch: turns a decoded command document into a MongoDB-shaped reply. */
import { Binary, Long, ObjectId, Timestamp } from 'bson';
import { Aggregator } from 'mingo';
import { compareValues, keyString } from './bson-order';
import { Cursors } from './cursors';
import { asCommandError, badValue, CommandError, commandNotFound, indexNotFound, invalidNamespace, noSuchTransaction, typeMismatch } from './errors';
import { normalizeIndexSpec, TextIndex, type Doc, type IndexSpec } from './indexes';
import { compileFilter, explainFind, isPlainObject, projectDocs, selectDocs, validateSort } from './query';
import { requireCollection, splitNamespace, Transaction, type Store } from './store';
import { valuesAtPath } from './text';
import { deleteDocuments, insertDocument, updateDocuments, type WriteContext } from './writes';

export interface ServerIdentity {
  /** `host:port` as clients reach it. */
  address: string;
  setName: string;
  electionId: ObjectId;
  startedAt: Date;
}

interface SessionState {
  txn?: Transaction;
  lastUse: number;
}

interface Request {
  name: string;
  body: Doc;
  db: string;
  txn?: Transaction;
  connectionId: number;
}

type Handler = (request: Request) => Doc;

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
  private lastExpiry = 0;
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
      serverStatus: () => ({ host: this.identity.address, version: '7.0.0', process: 'mongod', uptime: (Date.now() - this.identity.startedAt.getTime()) / 1000, localTime: new Date(), ok: 1 }),
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

  /** Runs one command; never throws: failures become `{ ok: 0, ... }` replies. */
  execute(body: Doc, connectionId: number): Doc {
    const name = Object.keys(body)[0] ?? '';
    if (this.debug) process.stderr.write(`[kartoteka-memory] ${name} ${JSON.stringify(body[name])}\n`);
    let reply: Doc;
    let txn: Transaction | undefined;
    try {
      const db = typeof body.$db === 'string' ? body.$db : 'admin';
      const handler = Object.hasOwn(this.handlers, name) ? this.handlers[name] : undefined;
      if (!handler) throw commandNotFound(name);
      this.expireTransactions();
      txn = this.transactionFor(name, body);
      reply = handler({ name, body, db, txn, connectionId });
    } catch (error) {
      const failure = asCommandError(error);
      // A failed statement aborts its transaction, as in MongoDB.
      if (txn && name !== 'commitTransaction') txn.abort();
      reply = failure.toReply();
    }
    return this.withClusterTime(reply);
  }

  private withClusterTime(reply: Doc): Doc {
    const clusterTime = new Timestamp({ t: Math.floor(Date.now() / 1000), i: this.store.seq % 0xffffffff || 1 });
    reply.$clusterTime = { clusterTime, signature: { hash: new Binary(Buffer.alloc(20), 0), keyId: Long.fromNumber(0) } };
    reply.operationTime = clusterTime;
    return reply;
  }

  private transactionFor(name: string, body: Doc): Transaction | undefined {
    if (body.autocommit !== false || !isPlainObject(body.lsid)) return undefined;
    const sessionKey = keyString(body.lsid.id);
    const txnNumber = int(body.txnNumber, -1);
    let session = this.sessions.get(sessionKey);
    if (!session) this.sessions.set(sessionKey, (session = { lastUse: Date.now() }));
    session.lastUse = Date.now();
    if (body.startTransaction === true) {
      if (session.txn && session.txn.txnNumber >= txnNumber) {
        throw new CommandError(225, 'TransactionTooOld', `Cannot start transaction ${txnNumber} on session because a newer transaction ${session.txn.txnNumber} has already started`);
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

  private commitTransaction(request: Request): Doc {
    const txn = request.txn;
    if (!txn) throw badValue('commitTransaction must be run within a transaction');
    try {
      txn.commit();
    } catch (error) {
      txn.abort();
      throw error;
    }
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
      const key = keyString(lsid.id);
      this.sessions.get(key)?.txn?.abort();
      this.sessions.delete(key);
    }
    return { ok: 1 };
  }

  private hello(request: Request): Doc {
    return {
      helloOk: true,
      ismaster: true,
      isWritablePrimary: true,
      // No topologyVersion: without it drivers poll hello instead of the streaming (exhaust)
      // protocol, which would need replies pushed with moreToCome.
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

  private buildInfo(): Doc {
    return { version: '7.0.0', gitVersion: 'kartoteka-memory', versionArray: [7, 0, 0, 0], bits: 64, debug: false, maxBsonObjectSize: 16 * 1024 * 1024, storageEngines: ['kartoteka-memory'], modules: [], ok: 1 };
  }

  /** Aborts transactions open longer than the lifetime limit (checked at most once a second). */
  private expireTransactions(): void {
    const now = Date.now();
    if (now - this.lastExpiry < 1000) return;
    this.lastExpiry = now;
    for (const session of this.sessions.values()) {
      if (session.txn?.state === 'open' && now - session.txn.startedAt > this.transactionLifetimeMs) session.txn.abort();
    }
  }

  private setParameter(body: Doc): Doc {
    const seconds = body.transactionLifetimeLimitSeconds;
    if (seconds === undefined) throw badValue('only transactionLifetimeLimitSeconds can be set on this server');
    const value = int(seconds, NaN);
    if (!Number.isInteger(value) || value < 1) throw badValue('transactionLifetimeLimitSeconds must be greater than or equal to 1s');
    const was = this.transactionLifetimeMs / 1000;
    this.transactionLifetimeMs = value * 1000;
    this.lastExpiry = 0;
    return { was, ok: 1 };
  }

  private getParameter(body: Doc): Doc {
    const known: Doc = { featureCompatibilityVersion: { version: '7.0' }, authenticationMechanisms: [], maxBSONDepth: 200, transactionLifetimeLimitSeconds: this.transactionLifetimeMs / 1000 };
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
      .map((name) => ({ name, sizeOnDisk: this.store.collectionsOf(name).reduce((sum, c) => sum + c.records.size * 100, 0), empty: false }))
      .filter((db) => !filter || filter.test(db));
    if (body.nameOnly === true) return { databases: databases.map(({ name }) => ({ name })), ok: 1 };
    return { databases, totalSize: databases.reduce((sum, db) => sum + db.sizeOnDisk, 0), totalSizeMb: 0, ok: 1 };
  }

  private dbStats(db: string): Doc {
    const collections = this.store.collectionsOf(db);
    const objects = collections.reduce((sum, c) => sum + c.records.size, 0);
    return { db, collections: collections.length, views: 0, objects, indexes: collections.reduce((sum, c) => sum + c.indexes.length, 0), dataSize: 0, storageSize: 0, ok: 1 };
  }

  private collStats(request: Request): Doc {
    const collection = requireCollection(this.store, request.db, collectionName(request));
    return { ns: collection.ns, count: collection.records.size, size: 0, storageSize: 0, nindexes: collection.indexes.length, ok: 1 };
  }

  private listCollections(request: Request): Doc {
    const filter = compileFilter(asDoc(request.body.filter, 'filter'));
    const nameOnly = request.body.nameOnly === true;
    const infos = this.store
      .collectionsOf(request.db)
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((collection) => ({
        name: collection.name,
        type: 'collection',
        options: collection.options,
        info: { readOnly: false, uuid: collection.uuid },
        idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
      }))
      .filter((info) => filter.test(info))
      .map((info) => (nameOnly ? { name: info.name, type: info.type } : info));
    const batchSize = isPlainObject(request.body.cursor) ? int(request.body.cursor.batchSize, 101) : undefined;
    return this.cursors.start(`${request.db}.$cmd.listCollections`, infos, batchSize, (docs) => docs);
  }

  private create(request: Request): Doc {
    const { create: _name, $db: _db, lsid: _lsid, $clusterTime: _ct, txnNumber: _tx, autocommit: _ac, startTransaction: _st, writeConcern: _wc, ...options } = request.body;
    this.store.create(request.db, collectionName(request), options, true);
    return { ok: 1 };
  }

  private drop(request: Request): Doc {
    const collection = this.store.get(request.db, collectionName(request));
    if (!collection) return { ok: 1 };
    this.store.drop(collection);
    return { nIndexesWas: collection.indexes.length, ns: collection.ns, ok: 1 };
  }

  private dropDatabase(db: string): Doc {
    for (const collection of this.store.collectionsOf(db)) this.store.drop(collection);
    return { dropped: db, ok: 1 };
  }

  private renameCollection(body: Doc): Doc {
    if (typeof body.renameCollection !== 'string' || typeof body.to !== 'string') throw badValue('renameCollection and to must be namespaces');
    const [fromDb, fromName] = splitNamespace(body.renameCollection);
    const [toDb, toName] = splitNamespace(body.to);
    const collection = requireCollection(this.store, fromDb, fromName);
    if (body.renameCollection === body.to) throw new CommandError(20, 'IllegalOperation', "Can't rename a collection to itself");
    this.store.rename(collection, toDb, toName, body.dropTarget === true);
    return { ok: 1 };
  }

  private writeContext(request: Request): WriteContext {
    return { store: this.store, txn: request.txn };
  }

  /** Runs the statements of a write command, collecting per-statement errors as MongoDB does. */
  private runStatements<T>(request: Request, items: T[], ordered: boolean, run: (item: T, index: number) => void): Doc[] {
    const writeErrors: Doc[] = [];
    for (let i = 0; i < items.length; i++) {
      try {
        run(items[i]!, i);
      } catch (error) {
        const failure = asCommandError(error);
        // Transaction-level failures (WriteConflict) fail the whole command so the driver can retry.
        if (failure.errorLabels.length > 0) throw failure;
        writeErrors.push({ index: i, code: failure.code, codeName: failure.codeName, errmsg: failure.message, ...failure.extra });
        if (request.txn) {
          request.txn.abort();
          break;
        }
        if (ordered) break;
      }
    }
    return writeErrors;
  }

  private insert(request: Request): Doc {
    const documents = request.body.documents;
    if (!Array.isArray(documents)) throw typeMismatch('documents must be an array');
    const collection = this.store.create(request.db, collectionName(request));
    let n = 0;
    const writeErrors = this.runStatements(request, documents as Doc[], request.body.ordered !== false, (doc) => {
      insertDocument(this.writeContext(request), collection, asDoc(doc, 'document'));
      n++;
    });
    return writeErrors.length ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  }

  private update(request: Request): Doc {
    const updates = request.body.updates;
    if (!Array.isArray(updates)) throw typeMismatch('updates must be an array');
    const name = collectionName(request);
    let n = 0;
    let nModified = 0;
    const upserted: Doc[] = [];
    const writeErrors = this.runStatements(request, updates as Doc[], request.body.ordered !== false, (statement, index) => {
      const spec = asDoc(statement, 'update statement');
      const update = spec.u;
      if (!isPlainObject(update) && !Array.isArray(update)) throw failedUpdate();
      const upsert = spec.upsert === true;
      const collection = upsert ? this.store.create(request.db, name) : this.store.get(request.db, name);
      if (!collection) {
        compileFilter(asDoc(spec.q, 'q'));
        return;
      }
      const outcome = updateDocuments(this.writeContext(request), collection, {
        filter: asDoc(spec.q, 'q'),
        update,
        multi: spec.multi === true,
        upsert,
        arrayFilters: spec.arrayFilters as Doc[] | undefined,
        sort: validateSort(spec.sort),
      });
      n += outcome.matched;
      nModified += outcome.modified;
      if (outcome.upsertedId !== undefined) {
        n += 1;
        upserted.push({ index, _id: outcome.upsertedId });
      }
    });
    const reply: Doc = { n, nModified };
    if (upserted.length) reply.upserted = upserted;
    if (writeErrors.length) reply.writeErrors = writeErrors;
    return { ...reply, ok: 1 };
  }

  private delete(request: Request): Doc {
    const deletes = request.body.deletes;
    if (!Array.isArray(deletes)) throw typeMismatch('deletes must be an array');
    const collection = this.store.get(request.db, collectionName(request));
    let n = 0;
    const writeErrors = this.runStatements(request, deletes as Doc[], request.body.ordered !== false, (statement) => {
      const spec = asDoc(statement, 'delete statement');
      const limit = int(spec.limit, 0);
      if (limit !== 0 && limit !== 1) throw new CommandError(9, 'FailedToParse', `The limit field in delete objects must be 0 or 1. Got ${limit}`);
      const filter = asDoc(spec.q, 'q');
      if (!collection) {
        compileFilter(filter);
        return;
      }
      n += deleteDocuments(this.writeContext(request), collection, filter, limit).length;
    });
    return writeErrors.length ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  }

  private findAndModify(request: Request): Doc {
    const body = request.body;
    const filter = asDoc(body.query, 'query');
    const sort = validateSort(body.sort);
    const fields = body.fields === undefined ? undefined : asDoc(body.fields, 'fields');
    const name = collectionName(request);
    const ctx = this.writeContext(request);
    const project = (doc: Doc | undefined) => (doc ? projectDocs([doc], fields, null)[0]! : null);
    if (body.remove === true) {
      if (body.update !== undefined) throw new CommandError(9, 'FailedToParse', 'Cannot specify both an update and remove=true');
      const collection = this.store.get(request.db, name);
      const removed = collection ? deleteDocuments(ctx, collection, filter, 1, sort) : (compileFilter(filter), []);
      return { lastErrorObject: { n: removed.length }, value: project(removed[0]), ok: 1 };
    }
    const update = body.update;
    if (!isPlainObject(update) && !Array.isArray(update)) throw new CommandError(9, 'FailedToParse', 'Either an update or remove=true must be specified');
    const upsert = body.upsert === true;
    const collection = upsert ? this.store.create(request.db, name) : this.store.get(request.db, name);
    if (!collection) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
    const outcome = updateDocuments(ctx, collection, { filter, update, multi: false, upsert, arrayFilters: body.arrayFilters as Doc[] | undefined, sort });
    const returnNew = body.new === true;
    if (outcome.upsertedId !== undefined) {
      return { lastErrorObject: { n: 1, updatedExisting: false, upserted: outcome.upsertedId }, value: returnNew ? project(outcome.after) : null, ok: 1 };
    }
    return { lastErrorObject: { n: outcome.matched, updatedExisting: outcome.matched > 0 }, value: project(returnNew ? outcome.after : outcome.before), ok: 1 };
  }

  private find(request: Request): Doc {
    const body = request.body;
    const name = collectionName(request);
    const filter = asDoc(body.filter, 'filter');
    const sort = validateSort(body.sort);
    const projection = body.projection === undefined ? undefined : asDoc(body.projection, 'projection');
    const skip = int(body.skip, 0);
    const limit = int(body.limit, 0);
    if (skip < 0) throw badValue('skip value must be non-negative');
    if (limit < 0) throw badValue('limit value must be non-negative');
    const singleBatch = body.singleBatch === true;
    const collection = this.store.get(request.db, name);
    const { docs, scores } = selectDocs(collection, request.txn, filter, { sort, skip, limit });
    let batchSize = body.batchSize === undefined ? undefined : int(body.batchSize, 101);
    if (singleBatch && limit > 0) batchSize = limit;
    return this.cursors.start(`${request.db}.${name}`, docs, batchSize, (batch) => projectDocs(batch, projection, scores), singleBatch);
  }

  /** `explain` of a find: the winning plan names the index used (queryPlanner verbosity only). */
  private explain(request: Request): Doc {
    const inner = asDoc(request.body.explain, 'explain');
    if (typeof inner.find !== 'string') throw new CommandError(115, 'CommandNotSupported', 'explain is supported for find only');
    const collection = this.store.get(request.db, inner.find);
    const winningPlan = explainFind(collection, asDoc(inner.filter ?? {}, 'filter'), validateSort(inner.sort));
    return { queryPlanner: { namespace: `${request.db}.${inner.find}`, winningPlan, rejectedPlans: [] }, ok: 1 };
  }

  private getMore(request: Request): Doc {
    const id = int(request.body.getMore, 0);
    const name = request.body.collection;
    if (typeof name !== 'string') throw typeMismatch('collection must be a string');
    return this.cursors.more(id, `${request.db}.${name}`, request.body.batchSize === undefined ? undefined : int(request.body.batchSize, 0));
  }

  /** Documents of a collection in the same database, as a transaction sees them ($lookup, $unionWith). */
  private resolver(request: Request): (name: string) => Doc[] {
    return (name) => selectDocs(this.store.get(request.db, name), request.txn, {}).docs;
  }

  private aggregate(request: Request): Doc {
    const body = request.body;
    if (!Array.isArray(body.pipeline)) throw typeMismatch("'pipeline' option must be specified as an array");
    if (!isPlainObject(body.cursor) && body.explain !== true) throw new CommandError(9, 'FailedToParse', "The 'cursor' option is required, except for aggregate with the explain argument");
    const pipeline = [...(body.pipeline as Doc[])];
    for (const stage of pipeline) {
      if (!isPlainObject(stage) || Object.keys(stage).length !== 1) throw new CommandError(40323, 'Location40323', 'A pipeline stage specification object must contain exactly one field.');
      const op = Object.keys(stage)[0]!;
      if (op === '$out' || op === '$merge') throw new CommandError(115, 'CommandNotSupported', `${op} is not supported by this server`);
    }
    const name = typeof body.aggregate === 'string' ? body.aggregate : null;
    let input: Doc[] = [];
    if (name !== null) {
      const collection = this.store.get(request.db, name);
      // A leading $match goes through the query planner, so it can use indexes and $text.
      const first = pipeline[0];
      if (first && isPlainObject(first.$match)) {
        pipeline.shift();
        const { docs, scores } = selectDocs(collection, request.txn, first.$match);
        input = scores ? docs.map((doc) => ({ ...doc, ...textScoreField(scores.get(doc)) })) : docs;
        if (scores) rewriteTextScoreMeta(pipeline);
      } else {
        input = selectDocs(collection, request.txn, {}).docs;
      }
    }
    let results: Doc[];
    try {
      results = pipeline.length ? new Aggregator(pipeline, { collectionResolver: this.resolver(request) }).run(input) : input;
    } catch (error) {
      throw asCommandError(error);
    }
    const batchSize = isPlainObject(body.cursor) ? int(body.cursor.batchSize, 101) : undefined;
    return this.cursors.start(`${request.db}.${name ?? '$cmd.aggregate'}`, results, batchSize, (docs) => docs.map(stripTextScoreField));
  }

  private count(request: Request): Doc {
    const body = request.body;
    const collection = this.store.get(request.db, collectionName(request));
    const query = asDoc(body.query, 'query');
    const skip = int(body.skip, 0);
    const limit = Math.abs(int(body.limit, 0));
    if (!collection) return (compileFilter(query), { n: 0, ok: 1 });
    if (Object.keys(query).length === 0 && !request.txn) {
      const total = Math.max(0, collection.records.size - skip);
      return { n: limit ? Math.min(limit, total) : total, ok: 1 };
    }
    return { n: selectDocs(collection, request.txn, query, { skip, limit }).docs.length, ok: 1 };
  }

  private distinct(request: Request): Doc {
    const body = request.body;
    if (typeof body.key !== 'string') throw typeMismatch("'key' must be of type String");
    const { docs } = selectDocs(this.store.get(request.db, collectionName(request)), request.txn, asDoc(body.query, 'query'));
    const seen = new Map<string, unknown>();
    for (const doc of docs) {
      for (const value of valuesAtPath(doc, body.key).flatMap((v) => (Array.isArray(v) ? v : [v]))) {
        const key = keyString(value);
        if (!seen.has(key)) seen.set(key, value);
      }
    }
    return { values: [...seen.values()].sort(compareValues), ok: 1 };
  }

  private createIndexes(request: Request): Doc {
    const specs = request.body.indexes;
    if (!Array.isArray(specs) || specs.length === 0) throw badValue('Must specify at least one index to create');
    const collection = this.store.create(request.db, collectionName(request));
    const before = collection.indexes.length;
    for (const raw of specs) {
      const spec = normalizeIndexSpec(raw);
      const sameName = collection.indexes.find((index) => index.name === spec.name);
      const sameKey = collection.indexes.find((index) => keyString(index.spec.key) === keyString(spec.key) && sameOptions(index.spec, spec));
      if (sameName && keyString(sameName.spec.key) !== keyString(spec.key)) {
        throw new CommandError(86, 'IndexKeySpecsConflict', `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`);
      }
      if (sameName && !sameOptions(sameName.spec, spec)) {
        throw new CommandError(85, 'IndexOptionsConflict', `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`);
      }
      if (sameName) continue;
      if (sameKey) {
        throw new CommandError(85, 'IndexOptionsConflict', `Index already exists with a different name: ${sameKey.name}`);
      }
      if (spec.key._id !== undefined && Object.keys(spec.key).length === 1 && spec.unique === true) throw badValue("The field 'unique' is not valid for an _id index specification");
      if (Object.values(spec.key).includes('text') && collection.textIndex) {
        throw new CommandError(85, 'IndexOptionsConflict', `An equivalent index already exists with a different name and options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(collection.textIndex.spec)}`);
      }
      this.store.addIndex(collection, spec);
    }
    return { numIndexesBefore: before, numIndexesAfter: collection.indexes.length, createdCollectionAutomatically: false, ok: 1 };
  }

  private listIndexes(request: Request): Doc {
    const collection = requireCollection(this.store, request.db, collectionName(request));
    const specs = collection.indexes.map((index) => (index instanceof TextIndex ? index.describe() : index.spec));
    const batchSize = isPlainObject(request.body.cursor) ? int(request.body.cursor.batchSize, 101) : undefined;
    return this.cursors.start(`${collection.ns}`, specs, batchSize, (docs) => docs);
  }

  private dropIndexes(request: Request): Doc {
    const collection = requireCollection(this.store, request.db, collectionName(request));
    const target = request.body.index;
    const nIndexesWas = collection.indexes.length;
    const names: string[] = [];
    if (target === '*') names.push(...collection.indexes.slice(1).map((index) => index.name));
    else if (Array.isArray(target)) names.push(...target.map(String));
    else if (typeof target === 'string') names.push(target);
    else if (isPlainObject(target)) {
      const found = collection.indexes.find((index) => keyString(index.spec.key) === keyString(target));
      if (!found) throw indexNotFound(`can't find index with key: ${JSON.stringify(target)}`);
      names.push(found.name);
    } else throw badValue('index must be a string, array or key pattern');
    for (const name of names) {
      if (name === '_id_') throw new CommandError(72, 'InvalidOptions', 'cannot drop _id index');
      if (!collection.indexes.some((index) => index.name === name)) throw indexNotFound(`index not found with name [${name}]`);
    }
    for (const name of names) this.store.dropIndex(collection, name);
    return { nIndexesWas, ok: 1 };
  }
}

function failedUpdate(): CommandError {
  return new CommandError(9, 'FailedToParse', 'Update argument must be either an object or an array');
}

const INDEX_OPTIONS = ['unique', 'sparse', 'partialFilterExpression', 'expireAfterSeconds', 'collation', 'weights'];

function sameOptions(a: IndexSpec, b: IndexSpec): boolean {
  return INDEX_OPTIONS.every((option) => keyString(a[option] ?? (option === 'unique' || option === 'sparse' ? false : null)) === keyString(b[option] ?? (option === 'unique' || option === 'sparse' ? false : null)));
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

