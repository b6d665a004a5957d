import mongoose from 'mongoose';
import { verifyChain } from '../history/chain';
import type { HistoryEntryDoc } from '../history/model';
import type { Logger } from '../logger';
import { latestVersion, migrateDatabase, setStoredVersion, type Db, type MigrationReport, type MigrationStep } from '../migrations';
import { MIGRATION_STEPS } from '../migrations/steps';
import { bsonDocuments, isBackedUp, parseMetadata, readArchive, verifyArchive, type ArchivedCollection, type Manifest } from './archive';
import { accessStructureChanged } from '../access/changes';
import { MAINTENANCE_GRACE_MS, maintenanceOf, startMaintenance } from './maintenance';

const { BSON } = mongoose.mongo;

export class RestoreRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRefused';
  }
}

/**
 * The restore stopped after it began replacing the database's contents: the database holds part
 * of the archive and stays read-only for servers (the maintenance flag stays up).
 */
export class RestoreFailed extends Error {
  constructor(
    readonly database: string,
    readonly reason: string,
  ) {
    super(`the restore into "${database}" stopped after it began replacing its contents: ${reason}`);
    this.name = 'RestoreFailed';
  }
}

export interface HistoryVerdict {
  /** Cards in the restored database. */
  cards: number;
  /** Cards with a history chain, and their entries. */
  chains: number;
  entries: number;
  broken: { cardId: string; seq: number | null; reason: string | null }[];
}

export interface RestoreReport {
  manifest: Manifest;
  collections: { name: string; documents: number }[];
  documents: number;
  migration: MigrationReport;
  history: HistoryVerdict;
  durationMs: number;
}

export interface RestoreOptions {
  logger: Logger;
  /** The database to restore into; the application's connection by default. */
  db?: Db;
  /** Replace a database that already holds data. */
  force?: boolean;
  steps?: readonly MigrationStep[];
  onProgress?: (done: number, total: number) => void;
}

const INSERT_BATCH = 1000;

/** An index as listIndexes reported it, for createIndexes (which takes that form back, text indexes included). */
function creatableIndex(spec: Record<string, unknown>): Record<string, unknown> {
  const { ns: _ns, ...rest } = spec;
  return rest;
}

/** Non-empty collections that a restore would replace, with their sizes. */
async function existingData(db: Db): Promise<{ name: string; documents: number }[]> {
  const names = (await db.listCollections({ type: 'collection' }, { nameOnly: true }).toArray()).map((c) => c.name).filter(isBackedUp);
  const counts = await Promise.all(names.map(async (name) => ({ name, documents: await db.collection(name).estimatedDocumentCount() })));
  return counts.filter((c) => c.documents > 0).sort((a, b) => b.documents - a.documents);
}

/** Inserts a collection's documents in batches, decoded so that every value keeps its BSON type. */
async function insertAll(db: Db, name: string, content: AsyncIterable<Buffer>, onInserted: (count: number) => void): Promise<number> {
  const collection = db.collection(name);
  let batch: mongoose.mongo.BSON.Document[] = [];
  let inserted = 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  const send = async () => {
    const documents = batch;
    batch = [];
    await inFlight;
    inFlight = collection.insertMany(documents, { ordered: false, bypassDocumentValidation: true });
    inserted += documents.length;
    onInserted(documents.length);
  };
  for await (const raw of bsonDocuments(content)) {
    batch.push(BSON.deserialize(raw, { promoteValues: false, bsonRegExp: true }));
    if (batch.length >= INSERT_BATCH) await send();
  }
  if (batch.length > 0) await send();
  await inFlight;
  return inserted;
}

/** Walks every card's history chain (entries by card, in sequence) and checks each link and hash. */
export async function verifyAllHistory(db: Db): Promise<HistoryVerdict> {
  const verdict: HistoryVerdict = { cards: await db.collection('cards').countDocuments(), chains: 0, entries: 0, broken: [] };
  let current: HistoryEntryDoc[] = [];
  const settle = () => {
    if (current.length === 0) return;
    const result = verifyChain(current);
    verdict.chains += 1;
    verdict.entries += current.length;
    if (!result.intact) verdict.broken.push({ cardId: String(current[0].cardId), seq: result.brokenAtSeq, reason: result.reason });
    current = [];
  };
  const cursor = db.collection<HistoryEntryDoc>('history').find({}, { sort: { cardId: 1, seq: 1 }, batchSize: 5000 });
  // The next batch is already being read while this one is hashed.
  let more = await cursor.hasNext();
  while (more) {
    const batch = cursor.readBufferedDocuments();
    const ahead = cursor.hasNext();
    for (const entry of batch) {
      if (current.length > 0 && !current[0].cardId.equals(entry.cardId)) settle();
      current.push(entry);
    }
    more = await ahead;
  }
  settle();
  return verdict;
}

/** Drops what the archive replaces and writes the archive's collections, then checks every count. */
async function replaceContents(db: Db, file: string, manifest: Manifest, options: RestoreOptions, collections: { name: string; documents: number }[]): Promise<number> {
  const { logger } = options;
  const total = manifest.collections.reduce((sum, c) => sum + c.documents, 0);
  let done = 0;
  options.onProgress?.(0, total);
  const byPath = new Map<string, { collection: ArchivedCollection; part: 'data' | 'metadata' }>();
  for (const collection of manifest.collections) {
    byPath.set(collection.data.path, { collection, part: 'data' });
    byPath.set(collection.metadata.path, { collection, part: 'metadata' });
  }
  const indexes = new Map<string, Record<string, unknown>[]>();
  for (const name of (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter(isBackedUp)) {
    await db.collection(name).drop();
  }
  await readArchive(file, async (entry, content) => {
    const { collection, part } = byPath.get(entry.path)!;
    if (part === 'metadata') {
      const chunks: Buffer[] = [];
      for await (const chunk of content) chunks.push(chunk);
      const metadata = parseMetadata(Buffer.concat(chunks).toString('utf8'));
      await db.createCollection(collection.name, metadata.options);
      indexes.set(
        collection.name,
        metadata.indexes.filter((index) => index.name !== '_id_'),
      );
      return;
    }
    const insertStarted = Date.now();
    const documents = await insertAll(db, collection.name, content, (count) => {
      done += count;
      options.onProgress?.(done, total);
    });
    const indexStarted = Date.now();
    const specs = (indexes.get(collection.name) ?? []).map(creatableIndex);
    if (specs.length > 0) await db.collection(collection.name).createIndexes(specs as unknown as mongoose.mongo.IndexDescription[]);
    collections.push({ name: collection.name, documents });
    logger.info(
      { collection: collection.name, documents, insertMs: indexStarted - insertStarted, indexes: specs.length, indexMs: Date.now() - indexStarted },
      'collection restored',
    );
  });
  // What the database holds now, not what was sent: a write lost on the way shows here.
  for (const collection of manifest.collections) {
    const stored = await db.collection(collection.name).countDocuments();
    if (stored !== collection.documents) throw new Error(`the collection ${collection.name} holds ${stored} documents after the restore, the archive ${collection.documents}`);
  }
  return done;
}

/**
 * Restores an archive: verifies it whole (hashes, manifest, document counts, BSON framing, repeated
 * _ids) before touching anything, refuses a database that holds data unless forced, takes the
 * database's restore lock — the maintenance flag, so servers on it are read-only — while it
 * replaces the contents, checks every collection's count against the manifest, migrates an older
 * data model through the same steps a server runs at start, and ends by verifying every card's
 * history chain. Refusals (nothing changed) are RestoreRefused or ArchiveError; a failure once
 * the contents began to change is RestoreFailed, and the flag stays up.
 */
export async function restoreArchive(file: string, options: RestoreOptions): Promise<RestoreReport> {
  const { logger } = options;
  const db = options.db ?? mongoose.connection.db!;
  const steps = options.steps ?? MIGRATION_STEPS;
  const started = Date.now();

  const manifest = await verifyArchive(file);
  logger.info({ file, createdAt: manifest.createdAt, dataModelVersion: manifest.dataModelVersion, ms: Date.now() - started }, 'archive verified against its manifest');
  if (manifest.dataModelVersion > latestVersion(steps)) {
    throw new RestoreRefused(
      `the archive's data model is version ${manifest.dataModelVersion}, newer than this Kartoteka knows (${latestVersion(steps)}): restore it with the newer Kartoteka`,
    );
  }
  const existing = await existingData(db);
  if (existing.length > 0 && !options.force) {
    const listed = existing
      .slice(0, 5)
      .map((c) => `${c.name}: ${c.documents}`)
      .join(', ');
    throw new RestoreRefused(
      `the database "${db.databaseName}" is not empty (${listed}${existing.length > 5 ? ', …' : ''}); nothing was changed. Add --force to replace its contents`,
    );
  }

  const lease = await startMaintenance(db, file);
  if (!lease) {
    const other = await maintenanceOf(db);
    throw new RestoreRefused(
      `another restore into "${db.databaseName}" is under way (${other?.detail ?? 'unknown archive'}, since ${other?.since.toISOString() ?? 'just now'}); nothing was changed. Wait for it to finish`,
    );
  }
  const collections: { name: string; documents: number }[] = [];
  let done: number;
  let migration: MigrationReport;
  let history: HistoryVerdict;
  try {
    // A database in use: let every server see the flag and finish the changes already under way.
    if (existing.length > 0) await new Promise((resolve) => setTimeout(resolve, MAINTENANCE_GRACE_MS));
    done = await replaceContents(db, file, manifest, options, collections);
    await setStoredVersion(db, manifest.dataModelVersion);
    migration = await migrateDatabase(logger, { db, steps });
    // Users, folders and their access were replaced: servers on this database reload their access snapshot.
    await accessStructureChanged(db);
    const verifyStarted = Date.now();
    history = await verifyAllHistory(db);
    logger.info({ chains: history.chains, entries: history.entries, ms: Date.now() - verifyStarted }, 'history chains verified');
  } catch (error) {
    logger.error({ err: error, file }, 'restore failed after it began replacing the contents');
    await lease.fail().catch(() => undefined);
    throw new RestoreFailed(db.databaseName, error instanceof Error ? error.message : String(error));
  }
  await lease.end();
  const report = { manifest, collections, documents: done, migration, history, durationMs: Date.now() - started };
  logger.info({ documents: done, chains: history.chains, broken: history.broken.length, ms: report.durationMs }, 'restore finished');
  return report;
}
